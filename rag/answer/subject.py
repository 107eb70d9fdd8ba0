"""What a question is about: its ``Subject`` (anchors, key terms, the names it writes,
whether it is focused) and the small readings of its wording that shape it ("how many
X", "X in QLoRA", "in the Transformer paper", "Llama Guard" as one name).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

from rag.answer.coverage import (
    Anchors,
    name_phrases,
    name_spans,
    question_anchors,
    subject_names,
)
from rag.answer.intent import (
    ALTERNATIVE,
    NOT_COUNTED,
    counted,
    setting_terms,
    without_alternative,
)
from rag.answer.versions import question_version, regex
from rag.search.conversation import is_elliptical
from rag.search.names import name_key

_PARENS = re.compile(r"\s+\([^()]*\)\s*$")  # appended with a space: not "sqrt(d_k)"
_PRONOUN = re.compile(r"\b(?:it|its|they|their|them)\b", re.I)
_PAPER_REF = re.compile(r"\bthe\s+(?:(?:original|first|seminal|famous|classic)\s+)?"
                        r"([\w.+-]+(?:\s+[\w.+-]+){0,3}?)\s+paper\b", re.I)


def bare_question(query: str) -> str:
    """The question without the expansions retrieval appended ("... (LoRA)")."""
    previous = None
    while previous != query:
        previous, query = query, _PARENS.sub("", query)
    return query.strip()


class Acronym(NamedTuple):
    """An acronym a question writes, as the glossary spells it out."""

    stem: str  # "gqa"
    long: frozenset[str]  # stems of its long form: group, queri, attent
    written: str  # "GQA"
    long_form: str  # "grouped-query attention"


@dataclass(frozen=True)
class Subject:
    """What a question (or one clause of it) is about: its anchors and key terms, the
    names it writes as one unit, and whether it is *focused* (a short question about a
    named thing, whose lead must explain that thing) or descriptive."""

    anchors: Anchors
    key: tuple[str, ...]
    names: tuple[frozenset[str], ...] = ()
    focused: bool = True
    surface: str = ""  # the question's own word for its heaviest key term ("Mamba")
    paper: frozenset[str] = frozenset()  # "In the LoRA paper, ..." -> {"lora"}
    share: float = 0.5  # of the key terms' weight an explaining sentence must carry
    version: tuple[str, str] = ("", "")  # "What is Llama-3?" -> ("Llama", "3")
    asked: frozenset[str] = frozenset()  # a follow-up's own terms ("pick its rank": rank)
    spelled: frozenset[str] = frozenset()  # key terms only retrieval's expansion added
    counted: tuple[str, ...] = ()  # "how many experts per layer?" -> ("expert",)
    within: frozenset[int] = frozenset()  # "... in QLoRA": the passages of QLoRA
    follows: str = ""  # the question's word after ``surface`` ("multi-head attention")
    coined: frozenset[str] = frozenset()  # stems of the names it writes as one word
    # ("WGAN-GP", "CQL", "ColBERT"): a sentence answering it names one, or is about one
    expanded: tuple[Acronym, ...] = ()  # the acronyms it writes that the glossary spells
    # out ("GQA": grouped-query attention), each one name
    method: frozenset[str] = frozenset()  # stems of the first known paper or method name
    # it writes ("How does Tree of Thoughts explore ...?": tree, thought)
    method_home: frozenset[int] = frozenset()  # that name's own passages (card, section)
    versioned: bool = False  # the name has a version ("GPT-3"): only its own passages
    words: int = 0  # words of the whole question, without retrieval's expansions
    joined: tuple[tuple[str, frozenset[str]], ...] = ()  # the hyphenated names it writes
    # with their stems ("multi-query": multi, queri)
    short: frozenset[str] = frozenset()  # the acronym of the long name it spells out,
    # which retrieval appended ("reinforcement learning from human feedback": rlhf)

    @property
    def phrase(self) -> str:
        """The question's words for its subject: ``surface`` and the word after it
        ("in-context learning")."""
        return f"{self.surface} {self.follows}".strip()


def surface_terms(question: str, stems: Sequence[str],
                  stem_of: Callable[[str], list[str]]) -> str:
    """The question's own words for the stemmed terms ``stems``, in question order."""
    words = re.findall(r"\w[\w\-/']*\w|\w", re.sub(r"\(([^()]*)\)", r" \1 ", question))
    kept = [w for w in words if set(stem_of(w)) & set(stems)]
    return " ".join(dict.fromkeys(kept)) or "this"


