"""Grading an open answer against the entry's key points (chosen at build time).

The offline grader judges each key point against the answer's sentences:

* **covered** (credit 1): a sentence is close to the point (cosine >= ``cover_threshold``)
  *and* uses enough of the point's distinguishing words (content words that are not in
  the question and not generic), so topical similarity alone earns nothing;
* **partly covered** (credit 0.5): close, with at least one distinguishing word;
* **contradicted** (credit 0, and a penalty): a sentence about the point states a
  different number, swaps an antonym (linear/quadratic, frozen/trained ...) or negates it.

A sentence or clause earns nothing when more than about half of its specific terms
(weighted by rarity) appear nowhere in the question's sources (``rag.study.grounding``;
a sentence counts as unsupported as its worst clause): it matches a point's words
while asserting something the sources never say.

Before that, sentences that restate the question or a title, gibberish (mostly words
the corpus never uses) and keyword salad (long runs without a function word) are set
aside; an answer with nothing left, or nothing on topic, scores 0.  Then

    score = 10 * clamp((sum w*credit - penalty * sum w*contradicted) / (target * sum w))

What it cannot judge: explanations it has no key point for, reasoning quality, and a
wrong claim made of the sources' own words without a number, antonym or negation.
``rag.study.rubric`` lets an LLM backend judge the same key points when one is
configured.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from rag.errors import InvalidAnswer, text_problem
from rag.records import BankEntry, Citation, Grade, KeyPoint
from rag.settings import InterviewSettings
from rag.study import attribution, grounding, owners, terms
from rag.study.claims import (
    answer_units,
    contradiction,
    denied_in,
    first_reversal,
    known_numbers,
    opposite,
    plainly_wrong,
    present,
    sentence_units,
    stems_of,
)
from rag.study.owners import owned, owners_other

__all__ = ["answer_units", "assess", "check_answer", "contradiction", "grade_answer",
           "is_echo", "is_gibberish", "is_keyword_dump", "is_salad"]

OFFLINE_LIMITS = ("The offline grader checks that your sentences state the key points with "
                  "their distinguishing terms, and catches wrong numbers, swapped opposites "
                  "(linear/quadratic, frozen/trained …) and negations; a sentence most of "
                  "whose specific terms the sources never use earns no point. It cannot judge "
                  "reasoning, points outside the reference material (a correct one in words "
                  "the sources do not use may go uncredited), or a wrong claim made of the "
                  "sources' own words without such a signal.")


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
    problem = text_problem(text, "your answer", "grade")
    if problem:
        raise InvalidAnswer(problem)
    return text.strip()


def is_gibberish(unit: str, vocab: frozenset[str]) -> bool:
    """Mostly words neither the corpus nor English function words contain."""
    tokens = terms.words(unit)
    if not tokens:
        return True
    known = sum(t in vocab or t in terms.FUNCTION_WORDS for t in tokens)
    return known < 0.6 * len(tokens)


def is_salad(unit: str, punctuated: bool = True) -> bool:
    """A keyword list: seven or more words and not one function word (a spoken clause of
    six, "batches get uneven load across experts", is none); in an answer with no
    punctuation at all (not ``punctuated``), fewer than one function word in five ("hybrid
    mamba jamba layer scan selective attention the of 256K linear recall": a "the" and
    "of" thrown in); or fewer than three in ten, misplaced
    (``terms.misplaced_function_words``)."""
    tokens = terms.words(unit)
    if len(tokens) < 7:
        return False
    function = sum(t in terms.FUNCTION_WORDS for t in tokens)
    return not function or function < 0.2 * len(tokens) and not punctuated or (
        function < 0.3 * len(tokens) and terms.misplaced_function_words(unit))


def is_keyword_dump(text: str) -> bool:
    """A whole answer of nine or more words with fewer than one function word in seven,
    however it is punctuated ("Timbre! prosody? content... acoustic: detail, detail;
    codec-codec. Diffusion 42 - umbrella."): sentences need their "the", "of", "is"."""
    tokens = terms.words(text)
    return len(tokens) >= 9 and sum(t in terms.FUNCTION_WORDS for t in tokens) \
        < 0.15 * len(tokens)


_PUNCTUATION = re.compile(r"[.,;:!?](?=\s|$)|[()]")  # not the point of "1.4T" or "10,000"


def is_echo(unit: str, unit_vec: np.ndarray, question_vec: np.ndarray, context: str,
            threshold: float) -> bool:
    """Restates the question or a title: very similar to the question, or no content
    word beyond the question's and the sources' titles."""
    if float(unit_vec @ question_vec) >= threshold:
        return True
    said = stems_of(context)
    names = [w for w in terms.words(context) if len(w) > 4]
    # a part of an asked name is no content ("quantized LoRA" for QLoRA, "natural
    # speech" for NaturalSpeech)
    return not {s for s in terms.content_stems(unit) - said - terms._GENERIC_STEMS
                if not any(s in n for n in names if len(s) >= 3)}


@dataclass(frozen=True)
class Judgement:
    credit: float
    contradicted: bool
    unit: int
    similarity: float
    why: str


def _no_rarity(stem: str) -> float:
    return 1.0


def _wanted(point: str, question: str, weigh) -> dict[str, float]:
    """The point's distinguishing terms (acronyms spelled out too) and their weights."""
    context = stems_of(question)
    dist = {t for t in stems_of(point) - context if t not in terms._GENERIC_STEMS}
    return {t: w for t in dist if (w := weigh(t)) > 0}


def judge_point(point: KeyPoint, question: str, sims: np.ndarray, units: Sequence[str],
                cfg: InterviewSettings, weigh=_no_rarity,
                known: frozenset[float] = frozenset(),
                shares: Sequence[float] = (), misattributed: Sequence[str] = (),
                denied: frozenset[str] = frozenset(), stated: Sequence[str] = ()
                ) -> Judgement:
    """The best judgement of one key point over the answer's units (sentences, clauses).
    Covered: cosine >= ``cover_threshold`` and enough distinguishing terms
    (``term_fraction`` of their weight, at least 1, at most ``min_terms``); partly: cosine
    >= ``partial_threshold`` and one such term.  A unit from ``contradiction_threshold``
    that states the point's opposite (a number for the same thing, a swapped opposite, a
    negation) contradicts it unless another unit states it correctly; one that ranks its
    two sides the other way round, whatever else is said.  A unit whose specific terms
    the sources mostly lack (``shares`` above ``unsupported_limit``) earns at most partial
    credit; one that gives its subject a property the sources attribute elsewhere
    (``misattributed``, see ``rag.study.attribution``) earns nothing, and contradicts the
    point when it carries enough of its terms.  ``stated``: the point's paper's other texts."""
    weights = _wanted(point.text, question, weigh)
    need = max(1.0, min(cfg.min_terms, cfg.term_fraction * sum(weights.values())))
    relief = cfg.short_point_relief if len(point.text.split()) < 10 else 0.0  # short: lower cos
    if reversal := first_reversal(point.text, units, sims + relief, cfg.contradiction_threshold,
                                  question):
        return Judgement(0.0, True, reversal[0], float(sims[reversal[0]]) + relief, reversal[1])
    best = Judgement(0.0, False, int(np.argmax(sims)) if len(sims) else 0,
                     float(sims.max()) if len(sims) else 0.0, "not mentioned")
    wrong: Judgement | None = None
    for i, unit in enumerate(units):
        stems = stems_of(unit)
        hits = [t for t in weights if present(t, stems)]
        sim, found = float(sims[i]) + relief, sum(weights[t] for t in hits)
        if sim < min(cfg.partial_threshold, cfg.contradiction_threshold) or found < 1:
            continue
        why = opposite(point.text, point.facet, unit, question, found >= need, known, denied,
                       stated)
        near = sim >= cfg.partial_threshold  # else close enough only to contradict it
        if near and misattributed and misattributed[i] and not why:
            if found < need:
                continue
            why = misattributed[i]
        if why:
            wrong = wrong or Judgement(0.0, True, i, sim, why)
            continue
        credit = _credit(sim, found, need, shares[i] if shares else 0.0, cfg) if near else 0.0
        if credit > best.credit:
            best = Judgement(credit, False, i, sim, f"{len(hits)} of {len(weights)} "
                             "distinguishing terms")
    if wrong and (best.credit < 1.0 or units[best.unit] in units[wrong.unit]
                  and plainly_wrong(wrong.why, units[wrong.unit])):
        return wrong  # a clause of a sentence with a wrong number does not state it right
    return best


def _credit(sim: float, found: float, need: float, share: float, cfg: InterviewSettings
            ) -> float:
    """Full credit for a close unit with enough distinguishing terms, else half; less as
    its claim is unsupported by the sources (``share``)."""
    credit = 1.0 if sim >= cfg.cover_threshold and found >= need else 0.5
    return credit * grounding.trust(share, cfg.unsupported_limit, cfg.unsupported_band)


def score_out_of_10(points: Sequence[KeyPoint], target: float, penalty: float,
                    extra: float = 0.0) -> float:
    """10 x (covered weight + ``extra`` - ``penalty`` x contradicted weight) / (``target``
    x total weight), within [0, 10]."""
    total = sum(p.weight for p in points)
    if total <= 0:
        return 0.0
    earned = sum(p.weight * p.credit for p in points) + extra
    earned -= penalty * sum(p.weight for p in points if p.contradicted)
    return round(10 * min(1.0, max(0.0, earned / (target * total))), 1)


@dataclass
class Prepared:
    """An answer's gradable units and their vectors, after the relevance checks."""

    units: list[str]
    vectors: np.ndarray
    notes: list[str]
    sentence: list[int] = field(default_factory=list)  # the sentence of each unit
    support: list[grounding.Support] = field(default_factory=list)  # of each unit
    misattributed: list[str] = field(default_factory=list)  # why, per unit ('' if not)
    off_subject: list[bool] = field(default_factory=list)  # per unit: see off_subject()

    @property
    def shares(self) -> list[float]:
        """Each unit's unsupported share, a sentence's no lower than its clauses' (see
        ``rag.study.grounding``)."""
        return grounding.claim_shares(self.units, self.support) if self.support else []


def prepare(entry: BankEntry, text: str, encode, question_vec: np.ndarray,
            vocab: frozenset[str], cfg: InterviewSettings,
            point_vecs: np.ndarray | None = None,
            sources: grounding.SourceTerms | None = None, weigh=_no_rarity) -> Prepared:
    """Split, drop gibberish, keyword salad and restatements, then the off-topic check;
    with ``sources`` (the stems of the question's sources), each unit's support."""
    pairs = sentence_units(text)
    units = [u for u, _ in pairs]
    sentence_of = dict(pairs)
    notes = []
    punctuated = bool(_PUNCTUATION.search(text))
    kept = [] if is_keyword_dump(text) else \
        [u for u in units if not is_gibberish(u, vocab) and not is_salad(u, punctuated)]
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
    asked = stems_of(entry.question)
    support = [grounding.unit_support(u, asked, sources, weigh) for u in units] \
        if sources is not None else []
    grounded = any(grounding.on_sources(s, cfg.relevant_unsupported) for s in support)
    if len(vecs) and not grounded and is_off_topic(vecs, question_vec, point_vecs, cfg):
        notes.append("the answer is off-topic for this question")
        return Prepared([], vecs[:0], notes)
    return Prepared(units, vecs, notes, [sentence_of[u] for u in units], support)


def is_off_topic(vecs: np.ndarray, question_vec: np.ndarray, point_vecs: np.ndarray | None,
                 cfg: InterviewSettings) -> bool:
    """No sentence near the question, and none near any key point."""
    if float((vecs @ question_vec).max()) >= cfg.relevance_threshold:
        return False
    near_points = point_vecs is not None and len(point_vecs) and float(
        (vecs @ point_vecs.T).max()) >= cfg.partial_threshold
    return not near_points


def judge_points(entry: BankEntry, prep: Prepared, point_vecs: np.ndarray,
                 cfg: InterviewSettings, weigh=_no_rarity,
                 known: frozenset[float] | None = None,
                 owners: dict[str, str] | None = None) -> list[KeyPoint]:
    sims = point_vecs @ prep.vectors.T if len(prep.units) else np.zeros((len(point_vecs), 0))
    if known is None:
        known = known_numbers(p.text for p in (*entry.key_points, *entry.support))
    sources = (*entry.key_points, *entry.support)
    denied = denied_in(p.text for p in sources)
    judged = [judge_point(point, entry.question, sims[i], prep.units, cfg, weigh, known,
                          prep.shares, prep.misattributed, denied,
                          [p.text for p in sources if p.title == point.title and p is not point])
              for i, point in enumerate(entry.key_points)]
    judged = cap_per_sentence(judged, prep.sentence, cfg.points_per_sentence)
    if owners:
        judged = [owned(j, owners.get(p.text, ""), owners_other(owners, p.text), prep)
                  for p, j in zip(entry.key_points, judged)]
    out = []
    for point, j in zip(entry.key_points, judged):
        out.append(point.model_copy(update={
            "covered": j.credit >= 1.0, "credit": j.credit, "contradicted": j.contradicted,
            "similarity": round(j.similarity, 4), "why": j.why,
            "matched": prep.units[j.unit] if prep.units and (j.credit or j.contradicted)
            else ""}))
    return out


def cap_per_sentence(judged: list[Judgement], sentence_of: Sequence[int], cap: int
                     ) -> list[Judgement]:
    """One sentence of the answer fully covers at most ``cap`` points (the closest);
    beyond that it earns partial credit: a one-line summary is not a full answer."""
    if not sentence_of or cap <= 0:
        return judged
    by_sentence: dict[int, list[int]] = {}
    for k, j in enumerate(judged):
        if j.credit >= 1.0 and not j.contradicted:
            by_sentence.setdefault(sentence_of[j.unit], []).append(k)
    out = list(judged)
    for ks in by_sentence.values():
        for k in sorted(ks, key=lambda k: -judged[k].similarity)[cap:]:
            out[k] = replace(judged[k], credit=0.5, why=f"{judged[k].why}; its sentence "
                             f"already covers {cap} other points")
    return out


def topical_floor(score: float, prep: Prepared, question_vec: np.ndarray,
                  points: Sequence[KeyPoint], cfg: InterviewSettings) -> float:
    """A relevant but unspecific answer (close to the question, or a unit on its
    sources; contradicting and misattributing nothing) scores ``topical_credit``
    rather than 0: an interviewer gives it something."""
    if not prep.units or any(p.contradicted for p in points) or any(prep.misattributed):
        return score
    near = [i for i in range(len(prep.units)) if not (prep.off_subject and prep.off_subject[i])]
    if near and float((prep.vectors[near] @ question_vec).max()) >= cfg.topical_threshold \
            or any(grounding.on_sources(s, cfg.relevant_unsupported) for s in prep.support):
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
                  cfg: InterviewSettings, weigh=_no_rarity,
                  support_vecs: np.ndarray | None = None, owners: dict[str, str] | None = None,
                  ) -> tuple[list[KeyPoint], list[KeyPoint], float]:
    """The judged key points, the judged further facts of the entry's sources
    (``entry.support``), and the score: each further fact the answer states adds
    ``support_weight`` (at most ``support_cap`` of them), each it contradicts costs as
    much times the penalty."""
    points = judge_points(entry, prep, point_vecs, cfg, weigh, owners=owners)
    support: list[KeyPoint] = []
    if entry.support and support_vecs is not None and len(support_vecs):
        known = known_numbers(p.text for p in (*entry.key_points, *entry.support))
        support = judge_points(entry.model_copy(update={"key_points": entry.support}), prep,
                               support_vecs, cfg, weigh, known, owners)
    stated = sum(p.credit >= 1.0 for p in support)
    wrong = sum(p.contradicted for p in support)
    extra = cfg.support_weight * (min(stated, cfg.support_cap) - cfg.contradiction_penalty * wrong)
    return points, support, score_out_of_10(points, cfg.coverage_target,
                                            cfg.contradiction_penalty, extra)


