"""The HTTP API in process (FastAPI's test client over the stub-corpus assistant):
the ``rag ask --json`` contract, the OpenAI-compatible routes, errors as JSON, the
API key, body limits.  ``tests/test_api_server.py`` runs a real ``rag serve``."""

from __future__ import annotations

import base64
import json
import os

import pytest
from fastapi.testclient import TestClient

from rag.api import openai_compat as oai
from rag.api.security import ApiAuth
from rag.api.server import create_api
from rag.app.limits import add_limits
from rag.records import Answer

QUESTION = "How does attention work?"
MODEL = "rag-interview-prep"


@pytest.fixture(scope="module")
def client(stub_assistant) -> TestClient:
    return TestClient(create_api(stub_assistant))


def _without_timings(data: dict) -> dict:
    return {k: v for k, v in data.items() if k != "timings_ms"}


def _error(resp, status: int) -> str:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/json")
    body = resp.json()
    assert set(body) == {"error"} and body["error"]["message"], body
    assert "Traceback" not in resp.text
    return body["error"]["message"]


# --- /api/ask ------------------------------------------------------------------------------
def test_ask_is_the_cli_json_contract(client, stub_assistant):
    resp = client.post("/api/ask", json={"question": QUESTION, "k": 3})
    assert resp.status_code == 200
    expected = stub_assistant.ask(QUESTION, k=3).to_json()
    assert list(resp.json()) == list(expected)  # same keys, same order
    assert _without_timings(resp.json()) == _without_timings(expected)
    assert len(resp.json()["citations"]) == 3


def test_ask_history_is_read_like_the_app(client, stub_assistant):
    history = ["How does attention work?"]
    resp = client.post("/api/ask", json={"question": "and what are its limits?",
                                         "history": history})
    expected = stub_assistant.ask("and what are its limits?",
                                  history=stub_assistant.standalone_history(history))
    assert resp.json()["search_query"] == expected.search_query
    assert "attention" in expected.search_query.lower()


def test_ask_as_plain_text(client):
    resp = client.post("/api/ask", json={"question": QUESTION},
                       headers={"Accept": "text/plain"})
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/plain")
    assert "[1]" in resp.text and "Sources:" in resp.text


@pytest.mark.parametrize("body", [
    {}, {"question": ""}, {"question": "   \n"}, {"question": "x" * 2001},
    {"question": "why\x07?"}, {"question": 5}, {"question": QUESTION, "k": 0},
    {"question": QUESTION, "k": 51}, {"question": QUESTION, "backend": "gpt-9"},
    {"question": QUESTION, "history": ["q"] * 401}, {"question": QUESTION, "extra": 1},
])
def test_bad_requests_are_json_errors(client, body):
    message = _error(client.post("/api/ask", json=body), 422)
    question = body.get("question")
    if isinstance(question, str) and len(body) == 1:  # the CLI's own words
        assert message.startswith("the question ")
    else:
        assert message.startswith("invalid request:")


def test_questions_without_words_are_refused_with_the_cli_message(client):
    for question in ("0", "?!", "https://arxiv.org/abs/2106.09685"):
        message = _error(client.post("/api/ask", json={"question": question}), 400)
        assert message.startswith("the question "), message


def test_malformed_json_and_wrong_method(client):
    assert "invalid request" in _error(client.post(
        "/api/ask", content=b'{"question": ', headers={"Content-Type": "application/json"}),
        422)
    _error(client.get("/api/ask"), 405)
    _error(client.get("/no/such/route"), 404)


def test_internal_errors_hide_their_details(stub_assistant, monkeypatch):
    def boom(*_args, **_kwargs):
        raise RuntimeError("secret detail of /home/user")

    monkeypatch.setattr(stub_assistant, "ask", boom)
    client = TestClient(create_api(stub_assistant), raise_server_exceptions=False)
    message = _error(client.post("/api/ask", json={"question": QUESTION}), 500)
    assert "secret" not in message and "internal error" in message


