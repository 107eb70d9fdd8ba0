"""Sections of ``docs/benchmarks.md`` for the speed work of issue 15: query embedding
runtimes (``bench_embed``), cold start (``bench_cold``) and serving (``bench_serving``).
``report.py`` assembles the page."""

from __future__ import annotations

from _common import table


def md_table(headers: list[str], rows: list) -> str:
    return table("", headers, rows).strip("\n")


def _load(r: dict) -> str:
    return (f"load average {r['machine']['loadavg'][0]} at start, {r['loadavg_end'][0]} "
            f"at end ({r['machine']['cores']} cores)")


def embed_section(r: dict | None) -> str:
    if not r:
        return "## Query embedding runtimes\n\nNot run yet: `.venv/bin/python " \
               "benchmarks/bench_embed.py`."
    q, b, e = r["queries"], r["batches"], r["export"]
    rows = [(name, v["p50_ms"], v["p95_ms"], v["n"]) for name, v in q.items()]
    return "\n".join([
        "## Query embedding runtimes (`bench_embed.py`)", "",
        f"{r['questions']} questions, one at a time, every variant in turn per question "
        f"(one run; {_load(r)}):", "",
        md_table(["variant", "p50 ms", "p95 ms", "n"], rows), "",
        "Why the issue's first ONNX trial ran 2x *slower* than PyTorch: the packaged "
        "`tokenizer.json` pads every input to 128 tokens (and truncates at 128, not the "
        "model's 256), so a ~12-token query costs ~10x the work (the `padded 128` row).  "
        "Unpadded, ONNX Runtime is as fast as or faster than PyTorch on one thread and about "
        "2x faster than PyTorch as it ran before (its default threads); a second ORT thread "
        "or spinning worker threads gave nothing measurable here and take CPU that "
        "concurrent requests (and other processes) need, so it ships with one thread, no "
        "spinning.  ORT's BERT fusions (attention, layer norm) did not change the "
        "single-query time when tried.  The larger gain is the start: no torch import.", "",
        f"Build-style batches ({b['texts']} passages, 16 per batch, padded per batch): "
        f"PyTorch {b['torch']} s, ONNX Runtime {b['onnx']} s, so the build keeps PyTorch.  "
        f"Export: {e['export_s']} s once (`torch.onnx.export`, verified against PyTorch: "
        f"min cosine {e['min_cosine_at_export']}); loading the session "
        f"{e['session_load_s']} s; over the questions ONNX vs PyTorch min cosine "
        f"{r['min_cosine_onnx_vs_torch']}.",
    ])


def cold_section(r: dict | None) -> str:
    if not r:
        return "## Cold start\n\nNot run yet: `.venv/bin/python benchmarks/bench_cold.py`."
    rows = [(label, round(r[k]["p50_ms"] / 1000, 2), round(r[k]["p95_ms"] / 1000, 2),
             r[k]["n"]) for label, k in (
        (f"before issue 15 (`{r.get('baseline_ref')}`)", "before"),
        ("now, in-process (`--local`)", "now_local"),
        ("now, through a running `rag serve`", "now_server"),
        ("`python -c 'import rag'`", "import_rag")) if k in r]
    return "\n".join([
        "## Cold start (`bench_cold.py`)", "",
        f"`rag ask --json \"{r['question']}\"`, spawn to printed answer, {r['runs']} runs of "
        f"each, interleaved (one run; {_load(r)}):", "",
        md_table(["path", "p50 s", "p95 s", "n"], rows), "",
        f"In-process now is **{r.get('speedup_local')} x** faster than before, through "
        f"`rag serve` **{r.get('speedup_server')} x**; the answers are "
        + ("identical.  " if r.get("same_answer_as_before") else
           "not identical (answer composition changed since that commit, issue 12).  ") +
        "Before, every start imported torch and sentence-transformers (and llama-index for "
        "loading FAISS); now the query is embedded by ONNX Runtime and the index is read "
        "with faiss and bm25s directly.  `rag serve` was ready "
        f"{r['serve_ready_s']} s after launch.",
    ])


def serving_section(r: dict | None) -> str:
    if not r:
        return "## Serving\n\nNot run yet: `.venv/bin/python benchmarks/bench_serving.py`."
    rows = []
    for server, key, label in (("serve", "api_1", "`rag serve`: `POST /api/ask`"),
                               ("serve", "api_n", "`rag serve`: `POST /api/ask`"),
                               ("serve", "chat_n", "`rag serve`: `/v1/chat/completions`"),
                               ("app", "gradio_1", "`app.py`: Gradio chat `/ask`"),
                               ("app", "gradio_n", "`app.py`: Gradio chat `/ask`"),
                               ("app", "api_n", "`app.py`: `POST /api/ask`"),
                               ("app", "unpaced_1", "`app.py`: chat, reveal not paced"),
                               ("app", "unpaced_n", "`app.py`: chat, reveal not paced")):
        x = r[server].get(key)
        if x:
            rows.append((label, x["users"], x["requests"], x["failures"],
                         x["answers_per_s"], x["p50_ms"], x["p95_ms"]))
    return "\n".join([
        "## Serving (`bench_serving.py`, locust)", "",
        f"locust headless on loopback, closed loop (no think time), {r['seconds_per_run']} s "
        f"per run; locust runs on the same cores as the server ({_load(r)}):", "",
        md_table(["route", "users", "requests", "failures", "answers/s", "p50 ms",
                  "p95 ms"], rows), "",
        f"`app.py` (UI and API in one process) was ready {r['app']['ready_s']} s after "
        "launch.  The chat reveals an answer that is ready at once over at most "
        "`RAG_APP__STREAM_MAX_MS` (400 ms) in a few updates, so that it still reads as it "
        "streams (issue 12's look): that deliberate reveal is most of the one-user p50; "
        f"without it a Gradio answer costs {r['gradio_over_api_p50']} x an `/api/ask` "
        "answer (p50, one user).  Because a paced answer mostly waits, the queue runs 4 "
        "answers per core (`RAG_APP__CONCURRENCY`; measured once with 8 users at load ~8.5: 2 "
        "gave 4.5 answers/s, 8 gave 12).", "",
        "Where the Gradio route's time went before (py-spy on the app under 4 users): "
        "~75% in Gradio's `postprocess_data`, not in answering.  The chat streamed one "
        "update per word and passed `gr.skip()` for the three panels it did not change; "
        "Gradio 6 builds a new component instance and re-renders its config for every "
        "skipped output of every update.  Now streamed words are merged into one update "
        "per 50 ms (`RAG_APP__STREAM_INTERVAL_MS`; an extractive answer: at most 8 paced "
        "updates, or 2 without pacing, instead of ~80), the last one folded into the final "
        "update, unchanged panels are re-sent as values, and the empty evidence panel is "
        "rendered once.  The API's own server (a socket bound before "
        "loading) lacked `TCP_NODELAY`: each response waited ~40 ms for the client's "
        "delayed ACK; set now (0.4 ms).",
    ])
