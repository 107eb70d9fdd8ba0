"""Your documents in the index: answerable with page citations, incremental embedding,
nothing left behind on removal, the CLI, and a `rag add` killed part-way."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

import pytest
from conftest import stub_settings
from documents_data import NOTES, PAGED, SPECULATIVE

from rag.assistant import Assistant
from rag.corpus.documents import collect
from rag.records import Answer
from rag.search.index import current_build, load_index, read_manifest
from rag.search.sources import add_and_index, document_rows, remove_and_index
from rag.settings import REPO_ROOT
from rag.study.bank import build_bank


def add(settings, embedder, *paths):
    found, refused = collect(list(paths), 100)
    change = add_and_index(settings, lambda: embedder, found)
    change.results[:0] = refused
    return change


@pytest.fixture(scope="module")
def home(tmp_path_factory, embedder):
    """A stub home with its index, then the two papers and the notes added."""
    settings = stub_settings(tmp_path_factory.mktemp("docs-home"))
    from rag.search.build import build_index

    before = build_index(settings, embedder)
    change = add(settings, embedder, SPECULATIVE, PAGED, NOTES)
    return settings, before, change


def cited(answer: Answer):
    return [c for c in answer.citations if c.cited]


def test_added_papers_are_answerable_with_their_pages(home, embedder):
    settings, _, change = home
    assert [r.status for r in change.results] == ["added"] * 3
    assistant = Assistant(settings, embedder, load_index(settings), None)
    answer = assistant.ask("How many tokens does one verification call yield on average "
                           "with alpha 0.8 and gamma 4?")
    top = cited(answer)[0]
    assert top.doc_id == "user:speculative-decoding" and top.pages == "p. 2"
    assert "3.36 tokens" in answer.text
    data = answer.to_json()["citations"][0]
    assert (data["page_start"], data["page_end"], data["pages"]) == (2, 2, "p. 2")
    assert {"n", "doc_id", "title", "section", "url", "text", "score", "cited"} <= set(data)


def test_a_recognised_paper_links_to_its_card(home, embedder):
    settings, _, _ = home
    assistant = Assistant(settings, embedder, load_index(settings), None)
    answer = assistant.ask("What is the acceptance rule of speculative decoding?")
    assert "2211.17192" in [p.arxiv_id for p in answer.related_papers]
    card = [c for c in assistant.index.chunks if c.doc_id == "arxiv:2211.17192"]
    assert card and card[0].title.startswith("Speculative Decoding in Practice")
    assert "2211.17192" in assistant.index.papers  # a card made from the PDF's abstract


def test_only_new_content_is_embedded(home, embedder):
    settings, before, change = home
    report = change.build
    new_chunks = report.chunks - before.chunks
    new_sentences = report.sentences - before.sentences
    assert report.embedded <= new_chunks + new_sentences + 2  # + the new card's texts
    assert report.reused >= before.chunks + before.sentences - 2
    again = add(settings, embedder, SPECULATIVE)
    assert again.results[0].status == "duplicate" and again.build is None


def test_listing_counts_chunks_and_the_bank_marks_your_documents(home):
    settings, _, _ = home
    rows = {r["doc_id"]: r for r in document_rows(settings)}
    assert rows["user:speculative-decoding"]["pages"] == 3
    assert rows["user:speculative-decoding"]["chunks"] > 5
    assert rows["user:notes-normalization"]["kind"] == "notes"
    index = load_index(settings)
    bank = build_bank(index.chunks, settings.interview)
    mine = [e for e in bank if e.from_user_documents]
    questions = [e.question for e in mine]
    assert "Explain Acceptance rule (Speculative Decoding in Practice)" in questions
    assert "What problem does “Speculative Decoding in Practice” address?" in questions
    assert "What results does “Speculative Decoding in Practice” report?" in questions
    assert not [q for q in questions if "Introduction" in q or "Related Work" in q]
    assert all(e.source_chunk_ids and all(c.startswith("user:") for c in e.source_chunk_ids)
               for e in mine)
    assert not [e for e in bank if not e.from_user_documents
                and any(c.startswith("user:") for c in (e.origin_chunk_id,))]


def test_removing_leaves_no_chunk_sentence_bm25_entry_or_question(tmp_path, embedder):
    settings = stub_settings(tmp_path)
    from rag.search.build import build_index

    base = build_index(settings, embedder)
    add(settings, embedder, NOTES)
    change = remove_and_index(settings, lambda: embedder, ["user:notes-normalization"])
    assert [d.doc_id for d in change.removed] == ["user:notes-normalization"]
    index = load_index(settings)
    assert not [c for c in index.chunks if c.doc_id.startswith("user:")]
    assert len(index.chunks) == base.chunks and len(index.sentences) == base.sentences
    assert not [s for _, s in index.sentences if "RMSNorm" in s]
    assert index.bm25.scores["num_docs"] == len(index.chunks)
    assert "rmsnorm" not in index.bm25.vocab_dict  # a term only the notes used
    assert not [e for e in build_bank(index.chunks, settings.interview)
                if e.from_user_documents]


def _cli(home, *args, timeout=300):
    env = {**os.environ, "RAG_HOME": str(home)}
    return subprocess.run([sys.executable, "-m", "rag.cli", "--preset", "fast", *args],
                          cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout)


@pytest.mark.integration
def test_cli_add_list_ask_remove(tmp_path):
    settings = stub_settings(tmp_path / "home")
    bad = tmp_path / "empty.md"
    bad.write_text("")
    run = _cli(settings.home, "add", "--json", str(PAGED), str(bad))
    assert run.returncode == 2, run.stderr  # one file was rejected
    out = json.loads(run.stdout)
    assert [r["status"] for r in out["results"]] == ["added", "rejected"]
    assert out["index"]["rebuilt"] and out["index"]["embedded"] > 0
    listing = json.loads(_cli(settings.home, "corpus", "list", "--json").stdout)
    assert listing[0]["doc_id"] == "user:paged-attention" and listing[0]["chunks"] > 0
    assert {"title", "kind", "pages", "added_at"} <= set(listing[0])
    text = _cli(settings.home, "ask", "What block size does PagedAttention use?").stdout
    assert re.search(r"Paging the KV Cache.*, p\. 1", text)
    table = _cli(settings.home, "corpus", "list").stdout
    assert "user:paged-attention" in table and "paper" in table
    removed = _cli(settings.home, "remove", "paged-attention")
    assert removed.returncode == 0 and "removed user:paged-attention" in removed.stdout
    unknown = _cli(settings.home, "remove", "user:nothing")
    assert unknown.returncode == 2 and "no added document user:nothing" in unknown.stderr


@pytest.mark.integration
def test_rag_add_killed_during_the_index_update(tmp_path, embedder):
    """SIGKILL after the document is registered, while the index is being rebuilt: the
    served index still loads; the next `rag add` completes both documents."""
    settings = stub_settings(tmp_path)
    from rag.search.build import build_index

    build_index(settings, embedder)
    served = current_build(settings)
    registry = settings.corpus_dir / "added" / "registry.json"
    env = {**os.environ, "RAG_HOME": str(settings.home)}
    proc = subprocess.Popen([sys.executable, "-m", "rag.cli", "--preset", "fast", "add",
                             str(SPECULATIVE)], cwd=REPO_ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not registry.is_file() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert current_build(settings) == served  # the index being served is untouched
    assert load_index(settings, allow_stale=True).chunks
    shutil.copy(NOTES, tmp_path / "notes.md")
    done = _cli(settings.home, "add", str(tmp_path / "notes.md"))
    assert done.returncode == 0, done.stderr
    docs = {c.doc_id for c in load_index(settings).chunks}
    assert {"user:speculative-decoding", "user:notes"} <= docs
    manifest = read_manifest(current_build(settings))
    assert manifest["counts"]["chunks"] == len(load_index(settings).chunks)



def test_unchanged_sources_are_not_chunked_again(stub_home):
    from rag.search import sources as sources_module
    from rag.search.sources import chunk_all, load_sources

    sources_module._CHUNKS.clear()  # earlier builds in this process filled it
    sources, _ = load_sources(stub_home)
    calls = []

    def count(text: str) -> int:
        calls.append(text)
        return len(text.split())

    first = chunk_all(sources, stub_home, count, 254)
    n_first = len(calls)
    extra = sources[0].model_copy(update={"doc_id": "user:copy"})
    second = chunk_all([*sources, extra], stub_home, count, 254)
    assert first == second[:len(first)] and len(second) > len(first)
    assert 0 < len(calls) - n_first < n_first  # only the new source was chunked
    other = stub_home.updated(chunking={"chunk_tokens": 64})
    chunk_all(sources, other, count, 254)  # other settings: chunked afresh
    assert len(calls) - n_first > n_first - 1
