"""Issue 13, item 9: Python API argument checks, a closed stdout pipe, bad settings in
the environment, and an unsafe paper URL in the app."""

from __future__ import annotations

import io
import os
import subprocess
import sys

import pytest

from rag.errors import BackendError, InvalidQuestion
from rag.records import Paper
from rag.settings import REPO_ROOT

Q = "What does DPO optimize instead of a reward model?"


# --- Assistant.ask arguments ----------------------------------------------------------------
@pytest.mark.parametrize("k", ["abc", "5", 5.5, True, [5], 0, 51])
def test_bad_k_is_a_clear_error(stub_assistant, k):
    """Before the fix: TypeError ('<=' not supported between int and str) for "abc"."""
    with pytest.raises(InvalidQuestion, match=r"k must be (a whole number from 1 to 50|"
                                               r"between 1 and 50)"):
        stub_assistant.ask(Q, k=k)


def test_integer_like_k_is_accepted(stub_assistant):
    import numpy as np

    assert len(stub_assistant.ask(Q, k=np.int64(3)).citations) <= 3


@pytest.mark.parametrize("backend", [["x"], 42, {"name": "extractive"}])
def test_bad_backend_type_is_a_clear_error(stub_assistant, backend):
    """Before the fix: TypeError: unhashable type: 'list'."""
    with pytest.raises(BackendError, match="backend must be a name such as 'extractive'"):
        stub_assistant.ask(Q, backend=backend)


@pytest.mark.parametrize("history,message", [
    ([1, 2], "item 0 is a int"), (["ok", None], "item 1 is a NoneType"),
    ("what is lora?", "got a str"), (42, "got a int"), ({"a": 1}, "got a dict")])
def test_bad_history_is_a_clear_error(stub_assistant, history, message):
    """Before the fix: AttributeError: 'int' object has no attribute 'strip'."""
    with pytest.raises(InvalidQuestion, match=rf"history must .*\({message}\)"):
        stub_assistant.ask(Q, history=history)
    with pytest.raises(InvalidQuestion):
        next(stub_assistant.stream(Q, history=history))


# --- rag ask --jsonl | head -c 100 -----------------------------------------------------------
class ClosedPipe(io.StringIO):
    """stdout whose reader went away after ``keep`` characters (``head -c``)."""

    def __init__(self, keep: int):
        super().__init__()
        self.keep = keep

    def write(self, text: str) -> int:
        if self.tell() + len(text) > self.keep:
            raise BrokenPipeError(32, "Broken pipe")
        return super().write(text)

    def fileno(self) -> int:
        return os.open(os.devnull, os.O_WRONLY)


def test_closed_stdout_pipe_exits_quietly(stub_assistant, monkeypatch, capsys):
    """Before the fix: "internal error: BrokenPipeError: [Errno 32] Broken pipe", exit 1."""
    import rag.cli as cli

    monkeypatch.setattr(cli, "_load", lambda settings, quiet: stub_assistant)
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO((Q + "\n").encode() * 5)))
    monkeypatch.setattr(sys, "stdout", ClosedPipe(100))
    code = cli.main(["ask", "--jsonl"])
    err = capsys.readouterr().err
    assert code == 141 and err == ""  # 128 + SIGPIPE, as a shell reports `yes | head`


def test_rag_ask_jsonl_into_head_for_real(stub_assistant):
    """``rag ask --jsonl < questions | head -c 100``: no message, 100 bytes out."""
    env = {**os.environ, "RAG_HOME": str(stub_assistant.settings.home)}
    script = (f"yes '{Q}' | head -n 50 | {sys.executable} -m rag.cli --preset fast ask "
              "--jsonl 2>err.txt | head -c 100 > out.txt; cat err.txt")
    out = subprocess.run(["bash", "-c", script], cwd=stub_assistant.settings.home, env=env,
                         capture_output=True, text=True, timeout=300)
    assert out.stdout == "" and "Error" not in out.stdout, out.stdout
    assert (stub_assistant.settings.home / "out.txt").stat().st_size == 100


# --- bad settings in the environment ---------------------------------------------------------
def _run_cli(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rag.cli", *args], cwd=REPO_ROOT,
                          env={**os.environ, **env}, capture_output=True, text=True,
                          timeout=120)


@pytest.mark.parametrize("env,expected", [
    ({"RAG_RETRIEVAL__K": "abc"}, "error: RAG_RETRIEVAL__K: Input should be a valid integer"),
    ({"RAG_RETRIEVAL__K": "0"}, "error: RAG_RETRIEVAL__K: Input should be greater than or "
                                "equal to 1 (got '0')"),
    ({"RAG_APP__PORT": "99999"}, "error: RAG_APP__PORT: Input should be less than or equal"),
    ({"RAG_SOURCES__MAX_MB": "-1"}, "error: RAG_SOURCES__MAX_MB: Input should be greater"),
    ({"RAG_RETRIEVAL__NOPE": "1"}, "error: RAG_RETRIEVAL__NOPE: Extra inputs are not "
                                   "permitted"),
    ({"RAG_RETRIEVAL": "{not json"}, "error: RAG_RETRIEVAL: "),
])
def test_bad_setting_in_the_environment_is_one_line_exit_2(env, expected):
    """Before the fix: a multi-line pydantic error and exit 1."""
    out = _run_cli("ask", "What is LoRA?", **env)
    assert out.returncode == 2, out.stderr
    assert out.stderr.startswith(expected), out.stderr
    assert out.stderr.count("\n") == 1 and "Traceback" not in out.stderr


def test_two_bad_settings_share_the_one_line():
    out = _run_cli("build", RAG_RETRIEVAL__K="abc", RAG_APP__PORT="-5")
    assert out.returncode == 2 and out.stderr.count("\n") == 1
    assert "RAG_RETRIEVAL__K" in out.stderr and "RAG_APP__PORT" in out.stderr


def test_app_with_a_bad_setting_is_one_line_exit_2():
    out = subprocess.run([sys.executable, "app.py", "--port", "0"], cwd=REPO_ROOT,
                         env={**os.environ, "RAG_APP__CONCURRENCY": "many"},
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 2 and out.stderr.startswith("error: RAG_APP__CONCURRENCY: ")
    assert out.stderr.count("\n") == 1, out.stderr


# --- the app's paper card with an unsafe URL -------------------------------------------------
@pytest.mark.parametrize("url,arxiv_id", [("javascript:alert(1)", 'x" onmouseover="y'),
                                          ("data:text/html,hi", "bad id with spaces")])
def test_unsafe_paper_url_shows_the_title_without_a_link(url, arxiv_id):
    """Before the fix: an empty <li></li>."""
    from rag.app.present import related_html

    html = related_html([Paper(arxiv_id=arxiv_id, title="Attention <Is> All", year=2017,
                               url=url)])
    assert "<li>Attention &lt;Is&gt; All (2017)</li>" in html
    assert "href" not in html and "javascript" not in html
