"""``rag eval`` outputs: ``results.json``, ``report.md`` and ``metrics.png``.

Everything here formats an ``EvalRun`` (or an older ``results.json``); nothing
re-scores.  ``summary_table`` is also what ``rag eval`` prints to the CI log.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from rag.evaluation.run import CONFIGS, SUMMARY_METRICS, EvalError, EvalRun, QuestionResult

LABELS = {
    "hit_at_1": "hit@1", "hit_at_3": "hit@3", "hit_at_5": "hit@5", "mrr": "MRR",
    "context_precision": "context precision (evidence)",
    "context_recall": "context recall (evidence)",
    "ragas_id_context_precision": "ragas ID context precision",
    "ragas_id_context_recall": "ragas ID context recall",
    "ragas_semantic_similarity": "ragas semantic similarity",
    "ragas_rouge_l": "ragas ROUGE-L F1", "ragas_faithfulness": "ragas faithfulness (judge)",
    "ragas_answer_relevancy": "ragas answer relevancy (judge)",
    "abstention_accuracy": "abstention accuracy",
    "answered_when_answerable": "answered when answerable",
    "abstained_when_unanswerable": "abstained when unanswerable",
    "citation_validity": "citation validity", "citation_support": "citation support",
    "latency_p50_ms": "latency p50 (ms)", "latency_p95_ms": "latency p95 (ms)",
    "lead_hit": "lead hit (key fact in the first line)",
    "noise_leads": "noise leads (meta-text first line)",
    "coverage_accuracy": "coverage accuracy (answered vs mentioned vs none)",
    "coverage_exact": "coverage exact (full/partial too)",
    "false_abstentions": "false abstentions (answerable)",
    "named_only_abstained": "named-only concepts: mentioned/none",
    "offtopic_none": "off-topic: none",
}
CHART_METRICS = ("hit_at_1", "hit_at_5", "mrr", "context_recall", "ragas_id_context_recall",
                 "ragas_semantic_similarity", "ragas_rouge_l", "abstention_accuracy",
                 "citation_validity", "citation_support")
WORST_SCORES = ("reciprocal_rank", "context_recall", "citation_support", "abstention_correct",
                "ragas_semantic_similarity", "lead_hit", "coverage_correct", "noise_lead",
                "false_abstention")
_BAD_WHEN_HIGH = frozenset({"noise_lead", "false_abstention"})


def fmt(value: float | None, metric: str = "") -> str:
    if value is None:
        return "n/a"
    return f"{value:.1f}" if metric.endswith("_ms") else f"{value:.3f}"


def summary_table(summary: dict[str, dict[str, float | None]], notes: dict[str, str]) -> str:
    """Markdown table: one row per metric, one column per configuration."""
    configs = [c for c in CONFIGS if c in summary] + [c for c in summary if c not in CONFIGS]
    lines = ["| metric | " + " | ".join(configs) + " |",
             "|---|" + "---:|" * len(configs)]
    for name in SUMMARY_METRICS:
        cells = [notes[name] if summary[c].get(name) is None and name in notes
                 else fmt(summary[c].get(name), name) for c in configs]
        lines.append(f"| {LABELS.get(name, name)} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def load_results(path: Path) -> dict:
    """An older ``results.json``; ``EvalError`` when it is missing or not one."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise EvalError(f"--compare: no file at {path}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise EvalError(f"--compare: {path} is not a readable results.json ({exc})") from None
    summary = data.get("summary") if isinstance(data, dict) else None
    if not isinstance(summary, dict) or not all(isinstance(v, dict) for v in summary.values()):
        raise EvalError(f"--compare: {path} has no per-configuration \"summary\"; "
                        "pass a results.json written by rag eval")
    return data


def compare_rows(new: dict[str, dict], old: dict[str, dict],
                 ) -> list[tuple[str, str, float | None, float | None, float | None]]:
    """(config, metric, old, new, new - old) for every configuration both runs have."""
    rows = []
    for config in [c for c in new if c in old]:
        for name in SUMMARY_METRICS:
            before, after = old[config].get(name), new[config].get(name)
            delta = None if before is None or after is None else after - before
            rows.append((config, name, before, after, delta))
    return rows


def compare_table(new: dict[str, dict], old: dict[str, dict]) -> str:
    rows = compare_rows(new, old)
    if not rows:
        return "(no configuration in common)"
    lines = ["| config | metric | older | now | Δ |", "|---|---|---:|---:|---:|"]
    for config, name, before, after, delta in rows:
        shown = "n/a" if delta is None else f"{delta:+.1f}" if name.endswith("_ms") \
            else f"{delta:+.3f}"
        lines.append(f"| {config} | {LABELS.get(name, name)} | {fmt(before, name)} | "
                     f"{fmt(after, name)} | {shown} |")
    return "\n".join(lines)


def compare_section(run: EvalRun, path: str, older: dict) -> str:
    """Heading, a warning when the question sets differ, and the delta table."""
    lines = [f"## Compared with `{path}` ({older.get('created', '?')})", ""]
    if older.get("n_questions") != run.n_questions or older.get("dataset") != run.dataset:
        lines += [f"Note: the older run scored {older.get('n_questions', '?')} questions of "
                  f"`{older.get('dataset', '?')}`, this one {run.n_questions} of "
                  f"`{run.dataset}`; the deltas compare different question sets.", ""]
    return "\n".join(lines + [compare_table(run.summary, older["summary"])])


