"""The Milvus store on the stub corpus (Milvus Lite in this process): the same retrieval
and answers as FAISS, builds published into new collections and switched by alias,
mismatched or damaged builds refused with the fix, faults reported clearly."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time

import numpy as np
import pytest
from conftest import stub_settings

from rag.assistant import Assistant
from rag.errors import IndexProblem, StoreUnavailable
from rag.search.build import build_index
from rag.search.index import current_build
from rag.search.stores import milvus_client as mc
from rag.search.stores import milvus_write
from rag.search.stores.base import open_store
from rag.search.stores.milvus_build import build_milvus, milvus_reason, rollback_milvus
from rag.search.stores.milvus_store import MilvusStore
from rag.settings import REPO_ROOT, load_settings

QUESTIONS = ["What is direct preference optimization?", "Why scale attention scores?",
             "What does LoRA change in a model?", "How is RETRO different?",
             "sourdough starter in a cold kitchen"]


@pytest.fixture(scope="module")
def built_stub(tmp_path_factory, embedder):
    """A stub-corpus home with its FAISS build (embedded once for the module)."""
    home = tmp_path_factory.mktemp("stub-built")
    build_index(stub_settings(home), embedder)
    return home


@pytest.fixture
def milvus_home(built_stub, tmp_path, embedder):
    """Stub settings served from a Milvus Lite folder in the test's own home (a copy of
    the built stub home: publishing needs no embedding)."""
    shutil.copytree(built_stub, tmp_path, symlinks=True, dirs_exist_ok=True)
    settings = stub_settings(tmp_path).updated(store="milvus", milvus={"refresh_s": 0})
    build_milvus(settings, lambda: pytest.fail("the copied build is up to date"))
    return settings


def test_same_rankings_sentences_and_answers_as_faiss(milvus_home, embedder):
    faiss = open_store(milvus_home.updated(store="faiss"))
    milvus = open_store(milvus_home, embedder.dim)
    assert milvus.kind == "milvus" and milvus.view().n_chunks == len(faiss.index.chunks) > 5
    for question in QUESTIONS:
        vec = embedder.encode_query(question)
        assert [d for d, _ in milvus.dense(vec, 8)] == [d for d, _ in faiss.dense(vec, 8)]
        lex_f, lex_m = faiss.lexical(question, 8), milvus.lexical(question, 8)
        assert [d for d, _ in lex_m] == [d for d, _ in lex_f]
        np.testing.assert_allclose([s for _, s in lex_m], [s for _, s in lex_f], rtol=1e-5)
        by_m, by_f = milvus.by_sentence(vec, 3), faiss.by_sentence(vec, 3)
        assert [d for d, _ in by_m] == [d for d, _ in by_f]
        np.testing.assert_allclose([s for _, s in by_m], [s for _, s in by_f], rtol=1e-5)
    chunks, vectors = milvus.passages([3, 0, 3])
    f_chunks, f_vectors = faiss.passages([3, 0, 3])
    assert chunks == f_chunks and np.allclose(vectors, f_vectors)
    whole, f_whole = milvus.corpus(), faiss.corpus()  # what the answer step reads per build
    assert whole.chunks == f_whole.chunks and whole.sentence_info == f_whole.sentence_info
    assert whole.sentences == f_whole.sentences and whole.papers == f_whole.papers
    assert whole.sentence_ranges == f_whole.sentence_ranges
    np.testing.assert_allclose(whole.sentence_vectors, f_whole.sentence_vectors, atol=1e-7)
    np.testing.assert_allclose(whole.chunk_vectors, f_whole.chunk_vectors, atol=1e-7)
    files = {p.name for p in whole.build_dir.iterdir()}  # the small files, not the index
    assert {"manifest.json", "papers.json"} <= files and "chunks.jsonl" not in files
    a_faiss = Assistant(milvus_home, embedder, faiss, None)
    a_milvus = Assistant(milvus_home, embedder, milvus, None)
    for question in QUESTIONS:
        one, two = a_faiss.ask(question).to_json(), a_milvus.ask(question).to_json()
        one.pop("timings_ms"), two.pop("timings_ms")
        assert one == two


def test_build_is_a_no_op_when_up_to_date_and_republishes_on_change(milvus_home, embedder):
    first = milvus_reason(milvus_home)
    assert first[0] == "" and first[1].startswith("b")
    assert build_milvus(milvus_home, lambda: pytest.fail("no model needed")).published is None
    doc = milvus_home.corpus_dir / "docs" / "101_pilcrow_notes.txt"
    doc.write_text(doc.read_text() + "3. Retrieval¶\nRETRO retrieves chunks from a database.\n")
    assert milvus_reason(milvus_home)[0].endswith("corpus changed")
    serving = Assistant.load(milvus_home)  # the last good build, until it is republished
    assert serving.rebuild_pending == "corpus changed" and "rag build --store milvus" in \
        serving.notice and serving.ask(QUESTIONS[0]).citations
    report = build_milvus(milvus_home, lambda: embedder)
    assert report.reason.endswith("corpus changed") and report.published.previous
    store = MilvusStore(milvus_home, embedder.dim)
    assert store.build.names.build == report.serving
    assert any("RETRO" in c.text for c in store.corpus().chunks)
    serving.ask(QUESTIONS[0])  # the serving assistant moved to the new build with its tables
    assert serving.store.build_id == report.serving
    assert any("RETRO" in c.text for c in serving.index.chunks) and not serving.rebuild_pending


def test_serving_store_switches_to_new_build(milvus_home, embedder):
    store = MilvusStore(milvus_home, embedder.dim)  # refresh_s=0: checks the alias each time
    old = store.build.names.build
    new = build_milvus(milvus_home, lambda: embedder, force=True).serving
    store.view()
    assert (old, store.build.names.build) == (old, new) and old != new


def test_a_process_that_missed_two_builds_retries_on_the_new_one(milvus_home, embedder):
    lazy = milvus_home.updated(milvus={"refresh_s": 3600})  # checks the alias only if forced
    store = MilvusStore(lazy, embedder.dim)
    assistant = Assistant(lazy, embedder, store, None)
    before = assistant.ask(QUESTIONS[0]).to_json()
    old = store.build.names.build
    for _ in range(2):  # keep_builds=2: the build this process serves is dropped
        build_milvus(milvus_home, lambda: embedder, force=True)
    client = mc.connect(milvus_home)
    assert old not in milvus_write.builds(client, milvus_home)
    assert len(milvus_write.builds(client, milvus_home)) == milvus_home.milvus.keep_builds
    assert store.build.names.build == old
    after = assistant.ask(QUESTIONS[0]).to_json()  # the dropped build: retried on the new
    assert store.build.names.build != old
    before.pop("timings_ms"), after.pop("timings_ms")
    assert before == after


def test_rollback_serves_the_previous_build(milvus_home, embedder):
    first = milvus_reason(milvus_home)[1]
    second = build_milvus(milvus_home, lambda: embedder, force=True).serving
    assert rollback_milvus(milvus_home) == (second, first)
    assert milvus_reason(milvus_home)[1] == first
    with pytest.raises(IndexProblem, match="no earlier build is kept"):
        rollback_milvus(milvus_home)


def test_failed_verification_leaves_the_served_build_alone(milvus_home, monkeypatch):
    serving = milvus_reason(milvus_home)[1]
    original = milvus_write._chunk_rows

    def corrupt(index, lines, tokens):
        for row in original(index, lines, tokens):
            if row["pos"] == 1:
                row["record"] = row["record"].replace("e", "E", 1)
            yield row

    monkeypatch.setattr(milvus_write, "_chunk_rows", corrupt)
    with pytest.raises(IndexProblem, match="failed verification.*chunks.jsonl.*checksum"):
        milvus_write.publish(milvus_home, current_build(milvus_home))
    client = mc.connect(milvus_home)
    assert mc.current_meta(client, milvus_home) == mc.Names("rag", serving).meta
    assert milvus_write.builds(client, milvus_home) == [serving]
    assert len(client.list_collections()) == 3  # the failed build's collections are gone


def test_other_embedding_model_or_schema_is_refused_with_the_fix(milvus_home, embedder):
    other = milvus_home.updated(embedding={"model_name": "some/other-model"})
    with pytest.raises(IndexProblem, match=r"embedding_model changed.*rag build --store milvus"):
        MilvusStore(other, embedder.dim)
    with pytest.raises(IndexProblem, match=r"384 dimensions, the embedding model 512.*"
                                           r"rag build --store milvus"):
        MilvusStore(milvus_home, 512)
    client = mc.connect(milvus_home)
    meta = mc.current_meta(client, milvus_home)
    manifest = json.loads(milvus_write.read_meta(client, meta, 10)["manifest"])
    manifest["store"]["schema_version"] = 0
    client.upsert(meta, list(milvus_write.meta_rows({"manifest": json.dumps(manifest)})))
    with pytest.raises(IndexProblem, match=r"written by another version.*rag build --store"):
        MilvusStore(milvus_home, embedder.dim)
    manifest["store"]["schema_version"] = mc.SCHEMA_VERSION
    client.upsert(meta, list(milvus_write.meta_rows({"manifest": json.dumps(manifest),
                                                     "file:papers.json": "e30="})))  # "{}"
    with pytest.raises(IndexProblem, match=r"papers.json is damaged.*rag build --store"):
        MilvusStore(milvus_home, embedder.dim)
    assert milvus_reason(milvus_home)[0].startswith("the Milvus index")


def test_missing_index_is_refused_and_assistant_does_not_build(stub_home, embedder):
    settings = stub_home.updated(store="milvus")
    with pytest.raises(IndexProblem, match=r"no index in Milvus at .*milvus\.db under the "
                                           r"prefix 'rag'; run `rag build --store milvus`"):
        Assistant.load(settings)
    assert current_build(stub_home) is None  # serving never builds


def _rag(args: list[str], env: dict, timeout: float = 120) -> subprocess.CompletedProcess:
    import os

    return subprocess.run([sys.executable, "-m", "rag.cli", *args], cwd=REPO_ROOT,
                          env={**os.environ, **env}, capture_output=True, text=True,
                          timeout=timeout)


def test_unreachable_milvus_fails_fast_with_exit_2(tmp_path):
    with socket.socket() as silent:  # accepts connections, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        for uri, limit in ((f"http://127.0.0.1:{silent.getsockname()[1]}", 2),
                           ("http://127.0.0.1:1", 2)):
            start = time.monotonic()
            done = _rag(["ask", "What is LoRA?"], {
                "RAG_HOME": str(tmp_path), "RAG_STORE": "milvus", "RAG_MILVUS__URI": uri,
                "RAG_MILVUS__TIMEOUT_S": str(limit)})
            assert done.returncode == 2, done.stderr
            assert done.stderr.startswith(f"error: cannot reach Milvus at {uri}")
            assert "Traceback" not in done.stderr and "RAG_MILVUS__URI" in done.stderr
            assert time.monotonic() - start < 60  # model load included; the wait is 2 s


def test_app_refuses_to_start_without_milvus(tmp_path):
    """app.py with an unreachable Milvus: one clear line and exit code 2, no traceback."""
    import os

    done = subprocess.run([sys.executable, "app.py", "--port", "0"], cwd=REPO_ROOT,
                          env={**os.environ, "RAG_HOME": str(tmp_path), "RAG_STORE": "milvus",
                               "RAG_MILVUS__URI": "http://127.0.0.1:1"},
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr[-2000:]
    assert "error: cannot reach Milvus at http://127.0.0.1:1" in done.stderr
    assert "Traceback" not in done.stderr


def test_bad_uri_and_locked_lite_folder_are_explained(tmp_path, embedder):
    settings = load_settings().updated(home=tmp_path, store="milvus",
                                       milvus={"uri": "ftp://example.org/x"})
    with pytest.raises(StoreUnavailable, match="neither a Milvus Lite folder"):
        mc.connect(settings)
    lite = settings.updated(milvus={"uri": str(tmp_path / "shared.db")})
    mc.connect(lite)  # this process now holds the Milvus Lite folder
    done = _rag(["build", "--store", "milvus"], {
        "RAG_HOME": str(tmp_path), "RAG_MILVUS__URI": str(tmp_path / "shared.db")})
    assert done.returncode == 2 and "another process is using it" in done.stderr
    assert "milvus-lite server --data-dir" in done.stderr and "Traceback" not in done.stderr


def test_wrong_token_is_refused_without_leaking_it(tmp_path, stub_home):
    """A gRPC server checking the token the way Milvus does (UNAUTHENTICATED)."""
    from milvus_auth_server import auth_server

    with auth_server(tmp_path / "auth.db", token="root:Right-Token-1") as uri:
        good = stub_home.updated(store="milvus", milvus={"uri": uri, "token": "root:Right-Token-1"})
        mc.connect(good).list_collections()
        secret = "root:Wrong-Secret-42"
        bad = good.updated(milvus={"token": secret})
        with pytest.raises(StoreUnavailable) as info:
            MilvusStore(bad)
        message = str(info.value)
        assert "refused the login" in message and "RAG_MILVUS__TOKEN" in message
        assert "Wrong-Secret-42" not in message and "Wrong-Secret-42" not in repr(bad)
        done = _rag(["ask", "What is LoRA?"], {
            "RAG_HOME": str(tmp_path), "RAG_STORE": "milvus", "RAG_MILVUS__URI": uri,
            "RAG_MILVUS__TOKEN": secret})
        assert done.returncode == 2 and "refused the login" in done.stderr
        assert "Wrong-Secret-42" not in done.stderr + done.stdout


def test_redaction_helpers():
    assert mc.redact_uri("http://root:pa55@db.example:19530") == "http://root:***@db.example:19530"
    assert mc.redact_uri("http://db.example:19530") == "http://db.example:19530"
    names = mc.Names("rag", "b20250101t000000000000abcd")
    assert mc.Names.of_meta("rag", names.meta) == names
    rows = list(milvus_write.meta_rows({"k": "x" * (mc.BLOB_PART + 5)}))
    assert [r["key"] for r in rows] == ["k#00000", "k#00001"]


def test_milvus_going_down_shows_an_error_in_the_app_within_the_timeout(built_stub, tmp_path,
                                                                       embedder):
    """The chat callback (what the app runs) turns the outage into an error message."""
    from rag.app.ui import Callbacks
    from rag.search.stores.lite_server import LiteServer

    shutil.copytree(built_stub, tmp_path, symlinks=True, dirs_exist_ok=True)
    with LiteServer() as server:
        settings = stub_settings(tmp_path).updated(store="milvus", milvus={
            "uri": server.uri, "timeout_s": 2, "refresh_s": 3600})
        build_milvus(settings, lambda: embedder)
        assistant = Assistant(settings, embedder, open_store(settings, embedder.dim), None)
        callbacks = Callbacks(assistant, settings, bank=[])
        assert "[1]" in list(callbacks.respond(QUESTIONS[0], [], 5, "extractive", True))[
            -1][0][-1]["content"]
        server.stop()
        start = time.monotonic()
        last = list(callbacks.respond(QUESTIONS[1], [], 5, "extractive", True))[-1]
        elapsed = time.monotonic() - start
    chat, box, *_, details = last  # no answer bubble; a toast (gr.Warning) and details
    assert chat == [] and box == QUESTIONS[1]  # the question stays in the box
    assert "cannot reach Milvus at http://127.0.0.1:" in details and elapsed < 15
    assert "Traceback" not in details


def test_concurrent_questions_while_builds_switch_match_faiss(milvus_home, embedder):
    """Request threads share one store while new builds are switched in under them."""
    from concurrent.futures import ThreadPoolExecutor

    def plain(answer) -> dict:
        data = answer.to_json()
        data.pop("timings_ms")
        return data

    milvus = Assistant(milvus_home, embedder, MilvusStore(milvus_home, embedder.dim), None)
    faiss = Assistant(milvus_home, embedder, open_store(milvus_home.updated(store="faiss")),
                      None)
    expected = {q: plain(faiss.ask(q)) for q in QUESTIONS}
    with ThreadPoolExecutor(4) as pool:
        futures = [pool.submit(lambda q=q: (q, plain(milvus.ask(q)))) for q in QUESTIONS * 3]
        for _ in range(2):  # the first switched-in build is dropped by the second publish
            build_milvus(milvus_home, lambda: embedder, force=True)
        futures += [pool.submit(lambda q=q: (q, plain(milvus.ask(q)))) for q in QUESTIONS]
        got = [f.result() for f in futures]
    assert all(expected[q] == answer for q, answer in got)
    assert milvus.store.build_id == milvus_reason(milvus_home)[1]


def test_prefixes_are_separate_indexes(milvus_home, embedder):
    """Pruning and rollback under one prefix never touch another's builds."""
    beta = milvus_home.updated(milvus={"collection_prefix": "rag_beta"})
    beta_build = build_milvus(beta, lambda: embedder).serving
    for _ in range(2):
        build_milvus(milvus_home, lambda: embedder, force=True)
    client = mc.connect(milvus_home)
    assert milvus_write.builds(client, beta) == [beta_build]
    assert milvus_reason(beta) == ("", beta_build)
    assert beta_build not in milvus_write.builds(client, milvus_home)


