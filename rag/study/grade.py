"""Grading an open answer against the entry's key points (chosen at build time).

The offline grader judges each key point against the answer's sentences:

* **covered** (credit 1): a sentence is close to the point (cosine >= ``cover_threshold``)
  *and* uses enough of the point's distinguishing words (content words that are not in
  the question and not generic), so topical similarity alone earns nothing;
* **partly covered** (credit 0.5): close, with at least one distinguishing word;
* **contradicted** (credit 0, and a penalty): a sentence about the point states a
  different number, swaps an antonym (linear/quadratic, frozen/trained ...) or negates it.

Before that, sentences that restate the question or a title, gibberish (mostly words
the corpus never uses) and keyword salad (long runs without a function word) are set
aside; an answer with nothing left, or nothing on topic, scores 0.  Then

    score = 10 * clamp((sum w*credit - penalty * sum w*contradicted) / (target * sum w))

What it cannot judge: explanations it has no key point for, reasoning quality, and a
wrong claim phrased without a number, antonym or negation.  ``rag.study.rubric`` lets
an LLM backend judge the same key points when one is configured.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from rag.corpus.chunk import split_sentences
from rag.errors import InvalidAnswer
from rag.records import BankEntry, Citation, Grade, KeyPoint
from rag.settings import InterviewSettings
from rag.study import terms

_ALLOWED_CONTROL = {"\n", "\t", "\r"}
OFFLINE_LIMITS = ("The offline grader checks that your sentences state the key points with "
                  "their distinguishing terms, and catches wrong numbers, swapped opposites "
                  "(linear/quadratic, frozen/trained …) and negations. It cannot judge "
                  "reasoning, points outside the reference material, or a wrong claim worded "
                  "without such a signal.")


def check_answer(text: object, max_chars: int) -> str:
    """The answer, trimmed; raises ``InvalidAnswer`` with a clear message for empty,
    too long, non-text, undecodable (surrogates) or control-character answers."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidAnswer(f"your answer is not valid UTF-8 text (byte {exc.start}): "
                                "re-type it or check the encoding") from None
    if not isinstance(text, str) or not text.strip():
        raise InvalidAnswer("your answer is empty: type your answer, then press Grade")
    if len(text) > max_chars:
        raise InvalidAnswer(f"your answer is too long ({len(text):,} characters; the limit "
                            f"is {max_chars:,}): shorten it")
    if any(unicodedata.category(ch) == "Cs" for ch in text):
        raise InvalidAnswer("your answer is not valid UTF-8 text: re-type it or check the "
                            "encoding of your input")
    bad = sorted({ch for ch in text if unicodedata.category(ch) == "Cc"
                  and ch not in _ALLOWED_CONTROL})
    if bad:
        names = ", ".join(f"U+{ord(ch):04X}" for ch in bad[:5])
        raise InvalidAnswer(f"your answer contains control characters ({names}): remove "
                            "them and grade again")
    return text.strip()


def answer_units(text: str, min_words: int = 3) -> list[str]:
    """The answer's sentences (lines and list items split too) and their ';'-separated
    clauses, each of at least ``min_words`` words; ``InvalidAnswer`` when none is."""
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


def is_gibberish(unit: str, vocab: frozenset[str]) -> bool:
    """Mostly words neither the corpus nor English function words contain."""
    tokens = terms.words(unit)
    if not tokens:
        return True
    known = sum(t in vocab or t in terms.FUNCTION_WORDS for t in tokens)
    return known < 0.6 * len(tokens)


def is_salad(unit: str) -> bool:
    """A keyword list: six or more words and not one function word."""
    tokens = terms.words(unit)
    return len(tokens) >= 6 and not any(t in terms.FUNCTION_WORDS for t in tokens)


def is_echo(unit: str, unit_vec: np.ndarray, question_vec: np.ndarray, context: str,
            threshold: float) -> bool:
    """Restates the question or a title: very similar to the question, or no content
    word beyond the question's and the sources' titles."""
    if float(unit_vec @ question_vec) >= threshold:
        return True
    stems = terms.content_stems(unit)
    return not (stems - terms.content_stems(context) - terms._GENERIC_STEMS)


def _present(stem: str, stems: set[str]) -> bool:
    """``stem`` or a word sharing it as a prefix ("train" / "trainabl")."""
    return any(s == stem or (min(len(s), len(stem)) >= 4 and (s.startswith(stem) or
                                                              stem.startswith(s)))
               for s in stems)