def test_the_servers_body_limit_covers_the_api(stub_assistant):
    """``rag serve`` and ``app.py`` wrap the API in the app's limits (issue 13's
    ``rag.app.limits``): a body over ``limits.max_request_kb`` gets a JSON 413 before any
    work, with or without a Content-Length."""
    settings = stub_assistant.settings.updated(limits={"max_request_kb": 16})
    client = TestClient(add_limits(create_api(stub_assistant, settings), settings))
    big = {"question": QUESTION, "history": ["word " * 400] * 10}
    resp = client.post("/api/ask", json=big)
    assert resp.status_code == 413 and "too large" in resp.json()["error"]

    def chunks():  # no Content-Length: counted while read
        yield b'{"question": "'
        yield b"a" * 20_000
        yield b'"}'
    resp = client.post("/api/ask", content=chunks(), headers={"Content-Type": "application/json"})
    assert resp.status_code == 413
    assert client.post("/api/ask", json={"question": QUESTION}).status_code == 200


# --- the API key ---------------------------------------------------------------------------
ROUTES = [("get", "/api/health", None), ("get", "/v1/models", None),
          ("post", "/api/ask", {"question": QUESTION}),
          ("post", "/v1/chat/completions",
           {"model": MODEL, "messages": [{"role": "user", "content": QUESTION}]})]


@pytest.mark.parametrize(("method", "path", "body"), ROUTES)
def test_every_route_requires_the_key_when_set(stub_assistant, method, path, body):
    client = TestClient(create_api(stub_assistant, auth=ApiAuth(key="s3cret")))
    call = getattr(client, method)
    kwargs = {"json": body} if body else {}
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "s3cret"}):
        resp = call(path, headers=headers, **kwargs)
        assert "API key" in _error(resp, 401)
        assert resp.headers["www-authenticate"] == "Bearer"
    assert call(path, headers={"Authorization": "Bearer s3cret"}, **kwargs).status_code == 200


def test_the_app_login_also_opens_the_api(stub_assistant):
    client = TestClient(create_api(stub_assistant, auth=ApiAuth(login=("ann", "pw"))))
    good = "Basic " + base64.b64encode(b"ann:pw").decode()
    bad = "Basic " + base64.b64encode(b"ann:nope").decode()
    assert client.get("/api/health").status_code == 401
    assert client.get("/api/health", headers={"Authorization": bad}).status_code == 401
    assert client.get("/api/health", headers={"Authorization": good}).json()["auth"] is True
    users = TestClient(create_api(stub_assistant, auth=ApiAuth(
        login=lambda user, password: (user, password) == ("ann", "pw"))))  # a users file
    assert users.get("/api/health", headers={"Authorization": good}).status_code == 200
    assert users.get("/api/health", headers={"Authorization": bad}).status_code == 401


# --- OpenAI-compatible ---------------------------------------------------------------------
def test_models_list_the_backends(client, stub_assistant):
    ids = [m["id"] for m in client.get("/v1/models").json()["data"]]
    assert ids == [MODEL] + [f"{MODEL}:{b}" for b in stub_assistant.available_backends]


def test_chat_completion_carries_markers_sources_and_citations(client, stub_assistant):
    resp = client.post("/v1/chat/completions", json={
        "model": MODEL, "temperature": 0.2, "messages": [
            {"role": "system", "content": "You are helpful."},
            {"role": "user", "content": QUESTION}]})
    assert resp.status_code == 200, resp.text
    data = resp.json()
    answer = stub_assistant.ask(QUESTION)
    text = data["choices"][0]["message"]["content"]
    assert text.startswith(answer.text) and "\n\nSources:\n[1] " in text
    assert data["citations"] == answer.to_json()["citations"]
    assert data["rag"]["abstained"] is False and data["object"] == "chat.completion"
    assert data["usage"]["total_tokens"] > 0


