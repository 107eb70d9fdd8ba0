"""Hybrid retrieval: dense (FAISS through llama-index) + BM25 (bm25s), fused by RRF.

``rrf`` and ``collapse_near_duplicates`` are pure functions; ``Retriever``
wires them to the loaded index and returns passages (``rag.search.passages``:
a whole paper card or short section is one passage).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from rag.records import Hit
from rag.search.index import LoadedIndex
from rag.search.passages import Passages
from rag.search.query import camel_pieces, stem_tokens
from rag.settings import RetrievalSettings


def rrf(rankings: Sequence[Sequence[int]], weights: Sequence[float], k0: int) -> dict[int, float]:
    """Reciprocal rank fusion: score(d) = sum_i w_i / (k0 + rank_i(d)), ranks from 1."""
    scores: dict[int, float] = {}
    for ranking, weight in zip(rankings, weights):
        for rank, doc in enumerate(ranking, start=1):
            scores[doc] = scores.get(doc, 0.0) + weight / (k0 + rank)
    return scores


def collapse_near_duplicates(
    ordered: Sequence[int], vectors: np.ndarray, threshold: float, limit: int | None = None,
) -> list[int]:
    """Keep the first of any group of passages whose cosine exceeds ``threshold`` (the
    first ``limit`` kept ones, when given)."""
    kept: list[int] = []
    for doc in ordered:
        if limit is not None and len(kept) >= limit:
            break
        if all(float(vectors[doc] @ vectors[other]) < threshold for other in kept):
            kept.append(doc)
    return kept


class Retriever:
    """Search the loaded index with a precomputed query vector."""

    def __init__(self, index: LoadedIndex, settings: RetrievalSettings):
        self.index = index
        self.settings = settings
        self._sentence_chunk = np.array([c for c, _ in index.sentences], dtype=np.int64)
        self.passages = Passages(index.chunks, settings.passage_max_chars)

    def dense(self, query_vec: np.ndarray, n: int) -> list[tuple[int, float]]:
        from llama_index.core.vector_stores.types import VectorStoreQuery

        n = min(n, len(self.index.chunks))
        result = self.index.vector_store.query(
            VectorStoreQuery(query_embedding=query_vec.tolist(), similarity_top_k=n))
        return [(int(i), float(s)) for i, s in zip(result.ids, result.similarities)]

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

    def lexical(self, query: str, n: int) -> list[tuple[int, float]]:
        tokens = [list(stem_tokens(f"{query} {camel_pieces(query)}"))]
        if not tokens[0]:
            return []
        n = min(n, len(self.index.chunks))
        docs, scores = self.index.bm25.retrieve(tokens, k=n, show_progress=False, n_threads=0)
        return [(int(d), float(s)) for d, s in zip(docs[0], scores[0]) if s > 0]

    def search(
        self, query: str, query_vec: np.ndarray, k: int | None = None, mode: str | None = None,
        pinned: Sequence[int] = (),
    ) -> list[Hit]:
        """Top-``k`` passages (rag.search.passages), near-duplicates collapsed.  ``pinned``
        chunks (of the papers and methods the question names) join the fusion as one
        more ranking."""
        cfg = self.settings
        k = k or cfg.k
        mode = mode or cfg.mode
        dense = self.dense(query_vec, cfg.candidates) if mode != "bm25" else []
        lexical = self.lexical(query, cfg.candidates) if mode != "dense" else []
        use_sent = mode == "hybrid" and cfg.sentence_weight > 0
        by_sent = self.by_sentence(query_vec, cfg.candidates) if use_sent else []
        rankings = [[d for d, _ in dense], [d for d, _ in lexical], [d for d, _ in by_sent],
                    list(pinned) if mode == "hybrid" else []]
        weights = [cfg.dense_weight, cfg.bm25_weight, cfg.sentence_weight, cfg.name_weight]
        fused = rrf(rankings, weights, cfg.rrf_k)
        ordered = sorted(fused, key=lambda d: (-fused[d], d))
        kept = self.best_passages(ordered, k)
        lex_rank = {d: (r, s) for r, (d, s) in enumerate(lexical, start=1)}
        dense_rank = {d: r for r, (d, _) in enumerate(dense, start=1)}
        return [self._hit(group, doc, fused[doc], query_vec, dense_rank, lex_rank)
                for group, doc in kept]

    def best_passages(self, ordered: Sequence[int], k: int) -> list[tuple[int, int]]:
        """``(passage, best chunk)`` of the first ``k`` passages of the ranked chunks,
        passages whose best chunks are near-duplicates collapsed."""
        best: dict[int, int] = {}
        for doc in ordered:
            best.setdefault(self.passages.of[doc], doc)
        kept = collapse_near_duplicates(list(best.values()), self.index.chunk_vectors,
                                        self.settings.dedup_threshold, limit=k)
        return [(self.passages.of[doc], doc) for doc in kept]

    def _hit(self, group: int, doc: int, score: float, query_vec: np.ndarray,
             dense_rank: dict[int, int], lex_rank: dict[int, tuple[int, float]]) -> Hit:
        members = self.passages.groups[group]
        cos = max(float(self.index.chunk_vectors[i] @ query_vec) for i in members)
        return Hit(chunk=self.passages.chunk(group), score=score, dense_score=cos,
                   dense_rank=dense_rank.get(doc), bm25_rank=lex_rank.get(doc, (None,))[0],
                   bm25_score=lex_rank.get(doc, (None, None))[1],
                   parts=self.passages.part_ids(group) if len(members) > 1 else ())

    def passage_id(self, chunk_id: str) -> str:
        """The id of the passage that returns this chunk (its first chunk's id)."""
        return self.passages.passage_id(chunk_id)
