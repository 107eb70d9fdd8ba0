"""Issue 13, items 6-8: bounded chat history, request bodies and uploads, and a
per-client login back-off.  The middleware is tested on a bare ASGI app first, then
inside the real Gradio app (built by ``rag.app.ui`` and launched with the keywords
``app.py`` uses)."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import pytest
import requests

from rag.app.limits import BodyLimit, LoginGuard, launch_limits
from rag.assistant import recent_history

pytestmark = pytest.mark.app


# --- item 6: history caps ------------------------------------------------------------------
def test_recent_history_keeps_the_newest_turns_within_both_caps():
    questions = [f"question {i} about attention" for i in range(3000)]
    kept = recent_history(questions, turns=20, chars=100_000)
    assert kept == questions[-20:]
    kept = recent_history(questions, turns=20, chars=100)
    assert kept == questions[-3:] and sum(map(len, kept)) <= 100
    assert recent_history(["x" * 500], turns=20, chars=100) == []
    assert recent_history(questions, turns=0, chars=100) == []


class SpyAssistant:
    """Counts follow-up rewrites (the per-turn cost of a long history)."""

    def __init__(self, inner):
        self.inner = inner
        self.rewrites = 0

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def search_query(self, question, history=(), backend=None):
        self.rewrites += 1
        return self.inner.search_query(question, history, backend)


def _chat(turns: int) -> list[dict]:
    messages = []
    for i in range(turns):
        messages += [{"role": "user", "content": f"What is attention variant {i}?"},
                     {"role": "assistant", "content": f"Variant {i} weighs tokens. [1]"}]
    return messages


def test_long_chat_uses_only_the_recent_history(stub_assistant):
    """Before the fix: every earlier question was rewritten (3,000 turns: 17.8 s)."""
    from rag.app.ui import Callbacks

    spy = SpyAssistant(stub_assistant)
    callbacks = Callbacks(spy, stub_assistant.settings, bank=[])
    start = time.perf_counter()
    *_, last = callbacks.respond("and what are its limitations?", _chat(150), 5,
                                 "extractive", True)
    elapsed = time.perf_counter() - start
    assert last[2] is not None  # answered
    assert spy.rewrites <= stub_assistant.settings.limits.history_turns + 2
    print(f"\n150-turn chat answered in {elapsed:.2f} s with {spy.rewrites} rewrites")


def test_oversized_chat_is_refused_before_any_work(stub_assistant):
    import gradio as gr

    from rag.app.ui import Callbacks

    spy = SpyAssistant(stub_assistant)
    callbacks = Callbacks(spy, stub_assistant.settings, bank=[])
    with pytest.raises(gr.Error, match=r"too long \(6,000 messages; the limit is 400\)"):
        list(callbacks.respond("What is LoRA?", _chat(3000), 5, "extractive", True))
    assert spy.rewrites == 0


def test_python_api_caps_history_too(stub_assistant):
    history = [f"question {i} about mixture of experts" for i in range(5000)]
    answer = stub_assistant.ask("and its limitations?", history=history)
    assert "4999" in answer.search_query and "4000" not in answer.search_query


# --- items 6-7: body limits and uploads (bare ASGI app) ------------------------------------
class Echo:
    """An ASGI app that reads the whole body and answers with its length."""

    def __init__(self):
        self.calls = 0

    async def __call__(self, scope, receive, send):
        self.calls += 1
        size = 0
        while True:
            message = await receive()
            size += len(message.get("body", b""))
            if not message.get("more_body"):
                break
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": str(size).encode()})


def _call(app, path: str, chunks: list[bytes], length: int | None = None,
          client: str = "10.0.0.1", method: str = "POST") -> tuple[int, dict, bytes]:
    headers = [] if length is None else [(b"content-length", str(length).encode())]
    scope = {"type": "http", "method": method, "path": path, "headers": headers,
             "client": (client, 1234)}
    queue = [{"type": "http.request", "body": c, "more_body": i < len(chunks) - 1}
             for i, c in enumerate(chunks)]
    sent: list[dict] = []

    async def receive():
        return queue.pop(0) if queue else {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    start, body = sent[0], b"".join(m.get("body", b"") for m in sent[1:])
    return start["status"], dict(start.get("headers", [])), body


def test_body_over_the_limit_is_refused_before_the_app_runs():
    echo = Echo()
    app = BodyLimit(echo, max_bytes=1000)
    assert _call(app, "/gradio_api/queue/join", [b"x" * 1000], 1000)[:1] == (200,)
    status, _, body = _call(app, "/gradio_api/queue/join", [b"x" * 1001], 1001)
    assert status == 413 and b"request body too large (the limit is 1000 bytes)" in body
    assert echo.calls == 1
    status, _, _ = _call(app, "/gradio_api/queue/join", [b"x" * 600, b"x" * 600])  # chunked
    assert status == 413 and echo.calls == 1
    status, _, body = _call(app, "/any", [b"x" * 300, b"x" * 300])
    assert (status, body) == (200, b"600")
    assert _call(app, "/any", [b""], length=None)[0] == 200


def test_uploads_are_refused_unless_a_feature_takes_them():
    echo = Echo()
    closed = BodyLimit(echo, max_bytes=1000)
    status, _, body = _call(closed, "/gradio_api/upload", [b"x" * 10], 10)
    assert status == 403 and b"uploads are not accepted" in body and echo.calls == 0
    limit = 20 * 1024 * 1024
    open_ = BodyLimit(echo, max_bytes=1000, upload_max_bytes=limit)
    assert _call(open_, "/gradio_api/upload", [b"x" * 5000], 5000)[0] == 200
    status, _, body = _call(open_, "/gradio_api/upload", [b"x"], limit + 1)
    assert status == 413 and b"the limit is 20 MB" in body


# --- item 8: login back-off (bare ASGI app, fake clock) ------------------------------------
class Login:
    """Accepts the password 'right', refuses any other with 400 (as Gradio does)."""

    async def __call__(self, scope, receive, send):
        message = await receive()
        ok = message.get("body") == b"right"
        await send({"type": "http.response.start", "status": 200 if ok else 400,
                    "headers": []})
        await send({"type": "http.response.body", "body": b"ok" if ok else b"no"})


def test_login_backoff_per_client_doubles_and_resets():
    now = [1000.0]
    guard = LoginGuard(Login(), failures=3, lockout_s=10, max_lockout_s=25,
                       clock=lambda: now[0])
    statuses = [_call(guard, "/login", [b"wrong"])[0] for _ in range(5)]
    assert statuses == [400, 400, 400, 429, 429]
    status, headers, body = _call(guard, "/login", [b"right"])  # even the right one waits
    assert status == 429 and headers[b"retry-after"] == b"10" and b"try again in 10 s" in body
    assert _call(guard, "/login", [b"wrong"], client="10.0.0.2")[0] == 400  # others are free
    now[0] += 10
    assert _call(guard, "/login", [b"wrong"])[0] == 400  # 4th failure: locked for 20 s
    assert guard.wait_s("10.0.0.1") == 20
    now[0] += 20
    assert _call(guard, "/login", [b"wrong"])[0] == 400
    assert guard.wait_s("10.0.0.1") == 25  # capped
    now[0] += 25
    assert _call(guard, "/login", [b"right"])[0] == 200 and guard.wait_s("10.0.0.1") == 0
    assert _call(guard, "/login", [b"wrong"])[0] == 400  # reset: counting starts again
    assert _call(guard, "/other", [b"wrong"])[0] == 400  # other paths are not counted


# --- the real Gradio app with the limits app.py installs -----------------------------------
LOGIN = ("ann", "correct-horse")


@pytest.fixture(scope="module")
def limited_app(stub_assistant):
    """The app over the stub index, launched like app.py (limits, login), with a 64 KB
    body limit and a short lockout."""
    from conftest import free_local_port

    from rag.app import ui

    settings = stub_assistant.settings.updated(
        limits={"max_request_kb": 64, "login_failures": 3, "login_lockout_s": 60})
    demo = ui.build_app(stub_assistant, settings)
    demo.queue(default_concurrency_limit=2)
    port = free_local_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True,
                quiet=True, auth=LOGIN, show_error=False,
                **launch_limits(settings, uploads=True), **ui.launch_options())
    yield f"http://127.0.0.1:{port}", settings
    demo.close()


def _upload_dir_files() -> set[Path]:
    import gradio.utils

    root = Path(gradio.utils.get_upload_folder())
    return set(root.rglob("*")) if root.exists() else set()


def test_app_refuses_oversized_uploads_and_large_bodies(limited_app):
    """Before the fix: a 30 MB upload was accepted and served back under /file=.  Uploads
    feed "Your documents" (issue 16), so they are taken up to ``sources.max_mb``."""
    url, _ = limited_app
    session = requests.Session()
    assert session.post(url + "/login", data={"username": LOGIN[0], "password": LOGIN[1]},
                        timeout=10).status_code == 200
    before = _upload_dir_files()
    big = os.urandom(30 * 1024 * 1024)
    resp = session.post(url + "/gradio_api/upload", files={"files": ("big.txt", big)},
                        timeout=60)
    assert resp.status_code == 413 and "the limit is 20 MB" in resp.text
    assert _upload_dir_files() == before  # nothing written to Gradio's temp folder
    resp = session.post(url + "/gradio_api/queue/join", data=b"x" * (65 * 1024),
                        headers={"content-type": "application/json"}, timeout=10)
    assert resp.status_code == 413 and "the limit is 64 KB" in resp.text


def test_app_sets_gradio_upload_limit_and_cache_cleanup(limited_app, stub_assistant):
    url, settings = limited_app
    from rag.app import ui

    assert launch_limits(settings)["max_file_size"] == 20 * 1024 * 1024
    demo = ui.build_app(stub_assistant, settings, bank=[])
    assert demo.delete_cache and demo.delete_cache[1] <= 24 * 3600


def test_app_chat_still_works_and_refuses_a_huge_history(limited_app):
    from gradio_client import Client

    url, _ = limited_app
    client = Client(url, auth=LOGIN, verbose=False)
    chat, *_ = client.predict("What does DPO optimize?", [], 5, "extractive", True,
                              api_name="/ask")
    assert chat[-1]["role"] == "assistant" and "[1]" in str(chat[-1]["content"])
    with pytest.raises(Exception, match="too long|413|limit"):
        client.predict("and its limits?", _chat(3000), 5, "extractive", True,
                       api_name="/ask")


def test_app_login_backoff(limited_app):
    """Before the fix: 100 wrong passwords in 0.3 s, all answered 'wrong'."""
    url, _ = limited_app
    start = time.perf_counter()
    statuses = [requests.post(url + "/login", data={"username": LOGIN[0],
                                                     "password": f"guess-{i}"},
                              timeout=10).status_code for i in range(20)]
    elapsed = time.perf_counter() - start
    assert statuses[:3] == [400, 400, 400] and set(statuses[3:]) == {429}, statuses
    resp = requests.post(url + "/login", data={"username": LOGIN[0], "password": LOGIN[1]},
                         timeout=10)
    assert resp.status_code == 429 and int(resp.headers["retry-after"]) > 0
    print(f"\n20 login attempts in {elapsed:.2f} s: {statuses.count(400)} checked, "
          f"{statuses.count(429)} refused (429)")