def test_earlier_user_messages_are_the_history(client, stub_assistant):
    resp = client.post("/v1/chat/completions", json={"model": MODEL, "messages": [
        {"role": "user", "content": [{"type": "text", "text": "How does attention work?"}]},
        {"role": "assistant", "content": "It weighs tokens [1]"},
        {"role": "user", "content": "and what are its limits?"}]})
    expected = stub_assistant.ask("and what are its limits?",
                                  history=["How does attention work?"]).search_query
    assert resp.json()["rag"]["search_query"] == expected


def test_streamed_chat_completion(client, stub_assistant):
    body = {"model": MODEL, "stream": True, "stream_options": {"include_usage": True},
            "messages": [{"role": "user", "content": QUESTION}]}
    with client.stream("POST", "/v1/chat/completions", json=body) as resp:
        assert resp.status_code == 200
        assert resp.headers["content-type"].startswith("text/event-stream")
        lines = [line for line in resp.iter_lines() if line.startswith("data: ")]
    assert lines[-1] == "data: [DONE]"
    chunks = [json.loads(line[6:]) for line in lines[:-1]]
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"])
    answer = stub_assistant.ask(QUESTION)
    assert text == answer.text + oai.sources_text(answer)
    final = [c for c in chunks if c["choices"] and c["choices"][0]["finish_reason"]]
    assert final[0]["citations"] == answer.to_json()["citations"]
    assert chunks[-1]["usage"]["completion_tokens"] > 0


def test_chat_errors(client):
    def post(**body):
        return client.post("/v1/chat/completions", json={"model": MODEL, **body})
    assert "question" in _error(post(messages=[{"role": "user", "content": " "}]), 400)
    assert "last message" in _error(post(messages=[{"role": "assistant", "content": "x"}]),
                                    400)
    assert "model" in _error(client.post("/v1/chat/completions", json={
        "model": "gpt-4", "messages": [{"role": "user", "content": QUESTION}]}), 422)
    _error(post(messages=[]), 422)
    streamed = client.post("/v1/chat/completions", json={
        "model": MODEL, "stream": True, "messages": [{"role": "user", "content": ""}]})
    assert "empty" in _error(streamed, 400)  # before the stream starts: a JSON error


def test_sources_text_of_an_abstention_lists_the_closest_passages(stub_assistant):
    answer = stub_assistant.ask("What is the capital of Peru?")
    assert answer.abstained
    assert oai.sources_text(answer).startswith("\n\nClosest passages:\n[1] ")
    assert oai.sources_text(Answer(question="q", text="t")) == ""


# --- how `rag ask` finds a running server -------------------------------------------------
def test_discovery_needs_a_live_server_with_the_same_settings(stub_home):
    import subprocess
    import sys

    from rag.api import client
    from rag.api.serve import discovery_file, remove_discovery, write_discovery

    assert client.find_server(stub_home) is None  # no file
    write_discovery(stub_home, "http://127.0.0.1:9", auth=True)
    server = client.find_server(stub_home)
    assert server == client.Server("http://127.0.0.1:9", os.getpid(), auth=True)
    assert client.find_server(stub_home.updated(embedding={"runtime": "torch"})) == server
    assert client.find_server(stub_home.updated(retrieval={"k": 9})) is None  # other answers
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    data = json.loads(discovery_file(stub_home).read_text())
    discovery_file(stub_home).write_text(json.dumps({**data, "pid": int(dead)}))
    assert client.find_server(stub_home) is None  # its process is gone
    discovery_file(stub_home).write_text("{garbled")
    assert client.find_server(stub_home) is None
    write_discovery(stub_home, "http://127.0.0.1:9", auth=False)
    remove_discovery(stub_home)
    assert not discovery_file(stub_home).exists()


def test_an_unreachable_server_is_reported_not_raised(stub_home):
    from rag.api import client

    dead = client.Server("http://127.0.0.1:9", os.getpid())  # port 9: nothing listens
    with pytest.raises(client.Unreachable):
        client.ask(dead, QUESTION, None, None, timeout=2)
