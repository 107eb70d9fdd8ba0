"""Start the project's servers for benchmarks and drive them with locust (loopback only).

``Server`` runs ``rag serve`` or ``app.py`` on a free loopback port and records how long
it took to answer; ``locust`` runs a user class of ``locustfile.py`` headless for a
bounded time and number of users and returns its stats for the named request.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from _common import REPO, subprocess_env

LOCUSTFILE = Path(__file__).with_name("locustfile.py")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """``cmd`` (with ``{port}``) started in its own session; ``ready_s`` = spawn -> first
    200 from ``ready_path``."""

    def __init__(self, cmd: list[str], ready_path: str, env: dict | None = None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.cmd = [part.format(port=self.port) for part in cmd]
        self.ready_path = ready_path
        self.env = env or subprocess_env(PYTHONPATH=str(REPO))
        self.log = tempfile.TemporaryFile("w+")
        self.proc: subprocess.Popen | None = None
        self.ready_s = 0.0

    def __enter__(self) -> Server:
        start = time.perf_counter()
        self.proc = subprocess.Popen(self.cmd, cwd=REPO, stdout=self.log,
                                     stderr=subprocess.STDOUT, env=self.env,
                                     start_new_session=True)
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.cmd[:3]} exited {self.proc.returncode}: "
                                   f"{self.output()[-1500:]}")
            try:
                with urllib.request.urlopen(self.url + self.ready_path, timeout=2):
                    self.ready_s = round(time.perf_counter() - start, 2)
                    return self
            except (OSError, urllib.error.HTTPError):
                time.sleep(0.05)
        raise RuntimeError(f"{self.cmd[:3]} did not answer within 600 s")

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read()

    def __exit__(self, *exc) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.log.close()


def rag_serve() -> Server:
    return Server([sys.executable, "-m", "rag.cli", "serve", "--port", "{port}"],
                  "/api/health")


def app_py(**env: str) -> Server:
    return Server([sys.executable, "app.py", "--host", "127.0.0.1", "--port", "{port}"],
                  "/config", env=subprocess_env(PYTHONPATH=str(REPO), **env))


def locust(url: str, user_class: str, users: int, seconds: int, name: str) -> dict:
    """Headless locust: ``users`` users (all started at once) for ``seconds``; the stats
    of request ``name`` (answers/s, latency percentiles, failures)."""
    with tempfile.TemporaryDirectory(prefix="rag-locust-") as tmp:
        report = Path(tmp) / "stats"
        cmd = [str(Path(sys.executable).parent / "locust"), "-f", str(LOCUSTFILE),
               "--headless", "-u", str(users), "-r", str(users), "-t", f"{seconds}s",
               "--host", url, "--json-file", str(report), "--stop-timeout", "10",
               "--loglevel", "WARNING", user_class]
        proc = subprocess.run(cmd, cwd=tmp, capture_output=True, text=True,
                              timeout=seconds + 120, env=subprocess_env())
        stats = locust_stats(report.with_suffix(".json"), name)
        if stats is None:
            raise RuntimeError(f"locust gave no {name!r} stats: {proc.stderr[-1500:]}")
    return {"users": users, "seconds": seconds, **stats}


def locust_stats(path: Path, name: str) -> dict | None:
    """Requests, failures, answers/s and p50/p95/mean (ms) of request ``name`` from the
    final stats locust writes with ``--json-file`` (None when it has no such request)."""
    if not path.is_file():
        return None
    entry = next((e for e in json.loads(path.read_text()) if e["name"] == name), None)
    if entry is None or not entry["num_requests"]:
        return None
    n = entry["num_requests"]
    span = max(entry["last_request_timestamp"] - entry["start_time"], 1e-9)
    times = sorted((float(ms), count) for ms, count in entry["response_times"].items())
    return {"requests": n, "failures": entry["num_failures"],
            "answers_per_s": round(n / span, 2), "p50_ms": _percentile(times, n, 0.5),
            "p95_ms": _percentile(times, n, 0.95),
            "mean_ms": round(entry["total_response_time"] / n, 1)}


def _percentile(times: list[tuple[float, int]], n: int, fraction: float) -> float:
    """From locust's histogram (rounded response time -> count)."""
    seen = 0
    for ms, count in times:
        seen += count
        if seen >= fraction * n:
            return ms
    return times[-1][0]
