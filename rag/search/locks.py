"""File locks between processes (``fcntl``): one writer at a time, and a check for
whether another process holds a lock now."""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def exclusive(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (created, with its folder); others wait."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def held(path: Path, busy: type[OSError] | tuple = BlockingIOError) -> bool:
    """Whether another process holds the lock on ``path`` now (False when there is no
    such file); ``busy``: the errors of a failed try that mean "held"."""
    if not path.is_file():
        return False
    with open(path, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except busy:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
    return False
