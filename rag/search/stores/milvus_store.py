"""The Milvus store: a serving process asks Milvus per question, so it needs no index files.

``MilvusStore`` opens the build the alias points at, after the same checks as a FAISS
load (format, embedding model, chunking, ingestion code, corpus when one is present,
plus the collections' schema and row counts), and refuses a mismatched one with the
fix.  Per question: one dense search, one BM25 search (Milvus' built-in BM25 function
over our own tokens, so it ranks like bm25s), one fetch of the candidate passages and
their vectors, and one fetch of the answer sentences of the top passages.  Fetched rows
are cached (bounded).  Every ``refresh_s`` seconds it checks the alias; a newer build is
checked the same way and then served, while a search already started finishes on the
build it began with.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from rag.errors import IndexProblem, StoreUnavailable
from rag.records import Chunk
from rag.search.index import (
    SERVABLE_STALENESS,
    LoadedIndex,
    _ranges,
    bm25_tokenize,
    manifest_problem,
    sentence_from_row,
    staleness,
)
from rag.search.stores import milvus_client as mc
from rag.search.stores.base import SentenceTable, StaleView
from rag.search.stores.milvus_write import read_meta
from rag.settings import FORMAT_VERSION, Settings

log = logging.getLogger(__name__)
FIX = "run `rag build --store milvus`"


class _Lru:
    """A bounded least-recently-used cache, safe to share between request threads."""

    def __init__(self, size: int):
        self.size = size
        self._items: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key, default=None):
        with self._lock:
            if key not in self._items:
                return default
            self._items.move_to_end(key)
            return self._items[key]

    def put(self, key, value) -> None:
        if self.size <= 0:
            return
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def __len__(self) -> int:
        return len(self._items)


@dataclass
class MilvusBuild:
    """One build in Milvus, opened and checked: a view that searches and fetches it."""

    client: object = field(repr=False)
    settings: Settings = field(repr=False)
    names: mc.Names
    manifest: dict
    papers: dict[str, dict]
    df: tuple[int, dict[str, int]]
    n_chunks: int
    n_sentences: int
    passage_cache: _Lru = field(default_factory=lambda: _Lru(0), repr=False)
    stale: str = ""  # the corpus or ingestion code changed since (served until rebuilt)

    # --- StoreView ------------------------------------------------------------------
    def dense(self, query_vec: np.ndarray, n: int) -> list[tuple[int, float]]:
        hits = self._search(self.names.chunks, [query_vec.tolist()], "vector", "IP", n)
        return [(int(h["pos"]), float(h["distance"])) for h in hits]

    def lexical(self, query: str, n: int) -> list[tuple[int, float]]:
        tokens = bm25_tokenize([query], return_ids=False)
        if not tokens or not tokens[0]:
            return []
        hits = self._search(self.names.chunks, [" ".join(tokens[0])], "sparse", "BM25", n)
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
        """Passages and their vectors, in the order asked for."""
        got = {p: self.passage_cache.get(p) for p in {int(p) for p in positions}}
        todo = sorted(p for p, value in got.items() if value is None)
        if todo:
            rows = self._query(self.names.chunks, f"pos in {todo}",
                               ["pos", "record", "vector"])
            for row in rows:
                got[int(row["pos"])] = value = (Chunk(**json.loads(row["record"])),
                                                np.asarray(row["vector"], dtype=np.float32))
                self.passage_cache.put(int(row["pos"]), value)
            missing = [p for p in todo if got[p] is None]
            if missing:
                raise StaleView(f"passages {missing[:5]} missing")
        pairs = [got[int(p)] for p in positions]
        dim = self.manifest["store"]["dim"]
        vectors = np.stack([v for _, v in pairs]) if pairs else np.zeros((0, dim), np.float32)
        return [c for c, _ in pairs], vectors

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

    def _query(self, collection: str, expr: str, fields: list[str]) -> list[dict]:
        try:
            return list(self.client.query(collection, filter=expr, output_fields=fields,
                                          timeout=self.settings.milvus.timeout_s))
        except Exception as exc:  # noqa: BLE001
            raise self._error(exc, "reading passages") from None

    def _error(self, exc: Exception, action: str) -> Exception:
        if getattr(exc, "code", None) == 100 or "does not exist" in str(exc):
            return StaleView(str(exc))  # this build was dropped: a fresh view retries
        return mc.store_error(exc, self.settings, action)


def open_build(client, settings: Settings, meta_collection: str, dim: int | None) -> MilvusBuild:
    """Load and check one build's manifest and collections; ``IndexProblem`` with the fix."""
    timeout = settings.milvus.timeout_s
    prefix = settings.milvus.collection_prefix
    names = mc.Names.of_meta(prefix, meta_collection)
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
    papers = json.loads(_file(meta, "papers.json") or "{}")
    df = json.loads(meta.get("df", '{"n": 0, "df": {}}'))
    counts = manifest["counts"]
    return MilvusBuild(client, settings, names, manifest, papers, (df["n"], df["df"]),
                       counts["chunks"], counts["sentences"],
                       _Lru(settings.milvus.cache_passages), stale)


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


def _file(meta: dict, name: str) -> str | None:
    import base64

    value = meta.get(f"file:{name}")
    return base64.b64decode(value).decode("utf-8") if value is not None else None


