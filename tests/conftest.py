"""Shared fixtures: the real embedding model (loaded once), a tiny stub corpus
home in a temp dir, and one Assistant over the real corpus for integration tests."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from rag.settings import REPO_ROOT, Settings, load_settings

STUB_CORPUS = Path(__file__).parent / "stub_data" / "corpus"


def stub_settings(home: Path) -> Settings:
    """Fast-preset settings whose home holds a copy of the stub corpus."""
    if not (home / "corpus").exists():
        shutil.copytree(STUB_CORPUS, home / "corpus")
    return load_settings("fast").updated(home=home)


@pytest.fixture(scope="session")
def embedder():
    from rag.search.embed import Embedder

    return Embedder(load_settings().embedding)


@pytest.fixture
def stub_home(tmp_path: Path) -> Settings:
    return stub_settings(tmp_path)


@pytest.fixture(scope="session")
def stub_assistant(tmp_path_factory, embedder):
    """An Assistant over the stub corpus, built once per session."""
    from rag.assistant import Assistant
    from rag.search.build import build_index
    from rag.search.index import load_index

    settings = stub_settings(tmp_path_factory.mktemp("stub-home"))
    build_index(settings, embedder)
    return Assistant(settings, embedder, load_index(settings), None)


@pytest.fixture(scope="session")
def real_assistant(embedder):
    """An Assistant over the real corpus/ (builds the index when missing or stale)."""
    from rag.assistant import Assistant
    from rag.search.build import build_index
    from rag.search.index import load_index
    from rag.study.stored import study_extra

    settings = load_settings().updated(home=REPO_ROOT)
    report = build_index(settings, embedder, extras=[study_extra(settings)])
    return Assistant(settings, embedder, load_index(settings), report)


# --- app.py in a subprocess (tests/test_server_security.py, tests/test_load.py) ---------
def free_local_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def app_url(real_assistant, tmp_path_factory):
    """The Gradio app in this process on a free loopback port (app and browser tests),
    its progress in a temporary SQLite database."""
    from rag.app import limits, ui

    db = tmp_path_factory.mktemp("progress") / "progress.db"
    demo = ui.build_app(real_assistant, db_url=f"sqlite:///{db}", seed=7)
    demo.queue(default_concurrency_limit=real_assistant.settings.app.concurrency)
    port = free_local_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True,
                quiet=True, **ui.launch_options(), **limits.launch_limits(real_assistant.settings))
    yield f"http://127.0.0.1:{port}/"
    demo.close()


class AppProcess:
    """``python app.py --port <free port> [args]``, started and waited for by ``start()``."""

    def __init__(self, args: tuple[str, ...] = (), env: dict | None = None,
                 log_path: Path | None = None):
        import os
        import tempfile

        self.port = free_local_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.args = ("--port", str(self.port), *args)
        self.env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
        self.log_path = log_path or Path(tempfile.mkstemp(suffix="-app.log")[1])
        self.proc = None

    def start(self, timeout: float = 300) -> AppProcess:
        import subprocess
        import sys
        import time
        import urllib.error
        import urllib.request

        log = self.log_path.open("wb")
        self.proc = subprocess.Popen([sys.executable, "app.py", *self.args], cwd=REPO_ROOT,
                                     env=self.env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"app.py exited ({self.proc.returncode}):\n{self.log()}")
            try:
                urllib.request.urlopen(self.url + "/gradio_api/info", timeout=2)
                return self
            except urllib.error.HTTPError:  # answering (e.g. 401 with a login): up
                return self
            except OSError:
                time.sleep(0.5)
        self.stop()
        raise RuntimeError(f"app.py did not start in {timeout} s:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def rss_mb(self) -> float:
        """Resident memory of the server process (MiB), from /proc."""
        status = Path(f"/proc/{self.proc.pid}/status").read_text()
        kb = next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:"))
        return int(kb) / 1024

    def cpu_seconds(self) -> float:
        """User + system CPU time the server process has used (from /proc)."""
        import os

        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except Exception:  # noqa: BLE001 - still running: kill it
                self.proc.kill()
                self.proc.wait(timeout=20)


APP_LOGIN = ("rag-tester", "correct-horse-battery")


@pytest.fixture(scope="session")
def locked_app():
    """``app.py`` as a user starts it (default host) with a login from the environment."""
    app = AppProcess(env={"RAG_APP_USERNAME": APP_LOGIN[0], "RAG_APP_PASSWORD": APP_LOGIN[1]})
    yield app.start()
    app.stop()
