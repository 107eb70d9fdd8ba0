"""Hybrid retrieval: dense + BM25, fused by RRF (FAISS + bm25s, or Milvus).

``rrf`` and ``collapse_near_duplicates`` are pure functions; ``Retriever``
wires them to the store (``rag.search.stores``): FAISS through llama-index and
bm25s in memory by default, or Milvus' dense and built-in BM25 search.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from rag.records import Hit
from rag.search.stores.base import StoreView, as_store
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
    """Search a store (FAISS files or Milvus) with a precomputed query vector."""

    def __init__(self, store, settings: RetrievalSettings):
        self.store = as_store(store)  # a loaded FAISS build is wrapped
        self.settings = settings

    @property
    def index(self):
        """The whole build searched now (a loaded FAISS build or a Milvus corpus)."""
        return self.store.view().corpus()

    def dense(self, query_vec: np.ndarray, n: int) -> list[tuple[int, float]]:
        return self.store.view().dense(query_vec, n)

    def by_sentence(self, query_vec: np.ndarray, n: int) -> list[tuple[int, float]]:
        """Passages ranked by their best sentence's cosine to the question."""
        return self.store.view().by_sentence(query_vec, n)

    def lexical(self, query: str, n: int) -> list[tuple[int, float]]:
        return self.store.view().lexical(query, n)

    def search(
        self, query: str, query_vec: np.ndarray, k: int | None = None, mode: str | None = None,
        pinned: Sequence[int] = (),
    ) -> list[Hit]:
        """Top-``k`` passages, near-duplicates collapsed.  ``pinned`` passages (of the
        papers and methods the question names) join the fusion as one more ranking.
        One build throughout (``StaleView`` when it was dropped meanwhile)."""
        return self._search(self.store.view(), query, query_vec, k, mode, pinned)

    def _search(self, view: StoreView, query: str, query_vec: np.ndarray, k: int | None,
                mode: str | None, pinned: Sequence[int]) -> list[Hit]:
        cfg = self.settings
        k = k or cfg.k
        mode = mode or cfg.mode
        dense = view.dense(query_vec, cfg.candidates) if mode != "bm25" else []
        lexical = view.lexical(query, cfg.candidates) if mode != "dense" else []
        use_sent = mode == "hybrid" and cfg.sentence_weight > 0
        by_sent = view.by_sentence(query_vec, cfg.candidates) if use_sent else []
        rankings = [[d for d, _ in dense], [d for d, _ in lexical], [d for d, _ in by_sent],
                    list(pinned) if mode == "hybrid" else []]
        weights = [cfg.dense_weight, cfg.bm25_weight, cfg.sentence_weight, cfg.name_weight]
        fused = rrf(rankings, weights, cfg.rrf_k)
        ordered = sorted(fused, key=lambda d: (-fused[d], d))
        chunks, vectors = view.passages(ordered)
        kept = collapse_near_duplicates(range(len(ordered)), vectors, cfg.dedup_threshold,
                                        limit=k)
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
