"""Misattribution: a property the sources give one subject, claimed of another.

A confident wrong answer can be made entirely of its sources' words with the subject
swapped: "Mamba makes attention quadratic" where the sources say Mamba trains in linear
time (quadratic is attention's).  No key point is contradicted word for word, so the
antonym check of ``rag.study.claims`` misses it.  This module pairs, clause by clause,
a *subject* (a name the sources write capitalised or as an acronym -- Mamba,
Transformer, DPO, LoRA -- or an architecture part such as attention, encoder, decoder)
with the *property* terms that follow it (stems of the antonym table: linear,
quadratic, exact, approximate, add, remove ...), and flags an answer clause whose pair

* the sources never state, while they pair the same subject with an antonym of the
  property ("Mamba ... linear time" against "Mamba ... quadratic"); or
* the sources state only of another subject, in contrast with this one ("Mamba is
  linear, unlike Transformers, which are quadratic": quadratic is not Mamba's).

A clause opened by "it" or "they" speaks of the sentence's first subject, or the
previous sentence's ("PPO ... . Its clipped objective keeps updates small"); one
whose first word of note is another pronoun ("this makes attention faster") pairs
nothing.  Conservative by construction: only antonym-table properties, a negated
property is never flagged, and a sentence that also states an antonym of the
property is left alone.  On the train split of the calibration set it flags 7 of 51
wrong answers and none of the 153 excellent, partial or vague ones.

All pure functions of strings, except ``source_pairs``' small cache.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from rag.corpus.chunk import split_sentences
from rag.study import terms

# Architecture parts named without capitals that still act as a claim's subject.
PARTS = frozenset(terms.stem(w) for w in """
attention transformer encoder decoder rnn lstm cnn convolution ssm critic generator
discriminator retriever reranker router expert tokenizer verifier
""".split())
_NAME = re.compile(r"(?:[A-Za-z][A-Za-z0-9]*(?:[-'][A-Za-z0-9]+)*)")
_CONTRAST = re.compile(r"\b(?:unlike|whereas|in contrast to|compared (?:to|with)|"
                       r"as opposed to)\b", re.I)
_PROPERTIES = frozenset(terms._ANTONYMS)


def _is_name_token(token: str, first: bool, lower: set[str]) -> bool:
    """An acronym or a mixed-case word (DPO, LoRA, GPT-3), or a capitalised word that
    does not open its sentence (Transformers) or that the texts never write in lower
    case (Mamba)."""
    if not token[0].isupper():
        return False
    if not first or token.lower() not in lower:
        return True
    return any(c.isupper() or c.isdigit() for c in token[1:])


def source_names(texts: Iterable[str], sentences: list[str] | None = None) -> frozenset[str]:
    """Stems of the names the sources write (see ``_is_name_token``), with the
    architecture parts; function words, generic words and properties excluded
    (``sentences``: the texts' sentences, when already split)."""
    if sentences is None:
        sentences = [s for text in texts for s in split_sentences(text, light=True)]
    lower = {w for s in sentences for w in _NAME.findall(s) if w.islower()}
    out: set[str] = set()
    for sentence in sentences:
        for k, token in enumerate(_NAME.findall(sentence)):
            if len(token) > 1 and _is_name_token(token, k == 0, lower) and \
                    token.lower() not in terms.FUNCTION_WORDS:
                out.add(terms.stem(token))
    return frozenset(out - terms._GENERIC_STEMS - _PROPERTIES) | PARTS


@dataclass(frozen=True)
class Pair:
    """A clause's subject and a property it asserts (negated: the clause denies it);
    ``against``: the subject it is contrasted with ("unlike Transformers ...")."""

    subject: str
    prop: str
    negated: bool = False
    against: str = ""


# Finer than ``claims.clauses``: every comma, bracket and dash, and "but"/"while"/
# "whereas", so that "SSMs struggle with recall, Transformers are quadratic" pairs
# quadratic with Transformers only.  The separator is kept: a clause opened by
# "which" or "that" continues its predecessor's subject.
_SPLIT = re.compile(r"\s*([,;:()\[\]]|\s[—–-]\s|—|\b(?:but|while|whereas|although|"
                    r"though|which|that|who|because)\b)\s*", re.I)
_RELATIVE = frozenset({"which", "that", "who"})
_STANDS_FOR = frozenset({"it", "its", "they", "their"})  # the topic, when a clause opens
_PRONOUNS = frozenset({"it", "its", "they", "their", "them", "this", "these", "those",
                       "he", "she", "we"})


def _pieces(sentence: str) -> list[tuple[str, str]]:
    """The sentence's clauses, each with the separator before it (lower case)."""
    parts = _SPLIT.split(sentence)
    out = [("", parts[0])]
    out += [(parts[k].strip().lower(), parts[k + 1]) for k in range(1, len(parts) - 1, 2)]
    return [(sep, text) for sep, text in out if text.strip()]


def _subject_of(tokens: list[str], names: frozenset[str]) -> tuple[int, bool] | None:
    """Index of the clause's first name or, when it opens with "it" or "they" ("so it
    is cheap"), of that pronoun (True); None when another pronoun comes first ("this
    makes attention faster": the subject is not attention)."""
    for k, token in enumerate(tokens):
        if token in _STANDS_FOR and k <= 1:
            return k, True
        if token in _PRONOUNS:
            return None
        if token not in terms.FUNCTION_WORDS and terms.stem(token) in names:
            return k, False
    return None


def sentence_pairs(sentence: str, names: frozenset[str], topic: str = "") -> list[Pair]:
    """Each clause's subject paired with every property stem after it; a relative
    clause ("..., which is quadratic") inherits its predecessor's subject, a pronoun
    the sentence's first subject (or ``topic``, the previous sentence's); a clause
    opened by "unlike X" / "whereas" records the sentence's other subject as the one
    contrasted."""
    heads: list[tuple[str, list[str], bool]] = []  # subject, stems after it, contrast
    subject, contrast = "", False
    for sep, clause in _pieces(sentence):
        tokens = terms.words(clause)
        found = _subject_of(tokens, names)
        k = found[0] if found else -1
        if found and not found[1]:
            subject = terms.stem(tokens[k])
            contrast = sep == "whereas" or bool(_CONTRAST.match(clause.strip()))
        elif found:  # a pronoun: the sentence's main subject, or the topic
            subject = next((h for h, _, c in heads if not c), topic)
            contrast = False
        elif sep not in _RELATIVE:
            subject = ""
        if subject:
            after = [terms.stem(t) for t in tokens[k + 1:] if t not in terms.FUNCTION_WORDS]
            heads.append((subject, after + ["|neg:" + s for s in terms.negated_stems(clause)],
                          contrast))
    return _pairs_of(heads)


def text_pairs(text: str, names: frozenset[str]) -> list[Pair]:
    """``sentence_pairs`` of every sentence, a pronoun that opens one standing for the
    previous sentence's first subject ("PPO ... . Its central idea ...")."""
    return _sentences_pairs(split_sentences(text, light=True) or [text], names)


def _sentences_pairs(sentences: list[str], names: frozenset[str]) -> list[Pair]:
    out: list[Pair] = []
    topic = ""
    for sentence in sentences:
        if any(terms.stem(w) in _PROPERTIES for w in terms.words(sentence)):
            out += sentence_pairs(sentence, names, topic)
        topic = _first_subject(sentence, names) or topic
    return out


def _first_subject(sentence: str, names: frozenset[str]) -> str:
    tokens = terms.words(sentence)
    found = _subject_of(tokens, names)
    return terms.stem(tokens[found[0]]) if found and not found[1] else ""


def _pairs_of(heads: list[tuple[str, list[str], bool]]) -> list[Pair]:
    main = [s for s, _, c in heads if not c]
    out = []
    for subject, after, contrast in heads:
        negated = {a[5:] for a in after if a.startswith("|neg:")}
        against = next((m for m in main if m != subject), "") if contrast else ""
        out += [Pair(subject, s, s in negated, against) for s in after
                if s in _PROPERTIES and s != subject]
    return out


@dataclass(frozen=True)
class SourcePairs:
    """Every subject-property pair the sources state, and those stated in contrast
    (subject, property, the subject contrasted with)."""

    stated: frozenset[tuple[str, str]]
    contrasted: frozenset[tuple[str, str, str]]
    names: frozenset[str]


def build_pairs(texts: Iterable[str]) -> SourcePairs:
    """The pairs of every clause of the sources (negated properties left out)."""
    texts = tuple(texts)
    split = [split_sentences(text, light=True) for text in texts]
    names = source_names(texts, [s for sentences in split for s in sentences])
    stated: set[tuple[str, str]] = set()
    contrasted: set[tuple[str, str, str]] = set()
    for pair in (p for sentences in split for p in _sentences_pairs(sentences, names)):
        if not pair.negated:
            stated.add((pair.subject, pair.prop))
            if pair.against:
                contrasted.add((pair.subject, pair.prop, pair.against))
    return SourcePairs(frozenset(stated), frozenset(contrasted), names)


_CACHE: dict[tuple[str, int], SourcePairs] = {}


def source_pairs(key: str, texts: Iterable[str]) -> SourcePairs:
    """``build_pairs`` cached by ``key`` (the entry's id) and the texts' hash."""
    texts = tuple(texts)
    ck = (key, hash(texts))
    if ck not in _CACHE:
        if len(_CACHE) > 4096:
            _CACHE.clear()
        _CACHE[ck] = build_pairs(texts)
    return _CACHE[ck]


def _pair_problem(pair: Pair, sources: SourcePairs, stems: set[str]) -> str:
    """Why the sources attribute ``pair``'s property elsewhere ('' when they do not)."""
    subject, prop = pair.subject, pair.prop
    if pair.negated or (subject, prop) in sources.stated or terms.antonyms(prop) & stems:
        return ""
    opposite = sorted(a for a in terms.antonyms(prop) if (subject, a) in sources.stated)
    if opposite:
        return f"misattributed ({prop} of {subject}; the sources say {opposite[0]})"
    rivals = sorted(r for r, p, s in sources.contrasted if p == prop and s == subject)
    if rivals:
        return f"misattributed ({prop} is said of {rivals[0]}, unlike {subject})"
    return ""


def unit_problem(unit: str, sources: SourcePairs) -> str:
    """Why ``unit`` claims of a subject a property the sources attribute to another
    subject ('' when it does not)."""
    if not sources.stated:
        return ""
    stems = terms.content_stems(unit)
    for pair in text_pairs(unit, sources.names):
        if why := _pair_problem(pair, sources, stems):
            return why
    return ""


# --- a code dictionary's entries ("wanda": {...}, "sparsegpt": {...}), compared papers ---

def owner_problem(unit: str, owner: str, siblings: Iterable[str]) -> str:
    """Why ``unit`` (a sentence) credits a point the sources list under ``owner`` (a
    dictionary key such as "sparsegpt", or a paper card's name stems such as "tree
    thought") while naming, as a name, only another owner of the question's points
    ("Wanda needs a Hessian for every weight" for SparseGPT's "reconstruction with Hessian
    approximation"); '' when it names the owner or no sibling."""
    if set(owner.split()) <= terms.content_stems(unit):
        return ""
    named = {terms.stem(t) for t in _NAME.findall(unit) if t[0].isupper()}  # as names
    other = next((s for s in sorted(siblings) if s != owner and set(s.split()) <= named), "")
    return f"misattributed (said of {other}; the sources say it of {owner})" if other else ""
