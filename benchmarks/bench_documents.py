"""Your own documents: `rag add` speed, re-adding, answer quality, time to answerable.

On a temporary RAG_HOME holding the shipped corpus and its index:
1. `rag add` of a 31-page two-column paper (long_paper.py), as a user runs it (a
   subprocess: imports, model load, parsing, embedding, index swap): pages per second
   on the wall clock, plus the same add in-process (model already loaded);
2. the same file again: a duplicate, nothing embedded;
3. the two test papers added, then 20 questions written about them
   (tests/data/documents/questions.jsonl): hit@5 (a top-5 passage of the right document
   holds the evidence), the top citation's document, and page accuracy (the top
   citation's pages hold the evidence; and, for every retrieved passage holding it, its
   page range is right);
4. the app: time from starting an upload until the document is answerable (first
   upload, which loads the index-update model, and a second one).

    .venv/bin/python benchmarks/bench_documents.py [--smoke]
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import (  # noqa: E402
    REPO,
    RESULTS,
    machine,
    parse_args,
    table,
    target,
    targets_table,
    write_result,
)
from benchmarks.long_paper import make_long_paper  # noqa: E402

DOCS = REPO / "tests" / "data" / "documents"
QUESTIONS = DOCS / "questions.jsonl"


def squash(text: str) -> str:
    return " ".join(text.replace("\ufffe", "").replace("\x02", "").split())


def evidence_pages(pdf: Path, quotes: list[str]) -> set[int]:
    """Pages whose text (PDFium, read independently of our pipeline) holds a quote."""
    import pypdfium2

    doc = pypdfium2.PdfDocument(str(pdf))
    try:
        pages = [squash(doc[i].get_textpage().get_text_range()) for i in range(len(doc))]
    finally:
        doc.close()
    return {n for n, text in enumerate(pages, 1) for q in quotes if squash(q)[:40] in text}


def make_home(tmp: Path, settings_home: Path = REPO) -> Path:
    home = tmp / "home"
    shutil.copytree(settings_home / "corpus", home / "corpus",
                    ignore=shutil.ignore_patterns("added"))
    if (settings_home / "index").is_dir():
        shutil.copytree(settings_home / "index", home / "index", symlinks=True)
    return home


def cli(home: Path, *args: str) -> tuple[subprocess.CompletedProcess, float]:
    env = {**os.environ, "RAG_HOME": str(home)}
    start = time.perf_counter()
    run = subprocess.run([sys.executable, "-m", "rag.cli", *args], cwd=REPO, env=env,
                         capture_output=True, text=True, timeout=1800)
    return run, time.perf_counter() - start


def add_speed(home: Path, pdf: Path, pages: int) -> dict:
    run, wall = cli(home, "add", "--json", str(pdf))
    if run.returncode != 0:
        raise SystemExit(f"rag add failed: {run.stderr}")
    index = json.loads(run.stdout)["index"]
    again, wall_again = cli(home, "add", "--json", str(pdf))
    second = json.loads(again.stdout)
    return {"pages": pages, "wall_s": round(wall, 2), "pages_per_s": round(pages / wall, 2),
            "index_update_s": index["seconds"], "embedded": index["embedded"],
            "reused": index["reused"], "chunks_after": index["chunks"],
            "readd_status": second["results"][0]["status"],
            "readd_embedded": (second["index"] or {}).get("embedded", 0),
            "readd_wall_s": round(wall_again, 2)}


def in_process_add(settings, embedder, paths: list[Path]) -> dict:
    from rag.corpus.documents import collect
    from rag.search.sources import add_and_index

    found, _ = collect(paths, 100)
    start = time.perf_counter()
    change = add_and_index(settings, lambda: embedder, found)
    seconds = time.perf_counter() - start
    pages = sum(r.pages or 0 for r in change.results)
    return {"files": [r.name for r in change.results], "pages": pages,
            "seconds": round(seconds, 2), "pages_per_s": round(pages / seconds, 2),
            "embedded": change.build.embedded if change.build else 0}


def quality(assistant, questions: list[dict]) -> tuple[dict, list[dict]]:
    rows = []
    for q in questions:
        doc_id = "user:" + re.sub(r"[^a-z0-9.]+", "-", Path(q["doc"]).stem.lower())
        pages = evidence_pages(DOCS / q["doc"], q["evidence"])
        answer = assistant.ask(q["question"])
        holds = [c for c in answer.citations if c.doc_id == doc_id and any(
            squash(e) in squash(c.text) for e in q["evidence"])]
        top = next((c for c in answer.citations if c.cited), None)
        top_ok = top is not None and top.doc_id == doc_id
        rows.append({
            "id": q["id"], "hit@5": bool(holds), "top_cited_doc": top_ok,
            "page_accuracy": top_ok and top.page_start is not None and any(
                top.page_start <= p <= top.page_end for p in pages),
            "pages_of_evidence_passages_right": all(
                any(c.page_start <= p <= c.page_end for p in pages) for c in holds) if holds
            else None,
            "expected_pages": sorted(pages), "top_pages": top.pages if top else "",
            "abstained": answer.abstained})
    n = len(rows)
    judged = [r for r in rows if r["pages_of_evidence_passages_right"] is not None]
    summary = {"questions": n,
               "hit@5": round(sum(r["hit@5"] for r in rows) / n, 3),
               "top_citation_right_document": round(sum(r["top_cited_doc"] for r in rows) / n,
                                                    3),
               "page_accuracy_top_citation": round(sum(r["page_accuracy"] for r in rows) / n,
                                                   3),
               "page_ranges_right_for_evidence_passages": round(sum(
                   r["pages_of_evidence_passages_right"] for r in judged) / max(1, len(judged)),
                   3),
               "abstained": sum(r["abstained"] for r in rows)}
    return summary, rows


def app_answerable(settings, assistant, uploads: list[tuple[Path, str]]) -> list[dict]:
    """Seconds from starting an upload until a question about it cites it."""
    from gradio_client import Client, handle_file

    from rag.app import ui
    from rag.app.limits import launch_limits

    demo = ui.build_app(assistant, settings)
    demo.queue(default_concurrency_limit=2)
    _, url, _ = demo.launch(server_name="127.0.0.1", server_port=None,
                            prevent_thread_lock=True, quiet=True,
                            **ui.launch_options(), **launch_limits(settings, uploads=True))
    out = []
    try:
        client = Client(url, verbose=False)
        for path, question in uploads:
            start = time.perf_counter()
            html = client.predict([handle_file(path)], api_name="/add_documents")
            uploaded = time.perf_counter() - start
            _, _, evidence, _, _ = client.predict(question, [], 5, "extractive", True,
                                                  api_name="/ask")
            total = time.perf_counter() - start
            out.append({"file": path.name, "status_added": 'data-status="added"' in html,
                        "upload_to_result_s": round(uploaded, 2),
                        "upload_to_answer_s": round(total, 2),
                        "answer_cites_it": path.stem.split("_")[0].lower() in evidence.lower()})
    finally:
        demo.close()
    return out


def targets(payload: dict) -> list[dict]:
    quality_ = payload["quality"]
    out = [target("hit@5 on questions about added papers", quality_["hit@5"], 0.9, True),
           target("page accuracy of the top citation", quality_["page_accuracy_top_citation"],
                  0.9, True),
           target("every upload answerable", float(all(
               r["answer_cites_it"] for r in payload["app_time_to_answerable"])), 1.0, True)]
    if "rag_add_long_paper" in payload:
        out.append(target("re-adding the same file: texts embedded",
                          payload["rag_add_long_paper"]["readd_embedded"], 0))
    return out


def main(argv: list[str] | None = None) -> int:
    started = time.perf_counter()
    args = parse_args("bench_documents", __doc__.splitlines()[0], argv)
    before = machine()
    from rag.assistant import Assistant
    from rag.search.build import build_index
    from rag.search.embed import Embedder
    from rag.search.index import load_index
    from rag.settings import load_settings

    questions = [json.loads(line) for line in QUESTIONS.read_text().splitlines() if line]
    payload: dict = {}
    with tempfile.TemporaryDirectory(prefix="bench-docs-") as tmp:
        home = make_home(Path(tmp))
        settings = load_settings().updated(home=home)
        embedder = Embedder(settings.embedding)
        build_index(settings, embedder)  # bring the copied index up to date (untimed)
        if not args.smoke:
            pdf, _ = make_long_paper(RESULTS / "documents")
            import pypdfium2

            pages = len(pypdfium2.PdfDocument(str(pdf)))
            payload["rag_add_long_paper"] = add_speed(home, pdf, pages)
        payload["in_process_add_test_papers"] = in_process_add(
            settings, embedder, [DOCS / "speculative_decoding.pdf", DOCS / "paged_attention.pdf"])
        assistant = Assistant(settings, embedder, load_index(settings), None)
        payload["quality"], payload["per_question"] = quality(
            assistant, questions[:4] if args.smoke else questions)
        uploads = [(DOCS / "notes_normalization.md", "What does RMSNorm drop from layer norm?"),
                   (DOCS / "rope_blog.pdf", "How does RoPE extend the context window?")]
        payload["app_time_to_answerable"] = app_answerable(settings, assistant,
                                                           uploads[:1] if args.smoke
                                                           else uploads)
    for key in ("rag_add_long_paper", "in_process_add_test_papers", "quality"):
        if key in payload:
            print(table(key, ["measure", "value"], list(payload[key].items())))
    rows = payload["app_time_to_answerable"]
    print(table("app: upload until answerable", list(rows[0]), [list(r.values()) for r in rows]))
    payload["targets"] = targets(payload)
    print(targets_table(payload["targets"]))
    write_result("bench_documents", args, payload, started, before)
    return 0


if __name__ == "__main__":
    sys.exit(main())
