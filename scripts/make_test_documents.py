"""Regenerate the committed test PDFs in tests/data/documents/ from their sources.

    .venv/bin/python scripts/make_test_documents.py

* ``speculative_decoding.pdf``, ``paged_attention.pdf``: ``pdflatex`` (two runs) from
  ``src/*.tex`` (two-column ``article``, as arXiv papers are made);
* ``rope_blog.pdf``: Debian chromium's ``--print-to-pdf`` of ``src/rope_blog.html``
  (headless; its default header and footer give running lines to remove).

Builds are reproducible (``SOURCE_DATE_EPOCH``), so an unchanged source gives the same
file.  Damaged variants (encrypted, scanned-like, truncated, not a PDF) are made at test
time from these by ``tests/documents_data.py``: they need no renderer.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "tests" / "data" / "documents"
SRC = DOCS / "src"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ENV = {**os.environ, "SOURCE_DATE_EPOCH": "1700000000", "FORCE_SOURCE_DATE": "1"}


def latex(name: str) -> Path:
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copy(SRC / f"{name}.tex", tmp)
        for _ in range(2):  # the second run places the tikz overlay (arXiv stamp)
            subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error",
                            f"{name}.tex"], cwd=tmp, env=ENV, check=True, timeout=120,
                           stdout=subprocess.DEVNULL)
        target = DOCS / f"{name}.pdf"
        shutil.copy(Path(tmp) / f"{name}.pdf", target)
    return target


def chromium_pdf(name: str) -> Path:
    target = DOCS / f"{name}.pdf"
    with tempfile.TemporaryDirectory() as tmp:  # the page's URL is printed in the footer
        page = Path(tmp) / f"{name}.html"
        shutil.copy(SRC / page.name, page)
        subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
                        "--disable-background-networking", "--no-first-run",
                        f"--user-data-dir={tmp}/profile", f"--print-to-pdf={target}",
                        page.as_uri()], check=True, timeout=120, capture_output=True)
    return target


def main() -> int:
    made = [latex("speculative_decoding"), latex("paged_attention"), chromium_pdf("rope_blog")]
    for path in made:
        print(f"{path.relative_to(ROOT)}: {path.stat().st_size:,} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
