"""Locust users for ``bench_serving.py`` (and by hand): loopback load on the answer routes.

    .venv/bin/locust -f benchmarks/locustfile.py --headless -u 8 -r 8 -t 20s \\
        --host http://127.0.0.1:8000 ApiAskUser

* ``ApiAskUser``: ``POST /api/ask`` (one request per answer);
* ``ChatCompletionUser``: ``POST /v1/chat/completions`` (non-streamed);
* ``GradioAskUser``: the chat UI's ``/ask`` event through Gradio's HTTP API (``POST
  /gradio_api/call/ask`` then the event's server-sent stream until ``complete``), timed
  as one request named ``gradio /ask``: what a browser waits for, minus rendering.

Every user asks the benchmark questions (the evaluation set and our own) in turn,
starting at a different one, with no think time (closed loop: throughput is what
the server sustains).  A request fails when the answer is missing or malformed.
``RAG_API_KEY`` in the environment is sent as the bearer token.
"""

from __future__ import annotations

import itertools
import json
import os
import time
from pathlib import Path

from locust import FastHttpUser, constant, task

REPO = Path(__file__).resolve().parents[1]


def _questions() -> list[str]:
    rows = []
    for name in ("evals/dataset.jsonl", "tests/data/own_questions.jsonl"):
        rows += [json.loads(line)["question"] for line in
                 (REPO / name).read_text(encoding="utf-8").splitlines() if line.strip()]
    return rows


QUESTIONS = _questions()
_START = itertools.count(0, 7)
_HEADERS = {"Content-Type": "application/json"}
if os.environ.get("RAG_API_KEY"):
    _HEADERS["Authorization"] = f"Bearer {os.environ['RAG_API_KEY']}"


class _Asking(FastHttpUser):
    abstract = True
    wait_time = constant(0)

    def on_start(self) -> None:
        start = next(_START)
        self.order = itertools.cycle(QUESTIONS[start:] + QUESTIONS[:start])


class ApiAskUser(_Asking):
    @task
    def ask(self) -> None:
        body = {"question": next(self.order), "k": 5}
        with self.client.post("/api/ask", json=body, headers=_HEADERS, name="/api/ask",
                              catch_response=True) as resp:
            if resp.status_code != 200 or "answer" not in (resp.json() or {}):
                resp.failure(f"HTTP {resp.status_code}: {resp.text[:200]}")


class ChatCompletionUser(_Asking):
    @task
    def chat(self) -> None:
        body = {"model": "rag-interview-prep",
                "messages": [{"role": "user", "content": next(self.order)}]}
        with self.client.post("/v1/chat/completions", json=body, headers=_HEADERS,
                              name="/v1/chat/completions", catch_response=True) as resp:
            if resp.status_code != 200 or not resp.json().get("choices"):
                resp.failure(f"HTTP {resp.status_code}: {resp.text[:200]}")


class GradioAskUser(_Asking):
    """The chat tab's ``ask`` event: question, empty chat, k=5, extractive, show uncited."""

    @task
    def ask(self) -> None:
        start = time.perf_counter()
        error, size = self._ask(next(self.order))
        self.environment.events.request.fire(
            request_type="GRADIO", name="gradio /ask", response_length=size,
            response_time=(time.perf_counter() - start) * 1000, exception=error,
            context={})

    def _ask(self, question: str) -> tuple[Exception | None, int]:
        data = {"data": [question, [], 5, "extractive", True]}
        with self.client.post("/gradio_api/call/ask", json=data, catch_response=True,
                              name="gradio join") as resp:
            resp.request_meta["name"] = "gradio join"
            if resp.status_code != 200:
                resp.failure(f"HTTP {resp.status_code}")
                return RuntimeError(f"join: HTTP {resp.status_code}"), 0
            event_id = resp.json()["event_id"]
            resp.success()
        with self.client.get(f"/gradio_api/call/ask/{event_id}", name="gradio stream",
                             catch_response=True) as resp:
            text = resp.text or ""
            resp.success()
        return _complete_answer(text), len(text)


def _complete_answer(stream: str) -> Exception | None:
    """None when the server-sent stream ends with a ``complete`` event holding a chat
    whose last message is the assistant's answer."""
    event = None
    for line in stream.splitlines():
        if line.startswith("event:"):
            event = line.split(":", 1)[1].strip()
        elif line.startswith("data:") and event == "complete":
            chat = json.loads(line[5:])[0]
            if chat and chat[-1].get("role") == "assistant":
                return None
            return RuntimeError(f"no answer in {line[:200]}")
        elif event == "error":
            return RuntimeError(f"error event: {line[:200]}")
    return RuntimeError(f"stream ended without an answer: {stream[-200:]}")