def subject_label(question: str, key: Sequence[str], stem) -> str:
    """How the answer names the subject: a name the question writes as one unit that holds
    its heaviest key term ("Decision Transformer"), else a capitalised name among its key
    terms ("RLHF"); a follow-up ("and what are its drawbacks? (LoRA low-rank
    adaptation)") by the first name retrieval appended; else the question's own words
    for its two heaviest key terms."""
    bare = bare_question(question)
    whole = next((n for n in name_spans(bare) if key and key[0] in stem(n)), "")
    if whole:
        return with_version(whole, bare)
    names = [w for w in re.findall(r"\b[\w-]+\b", bare)[1:]
             if re.search(r"[A-Z]", w) and set(stem(w)) & set(key)]
    if names:  # "Tree of Thoughts", "Molmo and PixMo": as written, small words too
        return with_version(phrase(bare, [t for n in names[:2] for t in stem(n)], stem), bare)
    tail = question[len(bare):]
    if tail and re.search(r"\b(?:it|its|this|these|they|their|them|that)\b", bare, re.I):
        named = appended_names(question)
        return named[0] if named else surface_terms(tail, key[:1], stem)
    own = set(stem(bare))
    return with_version(phrase(bare, [k for k in key if k in own][:2] or key[:2], stem), bare)


def with_version(name: str, question: str) -> str:
    """``name`` with the version number the question writes right after it ("Llama" ->
    "Llama 2", "wav2vec" -> "wav2vec 2.0")."""
    found = re.search(rf"{re.escape(name)}(\s+v?\d+(?:\.\d+)?)\b", question)
    return name + found.group(1) if found else name


def appended_names(question: str) -> list[str]:
    """The names (words with a capital) that retrieval appended to the question, in order:
    a follow-up's conversation subject comes first ("and its drawbacks? (LoRA ...)")."""
    return re.findall(r"\b[\w-]*[A-Z][\w-]*\b", question[len(bare_question(question)):])


def phrase(question: str, stems: Sequence[str], stem, most: int = 5) -> str:
    """The question's own words from the first to the last of ``stems`` when they are
    close together ("mixture of experts"), else those words alone."""
    words = re.findall(r"[\w-]+", question)
    at = [i for i, w in enumerate(words) if set(stem(w)) & set(stems)]
    between = [w for w in words[at[0]: at[-1] + 1] if not set(stem(w)) & set(stems)] \
        if at else []
    if at and at[-1] - at[0] < most and all(w.lower() in _SMALL for w in between):
        end = at[-1] + 1
        if _closes_name(words, end):  # "nucleus sampling", "beam search"
            end += 1
        return " ".join(words[at[0]: end])
    return surface_terms(question, stems, stem)


_SMALL = frozenset("of the a an and for in on to with".split())
_ASKING = frozenset("what which who whom whose how why when where whether".split())
_PREDICATES = frozenset("work works do does mean means help helps differ compare is are "
                        "was were".split())


def _closes_name(words: Sequence[str], i: int) -> bool:
    """Is ``words[i]`` the head noun of the name before it: a lower-case word that ends
    the question or comes right before its verb ("How does nucleus sampling work?")?"""
    if i >= len(words) or not words[i].isalpha() or not words[i].islower() \
            or words[i] in _SMALL or words[i] in _PREDICATES or words[i] in _ASKING:
        return False
    return i + 1 == len(words) or words[i + 1].lower() in _PREDICATES


@lru_cache(maxsize=1)
def glossary_stems() -> frozenset[str]:
    """Stems of the acronyms the glossary spells out (they need not be in the corpus)."""
    from rag.search.glossary import glossary
    from rag.search.query import stem_tokens

    return frozenset(t for k in glossary() for t in stem_tokens(k))


