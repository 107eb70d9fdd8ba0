"""The index format: file names, manifest, checks, and loading a build folder.

Layout under ``index/<settings hash>/``::

    current -> builds/<build id>      (symlink, swapped atomically)
    builds/<build id>/manifest.json   (what built it, counts, file checksums)
                      chunks.jsonl, vectors.faiss, sentences.jsonl,
                      sentence_vectors.npy, bm25/

Writing a build (orchestration, vector reuse, the atomic swap) lives in
``rag.search.build``; this module defines what a build is and how it is read.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rag.errors import IndexProblem
from rag.records import Chunk, SentenceInfo
from rag.settings import FORMAT_VERSION, Settings, VectorIndexSettings

MANIFEST = "manifest.json"
CHUNKS = "chunks.jsonl"
VECTORS = "vectors.faiss"
SENTENCES = "sentences.jsonl"
SENTENCE_VECTORS = "sentence_vectors.npy"
BM25_DIR = "bm25"
PAPERS = "papers.json"


def corpus_fingerprint(corpus_dir: Path) -> str:
    """SHA-256 over the corpus files' names and contents."""
    digest = hashlib.sha256()
    files = sorted((corpus_dir / "docs").glob("*.txt")) + [corpus_dir / "papers.jsonl"]
    for path in files:
        if path.is_file():
            digest.update(path.relative_to(corpus_dir).as_posix().encode() + b"\0")
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def current_build(settings: Settings) -> Path | None:
    link = settings.index_dir / "current"
    return link.resolve() if link.is_symlink() and link.resolve().is_dir() else None


