"""Hybrid retrieval: dense + BM25, fused by RRF (FAISS + bm25s, or Milvus).

``rrf`` and ``collapse_near_duplicates`` are pure functions; ``Retriever``
wires them to the store (``rag.search.stores``: FAISS through llama-index and
bm25s in memory by default, or Milvus' dense and built-in BM25 search) and
returns passages (``rag.search.passages``: a whole paper card or short section
is one passage).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from rag.records import Hit
from rag.search.passages import Passages
from rag.search.query import camel_pieces
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
    """Search a store (FAISS files or Milvus) with a precomputed query vector and return
    passages."""

    def __init__(self, store, settings: RetrievalSettings):
        self.store = as_store(store)  # a loaded FAISS build is wrapped
        self.settings = settings
        self._passages: tuple[str, Passages] | None = None  # (build id, its passages)

    @property
    def index(self):
        """The whole build searched now (a loaded FAISS build or a Milvus corpus)."""
        return self.store.view().corpus()

    @property
    def passages(self) -> Passages:
        return self._passages_of(self.store.view())

    def _passages_of(self, view: StoreView) -> Passages:
        """The passages of the view's build (computed once per build)."""
        cached = self._passages
        if cached is None or cached[0] != view.build_id:
            cached = (view.build_id, Passages(view.corpus().chunks,
                                              self.settings.passage_max_chars))
            self._passages = cached
        return cached[1]

    def dense(self, query_vec: np.ndarray, n: int) -> list[tuple[int, float]]:
        return self.store.view().dense(query_vec, n)

    def by_sentence(self, query_vec: np.ndarray, n: int) -> list[tuple[int, float]]:
        """Passages ranked by their best sentence's cosine to the question."""
        return self.store.view().by_sentence(query_vec, n)

    def lexical(self, query: str, n: int) -> list[tuple[int, float]]:
        return self.store.view().lexical(_lexical_query(query), n)

    def search(
        self, query: str, query_vec: np.ndarray, k: int | None = None, mode: str | None = None,
        pinned: Sequence[int] = (), named: Sequence[int] = (),
    ) -> list[Hit]:
        """Top-``k`` passages (rag.search.passages), near-duplicates collapsed.  ``pinned``
        chunks (of the papers and methods the question names) join the fusion as one
        more ranking; the passages of ``named`` chunks (the paper the question names
        first: "What is GPT-3?") are always among the hits, in place of the last ones.
        One build throughout (``StaleView`` when it was dropped meanwhile)."""
        return self._search(self.store.view(), query, query_vec, k, mode, pinned, named)

    def _search(self, view: StoreView, query: str, query_vec: np.ndarray, k: int | None,
                mode: str | None, pinned: Sequence[int],
                named: Sequence[int] = ()) -> list[Hit]:
        cfg = self.settings
        k = k or cfg.k
        mode = mode or cfg.mode
        dense = view.dense(query_vec, cfg.candidates) if mode != "bm25" else []
        lexical = (view.lexical(_lexical_query(query), cfg.candidates)
                   if mode != "dense" else [])
        use_sent = mode == "hybrid" and cfg.sentence_weight > 0
        by_sent = view.by_sentence(query_vec, cfg.candidates) if use_sent else []
        rankings = [[d for d, _ in dense], [d for d, _ in lexical], [d for d, _ in by_sent],
                    list(pinned) if mode == "hybrid" else []]
        weights = [cfg.dense_weight, cfg.bm25_weight, cfg.sentence_weight, cfg.name_weight]
        fused = rrf(rankings, weights, cfg.rrf_k)
        ordered = sorted(fused, key=lambda d: (-fused[d], d))
        passages = self._passages_of(view)
        kept = self._best(view, passages, ordered, k)
        if mode == "hybrid":
            kept = _with_named(kept, named, passages, k)
        lex_rank = {d: (r, s) for r, (d, s) in enumerate(lexical, start=1)}
        dense_rank = {d: r for r, (d, _) in enumerate(dense, start=1)}
        return [self._hit(view, passages, group, doc, fused[doc], query_vec, dense_rank,
                          lex_rank) for group, doc in kept]

    def best_passages(self, ordered: Sequence[int], k: int) -> list[tuple[int, int]]:
        """``(passage, best chunk)`` of the first ``k`` passages of the ranked chunks,
        passages whose best chunks are near-duplicates collapsed."""
        view = self.store.view()
        return self._best(view, self._passages_of(view), ordered, k)

    def _best(self, view: StoreView, passages: Passages, ordered: Sequence[int],
              k: int) -> list[tuple[int, int]]:
        best: dict[int, int] = {}
        for doc in ordered:
            best.setdefault(passages.of[doc], doc)
        docs = list(best.values())
        if not docs:
            return []
        _, vectors = view.passages(docs)
        kept = collapse_near_duplicates(range(len(docs)), vectors,
                                        self.settings.dedup_threshold, limit=k)
        return [(passages.of[docs[i]], docs[i]) for i in kept]

    def _hit(self, view: StoreView, passages: Passages, group: int, doc: int, score: float,
             query_vec: np.ndarray, dense_rank: dict[int, int],
             lex_rank: dict[int, tuple[int, float]]) -> Hit:
        members = passages.groups[group]
        _, vectors = view.passages(members)
        cos = float(np.max(vectors @ query_vec))
        return Hit(chunk=passages.chunk(group), score=score, dense_score=cos,
                   dense_rank=dense_rank.get(doc), bm25_rank=lex_rank.get(doc, (None,))[0],
                   bm25_score=lex_rank.get(doc, (None, None))[1],
                   parts=passages.part_ids(group) if len(members) > 1 else ())

    def passage_id(self, chunk_id: str) -> str:
        """The id of the passage that returns this chunk (its first chunk's id)."""
        return self.passages.passage_id(chunk_id)


def _with_named(kept: list[tuple[int, int]], named: Sequence[int], passages: Passages,
                k: int) -> list[tuple[int, int]]:
    """``kept`` with the passage of every ``named`` chunk (at most ``k - 1`` of them and
    never more than two), replacing the lowest-ranked other passages."""
    want = list(dict.fromkeys((passages.of[c], c) for c in named
                              if passages.of[c] not in {g for g, _ in kept}))
    room = [i for i, (g, _) in enumerate(kept)
            if g not in {passages.of[c] for c in named}]
    for (group, doc), i in zip(want[: min(2, k - 1)], reversed(room[1:])):
        kept[i] = (group, doc)
    return kept


def _lexical_query(query: str) -> str:
    """The BM25 query: the question plus the pieces of its CamelCase names."""
    return f"{query} {camel_pieces(query)}"
