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
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rag.corpus import files
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


def corpus_fingerprint(corpus_dir: Path, max_bytes: int | None = None) -> str:
    """SHA-256 over the corpus files' names and what the index depends on in each:
    its content, or why it is skipped (``rag.corpus.files``).  Never fails and never
    reads a file it would skip (a FIFO, a link out of the corpus, an over-size file)."""
    digest = hashlib.sha256()
    for path in files.corpus_files(corpus_dir):
        state = files.file_state(path, corpus_dir, max_bytes)
        digest.update(path.relative_to(corpus_dir).as_posix().encode() + b"\0")
        digest.update(state.encode() if " " in state else bytes.fromhex(state))
    registry = corpus_dir / "added" / "registry.json"  # your documents (rag add)
    if registry.is_file() and not registry.is_symlink():
        digest.update(b"added/registry.json\0" + bytes.fromhex(file_sha256(registry)))
    return digest.hexdigest()


def corpus_max_bytes(settings: Settings) -> int:
    return files.mb_to_bytes(settings.sources.max_mb)


def file_sha256(path: Path) -> str:
    with path.open("rb") as handle:  # streamed: a large file is never read whole
        return hashlib.file_digest(handle, "sha256").hexdigest()


def current_build(settings: Settings) -> Path | None:
    link = settings.index_dir / "current"
    return link.resolve() if link.is_symlink() and link.resolve().is_dir() else None


def read_manifest(build_dir: Path) -> dict:
    try:
        return json.loads((build_dir / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as exc:
        raise IndexProblem(
            f"index manifest unreadable at {build_dir} ({exc}); run `rag build`") from exc


def staleness(settings: Settings, manifest: dict, ignore: tuple[str, ...] = ()) -> str:
    """Why the index no longer matches the settings or corpus ('' when it does);
    ``ignore`` skips keys of ``index_shape()`` and "corpus"."""
    shape = settings.index_shape()
    for key, value in shape.items():
        if key not in ignore and manifest.get(key) != value:
            return f"{key} changed ({manifest.get(key)!r} -> {value!r})"
    if "corpus" not in ignore and settings.corpus_dir.is_dir():
        current = corpus_fingerprint(settings.corpus_dir, corpus_max_bytes(settings))
        if manifest.get("corpus_fingerprint") != current:
            return "corpus changed"
    return ""


REQUIRED_FILES = (CHUNKS, VECTORS, SENTENCES, SENTENCE_VECTORS, PAPERS,
                  *(f"{BM25_DIR}/{name}" for name in (
                      "params.index.json", "vocab.index.json", "data.csc.index.npy",
                      "indices.csc.index.npy", "indptr.csc.index.npy")))
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def manifest_problem(manifest: object) -> str:
    """What makes a manifest unusable ('' when it is well formed).  A manifest must
    hold a SHA-256 for every part of the build: without them nothing is verified."""
    if not isinstance(manifest, dict):
        return f"the manifest is a JSON {type(manifest).__name__}, not an object"
    files = manifest.get("files")
    if not isinstance(files, dict) or not files:
        return "the manifest lists no file checksums"
    for name, digest in files.items():
        if not isinstance(digest, str) or not _SHA256.match(digest):
            return f"the manifest's checksum of {name} is not a SHA-256"
        if Path(name).is_absolute() or ".." in Path(name).parts:
            return f"the manifest lists a file outside the build ({name})"
    missing = [name for name in REQUIRED_FILES if name not in files]
    if missing:
        return f"the manifest has no checksum for {', '.join(missing)}"
    counts = manifest.get("counts")
    if not isinstance(counts, dict) or not all(
            type(counts.get(key)) is int and counts[key] >= 0 for key in ("chunks", "sentences")):
        return "the manifest's counts are missing or not numbers"
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


def bm25s_module(build: bool = False):
    """bm25s, imported without scipy when nothing has imported scipy yet.

    bm25s imports ``scipy.sparse`` (when installed) only to build an index; reading and
    searching one use numpy alone, and the scipy import cost ~0.4 s of every ``rag ask``
    start (measured with ``python -X importtime``).  ``build=True`` makes sure the
    building path has scipy (the index it writes is then the same in every process)."""
    import sys

    if "bm25s" not in sys.modules and not build and "scipy.sparse" not in sys.modules:
        sys.modules["scipy.sparse"] = None  # "not installed", for bm25s's optional import
        try:
            import bm25s
        finally:
            del sys.modules["scipy.sparse"]
    import bm25s

    if build and not bm25s.SCIPY_AVAILABLE:  # imported for searching earlier on
        import scipy.sparse

        bm25s.sp, bm25s.SCIPY_AVAILABLE = scipy.sparse, True
    return bm25s


def bm25_tokenize(texts: list[str], return_ids: bool = True):
    import Stemmer

    bm25s = bm25s_module()

    return bm25s.tokenize(texts, stopwords="en", stemmer=_stemmer(Stemmer),
                          return_ids=return_ids, show_progress=False)


_STEMMER = None


def _stemmer(module):
    global _STEMMER
    if _STEMMER is None:
        _STEMMER = module.Stemmer("english")
    return _STEMMER


class FaissVectors:
    """The build's FAISS index, searched directly.  llama-index's ``FaissVectorStore``
    writes it (``faiss.write_index``); reading and searching it needs only faiss, so
    answering a question never imports llama-index."""

    def __init__(self, client):
        self.client = client  # the faiss index, as llama-index's store names it

    @classmethod
    def load(cls, path: Path) -> FaissVectors:
        import faiss

        return cls(faiss.read_index(str(path)))

    def search(self, query_vec: np.ndarray, n: int) -> list[tuple[int, float]]:
        """(position, inner product) of the ``n`` nearest vectors, best first."""
        query = np.asarray(query_vec, dtype=np.float32).reshape(1, -1)
        scores, ids = self.client.search(query, n)
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0]) if i >= 0]


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
    vector_store: FaissVectors
    chunk_vectors: np.ndarray
    sentences: list[tuple[int, str]]
    sentence_vectors: np.ndarray
    bm25: object
    papers: dict[str, dict] = field(default_factory=dict)
    sentence_ranges: list[tuple[int, int]] = field(default_factory=list)
    # Parallel to ``sentences``: role, facet and answer-ready prose (rag.corpus.roles).
    sentence_info: list[SentenceInfo] = field(default_factory=list)
    stale: str = ""  # why a build served as the last good index is out of date


