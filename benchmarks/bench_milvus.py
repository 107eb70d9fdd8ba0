"""Milvus Lite vs FAISS at scale: N chunk-sized texts with embedding-like vectors.

    nice -n 10 .venv/bin/python benchmarks/bench_milvus.py [--n 1000000] [--smoke]

Data: ``--n`` documents of 3-8 real corpus sentences (chunk-sized, real vocabulary) with
vectors from a Gaussian fitted to our real all-MiniLM-L6-v2 vectors (bench_scale.py's
``EmbeddingLike``); 200 query vectors from the same distribution, paired with real
interview questions as the query text.

Milvus Lite runs as a server process (``milvus-lite server``, as replicas share it) with
the collection schema ``rag build --store milvus`` writes (passage record, BM25 text of
our own tokens through Milvus' built-in BM25 function, HNSW (or, ``--index ivf``,
IVF_FLAT) over the vectors).  FAISS is measured in this process with the same dense
index, bm25s for BM25 and our RRF.
For each: load time, disk, resident memory, dense recall@10 against exact search,
single-query p50/p95 of dense, BM25 and hybrid search (Milvus: ``hybrid_search`` with
``RRFRanker``; FAISS: both searches and ``rag.search.retrieve.rrf``, as ``Retriever``).
"""

from __future__ import annotations

import gc
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _common import (
    machine,
    parse_args,
    rss_mb,
    summary_ms,
    table,
    target,
    targets_table,
    timed,
    write_result,
)
from bench_scale import (
    EmbeddingLike,
    corpus_sentences,
    exact_top_k,
    real_vectors,
    recall_at_k,
    synthetic_documents,
)

NAME = "bench_milvus"
K = 10
CANDIDATES = 30  # per retriever, as RAG_RETRIEVAL__CANDIDATES
N_QUERIES = 200  # recall@10 over all of them; latency over the first --latency-queries
MIN_AVAILABLE_GB = 3.0  # stop the Milvus part before the shared machine runs out of memory
HNSW = {"M": 32, "efConstruction": 40}  # RAG_VECTOR_INDEX__HNSW_* (what `auto` uses > 50k)
EF_SEARCH = 256  # RAG_VECTOR_INDEX__HNSW_EF_SEARCH
IVF = {"nlist": 1024}  # cheaper to build: used for the 1M run on the shared 2 cores
NPROBES = (64, 128, 256, 512)  # swept; the cheapest reaching RECALL_GOAL is timed
RECALL_GOAL = 0.95
BATCH = 2000
INDEX = "hnsw"  # --index


def index_label() -> str:
    if INDEX == "hnsw":
        return f"HNSW M={HNSW['M']} efConstruction={HNSW['efConstruction']} ef={EF_SEARCH}"
    return f"IVF_FLAT nlist={IVF['nlist']}, nprobe swept {NPROBES}"


