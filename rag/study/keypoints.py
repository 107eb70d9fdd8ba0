"""Key points: the fact sentences of a question's evidence that a good answer covers.

``is_fact`` keeps statements of fact and drops what an answer cannot be graded on:
questions and discussion prompts, metadata (venues, links, "paper: <title>" lines),
bare titles and headings, lists of names, advice to the reader.  It is a pure
function of the sentence text, optionally told the sentence's role when the index
records one (``role="fact"``/``"context"``/``"question"``); with a role it trusts it.

``select_points`` ranks a question's candidate facts by similarity to the question
and merges near-duplicates (cosine or shared distinguishing words).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from rag.study import terms

_METADATA = re.compile(
    r"^(?:paper|papers|link|links|url|authors?|year|venue|code|github|arxiv|source|"
    r"module|previous|next|navigation|see also|note|tags?)\s*:|\bet al\.?\s*,?\s*\(?\d{4}|"
    r"\b(?:published|appeared|accepted|presented)\s+(?:at|in|as)\b|\bsee also\b|https?://|"
    r"www\.|\barxiv\b|\bdoi\b|\bgithub\b|\b(?:code|weights|model|data)(?:, \w+)* (?:and \w+ )?"
    r"(?:is|are) (?:open|available|released)\b|\bopen-source implementation\b|"
    r"\breleased (?:openly|publicly)\b|\b(?:code|data|checkpoints|weights|scripts)\b[^.]{0,40}"
    r"\b(?:are|is|were|was) (?:released|open|available|public)\b|"
    r"\(\s*[A-Z][^()]{0,40}\d{4}\s*\)\s*\.?$|"
    r"\b(?:NeurIPS|ICML|ICLR|ACL|EMNLP|NAACL|CVPR|EACL|AAAI)\s*\d{2,4}\b", re.I)
_DISCUSSION = re.compile(r"^\s*(?:discussion points?|your questions|questions?)\b", re.I)
_READER = re.compile(r"\b(?:[Yy]ou|[Yy]our|[Ww]e|[Oo]ur|us|I|[Ll]et's)\b")
_BULLETS = re.compile(r"(?:\s-\s.*){2,}")
_LABEL = re.compile(r"^[A-Za-z][\w /&()-]{0,40}:\s+")


_ANNOUNCE = re.compile(r"\b(?:two|three|four|five|several|a few|some)\s+(?:main\s+)?(?:changes|"
                       r"parts|components|steps|stages|ideas|contributions|phases|modes|"
                       r"variants|ways)\s*[.:]?$", re.I)


def _is_name_list(text: str) -> bool:
    """"GPT1, GPT2, GPT3, Codex, InstructGPT, GPT4 papers." and the like."""
    commas = text.count(",")
    return commas >= 3 and len(text.split()) / (commas + 1) < 2.6


@lru_cache(maxsize=8192)
def _title_stems(title: str) -> frozenset[str]:
    """A title's content stems, once per title: the build asks for every title's stems
    for each of ~1,000 sentences (3-4 s of a build before)."""
    return frozenset(terms.content_stems(title))


def _is_title_like(text: str, titles: Iterable[str]) -> bool:
    """A sentence that is (nearly) a paper or section title, or a heading fragment."""
    body = _LABEL.sub("", text).strip(" .")
    stems = terms.content_stems(body)
    for title in titles:
        t = _title_stems(title)
        if stems and t and len(stems & t) >= 0.8 * len(stems):
            return True
    return False


def is_fact(text: str, role: str | None = None, titles: Iterable[str] = (),
            labelled: bool = False) -> bool:
    """Is ``text`` a statement of fact an answer can be graded on?  ``role`` is the
    index's sentence role when known: only "fact" passes, and its prose (label removed)
    is then not held to the fragment checks a raw line needs.  ``labelled``: the source
    put a facet label before it ("Key idea: ..."), which makes a short line a statement."""
    if role is not None and role != "fact":
        return False
    text = " ".join(text.split())
    if not text or "?" in text or _DISCUSSION.match(text) or _METADATA.search(text):
        return False
    if role is None and _is_fragment(text):
        return False
    n_words = len(text.split())
    if text[0].islower() or n_words < 3:
        return False
    if role is not None and not labelled and (n_words < 5 or (
            n_words < 7 and not terms.numbers(text))):
        return False  # "Reduces need for human feedback": no subject, too thin to grade
    if (_READER.search(text) or _BULLETS.search(text) or _is_name_list(text)
            or _ANNOUNCE.search(text)):  # "The architecture makes two changes."
        return False
    return not _is_title_like(text, titles)


def _is_fragment(text: str) -> bool:
    """A heading or a subject-less fragment ("methodology: prune less important ..."),
    not a statement."""
    body = _LABEL.sub("", text)
    if len(body.split()) < 4 or (len(text.split()) < 7 and not terms.numbers(text)
                                 and not _LABEL.match(text)):
        return True
    return text[0].islower()


_FACETS = (("problem", ("problem",)), ("key_idea", ("key idea", "how", "idea", "work")),
           ("method", ("how", "work", "approach")), ("results", ("result", "show")),
           ("limitations", ("limitation", "trade-off", "when", "worse", "not help")),
           ("advantages", ("why", "advantage", "trade-off", "when", "better")))


def facet_bonus(question: str, facet: str, bonus: float = 0.05) -> float:
    """A small preference for facts of the facet the question asks about ("What
    problem does ... solve" -> problem)."""
    q = question.lower()
    return bonus if any(f == facet and any(w in q for w in words) for f, words in _FACETS) \
        else 0.0


@dataclass(frozen=True)
class Candidate:
    """A fact sentence that may become a key point."""

    text: str
    chunk: int  # position of its chunk in the index
    relevance: float  # cosine to the question (context-prefixed sentence vector)
    own: bool  # from the entry's own passages (not only retrieved for it)
    facet: str = ""  # its sentence's facet ('problem', 'key_idea' ...)


def same_point(a: str, b: str, cos: float, redundancy: float) -> bool:
    """Near-duplicate points: similar vectors, or mostly the same content words."""
    if cos >= redundancy:
        return True
    sa, sb = terms.content_stems(a), terms.content_stems(b)
    return bool(sa and sb) and len(sa & sb) / min(len(sa), len(sb)) >= 0.75


def select_points(cands: Sequence[Candidate], vecs: np.ndarray, limit: int,
                  redundancy: float, min_relevance: float,
                  own_bonus: float = 0.15) -> list[int]:
    """Up to ``limit`` candidates: the most relevant first, each unlike those already
    chosen, none below ``min_relevance``.  Facts of the entry's own passages (its paper
    card, its section) get ``own_bonus`` in both: they answer it by construction."""
    def rank(i: int) -> float:
        return cands[i].relevance + own_bonus * cands[i].own

    order = sorted(range(len(cands)), key=lambda i: -rank(i))
    keep: list[int] = []
    for i in order:
        if len(keep) == limit or rank(i) < min_relevance:
            break
        if not any(same_point(cands[i].text, cands[j].text, float(vecs[i] @ vecs[j]),
                              redundancy) for j in keep):
            keep.append(i)
    return keep


def point_weight(relevance: float) -> float:
    """A key point weighs its relevance to the question, within [0.5, 1]."""
    return round(min(1.0, max(0.5, 0.5 + relevance)), 3)


def select_support(cands: Sequence[Candidate], vecs: np.ndarray, chosen: Sequence[int],
                   limit: int, redundancy: float, min_relevance: float = 0.2) -> list[int]:
    """Further facts beside the ``chosen`` key points, up to ``limit``: the other
    candidates (own passages first, as for key points), most relevant first, none a
    near-duplicate of a point or of each other.  An answer that states them is credited;
    one that misses them loses nothing."""
    order = sorted((i for i in range(len(cands)) if i not in set(chosen)
                    and cands[i].relevance + 0.15 * cands[i].own >= min_relevance),
                   key=lambda i: -(cands[i].relevance + 0.15 * cands[i].own))
    keep: list[int] = []
    for i in order:
        if len(keep) == limit:
            break
        if not any(same_point(cands[i].text, cands[j].text, float(vecs[i] @ vecs[j]),
                              redundancy) for j in [*chosen, *keep]):
            keep.append(i)
    return keep
