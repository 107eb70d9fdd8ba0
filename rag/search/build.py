"""Build the index: read the corpus, chunk, embed (reusing unchanged vectors), write a
new build folder and swap ``current`` to it atomically.

The format of what is written (file names, manifest, loading and verification) lives
in ``rag.search.index``; this module only orchestrates and writes.  A build writes a
fresh folder and only then repoints ``current``, so a crash never damages the index
being served.  Vectors of unchanged texts are reused (keyed by content hash), so a
rebuild embeds only what changed.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from rag.corpus.chunk import content_hash
from rag.corpus.files import corpus_files
from rag.corpus.linking import link_chunks
from rag.corpus.roles import annotate_chunks, embed_form
from rag.errors import IndexProblem
from rag.records import Chunk, SentenceInfo
from rag.search import checks, locks
from rag.search.embed import Embedder
from rag.search.glossary import learn as learn_acronyms
from rag.search.index import (
    BM25_DIR,
    CHUNKS,
    MANIFEST,
    PAPERS,
    SENTENCE_VECTORS,
    SENTENCES,
    VECTORS,
    bm25_tokenize,
    build_problem,
    corpus_fingerprint,
    corpus_max_bytes,
    current_build,
    describe_faiss_index,
    file_sha256,
    make_faiss_index,
    manifest_problem,
    read_manifest,
    sentence_embed_text,
    sentence_row,
    staleness,
    verify_files,
)
from rag.search.progress import stage
from rag.search.sources import chunk_cached, load_sources
from rag.settings import Settings


@dataclass
class BuildReport:
    index_dir: Path
    rebuilt: bool
    chunks: int = 0
    sentences: int = 0
    embedded: int = 0
    reused: int = 0
    seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)
    reason: str = ""


@dataclass
class BuildContext:
    """What a build extra gets: the new build's folder (write files there; the manifest
    checksums them), its chunks, sentences and vectors, and ``encode`` (embeds texts,
    reusing the previous build's vectors by content hash)."""

    out_dir: Path
    settings: Settings
    chunks: list[Chunk]
    chunk_vectors: np.ndarray
    sentences: list[tuple[int, str]]
    sentence_vectors: np.ndarray
    encode: Callable[[list[str]], np.ndarray]
    progress: bool = False


@dataclass(frozen=True)
class BuildExtra:
    """A precomputation a higher layer stores with the index (e.g. the question bank):
    ``write`` runs before the manifest is written; a changed ``fingerprint`` (recorded
    in the manifest under ``extras``) rebuilds the index."""

    name: str
    fingerprint: str
    write: Callable[[BuildContext], None]


def extras_reason(manifest: dict, extras: Sequence[BuildExtra]) -> str:
    stored = manifest.get("extras", {})
    for extra in extras:
        if stored.get(extra.name) != extra.fingerprint:
            return f"{extra.name} precomputation missing or changed"
    return ""


def build_lock(settings: Settings):
    """One build at a time per index folder (other builders wait)."""
    return locks.exclusive(settings.index_dir / ".lock")


def build_index(
    settings: Settings, embedder: Embedder, force: bool = False, progress: bool = False,
    extras: Sequence[BuildExtra] = (),
) -> BuildReport:
    """Build the index unless an intact, up-to-date one exists (with every extra's
    precomputation, when ``extras`` are given)."""
    with build_lock(settings):
        start = time.perf_counter()
        existing = current_build(settings)
        reason = _rebuild_reason(settings, existing, force, extras)
        if not reason:
            manifest = read_manifest(existing)
            return BuildReport(existing, rebuilt=False, chunks=manifest["counts"]["chunks"],
                               sentences=manifest["counts"]["sentences"])
        report = _build(settings, embedder, existing, progress, extras)
        report.reason = reason
        report.seconds = time.perf_counter() - start
        return report


def up_to_date(settings: Settings, extras: Sequence[BuildExtra] = ()) -> Path | None:
    """The current build when it is intact and matches settings and corpus, else None.

    Needs no embedding model, so ``rag build`` with nothing to do returns at once."""
    existing = current_build(settings)
    if existing and not _rebuild_reason(settings, existing, False, extras):
        return existing
    return None


def _rebuild_reason(settings: Settings, existing: Path | None, force: bool,
                    extras: Sequence[BuildExtra] = ()) -> str:
    if force:
        return "forced"
    if existing is None:
        return "no index yet"
    try:
        manifest = read_manifest(existing)
    except IndexProblem as exc:
        return str(exc)
    problem = manifest_problem(manifest)  # before staleness reads its fields
    if problem:
        return f"invalid manifest: {problem}"
    return (staleness(settings, manifest) or build_problem(existing, manifest)
            or extras_reason(manifest, extras))


def rebuild_reason(settings: Settings, extras: Sequence[BuildExtra] = ()) -> str:
    """Why ``rag build`` would rebuild now ('' when the index is up to date); needs no
    embedding model."""
    return _rebuild_reason(settings, current_build(settings), False, extras)


def build_running(settings: Settings) -> bool:
    """Whether another process holds the build lock of this index right now."""
    return locks.held(settings.index_dir / ".lock")


def _read_and_chunk(settings: Settings, embedder: Embedder, progress: bool,
                    ) -> tuple[list, list[Chunk], list[str]]:
    """Sources, their linked chunks and the warnings, with a progress bar per stage."""
    limit = corpus_max_bytes(settings)
    paths = corpus_files(settings.corpus_dir)
    with stage("Reading corpus", len(paths), progress, unit="file") as bar:
        def on_file(path: Path) -> None:
            bar.set_postfix_str(path.name)
            bar.update(1)

        sources, warnings = load_sources(settings, limit, on_file)  # + your documents
    max_body = settings.embedding.max_seq_tokens - 2
    chunks: list[Chunk] = []
    total = sum(len(sec.text) for src in sources for sec in src.sections)
    with stage("Chunking", total, progress, unit="char", scale=True) as bar:
        for source in sources:
            bar.set_postfix_str(source.doc_id[:40])
            chunks.extend(chunk_cached(source, settings, embedder.count_tokens, max_body))
            bar.update(sum(len(sec.text) for sec in source.sections))
    with stage("Linking papers", 1, progress):
        chunks = link_chunks(chunks, sources)  # chunks that name a paper carry its arXiv id
    return sources, chunks, warnings


def _build(
    settings: Settings, embedder: Embedder, previous: Path | None, progress: bool,
    extras: Sequence[BuildExtra] = (),
) -> BuildReport:
    # fingerprint before reading: a change made meanwhile is caught by the next build
    fingerprint = corpus_fingerprint(settings.corpus_dir, corpus_max_bytes(settings))
    sources, chunks, warnings = _read_and_chunk(settings, embedder, progress)
    with stage("Sentence roles", 1, progress):
        sentences = annotate_chunks(chunks, sources)  # roles and facets (rag.corpus.roles)
    learn_acronyms(c.text for c in chunks)  # the extras read the glossary as served
    cache = _vector_cache(previous, embedder) if previous else {}
    chunk_vecs, n_new_c = _embed_cached([c.embed_text for c in chunks], cache, embedder,
                                        "Embedding passages", progress)
    sent_texts = [sentence_embed_text(chunks[s.chunk], embed_form(s)) for s in sentences]
    sent_vecs, n_new_s = _embed_cached(sent_texts, cache, embedder,
                                       "Embedding sentences", progress)
    builds = settings.index_dir / "builds"
    tmp = builds / f".tmp-{uuid.uuid4().hex[:8]}"
    tmp.mkdir(parents=True)
    try:
        _write_build(tmp, settings, chunks, chunk_vecs, sentences, sent_vecs)
        (tmp / SENTENCE_KEYS).write_text(json.dumps([content_hash(t) for t in sent_texts]),
                                         encoding="utf-8")
        _write_papers(tmp, sources)
        encoded: dict[str, None] = {}

        def encode(texts: list[str]) -> np.ndarray:
            encoded.update(dict.fromkeys(texts))
            return _embed_cached(list(texts), cache, embedder, "Embedding extras", False)[0]

        context = BuildContext(tmp, settings, chunks, chunk_vecs, sentences, sent_vecs,
                               encode, progress)
        for extra in extras:
            extra.write(context)
        if encoded:  # the next build reuses these vectors too
            _write_extra_vectors(tmp, list(encoded), cache)
        _write_manifest(tmp, settings, fingerprint, chunks, len(sentences),
                        {e.name: e.fingerprint for e in extras})
        final = builds / datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        os.rename(tmp, final)
        _swap_current(settings.index_dir, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _prune_builds(builds, keep=final)
    total = len(chunks) + len(sentences)
    return BuildReport(final, rebuilt=True, chunks=len(chunks), sentences=len(sentences),
                       embedded=n_new_c + n_new_s, reused=total - n_new_c - n_new_s,
                       warnings=warnings)


def _vector_cache(previous: Path, embedder: Embedder) -> dict[str, np.ndarray]:
    """Vectors of the previous build that verify, by content hash (same model only).

    A part is reused only when its files match their checksums, parse and agree with
    the text they belong to; each vector must then be finite, unit-length and of the
    model's width.  Everything else is re-embedded (``--force`` too)."""
    try:
        manifest = read_manifest(previous)
    except IndexProblem:
        return {}
    if manifest_problem(manifest) or manifest.get("embedding_model") != \
            embedder.settings.model_name:
        return {}
    cache: dict[str, np.ndarray] = {}
    for texts, vectors in _verified_parts(previous, manifest):
        good = checks.unit_rows(vectors, embedder.dim)
        cache.update((content_hash(t), v) for t, v, ok in zip(texts, vectors, good) if ok)
    for keys, vectors in [*_keyed_vectors(previous, manifest, SENTENCE_KEYS, SENTENCE_VECTORS),
                          *_extra_vectors(previous, manifest)]:  # and build extras asked for
        good = checks.unit_rows(vectors, embedder.dim)
        cache.update((k, v) for k, v, ok in zip(keys, vectors, good) if ok)
    return cache


EXTRA_KEYS = "extra_text_hashes.json"
EXTRA_VECTORS = "extra_vectors.npy"


def _write_extra_vectors(out: Path, texts: list[str], cache: dict[str, np.ndarray]) -> None:
    keys = [content_hash(t) for t in texts]
    (out / EXTRA_KEYS).write_text(json.dumps(keys), encoding="utf-8")
    np.save(out / EXTRA_VECTORS, np.stack([cache[k] for k in keys]).astype(np.float32),
            allow_pickle=False)


def _extra_vectors(build: Path, manifest: dict) -> Iterator[tuple[list[str], np.ndarray]]:
    """(content hashes, vectors) the previous build's extras embedded, when they verify."""
    return _keyed_vectors(build, manifest, EXTRA_KEYS, EXTRA_VECTORS)


# The hashes of the texts the sentence vectors were made from: what a sentence's vector
# embeds (``embed_form``) is code, so it is recorded, never recomputed from the rows.
SENTENCE_KEYS = "sentence_text_hashes.json"


def _keyed_vectors(build: Path, manifest: dict, key_file: str, vector_file: str
                   ) -> Iterator[tuple[list[str], np.ndarray]]:
    """(content hashes, vectors) from a build's hash list and its vectors, when both
    verify and agree in length."""
    files = manifest.get("files", {})
    if key_file not in files or vector_file not in files or verify_files(
            build, {"files": {n: files[n] for n in (key_file, vector_file)}}):
        return
    try:
        keys = json.loads((build / key_file).read_text(encoding="utf-8"))
        vectors = np.load(build / vector_file, allow_pickle=False)
    except (OSError, ValueError):
        return
    if isinstance(keys, list) and vectors.ndim == 2 and len(keys) == len(vectors):
        yield [str(k) for k in keys], vectors


def _verified_parts(build: Path, manifest: dict) -> Iterator[tuple[list[str], np.ndarray]]:
    """(texts, vectors) of the passage part, when its files verify."""
    def verified(*names: str) -> bool:
        return not verify_files(build, {"files": {n: manifest["files"][n] for n in names}})

    if not verified(CHUNKS):
        return
    try:
        chunks = checks.read_chunks(build / CHUNKS)
        if verified(VECTORS):
            yield [c.embed_text for c in chunks], _faiss_vectors(build / VECTORS, len(chunks))
    except (checks.BadFile, OSError, ValueError, RuntimeError):  # FAISS: RuntimeError
        return


def _faiss_vectors(path: Path, n: int) -> np.ndarray:
    import faiss

    index = faiss.read_index(str(path))
    if index.ntotal != n:
        raise checks.BadFile(f"{path.name}: {index.ntotal} vectors for {n} chunks")
    return index.reconstruct_n(0, index.ntotal)


def _embed_cached(
    texts: list[str], cache: dict[str, np.ndarray], embedder: Embedder, label: str,
    progress: bool,
) -> tuple[np.ndarray, int]:
    keys = [content_hash(t) for t in texts]
    todo = sorted({k: t for k, t in zip(keys, texts) if k not in cache}.items())
    if todo:
        vectors = embedder.encode([t for _, t in todo], progress=progress, label=label)
        cache.update({k: v for (k, _), v in zip(todo, vectors)})
    out = np.stack([cache[k] for k in keys]) if keys else np.zeros((0, embedder.dim))
    return out.astype(np.float32), len(todo)


def _write_build(
    out: Path, settings: Settings, chunks: list[Chunk], chunk_vecs: np.ndarray,
    sentences: list[SentenceInfo], sent_vecs: np.ndarray,
) -> None:
    from llama_index.core.schema import TextNode
    from llama_index.vector_stores.faiss import FaissVectorStore

    store = FaissVectorStore(faiss_index=make_faiss_index(
        len(chunk_vecs), chunk_vecs.shape[1], settings.vector_index))
    store.add([TextNode(id_=c.chunk_id, text="", embedding=v.tolist())
               for c, v in zip(chunks, chunk_vecs)])
    store.persist(persist_path=str(out / VECTORS))
    _write_jsonl(out / CHUNKS, (c.model_dump(mode="json") for c in chunks))
    _write_jsonl(out / SENTENCES, (sentence_row(s) for s in sentences))
    np.save(out / SENTENCE_VECTORS, sent_vecs, allow_pickle=False)
    _write_bm25(out / BM25_DIR, [c.embed_text for c in chunks])


def _write_papers(out: Path, sources: list) -> None:
    papers = {s.doc_id.removeprefix("arxiv:"): {"title": s.title, "year": s.year, "url": s.url}
              for s in sources if s.kind == "paper"}
    (out / PAPERS).write_text(json.dumps(papers, indent=1, ensure_ascii=False), encoding="utf-8")


def _write_manifest(out: Path, settings: Settings, fingerprint: str, chunks: list[Chunk],
                    n_sentences: int, extras: dict[str, str] | None = None) -> None:
    files = sorted(p for p in out.rglob("*") if p.is_file())
    manifest = {
        **settings.index_shape(),
        "index_name": settings.index_name(),
        "corpus_fingerprint": fingerprint,
        "vector_store": f"llama_index FaissVectorStore "
                        f"({describe_faiss_index(len(chunks), settings.vector_index)}, normalised)",
        "bm25": {"library": "bm25s", "stemmer": "english", "stopwords": "en"},
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "counts": {"chunks": len(chunks), "sentences": n_sentences,
                   "sources": len({c.doc_id for c in chunks})},
        "files": {p.relative_to(out).as_posix(): file_sha256(p) for p in files},
        "extras": extras or {},
    }
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    _fsync_tree(out)


def _write_jsonl(path: Path, rows) -> None:
    with path.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")


def _fsync_tree(root: Path) -> None:
    for path in [*root.rglob("*"), root]:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _swap_current(index_dir: Path, target: Path) -> None:
    """Point ``current`` at ``target`` atomically (symlink + rename)."""
    tmp_link = index_dir / f".current-{uuid.uuid4().hex[:8]}"
    os.symlink(os.path.relpath(target, index_dir), tmp_link)
    os.replace(tmp_link, index_dir / "current")


def _prune_builds(builds: Path, keep: Path) -> None:
    """Remove older builds and leftovers of interrupted ones."""
    for path in builds.iterdir():
        if path != keep:
            shutil.rmtree(path, ignore_errors=True)
    for link in builds.parent.glob(".current-*"):  # left by a build killed mid-swap
        link.unlink(missing_ok=True)


def _write_bm25(path: Path, texts: list[str]) -> None:
    from rag.search.index import bm25s_module

    retriever = bm25s_module(build=True).BM25(csc_backend="scipy")
    retriever.index(bm25_tokenize(texts), show_progress=False)
    retriever.save(str(path), show_progress=False)