def names_before_pronoun(question: str) -> bool:
    """A name comes before the question's first pronoun ("Where did InstructPix2Pix get
    its training data?"): the pronoun points inside the question, not back at the
    conversation."""
    from rag.search.conversation import _ANAPHORA_STRONG, _name_like

    for word in re.findall(r"[\w'-]+", question):
        if word.lower() in _ANAPHORA_STRONG:
            return False
        if _name_like(word):
            return True
    return False


def question_subject(backend, clause: str, question: str = "") -> Subject:
    """The ``Subject`` of a question, or of one clause of it (with the expansions retrieval
    appended to the question; the whole question's when the clause names nothing of its
    own: "why does it matter?").  Focused: the question's own words hold at most
    ``subject_terms`` anchors."""
    question, clause = _STYLE.sub(" ", question or clause), _STYLE.sub(" ", clause)
    question, clause = without_preamble(backend, question), without_preamble(backend, clause)
    tail = question[len(bare_question(question)):]
    text = clause if clause == question else clause + tail
    anchors = text_anchors(backend, text)
    if not text_anchors(backend, clause).weights:
        # "What is GQA": its own acronym spelled out, not the whole question's subject
        from rag.search.glossary import expand_acronyms

        own = expand_acronyms(clause) if clause != question else clause
        text = own if own != clause and text_anchors(backend, own).weights else question
        anchors = text_anchors(backend, text)
    bare = bare_question(text)
    anchors = outside_setting(anchors, bare, backend._tokenize)
    own = outside_setting(text_anchors(backend, bare), bare, backend._tokenize)
    focused = is_focused(backend, bare, own)
    names = tuple(name_phrases(bare, backend._tokenize))
    key = tuple(anchors.key_terms(backend.focus.key_share))
    named = named_terms(backend, bare, own) if focused else []
    key = tuple(dict.fromkeys([*named, *key]))
    key = without_alternative(key, bare, backend._tokenize)  # "KTO instead of DPO"
    # The words the question itself uses come before those retrieval appended ("RLHF"
    # before "reinforcement ... feedback"): a sentence about RL from *AI* feedback
    # shares the expansion's words, not the name that was asked about.
    key = tuple(sorted(key, key=lambda t: t not in own.weights))
    inner, within = named_context(backend, bare)
    if within:  # "double quantization in QLoRA": about double quantization, QLoRA's
        key = inner
    else:  # "In tau-bench, ... how did GPT-4o fare?": inside tau-bench's passages
        within = opening_context(backend, bare_question(question or clause))
    appended = text[len(bare):]
    surface, follows = _surface(backend, bare, appended, key, own, focused)
    paper = _PAPER_REF.search(bare) or _PAPER_REF.search(bare_question(question))
    whole = bare_question(question or clause)
    asked = frozenset(own.key_terms(backend.focus.key_share)) if appended.strip() \
        and _PRONOUN.search(bare) else frozenset()  # a follow-up ("pick its rank")
    spelled, short = other_names(backend, appended, key, own)
    return Subject(anchors, key, names, focused, surface if " " not in surface else "",
                   frozenset(backend._tokenize(paper.group(1))) if paper else frozenset(),
                   backend.focus.focused_share if focused else backend.focus.key_present,
                   question_version(bare), asked, spelled, counted(bare), within, follows,
                   coined_stems(bare, backend), acronym_names(whole, backend._tokenize),
                   *first_method(backend, bare), len(whole.split()), joined_names(backend, bare),
                   short)


_STATEMENT_END = re.compile(r"(?<=[.!])\s+(?=[A-Z])")
_BACK = re.compile(r"\b(?:each|both|either|neither|the two|they|them|their|these)\b", re.I)


