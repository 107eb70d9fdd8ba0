"""The default store: one build folder under ``index/`` held in memory (FAISS through
llama-index, bm25s, NumPy arrays).  Every call is an array lookup or an in-process
search, so this stays the fastest path on one machine."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from rag.records import Chunk, SentenceInfo
from rag.search.index import LoadedIndex, bm25_tokenize
from rag.search.stores.base import SentenceTable, chunk_key


class FaissStore:
    """A loaded FAISS build behind the store interface (it is also its own view)."""

    kind = "faiss"

    def __init__(self, index: LoadedIndex):
        self.index = index
        self._sentence_chunk = np.array([c for c, _ in index.sentences], dtype=np.int64)
        self._position = {c.chunk_id: i for i, c in enumerate(index.chunks)}
        self._terms: list[frozenset[str]] | None = None
        self._df: tuple[int, dict[str, int]] | None = None

    @property
    def manifest(self) -> dict:
        return self.index.manifest

    @property
    def papers(self) -> dict[str, dict]:
        return self.index.papers

    @property
    def n_chunks(self) -> int:
        return len(self.index.chunks)

    def describe(self) -> str:
        return f"FAISS files at {self.index.build_dir}"

    def require_dim(self, dim: int) -> None:
        """Refuse a build whose vectors do not fit the embedding model's."""
        from rag.errors import IndexProblem

        stored = int(self.index.chunk_vectors.shape[1])
        if len(self.index.chunks) and stored != dim:
            raise IndexProblem(f"index at {self.index.build_dir} has {stored}-dimensional "
                               f"vectors, the embedding model {dim}; run `rag build --force`")

    def view(self, fresh: bool = False) -> FaissStore:
        return self

    def dense(self, query_vec: np.ndarray, n: int) -> list[tuple[int, float]]:
        from llama_index.core.vector_stores.types import VectorStoreQuery

        n = min(n, len(self.index.chunks))
        result = self.index.vector_store.query(
            VectorStoreQuery(query_embedding=query_vec.tolist(), similarity_top_k=n))
        return [(int(i), float(s)) for i, s in zip(result.ids, result.similarities)]

    def lexical(self, query: str, n: int) -> list[tuple[int, float]]:
        tokens = bm25_tokenize([query], return_ids=False)
        if not tokens or not tokens[0]:
            return []
        n = min(n, len(self.index.chunks))
        docs, scores = self.index.bm25.retrieve(tokens, k=n, show_progress=False, n_threads=1)
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

    def sentences(self, chunks: Sequence[Chunk]) -> SentenceTable:
        """Rows of the sentence table of ``chunks``, in that order (slices, no copies of
        text beyond the few rows asked for)."""
        terms = self.sentence_terms()
        rows: list[int] = []
        spans: dict[str, tuple[int, int]] = {}
        for chunk in chunks:
            key = chunk_key(chunk)
            if key in spans:
                continue
            pos = self._position.get(chunk.chunk_id)
            start, end = self.index.sentence_ranges[pos] if pos is not None else (0, 0)
            spans[key] = (len(rows), len(rows) + end - start)
            rows.extend(range(start, end))
        sentences, info = self.index.sentences, self.index.sentence_info
        return SentenceTable(
            texts=[sentences[r][1] for r in rows],
            info=[info[r] for r in rows] if info else [
                SentenceInfo(chunk=sentences[r][0], text=sentences[r][1],
                             prose=sentences[r][1]) for r in rows],
            terms=[terms[r] for r in rows], vectors=self.index.sentence_vectors[rows],
            spans=spans)

    def sentence_terms(self) -> list[frozenset[str]]:
        """BM25 tokens of every answer sentence, computed once."""
        if self._terms is None:
            texts = [s for _, s in self.index.sentences]
            self._terms = [frozenset(t) for t in bm25_tokenize(texts, return_ids=False)] \
                if texts else []
        return self._terms

    def document_frequencies(self) -> tuple[int, dict[str, int]]:
        """Number of passages and, per term, how many contain it (for IDF weights)."""
        if self._df is None:
            tokens = bm25_tokenize([c.embed_text for c in self.index.chunks], return_ids=False)
            df: dict[str, int] = {}
            for toks in tokens:
                for term in set(toks):
                    df[term] = df.get(term, 0) + 1
            self._df = (len(tokens), df)
        return self._df
