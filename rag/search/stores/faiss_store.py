"""The default store: one build folder under ``index/`` held in memory (FAISS, written
through llama-index and searched directly; bm25s; NumPy arrays).  Every call is an
array lookup or an in-process search, so this stays the fastest path on one machine."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from rag.errors import IndexProblem
from rag.records import Chunk
from rag.search.index import LoadedIndex
from rag.search.query import stem_tokens


class FaissStore:
    """A loaded FAISS build behind the store interface (it is its own only view)."""

    kind = "faiss"

    def __init__(self, index: LoadedIndex):
        self.index = index
        self._sentence_chunk = np.array([c for c, _ in index.sentences], dtype=np.int64)

    @property
    def build_id(self) -> str:
        return str(self.index.build_dir)

    @property
    def stale(self) -> str:
        return self.index.stale

    @property
    def manifest(self) -> dict:
        return self.index.manifest

    def describe(self) -> str:
        return f"FAISS files at {self.index.build_dir}"

    def require_dim(self, dim: int) -> None:
        """Refuse a build whose vectors do not fit the embedding model's."""
        stored = int(self.index.chunk_vectors.shape[1])
        if len(self.index.chunks) and stored != dim:
            raise IndexProblem(f"index at {self.index.build_dir} has {stored}-dimensional "
                               f"vectors, the embedding model {dim}; run `rag build --force`")

    def view(self, fresh: bool = False) -> FaissStore:
        return self

    def corpus(self) -> LoadedIndex:
        return self.index

    def dense(self, query_vec: np.ndarray, n: int) -> list[tuple[int, float]]:
        return self.index.vector_store.search(query_vec, min(n, len(self.index.chunks)))

    def lexical(self, query: str, n: int) -> list[tuple[int, float]]:
        tokens = [list(stem_tokens(query))]
        if not tokens[0]:
            return []
        n = min(n, len(self.index.chunks))
        docs, scores = self.index.bm25.retrieve(tokens, k=n, show_progress=False, n_threads=0)
        return [(int(d), float(s)) for d, s in zip(docs[0], scores[0]) if s > 0]

    def by_sentence(self, query_vec: np.ndarray, n: int) -> list[tuple[int, float]]:
        """Passages ranked by their best sentence's cosine to the question."""
        if not len(self._sentence_chunk):
            return []
        scores = self.index.sentence_vectors @ query_vec
        best = np.full(len(self.index.chunks), -np.inf, dtype=np.float32)
        np.maximum.at(best, self._sentence_chunk, scores)
        n = min(n, int(np.isfinite(best).sum()))
        top = np.argpartition(-best, n - 1)[:n] if n else []
        return sorted(((int(d), float(best[d])) for d in top), key=lambda x: -x[1])

    def passages(self, positions: Sequence[int]) -> tuple[list[Chunk], np.ndarray]:
        idx = np.asarray(positions, dtype=np.int64)
        return [self.index.chunks[p] for p in idx], self.index.chunk_vectors[idx]
