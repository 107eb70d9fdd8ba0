"""Load: 8 concurrent ``gradio_client`` clients x 25 questions against ``app.py``.

The server is the real ``app.py`` in a subprocess on 127.0.0.1 (with a login, as
the ``locked_app`` fixture starts it).  Each question is first answered once by
one client; under load every answer must be that same answer to that same
question (the extractive backend is deterministic), so an answer delivered to
the wrong session, or mixed with another, is caught.  Latency p50/p95 and the
server's resident memory are printed (``pytest -s``) and recorded as properties.
"""

from __future__ import annotations

import json
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from conftest import APP_LOGIN

from rag.settings import REPO_ROOT

pytestmark = pytest.mark.app

CLIENTS = 8
QUESTIONS = 25
MAX_RSS_GROWTH_MB = 300  # the queue runs settings.app.concurrency requests at a time


def _questions() -> list[str]:
    rows = [json.loads(line) for line in
            (REPO_ROOT / "evals" / "dataset.jsonl").read_text(encoding="utf-8").splitlines()]
    picked = [r["question"] for r in rows if r["kind"] in ("single", "comparison")]
    step = len(picked) // QUESTIONS
    return picked[::step][:QUESTIONS]


def _text(message: dict) -> str:
    content = message["content"]
    if isinstance(content, str):
        return content
    return "".join(part.get("text", "") for part in content if isinstance(part, dict))


def _ask(client, question: str) -> tuple[str, str, float]:
    """(user message echoed, answer text, seconds) for one /ask call in a new chat.

    The conversation is the chat history the client sends; an empty history is a
    fresh conversation (no follow-up rewriting), so the same question must get the
    same answer."""
    start = time.perf_counter()
    chat, *_ = client.predict(question, [], 5, "extractive", True, api_name="/ask")
    elapsed = time.perf_counter() - start
    assert [m["role"] for m in chat] == ["user", "assistant"], chat
    return _text(chat[0]), _text(chat[1]), elapsed


class RssSampler(threading.Thread):
    """Samples the server's RSS every ``every`` seconds until stopped."""

    def __init__(self, app, every: float = 0.25):
        super().__init__(daemon=True)
        self.app, self.every, self.samples = app, every, []
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            self.samples.append(self.app.rss_mb())
            self.done.wait(self.every)


def _client(url: str):
    from gradio_client import Client

    return Client(url, auth=APP_LOGIN, verbose=False)


def _session(url: str, order: list[str]) -> list[tuple[str, str, str, float]]:
    """One client asking every question of ``order`` in turn."""
    client = _client(url)
    out = []
    for question in order:
        try:
            out.append((question, *_ask(client, question)))
        except Exception as exc:  # noqa: BLE001 - counted as an error below
            out.append((question, "", f"ERROR {type(exc).__name__}: {exc}", -1.0))
    return out


def test_concurrent_clients_get_their_own_answers(locked_app, record_property):
    questions = _questions()
    assert len(set(questions)) == QUESTIONS
    warm = _client(locked_app.url)
    expected = {q: _ask(warm, q)[1] for q in questions}  # sequential reference answers
    assert len(set(expected.values())) >= QUESTIONS - 3  # answers tell questions apart
    rss_before, cpu_before = locked_app.rss_mb(), locked_app.cpu_seconds()
    sampler = RssSampler(locked_app)
    sampler.start()
    orders = [questions[3 * i:] + questions[:3 * i] for i in range(CLIENTS)]
    start = time.perf_counter()
    with ThreadPoolExecutor(CLIENTS) as pool:
        results = [r for rows in pool.map(lambda o: _session(locked_app.url, o), orders)
                   for r in rows]
    wall = time.perf_counter() - start
    cpu = locked_app.cpu_seconds() - cpu_before
    sampler.done.set()
    sampler.join()

    errors = [r for r in results if r[3] < 0]
    assert not errors, errors[:3]
    assert len(results) == CLIENTS * QUESTIONS
    wrong = [(q, echo, answer[:400], expected[q][:400]) for q, echo, answer, _ in results
             if echo != q or answer != expected[q]]
    assert not wrong, f"{len(wrong)} answers differ, e.g. {wrong[:2]}"

    times = sorted(r[3] for r in results)
    p50 = statistics.median(times)
    p95 = times[int(0.95 * (len(times) - 1))]
    growth = max(sampler.samples) - rss_before
    report = (f"{CLIENTS}x{QUESTIONS} requests in {wall:.1f} s (server CPU {cpu:.1f} s): "
              f"p50 {p50:.2f} s, "
              f"p95 {p95:.2f} s; server RSS {rss_before:.0f} MiB before, peak "
              f"{max(sampler.samples):.0f} MiB (+{growth:.0f}), after {locked_app.rss_mb():.0f}")
    print("\n" + report)
    for name, value in (("p50_s", p50), ("p95_s", p95), ("wall_s", wall), ("cpu_s", cpu),
                        ("rss_growth_mib", growth)):
        record_property(name, round(value, 3))
    assert growth < MAX_RSS_GROWTH_MB, report
