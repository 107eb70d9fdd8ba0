"""Parse one added file (PDF, Markdown, HTML page, plain text) into a ``Source``.

* PDF: ``rag.corpus.pdf`` reads the text layer, ``rag.corpus.layout`` and
  ``rag.corpus.structure`` rebuild reading order, headings and paragraphs; every
  section keeps its pages.
* HTML (a saved web page): ``trafilatura`` keeps the main text (no menus, cookie
  banners, sidebars, comments or footers) as Markdown, with the page's title and URL.
* Markdown and plain text: the shipped corpus's own parser (``rag.corpus.ingest``).

An arXiv id in the file name, on the first page (the arXiv stamp) or in the PDF
metadata links the document to its paper card (``arxiv:<id>``).  Files that cannot be
used raise ``DocumentRejected`` naming the reason.
"""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import BaseModel, Field

from rag.corpus import clean
from rag.corpus.ingest import parse_document
from rag.errors import DocumentRejected
from rag.records import Section, Source
from rag.settings import DocumentsSettings

FORMATS = {".pdf": "pdf", ".md": "markdown", ".markdown": "markdown", ".txt": "text",
           ".text": "text", ".html": "html", ".htm": "html", ".xhtml": "html"}
_ARXIV_IN_NAME = re.compile(r"(?<![\d.])(\d{4}\.\d{4,5})(?:v\d+)?(?![\d])")
_TABLE_RULE = re.compile(r"^\s*\|?(?:\s*:?-{3,}:?\s*\|)+\s*:?-*:?\s*$")


class ParsedDocument(BaseModel):
    """What parsing one file gives: the source and what was set aside."""

    source: Source
    format: str
    pages: int | None = None
    arxiv_id: str | None = None
    references: list[str] = Field(default_factory=list)
    front_matter: list[str] = Field(default_factory=list)


def file_format(name: str, head: bytes) -> str:
    """'pdf', 'markdown', 'html' or 'text', from the content first, then the name."""
    suffix = Path(name).suffix.lower()
    if head.lstrip().startswith(b"%PDF-") or suffix == ".pdf":
        return "pdf"
    sniff = head.lstrip()[:200].lower()
    if sniff.startswith((b"<!doctype html", b"<html")) or suffix in (".html", ".htm", ".xhtml"):
        return "html"
    if suffix in FORMATS:
        return FORMATS[suffix]
    supported = ", ".join(sorted(FORMATS))
    raise DocumentRejected(f"unsupported file type {suffix or '(no extension)'!r} "
                           f"(supported: {supported})")


def arxiv_id_in_name(name: str) -> str | None:
    match = _ARXIV_IN_NAME.search(Path(name).stem)
    return match.group(1) if match else None


def parse_file(path: Path, name: str, doc_id: str, settings: DocumentsSettings) -> ParsedDocument:
    """Parse ``path`` (shown to the user as ``name``) into a document ``doc_id``."""
    with path.open("rb") as handle:
        head = handle.read(4096)
    fmt = file_format(name, head)
    if fmt == "pdf":
        parsed = _parse_pdf(path, doc_id, settings)
    else:
        parsed = _parse_text(_decode(path.read_bytes()), fmt, doc_id)
    if not parsed.source.sections:
        raise DocumentRejected("no text found in the file")
    arxiv_id = parsed.arxiv_id or arxiv_id_in_name(name)
    title = parsed.source.title or _title_from_name(name)
    meta = {**parsed.source.metadata, "format": fmt, "file": Path(name).name,
            "origin": "added"}
    if arxiv_id:
        meta["arxiv_id"] = arxiv_id
    sections = tuple(s if s.arxiv_ids or not arxiv_id else s.model_copy(
        update={"arxiv_ids": (arxiv_id,)}) for s in parsed.source.sections)
    source = parsed.source.model_copy(update={"title": title, "metadata": meta,
                                              "sections": sections})
    return parsed.model_copy(update={"source": source, "arxiv_id": arxiv_id})


