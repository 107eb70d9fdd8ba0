"""Mock interview grading of a user's answer against key points of the evidence.

The reference evidence is the passages the assistant retrieves for the
question (numbered like its model answer) plus the entry's own passages.
Their answer sentences (``split_sentences`` + ``is_answer_sentence``) most
similar to the question, minus near-duplicates, are the key points; each
weighs its cosine to the question.  A key point is covered when a sentence of
the user's answer reaches ``cover_threshold`` cosine to it, and

    score = round(10 * covered weight / total weight, 1).

The question bank lives in ``rag.study.bank``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from rag.corpus.chunk import is_answer_sentence, split_sentences
from rag.errors import InvalidAnswer
from rag.records import BankEntry, Chunk, Citation, Grade, KeyPoint
from rag.settings import InterviewSettings


def check_answer(text: object, max_chars: int) -> str:
    """The answer, trimmed; raises ``InvalidAnswer`` with a clear message."""
    if not isinstance(text, str) or not text.strip():
        raise InvalidAnswer("your answer is empty: type your answer, then press Grade")
    if len(text) > max_chars:
        raise InvalidAnswer(f"your answer is too long ({len(text):,} characters; the limit "
                            f"is {max_chars:,}): shorten it")
    return text.strip()


def answer_units(text: str, min_words: int = 3) -> list[str]:
    """The pieces of a user's answer matched against key points: its sentences
    (lines and list items split too) and their ';'-separated clauses, each of at
    least ``min_words`` words; raises ``InvalidAnswer`` when none is that long."""
    units: list[str] = []
    for sentence in split_sentences(text) or [text.strip()]:
        units.append(sentence)
        clauses = [c.strip() for c in sentence.split(";")]
        if len(clauses) > 1:
            units.extend(clauses)
    units = [u for u in dict.fromkeys(units) if len(u.split()) >= min_words]
    if not units:
        raise InvalidAnswer(f"your answer is too short to grade: write at least one sentence "
                            f"of {min_words} or more words")
    return units


def is_statement(sentence: str) -> bool:
    """An answer sentence that states something (questions are not key points)."""
    return is_answer_sentence(sentence) and "?" not in sentence


def evidence_sentences(index, evidence: Sequence[Citation], skip_chunks: set[str],
                       ) -> tuple[list[tuple[str, Citation]], np.ndarray]:
    """Statement sentences of the evidence passages and their build-time vectors.

    The index already holds every answer sentence (``split_sentences`` +
    ``is_answer_sentence``) of every chunk with its vector, so nothing is encoded.
    """
    position = {c.chunk_id: i for i, c in enumerate(index.chunks)}
    out, rows, seen = [], [], set()
    for cit in evidence:
        i = position.get(cit.chunk_id)
        if cit.chunk_id in skip_chunks or i is None:
            continue
        start, end = index.sentence_ranges[i]
        for row in range(start, end):
            text = index.sentences[row][1]
            if is_statement(text) and text not in seen:
                seen.add(text)
                out.append((text, cit))
                rows.append(row)
    return out, index.sentence_vectors[rows]


def point_weight(similarity: float) -> float:
    """A key point weighs its cosine to the question, at least 0.1."""
    return round(max(0.1, float(similarity)), 4)


def coverage(point_vecs: np.ndarray, unit_vecs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each key point: best cosine to any answer unit, and that unit's index."""
    if not len(unit_vecs) or not len(point_vecs):
        return np.zeros(len(point_vecs)), np.zeros(len(point_vecs), dtype=int)
    sims = point_vecs @ unit_vecs.T
    return sims.max(axis=1), sims.argmax(axis=1)


def echo_mask(unit_vecs: np.ndarray, question_vec: np.ndarray, echo: float) -> np.ndarray:
    """True for answer units that merely restate the question."""
    if not len(unit_vecs):
        return np.zeros(0, dtype=bool)
    return (unit_vecs @ question_vec) >= echo


def score_out_of_10(points: Sequence[KeyPoint]) -> float:
    """10 x covered weight / total weight, one decimal."""
    total = sum(p.weight for p in points)
    if total <= 0:
        return 0.0
    return round(10 * sum(p.weight for p in points if p.covered) / total, 1)


def reference_evidence(citations: Sequence[Citation], entry: BankEntry,
                       chunks_by_id: dict[str, Chunk]) -> list[Citation]:
    """The model answer's citations, then the entry's own passages not among them."""
    evidence = list(citations)
    have = {c.chunk_id for c in evidence}
    for cid in entry.source_chunk_ids:
        chunk = chunks_by_id.get(cid)
        if chunk is None or cid in have:
            continue
        have.add(cid)
        evidence.append(Citation(
            n=len(evidence) + 1, doc_id=chunk.doc_id, title=chunk.title, section=chunk.section,
            url=chunk.url, text=chunk.text, score=0.0, cited=False, chunk_id=cid,
            page_start=chunk.page_start, page_end=chunk.page_end))
    return evidence