def faiss_dense_index(x: np.ndarray):
    """The same dense index as the Milvus collection gets, built with FAISS."""
    import faiss

    if INDEX == "hnsw":
        index = faiss.IndexHNSWFlat(x.shape[1], HNSW["M"], faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = HNSW["efConstruction"]
        index.add(x)
        index.hnsw.efSearch = EF_SEARCH
        return index
    quantizer = faiss.IndexFlatIP(x.shape[1])
    index = faiss.IndexIVFFlat(quantizer, x.shape[1], IVF["nlist"], faiss.METRIC_INNER_PRODUCT)
    rng = np.random.default_rng(1)
    index.train(x[rng.choice(len(x), min(len(x), 40 * IVF["nlist"]), replace=False)])
    index.add(x)
    return index


def search_settings() -> list[dict]:
    """The dense search parameters to try, cheapest first."""
    return [{"ef": EF_SEARCH}] if INDEX == "hnsw" else [{"nprobe": p} for p in NPROBES]


def choose(sweep: list[dict]) -> dict:
    """The cheapest setting reaching the recall goal, else the one with the best recall."""
    good = [row for row in sweep if row["recall_at_10"] >= RECALL_GOAL]
    return good[0] if good else max(sweep, key=lambda row: row["recall_at_10"])


def faiss_sweep(index, data: dict) -> tuple[list[dict], dict]:
    """Recall@10 of each search setting (batched queries); the chosen one is applied."""
    sweep = []
    for params in search_settings():
        _apply_faiss(index, params)
        found = index.search(data["queries"], K)[1]
        sweep.append({"params": params, "recall_at_10": round(
            recall_at_k(found, data["truth"]), 4)})
    chosen = choose(sweep)
    _apply_faiss(index, chosen["params"])
    return sweep, chosen


def _apply_faiss(index, params: dict) -> None:
    if "ef" in params:
        index.hnsw.efSearch = params["ef"]
    else:
        index.nprobe = params["nprobe"]


def milvus_dense_index() -> tuple[str, dict]:
    """(index type, build params) of the Milvus collection."""
    if INDEX == "hnsw":
        return "HNSW", dict(HNSW)
    return "IVF_FLAT", dict(IVF)


def make_data(n: int, seed: int = 0) -> dict:
    """Texts, their BM25 tokens, vectors; query vectors, query texts, exact top-k."""
    from _common import benchmark_questions

    from rag.search.index import bm25_tokenize

    generate = EmbeddingLike(real_vectors())
    docs = synthetic_documents(corpus_sentences(), n, seed)
    tokens, tokenize_s = timed(lambda: [
        " ".join(t) for t in bm25_tokenize(docs, return_ids=False)])
    vectors = generate(n, seed=n)
    queries = generate(N_QUERIES, seed=7)
    questions = benchmark_questions()
    texts = [questions[i % len(questions)] for i in range(N_QUERIES)]
    truth = exact_top_k(vectors, queries, K)
    return {"docs": docs, "tokens": tokens, "tokenize_s": round(tokenize_s, 1),
            "vectors": vectors, "queries": queries, "texts": texts, "truth": truth}


LATENCY_QUERIES = 200


def latency(fn, items) -> dict:
    items = list(items)[:LATENCY_QUERIES]
    times = []
    for item in items:
        _, seconds = timed(fn, item)
        times.append(seconds)
    return summary_ms(times)


# ------------------------------------------------------------------------------ FAISS
def run_faiss(data: dict) -> dict:
    import bm25s
    import faiss

    from rag.search.query import stem_tokens
    from rag.search.retrieve import rrf

    gc.collect()
    before = rss_mb()
    start = time.perf_counter()
    index = faiss_dense_index(data["vectors"])
    dense_s = time.perf_counter() - start
    bm25 = bm25s.BM25()
    bm25.index([t.split() for t in data["tokens"]], show_progress=False)
    load_s = time.perf_counter() - start
    memory = rss_mb() - before
    disk = _faiss_disk_mb(index, bm25)
    sweep, chosen = faiss_sweep(index, data)
    faiss.omp_set_num_threads(1)  # one query at a time on one thread, as a request

    def dense(i):
        return index.search(data["queries"][i:i + 1], CANDIDATES)[1][0]

    def lexical(i):  # as FaissStore.lexical
        toks = [list(stem_tokens(data["texts"][i]))]
        docs, _ = bm25.retrieve(toks, k=CANDIDATES, show_progress=False, n_threads=0)
        return docs[0]

    def hybrid(i):
        fused = rrf([list(dense(i)), list(lexical(i))], [1.0, 1.0], 60)
        return sorted(fused, key=lambda d: (-fused[d], d))[:K]

    queries = range(N_QUERIES)
    return {"store": "faiss", "load_s": round(load_s, 1), "dense_build_s": round(dense_s, 1),
            "disk_mb": round(disk, 1), "rss_added_mb": round(memory, 1),
            "recall_at_10": chosen["recall_at_10"], "search": chosen["params"],
            "sweep": sweep, "dense": latency(dense, queries),
            "bm25": latency(lexical, queries), "hybrid": latency(hybrid, queries)}


def _faiss_disk_mb(index, bm25) -> float:
    import faiss

    folder = Path(tempfile.mkdtemp(prefix="bench-faiss-"))
    try:
        faiss.write_index(index, str(folder / "vectors.faiss"))
        bm25.save(str(folder / "bm25"), show_progress=False)
        return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 2**20
    finally:
        shutil.rmtree(folder, ignore_errors=True)


# ----------------------------------------------------------------------------- Milvus
def load_milvus(client, data: dict, name: str) -> dict:
    """Create the passage collection as ``rag build --store milvus`` does and fill it."""
    from rag.search.stores.milvus_client import BM25_PARAMS, chunk_schema

    dim = data["vectors"].shape[1]
    params = client.prepare_index_params()
    kind, build_params = milvus_dense_index()
    params.add_index("vector", index_type=kind, metric_type="IP", params=build_params)
    params.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25",
                     params=dict(BM25_PARAMS))
    client.create_collection(name, schema=chunk_schema(client, dim), index_params=params)
    start = time.perf_counter()
    for lo in range(0, len(data["docs"]), BATCH):
        rows = [{"pos": i, "chunk_id": f"synthetic#{i}",
                 "record": json.dumps({"chunk_id": f"synthetic#{i}", "text": data["docs"][i]}),
                 "lexical": data["tokens"][i], "vector": data["vectors"][i].tolist()}
                for i in range(lo, min(lo + BATCH, len(data["docs"])))]
        client.insert(name, rows, timeout=600)
    insert_s = time.perf_counter() - start
    client.flush(name, timeout=3600)
    flush_s = time.perf_counter() - start - insert_s
    client.release_collection(name, timeout=600)
    client.load_collection(name, timeout=7200)  # builds the segments' indexes
    load_s = time.perf_counter() - start
    return {"insert_s": round(insert_s, 1), "flush_s": round(flush_s, 1),
            "index_and_load_s": round(load_s - insert_s - flush_s, 1), "load_s": round(load_s, 1)}