def _title_from_name(name: str) -> str:
    stem = re.sub(r"[_\s]+", " ", Path(name).stem).strip()
    return stem[:1].upper() + stem[1:] if stem else "Untitled document"


def _decode(data: bytes) -> str:
    if b"\x00" in data[:4096]:
        raise DocumentRejected("binary file, not text (is it another format renamed?)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DocumentRejected(f"not UTF-8 text (bad byte at offset {exc.start}): save it "
                               "as UTF-8 and add it again") from exc


def _parse_pdf(path: Path, doc_id: str, settings: DocumentsSettings) -> ParsedDocument:
    from rag.corpus.pdf import english_words, read_pdf
    from rag.corpus.structure import structure

    text = read_pdf(path, settings.max_pages, settings.min_chars_per_page)
    doc = structure(text.pages, text.metadata, english_words())
    meta = {k.lower(): v for k, v in text.metadata.items() if k in ("Author", "Subject",
                                                                   "Keywords")}
    source = Source(doc_id=doc_id, title=doc.title, kind="document", metadata=meta,
                    url="", sections=tuple(doc.sections))
    return ParsedDocument(source=source, format="pdf", pages=len(text.pages),
                          arxiv_id=doc.arxiv_id, references=doc.references,
                          front_matter=doc.front_matter)


def _parse_text(raw: str, fmt: str, doc_id: str) -> ParsedDocument:
    url = ""
    if fmt == "html":
        raw, url = _html_main_text(raw)
    elif fmt == "text":
        raw = _promote_title_line(raw)
    source = parse_document(doc_id, raw)
    title = "" if source.title == doc_id else source.title
    sections = tuple(s.model_copy(update={"text": readable_tables(s.text)})
                     for s in source.sections)
    source = source.model_copy(update={"url": url or source.metadata.get("url", ""),
                                       "title": title, "sections": sections})
    return ParsedDocument(source=source, format=fmt)


def _html_main_text(html: str) -> tuple[str, str]:
    """The page's main text as Markdown (with a front-matter title) and its URL."""
    import trafilatura

    markdown = trafilatura.extract(html, output_format="markdown", include_tables=True,
                                   include_links=True, include_comments=False,
                                   with_metadata=True)
    if not markdown or not clean.is_meaningful(markdown):
        raise DocumentRejected("no main text found in the web page")
    meta, _ = clean.split_front_matter(markdown)
    url = meta.get("url", "")
    return markdown, url if url.startswith(("http://", "https://")) else ""


def _promote_title_line(raw: str) -> str:
    """A plain-text file whose first line is a short title: make it the heading."""
    lines = raw.lstrip("\ufeff").splitlines()
    first = next((i for i, ln in enumerate(lines) if ln.strip()), None)
    if first is None:
        return raw
    head = lines[first].strip()
    blank_after = first + 1 >= len(lines) or not lines[first + 1].strip()
    if blank_after and len(head.split()) <= 12 and not head.endswith((".", ":", ";", ",")) \
            and not head.startswith("#"):
        lines[first] = f"# {head}"
    return "\n".join(lines)


def readable_tables(text: str) -> str:
    """Markdown table rows become "cell · cell · cell" lines; rule lines are dropped."""
    out = []
    for line in text.splitlines():
        stripped = line.strip()
        if _TABLE_RULE.match(stripped):
            continue
        if stripped.startswith("|") and stripped.count("|") >= 2:
            cells = [c.strip() for c in stripped.strip("|").split("|")]
            line = " · ".join(c for c in cells if c)
        out.append(line)
    return "\n".join(out)


def section_pages(sections: tuple[Section, ...]) -> int | None:
    """The last page any section reaches (None for sources without pages)."""
    pages = [p for s in sections for p in (s.page_start, *(n for _, n in s.page_breaks))
             if p is not None]
    return max(pages) if pages else None