def contradiction(point: str, unit: str, question: str = "") -> str:
    """Why ``unit`` states the opposite of ``point`` ('' when it does not): a different
    number; an antonym swapped in ("quadratic" for "linear") unless the unit negates it
    ("does not update" for "freezes"); or a shared word negated in one but not the other."""
    p_slots, u_slots = terms.number_slots(point), terms.number_slots(unit)
    for slot in p_slots.keys() & u_slots.keys():
        if not any(terms.same_number(a, b) for a in p_slots[slot] for b in u_slots[slot]):
            said = ", ".join(f"{v:g}" for v in sorted(u_slots[slot]))
            want = ", ".join(f"{v:g}" for v in sorted(p_slots[slot]))
            return f"different number ({said} for {want}{'' if slot == '%' else ' ' + slot})"
    p_stems, u_stems = terms.content_stems(point), terms.content_stems(unit)
    context = terms.content_stems(question)
    neg_p, neg_u = terms.negated_stems(point), terms.negated_stems(unit)
    swaps = sorted((a, b) for a in p_stems - context for b in terms.antonyms(a) - context
                   if b in u_stems and not _present(a, u_stems) and not _present(b, p_stems))
    for a, b in swaps:
        if b not in neg_u:
            return f"opposite claim ({b} for {a})"
    if swaps or any(terms.antonyms(x) & p_stems for x in neg_u):
        return ""  # "does not update" restates "freezes"
    shared = (p_stems & u_stems) - terms._GENERIC_STEMS - context
    denied = shared & terms.negated_stems(unit, explicit=True) - neg_p
    if denied:  # "LoRA does not freeze the weights" for "LoRA freezes the weights"
        return f"negated claim ({', '.join(sorted(denied))})"
    return ""


@dataclass(frozen=True)
class Judgement:
    credit: float
    contradicted: bool
    unit: int
    similarity: float
    why: str


def _no_rarity(stem: str) -> float:
    return 1.0


def judge_point(point: KeyPoint, question: str, sims: np.ndarray, units: Sequence[str],
                cfg: InterviewSettings, weigh=_no_rarity) -> Judgement:
    """The best judgement of one key point over the answer's units.  A unit that both
    matches the point and states its opposite contradicts it; a contradiction found
    in one unit loses to a correct statement of the point in another."""
    weights = {t: weigh(t) for t in terms.distinguishing(point.text, question)}
    wanted = {t for t, w in weights.items() if w > 0}
    need = max(1, min(cfg.min_terms, math.ceil(cfg.term_fraction * len(wanted))))
    # a short point ("need to load all experts") has a lower cosine to any full sentence
    relief = cfg.short_point_relief if len(point.text.split()) < 10 else 0.0
    best = Judgement(0.0, False, int(np.argmax(sims)) if len(sims) else 0,
                     float(sims.max()) if len(sims) else 0.0, "not mentioned")
    wrong: Judgement | None = None
    for i, unit in enumerate(units):
        hits = wanted & terms.content_stems(unit)
        sim, found = float(sims[i]) + relief, sum(weights[t] for t in hits)
        if sim < cfg.partial_threshold or found < 1:
            continue
        why = contradiction(point.text, unit, question) if found >= need else ""
        if why:
            wrong = wrong or Judgement(0.0, True, i, sim, why)
            continue
        credit = 1.0 if sim >= cfg.cover_threshold and found >= need else 0.5
        if credit > best.credit:
            best = Judgement(credit, False, i, sim, f"{len(hits)} of {len(wanted)} "
                             "distinguishing terms")
    if wrong and best.credit < 1.0:
        return wrong
    return best


def score_out_of_10(points: Sequence[KeyPoint], target: float, penalty: float) -> float:
    total = sum(p.weight for p in points)
    if total <= 0:
        return 0.0
    earned = sum(p.weight * p.credit for p in points)
    earned -= penalty * sum(p.weight for p in points if p.contradicted)
    return round(10 * min(1.0, max(0.0, earned / (target * total))), 1)


@dataclass
class Prepared:
    """An answer's gradable units and their vectors, after the relevance checks."""

    units: list[str]
    vectors: np.ndarray
    notes: list[str]


def prepare(entry: BankEntry, text: str, encode, question_vec: np.ndarray,
            vocab: frozenset[str], cfg: InterviewSettings,
            point_vecs: np.ndarray | None = None) -> Prepared:
    """Split, drop gibberish, keyword salad and restatements, then the off-topic check."""
    units = answer_units(text)
    notes = []
    kept = [u for u in units if not is_gibberish(u, vocab) and not is_salad(u)]
    if len(kept) < len(units):
        notes.append(f"{len(units) - len(kept)} sentence(s) set aside as gibberish or a "
                     "keyword list")
    vecs = encode(kept) if kept else np.zeros((0, len(question_vec)))
    context = " ".join([entry.question, *{p.title for p in entry.key_points}])
    echo = [is_echo(u, v, question_vec, context, cfg.echo_threshold) for u, v in zip(kept, vecs)]
    if any(echo):
        notes.append(f"{sum(echo)} sentence(s) only restate the question or a title")
    units = [u for u, e in zip(kept, echo) if not e]
    vecs = vecs[[i for i, e in enumerate(echo) if not e]] if len(vecs) else vecs
    if len(vecs) and is_off_topic(vecs, question_vec, point_vecs, cfg):
        notes.append("the answer is off-topic for this question")
        return Prepared([], vecs[:0], notes)
    return Prepared(units, vecs, notes)


