"""Locust user for ``tests/test_load.py``: the chat's ``/ask`` through Gradio's HTTP API,
logged in, every answer checked against the one asked alone.

Environment: ``RAG_LOAD_EXPECTED`` (JSON file: question -> expected answer text, in the
order to ask), ``RAG_LOAD_LOGIN`` ("user:password"), ``RAG_LOAD_PER_USER`` (questions per
user).  User ``i`` starts at question ``3 i`` and stops after its questions.  A request
fails when the answer is missing, is not the expected one, or echoes another question.
"""

from __future__ import annotations

import itertools
import json
import os
import time

from locust import FastHttpUser, constant, task
from locust.exception import StopUser

EXPECTED: dict[str, str] = json.loads(open(os.environ["RAG_LOAD_EXPECTED"]).read())
QUESTIONS = list(EXPECTED)
PER_USER = int(os.environ.get("RAG_LOAD_PER_USER", len(QUESTIONS)))
_STARTS = itertools.count(0, 3)
_FINISHED: list = []


def _text(message: dict) -> str:
    content = message["content"]
    if isinstance(content, str):
        return content
    return "".join(part.get("text", "") for part in content if isinstance(part, dict))


def final_chat(stream: str) -> list | None:
    """The chat of the stream's ``complete`` event (None when there is none)."""
    event = None
    for line in stream.splitlines():
        if line.startswith("event:"):
            event = line.split(":", 1)[1].strip()
        elif line.startswith("data:") and event == "complete":
            return json.loads(line[5:])[0]
    return None


class CheckedGradioUser(FastHttpUser):
    wait_time = constant(0)

    def on_start(self) -> None:
        user, _, password = os.environ["RAG_LOAD_LOGIN"].partition(":")
        resp = self.client.post("/login", data={"username": user, "password": password},
                                name="login")
        if resp.status_code != 200:
            raise StopUser()
        start = next(_STARTS)
        self.todo = (QUESTIONS[start:] + QUESTIONS[:start])[:PER_USER]

    @task
    def ask(self) -> None:
        if not self.todo:
            _FINISHED.append(self)
            if len(_FINISHED) >= self.environment.parsed_options.num_users:
                self.environment.runner.quit()  # all done: end the run now
            raise StopUser()
        question = self.todo.pop(0)
        start = time.perf_counter()
        error = self._ask(question)
        self.environment.events.request.fire(
            request_type="GRADIO", name="checked /ask", response_length=0, context={},
            response_time=(time.perf_counter() - start) * 1000, exception=error)

    def _ask(self, question: str) -> Exception | None:
        join = self.client.post("/gradio_api/call/ask", name="join",
                                json={"data": [question, [], 5, "extractive", True]})
        if join.status_code != 200:
            return RuntimeError(f"join: HTTP {join.status_code}")
        stream = self.client.get(f"/gradio_api/call/ask/{join.json()['event_id']}",
                                 name="stream")
        chat = final_chat(stream.text or "")
        if not chat or [m["role"] for m in chat] != ["user", "assistant"]:
            return RuntimeError(f"no answer: {(stream.text or '')[-300:]}")
        if _text(chat[0]) != question:
            return RuntimeError(f"asked {question!r}, echoed {_text(chat[0])!r}")
        if _text(chat[1]) != EXPECTED[question]:
            return RuntimeError(f"wrong answer to {question!r}: {_text(chat[1])[:200]!r}")
        return None
