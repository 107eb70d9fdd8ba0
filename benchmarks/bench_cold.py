"""Cold start: process start -> answer printed, before issue 15 and now, in one run.

    .venv/bin/python benchmarks/bench_cold.py [--smoke] [--runs 5] [--baseline-ref REF]

Interleaved, run after run (so machine load hits them alike):

* ``before``: ``rag ask --json`` of the code at ``--baseline-ref`` (the commit before
  issue 15; torch and sentence-transformers imported on every start).  Its files are
  extracted with ``git archive`` into ``benchmarks/results/.baseline-<ref>/`` with a copy
  of ``corpus/`` as its home, and its index is built once (not timed);
* ``now, in-process``: ``rag ask --local --json`` (ONNX Runtime query embedding, no torch);
* ``now, through rag serve``: ``rag ask --json`` while a ``rag serve`` of the same home
  runs (the CLI only sends the question).

Also ``python -c "import rag"``.  ``--smoke`` skips the baseline (its build takes a minute).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

from _common import (
    REPO,
    RESULTS,
    benchmark_questions,
    machine,
    parse_args,
    ratio,
    subprocess_env,
    summary_ms,
    table,
    target,
    targets_table,
    write_result,
)
from servers import rag_serve

NAME = "bench_cold"
BASELINE_REF = "7cabfa5"  # main before issue 15


def baseline_checkout(ref: str) -> Path:
    """The code at ``ref`` with its own home (corpus copy) and a built index."""
    root = RESULTS / f".baseline-{ref}"
    if not (root / "rag" / "cli.py").is_file():
        root.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(["git", "archive", ref], cwd=REPO, capture_output=True,
                                 check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(root)], input=archive, check=True)
        shutil.rmtree(root / "corpus")
        shutil.copytree(REPO / "corpus", root / "corpus")
    env = _baseline_env(root)
    subprocess.run([sys.executable, "-m", "rag.cli", "build", "--quiet"], cwd=root, env=env,
                   check=True, capture_output=True, timeout=1800)
    return root


def _baseline_env(root: Path) -> dict:
    return subprocess_env(home=root, PYTHONPATH=str(root))


def _timed(cmd: list[str], cwd: Path, env: dict) -> tuple[float, str]:
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd[2:5]} failed ({proc.returncode}): {proc.stderr[-800:]}")
    return seconds, proc.stdout


def cold_runs(question: str, runs: int, baseline: Path | None) -> dict:
    ask = [sys.executable, "-m", "rag.cli", "ask", "--json", question]
    now_env = subprocess_env(PYTHONPATH=str(REPO))
    times: dict[str, list[float]] = {"now_local": [], "now_server": [], "import_rag": []}
    if baseline:
        times["before"] = []
    answers = {}
    with rag_serve() as server:
        for _ in range(runs):
            if baseline:
                t, out = _timed(ask, baseline, _baseline_env(baseline))
                times["before"].append(t)
                answers["before"] = json.loads(out)
            t, out = _timed(ask[:4] + ["--local"] + ask[4:], REPO, now_env)
            times["now_local"].append(t)
            answers["now"] = json.loads(out)
            times["now_server"].append(_timed(ask, REPO, now_env)[0])
            times["import_rag"].append(_timed([sys.executable, "-c", "import rag"], REPO,
                                              now_env)[0])
        serve_ready = server.ready_s
    same = "before" not in answers or answers["before"]["answer"] == answers["now"]["answer"]
    return {"runs": runs, "question": question, "serve_ready_s": serve_ready,
            "same_answer_as_before": same,
            **{k: summary_ms(v) for k, v in times.items()}}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(NAME, __doc__.splitlines()[0], argv, extra=[
        (("--runs",), {"type": int, "default": 5, "help": "cold starts of each kind"}),
        (("--baseline-ref",), {"default": BASELINE_REF, "help": "commit to compare with"})])
    started, before = time.perf_counter(), machine()
    baseline = None if args.smoke else baseline_checkout(args.baseline_ref)
    question = benchmark_questions(1)[0]
    result = {"baseline_ref": None if args.smoke else args.baseline_ref,
              **cold_runs(question, 1 if args.smoke else args.runs, baseline)}
    local = result["now_local"]["p50_ms"] / 1000
    old = result["before"]["p50_ms"] / 1000 if baseline else None
    result["speedup_local"] = ratio(old, local)
    result["speedup_server"] = ratio(old, result["now_server"]["p50_ms"] / 1000)
    result["targets"] = [
        target("rag ask cold start, in-process (p50)", round(local, 3), 2.0, unit="s"),
        target("cold start before / now (in-process), same run", result["speedup_local"],
               4.0, higher_is_better=True, unit="x"),
        target("rag ask through a running rag serve (p50)",
               round(result["now_server"]["p50_ms"] / 1000, 3), 1.0, unit="s")]
    rows = [(label, result[k]["p50_ms"], result[k]["p95_ms"], result[k]["n"])
            for label, k in (("before issue 15", "before"), ("now, in-process", "now_local"),
                             ("now, through rag serve", "now_server"),
                             ("python -c 'import rag'", "import_rag")) if k in result]
    print(table("Cold start: spawn -> answer printed (ms)", ["path", "p50", "p95", "n"], rows))
    print(targets_table(result["targets"]))
    write_result(NAME, args, result, started, before)
    return 0


if __name__ == "__main__":
    sys.exit(main())
