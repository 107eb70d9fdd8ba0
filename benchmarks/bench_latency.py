"""Latency against the physical floor, cold start, build cost and concurrent throughput.

    .venv/bin/python benchmarks/bench_latency.py [--smoke]

1. Warm, in this process, over the evaluation questions plus our own (125): the query
   embedding alone (the floor), retrieval alone (vector given), and the full extractive
   answer (``Assistant.ask``), p50/p95.
2. Cold start: a fresh ``rag ask --json`` process, from spawn to its printed answer.
3. ``rag build`` of a fresh copy of ``corpus/`` in a temporary ``RAG_HOME``: wall time,
   the build's own time (model load excluded), chunk count and peak memory (``wait4``).
4. Throughput: 4 concurrent clients against the running Gradio app (``app.py``, the
   ``/ask`` endpoint through ``gradio_client``), and one client for reference.

``--smoke``: 6 questions, one cold start, the stub corpus for the build, and threads
calling ``Assistant.ask`` instead of the app (starting the app takes too long for CI).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
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
    venv_bin,
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


def cold_start(question: str, runs: int) -> dict:
    """Seconds from spawning ``rag ask --json`` to its answer (imports, model, index)."""
    times, inner = [], []
    for _ in range(runs):
        start = time.perf_counter()
        proc = subprocess.run([venv_bin("rag"), "ask", "--json", question], cwd=REPO,
                              capture_output=True, text=True, env=subprocess_env(),
                              timeout=600, check=False)
        times.append(time.perf_counter() - start)
        if proc.returncode != 0:
            raise RuntimeError(f"rag ask failed ({proc.returncode}): {proc.stderr[-500:]}")
        inner.append(json.loads(proc.stdout)["timings_ms"]["total"] / 1000)
    return {"runs": runs, "process_to_answer": summary_ms(times),
            "answer_inside_process": summary_ms(inner)}


def build_cost(corpus: Path, preset: str) -> dict:
    """``rag build`` of a copy of ``corpus`` in a fresh home: times, counts, peak RSS."""
    with tempfile.TemporaryDirectory(prefix="rag-bench-build-") as tmp:
        home = Path(tmp)
        shutil.copytree(corpus, home / "corpus")
        log = home / "build.log"
        with log.open("w") as out:
            start = time.perf_counter()
            proc = subprocess.Popen([venv_bin("rag"), "--preset", preset, "build", "--quiet"],
                                    cwd=REPO, stdout=out, stderr=subprocess.STDOUT,
                                    env=subprocess_env(home=home))
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


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_ready(url: str, proc: subprocess.Popen, timeout: float) -> None:
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"app.py exited with {proc.returncode} before serving")
        try:
            with urllib.request.urlopen(url + "/config", timeout=2):
                return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError(f"app.py did not answer at {url} within {timeout:.0f} s")


def run_clients(call_factory, questions: list[str], clients: int, per_client: int) -> dict:
    """``clients`` threads, each asking ``per_client`` questions; latency and throughput."""
    calls = [call_factory() for _ in range(clients)]  # connect before the clock starts
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(clients + 1)

    def worker(i: int) -> None:
        barrier.wait()
        for j in range(per_client):
            question = questions[(i * per_client + j) % len(questions)]
            try:
                _, seconds = timed(calls[i], question)
            except Exception as exc:  # noqa: BLE001 - counted and reported
                with lock:
                    errors.append(f"{type(exc).__name__}: {exc}"[:200])
                continue
            with lock:
                latencies.append(seconds)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    barrier.wait()
    start = time.perf_counter()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - start
    return {"clients": clients, "requests": len(latencies), "errors": len(errors),
            "error_examples": errors[:3], "wall_s": round(wall, 3),
            "throughput_qps": round(len(latencies) / wall, 3) if wall else 0.0,
            "latency": summary_ms(latencies)}


def _gradio_call(url: str, k: int):
    from gradio_client import Client

    client = Client(url, verbose=False)

    def ask(question: str):
        out = client.predict(question, [], k, "extractive", True, api_name="/ask")
        if not out or not out[0] or out[0][-1]["role"] != "assistant":
            raise RuntimeError(f"unexpected /ask output: {str(out)[:200]}")
        return out
    return ask


def app_throughput(questions: list[str], clients: int, per_client: int, k: int) -> dict:
    """Start ``app.py`` on a free port, then measure 1 and ``clients`` concurrent clients."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryFile("w+") as log:
        start = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "app.py", "--host", "127.0.0.1",
                                 "--port", str(port)], cwd=REPO, stdout=log,
                                stderr=subprocess.STDOUT, env=subprocess_env(),
                                start_new_session=True)
        try:
            _wait_ready(url, proc, timeout=600)
            ready = time.perf_counter() - start
            factory = lambda: _gradio_call(url, k)  # noqa: E731
            single = run_clients(factory, questions, 1, per_client)
            multi = run_clients(factory, questions, clients, per_client)
        except Exception:
            log.seek(0)
            print(log.read()[-2000:], file=sys.stderr)
            raise
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    return {"against": "app.py (Gradio /ask endpoint via gradio_client)",
            "app_start_to_ready_s": round(ready, 2), "single_client": single,
            "concurrent": multi,
            "speedup": ratio(multi["throughput_qps"], single["throughput_qps"])}


