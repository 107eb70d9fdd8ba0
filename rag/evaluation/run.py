"""``rag eval``: run the pipeline over ``evals/dataset.jsonl`` and score it.

One ``Assistant`` (one model load) answers every question once per retrieval
configuration (hybrid, dense, bm25).  A follow-up is asked with the question it
follows as history, the way the app asks it.  Each answer becomes a
``QuestionResult`` (what was retrieved, what was expected, per-question scores);
``summarize`` aggregates them per configuration and ``check_gate`` compares the
gated configuration with ``evals/thresholds.toml``.  Scores of our own come from
``rag.evaluation.metrics`` (pure functions), ragas scores from ``rag.evaluation.ragas_scores``.
"""

from __future__ import annotations

import json
import time
import tomllib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from rag.errors import RagError
from rag.evaluation import metrics
from rag.records import Answer, Hit

CONFIGS = ("hybrid", "dense", "bm25")
# Summary metrics in report order: name -> per-question score it averages (None: computed
# otherwise).  "Higher is better" for all but the latencies.
SUMMARY_METRICS: dict[str, str | None] = {
    "hit_at_1": "hit_at_1", "hit_at_3": "hit_at_3", "hit_at_5": "hit_at_5",
    "mrr": "reciprocal_rank", "context_precision": "context_precision",
    "context_recall": "context_recall",
    "ragas_id_context_precision": "ragas_id_context_precision",
    "ragas_id_context_recall": "ragas_id_context_recall",
    "ragas_semantic_similarity": "ragas_semantic_similarity", "ragas_rouge_l": "ragas_rouge_l",
    "ragas_faithfulness": "ragas_faithfulness", "ragas_answer_relevancy": "ragas_answer_relevancy",
    "abstention_accuracy": None, "answered_when_answerable": None,
    "abstained_when_unanswerable": None,
    "citation_validity": "citation_validity", "citation_support": "citation_support",
    "lead_hit": "lead_hit", "noise_leads": "noise_lead", "coverage_accuracy": "coverage_correct",
    "coverage_exact": "coverage_exact", "false_abstentions": "false_abstention",
    "named_only_abstained": "named_only_ok", "offtopic_none": "offtopic_ok",
    "latency_p50_ms": None, "latency_p95_ms": None,
}
# Metrics where lower is better (the gate puts them under [max]).
LOWER_IS_BETTER = frozenset({"noise_leads", "false_abstentions", "latency_p50_ms",
                             "latency_p95_ms"})


class EvalError(RagError):
    """The dataset, thresholds or an older results file cannot be used."""


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Evidence(_Record):
    doc_id: str = Field(min_length=1)
    quote: str = Field(min_length=1)


class EvalQuestion(_Record):
    """One line of ``evals/dataset.jsonl``."""

    id: str = Field(min_length=1)
    question: str = Field(min_length=1)
    reference_answer: str = ""
    evidence: tuple[Evidence, ...] = ()
    answerable: bool
    kind: Literal["single", "comparison", "followup", "unanswerable", "named_only", "offtopic",
                  "topic_switch"]
    followup_of: str | None = None
    topic: str = ""
    style: str = Field("", description="How it is phrased: bank, casual, typo, unicode, "
                       "long, paper-ref, conversation (evals/interview.md).")
    expected_coverage: Literal["full", "partial", "mentioned", "none"] | None = None
    key_facts: tuple[str, ...] = Field((), description="Regexes: a reference key fact; the "
                                       "first line should match one (lead hit).")
    split: Literal["train", "heldout", ""] = ""


class Retrieved(_Record):
    """One retrieved passage, as the report shows it."""

    rank: int
    chunk_id: str
    doc_id: str
    title: str
    section: str
    supports: bool = Field(description="Contains a reference quote.")
    cited_as: int | None = Field(None, description="Its [n] when the answer cites it.")


class QuestionResult(_Record):
    config: str
    id: str
    question: str
    kind: str
    answerable: bool
    reference_answer: str
    history: tuple[str, ...] = ()
    search_query: str
    answer: str
    abstained: bool
    retrieved: tuple[Retrieved, ...]
    expected: tuple[Evidence, ...]
    reference_ids: tuple[str, ...]
    cited: tuple[int, ...]
    latency_ms: float
    scores: dict[str, float | None]
    coverage: str = ""
    expected_coverage: str | None = None
    style: str = ""
    split: str = ""