def claim_weigh(study, cfg: InterviewSettings):
    """How much an unsupported term counts against a claim: its rarity in the corpus
    (``study.term_weight``), or ``unknown_term_weight`` for a word the corpus never
    uses (plain English paraphrase more often than a technical claim)."""
    def weigh(stem: str) -> float:
        if stem in study.stem_df:
            return study.term_weight(stem)
        return cfg.unknown_term_weight
    return weigh


def unsupported_notes(prep: Prepared, cfg: InterviewSettings) -> list[str]:
    """Say which claims earned nothing for terms the sources never use."""
    cut = cfg.unsupported_limit + cfg.unsupported_band / 2
    bad = [i for i, sup in enumerate(prep.support) if sup.share > cut]
    if not bad:
        return []
    missing = sorted({t for i in bad for t in prep.support[i].missing})
    return [f"{len({prep.sentence[i] for i in bad})} sentence(s) make claims in terms the "
            f"question's sources never use (e.g. {', '.join(missing[:4])}): those claims "
            "earn no point"]


def _entry_texts(assistant, entry: BankEntry) -> list[str]:
    """Everything ``entry``'s sources state: its passages, key points and further facts."""
    chunks = _chunk_texts(assistant.index)
    texts = [chunks.get(cid, "") for cid in entry.source_chunk_ids]
    return texts + [p.text for p in (*entry.key_points, *entry.support)]