def test_added_documents_are_published_and_replicas_cannot_add(milvus_home, embedder,
                                                              tmp_path_factory):
    """`rag add` where the corpus is publishes a new build; a replica refuses uploads."""
    from rag.corpus.documents import Candidate
    from rag.errors import DocumentRejected
    from rag.search.sources import add_and_index

    notes = tmp_path_factory.mktemp("notes") / "retro-notes.md"
    notes.write_text("# RETRO notes\n\nRETRO retrieves neighbouring chunks from a two-trillion "
                     "token database and attends to them with chunked cross-attention.\n")
    before = milvus_reason(milvus_home)[1]
    change = add_and_index(milvus_home, lambda: embedder, [Candidate(notes, notes.name)])
    assert change.build is not None and milvus_reason(milvus_home)[1] != before
    store = MilvusStore(milvus_home, embedder.dim)
    assert any(c.doc_id.startswith("user:") for c in store.corpus().chunks)
    replica_home = tmp_path_factory.mktemp("replica")  # no corpus: a replica
    replica = load_settings().updated(home=replica_home, store="milvus",
                                      milvus={"uri": milvus_home.milvus_uri})
    with pytest.raises(DocumentRejected, match="shared Milvus index"):
        add_and_index(replica, lambda: embedder, [Candidate(notes, notes.name)])
    assert not (replica_home / "corpus").exists()