class EvalRun(_Record):
    """Everything ``results.json`` holds."""

    created: str
    dataset: str
    n_questions: int
    configs: tuple[str, ...]
    index: str
    settings: dict
    wall_s: float
    summary: dict[str, dict[str, float | None]]
    notes: dict[str, str] = {}
    questions: tuple[QuestionResult, ...]


def load_dataset(path: Path) -> list[EvalQuestion]:
    """The questions of a JSONL dataset; ``EvalError`` names the bad line."""
    if not path.is_file():
        raise EvalError(f"no evaluation dataset at {path}: pass --dataset PATH")
    questions: list[EvalQuestion] = []
    seen: set[str] = set()
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            q = EvalQuestion.model_validate(json.loads(line))
        except (json.JSONDecodeError, ValidationError) as exc:
            raise EvalError(f"{path}:{lineno}: not a valid question: {_explain(exc)}") from None
        if q.id in seen:
            raise EvalError(f"{path}:{lineno}: duplicate question id {q.id!r}")
        if q.followup_of is not None and q.followup_of not in seen:
            raise EvalError(f"{path}:{lineno}: {q.id} follows {q.followup_of!r}, which is "
                            "not an earlier question")
        seen.add(q.id)
        questions.append(q)
    if not questions:
        raise EvalError(f"{path} holds no questions")
    return questions


def _explain(exc: Exception) -> str:
    """A one-line reason for a JSON, TOML or validation error."""
    if isinstance(exc, ValidationError):
        return "; ".join(f"{'.'.join(map(str, e['loc'])) or 'value'}: {e['msg']}"
                         for e in exc.errors()[:3])
    return str(exc).splitlines()[0]


def parse_configs(text: str) -> list[str]:
    """``"hybrid,dense"`` -> ``["hybrid", "dense"]``; ``EvalError`` for an unknown name."""
    configs = list(dict.fromkeys(c.strip() for c in text.split(",") if c.strip()))
    unknown = [c for c in configs if c not in CONFIGS]
    if unknown or not configs:
        raise EvalError(f"unknown configuration(s) {', '.join(unknown) or '(none given)'}; "
                        f"choose from {', '.join(CONFIGS)}")
    return configs


def select_split(questions: Sequence[EvalQuestion], split: str) -> list[EvalQuestion]:
    """The questions of one split ('' or 'all': every question)."""
    if split in ("", "all"):
        return list(questions)
    if split not in ("train", "heldout"):
        raise EvalError(f"unknown split {split!r}; choose train, heldout or all")
    chosen = [q for q in questions if q.split == split]
    if not chosen:
        raise EvalError(f"no question of the dataset is in the {split!r} split")
    return chosen


def history_for(question: EvalQuestion, by_id: dict[str, EvalQuestion]) -> list[str]:
    """The conversation before ``question``: the question it follows, if any."""
    return [by_id[question.followup_of].question] if question.followup_of else []


class _Recorder:
    """Wraps the assistant's retriever to keep the hits of the last search, in rank order."""

    def __init__(self, inner):
        self.inner = inner
        self.last: list[Hit] = []

    def search(self, *args, **kwargs) -> list[Hit]:
        self.last = self.inner.search(*args, **kwargs)
        return self.last

    def __getattr__(self, name: str):
        return getattr(self.inner, name)


@contextmanager
def recording(assistant, mode: str) -> Iterator[_Recorder]:
    """Run the assistant with retrieval ``mode`` and a hit recorder; restore both after."""
    inner = assistant.retriever
    original = inner.settings
    inner.settings = original.model_copy(update={"mode": mode})
    recorder = _Recorder(inner)
    assistant.retriever = recorder
    try:
        yield recorder
    finally:
        assistant.retriever = inner
        inner.settings = original


