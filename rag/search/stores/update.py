"""Bring the index the settings serve from up to date after the corpus changed (added or
removed documents, a background refresh): the FAISS build, or, with ``RAG_STORE=milvus``,
the local build and then a new published Milvus build.

A process with no corpus of its own (a Milvus replica) never builds: publishing from it
would replace the shared index with an empty or one-document one.
"""

from __future__ import annotations

from collections.abc import Sequence

from rag.errors import DocumentRejected
from rag.search.build import BuildExtra, BuildReport, build_index
from rag.settings import Settings


def has_corpus(settings: Settings) -> bool:
    corpus = settings.corpus_dir
    docs = corpus / "docs"
    return (corpus / "papers.jsonl").is_file() or (docs.is_dir() and any(docs.iterdir()))


def require_builder(settings: Settings) -> None:
    """Refuse to change the corpus of a Milvus replica (one without the corpus)."""
    if settings.store != "faiss" and not has_corpus(settings):
        raise DocumentRejected(
            "this process serves a shared Milvus index and has no corpus of its own: add "
            "or remove documents where the corpus is (`rag add FILE` with RAG_STORE=milvus "
            "publishes a new build that every replica then serves)")


def rebuild(settings: Settings, embedder, progress: bool = False,
            extras: Sequence[BuildExtra] = ()) -> BuildReport:
    """The index the settings serve from, brought up to date with the ``extras``
    (``embedder``: a loaded ``Embedder``, used only when something must be embedded)."""
    if settings.store == "faiss":
        return build_index(settings, embedder, progress=progress, extras=extras)
    from rag.search.stores.milvus_build import build_milvus

    require_builder(settings)
    report = build_milvus(settings, lambda: embedder, progress=progress, extras=extras)
    if report.local is not None:
        report.local.reason = report.reason or report.local.reason
        return report.local
    return BuildReport(settings.index_dir, rebuilt=report.published is not None,
                       reason=report.reason)
