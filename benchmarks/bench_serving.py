"""Answers per second through the servers, measured with locust (loopback only).

    .venv/bin/python benchmarks/bench_serving.py [--smoke] [--seconds 20]

1. ``rag serve`` (the HTTP API alone): ``POST /api/ask`` with 1 and with 8 concurrent
   users, then ``POST /v1/chat/completions`` with 8;
2. ``app.py`` (the Gradio UI with the API mounted beside it): time from launch to its
   first answered request (app ready), then the chat tab's ``/ask`` event through
   Gradio's HTTP API with 1 and 8 users, and ``/api/ask`` with 8 users in that process;
   then the chat again with its paced reveal off (``RAG_APP__STREAM_DELAY_MS=0``).

Users have no think time (closed loop); each run is bounded (``--seconds``).  locust
runs on the same machine, so it takes CPU from the server: on 2 cores these are lower
bounds of what the server does alone.
"""

from __future__ import annotations

import sys
import time

from _common import machine, parse_args, ratio, table, target, targets_table, write_result
from servers import app_py, locust, rag_serve

NAME = "bench_serving"


def serve_runs(seconds: int, many: int) -> dict:
    with rag_serve() as server:
        return {"ready_s": server.ready_s,
                "api_1": locust(server.url, "ApiAskUser", 1, seconds, "/api/ask"),
                "api_n": locust(server.url, "ApiAskUser", many, seconds, "/api/ask"),
                "chat_n": locust(server.url, "ChatCompletionUser", many, seconds,
                                 "/v1/chat/completions")}


def app_runs(seconds: int, many: int) -> dict:
    with app_py() as app:
        result = {"ready_s": app.ready_s,
                  "gradio_1": locust(app.url, "GradioAskUser", 1, seconds, "gradio /ask"),
                  "gradio_n": locust(app.url, "GradioAskUser", many, seconds, "gradio /ask"),
                  "api_n": locust(app.url, "ApiAskUser", many, seconds, "/api/ask")}
    # the chat reveals an instant answer over a few paced updates (RAG_APP__STREAM_*);
    # without the pacing, what the update mechanics themselves cost
    with app_py(RAG_APP__STREAM_DELAY_MS="0") as app:
        result["unpaced_1"] = locust(app.url, "GradioAskUser", 1, seconds, "gradio /ask")
        result["unpaced_n"] = locust(app.url, "GradioAskUser", many, seconds, "gradio /ask")
    return result


def report(result: dict) -> None:
    rows = []
    for server, key, label in (("serve", "api_1", "rag serve: /api/ask"),
                               ("serve", "api_n", "rag serve: /api/ask"),
                               ("serve", "chat_n", "rag serve: /v1/chat/completions"),
                               ("app", "gradio_1", "app.py: Gradio /ask"),
                               ("app", "gradio_n", "app.py: Gradio /ask"),
                               ("app", "api_n", "app.py: /api/ask"),
                               ("app", "unpaced_1", "app.py: Gradio /ask, no pacing"),
                               ("app", "unpaced_n", "app.py: Gradio /ask, no pacing")):
        r = result[server][key]
        rows.append((label, r["users"], r["requests"], r["failures"], r["answers_per_s"],
                     r["p50_ms"], r["p95_ms"]))
    print(table("Throughput (locust, closed loop)",
                ["route", "users", "requests", "failures", "answers/s", "p50 ms", "p95 ms"],
                rows))
    print(f"\napp ready {result['app']['ready_s']} s after launch; "
          f"rag serve ready {result['serve']['ready_s']} s")
    print(targets_table(result["targets"]))


def targets(result: dict, many: int) -> list[dict]:
    serve, app = result["serve"], result["app"]
    return [
        target(f"/api/ask answers/s, {many} users (rag serve)",
               serve["api_n"]["answers_per_s"], 25.0, higher_is_better=True),
        target("/api/ask p50, one user (rag serve)", serve["api_1"]["p50_ms"], 50.0,
               unit="ms"),
        target(f"Gradio /ask answers/s, {many} users", app["gradio_n"]["answers_per_s"], 10.0,
               higher_is_better=True),
        target("app.py ready after launch", app["ready_s"], 5.0, unit="s"),
        target("failed requests", sum(r["failures"] for part in (serve, app)
                                      for r in part.values() if isinstance(r, dict)), 0),
    ]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(NAME, __doc__.splitlines()[0], argv, extra=[
        (("--seconds",), {"type": int, "default": 20, "help": "length of each locust run"}),
        (("--users",), {"type": int, "default": 8, "help": "concurrent users"})])
    started, before = time.perf_counter(), machine()
    seconds, many = (3, 2) if args.smoke else (args.seconds, args.users)
    result: dict = {"seconds_per_run": seconds, "users": many,
                    "serve": serve_runs(seconds, many), "app": app_runs(seconds, many)}
    result["gradio_over_api_p50"] = ratio(result["app"]["unpaced_1"]["p50_ms"],
                                          result["serve"]["api_1"]["p50_ms"])
    result["targets"] = targets(result, many)
    report(result)
    write_result(NAME, args, result, started, before)
    return 0


if __name__ == "__main__":
    sys.exit(main())
