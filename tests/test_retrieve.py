"""Reciprocal rank fusion, near-duplicate collapse and retrieval modes."""

import numpy as np
import pytest

from rag.search.retrieve import collapse_near_duplicates, rrf


def test_rrf_matches_hand_computation():
    scores = rrf([[1, 2, 3], [3, 1]], [1.0, 1.0], k0=60)
    assert scores[1] == pytest.approx(1 / 61 + 1 / 62)
    assert scores[2] == pytest.approx(1 / 62)
    assert scores[3] == pytest.approx(1 / 63 + 1 / 61)
    assert sorted(scores, key=lambda d: -scores[d]) == [1, 3, 2]


def test_rrf_weights_and_empty_rankings():
    assert rrf([[], []], [1, 1], 60) == {}
    scores = rrf([[1], [2]], [2.0, 1.0], k0=10)
    assert scores[1] == pytest.approx(2 / 11) and scores[2] == pytest.approx(1 / 11)
    assert rrf([[1, 2], [2, 1]], [1.0, 0.0], 60)[1] > rrf([[1, 2], [2, 1]], [1.0, 0.0], 60)[2]


def test_collapse_near_duplicates_keeps_first_of_group():
    vecs = np.array([[1, 0, 0], [0.999, 0.0447, 0], [0, 1, 0], [0, 0.6, 0.8]], dtype=np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    assert collapse_near_duplicates([0, 1, 2, 3], vecs, 0.95) == [0, 2, 3]
    assert collapse_near_duplicates([1, 0, 2], vecs, 0.95) == [1, 2]
    assert collapse_near_duplicates([0, 1], vecs, 1.01) == [0, 1]


def test_search_modes_and_k(stub_assistant):
    a = stub_assistant
    q = "How does direct preference optimization remove the reward model?"
    vec = a.embedder.encode_query(q)
    for mode in ("hybrid", "dense", "bm25"):
        hits = a.retriever.search(q, vec, k=3, mode=mode)
        assert 1 <= len(hits) <= 3
        assert any("reward model" in h.chunk.text for h in hits)
        assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    dense_only = a.retriever.search(q, vec, k=3, mode="dense")
    assert all(h.bm25_rank is None for h in dense_only)
    assert len(a.retriever.search(q, vec, k=50)) <= len(a.index.chunks)


def test_lexical_query_without_known_terms(stub_assistant):
    assert stub_assistant.retriever.lexical("the of and", 5) == []
    assert stub_assistant.retriever.lexical("zzzqqq unknownword", 5) == []
