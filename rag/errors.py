"""Domain errors.  Each message says what is wrong and how to fix it; the CLI and
the app show it as it is (exit code 2), never a traceback."""


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
