"""Scale: FAISS flat vs HNSW vs IVF-PQ on synthetic corpora; BM25 on real text.

    .venv/bin/python benchmarks/bench_scale.py [--smoke] [--max-hnsw N] [--no-plot]

Vectors (dim 384, unit length), two kinds:

* ``uniform``: random unit vectors (the issue's worst case: no structure at all, so
  every approximate index needs to look at a large share of the corpus);
* ``embedding-like``: a Gaussian with the mean and covariance of our real
  all-MiniLM-L6-v2 chunk and sentence vectors (read from the built index), normalised.
  Its cosine distribution matches the real one (mean ~0.2, sd ~0.12).

For each size (10k, 100k, 1M) and index: build time, resident memory the index added,
single-query latency p50/p95 (one thread, one query at a time, as a request is served)
and recall@10 against exact search, for a sweep of search parameters (HNSW efSearch,
IVF nprobe with an exact re-ranking of ``k_factor`` x 10 candidates).  BM25 (bm25s with
our tokenizer) is measured on real text: documents of 3-8 corpus sentences drawn at
random.  The full run also draws ``docs/benchmarks_scale.png``.
"""

from __future__ import annotations

import gc
import json
import math
import os
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
from _common import (
    REPO,
    benchmark_questions,
    machine,
    parse_args,
    peak_rss_mb,
    rss_mb,
    summary_ms,
    table,
    target,
    targets_table,
    timed,
    write_result,
)

NAME = "bench_scale"
DIM = 384
K = 10
N_QUERIES = 200
RECALL_GOAL = 0.95
LATENCY_BUDGET_S = 3.0  # per parameter setting: at most this long (at least 10 queries)
PLOT = REPO / "docs" / "benchmarks_scale.png"
HNSW_EF_SEARCH = (16, 32, 64, 128, 256, 512, 1024)
# (nprobe, k_factor): the PQ codes of nprobe lists rank candidates, k_factor x 10 of them
# are re-ranked exactly; cheapest first.
IVF_SEARCH = ((8, 20), (16, 20), (32, 20), (64, 20), (128, 20), (256, 20), (256, 50),
              (512, 50), (1024, 50))
# Largest corpus HNSW is built for: on uniform vectors its recall is already below the goal
# at 100k (efSearch 512), and a 1M build takes ~15 min on 2 busy cores.
HNSW_MAX = {"embedding-like": 1_000_000, "uniform": 100_000}


# ----------------------------------------------------------------------------- data
def unit_rows(x: np.ndarray) -> np.ndarray:
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x


