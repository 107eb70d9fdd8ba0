"""The store interface retrieval and the answer step use, and what it returns.

A store serves one index build: passage search (dense and BM25), passages and their
vectors by position, the answer sentences of given passages (text, role, terms,
vector), paper cards and the manifest.  ``FaissStore`` reads files under ``index/``;
``MilvusStore`` asks a Milvus server per question, so a replica needs no index files.

``view()`` returns the build to use for one search: positions returned by ``dense`` and
``lexical`` are only meaningful to the same view's ``passages``.  Sentences are looked up
by passage *content* (``chunk_key``), so they always match the passage text shown even
when a new build was switched in between retrieval and answering.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Protocol

import numpy as np

from rag.records import Chunk, SentenceInfo


class StaleView(Exception):  # noqa: N818 - internal signal, never shown to a user
    """The build a view points at is gone (pruned); take a fresh view and retry."""


@lru_cache(maxsize=65_536)
def chunk_key(chunk: Chunk) -> str:
    """Identifies a passage by id and content: equal keys mean equal sentences (cached:
    the answer step asks for the same passages' keys again and again)."""
    digest = hashlib.sha256(f"{chunk.embed_text}\0{chunk.text}".encode()).hexdigest()[:16]
    return f"{chunk.chunk_id}@{digest}"


@dataclass(frozen=True)
class SentenceTable:
    """Answer sentences of some passages, grouped by passage, in index order.

    ``info`` holds each sentence's record (text, prose, role, facet: rag.corpus.roles);
    ``terms`` its BM25 tokens; ``spans`` maps a passage's ``chunk_key`` to its rows."""

    texts: list[str]
    info: list[SentenceInfo]
    terms: list[frozenset[str]]
    vectors: np.ndarray
    spans: dict[str, tuple[int, int]] = field(default_factory=dict)

    def span(self, chunk: Chunk) -> tuple[int, int]:
        return self.spans.get(chunk_key(chunk), (0, 0))

    @classmethod
    def empty(cls, dim: int) -> SentenceTable:
        return cls([], [], [], np.zeros((0, dim), dtype=np.float32), {})


class StoreView(Protocol):
    """One build, for one search."""

    def dense(self, query_vec: np.ndarray, n: int) -> list[tuple[int, float]]: ...

    def lexical(self, query: str, n: int) -> list[tuple[int, float]]: ...

    def by_sentence(self, query_vec: np.ndarray, n: int) -> list[tuple[int, float]]: ...

    def passages(self, positions: Sequence[int]) -> tuple[list[Chunk], np.ndarray]: ...


class Store(StoreView, Protocol):
    """An index build being served (``rag.search.stores.open_store`` picks one)."""

    kind: str

    @property
    def manifest(self) -> dict: ...

    @property
    def papers(self) -> dict[str, dict]: ...

    @property
    def n_chunks(self) -> int: ...

    def view(self, fresh: bool = False) -> StoreView: ...

    def sentences(self, chunks: Sequence[Chunk]) -> SentenceTable: ...

    def document_frequencies(self) -> tuple[int, dict[str, int]]: ...

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
    """A store for ``source``: a store as it is, a loaded FAISS build wrapped."""
    if hasattr(source, "view"):
        return source
    store = getattr(source, "store", None)  # a Milvus corpus view carries its store
    if store is not None:
        return store
    from rag.search.stores.faiss_store import FaissStore

    return FaissStore(source)
