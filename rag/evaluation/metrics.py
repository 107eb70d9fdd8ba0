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


# --- Per-question scoring and aggregation (used by ``rag eval``) -------------------

RETRIEVAL_KS = (1, 3, 5)


def reference_chunk_ids(chunks: Sequence[tuple[str, str, str]], evidence: Sequence[dict],
                        ) -> list[str]:
    """Ids of the chunks ``(chunk_id, doc_id, text)`` that support any evidence item.

    These are the reference context ids of the ID-based ragas metrics: the evidence
    itself does not depend on chunking, so the ids are derived from the index in use.
    """
    return [cid for cid, doc_id, text in chunks
            if any(supports(doc_id, text, ev) for ev in evidence)]


def abstention_correct(answerable: bool, abstained: bool) -> float:
    """1.0 when the assistant answered an answerable question or abstained otherwise."""
    return 1.0 if abstained != answerable else 0.0


def question_scores(
    passages: Sequence[tuple[str, str]], cited: Sequence[tuple[str, str]],
    listed: Sequence[int], answer_text: str, evidence: Sequence[dict],
    answerable: bool, abstained: bool,
) -> dict[str, float | None]:
    """Every per-question metric of ours; ``None`` where a metric does not apply.

    Retrieval metrics apply to answerable questions; citation support to answerable
    questions that were answered (abstention has its own metric).
    """
    scores: dict[str, float | None] = {
        "citation_validity": citation_validity(answer_text, listed),
        "abstention_correct": abstention_correct(answerable, abstained),
        "first_rank": None, "reciprocal_rank": None, "context_precision": None,
        "context_recall": None, "citation_support": None,
        **{f"hit_at_{k}": None for k in RETRIEVAL_KS},
    }
    if not answerable or not evidence:
        return scores
    rank = first_relevant_rank(passages, evidence)
    scores.update({f"hit_at_{k}": hit_at_k(rank, k) for k in RETRIEVAL_KS})
    scores.update(first_rank=float(rank), reciprocal_rank=reciprocal_rank(rank),
                  context_precision=evidence_precision(passages, evidence),
                  context_recall=evidence_recall(passages, evidence))
    if not abstained:
        scores["citation_support"] = citation_support(cited, evidence)
    return scores


def mean_or_none(values: Sequence[float | None]) -> float | None:
    """Mean of the values that are not ``None`` (or NaN); ``None`` when there are none."""
    kept = [float(v) for v in values if v is not None and not np.isnan(v)]
    return float(np.mean(kept)) if kept else None


def latency_summary(values_ms: Sequence[float]) -> dict[str, float]:
    """p50 and p95 of per-question latencies in milliseconds."""
    return {"latency_p50_ms": percentile(values_ms, 50),
            "latency_p95_ms": percentile(values_ms, 95)}


# --- Answer-quality metrics of issue 12 (lead hit, noise leads, coverage) ----------

_NOISE = re.compile(
    r"^\s*(?:discussion points\b|see also\b|of historical interest\b|\(?see\b|"
    r"(?:[\w/&+' -]{1,40}):\s+-\s|(?:paper|title|authors?)\s*:|"
    r"(?:it|its|they|their|this|these|those|that|such|both|he|she)\b(?!\s+(?:paper|study|"
    r"report)\b))", re.I)
_CONTENT = re.compile(r"[a-z0-9][a-z0-9_\-^./]*")
_STOPWORDS = frozenset("the a an of to in on for and or is are be by with as at from that "
                       "this it its".split())


def first_line(text: str) -> str:
    """The answer's first non-empty line (its direct answer)."""
    return next((ln for ln in text.splitlines() if ln.strip()), "")


def noise_lead(answer_text: str) -> bool:
    """Is the first line meta-text (a discussion-point list, "See also", a label list,
    a bare title) or does it open with an unresolved pronoun?"""
    line = first_line(answer_text).lstrip("-*• ")
    return bool(_NOISE.match(line))


def _content_words(text: str) -> set[str]:
    return {w for w in _CONTENT.findall(normalize(text)) if w not in _STOPWORDS}


def lead_hit(answer_text: str, key_facts: Sequence[str], evidence: Sequence[dict],
             min_share: float = 0.6) -> bool:
    """Does the first line state a reference key fact?  ``key_facts`` are regexes
    (case-insensitive); without them, the first line must hold ``min_share`` of the
    content words of some evidence quote."""
    line = first_line(answer_text)
    if key_facts:
        return any(re.search(p, line, re.I) for p in key_facts)
    words = _content_words(line)
    for ev in evidence:
        quote = _content_words(ev["quote"])
        if quote and len(quote & words) / len(quote) >= min_share:
            return True
    return False


def answer_scores(answer_text: str, abstained: bool, coverage: str, expected: str | None,
                  answerable: bool, key_facts: Sequence[str], evidence: Sequence[dict],
                  ) -> dict[str, float | None]:
    """Lead hit, noise lead, coverage correctness and false abstention of one answer
    (``None`` where a metric does not apply)."""
    answered = not abstained
    return {
        "lead_hit": (1.0 if lead_hit(answer_text, key_facts, evidence) else 0.0)
        if answerable and answered else (0.0 if answerable else None),
        "noise_lead": (1.0 if noise_lead(answer_text) else 0.0) if answered else None,
        "coverage_correct": None if expected is None else float(
            coverage == expected or {coverage, expected} <= {"full", "partial"}),
        "coverage_exact": None if expected is None else float(coverage == expected),
        "false_abstention": (1.0 if abstained else 0.0) if answerable else None,
        "named_only_ok": None if expected != "mentioned" else float(
            coverage in ("mentioned", "none")),
        "offtopic_ok": None if expected != "none" else float(coverage == "none"),
    }
