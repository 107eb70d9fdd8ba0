"""The Milvus store: a serving process searches in Milvus and reads its build from it,
so it needs no index files.

``MilvusStore`` opens the build the alias points at, after the same checks as a FAISS
load (manifest shape, format, embedding model, chunking; a changed corpus or ingestion
code is served until rebuilt, as FAISS serves its last good index), plus the
collections' schema, vector dimension and row counts, and refuses a mismatched one
with the fix.  Per question: one dense search and one BM25 search in Milvus (its
built-in BM25 function over our own tokens, so it ranks like bm25s).  The build's
passages and answer sentences (records, roles, vectors) are read from Milvus once per
build (``corpus()``) for the answer step's per-build tables.  Every ``refresh_s``
seconds the alias is checked; a newer build is checked the same way and then served,
while a question already started finishes on the build it began with.
"""

from __future__ import annotations

import atexit
import base64
import hashlib
import json
import logging
import shutil
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rag.errors import IndexProblem, StoreUnavailable
from rag.records import Chunk
from rag.search.index import (
    MANIFEST,
    PAPERS,
    SERVABLE_STALENESS,
    LoadedIndex,
    _ranges,
    manifest_problem,
    sentence_from_row,
    staleness,
)
from rag.search.query import stem_tokens
from rag.search.stores import milvus_client as mc
from rag.search.stores.base import StaleView
from rag.search.stores.milvus_write import read_meta
from rag.settings import FORMAT_VERSION, Settings

log = logging.getLogger(__name__)
FIX = "run `rag build --store milvus`"
READ_BATCH = 1000


@dataclass
class MilvusCorpus(LoadedIndex):
    """A Milvus build read whole, shaped like a loaded FAISS build (no FAISS or bm25s
    objects: searches go to Milvus through ``store``).  ``build_dir`` is a temporary
    folder holding the manifest and the build's other files (paper cards and whatever
    other parts store with the index), for readers that take a build folder."""

    store: object = None


@dataclass
class MilvusBuild:
    """One build in Milvus, opened and checked: the view a question is answered on."""

    client: object = field(repr=False)
    settings: Settings = field(repr=False)
    names: mc.Names
    manifest: dict
    papers: dict[str, dict]
    n_chunks: int
    n_sentences: int
    stale: str = ""  # the corpus or ingestion code changed since (served until rebuilt)
    files: dict[str, bytes] = field(default_factory=dict, repr=False)  # checked
    _corpus: MilvusCorpus | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def build_id(self) -> str:
        return self.names.build

    def view(self, fresh: bool = False) -> MilvusBuild:
        return self

    def dense(self, query_vec: np.ndarray, n: int) -> list[tuple[int, float]]:
        hits = self._search(self.names.chunks, [query_vec.tolist()], "vector", "IP", n)
        return [(int(h["pos"]), float(h["distance"])) for h in hits]

    def lexical(self, query: str, n: int) -> list[tuple[int, float]]:
        tokens = stem_tokens(query)
        if not tokens:
            return []
        hits = self._search(self.names.chunks, [" ".join(tokens)], "sparse", "BM25", n)
        # Milvus Lite reports BM25 as a negated distance, a server as a score: both abs.
        # Milvus scores carry the factor (k1 + 1) that bm25s' Lucene variant leaves out;
        # dividing it out gives bm25s' scores (the answer's confidence reads them).
        scale = 1.0 + mc.BM25_PARAMS["bm25_k1"]
        return [(int(h["pos"]), abs(float(h["distance"])) / scale) for h in hits
                if abs(float(h["distance"])) > 0]

    def by_sentence(self, query_vec: np.ndarray, n: int) -> list[tuple[int, float]]:
        """Passages ranked by their best sentence (among the nearest sentences)."""
        limit = min(self.n_sentences, max(n * 8, 64))
        hits = self._search(self.names.sentences, [query_vec.tolist()], "vector", "IP",
                            limit, fields=["chunk"])
        best: dict[int, float] = {}
        for h in hits:
            best.setdefault(int(h["chunk"]), float(h["distance"]))
        return sorted(best.items(), key=lambda x: (-x[1], x[0]))[:n]

    def passages(self, positions: Sequence[int]) -> tuple[list[Chunk], np.ndarray]:
        corpus = self.corpus()
        idx = np.asarray(positions, dtype=np.int64)
        return [corpus.chunks[p] for p in idx], corpus.chunk_vectors[idx]

    def corpus(self) -> MilvusCorpus:
        """This build's passages and sentences in memory (read once, on first use)."""
        with self._lock:
            if self._corpus is None:
                self._corpus = load_corpus(self)
            return self._corpus

    # --- helpers ----------------------------------------------------------------------
    def _search(self, collection: str, data: list, anns_field: str, metric: str, n: int,
                fields: Sequence[str] = ("pos",)) -> list[dict]:
        if n <= 0:
            return []
        try:
            return self.client.search(
                collection, data=data, anns_field=anns_field, limit=n,
                search_params={"metric_type": metric, "params": self._search_params(metric)},
                output_fields=list(fields), timeout=self.settings.milvus.timeout_s)[0]
        except Exception as exc:  # noqa: BLE001
            raise self._error(exc, "searching") from None

    def _search_params(self, metric: str) -> dict:
        if metric == "IP" and self.manifest["store"]["dense_index"]["index_type"] == "HNSW":
            return {"ef": self.settings.vector_index.hnsw_ef_search}
        return {}

    def query(self, collection: str, expr: str, fields: list[str]) -> list[dict]:
        try:
            return list(self.client.query(collection, filter=expr, output_fields=fields,
                                          timeout=self.settings.milvus.timeout_s))
        except Exception as exc:  # noqa: BLE001
            raise self._error(exc, "reading the index") from None

    def _error(self, exc: Exception, action: str) -> Exception:
        if getattr(exc, "code", None) == 100 or "does not exist" in str(exc):
            return StaleView(f"Milvus build {self.names.build} was dropped while in use; "
                             "ask again")  # the Assistant retries on the build served now
        return mc.store_error(exc, self.settings, action)