def hint_candidate(entry: BankEntry, evidence: Sequence[Citation],
                   ) -> list[tuple[str, Citation]]:
    """The entry's hint as the first key-point candidate, cited to its passage."""
    origin = [c for c in evidence if c.chunk_id == entry.origin_chunk_id]
    return [(entry.hint, origin[0])] if entry.hint and origin else []


def rank_candidates(question_vec: np.ndarray, sentences: Sequence[tuple[str, Citation]],
                    vectors: np.ndarray, used: Iterable[str], limit: int) -> list[int]:
    """Up to ``limit`` candidate key points: the sentences the model answer used, in
    order, then the others by cosine to the question (build-time vectors)."""
    position = {text: i for i, (text, _) in enumerate(sentences)}
    first = [position[u] for u in dict.fromkeys(used) if u in position]
    sims = vectors @ question_vec if len(vectors) else np.zeros(0)
    rest = [int(i) for i in np.argsort(-sims, kind="stable") if int(i) not in first]
    return (first + rest)[:limit]


def make_key_points(candidates: Sequence[tuple[str, Citation]], vecs: np.ndarray,
                    question_vec: np.ndarray,
                    cfg: InterviewSettings) -> tuple[list[KeyPoint], np.ndarray]:
    """Key points from ranked candidates with plain-text vectors ``vecs``:
    near-duplicates dropped, each weighted by its cosine to the question."""
    keep: list[int] = []
    for i in range(len(candidates)):
        if len(keep) == cfg.key_points:
            break
        if all(float(vecs[i] @ vecs[j]) < cfg.redundancy_threshold for j in keep):
            keep.append(i)
    points = []
    for i in keep:
        text, cit = candidates[i]
        points.append(KeyPoint(text=text, n=cit.n, title=cit.title, section=cit.section,
                               url=cit.url, weight=point_weight(vecs[i] @ question_vec)))
    return points, vecs[keep]


def mark_coverage(points: Sequence[KeyPoint], point_vecs: np.ndarray, unit_vecs: np.ndarray,
                  units: Sequence[str], threshold: float) -> list[KeyPoint]:
    """Key points with ``covered`` (best cosine >= ``threshold``), ``similarity`` and
    ``matched`` (the closest answer unit) filled in."""
    best, which = coverage(point_vecs, unit_vecs)
    return [p.model_copy(update={
        "covered": bool(best[i] >= threshold), "similarity": round(float(best[i]), 4),
        "matched": units[int(which[i])] if units else ""}) for i, p in enumerate(points)]


def grade_answer(assistant, entry: BankEntry, user_answer: str,
                 backend: str | None = None) -> Grade:
    """Grade ``user_answer`` to ``entry``; raises ``InvalidAnswer`` for an empty one."""
    cfg = assistant.settings.interview
    text = check_answer(user_answer, cfg.max_answer_chars)
    units = answer_units(text)
    model = assistant.ask(entry.question, k=cfg.reference_passages, backend=backend)
    chunks_by_id = {c.chunk_id: c for c in assistant.index.chunks}
    evidence = reference_evidence(model.citations, entry, chunks_by_id)
    skip = {entry.origin_chunk_id} - set(entry.source_chunk_ids)  # e.g. the question list
    sentences, vectors = evidence_sentences(assistant.index, evidence, skip)
    qvec = assistant.embedder.encode_query(entry.question)
    used = [s for c in model.citations for s in c.used_sentences]
    order = rank_candidates(qvec, sentences, vectors, used, 3 * cfg.key_points)
    cands = hint_candidate(entry, evidence) + [sentences[i] for i in order]
    vecs = assistant.embedder.encode([text for text, _ in cands] + units)  # one batch
    points, point_vecs = make_key_points(cands, vecs[:len(cands)], qvec, cfg)
    unit_vecs = vecs[len(cands):]
    echoes = echo_mask(unit_vecs, qvec, cfg.echo_threshold)  # restating the question
    units = [u for u, e in zip(units, echoes, strict=True) if not e]
    points = mark_coverage(points, point_vecs, unit_vecs[~echoes], units, cfg.cover_threshold)
    return Grade(entry=entry, user_answer=text, score=score_out_of_10(points),
                 key_points=tuple(points), evidence=tuple(evidence), model_answer=model)


# --- score history ------------------------------------------------------------

HISTORY_HEADERS = ["Topic", "Answers", "Average /10", "Best /10", "Last /10"]


def record_score(history: Sequence[dict], grade: Grade) -> list[dict]:
    """The session's score history with ``grade`` appended (a new list)."""
    return [*history, {"topic": grade.entry.topic, "question": grade.entry.question,
                       "score": grade.score}]


def history_rows(history: Sequence[dict]) -> list[list]:
    """One row per topic: answers, average, best and last score."""
    by_topic: dict[str, list[float]] = {}
    for item in history:
        by_topic.setdefault(item["topic"], []).append(float(item["score"]))
    return [[topic, len(s), round(sum(s) / len(s), 1), max(s), s[-1]]
            for topic, s in by_topic.items()]
