"""Security of the HTTP routes: the API key (or the app's login), exposure checks and
the error shape.  Request-body limits and the login back-off are the server's
(``rag.app.limits``, issue 13), applied by ``app.py`` and ``rag serve`` around the API.
"""

from __future__ import annotations

import base64
import hmac
import ipaddress
import os
from collections.abc import Callable, Mapping
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


@dataclass(frozen=True)
class ApiAuth:
    """Who may call the API: a bearer ``key`` (``RAG_API_KEY``), and/or the app's
    ``login`` as HTTP Basic: one ``(user, password)`` or a ``check(user, password)``
    function (the app's users file), so an app locked by a login never serves an open
    API.  Neither set: open (the server binds loopback by default)."""

    key: str | None = None
    login: tuple[str, str] | Callable[[str, str], bool] | None = None

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
            return self._login_ok(user, password)
        return False

    def _login_ok(self, user: str, password: str) -> bool:
        if callable(self.login):
            return bool(self.login(user, password))
        return (hmac.compare_digest(user.encode(), self.login[0].encode())
                & hmac.compare_digest(password.encode(), self.login[1].encode()))

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