def query_milvus(client, data: dict, name: str) -> dict:
    from pymilvus import AnnSearchRequest, RRFRanker

    bm25_p = {"metric_type": "BM25"}
    sweep = [{"params": params, "recall_at_10": milvus_recall(client, data, name, params)}
             for params in search_settings()]
    chosen = choose(sweep)
    dense_p = {"metric_type": "IP", "params": chosen["params"]}

    def dense(i, limit=CANDIDATES):
        return client.search(name, data=[data["queries"][i].tolist()], anns_field="vector",
                             limit=limit, search_params=dense_p, output_fields=["pos"])[0]

    def lexical(i):
        return client.search(name, data=[_query_tokens(data["texts"][i])], anns_field="sparse",
                             limit=CANDIDATES, search_params=bm25_p, output_fields=["pos"])[0]

    def hybrid(i):
        reqs = [AnnSearchRequest([data["queries"][i].tolist()], "vector", dense_p, CANDIDATES),
                AnnSearchRequest([_query_tokens(data["texts"][i])], "sparse", bm25_p,
                                 CANDIDATES)]
        return client.hybrid_search(name, reqs, RRFRanker(60), limit=K,
                                    output_fields=["pos"])[0]

    _, first_s = timed(hybrid, 0)  # the first query may build per-segment caches
    queries = range(N_QUERIES)
    return {"first_query_s": round(first_s, 2), "recall_at_10": chosen["recall_at_10"],
            "search": chosen["params"], "sweep": sweep, "dense": latency(dense, queries),
            "bm25": latency(lexical, queries), "hybrid": latency(hybrid, queries)}


def milvus_recall(client, data: dict, name: str, params: dict) -> float:
    found = np.full((N_QUERIES, K), -1)
    for lo in range(0, N_QUERIES, 20):  # 20 query vectors per request
        batch = client.search(name, data=data["queries"][lo:lo + 20].tolist(),
                              anns_field="vector", limit=K,
                              search_params={"metric_type": "IP", "params": params},
                              output_fields=["pos"])
        for i, hits in enumerate(batch, start=lo):
            ids = [h["pos"] for h in hits]
            found[i, :len(ids)] = ids
    return round(recall_at_k(found, data["truth"]), 4)


