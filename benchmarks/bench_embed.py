"""Query embedding runtimes side by side: why ONNX Runtime encodes queries, PyTorch batches.

    .venv/bin/python benchmarks/bench_embed.py [--smoke]

One run, the same questions, variants interleaved question by question (so machine
load hits them alike):

* ``torch``: sentence-transformers, as before issue 15 (its default threads, and 1);
* ``onnx padded 128``: ONNX Runtime fed by the packaged ``tokenizer.json`` as shipped, which
  pads every input to 128 tokens (the 2x-slower first trial of the issue);
* ``onnx``: ONNX Runtime unpadded, 1 thread (what ships), and with 2 threads, and with
  spinning worker threads.

Then batches as the build encodes them (passages, 16 at a time, padded per batch), torch
against ONNX Runtime, and the export itself: time, session load time, agreement with
PyTorch (minimum cosine over the questions).
"""

from __future__ import annotations

import statistics
import sys
import time

import numpy as np
from _common import (
    benchmark_questions,
    machine,
    parse_args,
    summary_ms,
    table,
    target,
    targets_table,
    write_result,
)

NAME = "bench_embed"


def _session(path, threads: int, spin: bool):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spin else "0")
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def _onnx_fn(session, tokenizer):
    def encode(text: str) -> np.ndarray:
        enc = tokenizer.encode(text)
        ids = np.array([enc.ids], dtype=np.int64)
        mask = np.array([enc.attention_mask], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        return session.run(None, feeds)[0][0]
    return encode


def variants(embedder) -> dict:
    """name -> encode(text) for every runtime configuration compared."""
    import torch
    from tokenizers import Tokenizer

    from rag.search.embed import load_tokenizer

    path = embedder.ensure_export(quiet=True)
    model = embedder.torch_model
    default_threads = torch.get_num_threads()

    def torch_fn(threads: int):
        def encode(text: str) -> np.ndarray:
            torch.set_num_threads(threads)
            return model.encode([text], normalize_embeddings=True, convert_to_numpy=True,
                                show_progress_bar=False)[0]
        return encode

    unpadded = load_tokenizer(embedder.path, embedder.settings.max_seq_tokens, pad=False)
    shipped = Tokenizer.from_file(str(embedder.path / "tokenizer.json"))  # pads to 128
    one = _session(path, 1, spin=False)
    return {
        f"torch ({default_threads} threads, before issue 15)": torch_fn(default_threads),
        "torch (1 thread)": torch_fn(1),
        "onnx padded 128 (tokenizer.json as shipped)": _onnx_fn(one, shipped),
        "onnx unpadded, 1 thread (ships)": _onnx_fn(one, unpadded),
        "onnx unpadded, 2 threads": _onnx_fn(_session(path, 2, spin=False), unpadded),
        "onnx unpadded, 1 thread, spinning": _onnx_fn(_session(path, 1, spin=True), unpadded),
    }


def interleaved(fns: dict, questions: list[str], warmup: int) -> tuple[dict, float]:
    """p50/p95 per variant, each question through every variant in turn; and the minimum
    cosine of the shipped ONNX configuration against torch."""
    for fn in fns.values():
        for question in questions[:warmup]:
            fn(question)
    times: dict[str, list[float]] = {name: [] for name in fns}
    cosines = []
    names = list(fns)
    for question in questions:
        vectors = {}
        for name in names:
            start = time.perf_counter()
            vectors[name] = fns[name](question)
            times[name].append(time.perf_counter() - start)
        cosines.append(float(vectors[names[0]] @ vectors["onnx unpadded, 1 thread (ships)"]))
    return {name: summary_ms(t) for name, t in times.items()}, min(cosines)


def batches(embedder, texts: list[str], rounds: int) -> dict:
    """Seconds to encode ``texts`` as the build does, torch vs ONNX Runtime (2 threads)."""
    from rag.search.embed import OnnxEncoder

    onnx = OnnxEncoder(embedder.onnx_file(), embedder.path, embedder.settings.max_seq_tokens,
                       threads=2)
    out: dict[str, list[float]] = {"torch": [], "onnx": []}
    for _ in range(rounds):
        start = time.perf_counter()
        embedder._encode_torch(texts, False, "")
        out["torch"].append(time.perf_counter() - start)
        start = time.perf_counter()
        onnx.encode(texts, embedder.settings.batch_size)
        out["onnx"].append(time.perf_counter() - start)
    return {"texts": len(texts), "rounds": rounds,
            **{k: round(statistics.median(v), 3) for k, v in out.items()}}


def export_cost(embedder) -> dict:
    import json

    from rag.search.embed import OnnxEncoder

    info = json.loads((embedder.onnx_file().parent / "export.json").read_text())
    loads = []
    for _ in range(3):
        start = time.perf_counter()
        OnnxEncoder(embedder.onnx_file(), embedder.path, embedder.settings.max_seq_tokens, 1)
        loads.append(time.perf_counter() - start)
    return {"export_s": info["seconds"], "min_cosine_at_export": info["min_cosine_vs_torch"],
            "session_load_s": round(statistics.median(loads), 3), "bytes": info["bytes"]}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(NAME, __doc__.splitlines()[0], argv)
    started, before = time.perf_counter(), machine()
    from rag.search.embed import Embedder
    from rag.search.index import load_index
    from rag.settings import load_settings

    settings = load_settings()
    embedder = Embedder(settings.resolved_embedding())
    questions = benchmark_questions(6 if args.smoke else None)
    fns = variants(embedder)
    stats, min_cos = interleaved(fns, questions, warmup=1 if args.smoke else 5)
    passages = [c.embed_text for c in load_index(settings).chunks][: 32 if args.smoke else 160]
    result = {"questions": len(questions), "queries": stats, "min_cosine_onnx_vs_torch":
              round(min_cos, 7), "batches": batches(embedder, passages, 1 if args.smoke else 2),
              "export": export_cost(embedder)}
    shipped = stats["onnx unpadded, 1 thread (ships)"]["p50_ms"]
    before_p50 = stats[next(iter(stats))]["p50_ms"]
    result["targets"] = [
        target("query embedding p50, ONNX Runtime as shipped", shipped, 8.0, unit="ms"),
        target("ONNX p50 / torch p50 (no slower than before)", round(shipped / before_p50, 3),
               1.0, unit="x"),
        target("min cosine ONNX vs torch over the questions", round(min_cos, 7), 0.9999,
               higher_is_better=True)]
    print(table("Query embedding, one at a time (ms)", ["variant", "p50", "p95", "n"],
                [(k, v["p50_ms"], v["p95_ms"], v["n"]) for k, v in stats.items()]))
    b = result["batches"]
    print(table("Build-style batches (s)", ["texts", "torch", "onnx"],
                [(b["texts"], b["torch"], b["onnx"])]))
    print(targets_table(result["targets"]))
    write_result(NAME, args, result, started, before)
    return 0


if __name__ == "__main__":
    sys.exit(main())