def is_off_topic(vecs: np.ndarray, question_vec: np.ndarray, point_vecs: np.ndarray | None,
                 cfg: InterviewSettings) -> bool:
    """No sentence near the question, and none near any key point."""
    if float((vecs @ question_vec).max()) >= cfg.relevance_threshold:
        return False
    near_points = point_vecs is not None and len(point_vecs) and float(
        (vecs @ point_vecs.T).max()) >= cfg.partial_threshold
    return not near_points


def judge_points(entry: BankEntry, prep: Prepared, point_vecs: np.ndarray,
                 cfg: InterviewSettings, weigh=_no_rarity) -> list[KeyPoint]:
    sims = point_vecs @ prep.vectors.T if len(prep.units) else np.zeros((len(point_vecs), 0))
    out = []
    for i, point in enumerate(entry.key_points):
        j = judge_point(point, entry.question, sims[i], prep.units, cfg, weigh)
        out.append(point.model_copy(update={
            "covered": j.credit >= 1.0, "credit": j.credit, "contradicted": j.contradicted,
            "similarity": round(j.similarity, 4), "why": j.why,
            "matched": prep.units[j.unit] if prep.units and (j.credit or j.contradicted)
            else ""}))
    return out


def topical_floor(score: float, prep: Prepared, question_vec: np.ndarray,
                  points: Sequence[KeyPoint], cfg: InterviewSettings) -> float:
    """A relevant but unspecific answer (close to the question, contradicting nothing)
    scores ``topical_credit`` rather than 0: an interviewer gives it something."""
    if not prep.units or any(p.contradicted for p in points):
        return score
    if float((prep.vectors @ question_vec).max()) >= cfg.topical_threshold:
        return max(score, cfg.topical_credit)
    return score


def evidence_for(entry: BankEntry, chunks_by_id: dict) -> list[Citation]:
    """The entry's passages as numbered citations (key points cite them by ``n``)."""
    out = []
    for n, cid in enumerate(entry.source_chunk_ids, 1):
        chunk = chunks_by_id.get(cid)
        if chunk is not None:
            out.append(Citation(n=n, doc_id=chunk.doc_id, title=chunk.title,
                                section=chunk.section, url=chunk.url, text=chunk.text,
                                score=0.0, cited=False, chunk_id=cid,
                                page_start=chunk.page_start, page_end=chunk.page_end))
    return out


def grade_offline(entry: BankEntry, prep: Prepared, point_vecs: np.ndarray,
                  cfg: InterviewSettings, weigh=_no_rarity) -> tuple[list[KeyPoint], float]:
    points = judge_points(entry, prep, point_vecs, cfg, weigh)
    return points, score_out_of_10(points, cfg.coverage_target, cfg.contradiction_penalty)


@dataclass
class Assessment:
    text: str
    score: float
    points: list[KeyPoint]
    grader: str
    notes: list[str]


def assess(assistant, study, entry: BankEntry, user_answer: object,
           grader: str = "offline") -> Assessment:
    """Score ``user_answer`` against ``entry``'s key points (no model answer)."""
    cfg = assistant.settings.interview
    text = check_answer(user_answer, cfg.max_answer_chars)
    qvec = study.question_vectors[entry.entry_id]
    prep = prepare(entry, text, assistant.embedder.encode, qvec, study.vocab, cfg,
                   study.point_vectors[entry.entry_id])
    points, score = grade_offline(entry, prep, study.point_vectors[entry.entry_id], cfg,
                                  study.term_weight)
    score = topical_floor(score, prep, qvec, points, cfg)
    used, notes = "offline", list(prep.notes)
    if grader == "llm" and prep.units:
        from rag.study import rubric

        judged = rubric.llm_grade(assistant, entry, text, points, cfg)
        if judged.points is not None:
            points, used = judged.points, judged.grader
            score = score_out_of_10(points, cfg.coverage_target, cfg.contradiction_penalty)
        notes.extend(judged.notes)
    notes.extend(f"contradicts: {p.text[:80]}… ({p.why})" for p in points if p.contradicted)
    return Assessment(text, score, points, used, notes)


def grade_answer(assistant, study, entry: BankEntry, user_answer: object,
                 backend: str | None = None, grader: str = "offline") -> Grade:
    """Grade ``user_answer`` to ``entry`` (a ``StudyBank`` entry with key points), with
    the assistant's own answer as the model answer; ``grader="llm"`` lets the
    configured LLM judge the key points (after the same checks); raises
    ``InvalidAnswer`` for bad input."""
    result = assess(assistant, study, entry, user_answer, grader)
    chunks_by_id = {c.chunk_id: c for c in assistant.index.chunks}
    model = assistant.ask(entry.question, backend=backend)
    return Grade(entry=entry, user_answer=result.text, score=result.score,
                 key_points=tuple(result.points),
                 evidence=tuple(evidence_for(entry, chunks_by_id)), model_answer=model,
                 grader=result.grader, notes=tuple(result.notes))
