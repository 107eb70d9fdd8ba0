"""``rag corpus stats``: counts of documents, paper records, links and the index.

It reads the corpus (``rag.corpus``) and the current index (``rag.search``), so it sits
above both; the arXiv fetching it reports on lives in ``rag.corpus.papers``.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass

from rag.corpus.files import mb_to_bytes
from rag.corpus.ingest import load_corpus
from rag.corpus.linking import name_report
from rag.corpus.papers import PAPERS_FILE, linked_ids, read_cache, records_by_source
from rag.search.index import CHUNKS, current_build, read_manifest, staleness
from rag.settings import Settings


@dataclass
class CorpusStats:
    documents: int
    skipped: list[str]
    records: Counter
    papers: int
    linked: int
    linked_missing: list[str]
    linked_without_abstract: int
    named_resolved: int
    unresolved: list[str]
    index: str
    chunks: int | None = None
    linked_chunks: int | None = None

    def lines(self) -> list[str]:
        by_source = ", ".join(f"{k} {v}" for k, v in sorted(self.records.items()))
        chunks = "no index built" if self.chunks is None else (
            f"{self.chunks} ({self.linked_chunks} document chunks link or name a paper)")
        return [
            f"documents: {self.documents}" + (f" ({len(self.skipped)} skipped)"
                                              if self.skipped else ""),
            f"papers: {self.papers} (records by source: {by_source or 'none'})",
            f"chunks: {chunks}; index: {self.index}",
            f"linked arXiv ids: {self.linked}; missing from papers.jsonl: "
            f"{len(self.linked_missing)}" + (f" ({', '.join(self.linked_missing)})"
                                             if self.linked_missing else ""),
            f"linked ids without a fetched abstract: {self.linked_without_abstract}",
            f"paper names without a link: {self.named_resolved} resolved, "
            f"{len(self.unresolved)} unresolved" + (f" ({'; '.join(self.unresolved)})"
                                                    if self.unresolved else ""),
        ]


def corpus_stats(settings: Settings) -> CorpusStats:
    """Counts for ``rag corpus stats``; reads the corpus and the current index only."""
    sources, skipped = load_corpus(settings.corpus_dir, mb_to_bytes(settings.sources.max_mb))
    cache = read_cache(settings.corpus_dir / PAPERS_FILE)
    have = records_by_source(cache)
    linked = linked_ids(sources)
    names = name_report(sources)
    stats = CorpusStats(
        documents=sum(s.kind == "document" for s in sources), skipped=skipped,
        records=Counter(line.record.source for line in cache if line.record),
        papers=len(set().union(*have.values())), linked=len(linked),
        linked_missing=[i for i in linked if not any(i in ids for ids in have.values())],
        linked_without_abstract=sum(i not in have["arxiv"] for i in linked),
        named_resolved=len(names.resolved), unresolved=list(names.unresolved), index="")
    _index_counts(settings, stats)
    return stats


def _index_counts(settings: Settings, stats: CorpusStats) -> None:
    build = current_build(settings)
    if build is None:
        stats.index = f"none at {settings.index_dir} (run `rag build`)"
        return
    manifest = read_manifest(build)
    stale = staleness(settings, manifest)
    stats.index = f"{build.parent.parent.name}" + (f" (stale: {stale})" if stale else "")
    stats.chunks = manifest.get("counts", {}).get("chunks")
    with (build / CHUNKS).open(encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle]
    stats.linked_chunks = sum(bool(r.get("arxiv_ids")) and not r["doc_id"].startswith("arxiv:")
                              for r in rows)

