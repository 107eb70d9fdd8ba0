"""The store interface retrieval and the answer step use.

A store serves index builds.  ``view()`` returns the build to use now: it searches
(dense, BM25, best sentence) and reads passages by position, and ``corpus()`` gives
the whole build in memory (passages, answer sentences with their roles and vectors,
paper cards, the manifest) shaped like a loaded FAISS build, for the parts of the
answer step that are computed once per build.  ``FaissStore`` reads files under
``index/``; ``MilvusStore`` searches in Milvus and reads the build from it, so a
replica needs no index files.

Positions returned by one view's searches are only meaningful to the same view: a
question is answered on one view from retrieval to citations.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np

from rag.errors import IndexProblem
from rag.records import Chunk


class StaleView(IndexProblem):
    """The build a view points at is gone (pruned); a fresh view answers again."""


class StoreView(Protocol):
    """One build."""

    @property
    def build_id(self) -> str: ...

    def view(self, fresh: bool = False) -> StoreView: ...

    def dense(self, query_vec: np.ndarray, n: int) -> list[tuple[int, float]]: ...

    def lexical(self, query: str, n: int) -> list[tuple[int, float]]: ...

    def by_sentence(self, query_vec: np.ndarray, n: int) -> list[tuple[int, float]]: ...

    def passages(self, positions: Sequence[int]) -> tuple[list[Chunk], np.ndarray]: ...

    def corpus(self): ...


class Store(StoreView, Protocol):
    """An index being served (``open_store`` picks one from the settings)."""

    kind: str
    stale: str  # why the build served is out of date ('' when it is current)
    manifest: dict  # what built the build served

    def describe(self) -> str: ...

    def require_dim(self, dim: int) -> None: ...


def open_store(settings, dim: int | None = None) -> Store:
    """The store the settings name, opened and checked (``IndexProblem`` with the fix).

    FAISS: the current build folder under ``index/``.  Milvus: the build its alias
    points at; ``dim`` (the embedding model's) is checked against the collections."""
    if settings.store == "milvus":
        from rag.search.stores.milvus_store import MilvusStore

        return MilvusStore(settings, dim)
    from rag.search.index import load_index
    from rag.search.stores.faiss_store import FaissStore

    return FaissStore(load_index(settings))


def as_store(source) -> Store:
    """A store for ``source``: a store or view as it is, a loaded build wrapped."""
    if hasattr(source, "view"):
        return source
    store = getattr(source, "store", None)  # a Milvus corpus knows its build
    if store is not None:
        return store
    from rag.search.stores.faiss_store import FaissStore

    return FaissStore(source)
