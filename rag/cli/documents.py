"""``rag add``, ``rag remove`` and ``rag corpus list``: your own documents (the
commands' printing; the work is ``rag.search.sources``)."""

from __future__ import annotations

import argparse
import json
import sys
import textwrap

from rag.errors import RagError
from rag.settings import Settings


def _embedder_factory(settings: Settings):
    def load():
        from rag.search.embed import Embedder

        return Embedder(settings.resolved_embedding())
    return load


def cmd_add(args: argparse.Namespace, settings: Settings) -> int:
    from rag.corpus.documents import collect
    from rag.search.sources import add_and_index

    candidates, refused = collect(args.paths, settings.documents.max_files)
    if not candidates and not refused:
        raise RagError("no PDF, Markdown, text or HTML files found in "
                       + ", ".join(map(str, args.paths)))
    show = not args.quiet and not args.json

    def progress(i: int, n: int, name: str) -> None:
        if show:
            print(f"[{i + 1}/{n}] reading {name}" if name else "updating the index…",
                  file=sys.stderr, flush=True)

    from rag.study.stored import study_extra

    change = add_and_index(settings, _embedder_factory(settings), candidates, progress,
                           build_progress=show and sys.stderr.isatty(),
                           extras=[study_extra(settings)])
    results = refused + change.results
    if args.json:
        print(json.dumps({"results": [r.model_dump() for r in results],
                          "index": _build_json(change.build)}, ensure_ascii=False, indent=2))
    else:
        print("\n".join(format_add_results(results, change.build)))
    return 2 if any(r.status == "rejected" for r in results) else 0


def format_add_results(results: list, build) -> list[str]:
    """One line per file, then a summary (and what the index update did)."""
    mark = {"added": "added", "duplicate": "duplicate", "rejected": "REJECTED"}
    lines = [f"{mark[r.status]:>9}  {r.name}: {r.message}" for r in results]
    counts = {s: sum(r.status == s for r in results) for s in mark}
    lines.append(f"{counts['added']} added, {counts['duplicate']} duplicate, "
                 f"{counts['rejected']} rejected")
    if build is not None and build.rebuilt:
        lines.append(f"index updated: {build.chunks} chunks; embedded {build.embedded} new "
                     f"texts, reused {build.reused}; {build.seconds:.1f} s")
    elif not counts["added"]:
        lines.append("index unchanged (nothing new to embed)")
    return lines


def _build_json(build) -> dict | None:
    if build is None:
        return None
    return {"rebuilt": build.rebuilt, "chunks": build.chunks, "embedded": build.embedded,
            "reused": build.reused, "seconds": round(build.seconds, 3)}


def cmd_remove(args: argparse.Namespace, settings: Settings) -> int:
    from rag.search.sources import remove_and_index
    from rag.study.stored import study_extra

    change = remove_and_index(settings, _embedder_factory(settings), args.doc_ids,
                              build_progress=not args.quiet and sys.stderr.isatty(),
                              extras=[study_extra(settings)])
    for doc in change.removed:
        print(f"removed {doc.doc_id} ({doc.title})")
    if change.build is not None and change.build.rebuilt:
        print(f"index updated: {change.build.chunks} chunks; {change.build.seconds:.1f} s")
    if change.unknown:
        raise RagError(f"no added document {', '.join(change.unknown)}; "
                       "`rag corpus list` shows the ids")
    return 0


def list_documents(args: argparse.Namespace, settings: Settings) -> int:
    from rag.search.sources import document_rows

    rows = document_rows(settings)
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    if not rows:
        print("no documents added yet: `rag add PATH|FOLDER` adds PDFs, notes and web pages")
        return 0
    print("\n".join(format_documents(rows)))
    return 0


def format_documents(rows: list[dict]) -> list[str]:
    """A plain table: id, title, kind, pages, chunks, added date."""
    table = [("id", "title", "kind", "pages", "chunks", "added")]
    for r in rows:
        table.append((r["doc_id"], textwrap.shorten(r["title"], 48), r["kind"],
                      str(r["pages"] or "–"), "pending" if r["chunks"] is None
                      else str(r["chunks"]), r["added_at"][:10]))
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    return ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip()
            for row in table]
