"""Structure-aware chunking and sentence splitting.

Sections (already split at headings) are cut into sentence-aligned windows by
llama-index's ``SentenceSplitter``, measured with the embedding model's own
tokenizer so that no chunk's embedded text (heading path included) exceeds the
model window.  Sentences are split again for the extractive answerer.

Only the build chunks text, so llama-index is imported inside ``split_text``:
query-time users of ``split_sentences`` / ``is_answer_sentence`` (answer checks,
grading) do not pay for it.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable
from functools import lru_cache

from rag.corpus import clean
from rag.records import Chunk, Section, Source
from rag.settings import ChunkSettings

TokenCounter = Callable[[str], int]
PATH_SEP = " › "
_LIST_MARKER = re.compile(r"^\s*(?:[-*+•]|\d+[.)])\s+")
_ABBREV_END = re.compile(r"(?:\b(?:e\.g|i\.e|vs|etc|et al|Dr|Mr|Fig|Eq|cf|approx|No)\.)\s*$", re.I)
_CHECKBOX = re.compile(r"^\[[ xX]\]\s+")
_COMMENT = re.compile(r"^#+\s+(?=[A-Za-z])")  # a code comment's marker
_CODE_LIKE = re.compile(
    r"^(?:import |from \S+ import |def |class |return\b|print\(|@|#)|[=({\[]\s*$|^\w+\s*=\s*\S"
    r"|^\S+\(.*\)$"
)


def section_label(source: Source, section: Section) -> str:
    """The heading path shown to users, e.g. ``Foundational Papers › 1. Attention ...``."""
    return PATH_SEP.join(section.heading_path)


def embed_prefix(source: Source, section: Section) -> str:
    """Context prepended to a chunk's text before embedding and BM25 indexing."""
    if source.kind == "paper":
        year = f" ({source.year})" if source.year else ""
        return f"{source.title}{year}"
    label = section_label(source, section)
    if source.metadata.get("origin") == "added" and label:  # your documents: say which
        return f"{source.title}{PATH_SEP}{label}"
    return label or source.title


def chunk_sources(
    sources: Iterable[Source], settings: ChunkSettings, count_tokens: TokenCounter,
    max_tokens: int,
) -> list[Chunk]:
    """All chunks of all sources, in corpus order."""
    chunks: list[Chunk] = []
    for source in sources:
        chunks.extend(chunk_source(source, settings, count_tokens, max_tokens))
    return chunks