def uniform_vectors(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return unit_rows(rng.standard_normal((n, DIM), dtype=np.float32))


def real_vectors() -> np.ndarray:
    """Our real chunk and sentence vectors from the newest built index."""
    import faiss

    builds = sorted((REPO / "index").glob("idx-*/current"), key=lambda p: p.stat().st_mtime)
    for build in reversed(builds):
        try:
            store = faiss.read_index(str(build / "vectors.faiss"))
            chunks = store.reconstruct_n(0, store.ntotal)
            return np.vstack([chunks, np.load(build / "sentence_vectors.npy")])
        except (OSError, RuntimeError, ValueError):
            continue
    raise SystemExit("no built index under index/: run `rag build` first (the "
                     "embedding-like vectors are fitted to the real ones)")


class EmbeddingLike:
    """Samples a Gaussian fitted to real embeddings (mean + covariance), normalised."""

    def __init__(self, real: np.ndarray):
        real = real.astype(np.float64)
        self.mean = real.mean(axis=0).astype(np.float32)
        values, vectors = np.linalg.eigh(np.cov(real, rowvar=False))
        self.basis = (vectors * np.sqrt(np.clip(values, 0, None))).T.astype(np.float32)
        self.effective_dim = float(values.sum() ** 2 / (values ** 2).sum())

    def __call__(self, n: int, seed: int) -> np.ndarray:
        rng = np.random.default_rng(seed)
        out = np.empty((n, DIM), dtype=np.float32)
        for start in range(0, n, 100_000):
            z = rng.standard_normal((min(100_000, n - start), DIM), dtype=np.float32)
            out[start:start + len(z)] = z @ self.basis + self.mean
        return unit_rows(out)


def exact_top_k(x: np.ndarray, queries: np.ndarray, k: int = K) -> np.ndarray:
    """Exact inner-product top-k ids per query (numpy, in blocks: no index copy)."""
    best_s = np.full((len(queries), 0), -np.inf, dtype=np.float32)
    best_i = np.zeros((len(queries), 0), dtype=np.int64)
    for start in range(0, len(x), 200_000):
        scores = queries @ x[start:start + 200_000].T
        top = np.argpartition(-scores, min(k, scores.shape[1] - 1), axis=1)[:, :k]
        best_s = np.hstack([best_s, np.take_along_axis(scores, top, axis=1)])
        best_i = np.hstack([best_i, top + start])
        keep = np.argsort(-best_s, axis=1)[:, :k]
        best_s, best_i = (np.take_along_axis(a, keep, axis=1) for a in (best_s, best_i))
    return best_i


def recall_at_k(found: np.ndarray, truth: np.ndarray) -> float:
    hits = sum(len(set(f[f >= 0]) & set(t)) for f, t in zip(found, truth, strict=True))
    return hits / truth.size


# --------------------------------------------------------------------------- indexes
def ivf_lists(n: int) -> int:
    """IVF lists: a power of two near 2*sqrt(n), at most 2048 (training time) and at
    most n/40 (k-means wants about 40 training points per list)."""
    lists = 2 ** round(math.log2(2 * math.sqrt(n)))
    return int(max(4, min(lists, 2048, 2 ** int(math.log2(max(n // 40, 1))))))


def build_flat(x: np.ndarray, settings: dict):
    import faiss

    index = faiss.IndexFlatIP(DIM)
    index.add(x)
    return index


def build_hnsw(x: np.ndarray, settings: dict):
    import faiss

    index = faiss.IndexHNSWFlat(DIM, settings["M"], faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = settings["efConstruction"]
    index.add(x)
    return index


def build_ivfpq(x: np.ndarray, settings: dict):
    """IVF + 4-bit fast-scan PQ, with an exact re-ranking (``IndexRefineFlat``)."""
    import faiss

    nlist = settings["nlist"]
    base = faiss.index_factory(DIM, f"IVF{nlist},PQ{DIM // 4}x4fs", faiss.METRIC_INNER_PRODUCT)
    rng = np.random.default_rng(1)
    sample = x[rng.choice(len(x), min(len(x), 40 * nlist), replace=False)]
    base.train(sample)
    index = faiss.IndexRefineFlat(base)
    index.add(x)
    return index


def search_params(method: str, settings: dict) -> Iterator[tuple[dict, Callable]]:
    """Parameter settings to sweep, cheapest first, each with a ``search(index, q)``."""
    import faiss

    if method == "flat":
        yield {}, lambda index, q: index.search(q, K)[1]
    elif method == "hnsw":
        for ef in HNSW_EF_SEARCH:
            params = faiss.SearchParametersHNSW(efSearch=ef)
            yield {"efSearch": ef}, lambda index, q, p=params: index.search(q, K, params=p)[1]
    else:
        for nprobe, k_factor in IVF_SEARCH:
            if nprobe > settings["nlist"]:  # would probe every list again
                continue
            params = faiss.IndexRefineSearchParameters(
                k_factor=k_factor, base_index_params=faiss.SearchParametersIVF(nprobe=nprobe))
            yield ({"nprobe": nprobe, "k_factor": k_factor},
                   lambda index, q, p=params: index.search(q, K, params=p)[1])


def single_query_latency(search: Callable, index, queries: np.ndarray) -> dict:
    """One query at a time on one thread, until the time budget is spent."""
    import faiss

    threads = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    times: list[float] = []
    try:
        for i, query in enumerate(queries):
            _, seconds = timed(search, index, query[None, :])
            times.append(seconds)
            if i >= 9 and sum(times) > LATENCY_BUDGET_S:
                break
    finally:
        faiss.omp_set_num_threads(threads)
    return summary_ms(times)


def stored_mb(index) -> float:
    """Size of the index as FAISS writes it (vectors, graph or codes): what it needs."""
    import tempfile

    import faiss

    with tempfile.NamedTemporaryFile(suffix=".faiss") as handle:
        faiss.write_index(index, handle.name)
        return Path(handle.name).stat().st_size / 2**20


BUILDERS = {"flat": build_flat, "hnsw": build_hnsw, "ivfpq": build_ivfpq}


def measure_method(method: str, x: np.ndarray, queries: np.ndarray, truth: np.ndarray,
                   settings: dict) -> dict:
    """Build one index, sweep its search parameters, stop at the first that reaches the
    recall goal (settings are ordered cheapest first) and one more after it."""
    gc.collect()
    before = rss_mb()
    index, build_s = timed(BUILDERS[method], x, settings)
    memory = rss_mb() - before
    size = stored_mb(index)
    sweep, reached = [], 0
    for params, search in search_params(method, settings):
        recall = recall_at_k(search(index, queries), truth)
        latency = single_query_latency(search, index, queries)
        sweep.append({"params": params, "recall_at_10": round(recall, 4), **latency})
        reached += recall >= RECALL_GOAL
        if reached >= 2:
            break
    del index
    gc.collect()
    return {"method": method, "settings": settings, "build_s": round(build_s, 2),
            "memory_mb": round(size, 1), "rss_added_mb": round(memory, 1), "sweep": sweep,
            "chosen": choose(sweep)}


def choose(sweep: list[dict]) -> dict:
    """The fastest setting reaching the recall goal, else the one with the best recall."""
    good = [s for s in sweep if s["recall_at_10"] >= RECALL_GOAL]
    return min(good, key=lambda s: s["p50_ms"]) if good else max(
        sweep, key=lambda s: (s["recall_at_10"], -s["p50_ms"]))


def method_settings(method: str, n: int) -> dict:
    if method == "hnsw":
        return {"M": 32, "efConstruction": 40}
    if method == "ivfpq":
        return {"nlist": ivf_lists(n), "pq": f"PQ{DIM // 4}x4fs", "refine": "IndexRefineFlat"}
    return {}


def run_vectors(sizes: list[int], generators: dict, max_hnsw: dict[str, int]) -> list[dict]:
    rows = []
    for kind, generate in generators.items():
        for n in sizes:
            x = generate(n, seed=n)
            queries = generate(N_QUERIES, seed=7)
            truth, exact_s = timed(exact_top_k, x, queries)
            for method in ("flat", "hnsw", "ivfpq"):
                if method == "hnsw" and n > max_hnsw[kind]:
                    rows.append({"data": kind, "n": n, "method": method, "skipped":
                                 f"not built above {max_hnsw[kind]:,} (build time)"})
                    continue
                result = measure_method(method, x, queries, truth, method_settings(method, n))
                rows.append({"data": kind, "n": n, **result})
                print(f"  {kind:<15} n={n:<9,} {method:<6} build {result['build_s']:7.1f} s"
                      f"  chosen {result['chosen']}", flush=True)
            del x
            gc.collect()
    return rows


# ------------------------------------------------------------------------------ BM25
def corpus_sentences() -> list[str]:
    from rag.corpus.chunk import split_sentences
    from rag.corpus.ingest import load_corpus

    sources, _ = load_corpus(REPO / "corpus")
    return [s for src in sources for sec in src.sections for s in split_sentences(sec.text)]


def synthetic_documents(sentences: list[str], n: int, seed: int = 0) -> list[str]:
    """``n`` documents of 3-8 corpus sentences drawn at random (real vocabulary and
    term statistics, corpus-sized chunks)."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(3, 9, size=n)
    picks = rng.integers(0, len(sentences), size=int(lengths.sum()))
    docs, pos = [], 0
    for length in lengths:
        docs.append(" ".join(sentences[i] for i in picks[pos:pos + length]))
        pos += length
    return docs


def run_bm25(sizes: list[int], questions: list[str]) -> list[dict]:
    import bm25s

    from rag.search.index import bm25_tokenize

    sentences = corpus_sentences()
    rows = []
    for n in sizes:
        docs = synthetic_documents(sentences, n)
        gc.collect()
        before = rss_mb()
        tokens, tokenize_s = timed(bm25_tokenize, docs)
        retriever = bm25s.BM25()
        _, index_s = timed(retriever.index, tokens, show_progress=False)
        del tokens, docs
        gc.collect()
        memory = rss_mb() - before
        times = []
        for question in questions:  # exactly what Retriever.lexical does per query
            start = time.perf_counter()
            query = bm25_tokenize([question], return_ids=False)
            retriever.retrieve(query, k=30, show_progress=False, n_threads=1)
            times.append(time.perf_counter() - start)
        rows.append({"n": n, "tokenize_s": round(tokenize_s, 2), "index_s": round(index_s, 2),
                     "memory_mb": round(memory, 1), "queries": summary_ms(times)})
        print(f"  bm25 n={n:<9,} tokenize {tokenize_s:.1f} s, index {index_s:.1f} s, "
              f"p50 {rows[-1]['queries']['p50_ms']} ms", flush=True)
        del retriever
    return rows


# ------------------------------------------------------------------------ reporting
def best_at(rows: list[dict], n: int) -> dict | None:
    """The fastest (data, method, setting) at size ``n`` meeting the recall goal."""
    good = [(r, s) for r in rows if r["n"] == n and "sweep" in r for s in r["sweep"]
            if s["recall_at_10"] >= RECALL_GOAL]
    if not good:
        return None
    row, setting = min(good, key=lambda rs: rs[1]["p50_ms"])
    return {"data": row["data"], "method": row["method"], "params": setting["params"],
            "p50_ms": setting["p50_ms"], "recall_at_10": setting["recall_at_10"],
            "memory_mb": row["memory_mb"]}


def scale_targets(rows: list[dict], n: int) -> list[dict]:
    out = []
    for kind in sorted({r["data"] for r in rows}):
        best = best_at([r for r in rows if r["data"] == kind], n)
        p50 = best["p50_ms"] if best else None
        memory = best["memory_mb"] if best else None
        name = f"{kind} n={n:,}: p50 of the fastest index with recall@10 >= {RECALL_GOAL}"
        out.append(target(name, p50, 10.0, unit="ms") | {"best": best})
        out.append(target(f"{kind} n={n:,}: memory of that index", memory, 4096.0, unit="MiB"))
    return out


def report(result: dict) -> None:
    rows = []
    for r in result["vectors"]:
        if "skipped" in r:
            rows.append((r["data"], f"{r['n']:,}", r["method"], "–", "–", r["skipped"],
                         "–", "–"))
            continue
        c = r["chosen"]
        params = ", ".join(f"{k}={v}" for k, v in c["params"].items()) or "exact"
        rows.append((r["data"], f"{r['n']:,}", r["method"], r["build_s"], r["memory_mb"],
                     params, c["p50_ms"], c["recall_at_10"]))
    print(table("Vector indexes (chosen setting: fastest with recall@10 >= 0.95, else best "
                "recall)", ["data", "n", "index", "build s", "memory MiB", "setting",
                            "p50 ms", "recall@10"], rows))
    print(table("BM25 on real text (k=30, one thread)",
                ["n", "tokenize s", "index s", "memory MiB", "p50 ms", "p95 ms"],
                [(f"{b['n']:,}", b["tokenize_s"], b["index_s"], b["memory_mb"],
                  b["queries"]["p50_ms"], b["queries"]["p95_ms"]) for b in result["bm25"]]))
    print(targets_table(result["targets"]))


def plot(result: dict, path: Path) -> None:
    """Latency and recall against corpus size, one line per (data, index)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_lat, ax_rec) = plt.subplots(1, 2, figsize=(11, 4.2))
    styles = {"embedding-like": "-", "uniform": "--"}
    colors = {"flat": "tab:blue", "hnsw": "tab:orange", "ivfpq": "tab:green"}
    for kind in styles:
        for method in colors:
            pts = sorted((r["n"], r["chosen"]) for r in result["vectors"]
                         if r["data"] == kind and r["method"] == method and "chosen" in r)
            if not pts:
                continue
            ns = [n for n, _ in pts]
            label = f"{method} ({kind})"
            ax_lat.plot(ns, [c["p50_ms"] for _, c in pts], styles[kind], marker="o",
                        color=colors[method], label=label)
            ax_rec.plot(ns, [c["recall_at_10"] for _, c in pts], styles[kind], marker="o",
                        color=colors[method], label=label)
    bm25 = result["bm25"]
    ax_lat.plot([b["n"] for b in bm25], [b["queries"]["p50_ms"] for b in bm25], ":",
                marker="s", color="tab:red", label="BM25 (real text)")
    ax_lat.axhline(10, color="grey", lw=0.8)
    ax_lat.text(1.0, 10, " 10 ms target", va="bottom", ha="right", fontsize=7,
                color="grey", transform=ax_lat.get_yaxis_transform())
    ax_rec.axhline(RECALL_GOAL, color="grey", lw=0.8)
    for ax, ylabel in ((ax_lat, "query p50 (ms, one thread)"), (ax_rec, "recall@10")):
        ax.set_xscale("log")
        ax.set_xlabel("corpus size (vectors / documents)")
        ax.set_ylabel(ylabel)
        ax.grid(True, which="both", alpha=0.3)
    ax_lat.set_yscale("log")
    ax_rec.legend(fontsize=7, loc="lower left")
    ax_lat.legend(fontsize=7, loc="upper left")
    fig.suptitle("Vector search at scale (dim 384): fastest setting with recall@10 >= 0.95, "
                 "else best recall", fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(NAME, __doc__.splitlines()[0], argv, extra=[
        (("--max-hnsw",), {"type": int, "default": None,
                           "help": "largest corpus to build HNSW for (default: 1M for the "
                                   "embedding-like vectors, 100k for uniform ones)"}),
        (("--threads",), {"type": int, "default": None,
                          "help": "FAISS threads for building and batch search (default: "
                                  "all cores; 1 with --smoke); queries are timed on one"}),
        (("--no-plot",), {"action": "store_true", "help": "do not draw the PNG"}),
        (("--replot",), {"action": "store_true",
                         "help": "only redraw the PNG from the JSON result (--out)"})])
    if args.replot:
        plot(json.loads(args.out.read_text(encoding="utf-8")), PLOT)
        print(f"plot: {PLOT}")
        return 0
    started, before = time.perf_counter(), machine()
    # Idle OpenMP threads sleep instead of spinning (read when FAISS loads its OpenMP): on
    # a busy 2-core machine spinning threads made FAISS builds 20-100x slower (measured:
    # IVF-PQ training of 2k vectors 0.4 s vs 37 s).
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    import faiss

    threads = args.threads or (1 if args.smoke else os.cpu_count() or 1)
    faiss.omp_set_num_threads(threads)
    sizes = [2_000] if args.smoke else [10_000, 100_000, 1_000_000]
    max_hnsw = ({kind: args.max_hnsw for kind in HNSW_MAX} if args.max_hnsw is not None
                else HNSW_MAX)
    embedding_like = EmbeddingLike(real_vectors())
    generators = {"embedding-like": embedding_like, "uniform": uniform_vectors}
    print(f"embedding-like: effective dimension {embedding_like.effective_dim:.0f} of {DIM}")
    result: dict = {"threads": threads, "dim": DIM, "k": K, "queries": N_QUERIES,
                    "recall_goal": RECALL_GOAL,
                    "sizes": sizes, "max_hnsw": max_hnsw, "faiss": faiss.__version__,
                    "embedding_like_effective_dim": round(embedding_like.effective_dim, 1)}
    result["vectors"] = run_vectors(sizes, generators, max_hnsw)
    bm25_sizes = [2_000] if args.smoke else [10_000, 100_000]
    result["bm25"] = run_bm25(bm25_sizes, benchmark_questions(20 if args.smoke else None))
    result["targets"] = scale_targets(result["vectors"], sizes[-1])
    result["peak_rss_mb"] = round(peak_rss_mb(), 1)
    report(result)
    if not args.no_plot and not args.smoke:
        plot(result, PLOT)
        result["plot"] = str(PLOT.relative_to(REPO))
        print(f"plot: {PLOT}")
    write_result(NAME, args, result, started, before)
    return 0


if __name__ == "__main__":
    sys.exit(main())