def read_manifest(build_dir: Path) -> dict:
    try:
        return json.loads((build_dir / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise IndexProblem(
            f"index manifest unreadable at {build_dir} ({exc}); run `rag build`") from exc


def staleness(settings: Settings, manifest: dict) -> str:
    """Why the index no longer matches the settings or corpus ('' when it does)."""
    shape = settings.index_shape()
    for key, value in shape.items():
        if manifest.get(key) != value:
            return f"{key} changed ({manifest.get(key)!r} -> {value!r})"
    if settings.corpus_dir.is_dir():
        if manifest.get("corpus_fingerprint") != corpus_fingerprint(settings.corpus_dir):
            return "corpus changed"
    return ""


def verify_files(build_dir: Path, manifest: dict) -> str:
    """A problem with the stored files ('' when every checksum matches)."""
    for name, expected in manifest.get("files", {}).items():
        path = build_dir / name
        if not path.is_file():
            return f"{name} is missing"
        if file_sha256(path) != expected:
            return f"{name} is damaged (checksum mismatch)"
    return ""


def sentence_embed_text(chunk: Chunk, sentence: str) -> str:
    """A sentence with its nearest heading (or paper title) as context."""
    context = chunk.title if chunk.doc_id.startswith("arxiv:") else chunk.section
    context = context.rsplit(" › ", 1)[-1] if context else chunk.title
    return f"{context}: {sentence}"


def faiss_index_kind(n: int, settings: VectorIndexSettings) -> str:
    """'flat' or 'hnsw': the setting, or by corpus size when it is 'auto'."""
    if settings.index_type != "auto":
        return settings.index_type
    return "flat" if n <= settings.flat_max_vectors else "hnsw"


def make_faiss_index(n: int, dim: int, settings: VectorIndexSettings):
    """An empty inner-product FAISS index for ``n`` vectors: exact below the threshold,
    HNSW above it (benchmarks/bench_scale.py measures both)."""
    import faiss

    if faiss_index_kind(n, settings) == "flat":
        return faiss.IndexFlatIP(dim)
    index = faiss.IndexHNSWFlat(dim, settings.hnsw_m, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = settings.hnsw_ef_construction
    index.hnsw.efSearch = settings.hnsw_ef_search
    return index


def describe_faiss_index(n: int, settings: VectorIndexSettings) -> str:
    if faiss_index_kind(n, settings) == "flat":
        return "faiss.IndexFlatIP"
    return (f"faiss.IndexHNSWFlat M={settings.hnsw_m} efConstruction="
            f"{settings.hnsw_ef_construction} efSearch={settings.hnsw_ef_search}")


# --------------------------------------------------------------------- loading


def bm25_tokenize(texts: list[str], return_ids: bool = True):
    import bm25s
    import Stemmer

    return bm25s.tokenize(texts, stopwords="en", stemmer=_stemmer(Stemmer),
                          return_ids=return_ids, show_progress=False)


_STEMMER = None


def _stemmer(module):
    global _STEMMER
    if _STEMMER is None:
        _STEMMER = module.Stemmer("english")
    return _STEMMER


def sentence_row(info: SentenceInfo) -> dict:
    """One line of ``sentences.jsonl``: chunk and text first, then role, facet and the
    rest (empty fields left out, so the file stays readable)."""
    row = info.model_dump()
    return {k: v for k, v in row.items() if v not in ("", False) or k in ("chunk", "text", "role")}


def sentence_from_row(row: dict) -> SentenceInfo:
    """The record of one ``sentences.jsonl`` line (``prose`` defaults to ``text``)."""
    data = {"prose": row.get("text", ""), **row}
    return SentenceInfo.model_validate(data)


@dataclass
class LoadedIndex:
    build_dir: Path
    manifest: dict
    chunks: list[Chunk]
    vector_store: object
    chunk_vectors: np.ndarray
    sentences: list[tuple[int, str]]
    sentence_vectors: np.ndarray
    bm25: object
    papers: dict[str, dict] = field(default_factory=dict)
    sentence_ranges: list[tuple[int, int]] = field(default_factory=list)
    # Parallel to ``sentences``: role, facet and answer-ready prose (rag.corpus.roles).
    sentence_info: list[SentenceInfo] = field(default_factory=list)


def load_build(build_dir: Path, manifest: dict) -> LoadedIndex:
    """Read one build folder, checking counts agree with each other."""
    import bm25s
    from llama_index.vector_stores.faiss import FaissVectorStore

    try:
        chunks = [Chunk(**json.loads(line)) for line in
                  (build_dir / CHUNKS).read_text(encoding="utf-8").splitlines()]
        store = FaissVectorStore.from_persist_path(str(build_dir / VECTORS))
        info = [sentence_from_row(json.loads(line)) for line in (
            build_dir / SENTENCES).read_text(encoding="utf-8").splitlines()]
        sentences = [(s.chunk, s.text) for s in info]
        sent_vecs = np.load(build_dir / SENTENCE_VECTORS, allow_pickle=False)
        bm25 = bm25s.BM25.load(str(build_dir / BM25_DIR), show_progress=False)
        papers = json.loads((build_dir / PAPERS).read_text(encoding="utf-8"))
    except Exception as exc:  # noqa: BLE001 - any failure here means a damaged index
        raise IndexProblem(f"index at {build_dir} is damaged ({exc}); run `rag build`") from exc
    faiss_index = store.client
    problem = _count_problem(faiss_index.ntotal, len(chunks), len(sentences), len(sent_vecs),
                             manifest)
    if problem:
        raise IndexProblem(f"index at {build_dir} is inconsistent: {problem}; run `rag build`")
    vectors = faiss_index.reconstruct_n(0, faiss_index.ntotal)
    return LoadedIndex(build_dir, manifest, chunks, store, vectors, sentences, sent_vecs,
                       bm25, papers, _ranges(sentences, len(chunks)), info)


def _count_problem(n_vectors: int, n_chunks: int, n_sent: int, n_sent_vecs: int,
                   manifest: dict) -> str:
    if n_vectors != n_chunks:
        return f"{n_vectors} vectors for {n_chunks} chunks"
    if n_sent != n_sent_vecs:
        return f"{n_sent_vecs} sentence vectors for {n_sent} sentences"
    if manifest.get("counts", {}).get("chunks") != n_chunks:
        return "chunk count differs from the manifest"
    return ""


def _ranges(sentences: list[tuple[int, str]], n_chunks: int) -> list[tuple[int, int]]:
    ranges = [(0, 0)] * n_chunks
    start = 0
    for pos in range(1, len(sentences) + 1):
        if pos == len(sentences) or sentences[pos][0] != sentences[start][0]:
            ranges[sentences[start][0]] = (start, pos)
            start = pos
    return ranges


def load_index(settings: Settings) -> LoadedIndex:
    """The current build, verified; raises ``IndexProblem`` naming the problem and fix."""
    build = current_build(settings)
    if build is None:
        raise IndexProblem(f"no index at {settings.index_dir}; run `rag build`")
    manifest = read_manifest(build)
    if manifest.get("format_version") != FORMAT_VERSION:
        raise IndexProblem("index format is outdated; run `rag build`")
    problem = staleness(settings, manifest) or verify_files(build, manifest)
    if problem:
        raise IndexProblem(f"index at {build} does not match: {problem}; run `rag build`")
    return load_build(build, manifest)
