"""Is a question outside the reading material?  Its subject is mostly words the
material never uses, a name it does not know (as the word a sentence names its subject
with, before a key term, what the subject belongs to, the paper it points to), an
unwritten hyphenated name, or its only lead is faint (``faint_lead``)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from rag.answer.coverage import (
    subject_names,
    unknown_compound,
    unknown_items,
    unknown_subject,
)
from rag.answer.intent import Intent
from rag.answer.subject import Subject, glossary_stems
from rag.corpus.linking import key as flat_key


def faint_lead(backend, bare: str, subject: Subject, lead) -> bool:
    """Is the lead barely related to a question that names nothing the material knows
    (no known or coined name) and asks about common words only, or about a word the
    material never uses ("What is A/B testing?": an AlphaCodium line on tests; "How do
    you detect data drift?": RT-DETR)?  Its cosine is under ``lead_floor``; under half of
    it, the lead is faint whatever the question's words."""
    names, floor = getattr(backend, "names", None), backend.composer.settings.lead_floor
    if lead.cosine >= floor or names is None \
            or names.found(bare) or subject.coined or not subject.key:
        return False
    if lead.cosine < floor / 2:  # "How do I reduce latency in online gaming?": tiling
        return True
    weights = subject.anchors.weights
    unknown = [t for t in subject.anchors.missing if len(t) >= 4 and t not in glossary_stems()
               and not names.misspelt(t)]
    return max(weights.get(k, 0.0) for k in subject.key) < 0.4 or bool(unknown)


def not_in_material(backend, bare: str, intent: Intent, subject: Subject) -> bool:
    """Is the question's subject outside the reading material: mostly words it never uses
    (``unknown_subject``), a name it does not know, a word it never uses naming a kind of a
    key term (``unknown_compound``), or compared items it never names (``unknown_items``)?"""
    anchors, key, known = subject.anchors, subject.key, glossary_stems()
    names = getattr(backend, "names", None)
    return unknown_subject(anchors, known) or bool(key) and names is not None \
        and (any(key[0] in stems for stems in names.unknown_names(bare))
             or unknown_kind(backend, bare, key, names)
             or unknown_action(backend, bare, names)
             or unknown_defined(backend, bare, anchors.missing, names)
             or unknown_joined(backend, bare, anchors.missing, names)) \
        or unknown_compound(bare, [*key, *anchors.weights], _unslipped(anchors.missing, names),
                            backend._tokenize, known) \
        or unknown_items(intent.items, anchors.missing, backend._tokenize, known)


def _unslipped(missing: Sequence[str], names) -> list[str]:
    """The words the material never uses that are no slip of one it writes ("acronymn")."""
    return [t for t in missing if names is None or not names.misspelt(t)]


def small_talk(bare: str) -> bool:
    """Is it no question about the material at all: a greeting or thanks ("hi! how are you
    doing today?", "thanks, bye") or a request for a poem, a story or a joke ("write me a
    haiku about GPUs")?  ("Hi, what is LoRA?" is a question.)"""
    return bool(_GREETING.match(bare) or _CREATIVE.match(bare))


def asks_no_explanation(bare: str) -> bool:
    """Does a sentence of the question ask how the asker should do something ("How do I
    learn French quickly?", "What's the best way to learn Spanish?", "What GPU should I
    buy ...?"), what something costs, or who or when ("Who founded OpenAI?")?  A
    ``mentioned`` answer (named, not explained) does not fit it: the material naming a
    word of it ("French" in a multilingual benchmark) is no place that mentions its
    subject.  ("Where is HyDE described?" is answered by the
    places that name it.)"""
    return any(_NO_EXPLANATION.match(part) for part in _SENTENCES.split(bare))


def unknown_joined(backend, bare: str, missing: Sequence[str], names) -> bool:
    """Is the word a sentence of the question names its subject with a hyphenated name
    the material never writes, one of whose parts it never uses ("how does skip-gram
    with negative sampling train ...": the material writes "skip" connections, never a
    gram), and no slip of a name it writes ("self-atention")?"""
    for part in _SENTENCES.split(bare):
        for word in subject_names(part):
            if "-" in word and not names.knows_word(word) \
                    and not names.misspelt(flat_key(word)) \
                    and any(len(t) >= 3 and t in missing for t in backend._tokenize(word)):
                return True
    return False


def unknown_action(backend, bare: str, names) -> bool:
    """Does the question ask how to do something the material never writes of ("How do I
    sort a list in Python?", "How do I install PyTorch on Windows?", "how do you export a
    PyTorch model to ONNX"): its verb is a word the material never uses, and no slip of
    one it does?  Naming a setting the material knows (Python, PyTorch) does not make the
    action one it explains.  Only a sentence that opens with it: "What is prompt injection
    and how do you defend against it?" asks about prompt injection first."""
    known = glossary_stems()
    for m in filter(None, map(_HOW_TO.match, _SENTENCES.split(bare))):
        stems = backend._tokenize(m.group(1))
        if stems and any(len(t) >= 3 and t not in backend.idf and t not in known
                         for t in stems) and not names.misspelt(flat_key(m.group(1))):
            return True
    return False


def unknown_defined(backend, bare: str, missing: Sequence[str], names) -> bool:
    """Is the question a short "What is X?" whose X (four words at most) holds a word the
    material never uses, and no slip of one it does ("What is cognitive behavioral
    therapy?": the material knows cognitive architectures, never a therapy)?"""
    m = _DEFINE.match(bare)
    if m is None:
        return False
    unknown = set(_unslipped(missing, names)) - glossary_stems()
    return any(t in unknown for t in backend._tokenize(m.group(1)))


def unknown_kind(backend, bare: str, key: Sequence[str], names) -> bool:
    """Is a name the material never writes (``QuestionNames.unknown_words``) the word a
    sentence of the question names its subject with ("How does word2vec learn
    embeddings?") or right before a key term, naming a kind of it ("how do you pick k in
    k-means clustering", "word2vec's skip-gram")?  Or is such a name, or an acronym the
    material never writes nor the glossary spells out, what the subject is a part of
    ("the update and reset gates in a GRU") or the paper it points to ("In the focal
    loss paper (RetinaNet), ...")?  (A bare acronym as the subject is not enough: "What
    is ANN search?" is about what the material calls approximate nearest neighbours.)"""
    said = said_subjects(bare)
    known = glossary_stems()  # "GQA": the glossary spells it out
    acronyms = [a for a in _ACRONYM.findall(bare) if not names.knows_word(a)
                and not set(backend._tokenize(a)) <= known]
    paper = _PAPER.search(bare)
    for word in [w for w, _ in names.unknown_words(bare)] + acronyms:
        at = rf"(?<![\w-]){re.escape(word)}"
        if re.search(rf"(?:\bin |{_SETTING})(?:a|an|the) {re.escape(word)}\b", bare, re.I) \
                or paper and re.search(at, paper.group(0)):
            return True  # "the gates in a GRU", "In the focal loss paper (RetinaNet)"
        after = re.search(rf"{at}(?:['’]s)?\s+([\w-]+)", bare)
        if word not in acronyms and (word.lower() in said or after and set(
                backend._tokenize(after.group(1))) & set(key)):
            return True  # "How does word2vec ...", "k-means clustering", "word2vec's skip-gram"
    return False


def said_subjects(bare: str) -> set[str]:
    """The words the question's sentences name their subjects with (``subject_names``),
    lower-cased, and the name right after an owner's ("How does DeepMind's Perceiver ...":
    Perceiver)."""
    said = set()
    for part in _SENTENCES.split(bare):
        for word in subject_names(part):
            said.add(word.lower())
            owned = re.search(rf"{re.escape(word)}\s+([\w-]+)", part)
            if owned and re.search(r"['’]s$", word):
                said.add(owned.group(1).lower())
    return said


# "How do I sort ...", "how can you export ...", "how should we quickly deploy ...": the action
_HOW_TO = re.compile(r"\W*how\s+(?:do|can|should|would|could|might)\s+(?:i|you|we|one)\s+"
                     r"(?:\w+ly\s+)?([a-z][\w'-]*)", re.I)
_HELLO = (r"(?:hi|hello|hey|hiya|good\s+(?:morning|afternoon|evening)|thanks|thank\s+you|"
          r"cheers|bye|goodbye)")
_HOW_ARE_YOU = r"(?:how\s+are\s+you|how'?s\s+it\s+going|what'?s\s+up)(?:\s+doing)?(?:\s+today)?"
_GREETING = re.compile(rf"^\W*(?:{_HELLO}\b[\W\s]*)*(?:{_HOW_ARE_YOU})?[\W\s]*$(?<=\S)",
                       re.I)
_CREATIVE = re.compile(r"^\W*(?:(?:please|pls|can\s+you|could\s+you)\s+)?(?:write|compose|"
                       r"make|give|tell)\s+(?:me\s+|us\s+)?(?:a|an|some|another)\s+"
                       r"(?:[\w-]+\s+){0,3}?(?:poem|haiku|song|story|joke|limerick|rap|sonnet|"
                       r"riddle|tweet|pun)s?\b", re.I)
_NO_EXPLANATION = re.compile(
    r"\W*(?:so\s+|and\s+)?(?:how\s+(?:do|can|should|would|could|might)\s+(?:i|we)\b|"
    r"what(?:'s|\s+is)\s+the\s+best\s+way\s+to\b|who\b|"
    r"when\s+(?:was|were|did|is|will)\b|(?:what|which)\s+(?:[\w-]+\s+){1,3}?should\s+(?:i|we)\s+"
    r"(?:buy|get|pick|choose)\b|how\s+much\s+(?:does|do|did|is|was|would|will)\b[^?]*?\b"
    r"(?:cost|charge|pay|price)\w*|what\s+(?:does|do|did|will)\s+[^?]*?\b(?:charge|cost)s?\b)",
    re.I)
# "What is cognitive behavioral therapy?", "what's a bloom filter": a short definition question
_DEFINE = re.compile(r"^\W*what(?:'s|\s+is|\s+are)\s+(?:an?\s+|the\s+)?((?:[\w'-]+\s*){1,4})\?*$",
                     re.I)
_SENTENCES = re.compile(r"(?<=[.?!])\s+")
# "let an SVM learn", "build a TensorRT engine": what the question acts on; not a setting
# it names ("run an LLM on a CPU", "with a T4")
_SETTING = r"(?<!\bon )(?<!\bwith )(?<!\busing )(?<!\bfor )(?<!\bvia )(?<!\bfrom )(?<!\bto )\b"
_ACRONYM = re.compile(r"(?<![\w-])[A-Z]{2,6}s?(?![\w-])")  # not "SWE" of "SWE-bench"
# "In the focal loss paper (RetinaNet), ...": the paper a question points to
_PAPER = re.compile(r"\bin the [^,?]{1,60}? paper\b(?:\s*\([^)]*\))?", re.I)