def score_question(config: str, q: EvalQuestion, answer: Answer, hits: Sequence[Hit],
                   reference_ids: Sequence[str], history: Sequence[str]) -> QuestionResult:
    """Our metrics for one answered question (ragas scores are added later)."""
    evidence = [e.model_dump() for e in q.evidence]
    passages = [(h.chunk.doc_id, h.chunk.text) for h in hits]
    cited = [(c.doc_id, c.text) for c in answer.citations if c.cited]
    scores = metrics.question_scores(
        passages, cited, [c.n for c in answer.citations], answer.text, evidence,
        q.answerable, answer.abstained)
    scores.update(metrics.answer_scores(
        answer.text, answer.abstained, answer.coverage, q.expected_coverage, q.answerable,
        q.key_facts, evidence))
    cited_as = {c.chunk_id: c.n for c in answer.citations if c.cited}
    retrieved = tuple(
        Retrieved(rank=r, chunk_id=h.chunk.chunk_id, doc_id=h.chunk.doc_id, title=h.chunk.title,
                  section=h.chunk.section, cited_as=cited_as.get(h.chunk.chunk_id),
                  supports=any(metrics.supports(h.chunk.doc_id, h.chunk.text, ev)
                               for ev in evidence))
        for r, h in enumerate(hits, start=1))
    return QuestionResult(
        config=config, id=q.id, question=q.question, kind=q.kind, answerable=q.answerable,
        reference_answer=q.reference_answer, history=tuple(history),
        search_query=answer.search_query, answer=answer.text,
        abstained=answer.abstained, retrieved=retrieved, expected=q.evidence,
        reference_ids=tuple(reference_ids), cited=tuple(c.n for c in answer.citations if c.cited),
        latency_ms=float(answer.timings_ms.get("total", 0.0)), scores=scores,
        coverage=answer.coverage, expected_coverage=q.expected_coverage, style=q.style,
        split=q.split)


Asked = tuple[QuestionResult, tuple[str, ...]]  # a result and its retrieved passages' texts


def reference_ids(assistant, questions: Sequence[EvalQuestion]) -> dict[str, list[str]]:
    """Per question, the ids of the passages (rag.search.passages) whose chunks hold one
    of its evidence quotes."""
    chunks = [(c.chunk_id, c.doc_id, c.text) for c in assistant.index.chunks]
    passage = getattr(assistant.retriever, "passage_id", lambda cid: cid)
    return {q.id: list(dict.fromkeys(passage(cid) for cid in metrics.reference_chunk_ids(
        chunks, [e.model_dump() for e in q.evidence]))) for q in questions}


def run_config(assistant, questions: Sequence[EvalQuestion], by_id: dict[str, EvalQuestion],
               mode: str, progress: bool = False) -> list[Asked]:
    """Ask every question once with retrieval ``mode``."""
    from tqdm import tqdm

    refs = reference_ids(assistant, questions)
    asked = []
    with recording(assistant, mode) as recorder:
        for q in tqdm(questions, desc=f"eval {mode:<6}", unit="q", disable=not progress,
                      mininterval=1.0):
            history = history_for(q, by_id)
            answer = assistant.ask(q.question, history=history)
            result = score_question(mode, q, answer, recorder.last, refs[q.id], history)
            asked.append((result, tuple(h.chunk.text for h in recorder.last)))
    return asked


def add_ragas(asked: Sequence[Asked], scorer) -> tuple[list[QuestionResult], dict[str, str]]:
    """The results with ragas scores merged in, and ragas' per-metric notes."""
    from rag.evaluation.ragas_scores import RagasInput

    rows = [RagasInput(question=r.question, response=r.answer, reference=r.reference_answer,
                       retrieved_ids=tuple(p.chunk_id for p in r.retrieved),
                       reference_ids=r.reference_ids, contexts=contexts,
                       answerable=r.answerable, abstained=r.abstained)
            for r, contexts in asked]
    scores, notes = scorer.score(rows)
    merged = [r.model_copy(update={"scores": {**r.scores, **s}})
              for (r, _), s in zip(asked, scores, strict=True)]
    return merged, notes


def summarize(results: Sequence[QuestionResult]) -> dict[str, float | None]:
    """One configuration's metrics, in ``SUMMARY_METRICS`` order."""
    computed: dict[str, float | None] = {
        **metrics.abstention_scores([(r.answerable, r.abstained) for r in results]),
        **metrics.latency_summary([r.latency_ms for r in results]),
    }
    if all(not r.answerable for r in results):  # a side with no questions is not measured
        computed["answered_when_answerable"] = None
    if all(r.answerable for r in results):
        computed["abstained_when_unanswerable"] = None
    return {name: computed[name] if key is None
            else metrics.mean_or_none([r.scores.get(key) for r in results])
            for name, key in SUMMARY_METRICS.items()}


