"""Reading corpus files safely: only regular files inside the corpus folder, up to a
size limit (``sources.max_mb``).

A symlink may point anywhere inside the corpus folder; one that resolves outside it
(``ln -s /etc/passwd corpus/docs/x.txt``) is refused, so nothing outside the corpus
ever reaches the index or a client's evidence panel.  FIFOs, devices and sockets are
skipped (opening a FIFO would block a build forever: files are opened non-blocking
and checked on the open descriptor).  A file over the limit is skipped with the
limit in the message before a byte of it is read.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

CARDS = "papers.jsonl"
_KINDS = {stat.S_IFIFO: "a FIFO", stat.S_IFSOCK: "a socket", stat.S_IFCHR: "a device",
          stat.S_IFBLK: "a device"}


class Skipped(Exception):  # noqa: N818 - a reason to skip, not a failure
    """Why a corpus file is not read; ``io_error`` when the file could not be opened."""

    def __init__(self, reason: str, io_error: bool = False):
        super().__init__(reason)
        self.reason = reason
        self.io_error = io_error


def mb_to_bytes(max_mb: float) -> int:
    """``sources.max_mb`` in bytes (1 MB = 1024 x 1024 bytes, as Gradio counts)."""
    return int(max_mb * 1024 * 1024)


def too_big(size: int, max_bytes: int) -> str:
    return (f"{size / 1024 / 1024:.1f} MB is over the {max_bytes / 1024 / 1024:g} MB limit "
            "(RAG_SOURCES__MAX_MB)")


def corpus_files(corpus_dir: Path) -> list[Path]:
    """The files a corpus consists of: ``docs/*.txt`` in name order, then the cards."""
    docs = corpus_dir / "docs"
    found = sorted(docs.glob("*.txt")) if docs.is_dir() else []
    cards = corpus_dir / CARDS
    return found + ([cards] if cards.exists() or cards.is_symlink() else [])


def inside(path: Path, root: Path) -> Path:
    """``path`` with its links resolved; ``Skipped`` when that is outside ``root``."""
    real = path.resolve()
    if not real.is_relative_to(root.resolve()):
        raise Skipped(f"refused: it links outside the corpus folder (to {real})")
    return real


@contextmanager
def open_checked(path: Path, root: Path, max_bytes: int | None) -> Iterator[tuple]:
    """An open binary file and its size, when ``path`` is a regular file inside ``root``
    no larger than ``max_bytes``; raises ``Skipped`` otherwise."""
    real = inside(path, root)
    try:
        fd = os.open(real, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        raise Skipped(f"unreadable ({exc.strerror or exc})", io_error=True) from exc
    info = os.fstat(fd)
    kind = _kind(info.st_mode)
    if kind or (max_bytes is not None and info.st_size > max_bytes):
        os.close(fd)
        raise Skipped(kind or too_big(info.st_size, max_bytes))
    with os.fdopen(fd, "rb") as handle:
        yield handle, info


def _kind(mode: int) -> str:
    """Why a file of this mode is not read ('' for a regular file)."""
    if stat.S_ISREG(mode):
        return ""
    if stat.S_ISDIR(mode):
        return "unreadable (Is a directory)"
    return f"not a regular file ({_KINDS.get(stat.S_IFMT(mode), 'not a file')})"


def read_file(path: Path, root: Path, max_bytes: int | None = None) -> bytes:
    """The bytes of one corpus file (see ``open_checked``)."""
    with open_checked(path, root, max_bytes) as (handle, _):
        try:
            data = handle.read(-1 if max_bytes is None else max_bytes + 1)
        except OSError as exc:
            raise Skipped(f"unreadable ({exc.strerror or exc})", io_error=True) from exc
    if max_bytes is not None and len(data) > max_bytes:  # it grew while we looked
        raise Skipped(too_big(len(data), max_bytes))
    return data


def file_state(path: Path, root: Path, max_bytes: int | None = None) -> str:
    """What the index depends on in one file: the SHA-256 of its content, or why it is
    skipped (an over-size file counts by size and time, never read).  Never raises."""
    try:
        with open_checked(path, root, max_bytes) as (handle, _):
            return hashlib.file_digest(handle, "sha256").hexdigest()
    except Skipped as skip:
        if not skip.reason.endswith("(RAG_SOURCES__MAX_MB)"):
            return f"skipped: {skip.reason}"
    except OSError as exc:
        return f"unreadable {exc.errno}"
    try:
        info = path.stat()
    except OSError as exc:
        return f"unreadable {exc.errno}"
    return f"too big {info.st_size} {info.st_mtime_ns}"
