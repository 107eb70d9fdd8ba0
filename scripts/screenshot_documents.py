"""Take the README screenshot of "Your documents" with Debian's chromium.

    .venv/bin/python scripts/screenshot_documents.py [--out docs]

Copies the shipped corpus and its index to a temporary RAG_HOME (your checkout's
corpus is not touched), starts the app there, drops the two test papers and a bad file
on the upload area, asks a question about one paper and writes
``screenshot-documents.png``.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from screenshots import CHROMIUM, CHROMIUM_ARGS, free_port  # noqa: E402

DOCS = ROOT / "tests" / "data" / "documents"
QUESTION = "How many tokens does one verification call yield with alpha 0.8 and gamma 4?"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    from rag.app import ui
    from rag.app.limits import launch_limits
    from rag.assistant import Assistant
    from rag.settings import load_settings

    with tempfile.TemporaryDirectory(prefix="rag-shot-") as tmp:
        home = Path(tmp)
        shutil.copytree(ROOT / "corpus", home / "corpus", ignore=shutil.ignore_patterns("added"))
        if (ROOT / "index").is_dir():
            shutil.copytree(ROOT / "index", home / "index", symlinks=True)
        settings = load_settings().updated(home=home)
        assistant = Assistant.load(settings)
        demo = ui.build_app(assistant, settings)
        demo.queue()
        port = free_port()
        demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True,
                    quiet=True, **ui.launch_options(),
                    **launch_limits(settings, uploads=True))
        bad = home / "scan-of-notes.pdf"
        bad.write_bytes(b"")
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                page = browser.new_page(viewport={"width": 1440, "height": 1250})
                page.goto(f"http://127.0.0.1:{port}/")
                page.wait_for_selector("#question textarea", timeout=120_000)
                page.click("#your-documents button")
                page.set_input_files("#upload input[type=file]", [
                    str(DOCS / "speculative_decoding.pdf"), str(DOCS / "paged_attention.pdf"),
                    str(bad)])
                page.wait_for_selector("#upload-result-list", timeout=600_000)
                page.fill("#question textarea", QUESTION)
                page.click("#send")
                page.wait_for_selector("#evidence details[open]", timeout=120_000)
                page.wait_for_timeout(1500)
                args.out.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(args.out / "screenshot-documents.png"), full_page=True)
                browser.close()
        finally:
            demo.close()
    print(f"wrote {args.out / 'screenshot-documents.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