class DamagedBuild(IndexProblem):
    """A build folder that fails ``validate_build``; ``problem`` says what is wrong."""

    def __init__(self, build_dir: Path, problem: str):
        super().__init__(f"index at {build_dir} is damaged: {problem}; run `rag build`")
        self.problem = problem


def validate_build(build_dir: Path, manifest: object) -> LoadedIndex:
    """Check one build folder completely and return it loaded; raises ``IndexProblem``
    naming the first problem and the fix.

    The one validation of a build, used by loading, by ``rag build``'s up-to-date check
    and before reusing vectors: a well-formed manifest with a checksum for every part,
    checksums, then what checksums cannot catch (a writer that updated them): every
    file parses, shapes, dtypes and counts agree, indexes are in range, vectors are
    finite and unit-length.  Staleness (settings, corpus) is checked separately."""
    problem = manifest_problem(manifest) or verify_files(build_dir, manifest)
    if problem:
        raise DamagedBuild(build_dir, problem)
    return load_build(build_dir, manifest)


def load_build(build_dir: Path, manifest: dict) -> LoadedIndex:
    """Read one build folder and check its parts agree (``validate_build`` also checks
    the manifest and checksums first)."""
    from rag.search import checks

    try:
        chunks = checks.read_chunks(build_dir / CHUNKS)
        store, vectors = checks.read_faiss(build_dir / VECTORS, len(chunks))
        sentences = checks.read_sentences(build_dir / SENTENCES, len(chunks))
        sent_vecs = checks.read_vectors(build_dir / SENTENCE_VECTORS, len(sentences),
                                        vectors.shape[1])
        bm25 = checks.read_bm25(build_dir / BM25_DIR, len(chunks))
        papers = checks.read_papers(build_dir / PAPERS)
        checks.check_counts(manifest, len(chunks), len(sentences))
        info = [sentence_from_row(row) for row in checks.jsonl_rows(build_dir / SENTENCES)]
    except checks.BadFile as exc:
        raise DamagedBuild(build_dir, str(exc)) from exc
    except (ValueError, TypeError) as exc:  # a row the role record refuses
        raise DamagedBuild(build_dir, f"{SENTENCES}: {exc}") from exc
    return LoadedIndex(build_dir, manifest, chunks, store, vectors, sentences, sent_vecs,
                       bm25, papers, _ranges(sentences, len(chunks)), info)


def build_problem(build_dir: Path, manifest: object) -> str:
    """Why ``validate_build`` refuses the build ('' when it passes)."""
    try:
        validate_build(build_dir, manifest)
    except DamagedBuild as exc:
        return exc.problem
    return ""


def _ranges(sentences: list[tuple[int, str]], n_chunks: int) -> list[tuple[int, int]]:
    ranges = [(0, 0)] * n_chunks
    start = 0
    for pos in range(1, len(sentences) + 1):
        if pos == len(sentences) or sentences[pos][0] != sentences[start][0]:
            ranges[sentences[start][0]] = (start, pos)
            start = pos
    return ranges


SERVABLE_STALENESS = ("corpus", "pipeline_code")  # what may change under a served index


def load_index(settings: Settings, allow_stale: bool = False) -> LoadedIndex:
    """The current build, verified; raises ``IndexProblem`` naming the problem and fix.

    ``allow_stale`` also accepts a valid build whose corpus or ingestion code has
    changed since (the last good index, served while a rebuild is due); the reason
    is then in ``LoadedIndex.stale``.  Other mismatches (format, model, chunking)
    are never served: query vectors or passages would not fit the index."""
    build = current_build(settings)
    if build is None:
        raise IndexProblem(f"no index at {settings.index_dir}; run `rag build`")
    manifest = read_manifest(build)
    problem = manifest_problem(manifest)
    if problem:
        raise DamagedBuild(build, problem)
    if manifest.get("format_version") != FORMAT_VERSION:
        raise IndexProblem("index format is outdated; run `rag build`")
    problem = staleness(settings, manifest)
    if problem and (not allow_stale or staleness(settings, manifest, SERVABLE_STALENESS)):
        raise IndexProblem(f"index at {build} does not match: {problem}; run `rag build`")
    index = validate_build(build, manifest)
    index.stale = problem
    return index