def without_preamble(backend, text: str) -> str:
    """``text`` without the statements before its question ("We already train with the
    original FlashAttention, yet ... . What did FlashAttention-2 change ...?"): what it
    asks about is in the question, unless the statements name something the question
    does not name, nor a version of it ("I'm reading the LoRA paper. What rank should I
    pick?", "The Beyond Chinchilla-Optimal paper argues ... . What cost does the
    Chinchilla analysis leave out?")."""
    parts = _STATEMENT_END.split(text)
    k = 0
    while k < len(parts) - 1 and len(parts[k].split()) >= 5 and not parts[k].endswith("?"):
        k += 1
    asked = " ".join(parts[k:])
    names = getattr(backend, "names", None)
    if not k or names is None or not text_anchors(backend, asked).weights \
            or _BACK.search(asked):  # "What training signal does each rely on?"
        return text
    said, named = names.found(" ".join(parts[:k])), names.found(asked)
    return asked if all(any(a.startswith(s) for a in named) for s in said) else text


def other_names(backend, appended: str, key: Sequence[str], own: Anchors
                ) -> tuple[frozenset[str], frozenset[str]]:
    """The key terms that are another name of the one thing asked about, which retrieval
    appended: the long form of the acronym a question writes ("What problem does ORPO
    solve? (odds ratio preference optimization)": odds, ratio, ...), else the acronym of
    the long form it spells out ("... from human feedback (RLHF)": rlhf)."""
    if not appended.strip() or not key or key[0] not in own.weights:
        return frozenset(), frozenset()
    if not any(t in own.weights for t in key[1:]):
        return frozenset(key[1:]), frozenset()
    acronyms = re.findall(r"\b[A-Z][A-Za-z0-9-]*[A-Z][\w-]*", appended)
    return frozenset(), frozenset(t for t in backend._tokenize(" ".join(acronyms))
                                  if t in key and t not in own.weights)


def text_anchors(backend, text: str) -> Anchors:
    """``question_anchors`` of ``text`` over the backend's vocabulary."""
    return question_anchors(backend._tokenize(text), backend.idf, backend.max_idf)


def outside_setting(anchors: Anchors, bare: str, stem) -> Anchors:
    """``anchors`` without the terms of the setting the question places its subject in
    ("What is test-time compute scaling, as used by OpenAI's o1?": not about o1)."""
    setting = setting_terms(bare, stem)
    kept = {t: w for t, w in anchors.weights.items() if t not in setting}
    return Anchors(kept, anchors.missing) if kept and setting else anchors


def joined_names(backend, bare: str) -> tuple[tuple[str, frozenset[str]], ...]:
    """The hyphenated word a question names its subject with ("multi-query"), stemmed."""
    return tuple((w, frozenset(backend._tokenize(w))) for w in subject_names(bare) if "-" in w)


def is_focused(backend, bare: str, own: Anchors) -> bool:
    """A short question about a named thing: at most ``subject_terms`` anchors of its
    own, ``subject_words`` words, and no pronoun standing for an earlier subject."""
    return len(own.weights) <= backend.focus.subject_terms \
        and len(bare.split()) <= backend.focus.subject_words \
        and (not is_elliptical(bare, lambda _: True, inner=False) or names_before_pronoun(bare))


def first_method(backend, question: str) -> tuple[frozenset[str], frozenset[int], bool]:
    """The first known paper or method name ``question`` writes: its stems, its own
    passages (chunk positions) and whether it has a version number ("GPT-3")."""
    found = _name_matches(backend, question)
    if not found:
        return frozenset(), frozenset(), False
    name = found[0].group(0)
    return (frozenset(backend._tokenize(name)),
            frozenset(backend.names.groups.get(name_key(name), ())),
            any(ch.isdigit() for ch in name))


def acronym_names(question: str, stem: Callable[[str], Sequence[str]]
                  ) -> tuple[Acronym, ...]:
    """The acronyms ``question`` writes that the glossary spells out in two words or
    more."""
    from rag.search.glossary import glossary

    spelled = glossary()
    out = []
    for word in dict.fromkeys(re.findall(r"[A-Za-z][A-Za-z0-9-]*", question)):
        long_form = spelled.get(word, "")
        words = frozenset(stem(long_form))
        short = stem(word)
        if len(words) >= 2 and short:
            out.append(Acronym(short[0], words, word, long_form))
    return tuple(out)


