"""Read the corpus folder into cleaned ``Source`` records.

Documents (``corpus/docs/*.txt``) are split into sections by their headings:
markdown ``#`` lines, or lines ending in ``¶`` for scraped docs pages (where
``#`` lines are code comments).  Paper cards (``corpus/papers.jsonl``) become
one source each, ``doc_id`` ``arxiv:<id>``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from rag.corpus import clean, files
from rag.errors import CorpusError
from rag.records import Section, Source

log = logging.getLogger(__name__)

_MD_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_FENCE = re.compile(r"^\s*(```|~~~)")
_NUMBERED = re.compile(r"^\d+[.)]\s")
PILCROW = "¶"


@dataclass
class _Block:
    heading_level: int = 0
    heading: str = ""
    lines: list[str] = field(default_factory=list)


def load_corpus(
    corpus_dir: Path, max_bytes: int | None = None,
    on_file: Callable[[Path], None] | None = None,
) -> tuple[list[Source], list[str]]:
    """All sources under ``corpus_dir`` and the warnings about files skipped.

    Files are read by ``rag.corpus.files`` rules: only regular files inside the
    corpus folder, at most ``max_bytes`` each.  ``on_file`` is called before each
    file is read (progress)."""
    docs_dir = corpus_dir / "docs"
    if not docs_dir.is_dir() and not (corpus_dir / files.CARDS).is_file():
        raise CorpusError(f"no corpus at {corpus_dir} (expected docs/*.txt and papers.jsonl)")
    sources: list[Source] = []
    warnings: list[str] = []
    seen: dict[str, str] = {}  # content hash -> first file name
    for path in files.corpus_files(corpus_dir):
        if on_file:
            on_file(path)
        if path.name == files.CARDS and path.parent == corpus_dir:
            cards, card_warnings = load_cards(path, corpus_dir, max_bytes)
            sources.extend(cards)
            warnings.extend(card_warnings)
            continue
        source, problem = _read_document(path, seen, corpus_dir, max_bytes)
        if problem:
            warnings.append(f"{path.name}: {problem}")
        elif source is not None:
            sources.append(source)
    if not sources:
        raise CorpusError(f"no usable documents or paper cards under {corpus_dir}")
    return sources, warnings


def _read_document(path: Path, seen: dict[str, str], root: Path,
                   max_bytes: int | None) -> tuple[Source | None, str | None]:
    """One document, or why it is skipped; ``seen`` maps content hashes to file names."""
    try:
        data = files.read_file(path, root, max_bytes)
    except files.Skipped as skip:
        return None, skip.reason
    digest = hashlib.sha256(data).hexdigest()
    if digest in seen:
        return None, f"duplicate of {seen[digest]} (same content)"
    if b"\x00" in data[:4096]:
        return None, "binary file"
    try:
        raw = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, f"not UTF-8 text (byte {exc.start})"
    source = parse_document(path.stem, raw)
    if not source.sections:
        return None, "no text"
    seen[digest] = path.name
    return source, None


def parse_document(doc_id: str, raw: str) -> Source:
    """Clean one document and split it into sections with heading paths."""
    text = clean.repair_mojibake(raw)
    meta, body = clean.split_front_matter(text)
    style = "pilcrow" if _count_pilcrow_headings(body) >= 3 else "markdown"
    blocks = list(_blocks(body, style))
    title = _clean_inline(meta.get("title", "")) or _first_title(blocks) or doc_id
    sections = _sections(blocks, title_level=1 if style == "markdown" else 2)
    return Source(doc_id=doc_id, title=title, url=f"corpus/docs/{doc_id}.txt",
                  kind="document", metadata=meta, sections=tuple(sections))


def _count_pilcrow_headings(body: str) -> int:
    return sum(1 for line in body.splitlines() if line.rstrip().endswith(PILCROW))


def _blocks(body: str, style: str) -> Iterator[_Block]:
    """Yield heading-delimited blocks; fenced code becomes readable text."""
    block = _Block()
    code: list[str] | None = None
    for line in body.splitlines():
        if style == "markdown" and _FENCE.match(line):
            if code is None:
                code = []
            else:
                block.lines.append(clean.code_to_text("\n".join(code)))
                code = None
            continue
        if code is not None:
            code.append(line)
            continue
        level, heading = _heading(line, style)
        if level:
            yield block
            block = _Block(level, heading)
        else:
            block.lines.append(_clean_prose(line))
    if code:  # an unclosed fence keeps its content
        block.lines.append(clean.code_to_text("\n".join(code)))
    yield block


def _heading(line: str, style: str) -> tuple[int, str]:
    if style == "pilcrow":
        stripped = line.rstrip()
        if not stripped.endswith(PILCROW):
            return 0, ""
        text = _clean_inline(stripped[:-1])
        return (3 if _NUMBERED.match(text) else 2), text
    match = _MD_HEADING.match(line)
    if not match:
        return 0, ""
    return len(match.group(1)), _clean_inline(match.group(2))


def _clean_prose(line: str) -> str:
    return clean.strip_emphasis(clean.strip_html(clean.strip_blockquote(line)))


def _clean_inline(text: str) -> str:
    text, _ = clean.unlink_markdown(clean.strip_html(text))
    return clean.strip_symbols(clean.strip_emphasis(text))


def _first_title(blocks: list[_Block]) -> str:
    for block in blocks:
        if block.heading:
            return block.heading
    return ""


def _sections(blocks: list[_Block], title_level: int) -> list[Section]:
    """Turn blocks into sections.  The first top heading is the title, not a path step."""
    path: list[tuple[int, str]] = []
    sections: list[Section] = []
    title_seen = False
    for block in blocks:
        if block.heading:
            is_title = not title_seen and block.heading_level <= title_level
            title_seen = True
            if not is_title:
                path = [p for p in path if p[0] < block.heading_level]
                path.append((block.heading_level, block.heading))
        body, links = clean.unlink_markdown("\n".join(block.lines))
        body = clean.normalize_whitespace(body)
        if not clean.is_meaningful(body):
            continue
        urls = tuple(url for _, url in links)
        sections.append(Section(
            heading_path=tuple(h for _, h in path), text=body,
            links=tuple(f"{anchor}\t{url}" for anchor, url in links),
            arxiv_ids=clean.arxiv_ids_in(urls)))
    return sections


def load_cards(path: Path, root: Path | None = None,
               max_bytes: int | None = None) -> tuple[list[Source], list[str]]:
    """Paper cards, one JSON object a line; a bad line is skipped with a warning that
    names its line number (the rest of the file still counts)."""
    if not path.exists() and not path.is_symlink():
        return [], []
    try:
        data = files.read_file(path, root or path.parent, max_bytes)
    except files.Skipped as skip:
        if skip.io_error:  # the whole catalogue: the build fails, the last index serves
            raise CorpusError(f"{path.name} is {skip.reason}") from skip
        return [], [f"{path.name}: {skip.reason}"]
    sources: dict[str, Source] = {}
    warnings: list[str] = []
    for lineno, raw in enumerate(data.split(b"\n"), 1):
        if not raw.strip():
            continue
        try:
            card = parse_card(_card_record(raw))
        except (ValueError, KeyError, TypeError) as exc:
            warnings.append(f"{path.name}:{lineno}: {_short(exc)}")
            continue
        if card.doc_id in sources:
            card = _merge_cards(sources[card.doc_id], card)
        sources[card.doc_id] = card
    return list(sources.values()), warnings


def _card_record(raw: bytes) -> dict:
    """One line of ``papers.jsonl`` as a JSON object; ``ValueError`` says what is wrong."""
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"not UTF-8 text (byte {exc.start})") from None
    try:
        record = json.loads(line)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None
    if not isinstance(record, dict):
        raise ValueError(f"not a JSON object but a {type(record).__name__}")
    return record


def _short(exc: Exception) -> str:
    text = str(exc) if not isinstance(exc, KeyError) else f"missing field {exc}"
    return text if len(text) <= 160 else text[:157] + "..."


def parse_card(record: dict) -> Source:
    """A paper card: title, year, authors and summary; URL is the arXiv abstract page."""
    arxiv_id = _text_field(record, "arxiv_id", required=True)
    if not arxiv_id:
        raise ValueError("empty arxiv_id")
    summary = clean.repair_mojibake(_text_field(record, "summary")).strip()
    if not clean.is_meaningful(summary):
        raise ValueError(f"card {arxiv_id} has no summary")
    authors = _text_list(record, "authors")
    source_kind = _text_field(record, "source") or "card"
    heading = "arXiv abstract" if source_kind == "arxiv" else "Paper card"
    metadata = {"authors": ", ".join(authors), "source": source_kind}
    if record.get("resolved_from"):  # names a title search matched (rag.corpus.papers)
        metadata["resolved_from"] = " | ".join(_text_list(record, "resolved_from"))
    return Source(
        doc_id=f"arxiv:{arxiv_id}",
        title=clean.repair_mojibake(_text_field(record, "title", required=True)).strip(),
        url=f"https://arxiv.org/abs/{arxiv_id}", kind="paper", year=card_year(record.get("year")),
        metadata=metadata,
        sections=(Section(heading_path=(heading,), text=summary, arxiv_ids=(arxiv_id,)),))


def _text_field(record: dict, name: str, required: bool = False) -> str:
    value = record[name] if required else record.get(name)
    if value is None and not required:
        return ""
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = str(value)  # e.g. an arXiv id written as a number
    if not isinstance(value, str):
        raise ValueError(f"{name} must be text, not {type(value).__name__}")
    return value.strip()


def _text_list(record: dict, name: str) -> list[str]:
    value = record.get(name) or []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str | int) for v in value):
        raise ValueError(f"{name} must be a list of names, not {type(value).__name__}")
    return [str(v) for v in value]


def card_year(value: object) -> int | None:
    """A publication year (an integer from 1000 to 9999, or a string of one); None when
    absent; ``ValueError`` for anything else (1e999, -5, true, "soon")."""
    if value is None or value == "":
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if type(value) is not int or not 1000 <= value <= 9999:
        raise ValueError(f"year must be a four-digit year, not {str(value)[:20]}")
    return value


def _merge_cards(first: Source, second: Source) -> Source:
    """Two records of one paper (e.g. card and fetched abstract) become two sections."""
    texts = {s.text for s in first.sections}
    extra = tuple(s for s in second.sections if s.text not in texts)
    return first.model_copy(update={"sections": first.sections + extra,
                                    "metadata": {**second.metadata, **first.metadata}})