def _query_tokens(text: str) -> str:  # as MilvusBuild.lexical
    from rag.search.query import stem_tokens

    return " ".join(stem_tokens(text)) or "the"


def run_milvus(data: dict, nice: int) -> dict:
    from pymilvus import MilvusClient

    from rag.search.stores.lite_server import LiteServer
    from rag.search.stores.milvus_client import GRPC_OPTIONS

    with LiteServer(nice=nice) as server:
        guard = MemoryGuard(server)
        client = MilvusClient(server.uri, timeout=7200, grpc_options=dict(GRPC_OPTIONS))
        idle = server.rss_mb()
        loaded = load_milvus(client, data, "bench_chunks")
        after_load = server.rss_mb()
        queries = query_milvus(client, data, "bench_chunks")
        result = {"store": "milvus-lite server", **loaded, **queries,
                  "disk_mb": round(server.disk_mb(), 1),
                  "server_rss_idle_mb": round(idle, 1),
                  "server_rss_loaded_mb": round(after_load, 1),
                  "server_rss_after_queries_mb": round(server.rss_mb(), 1),
                  "server_rss_peak_mb": round(server.rss_mb("VmHWM"), 1)}
        client.close()
        guard.stop()
    return result


class MemoryGuard:
    """Stops the Milvus Lite server when the machine's available memory falls below
    ``MIN_AVAILABLE_GB`` (other people's processes share it); the run then fails."""

    def __init__(self, server, period_s: float = 2.0):
        import threading

        self.server, self.period_s = server, period_s
        self.tripped = ""
        self._stop = threading.Event()
        threading.Thread(target=self._watch, daemon=True).start()

    def _watch(self) -> None:
        while not self._stop.wait(self.period_s):
            available = _available_gb()
            if available < MIN_AVAILABLE_GB:
                self.tripped = (f"stopped: {available:.1f} GB available, server RSS "
                                f"{self.server.rss_mb():.0f} MiB")
                print(f"memory guard {self.tripped}", flush=True)
                self.server.proc.kill()
                return

    def stop(self) -> None:
        self._stop.set()


def _available_gb() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) / 2**20
    return float("inf")


# --------------------------------------------------------------------------- serving
def run_serving(nice: int, limit: int | None) -> dict:
    """The real index: full answers from FAISS files vs a Milvus Lite server, warm, one
    question at a time; CPU per question in this (replica) process and in the server."""
    import os

    from _common import benchmark_questions

    from rag.assistant import Assistant
    from rag.search.embed import Embedder
    from rag.search.stores.base import open_store
    from rag.search.stores.lite_server import LiteServer
    from rag.search.stores.milvus_build import build_milvus
    from rag.settings import load_settings
    from rag.study.stored import study_extra

    questions = benchmark_questions(limit)
    base = load_settings()
    embedder = Embedder(base.embedding)
    out = {"questions": len(questions)}
    with LiteServer(nice=nice) as server:
        milvus = base.updated(store="milvus", milvus={"uri": server.uri})
        build_milvus(milvus, lambda: embedder, extras=[study_extra(milvus)])
        for name, settings in (("faiss", base), ("milvus", milvus)):
            assistant = Assistant(settings, embedder, open_store(settings, embedder.dim), None)
            for question in questions[:3]:
                assistant.ask(question)  # warm: caches, first-call costs
            cpu, server_cpu = time.process_time(), _cpu_s(server.proc.pid)
            totals = [assistant.ask(q).timings_ms["total"] / 1000 for q in questions]
            n = len(questions)
            out[name] = {**summary_ms(totals), "client_cpu_ms_per_q": round(
                (time.process_time() - cpu) / n * 1000, 2)}
            if name == "milvus":
                out[name]["server_cpu_ms_per_q"] = round(
                    (_cpu_s(server.proc.pid) - server_cpu) / n * 1000, 2)
                out[name]["server_rss_mb"] = round(server.rss_mb(), 1)
        out["cores"] = os.cpu_count()
    return out


