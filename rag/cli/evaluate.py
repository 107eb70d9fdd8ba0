"""``rag eval``: retrieval, answer and grading evaluation (the work is
``rag.evaluation``)."""

from __future__ import annotations

import argparse
import sys

from rag.errors import RagError
from rag.settings import REPO_ROOT, Settings


def _load(settings: Settings, quiet: bool):
    from rag.cli import _load as load  # looked up at call time (tests replace it)

    return load(settings, quiet)


def _eval_grading(args: argparse.Namespace, settings: Settings) -> int:
    """The grader's calibration.  The held-out split stays blind while tuning: only
    ``--split heldout`` (the final measurement) or ``--gate`` scores and prints it."""
    from rag.evaluation import grading
    from rag.study.stored import load_study

    rows = grading.load_calibration(args.dataset or REPO_ROOT / "evals" / "grading.jsonl")
    split = "test" if args.gate or args.split == "heldout" else "train"
    assistant = _load(settings, quiet=False)
    scored = grading.score_rows(assistant, load_study(assistant.index.build_dir),
                                [r for r in rows if r.split == split])
    name = "held-out" if split == "test" else "train"
    print(grading.table({name: grading.summarise(scored)}))
    if args.verbose:
        print(grading.details(scored))
    if split == "train":
        print("\n(held-out split not scored: `--split heldout` or `--gate` for the final "
              "measurement)")
        return 0
    missed = grading.passes(grading.summarise(scored))
    print("\nissue targets: " + ("all met" if not missed else "missed: " + "; ".join(missed)))
    if not args.gate:
        return 0
    failed = grading.gate(grading.summarise(scored), grading.load_gate(
        args.thresholds or REPO_ROOT / "evals" / "thresholds_grading.toml"))
    print("gate: " + ("passed" if not failed else "FAILED: " + "; ".join(failed)))
    return 1 if failed else 0


def cmd_eval(args: argparse.Namespace, settings: Settings) -> int:
    if args.grading:
        return _eval_grading(args, settings)
    from rag.evaluation import report
    from rag.evaluation import run as evaluate

    root = REPO_ROOT / "evals"
    configs = evaluate.parse_configs(args.configs)
    thresholds = evaluate.load_thresholds(args.thresholds or root / "thresholds.toml") \
        if args.gate else None
    gated_ragas = thresholds and any("ragas" in m for m in [*thresholds.min, *thresholds.max])
    if thresholds and (args.no_ragas and gated_ragas or thresholds.config not in configs):
        raise RagError(f"--gate needs the {thresholds.config} configuration (and the ragas "
                       "metrics when the thresholds name one): include it in --configs, "
                       "drop --no-ragas")
    older = report.load_results(args.compare) if args.compare else None
    dataset = args.dataset or root / "dataset.jsonl"
    questions = evaluate.load_dataset(dataset)
    every = {q.id: q for q in questions}
    questions = evaluate.select_split(questions, args.split)
    if args.limit is not None and args.limit < 1:
        raise RagError(f"--limit must be at least 1 (got {args.limit})")
    assistant = _load(settings, quiet=False)
    run = evaluate.run_eval(
        assistant, questions[: args.limit], configs, by_id=every,
        use_ragas=not args.no_ragas, progress=True, dataset=str(dataset))
    missed = evaluate.check_gate(run.summary, thresholds) if thresholds else None
    compare = (str(args.compare), older) if older else None
    out = report.write_outputs(run, args.out or root / "results", missed, compare)
    print(report.summary_table(run.summary, run.notes))
    if compare:
        print("\n" + report.compare_section(run, *compare))
    print(f"\n{run.n_questions} questions x {len(run.configs)} configurations in "
          f"{run.wall_s:.0f} s; report: {out / 'report.md'}")
    if missed:
        print(f"gate FAILED: {len(missed)} threshold(s) missed:\n"
              + "\n".join(f"  - {line}" for line in missed), file=sys.stderr)
        return 1
    if thresholds:
        print(f"gate passed ({len(thresholds.min) + len(thresholds.max)} thresholds, "
              f"{thresholds.config})")
    return 0