def entry_sources(assistant, entry: BankEntry) -> grounding.SourceTerms:
    """The stems of everything ``entry``'s sources state (cached per entry)."""
    return grounding.source_stems(entry.entry_id, _entry_texts(assistant, entry))


def mark_misattributed(prep: Prepared, assistant, entry: BankEntry) -> Prepared:
    """``prep`` with the reason each unit misattributes a property ('' when it does
    not), against the subject-property pairs of ``entry``'s sources (cached)."""
    pairs = attribution.source_pairs(entry.entry_id, _entry_texts(assistant, entry))
    return replace(prep, misattributed=[attribution.unit_problem(u, pairs) for u in prep.units])


_CHUNK_TEXTS: list = [None, {}]  # the index's chunk list and its texts by id


def _chunk_texts(index) -> dict[str, str]:
    if _CHUNK_TEXTS[0] is not index.chunks:
        _CHUNK_TEXTS[:] = [index.chunks, {c.chunk_id: c.text for c in index.chunks}]
    return _CHUNK_TEXTS[1]


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
    sources, weigh = entry_sources(assistant, entry), claim_weigh(study, cfg)
    prep = prepare(entry, text, assistant.embedder.encode, qvec, study.vocab, cfg,
                   study.point_vectors[entry.entry_id], sources, weigh)
    prep = mark_misattributed(prep, assistant, entry)
    asked = stems_of(entry.question)
    prep = replace(prep, off_subject=grounding.whole_sentence([grounding.off_subject(
        u, asked, study.stem_df.__contains__, cfg.foreign_terms) for u in prep.units],
        prep.units))
    points, support, score = grade_offline(
        entry, prep, study.point_vectors[entry.entry_id], cfg, study.term_weight,
        study.support_vectors.get(entry.entry_id), owners.point_owners(assistant, study, entry))
    score = grounding.discount(score, prep.units, asked, sources, weigh,
                               cfg.unverified_free, cfg.unverified_cost)
    score = topical_floor(score, prep, qvec, [*points, *support], cfg)
    used, notes = "offline", [*prep.notes, *unsupported_notes(prep, cfg)]
    if any(prep.off_subject):
        notes.append(f"{sum(prep.off_subject)} sentence(s) say they do not know or talk about "
                     "something else: no credit for being on topic")
    stated = [p for p in support if p.credit >= 1.0]
    if stated:
        notes.append(f"also credited: {len(stated)} further fact(s) of the sources, e.g. "
                     f"“{stated[0].text[:70]}…”")
    if grader == "llm" and prep.units:
        from rag.study import rubric

        judged = rubric.llm_grade(assistant, entry, text, points, cfg)
        if judged.points is not None:
            points, used = judged.points, judged.grader
            score = score_out_of_10(points, cfg.coverage_target, cfg.contradiction_penalty)
        notes.extend(judged.notes)
    notes.extend(f"contradicts: {p.text[:80]}… ({p.why})" for p in [*points, *support]
                 if p.contradicted)
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
