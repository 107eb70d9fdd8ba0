"""LLM backends when the model cannot answer: real sockets, real HTTP, no mocks.

Each failure (nothing listening, a server that never answers, HTTP 5xx/4xx, a
malformed stream) comes from a real local HTTP server; the ``openai`` backend
must fall back to the extractive answer with a clear ``fallback_reason``,
within ``settings.llm.timeout_s``, retrying only where it makes sense, and
without leaking the API key.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from rag.answer.extractive import markers_in
from rag.answer.llm import backoff_delays, clean_condensed
from rag.assistant import Assistant
from rag.cli import main

pytestmark = pytest.mark.integration  # uses the real index (session fixture)
QUESTION = "Why are attention scores divided by the square root of d_k?"
SECRET = "sk-test-DO-NOT-LEAK-4242"


@pytest.fixture(scope="module")
def base(real_assistant) -> Assistant:
    import llama_index.llms.openai_like  # noqa: F401 - import once, outside the timings

    return real_assistant


def with_llm(base: Assistant, **llm) -> Assistant:
    """The same loaded index and embedder, with other LLM settings."""
    return Assistant(base.settings.updated(llm=llm), base.embedder, base.index, None)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class FaultServer:
    """A real HTTP server that fails in one chosen way and counts requests."""

    def __init__(self, mode: str):
        self.mode, self.requests, self.release = mode, 0, threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's naming
                outer.requests += 1
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                outer.respond(self)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def respond(self, handler: BaseHTTPRequestHandler) -> None:
        if self.mode == "hang":
            self.release.wait(30)
            return
        if self.mode == "garbage":
            body, ctype, status = b"data: {not json\n\n", "text/event-stream", 200
        else:  # an error that echoes the key, as some real APIs do
            status = int(self.mode)
            key = handler.headers.get("Authorization", "")
            body = json.dumps({"error": {"message": f"bad request for key {key}"}}).encode()
            ctype = "application/json"
        handler.send_response(status)
        handler.send_header("Content-Type", ctype)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    def close(self) -> None:
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def fault(request):
    server = FaultServer(request.param)
    yield server
    server.close()


def timed_ask(assistant: Assistant, question: str = QUESTION):
    """The answer and the seconds its backend took (the part the LLM settings bound)."""
    answer = assistant.ask(question, backend="openai")
    return answer, answer.timings_ms["answer"] / 1000


def assert_extractive_fallback(answer, reason_start: str) -> None:
    assert answer.backend == "extractive"
    assert answer.fallback_reason.startswith(reason_start), answer.fallback_reason
    assert not answer.abstained and markers_in(answer.text)
    assert answer.to_json()["fallback_reason"] == answer.fallback_reason


def test_backends_are_registered_from_settings(base):
    bare = with_llm(base, base_url=None, model=None, gguf_path=None)
    assert bare.available_backends == ["extractive"]
    configured = with_llm(base, base_url="http://127.0.0.1:9/v1", model="m")
    assert "openai" in configured.available_backends
    local = with_llm(base, gguf_path="/nonexistent/model.gguf")
    has_llama = importlib.util.find_spec("llama_cpp") is not None
    assert ("llamacpp" in local.available_backends) == has_llama


def test_server_down_falls_back_within_the_timeout(base):
    url = f"http://127.0.0.1:{free_port()}/v1"
    assistant = with_llm(base, base_url=url, model="m", timeout_s=5, retries=2, backoff_s=0.2)
    answer, seconds = timed_ask(assistant)
    assert_extractive_fallback(
        answer, f"openai backend unavailable: connection refused at {url} after 3 attempts")
    assert seconds < 5, f"fallback took {seconds:.2f} s"


@pytest.mark.parametrize("fault", ["hang"], indirect=True)
def test_a_server_that_never_answers_is_cut_off_at_the_timeout(base, fault):
    assistant = with_llm(base, base_url=fault.url, model="m", timeout_s=1.5, retries=2)
    answer, seconds = timed_ask(assistant)
    assert_extractive_fallback(answer, "openai backend unavailable: timed out after 1.5 s")
    assert 1.4 < seconds < 1.5 + 1.5, f"fallback took {seconds:.2f} s"
    assert fault.requests == 1  # the whole budget went to the first attempt


@pytest.mark.parametrize("fault", ["503", "garbage"], indirect=True)
def test_5xx_and_malformed_replies_are_retried_with_backoff(base, fault):
    assistant = with_llm(base, base_url=fault.url, model="m", timeout_s=10, retries=2,
                         backoff_s=0.1)
    answer, seconds = timed_ask(assistant)
    what = "HTTP 503 from" if fault.mode == "503" else "malformed response from"
    assert_extractive_fallback(answer, f"openai backend unavailable: {what} {fault.url}")
    assert answer.fallback_reason.endswith("after 3 attempts")
    assert fault.requests == 3
    assert seconds >= sum(backoff_delays(2, 0.1)) == pytest.approx(0.3)


@pytest.mark.parametrize("fault", ["401"], indirect=True)
def test_4xx_is_not_retried_and_the_key_never_leaks(base, fault, monkeypatch, caplog):
    monkeypatch.setenv("RAG_TEST_KEY", SECRET)
    caplog.set_level(logging.INFO)
    assistant = with_llm(base, base_url=fault.url, model="m", api_key_env="RAG_TEST_KEY",
                         retries=3, backoff_s=3.0)
    answer, seconds = timed_ask(assistant)
    assert fault.requests == 1 and seconds < 3.0  # no retry, no backoff wait
    assert_extractive_fallback(answer, f"openai backend unavailable: HTTP 401 from {fault.url}")
    assert "$RAG_TEST_KEY" in answer.fallback_reason  # names the variable, not its value
    backend = assistant.backends["openai"]
    client = backend._client()  # the llama-index client does not hold the key either
    for text in (json.dumps(answer.to_json()), caplog.text, repr(backend), str(vars(backend)),
                 repr(client), str(client.model_dump())):
        assert SECRET not in text


@pytest.mark.parametrize("fault", ["500"], indirect=True)
def test_off_topic_question_abstains_without_calling_the_llm(base, fault):
    assistant = with_llm(base, base_url=fault.url, model="m")
    answer, _ = timed_ask(assistant, "How long should I boil an egg for a runny yolk?")
    assert answer.abstained and answer.backend == "extractive"
    assert "openai not called" in answer.fallback_reason
    assert not any(c.cited for c in answer.citations)
    assert fault.requests == 0


def test_follow_up_condensation_falls_back_to_the_heuristic(base):
    url = f"http://127.0.0.1:{free_port()}/v1"
    assistant = with_llm(base, base_url=url, model="m", timeout_s=2, retries=0)
    history = ["How does LoRA reduce the cost of fine-tuning?"]
    follow_up = "and what are its limitations?"
    assert assistant.search_query(follow_up, history, backend="openai") \
        == base.search_query(follow_up, history)


@pytest.mark.parametrize(("text", "expected"), [
    ("What are the limitations of LoRA fine-tuning?\nExtra line",
     "What are the limitations of LoRA fine-tuning?"),
    ('Standalone question: "What are the limitations of LoRA?"',
     "What are the limitations of LoRA?"),
    ("", None),
    ("Sure!", None),
    ("What is the capital of France today?", None),  # lost the topic
])
def test_clean_condensed(text, expected):
    history = ["How does LoRA reduce the cost of fine-tuning?"]
    assert clean_condensed(text, "and its limitations?", history, 2000) == expected


def test_llamacpp_with_a_missing_model_file_falls_back(base):
    pytest.importorskip("llama_cpp", reason="needs the llm extra: pip install -e '.[llm]'")
    assistant = with_llm(base, gguf_path="/nonexistent/model.gguf")
    answer = assistant.ask(QUESTION, backend="llamacpp")
    assert answer.backend == "extractive"
    assert answer.fallback_reason == ("llamacpp backend unavailable: cannot load the GGUF model "
                                      "/nonexistent/model.gguf (ValueError)")


def test_llamacpp_that_crashes_on_this_cpu_falls_back_with_the_reason(base, tmp_path,
                                                                     monkeypatch):
    # llama.cpp segfaulted in llama_decode on some hosts (a native build with AMX, a
    # portable build on a CI host): the backend checks in a child process first, so a
    # crash is a clear fallback reason instead of a dead app.  The child here really
    # dies of SIGSEGV.
    pytest.importorskip("llama_cpp", reason="needs the llm extra: pip install -e '.[llm]'")
    from rag.answer import llm_probe

    model = tmp_path / "model.gguf"
    model.write_bytes(b"GGUF")
    monkeypatch.setattr(llm_probe, "_PROBE",
                        "import os, signal; os.kill(os.getpid(), signal.SIGSEGV)")
    monkeypatch.setattr(llm_probe, "_cache", {})
    assistant = with_llm(base, gguf_path=str(model))
    for _ in range(2):  # the second question reuses the cached verdict
        answer = assistant.ask(QUESTION, backend="llamacpp")
        assert answer.backend == "extractive" and answer.text
        assert answer.fallback_reason.startswith(
            "llamacpp backend unavailable: llama.cpp crashed (SIGSEGV) generating with "
            "this model on this machine (")
    assert len(llm_probe._cache) == 1


def test_probe_reads_a_crash_from_the_return_code():
    from rag.answer.llm_probe import describe

    assert describe(0) is None and describe(1) is None  # ordinary errors: not a crash
    assert "(SIGSEGV)" in describe(-11) and "(SIGILL)" in describe(-4)


def test_cli_explains_the_fallback(monkeypatch, capsys):
    monkeypatch.setenv("RAG_LLM__BASE_URL", f"http://127.0.0.1:{free_port()}/v1")
    monkeypatch.setenv("RAG_LLM__MODEL", "m")
    monkeypatch.setenv("RAG_LLM__RETRIES", "0")
    assert main(["ask", "--backend", "openai", QUESTION]) == 0
    out = capsys.readouterr().out
    assert "note: extractive answer used: openai backend unavailable: connection refused" in out
    assert "(extractive, " in out and "Sources:" in out
