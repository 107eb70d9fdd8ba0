"""What the index is built from: the shipped corpus plus your own documents.

``load_sources`` is what ``rag.search.build`` reads.  ``add_and_index`` and
``remove_and_index`` change the added documents (``rag.corpus.documents``) and then
rebuild the index, which re-embeds only texts it has not embedded before (vectors are
reused by content hash), so adding a paper embeds that paper and nothing else, and a
removed document leaves no passage, sentence or BM25 entry behind.
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from rag.corpus import documents
from rag.corpus.chunk import chunk_source
from rag.corpus.ingest import load_corpus
from rag.records import AddedDocument, AddResult, Chunk, Source
from rag.settings import Settings, pipeline_fingerprint

EmbedderFactory = Callable[[], object]


@dataclass
class DocumentsChange:
    """Per-file results of an add (or the removed documents) and the rebuild report."""

    results: list[AddResult] = field(default_factory=list)
    removed: list[AddedDocument] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    build: object | None = None  # rag.search.build.BuildReport when the index was rebuilt


def load_sources(settings: Settings, max_bytes: int | None = None,
                 on_file: Callable | None = None) -> tuple[list[Source], list[str]]:
    """Shipped documents and cards (``load_corpus``'s rules and limit), then the added
    documents (and a card for each added arXiv paper the corpus has none for)."""
    sources, warnings = load_corpus(settings.corpus_dir, max_bytes, on_file)
    card_ids = {s.doc_id for s in sources if s.kind == "paper"}
    added, added_warnings = documents.load_added(settings.corpus_dir, settings.documents,
                                                 card_ids)
    return sources + added, warnings + added_warnings


_CHUNKS: OrderedDict[str, list[Chunk]] = OrderedDict()  # recent sources' chunks
_CHUNKS_KEPT = 4000  # sources remembered (a few MB)


def chunk_cached(source: Source, settings: Settings, count_tokens, max_body: int,
                 ) -> list[Chunk]:
    """``chunk_source``, remembering each source's chunks for the next build in this
    process: an app re-indexing after an upload chunks only the new document (chunking
    the whole corpus costs 2-4 s).  Keyed by the source's content, the chunk settings,
    the model and the pipeline code, so nothing stale is ever reused."""
    shape = json.dumps([settings.chunking.model_dump(), max_body, settings.embedding.model_name,
                        pipeline_fingerprint()])
    key = hashlib.sha256((shape + source.model_dump_json()).encode()).hexdigest()
    chunks = _CHUNKS.get(key)
    if chunks is None:
        chunks = chunk_source(source, settings.chunking, count_tokens, max_body)
        _CHUNKS[key] = chunks
        while len(_CHUNKS) > _CHUNKS_KEPT:
            _CHUNKS.popitem(last=False)
    _CHUNKS.move_to_end(key)
    return chunks


def chunk_all(sources: Sequence[Source], settings: Settings, count_tokens,
              max_body: int) -> list[Chunk]:
    """Every source's chunks, in order (``chunk_cached`` for each)."""
    return [c for source in sources for c in chunk_cached(source, settings, count_tokens,
                                                          max_body)]


def add_and_index(settings: Settings, embedder: EmbedderFactory,
                  candidates: Sequence[documents.Candidate],
                  progress: documents.Progress | None = None,
                  build_progress: bool = False, extras: Sequence = ()) -> DocumentsChange:
    """Add the files, then rebuild the index when anything was added (with the build
    ``extras``, e.g. the question bank, so they cover the new documents)."""
    from rag.search.stores.update import require_builder

    require_builder(settings)  # a Milvus replica has no corpus to add to
    results = documents.add_documents(settings, candidates, progress)
    change = DocumentsChange(results=results)
    if any(r.status == "added" for r in results):
        change.build = _rebuild(settings, embedder, build_progress, extras)
    return change


def remove_and_index(settings: Settings, embedder: EmbedderFactory, wanted: Sequence[str],
                     build_progress: bool = False, extras: Sequence = ()) -> DocumentsChange:
    from rag.search.stores.update import require_builder

    require_builder(settings)
    removed, unknown = documents.remove_documents(settings, wanted)
    change = DocumentsChange(removed=removed, unknown=unknown)
    if removed:
        change.build = _rebuild(settings, embedder, build_progress, extras)
    return change


def _rebuild(settings: Settings, embedder: EmbedderFactory, progress: bool,
             extras: Sequence = ()):
    from rag.search.stores.update import rebuild  # FAISS, or local build + Milvus publish

    return rebuild(settings, embedder(), progress=progress, extras=extras)


def document_rows(settings: Settings) -> list[dict]:
    """The added documents with their chunk counts in the current index (None when the
    index does not hold them yet: a rebuild is pending)."""
    counts = indexed_chunk_counts(settings)
    rows = []
    for doc in documents.read_registry(settings.corpus_dir):
        rows.append({**doc.model_dump(), "chunks": counts.get(doc.doc_id)})
    return rows


def indexed_chunk_counts(settings: Settings) -> dict[str, int]:
    from rag.search.index import CHUNKS, current_build

    build = current_build(settings)
    counts: dict[str, int] = {}
    if build is None or not (build / CHUNKS).is_file():
        return counts
    with (build / CHUNKS).open(encoding="utf-8") as handle:
        for line in handle:
            if '"user:' in line:
                doc_id = json.loads(line)["doc_id"]
                counts[doc_id] = counts.get(doc_id, 0) + 1
    return counts