def _surface(backend, bare: str, appended: str, key: Sequence[str], own: Anchors,
             focused: bool) -> tuple[str, str]:
    """The question's own word for its subject ("Mamba"; '' for a name of several words,
    whose versions are not in question) and the word after it ("multi-head" ->
    "attention")."""
    alternative = ALTERNATIVE.search(bare)  # its words are not the subject's name
    own_words = bare[:alternative.start()] if alternative else bare
    head = next((k for k in key if surface_terms(own_words, [k], backend._tokenize).lower()
                 not in _KINDS), key[0]) if key else ""  # "transformer architecture"
    surface = surface_terms(own_words, [head], backend._tokenize) if key else ""
    if surface == "this" and own_words != bare:  # the key is the alternative's alone
        surface = surface_terms(bare, [head], backend._tokenize)
    if surface == "this" and key:  # a follow-up: its subject is in what retrieval appended
        surface = surface_terms(appended, key[:1], backend._tokenize)
    elif appended and _PRONOUN.search(bare):  # "Why is it faster? (Mamba)": it is Mamba
        named = re.findall(r"\b[\w-]*[A-Z][\w-]*\b", appended)
        surface = named[0] if named else surface
    known = known_names(backend, bare)
    if not focused and len(known) == 1 and " " not in known[0] \
            and known[0] != known[0].lower() and known[0] != known[0].upper():
        surface = known[0]  # "Why does Mamba need ...?": not about Mamba-2
    if compound_name(bare, surface, own, backend._tokenize):
        surface = ""  # "Llama Guard": a name of its own, not a version of Llama
    after = re.search(rf"\b{re.escape(surface)}\s+([A-Za-z][\w-]*)", bare) if surface else None
    follows = after.group(1) if after and after.group(1).lower() not in NOT_COUNTED else ""
    return surface, follows


# What kind of thing a name is: not the name ("the transformer architecture": transformer)
_KINDS = frozenset("architecture architectures model models method methods framework "
                   "frameworks technique techniques approach algorithm".split())
# "What is double quantization in QLoRA?": the thing asked about belongs to a known name.
_WITHIN = re.compile(r"\s(?:in|of|inside|within|for)\s+(?:an?\s+|the\s+)?$", re.I)
# What kind of thing the name is ("in the Michelangelo long-context evaluation", "in the
# MuSR benchmark"): still inside that name.
_KIND_TAIL = re.compile(r"^\s*(?:[\w-]+\s+){0,2}(?:benchmark|evaluation|eval|suite|dataset|"
                        r"study|report|system|library|algorithm|approach|technique|recipe|"
                        r"pipeline|family|series)s?\b", re.I)
_NAME_TAIL = re.compile(r"\b(?:paper|model|method|architecture|framework|setup|s|works?|do|does|"
                        r"mean|means|help|helps|matters?|used|actually|really)\b|\W+")


def named_context(backend, question: str) -> tuple[tuple[str, ...], frozenset[int]]:
    """The key terms of what a question asks about inside a known name, and that name's
    passages (card, guide section), when it ends with "in/of <name>" after naming
    something of its own ("What is the KL penalty in RLHF?" -> (kl, penalti), RLHF's
    passages); else empty."""
    found = _name_matches(backend, question)
    tail = _KIND_TAIL.sub("", question[found[-1].end():]) if found else ""
    if not found or _NAME_TAIL.sub("", tail).strip():
        return (), frozenset()
    head, name = question[:found[-1].start()], found[-1].group(0)
    stems = frozenset(backend._tokenize(name))
    own = text_anchors(backend, _WITHIN.sub("", head))
    key = [t for t in own.key_terms(backend.focus.key_share) if t not in stems]
    inside = _WITHIN.search(head)
    if not inside or not key or _NOT_INSIDE.search(head[:inside.start()]):
        return (), frozenset()
    return tuple(key), frozenset(backend.names.groups.get(name_key(name), ()))


# "use KTO instead of DPO", "ahead of GPT-4", "because of RLHF": no "inside" relation.
_NOT_INSIDE = re.compile(r"\b(?:instead|because|ahead|out|regardless|place|top|front|terms|"
                         r"spite|lieu|favou?r|case|irrespective|independent|outside|short)$",
                         re.I)