def run_eval(assistant, questions: Sequence[EvalQuestion], configs: Sequence[str] = CONFIGS,
             *, by_id: dict[str, EvalQuestion] | None = None, use_ragas: bool = True,
             progress: bool = False, dataset: str = "") -> EvalRun:
    """Evaluate ``questions`` under each retrieval configuration with one assistant."""
    parse_configs(",".join(configs))  # validates
    start = time.perf_counter()
    by_id = by_id or {q.id: q for q in questions}
    assistant.ask(questions[0].question)  # warm-up, so the first latency is not an outlier
    scorer = _ragas_scorer(assistant) if use_ragas else None
    results: list[QuestionResult] = []
    notes: dict[str, dict[str, str]] = {}
    for mode in configs:
        asked = run_config(assistant, questions, by_id, mode, progress=progress)
        if scorer is None:
            results.extend(r for r, _ in asked)
            notes[mode] = {n: "not run: --no-ragas" for n in SUMMARY_METRICS if "ragas" in n}
        else:
            merged, notes[mode] = add_ragas(asked, scorer)
            results.extend(merged)
    summary = {mode: summarize([r for r in results if r.config == mode]) for mode in configs}
    return EvalRun(
        created=datetime.now(UTC).isoformat(timespec="seconds"), dataset=dataset,
        n_questions=len(questions), configs=tuple(configs),
        index=assistant.settings.index_name(), settings=_settings_snapshot(assistant.settings),
        wall_s=round(time.perf_counter() - start, 2), summary=summary, notes=merge_notes(notes),
        questions=tuple(results))


def merge_notes(by_config: dict[str, dict[str, str]]) -> dict[str, str]:
    """One note per metric; where configurations differ, each one's note is named."""
    merged: dict[str, str] = {}
    for name in dict.fromkeys(n for notes in by_config.values() for n in notes):
        found = {cfg: notes[name] for cfg, notes in by_config.items() if name in notes}
        merged[name] = next(iter(found.values())) if len(set(found.values())) == 1 \
            else "; ".join(f"{cfg}: {note}" for cfg, note in found.items())
    return merged


def _ragas_scorer(assistant):
    from rag.evaluation.ragas_scores import RagasScorer

    return RagasScorer(assistant.embedder, assistant.settings.llm)


def _settings_snapshot(settings) -> dict:
    """The settings that shape answers (no paths, no secrets)."""
    return {"embedding_model": settings.embedding.model_name,
            "retrieval": settings.retrieval.model_dump(), "answer": settings.answer.model_dump(),
            "chunking": settings.chunking.model_dump()}


# --- The CI gate ----------------------------------------------------------------------


class Thresholds(BaseModel):
    """``evals/thresholds.toml``: minimums (and maximums) for one configuration."""

    model_config = ConfigDict(extra="forbid")
    config: Literal["hybrid", "dense", "bm25"] = "hybrid"
    min: dict[str, float] = {}
    max: dict[str, float] = {}


def load_thresholds(path: Path) -> Thresholds:
    """Parsed thresholds; ``EvalError`` for a missing file, bad TOML or unknown metric."""
    if not path.is_file():
        raise EvalError(f"no thresholds file at {path}: pass --thresholds PATH")
    try:
        thresholds = Thresholds.model_validate(tomllib.loads(path.read_text(encoding="utf-8")))
    except (tomllib.TOMLDecodeError, ValidationError) as exc:
        raise EvalError(f"{path}: invalid thresholds: {_explain(exc)}") from None
    unknown = sorted((set(thresholds.min) | set(thresholds.max)) - set(SUMMARY_METRICS))
    if unknown:
        raise EvalError(f"{path}: unknown metric(s) {', '.join(unknown)}; "
                        f"known: {', '.join(SUMMARY_METRICS)}")
    return thresholds


def check_gate(summary: dict[str, dict[str, float | None]], thresholds: Thresholds) -> list[str]:
    """One line per missed threshold (empty when the gate passes)."""
    config = thresholds.config
    if config not in summary:
        return [f"{config}: not evaluated (the gate checks this configuration)"]
    values = summary[config]
    missed = []
    for name, bound in thresholds.min.items():
        value = values.get(name)
        if value is None or value < bound:
            missed.append(f"{config} {name} = {_fmt(value)} < {bound:g} (minimum)")
    for name, bound in thresholds.max.items():
        value = values.get(name)
        if value is None or value > bound:
            missed.append(f"{config} {name} = {_fmt(value)} > {bound:g} (maximum)")
    return missed


def _fmt(value: float | None) -> str:
    return "not measured" if value is None else f"{value:.4g}"