def run_replicas(nice: int, per_client: int) -> dict:
    """``app.py`` replicas on one Milvus Lite server: start time, memory, answers/s for
    4 clients on one replica and 2 + 2 on two; one FAISS ``app.py`` for comparison."""
    from _common import benchmark_questions
    from bench_latency import _gradio_call, run_clients

    from rag.search.embed import Embedder
    from rag.search.stores.lite_server import LiteServer
    from rag.search.stores.milvus_build import build_milvus
    from rag.settings import REPO_ROOT, load_settings
    from rag.study.stored import study_extra

    questions = benchmark_questions()
    out: dict = {}
    with LiteServer(nice=nice) as server, tempfile.TemporaryDirectory() as empty:
        milvus = load_settings().updated(store="milvus", milvus={"uri": server.uri})
        build_milvus(milvus, lambda: Embedder(milvus.embedding), extras=[study_extra(milvus)])
        env = {"RAG_HOME": empty, "RAG_STORE": "milvus", "RAG_MILVUS__URI": server.uri}
        apps = [_App(env) for _ in range(2)]
        try:
            for app in apps:
                app.start()
            one = run_clients(lambda: _gradio_call(apps[0].url, 5), questions, 4, per_client)
            calls = iter([apps[0].url, apps[1].url] * 2)
            two = run_clients(lambda: _gradio_call(next(calls), 5), questions, 4, per_client)
            out["milvus"] = {"ready_s": [a.ready_s for a in apps],
                             "rss_mb": [a.rss_mb() for a in apps],
                             "one_replica_4_clients": one, "two_replicas_2_clients_each": two}
        finally:
            for app in apps:
                app.stop()
    faiss_app = _App({"RAG_HOME": str(REPO_ROOT)})
    try:
        faiss_app.start()
        run_clients(lambda: _gradio_call(faiss_app.url, 5), questions, 4, per_client)
        out["faiss"] = {"ready_s": faiss_app.ready_s, "rss_mb": faiss_app.rss_mb()}
    finally:
        faiss_app.stop()
    return out


class _App:
    """``app.py`` on a free port with extra environment variables."""

    def __init__(self, env: dict):
        from _common import subprocess_env
        from bench_latency import _free_port

        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tempfile.TemporaryFile("w+")
        self.cmd = [sys.executable, "app.py", "--port", str(self.port)]
        self.env = subprocess_env(**env)
        self.proc: subprocess.Popen | None = None
        self.ready_s = 0.0

    def start(self) -> None:
        from bench_latency import _wait_ready

        from rag.settings import REPO_ROOT

        started = time.perf_counter()
        self.proc = subprocess.Popen(self.cmd, cwd=REPO_ROOT, env=self.env, stdout=self.log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        try:
            _wait_ready(self.url, self.proc, timeout=900)
        except RuntimeError:
            self.log.seek(0)
            print(self.log.read()[-2000:], file=sys.stderr)
            raise
        self.ready_s = round(time.perf_counter() - started, 1)

    def rss_mb(self) -> float:
        status = Path(f"/proc/{self.proc.pid}/status").read_text()
        kb = next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS"))
        return round(int(kb) / 1024, 1)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=30)
        self.log.close()


def _cpu_s(pid: int) -> float:
    import os

    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# ---------------------------------------------------------------------------- report
def report(result: dict) -> None:
    if "faiss" in result:
        scale_table(result)
    serving = result.get("serving")
    if serving:
        print(table(f"Full answers on the real index, warm, {serving['questions']} questions, "
                    "one at a time (ms)", ["store", "p50", "p95", "client CPU / q",
                                           "server CPU / q"],
                    [(k, serving[k]["p50_ms"], serving[k]["p95_ms"],
                      serving[k]["client_cpu_ms_per_q"], serving[k].get("server_cpu_ms_per_q"))
                     for k in ("faiss", "milvus")]))
    print(targets_table(result["targets"]))