_OPENING = re.compile(r"^\s*(?:in|for|on|with|about)\s+(?:the\s+)?$", re.I)


def opening_context(backend, question: str) -> frozenset[int]:
    """The passages of a known name the question opens with as its setting ("In
    tau-bench, what does pass^k capture ..., and how did GPT-4o fare?": every clause is
    asked inside tau-bench); else empty."""
    found = _name_matches(backend, question)
    if not found or not _OPENING.match(question[:found[0].start()]) \
            or not re.match(r"\s*(?:paper\s*)?[,:]", question[found[0].end():]):
        return frozenset()
    return frozenset(backend.names.groups.get(name_key(found[0].group(0)), ()))


def compound_name(question: str, surface: str, own: Anchors, stem_of) -> bool:
    """Is the question's word for its subject the first word of a longer name whose next
    word is also one of the question's terms, rarer in the material than the first
    ("whats llama guard", "Llama Guard": not a version of Llama), or joined to it by "of"
    ("chain of thought": the card "Chain-of-Thought Prompting" is no other name)?"""
    if not surface or " " in surface:
        return False
    joined = regex(rf"\b{re.escape(surface)}(?:\s+of\s+|-of-)([A-Za-z][\w-]*)").search(question)
    if joined:  # "chain of thought", "mixture of experts": one name, also hyphenated
        return any(t in own.weights for t in stem_of(joined.group(1)))
    m = regex(rf"\b{re.escape(surface)}\s+([A-Za-z][\w-]*)").search(question)
    if not m or m.group(1).lower() in NOT_COUNTED or any(ch.isdigit() for ch in m.group(1)):
        return False  # "deepseek r1-zero": a version
    first, second = stem_of(surface), stem_of(m.group(1))
    return bool(first and second) and all(t in own.weights for t in (first[0], second[0])) \
        and own.weights[second[0]] > own.weights[first[0]]  # "guard" says more than "llama"


def _name_matches(backend, question: str) -> list[re.Match]:
    """Where the question writes a known paper or method name (``QuestionNames``)."""
    names = getattr(backend, "names", None)
    if names is None or names.pattern is None:
        return []
    return names.matches(question)


def known_names(backend, question: str) -> list[str]:
    """The known paper or method names a question writes, as it writes them, unique."""
    return list(dict.fromkeys(m.group(0) for m in _name_matches(backend, question)))


def coined_stems(question: str, backend) -> frozenset[str]:
    """Stems of the rare names the question writes with capitals inside (an acronym or
    mixed case that at most a few passages use: "WGAN-GP", "CQL", "HyDE", "ColBERT"):
    what the material names in passing, which a neighbouring sentence does not answer."""
    words = [w for w in re.findall(r"[\w-]+", question)
             if re.search(r"[A-Z][^A-Z]*[A-Z]|[a-z][A-Z]", w)]
    cut = backend.focus.coined_weight * backend.max_idf
    return frozenset(t for w in words for t in backend._tokenize(w.replace("-", " "))
                     if backend.idf.get(t, 0.0) >= cut)


def named_terms(backend, question: str, own: Anchors) -> list[str]:
    """Stems of the known paper or method names a question writes ("How does CLIP do
    zero-shot classification?" -> ["clip"]): however common the name is in the
    material, a short question that names it is about it."""
    return [t for m in _name_matches(backend, question)
            for t in backend._tokenize(m.group(0)) if t in own.weights]


# How the user wants it said, not what it is about: "in one sentence", "in simple terms".
# "How big is GPT-3?": how large, not about bigness (what sizes are, the results intent).
_STYLE = re.compile(r"\b(?:in (?:just )?(?:one|a|two|three|a few|simple|plain|layman'?s?|"
                    r"short) (?:sentences?|words?|terms|lines?|paragraphs?)|like I'?m "
                    r"(?:five|5))\b|(?<=\bhow )(?:big|large)\b|\b(?:so |too |really |that )?"
                    r"(?:hard|difficult|tricky|tough)(?= to )|\b(?:still )?falls? short\b", re.I)
# ("hard to quantize"; "where does it still fall short of attention?": a limitation of
# it, the intent, not about falling or shortness)
