"""Domain errors.  Each message says what is wrong and how to fix it; the CLI and
the app show it as it is (exit code 2), never a traceback."""

from __future__ import annotations

import unicodedata

_ALLOWED_CONTROL = frozenset("\n\t\r")


def text_problem(text: str, subject: str, verb: str) -> str:
    """Why typed text cannot be used ('' when it can): lone surrogates (bytes that were
    not UTF-8) or control characters other than newline and tab.  ``subject`` names the
    text ("the question"), ``verb`` what the user does next ("ask")."""
    if any(unicodedata.category(ch) == "Cs" for ch in text):
        return (f"{subject} is not valid UTF-8 text: re-type it or check the encoding of "
                "your input")
    bad = sorted({ch for ch in text if unicodedata.category(ch) == "Cc"
                  and ch not in _ALLOWED_CONTROL})
    if bad:
        names = ", ".join(f"U+{ord(ch):04X}" for ch in bad[:5])
        return f"{subject} contains control characters ({names}): remove them and {verb} again"
    return ""


class RagError(Exception):
    """Base of every error meant for the user."""


class InvalidQuestion(RagError):
    """The question is empty, too long or holds control characters."""


class CorpusError(RagError):
    """The corpus folder is missing or holds nothing usable."""


class IndexProblem(RagError):
    """The index is missing, stale or damaged."""


class EmbeddingModelError(RagError):
    """The embedding model's files are missing or unreadable."""


class BackendError(RagError):
    """An answer backend is unknown or unavailable."""


class InvalidAnswer(RagError):
    """A mock-interview answer is empty, too long, or there is no question to answer."""


class StoreUnavailable(IndexProblem):
    """The index store (a Milvus server) cannot be reached, or refused the login."""


class ProgressUnavailable(RagError):
    """The progress database is locked, read-only, missing or from a newer schema."""


class DocumentRejected(RagError):
    """A file given to `rag add` (or uploaded) cannot be added; the message says why."""
