"""Shared helpers of the benchmark scripts: arguments, timing, tables and JSON results.

Every script accepts ``--smoke`` (a small run that only proves the script works; its
numbers mean nothing) and ``--out PATH`` (default ``benchmarks/results/<name>.json``,
``<name>.smoke.json`` with ``--smoke``), prints readable tables and writes one JSON
file that records the machine and its load average (timings on a busy machine are noisy).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import sys
import time
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"
DATASET = REPO / "evals" / "dataset.jsonl"
INTERVIEW = REPO / "evals" / "interview.jsonl"
OWN_QUESTIONS = REPO / "tests" / "data" / "own_questions.jsonl"
STUB_CORPUS = REPO / "tests" / "stub_data" / "corpus"
_MARKER = re.compile(r"\s*\[\d+\]")

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def parse_args(name: str, description: str, argv: Sequence[str] | None = None,
               extra: Iterable[tuple[tuple, dict]] = ()) -> argparse.Namespace:
    """``--smoke`` and ``--out`` plus any ``extra`` (args, kwargs) options."""
    parser = argparse.ArgumentParser(prog=f"benchmarks/{name}.py", description=description)
    parser.add_argument("--smoke", action="store_true",
                        help="tiny run that only checks the script works (numbers mean nothing)")
    parser.add_argument("--out", type=Path, default=None, help="where to write the JSON result")
    for args, kwargs in extra:
        parser.add_argument(*args, **kwargs)
    ns = parser.parse_args(argv)
    if ns.out is None:
        ns.out = RESULTS / (f"{name}.smoke.json" if ns.smoke else f"{name}.json")
    return ns


def machine() -> dict:
    """What the numbers were measured on, including how busy it was."""
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gb": round(mem_gb, 1),
            "python": platform.python_version(), "platform": platform.platform(),
            "loadavg": [round(v, 2) for v in os.getloadavg()]}


def summary_ms(seconds: Sequence[float]) -> dict[str, float]:
    """p50/p95/mean in milliseconds of durations given in seconds."""
    ms = np.asarray(seconds, dtype=float) * 1000
    if not len(ms):
        return {"n": 0, "p50_ms": 0.0, "p95_ms": 0.0, "mean_ms": 0.0}
    return {"n": int(len(ms)), "p50_ms": round(float(np.percentile(ms, 50)), 3),
            "p95_ms": round(float(np.percentile(ms, 95)), 3),
            "mean_ms": round(float(ms.mean()), 3)}


def timed(fn, *args, **kwargs) -> tuple[object, float]:
    """``fn(*args, **kwargs)`` and the seconds it took."""
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - start


def rss_mb() -> float:
    """Resident memory of this process now (MiB)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (MiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def table(title: str, headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A plain-text table (also valid GitHub markdown)."""
    cells = [[_fmt(v) for v in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h)
              for i, h in enumerate(headers)]
    line = "| " + " | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)) + " |"
    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    body = ["| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |"
            for r in cells]
    return "\n".join([f"\n{title}", line, rule, *body])


def _fmt(value: object) -> str:
    if isinstance(value, bool) or value is None:
        return {True: "yes", False: "no", None: "–"}[value]
    if isinstance(value, float):
        return f"{value:.3f}" if abs(value) < 10 else f"{value:.1f}"
    return str(value)


def target(name: str, measured: float | None, limit: float, higher_is_better: bool = False,
           unit: str = "") -> dict:
    """One target with its verdict (``met`` is None when it could not be measured)."""
    met = None if measured is None else (
        measured >= limit if higher_is_better else measured <= limit)
    return {"name": name, "measured": measured, "limit": limit, "unit": unit,
            "comparison": ">=" if higher_is_better else "<=", "met": met}


def targets_table(targets: Sequence[dict]) -> str:
    rows = [(t["name"], t["measured"], f"{t['comparison']} {t['limit']} {t['unit']}".strip(),
             t["met"]) for t in targets]
    return table("Targets", ["target", "measured", "required", "met"], rows)


def write_result(name: str, args: argparse.Namespace, payload: dict, started: float,
                 machine_before: dict) -> Path:
    """Write the JSON result (with the machine, its load before/after and the run time)."""
    result = {"benchmark": name, "smoke": bool(args.smoke),
              "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
              "command": " ".join([".venv/bin/python", f"benchmarks/{name}.py", *sys.argv[1:]]),
              "machine": machine_before,
              "loadavg_end": [round(v, 2) for v in os.getloadavg()],
              "runtime_s": round(time.perf_counter() - started, 1), **payload}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n",
                        encoding="utf-8")
    print(f"\nwrote {args.out} (load average {machine_before['loadavg']} at start; "
          f"{result['runtime_s']} s)")
    return args.out


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip()]


def benchmark_questions(limit: int | None = None) -> list[str]:
    """Questions of the evaluation dataset, then our own test questions (125 in all)."""
    questions = [row["question"] for row in read_jsonl(DATASET)]
    questions += [row["question"] for row in read_jsonl(OWN_QUESTIONS)]
    return questions[:limit] if limit else questions


def strip_markers(text: str) -> str:
    """Answer text without its [n] citation markers."""
    return _MARKER.sub("", text).strip()


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    """Cosine of two (already normalised) vectors."""
    return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b) or 1.0))


def ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 3) if a is not None and b else None


def subprocess_env(home: Path | None = None, **extra: str) -> dict[str, str]:
    """The environment for a child ``rag``/``app.py`` process (offline, optional home)."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
           "PYTHONUNBUFFERED": "1", **extra}
    if home is not None:
        env["RAG_HOME"] = str(home)
    return env


def venv_bin(name: str) -> str:
    """A console script of the project's virtual environment (falls back to PATH)."""
    path = Path(sys.executable).parent / name
    return str(path) if path.exists() else name