def thread_throughput(assistant, questions: list[str], clients: int, per_client: int) -> dict:
    """Fallback when the app cannot start: threads calling ``Assistant.ask`` directly."""
    factory = lambda: assistant.ask  # noqa: E731
    single = run_clients(factory, questions, 1, per_client)
    multi = run_clients(factory, questions, clients, per_client)
    return {"against": "Assistant.ask in threads (app.py unavailable)", "single_client": single,
            "concurrent": multi,
            "speedup": ratio(multi["throughput_qps"], single["throughput_qps"])}


def report(result: dict) -> None:
    warm = result["warm"]
    rows = [(label, warm[key]["p50_ms"], warm[key]["p95_ms"], warm[key]["n"])
            for label, key in [("query embedding (floor)", "query_embedding"),
                               ("retrieval only (vector given)", "retrieval_only"),
                               ("embedding + retrieval", "embedding_plus_retrieval"),
                               ("full extractive answer", "full_answer")]]
    print(table("Warm latency (ms)", ["stage", "p50", "p95", "n"], rows))
    cold, build = result["cold_start"], result["build"]
    print(table("Cold start and build", ["measure", "value"], [
        ("cold start p50: spawn -> answer (s)", cold["process_to_answer"]["p50_ms"] / 1000),
        ("rag build wall time incl. model load (s)", build["wall_s"]),
        ("rag build time, model loaded (s)", build["build_s"]),
        ("chunks / sentences", f"{build['chunks']} / {build['sentences']}"),
        ("rag build peak RSS (MiB)", build["peak_rss_mb"])]))
    tp = result["throughput"]
    rows = [(name, tp[key]["clients"], tp[key]["requests"], tp[key]["errors"],
             tp[key]["throughput_qps"], tp[key]["latency"]["p50_ms"],
             tp[key]["latency"]["p95_ms"]) for name, key in [("1 client", "single_client"),
                                                              ("concurrent", "concurrent")]]
    print(table(f"Throughput against {tp['against']}",
                ["run", "clients", "requests", "errors", "q/s", "p50 ms", "p95 ms"], rows))
    print(targets_table(result["targets"]))


def targets(result: dict) -> list[dict]:
    warm = result["warm"]
    full, floor = warm["full_answer"]["p50_ms"], warm["query_embedding"]["p50_ms"]
    build = result["build"]
    return [
        target("warm full answer p50 / query-embedding p50", ratio(full, floor), 2.5,
               unit="x"),
        target("warm full answer p50 (issue 2)", full, 40.0, unit="ms"),
        target("full rag build (model loaded)", build["build_s"], 30.0, unit="s")
        | {"note": "the real corpus" if not result["smoke"] else "stub corpus (smoke)"},
    ]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(NAME, __doc__.splitlines()[0], argv, extra=[
        (("--no-app",), {"action": "store_true",
                         "help": "measure concurrency with threads instead of app.py"})])
    started, before = time.perf_counter(), machine()
    from rag.assistant import Assistant

    assistant, load_s = timed(Assistant.load)  # builds the index first when it is stale
    questions = benchmark_questions(6 if args.smoke else None)
    result: dict = {"smoke": args.smoke, "assistant_load_s": round(load_s, 2),
                    "index_chunks": len(assistant.index.chunks),
                    "app_concurrency": assistant.settings.app.concurrency}
    result["warm"] = warm_latency(assistant, questions, warmup=1 if args.smoke else 3)
    result["cold_start"] = cold_start(questions[0], runs=1 if args.smoke else 3)
    corpus, preset = (STUB_CORPUS, "fast") if args.smoke else (REPO / "corpus", "default")
    result["build"] = build_cost(corpus, preset)
    clients, per_client = 4, (2 if args.smoke else 25)
    use_app = not (args.no_app or args.smoke) and (REPO / "app.py").is_file()
    try:
        result["throughput"] = (app_throughput(questions, clients, per_client,
                                               assistant.settings.retrieval.k)
                                if use_app else None)
    except (RuntimeError, ImportError) as exc:
        print(f"app.py unavailable ({exc}); measuring threads instead", file=sys.stderr)
        result["app_error"] = str(exc)[:300]
        result["throughput"] = None
    if result["throughput"] is None:
        result["throughput"] = thread_throughput(assistant, questions, clients, per_client)
    result["targets"] = targets(result)
    report(result)
    write_result(NAME, args, result, started, before)
    return 0


if __name__ == "__main__":
    sys.exit(main())
