"""Logins for several people: a users file of ``name:password`` lines, or
``name:pbkdf2_sha256$<iterations>$<salt>$<hex digest>`` (``hash_password`` makes
one).  Each login has its own progress in the study database."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from pathlib import Path

from rag.errors import RagError

SCHEME = "pbkdf2_sha256"


def hash_password(password: str, iterations: int = 200_000) -> str:
    salt = secrets.token_hex(8)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), iterations)
    return f"{SCHEME}${iterations}${salt}${digest.hex()}"


def verify(password: str, stored: str) -> bool:
    if not stored.startswith(SCHEME + "$"):
        return hmac.compare_digest(password.encode(), stored.encode())
    try:
        _, iterations, salt, digest = stored.split("$")
        got = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), int(iterations))
    except ValueError:
        return False
    return hmac.compare_digest(got.hex(), digest)


def load_users(path: Path) -> dict[str, str]:
    """``{name: stored password}``; ``RagError`` for a missing or malformed file."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise RagError(f"cannot read the users file {path}: {exc}") from exc
    users = {}
    for lineno, line in enumerate(lines, 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name, sep, stored = line.strip().partition(":")
        if not sep or not name.strip() or not stored:
            raise RagError(f"{path}:{lineno}: expected `name:password` (or a "
                           f"{SCHEME} hash)")
        users[name.strip()] = stored
    if not users:
        raise RagError(f"the users file {path} lists nobody")
    return users


def users_auth(path: Path) -> Callable[[str, str], bool]:
    """A Gradio ``auth`` callable checking logins against the users file."""
    users = load_users(path)

    def check(name: str, password: str) -> bool:
        stored = users.get(name)
        return stored is not None and verify(password, stored)

    return check
