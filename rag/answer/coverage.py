"""Focus and honest coverage (pure functions).

The question's *anchors* are its content terms (stemmed, as BM25 sees them) that
say what it is about, weighted by IDF; terms that only say what kind of answer
is wanted ("limitations", "why", "compare") are not anchors.  A sentence
*explains* an anchor when its passage is about it (the passage subject names it)
or the sentence names it early, as its topic; a passage that names an anchor
only in passing *mentions* it.  Coverage:

* ``full``: a focused sentence answers every part that was asked;
* ``partial``: some parts are covered (one side of a comparison, no limitations
  listed for the subject, ...);
* ``mentioned``: the subject is named in the material but nothing explains it;
* ``none``: the material does not name it, or the evidence is weak.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rag.answer.subject import Subject

COVERAGES = ("full", "partial", "mentioned", "none")
# Stems of words that ask for a kind of answer rather than name a subject.
INTENT_STEMS = frozenset("""limit limitat drawback downsid disadvantag weak weak con pitfal
fail why how when use work compar comparison differ differ vs versus result benchmark explain
defin problem solv reason purpos advantag trade off tradeoff matter need help actual even
deal simpli practic mean good bad better best worst main key idea exact realli pleas work
happen doe get make give tell way thing kind type role import signific detail overview
question answer describ discuss summar summari briefli quick eli5 nutshel paper whi do doe
did we you i u what how is are can should would could us it they the a an be been there
where which who whom whose achiev accomplish manag handl cope
someon peopl our your my me so mani much say said find found show shown think know
suppos want abl possibl method reading list ignor itself place hand new everi ani without
rather have around expect write includ exist apart effect close turn dure keep still also
other anoth way ways instead just onli veri well real actual often usual alway never sinc
becaus while though although whether either neither both each few more most less least
like unlik same differ similar kind sort lot bit got go goe went come came look seem
than besid within worth onto upon via among amongst across toward toward despit whatev
someth anyth everyth noth els els yet etc about origin regard concern which whose
reduc mitig prevent avoid handl put pick choos chose select decid walk consid prefer
recommend spot shortcom contribut headlin takeaway some sever certain various play them
accord intuit behind gist mechan concept ratio phenomenon demonstr reveal prove relat
setup caveat gotcha headach done buy bought point goal aim from between alreadi trick""".split())


SPECIFIC = 0.6  # a term this heavy (IDF share of the maximum) is specific, a name's


@dataclass(frozen=True)
class Anchors:
    """What a question is about: stemmed terms with their weights."""

    weights: dict[str, float]
    missing: tuple[str, ...] = ()  # content terms the reading material never uses

    @property
    def total(self) -> float:
        return sum(self.weights.values())

    def key_terms(self, share: float = 0.5, most: int = 4) -> list[str]:
        """The heaviest terms (at most ``most``) that together carry ``share`` of the
        weight."""
        out, acc = [], 0.0
        for term, w in sorted(self.weights.items(), key=lambda x: (-x[1], x[0])):
            out.append(term)
            acc += w
            if acc >= share * self.total or len(out) >= most:
                break
        return out


def joined_terms(tokens: Sequence[str], known: dict[str, float]) -> list[str]:
    """Adjacent pairs written as one word when the material writes them so ("flash
    attention" -> "flashattent", as in "FlashAttention")."""
    from rag.search.query import stem_tokens

    out = []
    for a, b in zip(tokens, tokens[1:]):
        joined = stem_tokens(a + b)
        if joined and joined[0] in known and joined[0] not in (a, b):
            out.append(joined[0])
    return out


def question_anchors(tokens: Sequence[str], idf: dict[str, float], max_idf: float,
                     min_idf: float = 1.0) -> Anchors:
    """Anchors of a tokenised (stemmed) question; unknown terms are ``missing``."""
    weights: dict[str, float] = {}
    missing: list[str] = []
    tokens = [*tokens, *joined_terms(tokens, idf)]
    for term in tokens:
        if term in INTENT_STEMS or len(term) < 2 or term.isdigit():
            continue
        if term not in idf:
            missing.append(term)
            continue
        if idf[term] >= min_idf:
            weights[term] = idf[term] / max_idf
    return Anchors(weights, tuple(dict.fromkeys(missing)))


def focus(anchors: Anchors, sentence: Sequence[str], subject: frozenset[str]) -> float:
    """Share of the anchors' weight that a sentence (or its passage subject) carries."""
    if not anchors.total:
        return 0.0
    present = set(sentence) | subject
    return sum(w for t, w in anchors.weights.items() if t in present or kin_in(t, present)
               ) / anchors.total


def kin(a: str, b: str) -> bool:
    """Two stems of one word family the stemmer keeps apart ("superposit" of superposition,
    "superpos" of superposed): one of six letters or more begins the other, at most three
    letters longer."""
    short, long = sorted((a, b), key=len)
    return len(short) >= 6 and long.startswith(short) and len(long) - len(short) <= 3


def kin_in(term: str, words) -> str:
    """The first of ``words`` of ``term``'s family (``kin``), '' when none is."""
    return next((w for w in words if w[:6] == term[:6] and kin(term, w)), "")


def wording_only(focus_share: float, floor: float, key: Sequence[str],
                 words: Sequence[str]) -> bool:
    """Is a sentence close to the question in wording only: it carries under ``floor``
    of the subject's terms (``focus_share``) and none of its ``key`` terms among its
    ``words`` (its own and its subject's): "The authors fine-tuned over 1,000 models ..."
    for "Why do some LLMs normalize queries and keys?"."""
    return focus_share < floor and bool(key) \
        and not any(k in words or kin_in(k, words) for k in key)


def explains(term: str, sentence: Sequence[str], subject: frozenset[str],
             passage_count: int = 0, lead_tokens: int = 4) -> bool:
    """Is the sentence about ``term``?  Its passage is about it (the passage's subject
    names it, or two or more of its sentences do) or the sentence opens with it or uses
    it twice ("a learnable class token ..., with the class-token output ...").  A
    passage that names a term once, in a list of components, only mentions it."""
    if term in subject:
        return True
    if term not in sentence:
        term = kin_in(term, sentence)
        if not term:
            return False
    words = list(sentence)
    return passage_count >= 2 or words.index(term) < lead_tokens or words.count(term) >= 2


def explained_share(anchors: Anchors, key: Sequence[str], sentence: Sequence[str],
                    subject: frozenset[str], counts: dict[str, int] | None = None) -> float:
    """Share of the key anchors' weight the sentence explains."""
    total = sum(anchors.weights[t] for t in key)
    if not total:
        return 0.0
    counts = counts or {}
    return sum(anchors.weights[t] for t in key
               if explains(t, sentence, subject, counts.get(t, 0))) / total


_VERB = re.compile(r"\b(?:is|are|was|were|be|been|being|has|have|had|can|could|will|would|"
                   r"may|might|must|should|does|do|did|uses?|used|makes?|made|gives?|gave|lets?|"
                   r"allows?|enables?|means?|works?|becomes?|became|adds?|replaces?|keeps?)\b",
                   re.I)


def can_explain(text: str, labelled: bool) -> bool:
    """Can this sentence explain anything?  A labelled field of a guide ("Key idea: ...")
    or a statement (a verb, or nine words or more) can; a short verbless line of a
    syllabus list ("Second-order methods (K-FAC, Natural gradient)") only names."""
    return labelled or len(text.split()) >= 9 or bool(_VERB.search(text)) \
        or bool(_NAMED_LINE.match(text))


# A name and what it does ("Self-Instruct: Generate training data from model itself").
_NAMED_LINE = re.compile(r"^[A-Z][\w.+-]*[A-Z][\w.+-]*(?: [\w.+-]+)?: [A-Z][a-z]+(?: \S+){3,}$")


_WORD = re.compile(r"[A-Za-z][A-Za-z'’-]+")
# A verbless predicate of a field's subject: "Competitive with two-stage SFT+DPO ...",
# "Comparable to full fine-tuning ...", "Faster than ...".
# (Not a name before a title: "Anthropic on Building Effective Agents ... - a recap that ...")
_PREDICATE = re.compile(r"^[A-Z][a-z]+(?:ive|ble|ent|ant|ar|ous|al|er|ic)\s+(?:with|to|than|"
                        r"at|for|on|in|of)\b(?!\s+[A-Z][a-z]+\s+[A-Z])")


# A verbless noun phrase opening with a partitive ("One of the most popular trends in RAG
# in 2024, alongside ...") names something without saying anything about it.
_PARTITIVE = re.compile(r"^(?:one|some|many|part|most|several|each|none) of (?:the|these|"
                        r"those|its|their)\b", re.I)


def is_statement(text: str) -> bool:
    """Can ``text`` stand as an answer's first line?  It has a verb, or eight words or more
    outside parentheses, unless it is a verbless predicate ("Competitive with two-stage
    SFT+DPO at lower compute cost").  A formula with a gloss ("N ∝ C^0.5, D ∝ C^0.5
    (equal allocation to params and data)") or a short label line is a fragment."""
    if _VERB.search(text):
        return True
    words = _WORD.findall(re.sub(r"\([^()]*\)", " ", text))
    return len(words) >= 8 and not _PREDICATE.match(text) and not _PARTITIVE.match(text)


_NAME = re.compile(r"\b(?:[A-Z][\w-]*(?:\s+[A-Z][\w-]*)+|\w+(?:-\w+)+)\b")
_NOT_NAME = frozenset("what how why when which who explain compare describe define is are "
                      "does do can the a an in on of and or".split())


def name_spans(question: str) -> list[str]:
    """The names a question writes as one unit, as written ("Decision Transformer",
    "VQ-VAE", "classifier-free guidance")."""
    out = []
    for match in _NAME.finditer(question):
        words = match.group(0).split()
        while words and words[0].lower() in _NOT_NAME:
            words = words[1:]
        if words:
            out.append(" ".join(words))
    return out


def name_phrases(question: str, stem: Callable[[str], Sequence[str]]) -> list[frozenset[str]]:
    """Stemmed terms of the names a question writes as one unit: a sentence about one of
    them names all of its words, not one."""
    return [terms for terms in (frozenset(stem(n)) for n in name_spans(question))
            if len(terms) >= 2]


def explains_subject(anchors: Anchors, key: Sequence[str], sentence: Sequence[str],
                     subject: frozenset[str], counts: dict[str, int], able: bool,
                     names: Sequence[frozenset[str]] = (), share: float = 0.5) -> bool:
    """Does the sentence explain the question's subject, not merely name it?  It must be
    able to explain (``can_explain``), explain the heaviest key term (``explains``:
    its passage is about it, it opens with it, or its passage discusses it in two
    sentences or more), name every word of a name the question writes as one unit,
    and carry ``share`` of the key terms' weight (itself or its passage subject)."""
    if not key or not able or not explains(key[0], sentence, subject, counts.get(key[0], 0)):
        return False
    present = set(sentence) | subject
    if any(name & set(key) and not name <= present for name in names):
        return False
    total = sum(anchors.weights[t] for t in key)
    return sum(anchors.weights[t] for t in key if t in present or kin_in(t, present)
               ) >= share * total


def decide(found_lead: bool, parts_missing: Sequence[str], weak: bool, named: bool,
           unknown_subject: bool) -> str:
    """The coverage label from what the composition found."""
    if weak or unknown_subject:
        return "mentioned" if named and not unknown_subject else "none"
    if not found_lead:
        return "mentioned" if named else "none"
    return "partial" if parts_missing else "full"


def unknown_subject(anchors: Anchors, known: frozenset[str] = frozenset()) -> bool:
    """The question's subject is not in the reading material: it has no known anchor, or
    it names something the material never uses (a term outside its vocabulary that is
    not an acronym the glossary spells out, ``known``)."""
    if not anchors.weights:
        return True
    missing = [t for t in anchors.missing if t not in known]
    return 2 * len(missing) >= len(missing) + len(anchors.weights)


def unknown_compound(question: str, terms: Sequence[str], missing: Sequence[str], stem,
                     known: frozenset[str] = frozenset()) -> bool:
    """Does a sentence of the question name its subject with a word the material never
    uses, right before a term it knows ("speculative decoding", "ring attention",
    "dilated (atrous) convolutions") or between two lower-case words after an article
    ("a speaker diarization pipeline", not "How does ORPO fold SFT ...", nor "the FACTS
    acronymn")?  The material may explain decoding or attention, but never that kind of it."""
    unknown = {t for t in missing if t not in known and len(t) >= 3}
    if not unknown or not terms:
        return False
    terms = set(terms)
    for part in re.split(r"(?<=[.?!])\s+", question):
        m = _SUBJECT_AT.match(part)
        rest = re.sub(r"\s*\([^)]*\)", "", part[m.end():]) if m else ""
        raw = re.findall(r"[\w'-]+", rest)[:3]
        words = [stem(w) for w in raw]
        odd = [len(w) == 1 and w[0] in unknown for w in words]
        phrase = m is not None and bool(raw) and raw[0].islower() \
            and re.search(r"\b(?:the|an?)\s+$", m.group(0), re.I)
        if len(words) >= 2 and odd[0] and set(words[1]) & terms \
                or phrase and len(words) == 3 and odd[1] and set(words[0]) & terms \
                and set(words[2]) & terms:  # "a speaker diarization pipeline", not a verb
            return True
    return False


def unknown_items(items: Sequence[str], missing: Sequence[str], stem,
                  known: frozenset[str] = frozenset()) -> bool:
    """Are all the compared items named in words the material never uses ("Compare t-SNE
    and UMAP for visualising embeddings": the material knows embeddings, not either)?"""
    unknown = {t for t in missing if t not in known}
    named = [words for item in items  # not "the other" of "pick one over the other"
             if (words := [t for t in stem(item) if len(t) >= 2 and t not in INTENT_STEMS])]
    return len(named) >= 2 and all(set(words) <= unknown for words in named)


def subject_names(question: str) -> list[str]:
    """The word a question names its subject with, right after "What is", "How does",
    "Explain" ... ("What is multi-query attention?": "multi-query")."""
    m = _SUBJECT_AT.match(question)
    return re.findall(r"[\w'-]+", question[m.end():])[:1] if m else []


# Where a question names its subject: "What's speculative decoding", "How does ring
# attention work", "Explain the ..."
_SUBJECT_AT = re.compile(r"^\s*(?:(?:what|how|why)(?:'s|s|\s+(?:is|are|does|do))|explain|"
                         r"define|describe|tell\s+me\s+about|walk\s+me\s+through)\s+"
                         r"(?:(?:the|an?)\s+)?", re.I)


_NUMBER = (r"(?:\d[\d,.]*\s*(?:[kmbt]\b|%|x\b)?|\b(?:two|three|four|five|six|seven|eight|"
           r"nine|ten|eleven|twelve|(?:thir|four|fif|six|seven|eigh|nine)teen|(?:twen|thir|for|"
           r"fif|six|seven|eigh|nine)ty|dozens?|hundreds?|thousands?|millions?|billions?)\b"
           r"(?:\s+percent\b)?)")


def leaves_acronym(subject: Subject, present: set[str]) -> bool:
    """Does the question name its subject by an acronym (its long form shares a key term)
    that the terms ``present`` name neither short nor spelled out in full?"""
    key = set(subject.key)
    return any(a.long & key for a in subject.expanded) \
        and not any(a.stem in present or a.long <= present for a in subject.expanded)


def states_count(text: str, counted: Sequence[str]) -> bool:
    """Does ``text`` give a number of one of the ``counted`` things ("64 small experts",
    "680,000 hours of audio")?"""
    return any(re.search(rf"{_NUMBER}\s*(?:[\w-]+\s+){{0,2}}?{re.escape(stem)}", text, re.I)
               for stem in counted)


def listed(text: str, phrase: str) -> bool:
    """Does ``text`` name ``phrase`` only as one bare item of an enumeration ("six
    categories: single-document QA, ..., long in-context learning, ...") rather than
    explain it?  An item with its own gloss ("positional encoding (sin/cos ...)") is
    explained; so is a name written anywhere else in the sentence."""
    if not phrase:
        return False
    glossed = re.sub(r"\([^()]*\)", "(gloss)", text)
    found = [m for m in re.finditer(rf"(?<![\w-]){re.escape(phrase)}", glossed, re.I)]
    return bool(found) and all(_bare_item(glossed, m, phrase) for m in found)


_ENUMERATING = re.compile(r":|\b(?:such as|including|e\.g\.)", re.I)


def _bare_item(text: str, mention: re.Match, phrase: str) -> bool:
    """Is the mention one short item of a list that a colon or "such as" opens?"""
    opened = [m.end() for m in _ENUMERATING.finditer(text, 0, mention.start())]
    if not opened or text.rfind(";", 0, mention.start()) > opened[-1]:
        return False
    ends = [i for i in (text.find(ch, mention.end()) for ch in ";.") if i != -1]
    clause = text[opened[-1]:min(ends) if ends else len(text)]
    items = [x for x in re.split(r",\s*(?:and\s+|or\s+)?", clause) if x.strip()]
    item = next((x for x in items if phrase.lower() in x.lower()), "")
    return len(items) >= 3 and "(gloss)" not in item \
        and len(item.split()) <= len(phrase.split()) + 2


def defines(text: str, term: str) -> bool:
    """Does the sentence define ``term`` (a stem)?  "Mamba is ...", "MoE (...) models
    are ...", "... introduces GraphRAG", "X, from Google, is ...", "X, a/which ..." or
    "X (gloss)": a name followed by a lower-case description of what it does ("Reward
    Model (train a model to predict human preferences)"), not by its expansion ("RAG
    (Retrieval ...)"); "a/the long form (X) whose/that/is ..." introducing its acronym."""
    gloss, appositive, introduced, stated = _definition_patterns(term)
    if any(g.group(1)[:1].islower() and len(g.group(1).split()) >= 3
           for g in gloss.finditer(text)):
        return True
    return any(p.search(text) for p in (appositive, introduced, stated))


@lru_cache(maxsize=4096)
def _definition_patterns(term: str) -> tuple[re.Pattern, ...]:
    """``defines``' patterns for one term, compiled once (re's own cache holds 512)."""
    t = re.escape(term)
    return (
        re.compile(rf"\b{t}[\w-]*(?:\s+[\w-]+)?\s*\(([^()]*)\)", re.I),
        # "HumanEval, a new benchmark of ...", "X, which also ..."
        re.compile(rf"\b{t}[\w-]*(?:\s+[\w-]+){{0,2}}?(?:\s*\([^()]*\))?,\s+(?:an?|which)\s+[a-z]",
                   re.I),
        # "a lightweight Querying Transformer (Q-Former) whose ..."
        re.compile(rf"\b(?:an?)\s+(?:[\w-]+\s+){{1,6}}\((?:[\w]+-)?{t}[\w-]*\)"
                   rf"(?:\s+(?:is|are|was|were|that|which|whose)\b|,)", re.I),
        re.compile(rf"\b{t}[\w-]*(?:\s+\w+)?(?:\s*\([^()]*\))?(?:,[^,]{{1,60}},)?\s+"
                   rf"(?:is|are|was|were|refers to|means|denotes|stands for)\b|"
                   # "processed by a router that directs it to the most relevant experts"
                   rf"\ban?\s+{t}[\w-]*\s+(?:that|which)\s+[a-z]+s\b|"
                   rf"\b(?:introduces?|introduced|proposes?|proposed|presents?|defines?|"
                   rf"defined|coins?|coined|dubs?|dubbed)\s+(?:\S+\s+){{0,3}}?{t}", re.I))
