"""The FAISS index type is chosen by corpus size (rag.search.index.make_faiss_index)."""

from __future__ import annotations

import faiss
import numpy as np
import pytest

from rag.search.build import build_index
from rag.search.index import (
    describe_faiss_index,
    faiss_index_kind,
    load_index,
    make_faiss_index,
    read_manifest,
)
from rag.settings import VectorIndexSettings


@pytest.mark.parametrize(("index_type", "n", "kind"), [
    ("auto", 10, "flat"), ("auto", 50_000, "flat"), ("auto", 50_001, "hnsw"),
    ("flat", 10_000_000, "flat"), ("hnsw", 10, "hnsw")])
def test_kind_follows_setting_and_size(index_type: str, n: int, kind: str):
    settings = VectorIndexSettings(index_type=index_type, flat_max_vectors=50_000)
    assert faiss_index_kind(n, settings) == kind


def test_hnsw_index_carries_its_parameters():
    settings = VectorIndexSettings(index_type="hnsw", hnsw_m=16, hnsw_ef_construction=40,
                                   hnsw_ef_search=99)
    index = make_faiss_index(100, 8, settings)
    assert isinstance(index, faiss.IndexHNSWFlat)
    assert index.metric_type == faiss.METRIC_INNER_PRODUCT
    assert (index.hnsw.efConstruction, index.hnsw.efSearch) == (40, 99)
    assert "M=16" in describe_faiss_index(100, settings)
    flat = make_faiss_index(100, 8, VectorIndexSettings())
    assert isinstance(flat, faiss.IndexFlatIP)
    assert describe_faiss_index(100, VectorIndexSettings()) == "faiss.IndexFlatIP"


def test_hnsw_build_loads_and_finds_what_flat_finds(stub_home, stub_assistant, embedder):
    """An HNSW-backed build round-trips (efSearch kept) and ranks like the exact index."""
    settings = stub_home.updated(vector_index={"index_type": "hnsw"})
    build_index(settings, embedder)
    flat, hnsw = stub_assistant.index, load_index(settings)
    assert isinstance(flat.vector_store.client, faiss.IndexFlatIP)
    assert isinstance(hnsw.vector_store.client, faiss.IndexHNSWFlat)
    assert hnsw.vector_store.client.hnsw.efSearch == settings.vector_index.hnsw_ef_search
    assert "IndexHNSWFlat" in read_manifest(hnsw.build_dir)["vector_store"]
    np.testing.assert_allclose(hnsw.chunk_vectors, flat.chunk_vectors, atol=1e-6)
    query = flat.chunk_vectors[3][None, :]
    _, exact = flat.vector_store.client.search(query, 5)
    _, approx = hnsw.vector_store.client.search(query, 5)
    assert approx[0][0] == exact[0][0] == 3
    assert len(set(approx[0]) & set(exact[0])) >= 4
