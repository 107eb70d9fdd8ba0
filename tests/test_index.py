"""Index build, reuse, staleness and damage detection on the stub corpus."""

import json

import pytest

from rag.errors import IndexProblem
from rag.search.build import build_index
from rag.search.index import current_build, load_index, read_manifest
from rag.search.retrieve import Retriever


class CountingEmbedder:
    """The real embedder, counting how many texts it is asked to encode."""

    def __init__(self, inner):
        self.inner = inner
        self.encoded = 0

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def encode(self, texts, progress=False, label=""):
        self.encoded += len(texts)
        return self.inner.encode(texts)


def test_build_writes_manifest_and_loads(stub_home, embedder):
    report = build_index(stub_home, embedder)
    assert report.rebuilt and report.chunks > 5 and report.sentences > 5
    manifest = read_manifest(current_build(stub_home))
    assert manifest["embedding_model"] == "sentence-transformers/all-MiniLM-L6-v2"
    assert manifest["chunking"] == stub_home.chunking.model_dump()
    assert len(manifest["corpus_fingerprint"]) == 64 and manifest["format_version"] >= 1
    assert {"chunks.jsonl", "vectors.faiss", "manifest.json"} - set(manifest["files"]) == {
        "manifest.json"}
    index = load_index(stub_home)
    assert len(index.chunks) == report.chunks == index.vector_store.client.ntotal
    first = json.loads((current_build(stub_home) / "chunks.jsonl").read_text().splitlines()[0])
    assert {"chunk_id", "doc_id", "title", "section", "text", "arxiv_ids"} <= set(first)


def test_second_build_does_no_embedding_work(stub_home, embedder):
    build_index(stub_home, embedder)
    counting = CountingEmbedder(embedder)
    report = build_index(stub_home, counting)
    assert not report.rebuilt and counting.encoded == 0


def test_changed_corpus_rebuilds_and_reembeds_only_changes(stub_home, embedder):
    build_index(stub_home, embedder)
    doc = stub_home.corpus_dir / "docs" / "101_pilcrow_notes.txt"
    doc.write_text(doc.read_text() + "3. Retrieval¶\nRETRO retrieves chunks from a database.\n")
    counting = CountingEmbedder(embedder)
    report = build_index(stub_home, counting)
    assert report.rebuilt and report.reason == "corpus changed"
    assert 0 < counting.encoded <= 4 and report.reused > 10
    assert any("RETRO" in c.text for c in load_index(stub_home).chunks)


def test_changed_setting_uses_a_different_index(stub_home, embedder):
    build_index(stub_home, embedder)
    other = stub_home.updated(chunking={"chunk_tokens": 64})
    assert other.index_dir != stub_home.index_dir
    with pytest.raises(IndexProblem, match="rag build"):
        load_index(other)
    assert build_index(other, embedder).rebuilt


def test_damaged_files_are_detected_and_rebuilt(stub_home, embedder):
    build_index(stub_home, embedder)
    build = current_build(stub_home)
    vectors = build / "vectors.faiss"
    vectors.write_bytes(vectors.read_bytes()[:100])
    with pytest.raises(IndexProblem, match=r"vectors.faiss is damaged.*rag build"):
        load_index(stub_home)
    report = build_index(stub_home, embedder)
    assert report.rebuilt and "vectors.faiss" in report.reason
    assert load_index(stub_home).chunks


def test_missing_chunks_file_named(stub_home, embedder):
    build_index(stub_home, embedder)
    (current_build(stub_home) / "chunks.jsonl").unlink()
    with pytest.raises(IndexProblem, match="chunks.jsonl is missing"):
        load_index(stub_home)


def test_manifest_from_another_model_is_refused(stub_home, embedder):
    build_index(stub_home, embedder)
    path = current_build(stub_home) / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["embedding_model"] = "some/other-model"
    path.write_text(json.dumps(manifest))
    with pytest.raises(IndexProblem, match="embedding_model changed"):
        load_index(stub_home)


def test_bm25_round_trip_gives_same_hits(stub_home, embedder):
    build_index(stub_home, embedder)
    index = load_index(stub_home)
    retriever = Retriever(index, stub_home.retrieval)
    before = retriever.lexical("preference optimization reward model", 5)
    again = Retriever(load_index(stub_home), stub_home.retrieval).lexical(
        "preference optimization reward model", 5)
    assert before == again and before
    top = index.chunks[before[0][0]]
    assert "preference" in top.embed_text.lower() or "reward" in top.embed_text.lower()