def scale_table(result: dict) -> None:
    rows = []
    for r in (result["faiss"], result["milvus"]):
        memory = r.get("rss_added_mb", r.get("server_rss_after_queries_mb"))
        search = ", ".join(f"{k}={v}" for k, v in r["search"].items())
        rows.append((r["store"], r["load_s"], r["disk_mb"], memory, search, r["recall_at_10"],
                     r["dense"]["p50_ms"], r["dense"]["p95_ms"], r["bm25"]["p50_ms"],
                     r["bm25"]["p95_ms"], r["hybrid"]["p50_ms"], r["hybrid"]["p95_ms"]))
    print(table(f"{result['n']:,} chunk-sized texts, dim {result['dim']}, k={K}, "
                f"{CANDIDATES} candidates per retriever, {index_label()}",
                ["store", "load s", "disk MiB", "RSS MiB", "search", "dense recall@10",
                 "dense p50", "dense p95", "BM25 p50", "BM25 p95", "hybrid p50",
                 "hybrid p95"], rows))
    print(table("Dense recall@10 by search setting", ["store", "setting", "recall@10"],
                [(r["store"], ", ".join(f"{k}={v}" for k, v in row["params"].items()),
                  row["recall_at_10"]) for r in (result["faiss"], result["milvus"])
                 for row in r["sweep"]]))


def run_scale(n: int, nice: int) -> dict:
    data, data_s = timed(make_data, n)
    print(f"data: {n:,} texts and vectors in {data_s:.0f} s", flush=True)
    result: dict = {"n": n, "dim": int(data["vectors"].shape[1]), "k": K,
                    "queries": N_QUERIES, "dense_index": index_label(),
                    "tokenize_s": data["tokenize_s"]}
    result["faiss"] = run_faiss(data)
    print(f"faiss: {result['faiss']}", flush=True)
    gc.collect()
    result["milvus"] = run_milvus(data, nice)
    print(f"milvus: {result['milvus']}", flush=True)
    result["targets"] = [
        target(f"Milvus Lite dense recall@10 at {n:,} ({index_label()})",
               result["milvus"]["recall_at_10"], RECALL_GOAL, True)]
    return result


def main(argv: list[str] | None = None) -> int:
    import signal

    # A killed run still stops its Milvus Lite server (context managers run on SystemExit).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    args = parse_args(NAME, __doc__.splitlines()[0], argv, extra=[
        (("--n",), {"type": int, "default": 1_000_000, "help": "texts to load"}),
        (("--nice",), {"type": int, "default": 0,
                       "help": "niceness added to the Milvus Lite server process"}),
        (("--no-scale",), {"action": "store_true", "help": "skip the N-text part"}),
        (("--index",), {"choices": ["hnsw", "ivf"], "default": "hnsw",
                        "help": "dense index of both stores (ivf: IVF_FLAT, much cheaper to "
                                "build at 1M on a shared machine)"}),
        (("--latency-queries",), {"type": int, "default": 200,
                                  "help": "single queries timed per kind (recall: all 200)"}),
        (("--no-serving",), {"action": "store_true",
                             "help": "skip the full answers on the real index"}),
        (("--replicas",), {"action": "store_true",
                           "help": "only: app.py replicas on one Milvus Lite server (start "
                                   "time, memory, answers/s) and one FAISS app.py"})])
    started, before = time.perf_counter(), machine()
    global LATENCY_QUERIES, INDEX
    LATENCY_QUERIES, INDEX = args.latency_queries, args.index
    result: dict = {"targets": [], "latency_queries": LATENCY_QUERIES}
    if args.replicas:
        result["replicas"] = run_replicas(args.nice, 2 if args.smoke else 10)
        print(json.dumps(result["replicas"], indent=1))
        write_result(NAME, args, result, started, before)
        return 0
    if not args.no_serving:
        result["serving"] = run_serving(args.nice, 6 if args.smoke else None)
        s = result["serving"]
        print(f"serving: {s}", flush=True)
        result["targets"].append(target(
            "Milvus full answer p50 - FAISS p50 (the store's cost per question)",
            round(s["milvus"]["p50_ms"] - s["faiss"]["p50_ms"], 1), 50.0, unit="ms"))
    if not args.no_scale:
        scale = run_scale(2_000 if args.smoke else args.n, args.nice)
        result["targets"] += scale.pop("targets")
        result.update(scale)
    report(result)
    write_result(NAME, args, result, started, before)
    return 0


if __name__ == "__main__":
    sys.exit(main())
