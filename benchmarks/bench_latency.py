"""Warm latency against the physical floor, and the cost of a build from scratch.

    .venv/bin/python benchmarks/bench_latency.py [--smoke]

1. Warm, in this process, over the evaluation questions plus our own (125): the query
   embedding alone (the floor), retrieval alone (vector given), and the full extractive
   answer (``Assistant.ask``), p50/p95.  The query embedding runs as it ships (ONNX
   Runtime; ``bench_embed.py`` compares runtimes).
2. ``rag build`` of a fresh copy of ``corpus/`` in a temporary ``RAG_HOME`` (as from a
   clean checkout: no index, no ONNX export yet): wall time, the build's own time,
   chunk count and peak memory (``wait4``).

Cold start is ``bench_cold.py``; throughput through the servers is ``bench_serving.py``
(locust).  ``--smoke``: 6 questions and the stub corpus for the build.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import (
    REPO,
    STUB_CORPUS,
    benchmark_questions,
    machine,
    parse_args,
    ratio,
    subprocess_env,
    summary_ms,
    table,
    target,
    targets_table,
    timed,
    write_result,
)

NAME = "bench_latency"
_BUILT = re.compile(r"(\d+) chunks, (\d+) sentences; embedded (\d+), reused (\d+); ([\d.]+) s")


def warm_latency(assistant, questions: list[str], warmup: int = 3) -> dict:
    """Per-stage latency of warm questions (the model and index already loaded)."""
    for question in questions[:warmup]:
        assistant.ask(question)
    embed, retrieve, full, stages = [], [], [], {"embed": [], "retrieve": [], "answer": []}
    for question in questions:
        query = assistant.search_query(question)
        vec, t_embed = timed(assistant.embedder.encode_query, query)
        _, t_retrieve = timed(assistant.retriever.search, query, vec)
        answer, t_full = timed(assistant.ask, question)
        embed.append(t_embed)
        retrieve.append(t_retrieve)
        full.append(t_full)
        for stage in stages:
            stages[stage].append(answer.timings_ms.get(stage, 0.0) / 1000)
    return {"questions": len(questions), "query_embedding": summary_ms(embed),
            "retrieval_only": summary_ms(retrieve),
            "embedding_plus_retrieval": summary_ms(
                [a + b for a, b in zip(embed, retrieve, strict=True)]),
            "full_answer": summary_ms(full),
            "full_answer_stages": {k: summary_ms(v) for k, v in stages.items()}}


def build_cost(corpus: Path, preset: str) -> dict:
    """``rag build`` of a copy of ``corpus`` in a fresh home: times, counts, peak RSS."""
    with tempfile.TemporaryDirectory(prefix="rag-bench-build-") as tmp:
        home = Path(tmp)
        shutil.copytree(corpus, home / "corpus")
        log = home / "build.log"
        with log.open("w") as out:
            start = time.perf_counter()
            proc = subprocess.Popen([sys.executable, "-m", "rag.cli", "--preset", preset,
                                     "build", "--quiet"], cwd=REPO, stdout=out,
                                    stderr=subprocess.STDOUT, env=subprocess_env(
                                        home=home, PYTHONPATH=str(REPO),
                                        RAG_EMBEDDING__CACHE_DIR=str(home / "cache")))
            _, status, usage = os.wait4(proc.pid, 0)  # this child's own rusage
            wall = time.perf_counter() - start
            proc.returncode = os.waitstatus_to_exitcode(status)
        text = log.read_text()
        match = _BUILT.search(text)
        if proc.returncode != 0 or not match:
            raise RuntimeError(f"rag build failed ({proc.returncode}): {text[-500:]}")
    chunks, sentences, embedded, reused, seconds = match.groups()
    return {"corpus": str(corpus.relative_to(REPO)), "preset": preset,
            "wall_s": round(wall, 2), "build_s": float(seconds), "chunks": int(chunks),
            "sentences": int(sentences), "embedded": int(embedded), "reused": int(reused),
            "peak_rss_mb": round(usage.ru_maxrss / 1024, 1)}


def report(result: dict) -> None:
    warm = result["warm"]
    rows = [(label, warm[key]["p50_ms"], warm[key]["p95_ms"], warm[key]["n"])
            for label, key in [("query embedding (floor)", "query_embedding"),
                               ("retrieval only (vector given)", "retrieval_only"),
                               ("embedding + retrieval", "embedding_plus_retrieval"),
                               ("full extractive answer", "full_answer")]]
    print(table(f"Warm latency (ms), query embedding by {result['embedding_runtime']}",
                ["stage", "p50", "p95", "n"], rows))
    build = result["build"]
    print(table("Build from scratch", ["measure", "value"], [
        ("rag build wall time incl. imports, model load, ONNX export (s)", build["wall_s"]),
        ("rag build time, model loaded (s)", build["build_s"]),
        ("chunks / sentences", f"{build['chunks']} / {build['sentences']}"),
        ("rag build peak RSS (MiB)", build["peak_rss_mb"])]))
    print(targets_table(result["targets"]))


def targets(result: dict) -> list[dict]:
    warm = result["warm"]
    full, floor = warm["full_answer"]["p50_ms"], warm["query_embedding"]["p50_ms"]
    build = result["build"]
    note = {"note": "the real corpus" if not result["smoke"] else "stub corpus (smoke)"}
    return [
        target("warm full answer p50 / query-embedding p50", ratio(full, floor), 2.0,
               unit="x"),
        target("warm query embedding p50", floor, 8.0, unit="ms"),
        target("warm full answer p50 (issue 2)", full, 40.0, unit="ms"),
        target("rag build from scratch, wall (imports, model, export)", build["wall_s"],
               30.0, unit="s") | note,
    ]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(NAME, __doc__.splitlines()[0], argv)
    started, before = time.perf_counter(), machine()
    from rag.assistant import Assistant

    assistant, load_s = timed(Assistant.load)  # builds the index first when it is stale
    questions = benchmark_questions(6 if args.smoke else None)
    result: dict = {"smoke": args.smoke, "assistant_load_s": round(load_s, 2),
                    "index_chunks": len(assistant.index.chunks)}
    result["warm"] = warm_latency(assistant, questions, warmup=1 if args.smoke else 3)
    result["embedding_runtime"] = assistant.embedder.runtime
    corpus, preset = (STUB_CORPUS, "fast") if args.smoke else (REPO / "corpus", "default")
    result["build"] = build_cost(corpus, preset)
    result["targets"] = targets(result)
    report(result)
    write_result(NAME, args, result, started, before)
    return 0


if __name__ == "__main__":
    sys.exit(main())
