"""A real ``rag serve`` process on loopback, with an API key: the ``openai`` package as
a client, ``rag ask`` answering through it, and a bounded schemathesis fuzz run of its
OpenAPI schema.  The server runs over the real index (``rag build`` first)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

from rag.settings import REPO_ROOT, load_settings

pytestmark = [pytest.mark.api, pytest.mark.integration]
KEY = "test-key-" + "x" * 16
MODEL = "rag-interview-prep"
QUESTION = "Why divide attention scores by sqrt(d_k)?"


class ServeProcess:
    """``rag serve --port 0`` with ``env``; ``url`` is read from its first line."""

    def __init__(self, env: dict):
        self.log = Path(tempfile.mkstemp(suffix="-serve.log")[1])
        self.env = {**os.environ, "PYTHONUNBUFFERED": "1", **env}
        self.proc = None
        self.url = ""

    def start(self, timeout: float = 300) -> ServeProcess:
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen([sys.executable, "-m", "rag.cli", "serve", "--port",
                                          "0"], cwd=REPO_ROOT, env=self.env, stdout=out,
                                         stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = re.search(r"serving on (http://\S+)", self.log.read_text())
            if found:
                self.url = found.group(1)
                return self
            if self.proc.poll() is not None:
                raise RuntimeError(f"rag serve exited:\n{self.log.read_text()}")
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"rag serve did not start:\n{self.log.read_text()}")

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=30)
        return self.proc.returncode


@pytest.fixture(scope="module")
def server(real_assistant):
    serve = ServeProcess({"RAG_API_KEY": KEY}).start()
    yield serve
    assert serve.stop() == 0, serve.log.read_text()
    assert "server stopped" in serve.log.read_text()
    discovery = load_settings().index_root / "serve.json"
    assert not discovery.exists()  # removed on a clean stop


def test_server_binds_loopback_by_default(server):
    assert server.url.startswith("http://127.0.0.1:")


def test_openai_package_uses_the_assistant_as_a_model(server):
    import openai

    client = openai.OpenAI(base_url=server.url + "/v1", api_key=KEY, max_retries=0)
    assert MODEL in [m.id for m in client.models.list()]
    reply = client.chat.completions.create(model=MODEL, messages=[
        {"role": "user", "content": QUESTION}])
    text = reply.choices[0].message.content
    assert re.search(r"\[1\]", text) and "\n\nSources:\n[1] " in text
    citations = reply.model_extra["citations"]
    assert citations[0]["n"] == 1 and citations[0]["cited"] is True
    stream = client.chat.completions.create(model=MODEL, stream=True, messages=[
        {"role": "user", "content": QUESTION}])
    streamed = "".join(chunk.choices[0].delta.content or "" for chunk in stream
                       if chunk.choices)
    assert streamed == text


def test_openai_errors_map_to_the_client_exceptions(server):
    import openai

    wrong = openai.OpenAI(base_url=server.url + "/v1", api_key="wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError, match="API key"):
        wrong.models.list()
    client = openai.OpenAI(base_url=server.url + "/v1", api_key=KEY, max_retries=0)
    with pytest.raises(openai.BadRequestError, match="the question is empty"):
        client.chat.completions.create(model=MODEL, messages=[{"role": "user",
                                                               "content": "  "}])
    with pytest.raises(openai.UnprocessableEntityError, match="model"):
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user",
                                                                  "content": QUESTION}])


_MODULES = ("import json, sys\nfrom rag.cli import main\ncode = main(sys.argv[1:])\n"
            "print('MODULES=' + json.dumps(sorted({m.split('.')[0] for m in sys.modules})),"
            " file=sys.stderr)\nsys.exit(code)\n")


def _cli(*args: str, key: str | None = KEY) -> tuple[subprocess.CompletedProcess, set]:
    env = {k: v for k, v in os.environ.items() if k != "RAG_API_KEY"}
    if key:
        env["RAG_API_KEY"] = key
    out = subprocess.run([sys.executable, "-c", _MODULES, *args], cwd=REPO_ROOT, env=env,
                         capture_output=True, text=True, timeout=300)
    line = next(x for x in out.stderr.splitlines() if x.startswith("MODULES="))
    return out, set(json.loads(line.removeprefix("MODULES=")))


def _no_timings(text: str) -> dict:
    return {k: v for k, v in json.loads(text).items() if k != "timings_ms"}


def test_rag_ask_answers_through_the_running_server(server):
    remote, loaded = _cli("ask", "--json", QUESTION)
    assert remote.returncode == 0, remote.stderr
    assert not loaded & {"onnxruntime", "faiss", "numpy", "torch"}  # no model, no index
    local, loaded = _cli("ask", "--local", "--json", QUESTION)
    assert "onnxruntime" in loaded
    assert _no_timings(remote.stdout) == _no_timings(local.stdout)
    text, _ = _cli("ask", QUESTION)
    assert text.stdout.split("\n(extractive")[0] == \
        _cli("ask", "--local", QUESTION)[0].stdout.split("\n(extractive")[0]


def test_rag_ask_bad_input_through_the_server_is_a_clear_error(server):
    out, loaded = _cli("ask", "why\x07?")
    assert out.returncode == 2 and "onnxruntime" not in loaded
    local, _ = _cli("ask", "--local", "why\x07?")
    first = out.stderr.splitlines()[0]
    assert first == local.stderr.splitlines()[0]  # the same message as answering here
    assert first.startswith("error: the question contains control characters (U+0007)")


def test_rag_ask_answers_itself_when_the_server_refuses_its_key(server):
    out, loaded = _cli("ask", "--json", QUESTION, key="wrong")
    assert out.returncode == 0 and "onnxruntime" in loaded
    assert f"note: the server at {server.url} did not answer (HTTP 401" in out.stderr
    assert json.loads(out.stdout)["citations"]


def _schemathesis(url: str, include: str, *extra: str) -> subprocess.CompletedProcess:
    cmd = [str(Path(sys.executable).parent / "schemathesis"), "run", url + "/openapi.json",
           "-H", f"Authorization: Bearer {KEY}", "--checks", "all", "--max-examples", "25",
           "--seed", "15", "--workers", "1", "--request-timeout", "30", "--no-color",
           "--include-path-regex", include, "--generation-database", "none", *extra]
    with tempfile.TemporaryDirectory() as tmp:  # its report folder
        return subprocess.run(cmd, cwd=tmp, capture_output=True, text=True, timeout=600)


def test_schemathesis_fuzz_of_the_api_schema(server):
    """Bounded (25 examples per operation, fixed seed), loopback only, every check but
    one: that every schema-valid request is accepted.  JSON Schema cannot state the
    rules the assistant adds (a question needs words and is not only a link; OpenAI's
    schema cannot say that the last message is the user's non-empty question), and
    those get a 400 with a message, which is what the other checks verify."""
    with urllib.request.urlopen(server.url + "/openapi.json", timeout=10) as resp:
        paths = set(json.loads(resp.read())["paths"])
    assert paths == {"/api/ask", "/api/health", "/v1/models", "/v1/chat/completions"}
    for include in ("^/api/", "^/v1/"):
        run = _schemathesis(server.url, include, "--exclude-checks",
                            "positive_data_acceptance")
        assert run.returncode == 0, run.stdout[-4000:]
