"""Load: 8 concurrent users x 25 questions against ``app.py``, driven by locust.

The server is the real ``app.py`` in a subprocess on 127.0.0.1 (with a login, as
the ``locked_app`` fixture starts it).  Each question is first answered once by
one client; under load every answer must be that same answer to that same
question (the extractive backend is deterministic), so an answer delivered to
the wrong session, or mixed with another, is caught.  locust (headless, loopback,
bounded users and time; ``tests/locust_checked.py``) logs in through the app's login
page and asks through Gradio's HTTP API, checking every answer.  Latency p50/p95 and
the server's resident memory are printed (``pytest -s``) and recorded as properties.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from conftest import APP_LOGIN

from rag.settings import REPO_ROOT

pytestmark = pytest.mark.app

CLIENTS = 8
QUESTIONS = 25
MAX_RSS_GROWTH_MB = 300  # the queue runs settings.app.concurrency requests at a time
MAX_SECONDS = 240  # bound of the locust run (all users stop after their questions)
LOCUSTFILE = Path(__file__).with_name("locust_checked.py")


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


def _locust(url: str, expected: dict[str, str], tmp_path: Path) -> tuple[dict, str]:
    """Run ``CLIENTS`` checked users (``QUESTIONS`` each); the stats of their answers."""
    sys.path.insert(0, str(REPO_ROOT / "benchmarks"))
    try:
        from servers import locust_stats
    finally:
        sys.path.remove(str(REPO_ROOT / "benchmarks"))
    (tmp_path / "expected.json").write_text(json.dumps(expected), encoding="utf-8")
    env = {**os.environ, "RAG_LOAD_EXPECTED": str(tmp_path / "expected.json"),
           "RAG_LOAD_LOGIN": ":".join(APP_LOGIN), "RAG_LOAD_PER_USER": str(QUESTIONS)}
    cmd = [str(Path(sys.executable).parent / "locust"), "-f", str(LOCUSTFILE), "--headless",
           "-u", str(CLIENTS), "-r", str(CLIENTS), "-t", f"{MAX_SECONDS}s", "--host", url,
           "--json-file", str(tmp_path / "stats"), "--csv", str(tmp_path / "run"),
           "--stop-timeout", "10", "--loglevel", "WARNING", "CheckedGradioUser"]
    proc = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=MAX_SECONDS + 120)
    failures = (tmp_path / "run_failures.csv").read_text(encoding="utf-8")
    stats = locust_stats(tmp_path / "stats.json", "checked /ask") or {}
    return stats, proc.stderr[-3000:] + failures[-3000:]


def test_concurrent_clients_get_their_own_answers(locked_app, record_property, tmp_path):
    questions = _questions()
    assert len(set(questions)) == QUESTIONS
    warm = _client(locked_app.url)
    expected = {q: _ask(warm, q)[1] for q in questions}  # sequential reference answers
    assert len(set(expected.values())) >= QUESTIONS - 3  # answers tell questions apart
    rss_before, cpu_before = locked_app.rss_mb(), locked_app.cpu_seconds()
    sampler = RssSampler(locked_app)
    sampler.start()
    start = time.perf_counter()
    stats, log = _locust(locked_app.url, expected, tmp_path)
    wall = time.perf_counter() - start
    cpu = locked_app.cpu_seconds() - cpu_before
    sampler.done.set()
    sampler.join()

    assert stats, log
    assert stats["requests"] == CLIENTS * QUESTIONS, log
    assert stats["failures"] == 0, log  # wrong, mixed or missing answers
    p50, p95 = stats["p50_ms"] / 1000, stats["p95_ms"] / 1000
    growth = max(sampler.samples) - rss_before
    report = (f"{CLIENTS}x{QUESTIONS} requests in {wall:.1f} s (server CPU {cpu:.1f} s, "
              f"{stats['answers_per_s']:.1f} answers/s): p50 {p50:.2f} s, "
              f"p95 {p95:.2f} s; server RSS {rss_before:.0f} MiB before, peak "
              f"{max(sampler.samples):.0f} MiB (+{growth:.0f}), after {locked_app.rss_mb():.0f}")
    print("\n" + report)
    for name, value in (("p50_s", p50), ("p95_s", p95), ("wall_s", wall), ("cpu_s", cpu),
                        ("rss_growth_mib", growth)):
        record_property(name, round(value, 3))
    assert growth < MAX_RSS_GROWTH_MB, report
