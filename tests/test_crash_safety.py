"""Crash-safe builds, damaged or mismatched indexes, and corpus problems.

A real ``rag build --force`` subprocess is SIGKILLed part-way on a temp RAG_HOME;
the previous index must still load and answer, and the next build must succeed.
Damage cases not in tests/test_index.py: counts that disagree although every
checksum matches, truncated chunks file, a manifest from another chunk setting,
a garbled manifest, a dangling ``current`` link, leftovers of a killed build.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import stub_settings

from rag.assistant import Assistant
from rag.errors import CorpusError, IndexProblem
from rag.search.build import build_index
from rag.search.index import current_build, file_sha256, load_index
from rag.settings import REPO_ROOT

QUESTION = "What does DPO optimize instead of a reward model?"


def _big_document(n: int = 200) -> str:
    """Many distinct prose sentences, so that embedding them takes a while."""
    nouns = ["adapter", "router", "encoder", "retriever", "reranker", "tokenizer", "decoder"]
    verbs = ["compresses", "routes", "filters", "scores", "caches", "balances", "samples"]
    lines = ["# Synthetic notes", ""]
    for i in range(n):
        lines.append(f"Variant {i} of the {nouns[i % 7]} {verbs[(i // 7) % 7]} the "
                     f"{nouns[(i // 49) % 7]} outputs with budget {i * 37 % 1000} tokens.")
    return "\n".join(lines) + "\n"


def _kill_when_embedding(home: Path, timeout: float = 240) -> tuple[int, bytes]:
    """Run ``rag build --force`` and SIGKILL it once its progress shows 'Embedding'."""
    env = {**os.environ, "RAG_HOME": str(home)}
    proc = subprocess.Popen([sys.executable, "-m", "rag.cli", "--preset", "fast", "build",
                             "--force"], cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    seen, deadline = b"", time.monotonic() + timeout
    while b"Embedding" not in seen and time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stderr], [], [], 1.0)
        if ready:
            chunk = os.read(proc.stderr.fileno(), 4096)
            if not chunk:
                break  # the process ended before embedding anything
            seen += chunk
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    return proc.returncode, seen + proc.stdout.read()


def test_sigkilled_build_leaves_previous_index_serving(tmp_path, embedder):
    settings = stub_settings(tmp_path)
    build_index(settings, embedder)
    before_build = current_build(settings)
    before = Assistant(settings, embedder, load_index(settings), None).ask(QUESTION)
    assert not before.abstained and before.citations

    extra = settings.corpus_dir / "docs" / "200_synthetic.txt"
    extra.write_text(_big_document(), encoding="utf-8")
    code, output = _kill_when_embedding(tmp_path)
    assert code == -signal.SIGKILL, output[-2000:]
    assert b"Embedding" in output and b"built " not in output  # killed part-way

    extra.unlink()  # the corpus the previous index was built from
    assert current_build(settings) == before_build
    again = Assistant.load(settings, build=False).ask(QUESTION)  # load verifies checksums
    assert again.text == before.text and again.citations == before.citations

    extra.write_text(_big_document(), encoding="utf-8")
    report = build_index(settings, embedder)  # the killed build's lock is gone
    assert report.rebuilt and report.reason == "corpus changed"
    index = load_index(settings)
    assert any(c.doc_id == "200_synthetic" for c in index.chunks)
    assert [p.name for p in (settings.index_dir / "builds").iterdir()] == [report.index_dir.name]


def test_leftovers_of_a_build_killed_while_writing(stub_home, embedder):
    build_index(stub_home, embedder)
    serving = current_build(stub_home)
    tmp = stub_home.index_dir / "builds" / ".tmp-deadbeef"
    tmp.mkdir()
    (tmp / "chunks.jsonl").write_text('{"chunk_id": "half', encoding="utf-8")
    os.symlink(os.path.relpath(tmp, stub_home.index_dir), stub_home.index_dir / ".current-x")
    assert load_index(stub_home).build_dir == serving
    report = build_index(stub_home, embedder, force=True)
    assert report.rebuilt and not tmp.exists() and load_index(stub_home).chunks


# --- damaged or mismatched index ---------------------------------------------------------
@pytest.fixture
def built(stub_home, embedder):
    build_index(stub_home, embedder)
    return stub_home, current_build(stub_home)


def _rewrite(build: Path, name: str, text: str) -> None:
    """Change a file AND its manifest checksum, as a buggy or foreign writer would."""
    (build / name).write_text(text, encoding="utf-8")
    manifest = json.loads((build / "manifest.json").read_text())
    manifest["files"][name] = file_sha256(build / name)
    (build / "manifest.json").write_text(json.dumps(manifest))


def test_vector_count_differs_from_chunk_count(built):
    settings, build = built
    lines = (build / "chunks.jsonl").read_text(encoding="utf-8").splitlines()
    _rewrite(build, "chunks.jsonl", "\n".join(lines[:-2]) + "\n")
    with pytest.raises(IndexProblem,
                       match=rf"{len(lines)} vectors for {len(lines) - 2} chunks; run `rag build`"):
        load_index(settings)


def test_sentence_vectors_differ_from_sentences(built):
    settings, build = built
    lines = (build / "sentences.jsonl").read_text(encoding="utf-8").splitlines()
    _rewrite(build, "sentences.jsonl", "\n".join(lines[:-1]) + "\n")
    with pytest.raises(IndexProblem, match=r"sentence vectors for .*run `rag build`"):
        load_index(settings)


def test_manifest_counts_disagree_with_files(built):
    settings, build = built
    manifest = json.loads((build / "manifest.json").read_text())
    manifest["counts"]["chunks"] += 1
    (build / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(IndexProblem, match="chunk count differs from the manifest"):
        load_index(settings)


def test_truncated_chunks_file_is_named(built):
    settings, build = built
    path = build / "chunks.jsonl"
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(IndexProblem, match=r"chunks.jsonl is damaged.*run `rag build`"):
        load_index(settings)


def test_manifest_from_another_chunk_setting(built):
    settings, build = built
    manifest = json.loads((build / "manifest.json").read_text())
    manifest["chunking"]["chunk_tokens"] = 512
    (build / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(IndexProblem, match=r"chunking changed.*run `rag build`"):
        load_index(settings)


def test_garbled_manifest_and_dangling_link(built):
    settings, build = built
    (build / "manifest.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(IndexProblem, match="manifest unreadable.*run `rag build`"):
        load_index(settings)
    shutil.rmtree(build)
    with pytest.raises(IndexProblem, match=r"no index at .*run `rag build`"):
        load_index(settings)


def test_assistant_rebuilds_a_damaged_index_when_the_corpus_is_there(built, embedder,
                                                                     monkeypatch):
    settings, build = built
    (build / "vectors.faiss").write_bytes(b"\x00" * 64)
    monkeypatch.setattr("rag.assistant.Embedder", lambda *_: embedder)
    assistant = Assistant.load(settings)
    assert assistant.build_report.rebuilt and "vectors.faiss" in assistant.build_report.reason
    assert not assistant.ask(QUESTION).abstained


def test_damaged_index_without_corpus_is_a_clear_error(built, embedder, monkeypatch):
    settings, build = built
    (build / "vectors.faiss").write_bytes(b"\x00" * 64)
    shutil.rmtree(settings.corpus_dir)
    monkeypatch.setattr("rag.assistant.Embedder", lambda *_: embedder)
    with pytest.raises(IndexProblem, match="vectors.faiss is damaged.*run `rag build`"):
        Assistant.load(settings, build=False)
    with pytest.raises(CorpusError, match="no corpus at"):
        Assistant.load(settings)


# --- corpus problems -----------------------------------------------------------------------
def test_duplicate_unreadable_and_dangling_files_are_skipped(stub_home, embedder, monkeypatch,
                                                             capsys):
    from rag import cli

    docs = stub_home.corpus_dir / "docs"
    shutil.copy(docs / "100_markdown_guide.txt", docs / "150_copy_of_guide.txt")
    (docs / "160_folder.txt").mkdir()  # read_bytes fails: "Is a directory"
    (docs / "170_gone.txt").symlink_to(docs / "no-such-file.txt")
    (docs / "180_empty.txt").write_text("")
    monkeypatch.setenv("RAG_HOME", str(stub_home.home))
    monkeypatch.setattr("rag.search.embed.Embedder", lambda *_: embedder)
    assert cli.main(["--preset", "fast", "build", "--quiet"]) == 0
    out, err = capsys.readouterr()
    assert "warning: skipped 150_copy_of_guide.txt: duplicate of 100_markdown_guide.txt" in err
    assert "warning: skipped 160_folder.txt: unreadable (Is a directory)" in err
    assert "warning: skipped 170_gone.txt: unreadable (No such file or directory)" in err
    assert "warning: skipped 180_empty.txt: no text" in err
    assert out.startswith("built ")
    doc_ids = {c.doc_id for c in load_index(stub_home).chunks}
    assert {"100_markdown_guide", "101_pilcrow_notes"} <= doc_ids
    assert not doc_ids & {"150_copy_of_guide", "160_folder", "170_gone", "180_empty"}