class MilvusStore:
    """The build the alias points at, re-checked every ``refresh_s`` seconds."""

    kind = "milvus"

    def __init__(self, settings: Settings, dim: int | None = None):
        self.settings = settings
        self.dim = dim
        self.client = mc.connect(settings)
        self._lock = threading.Lock()
        self._checked = time.monotonic()
        self._sentence_cache = _Lru(settings.milvus.cache_passages)
        self._corpus: MilvusCorpus | None = None
        meta = mc.current_meta(self.client, settings)
        if meta is None:
            raise IndexProblem(f"no index in Milvus at {mc.redact_uri(settings.milvus_uri)} "
                               f"under the prefix {settings.milvus.collection_prefix!r}; {FIX}")
        self.build = open_build(self.client, settings, meta, dim)

    # --- the Store interface ------------------------------------------------------------
    @property
    def manifest(self) -> dict:
        return self.build.manifest

    @property
    def papers(self) -> dict[str, dict]:
        return self.build.papers

    @property
    def n_chunks(self) -> int:
        return self.build.n_chunks

    @property
    def stale(self) -> str:
        """Why the build served is out of date ('' when it is current)."""
        return self.build.stale

    def describe(self) -> str:
        return (f"Milvus {mc.redact_uri(self.settings.milvus_uri)}, build "
                f"{self.build.names.build}")

    def document_frequencies(self) -> tuple[int, dict[str, int]]:
        return self.build.df

    def require_dim(self, dim: int) -> None:
        """Refuse a build whose vectors do not fit the embedding model's."""
        self.dim = dim
        problem = mc.schema_problem(self.client, self.build.names, dim,
                                    self.settings.milvus.timeout_s)
        if problem:
            raise IndexProblem(f"the Milvus index {self.build.names.build} does not match "
                               f"this version: {problem}; {FIX}")

    def corpus(self) -> MilvusCorpus:
        """The whole build in memory, for tools that read every passage (the mock
        interview's question bank, ``rag eval``); answering never needs it."""
        if self._corpus is None or self._corpus.manifest is not self.build.manifest:
            self._corpus = load_corpus(self.view(), self)
        return self._corpus

    def view(self, fresh: bool = False) -> MilvusBuild:
        """The build to search now (switching to a newer one when the alias moved)."""
        if fresh or time.monotonic() - self._checked >= self.settings.milvus.refresh_s:
            self.refresh()
        return self.build

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
            self._sentence_cache.clear()  # roles may differ in the new build
            return True

    def sentences(self, chunks: Sequence[Chunk]) -> SentenceTable:
        """The answer sentences of ``chunks`` (looked up by content, so they match)."""
        from rag.search.stores.base import chunk_key

        keys = list(dict.fromkeys(chunk_key(c) for c in chunks))
        got = {k: self._sentence_cache.get(k) for k in keys}
        todo = [k for k, rows in got.items() if rows is None]
        if todo:
            got.update(self._fetch_sentences(todo))
        return _table([(k, got[k] or []) for k in keys],
                      self.dim or self.manifest["store"]["dim"])

    def _fetch_sentences(self, keys: list[str]) -> dict[str, list[tuple]]:
        build = self.view()
        expr = f"chunk_key in {json.dumps(keys)}"
        try:
            rows = build._query(build.names.sentences, expr,
                                ["pos", "chunk_key", "record", "terms", "vector"])
        except StaleView:
            build = self.view(fresh=True)
            rows = build._query(build.names.sentences, expr,
                                ["pos", "chunk_key", "record", "terms", "vector"])
        grouped: dict[str, list[tuple]] = {k: [] for k in keys}
        for row in sorted(rows, key=lambda r: r["pos"]):  # parsed once, kept compact
            grouped.setdefault(row["chunk_key"], []).append((
                sentence_from_row(json.loads(row["record"])), frozenset(row["terms"].split()),
                np.asarray(row["vector"], dtype=np.float32)))
        for key, group in grouped.items():
            self._sentence_cache.put(key, group)
        return grouped


@dataclass
class MilvusCorpus(LoadedIndex):
    """A Milvus build read whole, shaped like a loaded FAISS build (no FAISS or bm25s
    objects: searches go through ``store``)."""

    store: object = None


def load_corpus(build: MilvusBuild, store: MilvusStore) -> MilvusCorpus:
    chunks, chunk_vecs = _all_rows(build, build.names.chunks, build.n_chunks, "record",
                                   lambda r: Chunk(**json.loads(r)))
    info, sent_vecs = _all_rows(build, build.names.sentences, build.n_sentences, "record",
                                lambda r: sentence_from_row(json.loads(r)))
    sentences = [(s.chunk, s.text) for s in info]
    return MilvusCorpus(
        build_dir=None, manifest=build.manifest, chunks=chunks, vector_store=None,
        chunk_vectors=chunk_vecs, sentences=sentences, sentence_vectors=sent_vecs, bm25=None,
        papers=build.papers, sentence_ranges=_ranges(sentences, len(chunks)),
        sentence_info=info, store=store)


def _all_rows(build: MilvusBuild, collection: str, n: int, field_name: str, parse):
    records, vectors = [], []
    for start in range(0, n, 1000):
        rows = build._query(collection, f"pos >= {start} and pos < {start + 1000}",
                            ["pos", field_name, "vector"])
        for row in sorted(rows, key=lambda r: r["pos"]):
            records.append(parse(row[field_name]))
            vectors.append(row["vector"])
    dim = build.manifest["store"]["dim"]
    array = np.asarray(vectors, dtype=np.float32) if vectors else np.zeros((0, dim), np.float32)
    return records, array


def _table(groups: list[tuple[str, list[tuple]]], dim: int) -> SentenceTable:
    """A sentence table from cached (record, terms, vector) rows, grouped by passage."""
    info, terms, vectors, spans = [], [], [], {}
    for key, rows in groups:
        spans[key] = (len(info), len(info) + len(rows))
        for record, row_terms, vector in rows:
            info.append(record)
            terms.append(row_terms)
            vectors.append(vector)
    array = np.stack(vectors) if vectors else np.zeros((0, dim), np.float32)
    return SentenceTable([s.text for s in info], info, terms, array, spans)