def load_corpus(build: MilvusBuild) -> MilvusCorpus:
    """Every passage and answer sentence of ``build``, with vectors, in position order."""
    chunks, chunk_vecs = _all_rows(build, build.names.chunks, build.n_chunks,
                                   lambda r: Chunk(**json.loads(r)))
    info, sent_vecs = _all_rows(build, build.names.sentences, build.n_sentences,
                                lambda r: sentence_from_row(json.loads(r)))
    sentences = [(s.chunk, s.text) for s in info]
    return MilvusCorpus(
        build_dir=_materialize(build), manifest=build.manifest, chunks=chunks,
        vector_store=None,
        chunk_vectors=chunk_vecs, sentences=sentences, sentence_vectors=sent_vecs, bm25=None,
        papers=build.papers, sentence_ranges=_ranges(sentences, len(chunks)),
        sentence_info=info, stale=build.stale, store=build)


def _materialize(build: MilvusBuild) -> Path:
    """The build's manifest and its other files (paper cards, what other parts store with
    the index) in a private temporary folder, for readers that take a build folder.  The
    passages, sentences and vectors stay in Milvus; the folder goes at process exit."""
    folder = Path(tempfile.mkdtemp(prefix=f"rag-milvus-{build.names.build}-"))
    atexit.register(shutil.rmtree, folder, True)
    (folder / MANIFEST).write_text(json.dumps(build.manifest, indent=2), encoding="utf-8")
    for name, data in build.files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return folder


def _all_rows(build: MilvusBuild, collection: str, n: int, parse) -> tuple[list, np.ndarray]:
    records, vectors = [], []
    for start in range(0, n, READ_BATCH):
        rows = build.query(collection, f"pos >= {start} and pos < {start + READ_BATCH}",
                           ["pos", "record", "vector"])
        if len(rows) != min(READ_BATCH, n - start):
            raise StaleView(f"Milvus build {build.names.build}: rows {start}- are missing")
        for row in sorted(rows, key=lambda r: r["pos"]):
            records.append(parse(row["record"]))
            vectors.append(row["vector"])
    dim = build.manifest["store"]["dim"]
    array = np.asarray(vectors, dtype=np.float32) if vectors else np.zeros((0, dim), np.float32)
    return records, array


def open_build(client, settings: Settings, meta_collection: str, dim: int | None) -> MilvusBuild:
    """Load and check one build's manifest and collections; ``IndexProblem`` with the fix."""
    timeout = settings.milvus.timeout_s
    names = mc.Names.of_meta(settings.milvus.collection_prefix, meta_collection)
    try:
        for collection in names.all():
            client.load_collection(collection, timeout=timeout)
        meta = read_meta(client, names.meta, timeout)
    except Exception as exc:  # noqa: BLE001
        if getattr(exc, "code", None) == 100:
            raise IndexProblem(f"Milvus build {names.build} is incomplete (a collection is "
                               f"missing); {FIX}") from None
        raise mc.store_error(exc, settings, "opening the index") from None
    manifest, stale = _checked_manifest(meta, settings, names)
    problem = (mc.schema_problem(client, names, dim or manifest["store"]["dim"], timeout)
               or _count_problem(client, names, manifest, timeout))
    if problem:
        raise IndexProblem(f"the Milvus index {names.build} does not match this version: "
                           f"{problem}; {FIX}")
    files = _files(meta, manifest, names, settings)
    papers = json.loads(files.get(PAPERS, b"{}").decode("utf-8"))
    counts = manifest["counts"]
    return MilvusBuild(client, settings, names, manifest, papers, counts["chunks"],
                       counts["sentences"], stale, files)


