"""Test documents for `rag add`: committed real PDFs and bad variants made from them.

The committed PDFs in ``tests/data/documents/`` were produced by real renderers
(``scripts/make_test_documents.py``: pdflatex for the two-column papers, Debian
chromium's ``--print-to-pdf`` for the web page).  The bad variants are derived here, at
test time, in milliseconds: encrypted (pypdf), scanned-like (pages rendered to images by
PDFium and saved as an image-only PDF by Pillow), truncated, and not a PDF at all.
"""

from __future__ import annotations

import shutil
from pathlib import Path

DOCS = Path(__file__).parent / "data" / "documents"
SPECULATIVE = DOCS / "speculative_decoding.pdf"  # arXiv stamp 2211.17192, 3 pages
PAGED = DOCS / "paged_attention.pdf"  # arXiv id in the metadata (2309.06180), Times
ROPE_PDF = DOCS / "rope_blog.pdf"  # chromium print of src/rope_blog.html
ROPE_HTML = DOCS / "src" / "rope_blog.html"
NOTES = DOCS / "notes_normalization.md"
PLAIN = DOCS / "plain_attention_notes.txt"


def encrypted_pdf(target: Path, password: str = "s3cret") -> Path:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(PAGED))
    writer.encrypt(user_password=password, owner_password=password + "-owner")
    with target.open("wb") as handle:
        writer.write(handle)
    return target


def scanned_pdf(target: Path) -> Path:
    """Every page as a picture and nothing else: what a scanner produces."""
    import pypdfium2

    doc = pypdfium2.PdfDocument(str(PAGED))
    try:
        images = [doc[i].render(scale=1).to_pil().convert("RGB") for i in range(len(doc))]
    finally:
        doc.close()
    images[0].save(target, "PDF", save_all=True, append_images=images[1:], resolution=72)
    return target


def truncated_pdf(target: Path, keep: float = 0.6) -> Path:
    data = SPECULATIVE.read_bytes()
    target.write_bytes(data[: int(len(data) * keep)])
    return target


def not_a_pdf(target: Path) -> Path:
    shutil.copy(NOTES, target)  # Markdown renamed to .pdf
    return target
