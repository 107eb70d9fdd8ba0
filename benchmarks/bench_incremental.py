"""Incremental re-index: change one document, rebuild, re-embed only its chunks.

    .venv/bin/python benchmarks/bench_incremental.py [--smoke]

Works on a copy of ``corpus/`` in a temporary ``RAG_HOME`` (the repository's index for
the same settings is copied along when present, so the first build only catches up).
The model is loaded once, before the clock; each scenario changes one source, then
``build_index`` runs and we record its own time (``BuildReport.seconds``: reading,
chunking, embedding what changed, writing and checksumming the new build), how many
texts it embedded and reused, and whether every embedded text belongs to the changed
source (vectors are keyed by a hash of the text they embed).  Target: <= 5 s.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

from _common import (
    REPO,
    STUB_CORPUS,
    machine,
    parse_args,
    table,
    target,
    targets_table,
    timed,
    write_result,
)

NAME = "bench_incremental"
NOTE = ("Incremental re-indexing keeps the vectors of unchanged passages, so only the "
        "passages of the edited document are embedded again.")


def prepare_home(home: Path, corpus: Path, settings) -> None:
    """Copy the corpus, and the repository's current build for these settings if any."""
    shutil.copytree(corpus, home / "corpus")
    source = REPO / "index" / settings.index_name()
    if corpus == REPO / "corpus" and (source / "current").is_symlink():
        target_dir = home / "index" / settings.index_name()
        build = (source / "current").resolve()
        shutil.copytree(build, target_dir / "builds" / build.name)
        (target_dir / "current").symlink_to(Path("builds") / build.name)


def document_path(corpus: Path) -> Path:
    """The mid-sized document (neither the smallest nor the largest)."""
    docs = sorted((corpus / "docs").glob("*.txt"), key=lambda p: p.stat().st_size)
    return docs[len(docs) // 2]


def edit_sentence(corpus: Path) -> str:
    """Insert a word into the longest line (body text) of a document; returns its doc_id."""
    path = document_path(corpus)
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    i = max(range(len(lines)), key=lambda j: len(lines[j]))
    lines[i] = lines[i].replace(" ", " rapidly ", 1)
    path.write_text("".join(lines), encoding="utf-8")
    return path.stem


def append_section(corpus: Path) -> str:
    """Add a new short section at the end of a document."""
    path = document_path(corpus)
    text = path.read_text(encoding="utf-8").rstrip("\n")
    path.write_text(f"{text}\n\n## Benchmark addendum\n\n{NOTE} The new section holds two "
                    "sentences to embed.\n", encoding="utf-8")
    return path.stem


def edit_card(corpus: Path) -> str:
    """Extend the summary of the last paper card."""
    path = corpus / "papers.jsonl"
    lines = path.read_text(encoding="utf-8").splitlines()
    card = json.loads(lines[-1])
    card["summary"] = card["summary"].rstrip() + " " + NOTE
    lines[-1] = json.dumps(card, ensure_ascii=False)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return f"arxiv:{card['arxiv_id']}"


SCENARIOS = {"edit one sentence of a document": edit_sentence,
             "append a section to a document": append_section,
             "edit one paper card": edit_card}


def texts_of(settings, doc_id: str) -> int:
    """Chunks plus answer sentences of one source in the current build."""
    from rag.search.index import load_index

    index = load_index(settings)
    mine = {i for i, c in enumerate(index.chunks) if c.doc_id == doc_id}
    return len(mine) + sum(1 for chunk, _ in index.sentences if chunk in mine)


def run_scenario(name: str, change, settings, embedder) -> dict:
    from rag.search.build import build_index

    doc_id = change(settings.corpus_dir)
    report = build_index(settings, embedder)
    own = texts_of(settings, doc_id)
    return {"scenario": name, "doc_id": doc_id, "seconds": round(report.seconds, 3),
            "rebuilt": report.rebuilt, "embedded": report.embedded, "reused": report.reused,
            "texts_of_changed_source": own, "only_changed_source": report.embedded <= own,
            "chunks": report.chunks, "sentences": report.sentences}


def report(result: dict) -> None:
    rows = [(s["scenario"], s["doc_id"], s["seconds"], s["embedded"], s["reused"],
             s["texts_of_changed_source"], s["only_changed_source"])
            for s in result["scenarios"]]
    rows.append(("no change", "–", result["no_change"]["seconds"], 0, "–", "–",
                 not result["no_change"]["rebuilt"]))
    print(table("Incremental rebuilds (model already loaded)",
                ["scenario", "source", "seconds", "embedded", "reused",
                 "texts of source", "only that source"], rows))
    print(f"first build of the copy: {result['first_build']['seconds']} s "
          f"({result['first_build']['embedded']} embedded, {result['first_build']['reused']} "
          f"reused); model load {result['model_load_s']} s")
    print(targets_table(result["targets"]))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(NAME, __doc__.splitlines()[0], argv)
    started, before = time.perf_counter(), machine()
    from rag.search.build import build_index
    from rag.search.embed import Embedder
    from rag.settings import load_settings

    preset, corpus = ("fast", STUB_CORPUS) if args.smoke else ("default", REPO / "corpus")
    with tempfile.TemporaryDirectory(prefix="rag-bench-incr-") as tmp:
        settings = load_settings(preset).updated(home=Path(tmp))
        prepare_home(Path(tmp), corpus, settings)
        embedder, load_s = timed(Embedder, settings.embedding)
        first = build_index(settings, embedder)
        scenarios = [run_scenario(name, change, settings, embedder)
                     for name, change in SCENARIOS.items()]
        unchanged, no_change_s = timed(build_index, settings, embedder)
    result = {"preset": preset, "corpus": str(corpus.relative_to(REPO)),
              "model_load_s": round(load_s, 2),
              "first_build": {"seconds": round(first.seconds, 2), "embedded": first.embedded,
                              "reused": first.reused, "rebuilt": first.rebuilt},
              "scenarios": scenarios,
              "no_change": {"seconds": round(no_change_s, 3), "rebuilt": unchanged.rebuilt}}
    worst = max(s["seconds"] for s in scenarios)
    result["targets"] = [
        target("slowest one-source rebuild (model loaded)", worst, 5.0, unit="s"),
        target("rebuilds that embedded only the changed source", sum(
            s["only_changed_source"] for s in scenarios), len(scenarios),
            higher_is_better=True, unit="scenarios")]
    report(result)
    write_result(NAME, args, result, started, before)
    return 0


if __name__ == "__main__":
    sys.exit(main())
