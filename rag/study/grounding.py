"""Whether an answer's claims are grounded in the question's sources.

A confident wrong answer uses the right vocabulary for its subject ("PagedAttention",
"KV cache") but asserts things its sources never say ("compresses weights into pages
on disk", "an LSTM over the rows").  Word by word, such a claim carries content terms
that no passage of the question's sources, key point or further fact contains.  This
module measures that share per answer unit (sentence or clause), weighted by how
distinguishing each term is (common words weigh nothing), so the grader can

* withhold full credit from a unit that matches a key point but is mostly unsupported;
* recognise a short on-subject answer ("It is a regularization term") as relevant
  although its pronoun leaves it far from the question's vector.

All pure functions of strings, except ``source_stems``' small cache.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from rag.study import terms
from rag.study.claims import stems_of

Weigh = Callable[[str], float]


class SourceTerms(frozenset):
    """A question's source stems, with a sorted copy for fast prefix look-ups."""

    def __init__(self, stems: Iterable[str] = ()) -> None:
        super().__init__()
        self.ordered = tuple(sorted(self))

    def has(self, stem: str) -> bool:
        """``claims.present(stem, self)``, in O(log n): the stem, a longer word it
        begins ("train" / "trainabl"), or a shorter one of 4+ letters that begins it."""
        if stem in self:
            return True
        if any(stem[:k] in self for k in range(4, len(stem))):
            return True
        if len(stem) < 4:
            return False
        i = bisect.bisect_left(self.ordered, stem)
        return i < len(self.ordered) and self.ordered[i].startswith(stem)


_CACHE: dict[tuple[str, int], SourceTerms] = {}


def source_stems(key: str, texts: Iterable[str]) -> SourceTerms:
    """Content stems (acronyms spelled out too) of a question's sources, cached by
    ``key`` (the entry's id) and the texts' hash."""
    texts = tuple(texts)
    ck = (key, hash(texts))
    if ck not in _CACHE:
        if len(_CACHE) > 4096:
            _CACHE.clear()
        _CACHE[ck] = SourceTerms(s for t in texts for s in stems_of(t))
    return _CACHE[ck]


@dataclass(frozen=True)
class Support:
    """A unit's specific terms: their total weight and the weight the sources lack."""

    weight: float
    unsupported: float
    missing: tuple[str, ...] = ()

    @property
    def share(self) -> float:
        """The unsupported share of the unit's specific terms (0 when it has none)."""
        return self.unsupported / self.weight if self.weight > 0 else 0.0


def unit_support(unit: str, context: set[str] | frozenset[str], sources: SourceTerms,
                 weigh: Weigh) -> Support:
    """How much of ``unit``'s specific terms (not in ``context``, the question, and not
    generic) its sources state, weighted by ``weigh`` (rarity)."""
    specific = _claim_terms(stems_of(unit) - context)
    weights = {s: weigh(s) for s in specific}
    missing = sorted(s for s in specific if weights[s] > 0 and not _stated(s, sources))
    return Support(sum(weights.values()), sum(weights[s] for s in missing), tuple(missing))


def _claim_terms(stems: set[str]) -> set[str]:
    """Specific terms, a hyphenated word counted once ("pre-training": not also "pre"
    and "train")."""
    parts = {p for s in stems if "-" in s for p in s.split("-")}
    return {s for s in stems if s not in terms._GENERIC_STEMS and ("-" in s or s not in parts)}


def _stated(stem: str, sources: SourceTerms) -> bool:
    """The sources use ``stem``; a hyphenated one also written solid ("pretraining")
    or as its parts ("pre-trained" where they say "trained ... pre")."""
    if sources.has(stem):
        return True
    parts = [p for p in stem.split("-") if len(p) > 2]
    return "-" in stem and (sources.has(stem.replace("-", "")) or bool(parts) and all(
        sources.has(p) for p in parts))


def is_foreign(unit: str, context: set[str] | frozenset[str], known: Callable[[str], bool],
               least: int) -> bool:
    """Does ``unit`` talk about something the corpus never does: at least ``least`` of
    its specific terms (not in ``context``, the question), and at least half of them,
    are words the corpus never uses (``known``: does it)?"""
    specific = [s for s in _claim_terms(stems_of(unit) - context) if "'" not in s]
    unknown = sum(not known(s) for s in specific)  # contractions ("there's") are no topic
    return unknown >= least and 2 * unknown >= len(specific)


_ADMITS = re.compile(r"\b(?:i\s+(?:do\s*n[o']?t|dont)\s+(?:really\s+)?know|not\s+(?:really\s+)?"
                     r"(?:sure|familiar)|no\s+idea|(?:could|can)(?:n[o']?t|not)\s+tell\s+you|"
                     r"(?:have|need)\s+to\s+look\s+it\s+up|(?:haven[o']?t|have\s+not|never)\s+"
                     r"(?:come\s+across|heard|seen|read))\b", re.I)


def off_subject(unit: str, asked: set[str] | frozenset[str], known: Callable[[str], bool],
                least: int) -> bool:
    """A unit that earns no topical credit however close it is to the question: it
    admits not knowing ("I'm not familiar with SWE-agent") or talks about something else
    in words the corpus never uses (see ``is_foreign``)."""
    return bool(_ADMITS.search(unit)) or is_foreign(unit, asked, known, least)


def whole_sentence(flags: Sequence[bool], units: Sequence[str]) -> list[bool]:
    """A unit's flag holds only where every unit containing it (its sentence) has it too:
    a clause in words the corpus never uses ("standard deviation sqrt(d_k)") of a sentence
    on the subject is not off it."""
    return [flag and all(other_flag for other, other_flag in zip(units, flags) if unit in other)
            for unit, flag in zip(units, flags)]


def on_sources(support: Support, limit: float) -> bool:
    """A unit with specific terms, at most ``limit`` of whose weight the sources lack."""
    return support.weight > 0 and support.share <= limit


def claim_shares(units: Sequence[str], supports: Sequence[Support]) -> list[float]:
    """Each unit's unsupported share, a sentence taking its worst clause's: a sentence
    states every claim of the clauses it contains, so one unsupported clause ("compresses
    model weights into pages on disk") is not diluted by a supported one."""
    return [max(sup.share for other, sup in zip(units, supports) if other in unit)
            for unit in units]


def trust(share: float, limit: float, band: float) -> float:
    """How far a unit's claim can be credited, from its unsupported ``share``: 1 below
    ``limit - band/2``, 0 above ``limit + band/2``, linear between (a hard cut at
    ``limit`` when ``band`` is 0)."""
    if band <= 0:
        return 1.0 if share <= limit else 0.0
    return min(1.0, max(0.0, (limit + band / 2 - share) / band))


def discount(score: float, units: Sequence[str], context: set[str] | frozenset[str],
             sources: SourceTerms, weigh: Weigh, free: float, cost: float) -> float:
    """``score`` less ``cost`` per unit of the answer's unsupported share beyond ``free``
    (its ``units`` together; ``context``: the question's stems).  Small by design: it
    separates a grounded answer from a confident one whose words the sources mostly lack
    when both reach the coverage target (a tie at 10 otherwise)."""
    if not units or cost <= 0:
        return score
    share = unit_support(" ".join(units), context, sources, weigh).share
    return round(score * max(0.0, 1.0 - cost * max(0.0, share - free)), 1)
