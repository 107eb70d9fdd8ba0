"""Issue 13, items 4-5: what a corpus folder may hold (symlinks out of it, FIFOs,
over-size files), build progress from the first second, and ``rag ask`` / the app
answering from the last good index while a rebuild is pending."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time

import pytest

from rag.corpus.files import mb_to_bytes
from rag.corpus.ingest import load_corpus
from rag.search.build import build_index, rebuild_reason, up_to_date
from rag.search.index import corpus_fingerprint, current_build, load_index
from rag.settings import REPO_ROOT, load_settings

QUESTION = "What does DPO optimize instead of a reward model?"
SECRET = "zebra-quartz-secret-7731 is the root password of this machine."


def _in_thread(fn, timeout: float = 20.0):
    """``fn()`` in a daemon thread; fails the test when it does not return in time
    (a FIFO opened for reading blocks forever)."""
    result: dict = {}
    thread = threading.Thread(target=lambda: result.update(value=fn()), daemon=True)
    thread.start()
    thread.join(timeout)
    assert not thread.is_alive(), f"{fn} hung for {timeout} s"
    return result["value"]


# --- item 4: symlinks out of the corpus, FIFOs ------------------------------------------
def test_symlink_out_of_the_corpus_is_refused(stub_home, embedder, tmp_path_factory):
    """Before the fix: ``ln -s /etc/passwd corpus/docs/zz.txt`` was indexed silently."""
    outside = tmp_path_factory.mktemp("outside") / "secret.txt"
    outside.write_text(f"# Secrets\n\n{SECRET}\n", encoding="utf-8")
    docs = stub_home.corpus_dir / "docs"
    (docs / "zz.txt").symlink_to(outside)
    (docs / "zy.txt").symlink_to("/etc/passwd")
    inner = stub_home.corpus_dir / "notes"
    inner.mkdir()
    (inner / "kept.txt").write_text("# Kept\n\nA symlink inside the corpus folder is kept: "
                                    "retrieval augmented generation grounds answers.\n")
    (docs / "zk.txt").symlink_to(inner / "kept.txt")
    sources, warnings = load_corpus(stub_home.corpus_dir)
    assert any(w.startswith("zz.txt: refused: it links outside the corpus folder")
               for w in warnings), warnings
    assert any(w.startswith("zy.txt: refused") for w in warnings)
    assert "zk" in {s.doc_id for s in sources} and "zz" not in {s.doc_id for s in sources}
    build_index(stub_home, embedder)
    texts = " ".join(c.text for c in load_index(stub_home).chunks)
    assert "zebra-quartz" not in texts and "root:x:0" not in texts and "symlink inside" in texts


def test_cli_build_warns_about_the_refused_link(stub_home, embedder, monkeypatch, capsys):
    from rag import cli

    (stub_home.corpus_dir / "docs" / "zz.txt").symlink_to("/etc/passwd")
    monkeypatch.setenv("RAG_HOME", str(stub_home.home))
    monkeypatch.setattr("rag.search.embed.Embedder", lambda _: embedder)
    assert cli.main(["--preset", "fast", "build", "--quiet"]) == 0
    err = capsys.readouterr().err
    assert ("warning: skipped zz.txt: refused: it links outside the corpus folder "
            "(to /etc/passwd)") in err


def test_fifo_in_the_corpus_is_skipped_not_waited_for(stub_home, embedder):
    """Before the fix: a FIFO in corpus/docs hung ``rag build --force`` forever."""
    os.mkfifo(stub_home.corpus_dir / "docs" / "pipe.txt")
    sources, warnings = _in_thread(lambda: load_corpus(stub_home.corpus_dir))
    assert "pipe.txt: not a regular file (a FIFO)" in warnings
    _in_thread(lambda: corpus_fingerprint(stub_home.corpus_dir))
    report = _in_thread(lambda: build_index(stub_home, embedder, force=True), timeout=120)
    assert "pipe.txt: not a regular file (a FIFO)" in report.warnings


def test_fifo_as_the_card_file_is_skipped(stub_home):
    cards = stub_home.corpus_dir / "papers.jsonl"
    cards.unlink()
    os.mkfifo(cards)
    sources, warnings = _in_thread(lambda: load_corpus(stub_home.corpus_dir))
    assert "papers.jsonl: not a regular file (a FIFO)" in warnings
    assert not [s for s in sources if s.kind == "paper"]


# --- item 5: per-file size limit, progress, not blocking on a rebuild -------------------
def test_size_limit_setting_is_the_shared_definition(monkeypatch):
    assert load_settings().sources.max_mb == 20.0
    monkeypatch.setenv("RAG_SOURCES__MAX_MB", "0.5")
    assert load_settings().sources.max_mb == 0.5
    assert mb_to_bytes(0.5) == 512 * 1024


def test_file_over_the_size_limit_is_skipped_with_a_clear_message(stub_home, embedder):
    """Before the fix: a 20 MB file meant ~5 minutes of silence, then over an hour."""
    big = stub_home.corpus_dir / "docs" / "big.txt"
    big.write_text("# Big\n\n" + "Attention weighs tokens by relevance. " * 60_000)  # 2.3 MB
    settings = stub_home.updated(sources={"max_mb": 2.0})
    sources, warnings = load_corpus(settings.corpus_dir, mb_to_bytes(2.0))
    assert "big.txt: 2.2 MB is over the 2 MB limit (RAG_SOURCES__MAX_MB)" in warnings
    report = build_index(settings, embedder)
    assert "big.txt: 2.2 MB is over the 2 MB limit (RAG_SOURCES__MAX_MB)" in report.warnings
    assert "big" not in {c.doc_id for c in load_index(settings).chunks}
    assert up_to_date(settings) is not None  # a skipped file does not make it stale
    big.write_text(big.read_text() + "more")  # but a change to it still counts
    assert rebuild_reason(settings) == "corpus changed"


def test_build_progress_starts_at_once_and_covers_reading_and_chunking(stub_home):
    """``rag build`` says what it does before loading the model, then shows a bar per
    stage, redrawn every second while one large file is chunked."""
    paragraph = ("A router sends each token to two experts, and an auxiliary loss keeps "
                 "the load balanced across experts.")  # repeated: embedded only once
    (stub_home.corpus_dir / "docs" / "200_long.txt").write_text(
        "# Long notes\n\n" + "\n\n".join([paragraph] * 4000) + "\n", encoding="utf-8")
    env = {**os.environ, "RAG_HOME": str(stub_home.home)}
    start = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "rag.cli", "--preset", "fast", "build"],
                            cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    first = os.read(proc.stderr.fileno(), 1)
    first_s = time.monotonic() - start
    out, err = proc.communicate(timeout=600)
    err = (first + err).decode(errors="replace")
    assert proc.returncode == 0, err[-2000:]
    assert err.startswith("building the index (no index yet); loading the embedding model")
    order = [err.find(label) for label in ("Reading corpus", "Chunking", "Linking papers",
                                           "Embedding passages")]
    assert -1 not in order and order == sorted(order), order
    # the long file is named while it is cut, and redrawn every second although no file
    # finished: how long it took is read from the draws' elapsed stamps (the first draw
    # naming it and the first naming the next file); on a fast machine it is cut in
    # under a second, and one or two draws naming it are all there is to see
    chunking = err[order[1]:order[2]]
    draws = [(int(m) * 60 + int(sec), name) for m, sec, name in
             re.findall(r"\[(\d\d):(\d\d)<[^]]*?, ([^],]+)\]", chunking)]
    long = [t for t, name in draws if name.strip() == "200_long"]
    assert long, chunking
    start = draws.index((long[0], "200_long"))
    after = [t for t, name in draws[start:] if name.strip() != "200_long"]
    if after and after[0] - long[0] >= 2:  # cut over two seconds or more: redrawn meanwhile
        assert len(set(long)) >= 2, chunking
    print(f"\nfirst progress line after {first_s:.1f} s (process start, imports included)")


def _stale(settings) -> None:
    doc = settings.corpus_dir / "docs" / "101_pilcrow_notes.txt"
    doc.write_text(doc.read_text() + "3. Retrieval¶\nRETRO retrieves chunks from a database.\n")


def test_ask_answers_from_the_last_good_index_while_a_rebuild_is_pending(
        built_home, embedder, monkeypatch, capsys):
    """Before the fix: ``rag ask`` rebuilt first, blocking until the build finished."""
    from rag import cli

    settings, build = built_home
    _stale(settings)
    started = []
    monkeypatch.setenv("RAG_HOME", str(settings.home))
    monkeypatch.setattr("rag.assistant.Embedder", lambda _: embedder)
    monkeypatch.setattr(cli, "_start_background_build",
                        lambda s: started.append(s) or "rebuilding in the background (test)")
    assert cli.main(["--preset", "fast", "ask", "--json", QUESTION]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["citations"] and current_build(settings) == build  # not rebuilt
    assert err.startswith("note: the corpus changed since the index was built 20")
    assert "answering from the last good index" in err and "rebuilding in the background" in err
    assert len(started) == 1 and started[0].index_dir == settings.index_dir


def test_wait_setting_rebuilds_first(built_home, embedder, monkeypatch, capsys):
    from rag import cli

    settings, build = built_home
    _stale(settings)
    monkeypatch.setenv("RAG_HOME", str(settings.home))
    monkeypatch.setenv("RAG_REBUILD__WAIT", "true")
    monkeypatch.setattr("rag.assistant.Embedder", lambda _: embedder)
    assert cli.main(["--preset", "fast", "ask", "--json", QUESTION]) == 0
    assert current_build(settings) != build and "note:" not in capsys.readouterr().err


@pytest.fixture
def built_home(stub_home, embedder):
    build_index(stub_home, embedder)
    return stub_home, current_build(stub_home)


def test_real_background_rebuild_from_rag_ask(built_home):
    """End to end: ``rag ask`` answers at once and leaves a detached ``rag build``
    that brings the index up to date; the next ``ask`` has no notice."""
    settings, build = built_home
    _stale(settings)
    env = {**os.environ, "RAG_HOME": str(settings.home)}
    cmd = [sys.executable, "-m", "rag.cli", "--preset", "fast", "ask", "--json", QUESTION]
    first = subprocess.run(cmd, cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                           timeout=300)
    assert first.returncode == 0, first.stderr
    assert "rebuilding in the background (log: " in first.stderr
    deadline = time.monotonic() + 300
    while up_to_date(settings) is None and time.monotonic() < deadline:
        time.sleep(1)
    assert up_to_date(settings) is not None, (settings.index_dir / "rebuild.log").read_text()
    assert any("RETRO" in c.text for c in load_index(settings).chunks)
    second = subprocess.run(cmd, cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                            timeout=300)
    assert second.returncode == 0 and "note:" not in second.stderr, second.stderr


def test_app_starts_on_the_last_good_index_and_swaps_in_the_rebuild(built_home, embedder,
                                                                   monkeypatch):
    """The app does not wait for the rebuild: it serves the old index, rebuilds in a
    thread and then answers from the new one."""
    from rag.app import ui
    from rag.assistant import Assistant

    settings, build = built_home
    _stale(settings)
    monkeypatch.setattr("rag.assistant.Embedder", lambda _: embedder)
    assistant = Assistant.load(settings, wait=False)
    assert assistant.index.build_dir == build and assistant.rebuild_pending == "corpus changed"
    callbacks = ui.Callbacks(assistant, settings, bank=[])
    refresher = ui.refresh.Refresher(callbacks, bank_for=lambda a: ["new bank"],
                                     embedder_factory=lambda *_: embedder)
    assert "last good index" in refresher.status_html()
    refresher.start().join(timeout=300)
    assert callbacks.assistant is not assistant and callbacks.bank == ["new bank"]
    assert callbacks.assistant.index.build_dir != build and refresher.status_html() == ""
    *_, answer, _, _, _ = list(callbacks.respond("What does RETRO retrieve?", [], 5,
                                                 "extractive", True))[-1]
    assert any("RETRO" in c.text for c in answer.citations)
