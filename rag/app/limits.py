"""Server-side limits of the app, as plain ASGI middleware (reusable by any ASGI app
served in the same process, e.g. an HTTP API mounted beside the Gradio app).

- ``BodyLimit``: request bodies over ``limits.max_request_kb`` are refused with 413
  before the application reads them (``Content-Length`` first, then while streaming);
  file uploads are refused unless a feature enables them, and then are bounded by
  ``sources.max_mb`` (the same limit as corpus files and ``rag add``).
- ``LoginGuard``: after ``limits.login_failures`` wrong logins from one client
  address, that address waits ``login_lockout_s`` (doubling with each further wrong
  login, up to ``login_max_lockout_s``) and gets 429 with ``Retry-After`` meanwhile;
  a correct login resets it.

``middleware(settings)`` lists both for ``FastAPI(middleware=...)`` (Gradio:
``launch(app_kwargs=...)``) or ``app.add_middleware``.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rag.corpus.files import mb_to_bytes
from rag.settings import Settings

UPLOAD_PATHS = ("/gradio_api/upload", "/upload")
LOGIN_PATHS = ("/login",)


async def _reply(send, status: int, message: str, headers: Sequence = ()) -> None:
    body = json.dumps({"error": message, "detail": message}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()), *headers]})
    await send({"type": "http.response.body", "body": body})


def _ends_with(path: str, suffixes: Sequence[str]) -> bool:
    path = path.rstrip("/") or "/"
    return any(path.endswith(suffix) for suffix in suffixes)


def _content_length(scope) -> int | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == b"content-length":
            text = value.decode("latin-1").strip()
            return int(text) if text.isdigit() else -1
    return None


class BodyLimit:
    """Refuse request bodies over ``max_bytes`` (uploads: ``upload_max_bytes``, or
    refused altogether when that is 0) with 413 / 403."""

    def __init__(self, app, max_bytes: int, upload_max_bytes: int = 0,
                 upload_paths: Sequence[str] = UPLOAD_PATHS):
        self.app = app
        self.max_bytes = max_bytes
        self.upload_max_bytes = upload_max_bytes
        self.upload_paths = tuple(upload_paths)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        limit = self.max_bytes
        if _ends_with(scope["path"], self.upload_paths):
            if not self.upload_max_bytes:
                return await _reply(send, 403, "uploads are not accepted by this app")
            limit = self.upload_max_bytes
        length = _content_length(scope)
        if length is not None:  # the server holds the client to the length it declared
            if not 0 <= length <= limit:
                return await _reply(send, 413, _too_large(limit))
            return await self.app(scope, receive, send)
        body = await _read_at_most(receive, limit)  # chunked: read (bounded), then replay
        if body is None:
            return await _reply(send, 413, _too_large(limit))
        return await self.app(scope, _replay(body, receive), send)


async def _read_at_most(receive, limit: int) -> bytes | None:
    """The whole request body, or None once it passes ``limit`` bytes."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks)  # the client went away: the app sees it next
        chunks.append(message.get("body", b""))
        size += len(chunks[-1])
        if size > limit:
            return None
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replay(body: bytes, receive):
    sent = False

    async def wrapped():
        nonlocal sent
        if sent:
            return await receive()  # e.g. http.disconnect for a streamed response
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return wrapped


def _too_large(limit: int) -> str:
    size = (f"{limit / 1024 / 1024:g} MB" if limit >= 1024 * 1024 else
            f"{limit / 1024:g} KB" if limit >= 1024 else f"{limit} bytes")
    return f"request body too large (the limit is {size})"
@dataclass
class _Client:
    failures: int = 0
    locked_until: float = 0.0


class LoginGuard:
    """A per-client (address) back-off for wrong logins on ``paths`` (see module)."""

    def __init__(self, app, failures: int = 5, lockout_s: float = 30.0,
                 max_lockout_s: float = 900.0, paths: Sequence[str] = LOGIN_PATHS,
                 clock: Callable[[], float] = time.monotonic, max_clients: int = 10_000):
        self.app = app
        self.failures, self.lockout_s, self.max_lockout_s = failures, lockout_s, max_lockout_s
        self.paths = tuple(paths)
        self.clock = clock
        self.max_clients = max_clients
        self.clients: dict[str, _Client] = {}
        self.lock = threading.Lock()

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope.get("method") != "POST" or not _ends_with(
                scope["path"], self.paths):
            return await self.app(scope, receive, send)
        client = (scope.get("client") or ("unknown",))[0]
        wait = self.wait_s(client)
        if wait > 0:
            return await _reply(send, 429, f"too many wrong logins from {client}: try again "
                                f"in {math.ceil(wait)} s", [(b"retry-after",
                                                             str(math.ceil(wait)).encode())])

        async def watching(message):
            if message["type"] == "http.response.start":
                self.record(client, ok=message["status"] < 400)
            await send(message)

        return await self.app(scope, receive, watching)

    def wait_s(self, client: str) -> float:
        """Seconds ``client`` must still wait before trying again (0: may try now)."""
        with self.lock:
            state = self.clients.get(client)
            return max(0.0, state.locked_until - self.clock()) if state else 0.0

    def record(self, client: str, ok: bool) -> None:
        with self.lock:
            if ok:
                self.clients.pop(client, None)
                return
            if client not in self.clients and len(self.clients) >= self.max_clients:
                self._forget_oldest()
            state = self.clients.setdefault(client, _Client())
            state.failures += 1
            over = state.failures - self.failures
            if over >= 0:
                wait = min(self.max_lockout_s, self.lockout_s * 2 ** min(over, 30))
                state.locked_until = self.clock() + wait

    def _forget_oldest(self) -> None:
        """Bound the memory one attacker with many addresses can use."""
        oldest = min(self.clients, key=lambda c: self.clients[c].locked_until)
        del self.clients[oldest]


def middleware(settings: Settings, uploads: bool = False) -> list:
    """Starlette ``Middleware`` entries for ``FastAPI(middleware=...)``: body limits
    (uploads only when a feature takes them: ``uploads=True``) and the login back-off."""
    from starlette.middleware import Middleware

    limits = settings.limits
    upload_bytes = mb_to_bytes(settings.sources.max_mb) if uploads else 0
    return [Middleware(LoginGuard, failures=limits.login_failures,
                       lockout_s=limits.login_lockout_s,
                       max_lockout_s=limits.login_max_lockout_s),
            Middleware(BodyLimit, max_bytes=limits.max_request_kb * 1024,
                       upload_max_bytes=upload_bytes)]


def launch_limits(settings: Settings, uploads: bool = False) -> dict:
    """``demo.launch`` keywords: the middleware above and Gradio's own upload limit."""
    return {"app_kwargs": {"middleware": middleware(settings, uploads)},
            "max_file_size": mb_to_bytes(settings.sources.max_mb)}
