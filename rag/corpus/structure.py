"""A PDF's blocks (``rag.corpus.layout``) become a titled document with sections (pure).

Title: the PDF metadata's title when it is a real one, else the largest line at the top
of page 1.  Front matter (authors, affiliations) is kept aside; an abstract without a
heading is kept.  A paragraph cut by a column or page break, or by a figure placed
inside it, is joined again.  Captions are paragraphs; figure labels are dropped and a
table's cells follow its caption.  The references section is split off.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from rag.corpus.clean import is_meaningful
from rag.corpus.layout import (
    _CAPTION,
    _REFERENCES,
    _SENTENCE_END,
    Block,
    block_text,
    blocks,
    body_size,
    normalise,
    reading_order,
    strip_furniture,
    vocabulary,
)
from rag.corpus.pdf import HYPHEN_MARK, Page
from rag.records import Section

_BAD_META_TITLE = re.compile(r"^(?:microsoft (?:word|powerpoint)|untitled|document\d*$|"
                             r"slide \d+)|\.(?:pdf|docx?|tex|dvi|ps|html?)$|^[\w-]+$", re.I)
_ARXIV_ID = re.compile(r"arxiv[:\s./]*(?:abs/|pdf/)?(\d{4}\.\d{4,5})(?:v\d+)?", re.I)
_REF_START = re.compile(r"(?=\[\d{1,3}\]\s)")


@dataclass
class StructuredPdf:
    title: str
    sections: list[Section]
    references: list[str] = field(default_factory=list)
    front_matter: list[str] = field(default_factory=list)
    arxiv_id: str | None = None


def structure(pages: list[Page], metadata: dict[str, str],
              words: frozenset[str] = frozenset()) -> StructuredPdf:
    """The whole pipeline from lines to sections; ``words``: an English word list."""
    stamp_id = arxiv_id_from_pdf(pages, metadata)
    pages = strip_furniture(pages)
    body = body_size(pages)
    vocab = vocabulary(pages)
    placed = [p for page in pages for p in reading_order(page)]
    found = blocks(placed, body)
    title, found = take_title(found, metadata, body)
    front, found = take_front_matter(found)
    title = title or (front[0] if front else "")
    found = rejoin_paragraphs(attach_floats(found))
    sections, references = to_sections(found, vocab, words)
    return StructuredPdf(title, sections, references, front, stamp_id)


def arxiv_id_from_pdf(pages: list[Page], metadata: dict[str, str]) -> str | None:
    """An arXiv id from the margin stamp, the metadata, or the first page's text."""
    first = pages[0] if pages else None
    stamps = "".join(first.margin_text) if first else ""
    for text in (stamps, " ".join(metadata.values())):
        if match := _ARXIV_ID.search(text):
            return match.group(1)
    if first:
        ids = {m.group(1) for ln in first.lines for m in _ARXIV_ID.finditer(ln.text)}
        if len(ids) == 1:
            return ids.pop()
    return None


def good_metadata_title(metadata: dict[str, str]) -> str:
    title = metadata.get("Title", "").strip()
    if len(title.split()) < 2 or _BAD_META_TITLE.search(title):
        return ""
    return title


def take_title(found: list[Block], metadata: dict[str, str],
               body: float) -> tuple[str, list[Block]]:
    """The title and the blocks without it (the largest text high on page 1)."""
    top = [b for b in found[:12] if b.lines[0].page == found[0].lines[0].page
           and b.kind != "caption"] if found else []
    biggest = max((ln.size for b in top for ln in b.lines), default=0.0)
    title_blocks = [b for b in top if b.lines[0].size == biggest] if biggest > body * 1.15 \
        else []
    if title_blocks:
        first = found.index(title_blocks[0])
        title_blocks = [b for b in found[first:first + 3] if b.lines[0].size == biggest]
    text = " ".join(normalise(ln.text).strip() for b in title_blocks for ln in b.lines)
    meta = good_metadata_title(metadata)
    close = meta and text and (meta.lower() in text.lower() or text.lower() in meta.lower())
    title = text if text and (not meta or close) else meta or text
    rest = [b for b in found if not any(b is t for t in title_blocks)]
    return " ".join(title.split()), rest


