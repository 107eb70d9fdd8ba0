"""The app's "Your documents" panel on a live Gradio server over a temp RAG_HOME:
uploads through the API and in a real browser, answerable without a restart while
other questions are being answered, held to the size limit, kept under RAG_HOME."""

from __future__ import annotations

import os
import re
import threading
from pathlib import Path

import pytest
from conftest import free_local_port, stub_settings
from documents_data import NOTES, PAGED, SPECULATIVE

pytestmark = pytest.mark.app
PAGED_Q = "What block size does PagedAttention use by default?"


@pytest.fixture(scope="module")
def live(tmp_path_factory, embedder):
    """(url, settings, callbacks) of the app over a stub corpus home."""
    from rag.app import ui
    from rag.app.limits import launch_limits
    from rag.assistant import Assistant
    from rag.search.build import build_index
    from rag.search.index import load_index

    settings = stub_settings(tmp_path_factory.mktemp("app-docs-home")).updated(
        sources={"max_mb": 1.0})
    build_index(settings, embedder)
    assistant = Assistant(settings, embedder, load_index(settings), None)
    demo = ui.build_app(assistant, settings)
    demo.queue(default_concurrency_limit=4)
    port = free_local_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True,
                quiet=True, **ui.launch_options(), **launch_limits(settings, uploads=True))
    yield f"http://127.0.0.1:{port}/", settings
    demo.close()
    os.environ.pop("GRADIO_TEMP_DIR", None)


@pytest.fixture
def client(live):
    from gradio_client import Client

    return Client(live[0], verbose=False)


def rows(live):
    from rag.search.sources import document_rows

    return document_rows(live[1])


def ask(client, question):
    return client.predict(question, [], 5, "extractive", True, api_name="/ask")


def test_upload_is_answerable_at_once_while_other_questions_run(client, live, tmp_path):
    from gradio_client import handle_file

    empty = tmp_path / "empty.md"
    empty.write_text("")
    answers, errors = [], []

    def keep_asking():
        from gradio_client import Client

        other = Client(live[0], verbose=False)
        for _ in range(6):
            try:
                answers.append(ask(other, "What is the attention mechanism?"))
            except Exception as exc:  # noqa: BLE001 - collected and asserted below
                errors.append(exc)

    asker = threading.Thread(target=keep_asking)
    asker.start()
    html = client.predict([handle_file(PAGED), handle_file(empty)],
                          api_name="/add_documents")  # the list is session state
    asker.join(timeout=300)
    assert not errors and len(answers) == 6  # served throughout the re-index
    assert re.search(r'data-status="added".*paged_attention\.pdf', html)
    assert re.search(r'data-status="rejected".*empty\.md.*empty file', html)
    assert [d["doc_id"] for d in rows(live)] == ["user:paged-attention"]
    _, _, evidence, related, _ = ask(client, PAGED_Q)  # no restart
    assert "Paging the KV Cache" in evidence and "· p. 1" in evidence
    assert "arxiv.org/abs/2309.06180" in related
    uploads = live[1].corpus_dir / "added" / ".uploads"
    assert uploads.is_dir() and not [p for p in uploads.rglob("*.pdf")]  # deleted after use


def test_upload_over_the_size_limit_is_refused(client, tmp_path):
    from gradio_client import handle_file

    big = tmp_path / "big.txt"
    big.write_text("Attention notes. " * 80_000)  # 1.3 MB; the limit is 1 MB
    with pytest.raises(Exception, match="(?i)too large|exceeds|maximum|limit|413"):
        client.predict([handle_file(big)], api_name="/add_documents")


def test_duplicate_upload_embeds_nothing(client, live):
    from gradio_client import handle_file

    client.predict([handle_file(NOTES)], api_name="/add_documents")
    html = client.predict([handle_file(NOTES)], api_name="/add_documents")
    assert 'data-status="duplicate"' in html and "already added as user:notes-normalization" \
        in html
    assert sum(d["doc_id"] == "user:notes-normalization" for d in rows(live)) == 1


@pytest.mark.browser
def test_drop_files_then_remove_in_the_browser(live, tmp_path):
    import sys

    from rag.settings import REPO_ROOT

    sys.path.insert(0, str(REPO_ROOT / "scripts"))
    from screenshots import CHROMIUM, CHROMIUM_ARGS

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: bash scripts/ci_deps.sh installs it")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1100})
        page.goto(live[0])
        page.wait_for_selector("#question textarea", timeout=60_000)
        page.click("#your-documents button")
        page.set_input_files("#upload input[type=file]", [str(SPECULATIVE)])
        page.wait_for_selector("#upload-result-list [data-status=added]", timeout=240_000)
        page.wait_for_selector(".doc-label:has-text('Speculative Decoding in Practice')")
        page.screenshot(path=str(tmp_path / "documents.png"), full_page=True)
        row = page.locator(".doc-row", has_text="user:speculative-decoding")
        row.locator("button", has_text="Remove").click()
        page.wait_for_selector(".doc-label:has-text('Speculative Decoding')", state="detached",
                               timeout=240_000)
        assert "removed" in page.inner_text("#upload-results").lower()
        browser.close()
