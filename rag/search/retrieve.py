"""Hybrid retrieval: dense + BM25, fused by RRF (FAISS + bm25s, or Milvus).

``rrf`` and ``collapse_near_duplicates`` are pure functions; ``Retriever``
wires them to the store (``rag.search.stores``): FAISS through llama-index and
bm25s in memory by default, or Milvus' dense and built-in BM25 search.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from rag.errors import IndexProblem
from rag.records import Hit
from rag.search.stores.base import StaleView, StoreView, as_store
from rag.settings import RetrievalSettings


def rrf(rankings: Sequence[Sequence[int]], weights: Sequence[float], k0: int) -> dict[int, float]:
    """Reciprocal rank fusion: score(d) = sum_i w_i / (k0 + rank_i(d)), ranks from 1."""
    scores: dict[int, float] = {}
    for ranking, weight in zip(rankings, weights):
        for rank, doc in enumerate(ranking, start=1):
            scores[doc] = scores.get(doc, 0.0) + weight / (k0 + rank)
    return scores


def collapse_near_duplicates(
    ordered: Sequence[int], vectors: np.ndarray, threshold: float,
) -> list[int]:
    """Keep the first of any group of passages whose cosine exceeds ``threshold``."""
    kept: list[int] = []
    for doc in ordered:
        if all(float(vectors[doc] @ vectors[other]) < threshold for other in kept):
            kept.append(doc)
    return kept


class Retriever:
    """Search the store (FAISS files or Milvus) with a precomputed query vector."""

    def __init__(self, store, settings: RetrievalSettings):
        self.store = as_store(store)  # a loaded FAISS build is wrapped
        self.settings = settings

    @property
    def index(self):
        """The loaded build (FAISS) or the store's whole-corpus view (Milvus)."""
        return getattr(self.store, "index", None) or self.store.corpus()

    def dense(self, query_vec: np.ndarray, n: int) -> list[tuple[int, float]]:
        return self.store.dense(query_vec, n)

    def by_sentence(self, query_vec: np.ndarray, n: int) -> list[tuple[int, float]]:
        """Passages ranked by their best sentence's cosine to the question."""
        return self.store.by_sentence(query_vec, n)

    def lexical(self, query: str, n: int) -> list[tuple[int, float]]:
        return self.store.lexical(query, n)

    def search(
        self, query: str, query_vec: np.ndarray, k: int | None = None, mode: str | None = None,
    ) -> list[Hit]:
        """Top-``k`` passages, near-duplicates collapsed (one build throughout: when a
        Milvus build is dropped mid-search, once more on the build served now)."""
        try:
            return self._search(self.store.view(), query, query_vec, k, mode)
        except StaleView:
            try:
                return self._search(self.store.view(fresh=True), query, query_vec, k, mode)
            except StaleView as exc:
                raise IndexProblem(f"the index changed during the search ({exc}); "
                                   "ask again") from None

    def _search(self, view: StoreView, query: str, query_vec: np.ndarray, k: int | None,
                mode: str | None) -> list[Hit]:
        cfg = self.settings
        k = k or cfg.k
        mode = mode or cfg.mode
        dense = view.dense(query_vec, cfg.candidates) if mode != "bm25" else []
        lexical = view.lexical(query, cfg.candidates) if mode != "dense" else []
        use_sent = mode == "hybrid" and cfg.sentence_weight > 0
        by_sent = view.by_sentence(query_vec, cfg.candidates) if use_sent else []
        rankings = [[d for d, _ in dense], [d for d, _ in lexical], [d for d, _ in by_sent]]
        weights = [cfg.dense_weight, cfg.bm25_weight, cfg.sentence_weight]
        fused = rrf(rankings, weights, cfg.rrf_k)
        ordered = sorted(fused, key=lambda d: (-fused[d], d))
        chunks, vectors = view.passages(ordered)
        kept = collapse_near_duplicates(range(len(ordered)), vectors, cfg.dedup_threshold)
        dense_pos = {d: (r, s) for r, (d, s) in enumerate(dense, start=1)}
        lex_rank = {d: (r, s) for r, (d, s) in enumerate(lexical, start=1)}
        hits = []
        for i in kept[:k]:
            doc = ordered[i]
            cos = float(vectors[i] @ query_vec)
            hits.append(Hit(chunk=chunks[i], score=fused[doc], dense_score=cos,
                            dense_rank=dense_pos.get(doc, (None,))[0],
                            bm25_rank=lex_rank.get(doc, (None,))[0],
                            bm25_score=lex_rank.get(doc, (None, None))[1]))
        return hits