def take_front_matter(found: list[Block]) -> tuple[list[str], list[Block]]:
    """Author and affiliation lines before the first heading of page 1."""
    first_heading = next((i for i, b in enumerate(found) if b.kind == "heading"), None)
    if first_heading is None or found[first_heading].lines[0].page != 1:
        return [], found
    front, kept = [], []
    for block in found[:first_heading]:
        words = sum(len(ln.text.split()) for ln in block.lines)
        if block.is_prose() and words >= 25 or block.first.lower().startswith("abstract"):
            kept.append(block)
        else:
            front.extend(normalise(ln.text).strip() for ln in block.lines)
    if len(front) > 15:  # not front matter: a document without early headings
        return [], found
    if kept and not kept[0].first.lower().startswith("abstract"):
        kept.insert(0, Block("heading", [], 1, label="Abstract"))
    return front, kept + found[first_heading:]


def attach_floats(found: list[Block]) -> list[Block]:
    """Figure labels dropped; a table's cells appended to its caption."""
    drop: set[int] = set()
    for i, block in enumerate(found):
        if block.kind != "caption":
            continue
        is_table = _CAPTION.match(block.first).group("kind").lower() == "table"
        neighbours = _float_content(found, i, -1) + (_float_content(found, i, 1)
                                                     if is_table else [])
        for j in neighbours:
            drop.add(j)
            if is_table:
                block.lines.extend(found[j].lines)
    return [b for i, b in enumerate(found) if i not in drop]


def _float_content(found: list[Block], i: int, step: int) -> list[int]:
    """Non-prose text blocks next to caption ``i`` on its page (direction ``step``)."""
    out = []
    page = found[i].lines[0].page
    j = i + step
    while 0 <= j < len(found) and found[j].kind == "text" and found[j].lines[0].page == page \
            and not found[j].is_prose() and len(out) < 12:
        out.append(j)
        j += step
    return out


def rejoin_paragraphs(found: list[Block]) -> list[Block]:
    """Join a paragraph cut by a column/page break or a float back together."""
    out: list[Block] = []
    pending: list[Block] = []  # captions met while a paragraph is open
    for block in found:
        if block.kind == "caption" and out and out[-1].kind == "text" and _open(out[-1]):
            pending.append(block)
            continue
        if block.kind == "text" and out and out[-1].kind == "text" and _open(out[-1]) \
                and _starts_lower(block):
            out[-1].lines.extend(block.lines)
        else:
            out.extend(pending)
            pending = []
            out.append(block)
            continue
        out.extend(pending)
        pending = []
    return out + pending


def _open(block: Block) -> bool:
    last = normalise(block.lines[-1].text).strip() if block.lines else ""
    return bool(last) and (last.endswith(HYPHEN_MARK) or not _SENTENCE_END.search(last))


def _starts_lower(block: Block) -> bool:
    first = block.first
    return bool(first) and first[0].islower()


def to_sections(found: list[Block], vocab: Counter[str],
                words: frozenset[str] = frozenset()) -> tuple[list[Section], list[str]]:
    """Sections (heading paths, text, pages) and the references' entries."""
    sections: list[Section] = []
    path: list[tuple[int, str]] = []
    paragraphs: list[tuple[str, list[tuple[int, int]]]] = []
    in_references = False
    references: list[str] = []
    for block in found:
        if block.kind == "heading":
            sections.extend(_section(path, paragraphs))
            paragraphs = []
            in_references = bool(_REFERENCES.match(block.heading))
            if not in_references:
                path = [p for p in path if p[0] < block.level] + [(block.level, block.heading)]
            continue
        text, pages = block_text(block.lines, vocab, words)
        if in_references:
            references.append(text)
        elif is_meaningful(text):
            paragraphs.append((text, pages))
    sections.extend(_section(path, paragraphs))
    entries = [r.strip() for r in _REF_START.split(" ".join(references)) if r.strip()]
    return sections, entries


def _section(path: list[tuple[int, str]],
             paragraphs: list[tuple[str, list[tuple[int, int]]]]) -> list[Section]:
    if not paragraphs:
        return []
    text, breaks, first_page, current = "", [], None, None
    for para, pages in paragraphs:
        start = len(text) + (2 if text else 0)
        text = f"{text}\n\n{para}" if text else para
        for offset, page in pages:
            if first_page is None:
                first_page = current = page
            elif page != current:
                breaks.append((start + offset, page))
                current = page
    return [Section(heading_path=tuple(h for _, h in path), text=text,
                    page_start=first_page, page_breaks=tuple(breaks))]
