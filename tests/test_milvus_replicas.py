"""Several replicas, one store: a Milvus Lite gRPC server (``milvus-lite server``), two
``app.py`` processes serving from it with no index files of their own, driven through
``gradio_client`` with interleaved questions; then a rebuild while both serve.

The test starts and stops its own server and apps and removes their folders."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from conftest import STUB_CORPUS, AppProcess

from rag.search.stores.lite_server import LiteServer
from rag.search.stores.milvus_build import build_milvus
from rag.settings import load_settings
from rag.study.stored import study_extra

pytestmark = pytest.mark.app

QUESTIONS = ["What is direct preference optimization?", "Why scale attention scores?",
             "What does LoRA change in a model?", "What is a mixture of experts?",
             "Explain state space models like Mamba", "What is LoRA?"]
NEW_FACT = ("3. Retrieval-Enhanced Transformers¶\nRETRO retrieves neighbouring chunks from a "
            "two-trillion-token database and attends to them with chunked cross-attention.\n")
NEW_QUESTION = "How does RETRO use its retrieval database?"


def text_of(message: dict) -> str:
    content = message["content"]
    if isinstance(content, str):
        return content
    return "".join(part.get("text", "") for part in content if isinstance(part, dict))


def ask(client, question: str) -> tuple[str, str]:
    """(answer text, evidence HTML) of one question in a fresh chat; an error (no answer
    bubble, the message in the answer details) raises."""
    chat, _, evidence, _, details = client.predict(question, [], 5, "extractive", True,
                                                   api_name="/ask")
    if not chat or chat[-1]["role"] != "assistant":
        raise AssertionError(f"no answer: {details}")
    return text_of(chat[-1]), evidence


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, embedder):
    """One Milvus Lite server, a builder home with the stub corpus, two app replicas."""
    import shutil

    root = tmp_path_factory.mktemp("replicas")
    builder_home = root / "builder"
    shutil.copytree(STUB_CORPUS, builder_home / "corpus")
    server = LiteServer(root / "milvus").start()
    settings = load_settings().updated(home=builder_home, store="milvus",
                                       milvus={"uri": server.uri})
    build_milvus(settings, lambda: embedder, extras=[study_extra(settings)])
    apps = []
    try:
        for i in range(2):
            home = root / f"replica{i}"  # empty: no corpus, no index files
            home.mkdir()
            apps.append(AppProcess(env={
                "RAG_HOME": str(home), "RAG_STORE": "milvus", "RAG_MILVUS__URI": server.uri,
                "RAG_MILVUS__REFRESH_S": "1"}, log_path=root / f"app{i}.log"))
        _start_all(apps)
        yield settings, server, apps
    finally:
        for app in apps:
            app.stop()
        server.cleanup()
        shutil.rmtree(root, ignore_errors=True)


def _start_all(apps: list[AppProcess]) -> None:
    """Start the replicas together (model loading overlaps on two cores)."""
    errors: list[BaseException] = []

    def start(app):
        try:
            app.start(timeout=600)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=start, args=(app,)) for app in apps]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]


def clients(apps):
    from gradio_client import Client

    return [Client(app.url, verbose=False) for app in apps]


def test_replicas_need_no_index_files_and_answer_identically(cluster):
    _, _, apps = cluster
    for app in apps:
        home = Path(app.env["RAG_HOME"])
        # no index files and no corpus: only the running server's address (index/serve.json,
        # which `rag ask` finds it by) and the uploads' staging folder the app makes
        index = [p.name for p in (home / "index").rglob("*") if p.is_file()]
        assert index == ["serve.json"], index
        corpus = home / "corpus"
        assert not (corpus / "docs").exists() and not (corpus / "papers.jsonl").exists()
        assert not [p for p in corpus.rglob("*") if p.is_file() and ".uploads" not in p.parts]
    one, two = clients(apps)
    for question in QUESTIONS:  # interleaved: one, two, one, two ...
        first, second = ask(one, question), ask(two, question)
        assert first == second, question
        assert "[1]" in first[0] or "does not cover" in first[0]


def test_rebuild_while_serving_fails_no_request(cluster, embedder):
    settings, _, apps = cluster
    stop = threading.Event()
    results: list[tuple[int, str]] = []
    failures: list[str] = []

    def hammer(i: int, client) -> None:
        n = 0
        while not stop.is_set():
            question = QUESTIONS[n % len(QUESTIONS)]
            n += 1
            try:
                answer, _ = ask(client, question)
            except Exception as exc:  # noqa: BLE001 - every failure is the test's result
                failures.append(f"replica {i}: {type(exc).__name__}: {exc}")
                continue
            results.append((i, question))

    doc = settings.corpus_dir / "docs" / "101_pilcrow_notes.txt"
    doc.write_text(doc.read_text(encoding="utf-8") + NEW_FACT, encoding="utf-8")
    threads = [threading.Thread(target=hammer, args=(i, c))
               for i, c in enumerate(clients(apps))]
    for thread in threads:
        thread.start()
    try:
        time.sleep(2)
        during = len(results)
        report = build_milvus(settings, lambda: embedder,  # publish + alias switch
                              extras=[study_extra(settings)])
        assert report.reason.endswith("corpus changed") and report.published
        time.sleep(3)  # > RAG_MILVUS__REFRESH_S: both replicas have switched
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=120)
    assert not failures, failures[:5]
    assert len(results) > during + 4 and {i for i, _ in results} == {0, 1}
    one, two = clients(apps)
    first, second = ask(one, NEW_QUESTION), ask(two, NEW_QUESTION)
    assert first == second and "RETRO" in first[1] and "[1]" in first[0]