def _checked_manifest(meta: dict, settings: Settings, names: mc.Names) -> tuple[dict, str]:
    """The stored manifest and why it is stale ('' when current), after the rules of a
    FAISS load: a well-formed manifest, this format and schema, the same embedding
    model and chunking; a changed corpus or ingestion code is served until rebuilt."""
    where = f"the Milvus index {names.build} at {mc.redact_uri(settings.milvus_uri)}"
    try:
        manifest = json.loads(meta["manifest"])
        store = manifest["store"]
    except (KeyError, ValueError, TypeError):
        raise IndexProblem(f"{where} has no readable manifest; {FIX}") from None
    problem = manifest_problem(manifest)
    if problem:
        raise IndexProblem(f"{where} has a damaged manifest ({problem}); {FIX}")
    if store.get("schema_version") != mc.SCHEMA_VERSION or manifest.get(
            "format_version") != FORMAT_VERSION:
        raise IndexProblem(f"{where} was written by another version (schema "
                           f"{store.get('schema_version')}, format "
                           f"{manifest.get('format_version')}); {FIX}")
    problem = staleness(settings, manifest)
    if problem and staleness(settings, manifest, SERVABLE_STALENESS):
        raise IndexProblem(f"{where} does not match: {problem}; {FIX}")
    return manifest, problem


def _count_problem(client, names: mc.Names, manifest: dict, timeout: float) -> str:
    for kind in ("chunks", "sentences"):
        rows = client.query(getattr(names, kind), filter="", output_fields=["count(*)"],
                            timeout=timeout)[0]["count(*)"]
        if rows != manifest["counts"][kind]:
            return f"{rows} {kind} stored, the manifest says {manifest['counts'][kind]}"
    return ""


def _files(meta: dict, manifest: dict, names: mc.Names, settings: Settings) -> dict[str, bytes]:
    """The build's other files, each checked against the manifest's SHA-256."""
    out = {}
    for name in manifest["store"].get("files", []):
        data = base64.b64decode(meta.get(f"file:{name}", ""))
        if hashlib.sha256(data).hexdigest() != manifest["files"].get(name):
            raise IndexProblem(f"the Milvus index {names.build} at "
                               f"{mc.redact_uri(settings.milvus_uri)}: {name} is damaged "
                               f"(checksum mismatch); {FIX}")
        out[name] = data
    return out


class MilvusStore:
    """The build the alias points at, re-checked every ``refresh_s`` seconds."""

    kind = "milvus"

    def __init__(self, settings: Settings, dim: int | None = None):
        self.settings = settings
        self.dim = dim
        self.client = mc.connect(settings)
        self._lock = threading.Lock()
        self._checked = time.monotonic()
        meta = mc.current_meta(self.client, settings)
        if meta is None:
            raise IndexProblem(f"no index in Milvus at {mc.redact_uri(settings.milvus_uri)} "
                               f"under the prefix {settings.milvus.collection_prefix!r}; {FIX}")
        self.build = open_build(self.client, settings, meta, dim)

    @property
    def build_id(self) -> str:
        return self.build.build_id

    @property
    def stale(self) -> str:
        """Why the build served is out of date ('' when it is current)."""
        return self.build.stale

    @property
    def manifest(self) -> dict:
        return self.build.manifest

    def describe(self) -> str:
        return (f"Milvus {mc.redact_uri(self.settings.milvus_uri)}, build "
                f"{self.build.names.build}")

    def require_dim(self, dim: int) -> None:
        """Refuse a build whose vectors do not fit the embedding model's."""
        self.dim = dim
        problem = mc.schema_problem(self.client, self.build.names, dim,
                                    self.settings.milvus.timeout_s)
        if problem:
            raise IndexProblem(f"the Milvus index {self.build.names.build} does not match "
                               f"this version: {problem}; {FIX}")

    def view(self, fresh: bool = False) -> MilvusBuild:
        """The build to answer on now (switching to a newer one when the alias moved)."""
        if fresh or time.monotonic() - self._checked >= self.settings.milvus.refresh_s:
            self.refresh()
        return self.build

    def corpus(self) -> MilvusCorpus:
        return self.view().corpus()

    def dense(self, query_vec: np.ndarray, n: int) -> list[tuple[int, float]]:
        return self.view().dense(query_vec, n)

    def lexical(self, query: str, n: int) -> list[tuple[int, float]]:
        return self.view().lexical(query, n)

    def by_sentence(self, query_vec: np.ndarray, n: int) -> list[tuple[int, float]]:
        return self.view().by_sentence(query_vec, n)

    def passages(self, positions: Sequence[int]) -> tuple[list[Chunk], np.ndarray]:
        return self.view().passages(positions)

    def refresh(self) -> bool:
        """Serve the build the alias points at now; True when it changed.  A newer build
        that fails the checks is not served (the current one stays, with a warning)."""
        with self._lock:
            self._checked = time.monotonic()
            meta = mc.current_meta(self.client, self.settings)
            if meta is None or meta == self.build.names.meta:
                return False
            try:
                build = open_build(self.client, self.settings, meta, self.dim)
            except IndexProblem as exc:
                if isinstance(exc, StoreUnavailable):
                    raise
                log.warning("not switching to the new Milvus build: %s", exc)
                return False
            self.build = build
            return True
