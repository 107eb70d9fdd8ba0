"""Pure evaluation metrics over retrieved passages and answers.

Reference evidence does not depend on chunking: a ``doc_id`` plus a short
quote that must appear in the supporting passage.  A passage *supports* an
evidence item when it comes from that document and contains the quote
(compared case-insensitively with whitespace collapsed).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

_MARKER = re.compile(r"\[(\d+)\]")


def normalize(text: str) -> str:
    return " ".join(text.replace("**", "").lower().split())


def supports(doc_id: str, text: str, evidence: dict) -> bool:
    """Does the passage (doc_id, text) contain this evidence item's quote?"""
    return doc_id == evidence["doc_id"] and normalize(evidence["quote"]) in normalize(text)


def first_relevant_rank(passages: Sequence[tuple[str, str]], evidence: Sequence[dict]) -> int:
    """1-based rank of the first passage supporting any evidence item; 0 if none."""
    for rank, (doc_id, text) in enumerate(passages, start=1):
        if any(supports(doc_id, text, ev) for ev in evidence):
            return rank
    return 0


def hit_at_k(rank: int, k: int) -> float:
    return 1.0 if 0 < rank <= k else 0.0


def reciprocal_rank(rank: int) -> float:
    return 1.0 / rank if rank > 0 else 0.0


def evidence_recall(passages: Sequence[tuple[str, str]], evidence: Sequence[dict]) -> float:
    """Share of evidence items supported by at least one passage."""
    if not evidence:
        return 1.0
    found = sum(any(supports(d, t, ev) for d, t in passages) for ev in evidence)
    return found / len(evidence)


def evidence_precision(passages: Sequence[tuple[str, str]], evidence: Sequence[dict]) -> float:
    """Share of passages that support at least one evidence item."""
    if not passages:
        return 0.0
    good = sum(any(supports(d, t, ev) for ev in evidence) for d, t in passages)
    return good / len(passages)


def citation_validity(answer_text: str, listed: Sequence[int]) -> float:
    """1.0 when every [n] in the answer refers to a listed passage, else 0.0."""
    markers = [int(m) for m in _MARKER.findall(answer_text)]
    allowed = set(listed)
    return 1.0 if all(m in allowed for m in markers) else 0.0


def citation_support(cited: Sequence[tuple[str, str]], evidence: Sequence[dict]) -> float:
    """1.0 when some cited passage contains a reference quote, else 0.0."""
    return 1.0 if any(supports(d, t, ev) for d, t in cited for ev in evidence) else 0.0


def abstention_scores(rows: Sequence[tuple[bool, bool]]) -> dict[str, float]:
    """From (answerable, abstained) pairs: accuracy on each side and overall."""
    answerable = [abst for ans, abst in rows if ans]
    unanswerable = [abst for ans, abst in rows if not ans]
    answered_ok = sum(not a for a in answerable) / len(answerable) if answerable else 1.0
    abstained_ok = sum(unanswerable) / len(unanswerable) if unanswerable else 1.0
    overall = (sum(not a for a in answerable) + sum(unanswerable)) / max(len(rows), 1)
    return {"answered_when_answerable": answered_ok,
            "abstained_when_unanswerable": abstained_ok, "abstention_accuracy": overall}


def percentile(values: Sequence[float], q: float) -> float:
    return float(np.percentile(np.asarray(values, dtype=float), q)) if values else 0.0
