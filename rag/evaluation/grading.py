"""``rag eval --grading``: the mock-interview grader against a calibration set.

``evals/grading.jsonl`` holds bank questions with five answers each (excellent,
partial, vague, confident-but-wrong, junk: off-topic / echo / gibberish) and the score
a careful interviewer gives each.  Reported per split: mean score per class, Spearman
rho against the labels, how often the excellent answer outscores the wrong one for
the same question, and whether junk scores 0.  Tune on ``train``; the held-out
``test`` split is scored only for the final measurement and by the gate
(``evals/thresholds_grading.toml``), so it stays blind while tuning.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from rag.errors import RagError

CLASSES = ("excellent", "partial", "vague", "wrong", "junk")
TARGETS = {"spearman": 0.75, "excellent_mean": 8.0, "wrong_mean_max": 3.5,
           "excellent_beats_wrong": 0.9, "junk_zero": 1.0}


@dataclass(frozen=True)
class Row:
    id: str
    question: str
    cls: str
    kind: str
    answer: str
    label: float
    split: str


@dataclass
class Scored:
    row: Row
    score: float
    notes: list[str] = field(default_factory=list)


def load_calibration(path: Path) -> list[Row]:
    if not path.is_file():
        raise RagError(f"calibration set not found: {path}")
    rows = []
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            d = json.loads(line)
            rows.append(Row(d["id"], d["question"], d["class"], d.get("kind", d["class"]),
                            d["answer"], float(d["label"]), d.get("split", "train")))
        except (ValueError, KeyError) as exc:
            raise RagError(f"{path}:{lineno}: bad calibration row ({exc})") from exc
    return rows


def score_rows(assistant, study, rows: Sequence[Row], grader: str = "offline") -> list[Scored]:
    """Grade every answer of ``rows`` (rows whose question left the bank are an error)."""
    from rag.errors import InvalidAnswer
    from rag.study.grade import assess

    by_question = {e.question: e for e in study.entries}
    missing = sorted({r.question for r in rows if r.question not in by_question})
    if missing:
        raise RagError(f"{len(missing)} calibration question(s) are not in the bank, e.g. "
                       f"{missing[0]!r}: update evals/grading.jsonl")
    out = []
    for row in rows:
        try:
            result = assess(assistant, study, by_question[row.question], row.answer, grader)
            out.append(Scored(row, result.score, result.notes))
        except InvalidAnswer as exc:  # too short to grade: scores 0, as in the app
            out.append(Scored(row, 0.0, [str(exc)]))
    return out


def summarise(scored: Sequence[Scored]) -> dict:
    """Per-class means, Spearman rho, excellent > wrong rate, junk at 0 rate."""
    from scipy.stats import spearmanr

    if not scored:
        return {"n": 0}
    means = {}
    for cls in CLASSES:
        vals = [s.score for s in scored if s.row.cls == cls]
        means[cls] = round(sum(vals) / len(vals), 2) if vals else None
    rho = spearmanr([s.row.label for s in scored], [s.score for s in scored]).statistic
    by_q: dict[str, dict[str, float]] = {}
    for s in scored:
        by_q.setdefault(s.row.question, {})[s.row.cls] = s.score
    pairs = [q for q in by_q.values() if "excellent" in q and "wrong" in q]
    beats = sum(q["excellent"] > q["wrong"] for q in pairs) / len(pairs) if pairs else None
    junk = [s.score for s in scored if s.row.cls == "junk"]
    return {"n": len(scored), "questions": len(by_q), "mean": means,
            "spearman": round(float(rho), 3),
            "excellent_beats_wrong": round(beats, 3) if beats is not None else None,
            "junk_zero": round(sum(j == 0 for j in junk) / len(junk), 3) if junk else None}


def passes(summary: dict) -> list[str]:
    """The targets a summary misses ('' list when all are met)."""
    missed = []
    if summary.get("spearman", 0) < TARGETS["spearman"]:
        missed.append(f"Spearman rho {summary.get('spearman')} < {TARGETS['spearman']}")
    mean = summary.get("mean", {})
    if (mean.get("excellent") or 0) < TARGETS["excellent_mean"]:
        missed.append(f"excellent mean {mean.get('excellent')} < {TARGETS['excellent_mean']}")
    if (mean.get("wrong") or 0) > TARGETS["wrong_mean_max"]:
        missed.append(f"wrong mean {mean.get('wrong')} > {TARGETS['wrong_mean_max']}")
    if (summary.get("excellent_beats_wrong") or 0) < TARGETS["excellent_beats_wrong"]:
        missed.append(f"excellent > wrong for {summary.get('excellent_beats_wrong')} of "
                      f"questions < {TARGETS['excellent_beats_wrong']}")
    if (summary.get("junk_zero") or 0) < TARGETS["junk_zero"]:
        missed.append(f"junk scored 0 for only {summary.get('junk_zero')}")
    return missed


def table(summaries: dict[str, dict]) -> str:
    """A plain-text table: one column per split."""
    names = list(summaries)
    lines = ["metric".ljust(26) + "".join(n.rjust(12) for n in names)]

    def row(label, get):
        lines.append(label.ljust(26) + "".join(str(get(summaries[n])).rjust(12) for n in names))

    row("answers", lambda s: s.get("n"))
    row("questions", lambda s: s.get("questions"))
    for cls in CLASSES:
        row(f"mean score: {cls}", lambda s, c=cls: s.get("mean", {}).get(c))
    row("Spearman rho", lambda s: s.get("spearman"))
    row("excellent > wrong", lambda s: s.get("excellent_beats_wrong"))
    row("junk scored 0", lambda s: s.get("junk_zero"))
    return "\n".join(lines)


def details(scored: Sequence[Scored]) -> str:
    """One line per answer (label, score, class, question, notes): for tuning on train."""
    lines = []
    for s in scored:
        note = "; ".join(s.notes)[:100]
        lines.append(f"{s.row.label:4.1f} {s.score:4.1f} {s.row.cls:9} {s.row.id:14} "
                     f"{s.row.question[:60]}" + (f"  [{note}]" if note else ""))
    return "\n".join(lines)


GATE_KEYS = {"min": ("spearman", "excellent_mean", "excellent_beats_wrong", "junk_zero"),
             "max": ("wrong_mean",)}


def load_gate(path: Path) -> dict[str, dict[str, float]]:
    """``{"min": {...}, "max": {...}}`` from a TOML file of gate thresholds."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise RagError(f"cannot read grading gate thresholds {path}: {exc}") from exc
    out = {side: {k: float(v) for k, v in data.get(side, {}).items()} for side in GATE_KEYS}
    unknown = {k for side in GATE_KEYS for k in out[side]} - {
        k for keys in GATE_KEYS.values() for k in keys}
    if unknown:
        raise RagError(f"{path}: unknown grading gate metric(s) {', '.join(sorted(unknown))}")
    return out


def _metric(summary: dict, key: str) -> float:
    mean = summary.get("mean", {})
    value = {"excellent_mean": mean.get("excellent"), "wrong_mean": mean.get("wrong")}.get(
        key, summary.get(key))
    return float(value) if value is not None else float("nan")


def gate(summary: dict, thresholds: dict[str, dict[str, float]]) -> list[str]:
    """The gate thresholds a summary misses (empty when it passes)."""
    failed = []
    for key, floor in thresholds.get("min", {}).items():
        if not _metric(summary, key) >= floor:
            failed.append(f"{key} {_metric(summary, key)} < {floor}")
    for key, ceiling in thresholds.get("max", {}).items():
        if not _metric(summary, key) <= ceiling:
            failed.append(f"{key} {_metric(summary, key)} > {ceiling}")
    return failed
