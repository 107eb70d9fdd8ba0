"""Publishing a build into Milvus: new collections, verified, then one alias switch.

``rag build --store milvus`` first brings the local build up to date (chunking,
embedding with content-hash reuse: ``rag.search.build``), then ``publish`` copies it
into three new collections named by a fresh build id, reads everything back and checks
it against the manifest's checksums, and only then points the alias at it.  Processes
serving the previous build keep serving it until they notice the switch; the previous
builds (``RAG_MILVUS__KEEP_BUILDS``) stay for ``rag build --store milvus --rollback``.
A failed or interrupted publish drops its own collections and changes nothing served.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from rag.errors import IndexProblem
from rag.search.index import (
    BM25_DIR,
    CHUNKS,
    MANIFEST,
    SENTENCE_VECTORS,
    SENTENCES,
    VECTORS,
    LoadedIndex,
    bm25_tokenize,
    faiss_index_kind,
    read_manifest,
    validate_build,
)
from rag.search.stores import milvus_client as mc
from rag.settings import Settings

BATCH = 1000
WRITE_TIMEOUT_S = 600.0  # inserting, flushing, indexing and reading back a whole build
IN_COLLECTIONS = {CHUNKS, VECTORS, SENTENCES, SENTENCE_VECTORS}  # not copied as files


@dataclass
class PublishReport:
    uri: str
    build: str
    previous: str | None
    chunks: int
    sentences: int
    seconds: float
    dropped: list[str]


def write_timeout(settings: Settings) -> float:
    """Deadline of each call while publishing: bulk writes take longer than a search."""
    return max(settings.milvus.timeout_s, WRITE_TIMEOUT_S)


def new_build_id() -> str:
    """Sortable by time, unique, and a valid collection-name part."""
    return "b" + datetime.now(UTC).strftime("%Y%m%dt%H%M%S%f") + uuid.uuid4().hex[:4]


def is_file_artifact(name: str) -> bool:
    return name not in IN_COLLECTIONS and name != MANIFEST and not name.startswith(BM25_DIR + "/")


def publish(settings: Settings, build_dir: Path, progress: bool = False) -> PublishReport:
    """Write ``build_dir`` into new collections, verify them, switch the alias, prune."""
    start = time.perf_counter()
    manifest = read_manifest(build_dir)
    index = validate_build(build_dir, manifest)  # checksums, shapes, unit vectors...
    client = mc.connect(settings)
    names = mc.Names(settings.milvus.collection_prefix, new_build_id())
    previous = mc.current_meta(client, settings)
    try:
        stored = _write(client, settings, names, index, build_dir, progress)
        problem = verify(client, settings, names, index, stored)
        if problem:
            raise IndexProblem(f"the new Milvus build {names.build} failed verification "
                               f"({problem}); the index being served is unchanged")
        switch_alias(client, settings, names.meta)
    except BaseException as exc:
        drop_build(client, names)
        if isinstance(exc, IndexProblem | KeyboardInterrupt):
            raise
        raise mc.store_error(exc, settings, "writing the new build") from None
    dropped = prune(client, settings, keep=names.build)
    return PublishReport(redact(settings), names.build, previous, len(index.chunks),
                         len(index.sentences), time.perf_counter() - start, dropped)


def redact(settings: Settings) -> str:
    return mc.redact_uri(settings.milvus_uri)


def _write(client, settings: Settings, names: mc.Names, index: LoadedIndex, build_dir: Path,
           progress: bool) -> dict:
    """Create and fill the three collections; returns the manifest stored with them."""
    dim = int(index.chunk_vectors.shape[1])
    timeout = write_timeout(settings)
    _create(client, settings, names, dim, len(index.chunks))
    chunk_lines = _lines(build_dir / CHUNKS)
    tokens = bm25_tokenize([c.embed_text for c in index.chunks], return_ids=False)
    _insert(client, names.chunks, _chunk_rows(index, chunk_lines, tokens), timeout,
            progress, "Milvus: passages", len(index.chunks))
    sentence_lines = _lines(build_dir / SENTENCES)
    _insert(client, names.sentences, _sentence_rows(index, sentence_lines), timeout,
            progress, "Milvus: sentences", len(index.sentences))
    stored = stored_manifest(settings, names, index, build_dir)
    meta = {"manifest": json.dumps(stored, sort_keys=True)}
    for name in stored["store"]["files"]:
        meta[f"file:{name}"] = base64.b64encode((build_dir / name).read_bytes()).decode()
    _insert(client, names.meta, meta_rows(meta), timeout, False, "", 0)
    for collection in names.all():
        client.flush(collection, timeout=timeout)
    return stored


def _create(client, settings: Settings, names: mc.Names, dim: int, n_chunks: int) -> None:
    timeout = write_timeout(settings)
    dense = dense_index(settings, n_chunks)
    for collection, schema, extra in (
        (names.chunks, mc.chunk_schema(client, dim), ("sparse",)),
        (names.sentences, mc.sentence_schema(client, dim), ()),
        (names.meta, mc.meta_schema(client), ()),
    ):
        params = client.prepare_index_params()
        if collection == names.meta:
            params.add_index("v", index_type="FLAT", metric_type="L2")
        else:
            params.add_index("vector", metric_type="IP", **dense)
        if "sparse" in extra:
            params.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25",
                             params=dict(mc.BM25_PARAMS))
        client.create_collection(collection, schema=schema, index_params=params,
                                 timeout=timeout)


def dense_index(settings: Settings, n: int) -> dict:
    """FLAT (exact) up to ``RAG_VECTOR_INDEX__FLAT_MAX_VECTORS``, HNSW above, as for FAISS."""
    vi = settings.vector_index
    if faiss_index_kind(n, vi) == "flat":
        return {"index_type": "FLAT"}
    return {"index_type": "HNSW", "params": {"M": vi.hnsw_m,
                                             "efConstruction": vi.hnsw_ef_construction}}


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def _chunk_rows(index: LoadedIndex, lines: list[str], tokens: list[list[str]]) -> Iterator[dict]:
    for pos, (chunk, line, toks, vec) in enumerate(
            zip(index.chunks, lines, tokens, index.chunk_vectors, strict=True)):
        yield {"pos": pos, "chunk_id": chunk.chunk_id, "record": line,
               "lexical": " ".join(toks), "vector": vec.tolist()}


def _sentence_rows(index: LoadedIndex, lines: list[str]) -> Iterator[dict]:
    for pos, ((chunk, _), line, vec) in enumerate(
            zip(index.sentences, lines, index.sentence_vectors, strict=True)):
        yield {"pos": pos, "chunk": chunk, "record": line, "vector": vec.tolist()}


def meta_rows(values: dict[str, str]) -> Iterator[dict]:
    """Key/value rows, long values split into numbered parts (``key#00000``)."""
    for key, value in values.items():
        parts = [value[i:i + mc.BLOB_PART] for i in range(0, len(value), mc.BLOB_PART)] or [""]
        for i, part in enumerate(parts):
            yield {"key": f"{key}#{i:05d}", "value": part, "v": [0.0, 0.0]}


def _insert(client, collection: str, rows: Iterator[dict], timeout: float, progress: bool,
            label: str, total: int) -> None:
    from tqdm import tqdm

    bar = tqdm(total=total, desc=label, unit="row", disable=not progress)
    batch: list[dict] = []
    for row in rows:
        if len(row.get("record", "").encode()) > mc.VARCHAR_MAX:
            raise IndexProblem(f"a record of {collection} is longer than Milvus allows "
                               f"({mc.VARCHAR_MAX:,} bytes): {row['record'][:80]}…")
        batch.append(row)
        if len(batch) == BATCH:
            client.insert(collection, batch, timeout=timeout)
            bar.update(len(batch))
            batch = []
    if batch:
        client.insert(collection, batch, timeout=timeout)
        bar.update(len(batch))
    bar.close()


def stored_manifest(settings: Settings, names: mc.Names, index: LoadedIndex,
                    build_dir: Path) -> dict:
    """The local manifest plus what the Milvus copy is: schema, build, collections."""
    dense = dense_index(settings, len(index.chunks))
    files = sorted(n for n in index.manifest.get("files", {}) if is_file_artifact(n))
    return {
        **index.manifest,
        "vector_store": f"Milvus collection {names.chunks} ({dense['index_type']}, IP on "
                        "normalised vectors) + built-in BM25 function",
        "store": {"kind": "milvus", "schema_version": mc.SCHEMA_VERSION,
                  "build": names.build, "collections": dict(zip(
                      ("meta", "chunks", "sentences"), names.all())),
                  "source_build": build_dir.name, "dense_index": dense,
                  "bm25": {"tokens": "rag.search.index.bm25_tokenize", **mc.BM25_PARAMS},
                  "dim": int(index.chunk_vectors.shape[1]), "files": files,
                  "published_at": datetime.now(UTC).isoformat(timespec="seconds")},
    }


# ------------------------------------------------------------------------ verification


def verify(client, settings: Settings, names: mc.Names, index: LoadedIndex,
           stored: dict) -> str:
    """Read the new build back and compare with the local one ('' when it matches)."""
    timeout = write_timeout(settings)
    for collection in names.all():
        client.load_collection(collection, timeout=timeout)
    files = index.manifest.get("files", {})
    for collection, name, vectors in ((names.chunks, CHUNKS, index.chunk_vectors),
                                      (names.sentences, SENTENCES, index.sentence_vectors)):
        problem = _verify_rows(client, collection, files.get(name), vectors, timeout)
        if problem:
            return f"{name}: {problem}"
    meta = read_meta(client, names.meta, timeout)
    if json.loads(meta.get("manifest", "{}")) != stored:
        return "the stored manifest differs from the one written"
    for name in stored["store"]["files"]:
        data = base64.b64decode(meta.get(f"file:{name}", ""))
        if hashlib.sha256(data).hexdigest() != files.get(name):
            return f"{name} differs from the local build (checksum)"
    return _verify_search(client, names, index, timeout)


def _verify_rows(client, collection: str, expected_sha: str | None, vectors: np.ndarray,
                 timeout: float) -> str:
    digest = hashlib.sha256()
    n = 0
    for start in range(0, len(vectors), BATCH):
        rows = client.query(collection, filter=f"pos >= {start} and pos < {start + BATCH}",
                            output_fields=["pos", "record", "vector"], timeout=timeout)
        rows = sorted(rows, key=lambda r: r["pos"])
        if [r["pos"] for r in rows] != list(range(start, min(start + BATCH, len(vectors)))):
            return f"rows {start}-{start + BATCH} are incomplete ({len(rows)} read back)"
        got = np.asarray([r["vector"] for r in rows], dtype=np.float32)
        if not np.allclose(got, vectors[start:start + len(rows)], atol=1e-6):
            return f"vectors of rows {start}-{start + len(rows)} differ"
        for row in rows:
            digest.update(row["record"].encode() + b"\n")
        n += len(rows)
    total = client.query(collection, filter="", output_fields=["count(*)"],
                         timeout=timeout)[0]["count(*)"]
    if total != n:
        return f"{total} rows stored, {n} expected"
    if expected_sha and digest.hexdigest() != expected_sha:
        return "records differ from the local build (checksum)"
    return ""


def _verify_search(client, names: mc.Names, index: LoadedIndex, timeout: float) -> str:
    """The first passage finds itself by vector, and BM25 answers at all."""
    if not index.chunks:
        return ""
    hits = client.search(names.chunks, data=[index.chunk_vectors[0].tolist()],
                         anns_field="vector", limit=5, search_params={"metric_type": "IP"},
                         output_fields=["pos"], timeout=timeout)[0]
    if 0 not in [h["pos"] for h in hits]:
        return "dense search does not find the first passage by its own vector"
    words = bm25_tokenize([index.chunks[0].embed_text], return_ids=False)[0]
    if words:
        found = client.search(names.chunks, data=[" ".join(words)], anns_field="sparse",
                              limit=5, search_params={"metric_type": "BM25"},
                              output_fields=["pos"], timeout=timeout)[0]
        if not found:
            return "BM25 search returns nothing for the first passage's own words"
    return ""


def read_meta(client, collection: str, timeout: float) -> dict[str, str]:
    """Every key/value of a meta collection, parts joined."""
    rows = client.query(collection, filter='key != ""', output_fields=["key", "value"],
                        timeout=timeout)
    parts: dict[str, list[tuple[str, str]]] = {}
    for row in rows:
        key, _, number = row["key"].rpartition("#")
        parts.setdefault(key, []).append((number, row["value"]))
    return {key: "".join(v for _, v in sorted(values)) for key, values in parts.items()}


# ----------------------------------------------------------------- alias and pruning


def switch_alias(client, settings: Settings, meta_collection: str) -> None:
    """Point the alias at ``meta_collection`` in one step (Milvus aliases are atomic)."""
    prefix = settings.milvus.collection_prefix
    timeout = settings.milvus.timeout_s
    aliases = client.list_aliases(timeout=timeout).get("aliases", [])
    if prefix in aliases:
        client.alter_alias(meta_collection, prefix, timeout=timeout)
    else:
        client.create_alias(meta_collection, prefix, timeout=timeout)


def _build_parts(client, settings: Settings) -> dict[str, set[str]]:
    """Build id -> the kinds of collection it has, for this prefix's builds only."""
    pattern = re.compile(rf"{re.escape(settings.milvus.collection_prefix)}_"
                         rf"(b\d{{8}}t\d{{12}}[0-9a-f]{{4}})_(meta|chunks|sentences)")
    found: dict[str, set[str]] = {}
    for name in client.list_collections(timeout=settings.milvus.timeout_s):
        match = pattern.fullmatch(name)
        if match:
            found.setdefault(match[1], set()).add(match[2])
    return found


def builds(client, settings: Settings) -> list[str]:
    """Build ids under the prefix that have all three collections, oldest first."""
    found = _build_parts(client, settings)
    return sorted(b for b, kinds in found.items() if kinds == {"meta", "chunks", "sentences"})


def drop_build(client, names: mc.Names) -> None:
    for collection in names.all():
        try:
            client.drop_collection(collection)
        except Exception:  # noqa: BLE001, S112 - best effort: it may not exist yet
            continue


def prune(client, settings: Settings, keep: str) -> list[str]:
    """Drop builds older than the ``keep_builds`` newest up to ``keep`` (never newer ones:
    another builder may be writing them), and half-written ones older than ``keep``."""
    prefix = settings.milvus.collection_prefix
    complete = [b for b in builds(client, settings) if b <= keep]
    kept = set(complete[-settings.milvus.keep_builds:]) | {keep}
    dropped = []
    for build in sorted(_build_parts(client, settings)):
        if build < keep and build not in kept:
            drop_build(client, mc.Names(prefix, build))
            dropped.append(build)
    return dropped


def rollback(settings: Settings, check=None) -> tuple[str, str]:
    """Point the alias back at the newest complete build older than the current one,
    after ``check(client, meta_collection)`` (which raises when it cannot be served)."""
    client = mc.connect(settings)
    current = mc.current_meta(client, settings)
    if current is None:
        raise IndexProblem(f"no index in Milvus at {redact(settings)} to roll back; "
                           "run `rag build --store milvus`")
    now = mc.Names.of_meta(settings.milvus.collection_prefix, current).build
    older = [b for b in builds(client, settings) if b < now]
    if not older:
        raise IndexProblem(f"no earlier build is kept in Milvus to roll back to (current: "
                           f"{now}; RAG_MILVUS__KEEP_BUILDS keeps "
                           f"{settings.milvus.keep_builds})")
    target = mc.Names(settings.milvus.collection_prefix, older[-1])
    if check is not None:
        check(client, target.meta)
    switch_alias(client, settings, target.meta)
    return now, target.build
