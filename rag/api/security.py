"""Security of the HTTP routes: request-body limits, the API key, exposure checks.

``BodyLimitMiddleware`` is plain ASGI (no framework import), so the Gradio app
can use it for its own routes as well: it refuses a body over the limit from its
``Content-Length`` before reading it, and stops reading a chunked body as soon
as it passes the limit, with a JSON 413.
"""

from __future__ import annotations

import base64
import hmac
import ipaddress
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def error_body(message: str, kind: str, code: str | None = None) -> dict:
    """The one error shape of every route (OpenAI's)."""
    return {"error": {"message": message, "type": kind, "code": code}}


class BodyLimitMiddleware:
    """Refuse request bodies over ``max_bytes`` on paths starting with ``prefixes``
    (all paths when empty) with ``413`` and a JSON message.

    The body is read here first (up to the limit) and replayed to the application, so
    nothing of the application runs for a refused request and no partial response
    can have been sent."""

    def __init__(self, app, max_bytes: int, prefixes: Sequence[str] = ()):
        self.app = app
        self.max_bytes = max_bytes
        self.prefixes = tuple(prefixes)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or not self._applies(scope["path"]):
            return await self.app(scope, receive, send)
        length = _header(scope, b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_bytes):
            return await self._refuse(send)
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return None
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > self.max_bytes:
                return await self._refuse(send)
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay():
            nonlocal replayed
            if replayed:  # after the body: disconnect notices for streamed responses
                return await receive()
            replayed = True
            return {"type": "http.request", "body": b"".join(chunks), "more_body": False}

        return await self.app(scope, replay, send)

    def _applies(self, path: str) -> bool:
        return not self.prefixes or path.startswith(self.prefixes)

    async def _refuse(self, send) -> None:
        body = json.dumps(error_body(
            f"request body too large (limit {self.max_bytes:,} bytes)",
            "invalid_request_error", "body_too_large")).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


def _header(scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return value.decode("latin-1").strip()
    return None


@dataclass(frozen=True)
class ApiAuth:
    """Who may call the API: a bearer ``key`` (``RAG_API_KEY``), and/or the app's
    ``login`` as HTTP Basic (so an app locked with a login never serves an open API).
    Neither set: open (the server binds loopback by default)."""

    key: str | None = None
    login: tuple[str, str] | None = None

    @property
    def required(self) -> bool:
        return bool(self.key or self.login)

    def allows(self, authorization: str | None) -> bool:
        if not self.required:
            return True
        scheme, _, value = (authorization or "").partition(" ")
        value = value.strip()
        if self.key and scheme.lower() == "bearer":
            return hmac.compare_digest(value.encode(), self.key.encode())
        if self.login and scheme.lower() == "basic":
            try:
                user, _, password = base64.b64decode(value).decode().partition(":")
            except ValueError:
                return False
            return (hmac.compare_digest(user.encode(), self.login[0].encode())
                    & hmac.compare_digest(password.encode(), self.login[1].encode()))
        return False

    @property
    def challenge(self) -> str:
        return "Bearer" if self.key else 'Basic realm="rag"'


def api_key_from_env(name: str, environ: Mapping[str, str] = os.environ) -> str | None:
    """The API key from the environment variable ``name`` (blank means none)."""
    key = environ.get(name, "").strip()
    return key or None


def exposure_warnings(host: str, auth: ApiAuth) -> list[str]:
    if not is_loopback(host) and not auth.required:
        return [f"the API on {host} is reachable from other machines without a key; "
                "set RAG_API_KEY to require one"]
    return []