def chunk_source(
    source: Source, settings: ChunkSettings, count_tokens: TokenCounter, max_tokens: int,
) -> list[Chunk]:
    """Chunks of one source.  ``max_tokens`` excludes the model's special tokens."""
    budget = min(settings.chunk_tokens, max_tokens)
    chunks: list[Chunk] = []
    for section in source.sections:
        prefix = embed_prefix(source, section)
        if count_tokens(prefix) > budget // 3:  # absurdly long heading path
            prefix = section.heading_path[-1] if section.heading_path else source.title
            prefix = _truncate_words(prefix, count_tokens, budget // 3)
        body_budget = budget - count_tokens(prefix) - 1
        pieces = split_text(section.text, body_budget, settings, count_tokens)
        for piece, pages in zip(pieces, piece_pages(section, pieces)):
            chunks.append(_make_chunk(source, section, prefix, piece, len(chunks), pages))
    return chunks


def piece_pages(section: Section, pieces: list[str]) -> list[tuple[int | None, int | None]]:
    """First and last page of each piece of a section's text (None without pages)."""
    if section.page_start is None:
        return [(None, None)] * len(pieces)
    out, start = [], 0
    for piece in pieces:
        found = _locate(section.text, piece, start)
        start = found if found >= 0 else start
        end = start + max(len(piece) - 1, 0)
        out.append((section.page_at(start), section.page_at(end)))
    return out


def _locate(text: str, piece: str, start: int) -> int:
    """Where ``piece`` begins in ``text`` at or after ``start`` (-1 if not found);
    whitespace may differ (the splitter rejoins lines)."""
    found = text.find(piece[:80], start)
    if found >= 0:
        return found
    words = piece.split()[:8]
    match = re.compile(r"\s+".join(map(re.escape, words))).search(text, start) if words \
        else None
    return match.start() if match else -1


def split_text(
    text: str, budget: int, settings: ChunkSettings, count_tokens: TokenCounter,
) -> list[str]:
    """Sentence-aligned windows of at most ``budget`` tokens, with overlap."""
    from llama_index.core.node_parser import SentenceSplitter

    overlap = min(settings.overlap_tokens, budget // 4)
    splitter = SentenceSplitter(
        chunk_size=budget, chunk_overlap=overlap, paragraph_separator="\n\n",
        secondary_chunking_regex=r"\s*[^,.;。？！\n]+[,.;。？！\n]?",  # keeps blank lines
        tokenizer=lambda s: range(count_tokens(s)),
    )
    pieces = [p.strip() for p in splitter.split_text(text)]
    pieces = [p for p in pieces if clean.is_meaningful(p)]
    out: list[str] = []
    for piece in pieces:
        out.extend(_hard_split(piece, budget, count_tokens))
    return _merge_tiny(out, settings.min_chunk_chars, budget, count_tokens)


def _hard_split(text: str, budget: int, count_tokens: TokenCounter) -> list[str]:
    """Word-level split for the rare piece the splitter left over budget."""
    if count_tokens(text) <= budget:
        return [text]
    pieces: list[str] = []
    current: list[str] = []
    for word in text.split(" "):
        if current and count_tokens(" ".join([*current, word])) > budget:
            pieces.append(" ".join(current))
            current = []
        current.append(word)
    if current:
        pieces.append(" ".join(current))
    return [p for piece in pieces for p in _split_long_word(piece, budget, count_tokens)]


def _split_long_word(text: str, budget: int, count_tokens: TokenCounter) -> list[str]:
    while count_tokens(text) > budget:  # one "word" longer than the budget
        cut = max(1, len(text) * budget // (count_tokens(text) + 1))
        return [text[:cut], *_split_long_word(text[cut:], budget, count_tokens)]
    return [text]


def _merge_tiny(
    pieces: list[str], min_chars: int, budget: int, count_tokens: TokenCounter,
) -> list[str]:
    """Fold fragments shorter than ``min_chars`` into their neighbour when it fits."""
    out: list[str] = []
    for piece in pieces:
        if out and len(piece) < min_chars and count_tokens(out[-1] + "\n" + piece) <= budget:
            out[-1] = out[-1] + "\n" + piece
        else:
            out.append(piece)
    return out


def _truncate_words(text: str, count_tokens: TokenCounter, limit: int) -> str:
    words = text.split()
    while len(words) > 1 and count_tokens(" ".join(words)) > limit:
        words.pop(0)
    return " ".join(words)


def _make_chunk(source: Source, section: Section, prefix: str, text: str, pos: int,
                pages: tuple[int | None, int | None] = (None, None)) -> Chunk:
    arxiv_ids = _arxiv_ids_in_piece(section, text)
    return Chunk(
        chunk_id=f"{source.doc_id}#{pos}", doc_id=source.doc_id, title=source.title,
        section=section_label(source, section), url=source.url, text=text,
        embed_text=f"{prefix}\n{text}", arxiv_ids=arxiv_ids, position=pos,
        page_start=pages[0], page_end=pages[1],
    )


def _arxiv_ids_in_piece(section: Section, text: str) -> tuple[str, ...]:
    """arXiv ids of the links whose anchor text falls in this piece of the section."""
    if not section.links:  # paper cards carry their own id
        return section.arxiv_ids
    ids: dict[str, None] = {}
    for link in section.links:
        anchor, _, url = link.partition("\t")
        if anchor and anchor in text:
            for arxiv_id in clean.arxiv_ids_in(url):
                ids.setdefault(arxiv_id, None)
    return tuple(ids)


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


@lru_cache(maxsize=1)
def _punkt() -> Callable[[str], list[str]]:
    """nltk's Punkt with default parameters, cut at the start of each span: what
    llama-index's ``split_by_sentence_tokenizer`` does, without importing llama-index."""
    from nltk.tokenize.punkt import PunktSentenceTokenizer

    tokenizer = PunktSentenceTokenizer()

    def split(text: str) -> list[str]:
        starts = [start for start, _ in tokenizer.span_tokenize(text)]
        return [text[a:b] for a, b in zip(starts, [*starts[1:], len(text)])]
    return split


_SENTENCE_BREAK = re.compile(r"(?<=[.!?])[\"'”’)\]]*\s+(?=[\"'“‘(\[]?[A-Za-z0-9])")


def _regex_split(line: str) -> list[str]:
    """A sentence end, closing quotes or brackets, space, then a word: what untrained
    Punkt does on a user's answer (1 of the 375 calibration answers splits differently,
    "sentence A. The", where Punkt took "A." for an initial), without importing nltk
    (~1.5 s on the practice path)."""
    parts, pos = [], 0
    for m in _SENTENCE_BREAK.finditer(line):
        parts.append(line[pos:m.start()] + m.group(0).strip())
        pos = m.end()
    parts.append(line[pos:])
    return parts


def split_sentences(text: str, light: bool = False) -> list[str]:
    """Sentences of a chunk: one per line or list item, then punkt within lines
    (``light``: a regular expression instead, for answers typed by a user)."""
    out: list[str] = []
    for line in text.splitlines():
        line = _CHECKBOX.sub("", _LIST_MARKER.sub("", line)).strip()
        if not light:  # "# Used to create Alpaca dataset (52k examples ...)": a comment
            line = _COMMENT.sub("", line)  # in prose is a statement of the guide's
        if not clean.is_meaningful(line):
            continue
        parts = _regex_split(line) if light else _punkt()(line)
        out.extend(_merge_abbreviations([s.strip() for s in parts if s.strip()]))
    return out


def _merge_abbreviations(parts: list[str]) -> list[str]:
    merged: list[str] = []
    for part in parts:
        if merged and _ABBREV_END.search(merged[-1]):
            merged[-1] = f"{merged[-1]} {part}"
        else:
            merged.append(part)
    return merged


def is_answer_sentence(text: str) -> bool:
    """Readable prose of some substance: not code, not a bare label or heading.

    Only these sentences are embedded at build time and offered to the answerer.
    """
    words = text.split()
    stripped = text.strip()
    if len(words) < 5 or len(stripped) < 24 or stripped.endswith((":", "?")):
        return False
    if stripped[0] in "\"'“‘,;)]}":  # a fragment of a quoted list, not a statement
        return False
    if _CODE_LIKE.search(text.strip()):
        return False
    letters = sum(ch.isalpha() for ch in text)
    return letters / max(len(text), 1) >= 0.55
