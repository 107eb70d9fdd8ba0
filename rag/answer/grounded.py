"""Grounded composition: pick the sentences that answer *this* question about *its*
subject, decide coverage, and lay the answer out (``rag.answer.compose``).

``SentenceTable`` holds what is known of every index sentence at load time (role,
facet, answer-ready text, stemmed terms and the passage's subject terms);
``Composer.compose`` turns scored candidates into a ``Composition``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from rag.answer import compose as layout
from rag.answer.coverage import Anchors, decide, explained_share, focus
from rag.answer.intent import FACET_FIT, Intent
from rag.settings import AnswerSettings, FocusSettings

_LIMITING = re.compile(r"\b(?:limitation|drawback|struggl|cannot|can't|fail|expensive|costly|"
                       r"unstable|hard to|difficult|bottleneck|trail|require|not always|weak|"
                       r"overfit|hallucinat|only|does not|do not|lack|challeng|bias|trade-off|"
                       r"slow|memory)\w*", re.I)


@dataclass(frozen=True)
class Candidate:
    """A sentence that could go into the answer, with what makes it fit."""

    hit_rank: int
    sentence: int
    text: str  # as an answer shows it
    score: float
    cosine: float
    facet: str = ""  # facet, or "hint" for a discussion point's own answer
    focus: float = 0.0
    explained: float = 0.0
    source_text: str = ""  # as its passage has it (for highlighting)


class SentenceTable:
    """Per-sentence facts the composer needs, computed once from the loaded index."""

    def __init__(self, index, tokenize: Callable[[list[str]], list[list[str]]]):
        info = index.sentence_info
        self.text = [answer_text(s) for s in info]
        self.source = [s.text for s in info]
        self.facet = ["hint" if s.hint else s.facet for s in info]
        self.usable = [(s.is_fact and not s.needs_antecedent) or bool(s.hint) for s in info]
        self.needs_antecedent = [s.needs_antecedent for s in info]
        self.chunk = [s.chunk for s in info]
        self.terms = tokenize(self.text)
        subjects = tokenize([f"{s.subject} {_heading(index.chunks[s.chunk])} "
                             f"{_joined(s.subject)}" for s in info])
        self.subject = [frozenset(t) for t in subjects]
        self.limiting = [bool(_LIMITING.search(t)) for t in self.text]
        self.chunk_counts: dict[int, dict[str, int]] = {}
        for chunk, terms in zip(self.chunk, self.terms):
            counts = self.chunk_counts.setdefault(chunk, {})
            for term in set(terms):
                counts[term] = counts.get(term, 0) + 1

    def explained(self, i: int, anchors: Anchors, key: Sequence[str]) -> float:
        """Share of the key terms sentence ``i`` explains (rag.answer.coverage.explains)."""
        return explained_share(anchors, key, self.terms[i], self.subject[i],
                               self.chunk_counts.get(self.chunk[i], {}))


def _joined(name: str) -> str:
    """A multi-word name also written as one word ("Flash Attention" -> "FlashAttention")."""
    words = re.findall(r"[A-Za-z]+", name)
    return "".join(words) if 1 < len(words) <= 3 else ""


def _heading(chunk) -> str:
    """The last heading of a passage (a paper card's title)."""
    return chunk.title if chunk.doc_id.startswith("arxiv:") else chunk.section.rsplit(" › ", 1)[-1]


def answer_text(info) -> str:
    """How a sentence reads in an answer: its prose; a discussion point that carries its own
    short answer reads as question and answer ("Why the square root of d_k? Softmax
    stabilization.")."""
    if info.role == "question" and info.hint:
        hint = info.hint[:1].upper() + info.hint[1:]
        return f"{info.prose} {hint.rstrip('.')}."
    return info.prose


def facet_fit(intent: str, facet: str, limiting: bool = False) -> float:
    """1 for the intent's best facet, falling by rank; limitation-like sentences count
    half for the limitations intent."""
    order = FACET_FIT.get(intent, ())
    if facet in order:
        return 1.0 - order.index(facet) / (len(order) + 1)
    if intent == "limitations" and limiting:
        return 0.5
    return 0.0


@dataclass
class Composition:
    """What the composer decided: the answer text, the sentences it used, coverage."""

    text: str
    used: list[Candidate] = field(default_factory=list)
    coverage: str = "full"
    missing: tuple[str, ...] = ()
    named_in: list[int] = field(default_factory=list)  # hit ranks naming the subject


class Composer:
    """Chooses lead, key points and comparison cells from scored candidates."""

    def __init__(self, table: SentenceTable, vectors: np.ndarray, answer: AnswerSettings,
                 settings: FocusSettings):
        self.table = table
        self.vectors = vectors
        self.answer_settings = answer
        self.settings = settings

    def rescore(self, cands: Sequence[Candidate], intent: Intent, anchors: Anchors,
                key: Sequence[str]) -> list[Candidate]:
        """Candidates with facet fit and subject focus added to their score, best first."""
        t, cfg = self.table, self.settings
        out = []
        for c in cands:
            i = c.sentence
            fit = facet_fit(intent.primary, t.facet[i], t.limiting[i])
            foc = focus(anchors, t.terms[i], t.subject[i])
            expl = t.explained(i, anchors, key)
            out.append(Candidate(c.hit_rank, i, c.text, c.score + cfg.facet_weight * fit
                                 + cfg.focus_weight * foc, c.cosine, t.facet[i], foc, expl,
                                 c.source_text))
        return sorted(out, key=lambda c: (-c.score, c.hit_rank, c.sentence))

    def lead(self, cands: Sequence[Candidate], intent: str = "",
             clause: tuple[Anchors, Sequence[str]] | None = None) -> Candidate | None:
        """The best candidate that explains the subject of the (first) clause; one whose
        facet answers ``intent`` wins over one that does not."""
        def ok(c: Candidate) -> bool:
            share = self.table.explained(c.sentence, *clause) if clause else c.explained
            return share >= self.settings.lead_explained or c.cosine >= self.settings.lead_cosine

        def rank(c: Candidate) -> float:  # focus on this clause's subject, not the others'
            if not clause:
                return c.score
            own = focus(clause[0], self.table.terms[c.sentence], self.table.subject[c.sentence])
            return c.score + self.settings.focus_weight * (own - c.focus)
        explained = sorted((c for c in cands if ok(c)), key=lambda c: -rank(c))
        fitting = [c for c in explained if intent and facet_fit(
            intent, c.facet, self.table.limiting[c.sentence]) >= 0.5]
        return (fitting or explained or [None])[0]

    def points(self, cands: Sequence[Candidate], chosen: list[Candidate],
               limit: int) -> list[Candidate]:
        """Up to ``limit`` focused, non-redundant supporting sentences."""
        cfg, ans = self.settings, self.answer_settings
        floor = chosen[0].score - ans.support_margin - cfg.facet_weight if chosen else -1.0
        out: list[Candidate] = []
        for c in cands:
            if len(out) >= limit or c.score < floor:
                break
            if c.focus < cfg.point_focus or c.cosine < ans.min_support_score:
                continue
            if self._redundant(c, [*chosen, *out]):
                continue
            out.append(c)
        return out

    def best_for(self, cands: Sequence[Candidate], intent: str, exclude: Sequence[Candidate],
                 clause: tuple[Anchors, Sequence[str]] | None = None) -> Candidate | None:
        """The best candidate about the clause's subject whose facet answers ``intent``."""
        fits = [c for c in cands
                if (self.table.explained(c.sentence, *clause) >= self.settings.lead_explained
                    or c.cosine >= self.settings.lead_cosine
                    if clause else c.focus >= self.settings.point_focus)
                and facet_fit(intent, c.facet, self.table.limiting[c.sentence]) >= 0.5
                and not self._redundant(c, exclude)]
        return fits[0] if fits else None

    def _redundant(self, cand: Candidate, chosen: Sequence[Candidate]) -> bool:
        vec = self.vectors[cand.sentence]
        limit = self.answer_settings.redundancy_threshold
        return any(cand.sentence == c.sentence or cand.text == c.text
                   or float(vec @ self.vectors[c.sentence]) >= limit for c in chosen)


def surface_terms(question: str, stems: Sequence[str],
                  stem_of: Callable[[str], list[str]]) -> str:
    """The question's own words for the stemmed terms ``stems``, in question order."""
    words = re.findall(r"\w[\w\-/']*\w|\w", re.sub(r"\(([^()]*)\)", r" \1 ", question))
    kept = [w for w in words if set(stem_of(w)) & set(stems)]
    return " ".join(dict.fromkeys(kept)) or "this"


def coverage_label(lead: Candidate | None, missing: Sequence[str], weak: bool, named: bool,
                   unknown: bool) -> str:
    return decide(lead is not None, missing, weak, named, unknown)


__all__ = ["Candidate", "Composer", "Composition", "SentenceTable", "answer_text",
           "coverage_label", "facet_fit", "layout", "surface_terms"]
