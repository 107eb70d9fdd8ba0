"""The client ``rag ask`` uses to reach a running ``rag serve`` (standard library only).

``find_server`` reads ``<home>/index/serve.json`` and returns the server only when
its process is alive and its answer-shaping settings equal ours; ``ask`` posts one
question to ``/api/ask``.  Any failure to reach it (refused, timed out, a 5xx or a
key it refuses) is ``Unreachable``, and the CLI answers in-process instead; a 4xx
about the question itself is ``ServerRefused``, whose message is shown as is.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from dataclasses import dataclass

from rag.errors import RagError
from rag.settings import Settings


class Unreachable(Exception):
    """The server cannot answer; answer in-process."""


class ServerRefused(RagError):
    """The server rejected the question (bad input): its message is the error."""


@dataclass(frozen=True)
class Server:
    url: str
    pid: int
    auth: bool = False  # whether it requires a key


def find_server(settings: Settings) -> Server | None:
    from rag.api.serve import answer_fingerprint, discovery_file

    try:
        info = json.loads(discovery_file(settings).read_text())
        url, pid = str(info["url"]), int(info["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not _alive(pid) or info.get("settings") != answer_fingerprint(settings):
        return None
    return Server(url, pid, bool(info.get("auth")))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def ask(server: Server, question: str, k: int | None, backend: str | None,
        timeout: float, api_key: str | None = None, text: bool = False) -> dict | str:
    """The ``rag ask --json`` object from the server, or (``text``) what ``rag ask``
    prints."""
    body = json.dumps({"question": question, "k": k, "backend": backend}).encode()
    headers = {"Content-Type": "application/json",
               "Accept": "text/plain" if text else "application/json"}
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    request = urllib.request.Request(server.url + "/api/ask", data=body, headers=headers,
                                     method="POST")
    # the server is local: never send the question through a proxy
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=timeout) as response:
            payload = response.read()
            return payload.decode("utf-8") if text else json.loads(payload)
    except urllib.error.HTTPError as exc:
        message = _error_message(exc)
        if exc.code in (400, 413, 422):
            raise ServerRefused(message) from exc
        raise Unreachable(f"HTTP {exc.code}: {message}") from exc
    except (OSError, ValueError) as exc:  # refused, reset, timed out, not JSON
        raise Unreachable(str(exc)) from exc


def _error_message(exc: urllib.error.HTTPError) -> str:
    try:
        return json.loads(exc.read())["error"]["message"]
    except (OSError, ValueError, KeyError, TypeError):
        return exc.reason or f"HTTP {exc.code}"