def question_quality(result: QuestionResult) -> float:
    """Mean of the question's applicable scores (lower = worse), for ranking the worst."""
    values = [(k, result.scores.get(k)) for k in WORST_SCORES]
    kept = [1.0 - v if k in _BAD_WHEN_HIGH else v for k, v in values if v is not None]
    return sum(kept) / len(kept) if kept else 0.0


def worst_questions(run: EvalRun, config: str, n: int = 15) -> list[QuestionResult]:
    results = [r for r in run.questions if r.config == config]
    return sorted(results, key=lambda r: (question_quality(r), r.id))[:n]


def describe_question(rank: int, r: QuestionResult) -> str:
    """A worst-question entry: what was expected next to what was retrieved."""
    kind = r.kind + ("" if r.answerable else ", expected: abstain") + (
        f", coverage {r.coverage} (expected {r.expected_coverage})" if r.expected_coverage
        else "")
    lines = [f"### {rank}. {r.id} ({kind}) — quality {question_quality(r):.2f}", "",
             f"**Question:** {r.question}", ""]
    if r.search_query and r.search_query != r.question:
        lines += [f"**Search query:** {r.search_query}", ""]
    lines += ["**Expected evidence:**", ""]
    lines += [f"- `{e.doc_id}`: “{e.quote}”" for e in r.expected] or ["- none (abstain)"]
    lines += ["", "**Retrieved** (✅ holds a reference quote):", ""]
    lines += [f"{p.rank}. {'✅' if p.supports else '❌'} `{p.doc_id}` {p.title}"
              + (f" › {p.section}" if p.section else "")
              + (f" — cited as [{p.cited_as}]" if p.cited_as else "") for p in r.retrieved]
    answer = textwrap.shorten(r.answer.replace("\n", " "), 400)
    lines += ["", f"**Answer**{' (abstained)' if r.abstained else ''}: {answer}", "",
              "**Scores:** " + ", ".join(f"{k} {fmt(v)}" for k, v in r.scores.items()
                                         if v is not None and k != "first_rank"), ""]
    return "\n".join(lines)


def render_report(run: EvalRun, gate: Sequence[str] | None = None,
                  compare: tuple[str, dict] | None = None, worst_config: str = "hybrid") -> str:
    """The whole ``report.md``."""
    retrieval = run.settings.get("retrieval", {})
    parts = ["# Evaluation report", "",
             f"- run: {run.created}, {run.wall_s:.0f} s; dataset `{run.dataset}` "
             f"({run.n_questions} questions); index `{run.index}`",
             f"- retrieval: k={retrieval.get('k')}, candidates={retrieval.get('candidates')}; "
             f"configurations: {', '.join(run.configs)}", "", "## Summary", "",
             summary_table(run.summary, run.notes), ""]
    parts += [f"- {name}: {note}" for name, note in run.notes.items()] + [""]
    if gate is not None:
        parts += ["## Gate", "", "passed" if not gate else "FAILED:", ""]
        parts += [f"- {line}" for line in gate] + [""]
    if compare is not None:
        parts += [compare_section(run, *compare), ""]
    config = worst_config if worst_config in run.configs else run.configs[0]
    worst = worst_questions(run, config)
    parts += [f"## Worst {len(worst)} questions ({config})", ""]
    parts += [describe_question(i, r) for i, r in enumerate(worst, start=1)]
    return "\n".join(parts)


def plot_metrics(summary: dict[str, dict[str, float | None]], path: Path) -> None:
    """Grouped bars of the quality metrics and the latencies, one colour per config."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    configs = list(summary)
    fig, (ax, lat) = plt.subplots(1, 2, figsize=(14, 5.5), width_ratios=[4, 1])
    width = 0.8 / len(configs)
    x = np.arange(len(CHART_METRICS))
    for i, config in enumerate(configs):
        values = [summary[config].get(m) or 0.0 for m in CHART_METRICS]
        ax.bar(x + i * width, values, width, label=config)
        lats = [summary[config].get(m) or 0.0 for m in ("latency_p50_ms", "latency_p95_ms")]
        lat.bar(np.arange(2) + i * width, lats, width, label=config)
    ax.set_xticks(x + width * (len(configs) - 1) / 2,
                  [LABELS[m] for m in CHART_METRICS], rotation=35, ha="right")
    ax.set_ylim(0, 1.05)
    ax.set_title("Quality by retrieval configuration (higher is better)")
    ax.legend()
    lat.set_xticks(np.arange(2) + width * (len(configs) - 1) / 2, ["p50", "p95"])
    lat.set_title("Latency (ms)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def new_run_dir(root: Path) -> Path:
    """``root/<timestamp>``, made unique with a suffix if needed."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    for n in range(1000):
        path = root / (stamp if n == 0 else f"{stamp}-{n}")
        try:
            path.mkdir(parents=True)
        except FileExistsError:
            continue
        return path
    raise EvalError(f"cannot create a results folder under {root}")


def write_outputs(run: EvalRun, root: Path, gate: Sequence[str] | None = None,
                  compare: tuple[str, dict] | None = None) -> Path:
    """Write results.json, report.md and metrics.png into a new timestamped folder."""
    try:
        out = new_run_dir(root)
        (out / "results.json").write_text(run.model_dump_json(indent=1), encoding="utf-8")
        (out / "report.md").write_text(render_report(run, gate, compare), encoding="utf-8")
    except OSError as exc:
        raise EvalError(f"cannot write the results under {root}: {exc}") from None
    plot_metrics(run.summary, out / "metrics.png")
    return out
