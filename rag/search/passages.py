"""Passages: what retrieval returns and an answer cites (pure functions).

The index holds *chunks* (about 180 tokens, the unit the embedding model sees
well).  A reader wants a whole paper card, or a whole short guide section, as
one passage: two halves of one card ranked 1 and 3 are one source, and the
fact asked about is often in the half that ranked lower.  So chunks are
retrieved, and every run of consecutive chunks of one card or section whose
text fits in ``max_chars`` is returned as one passage (the "parent document"
pattern); the chunks of a longer section stay separate passages.
"""

from __future__ import annotations

from collections.abc import Sequence

from rag.records import Chunk


def passage_groups(chunks: Sequence[Chunk], max_chars: int) -> list[tuple[int, ...]]:
    """Positions of the chunks of each passage, in index order: each run of consecutive
    chunks with one ``(doc_id, section)`` is one passage when its text fits in
    ``max_chars``, else one passage per chunk."""
    runs: list[list[int]] = []
    for i, chunk in enumerate(chunks):
        key = (chunk.doc_id, chunk.section)
        if runs and (chunks[runs[-1][-1]].doc_id, chunks[runs[-1][-1]].section) == key:
            runs[-1].append(i)
        else:
            runs.append([i])
    out: list[tuple[int, ...]] = []
    for run in runs:
        if len(run) > 1 and sum(len(chunks[i].text) for i in run) > max_chars:
            out.extend((i,) for i in run)
        else:
            out.append(tuple(run))
    return out


def join_texts(texts: Sequence[str], min_overlap: int = 20) -> str:
    """Consecutive chunk texts as one text, the overlap the splitter repeated at the
    start of each chunk removed."""
    out = texts[0] if texts else ""
    for text in texts[1:]:
        cut = _overlap(out, text, min_overlap)
        rest = text[cut:].lstrip()
        out = f"{out.rstrip()} {rest}" if rest else out
    return out


def _overlap(left: str, right: str, min_overlap: int) -> int:
    """Length of the longest prefix of ``right`` that ends ``left`` (0 when shorter than
    ``min_overlap``)."""
    for size in range(min(len(left), len(right)), min_overlap - 1, -1):
        if left.endswith(right[:size]):
            return size
    return 0


def merge_chunks(chunks: Sequence[Chunk]) -> Chunk:
    """One passage from consecutive chunks of a card or section: the first chunk's id
    and metadata, the texts joined, the arXiv ids of all, their pages (PDFs) spanned."""
    first = chunks[0]
    if len(chunks) == 1:
        return first
    arxiv = tuple(dict.fromkeys(a for c in chunks for a in c.arxiv_ids))
    update: dict = {"text": join_texts([c.text for c in chunks]), "arxiv_ids": arxiv}
    ends = [c.page_end for c in chunks if getattr(c, "page_end", None) is not None]
    if ends:
        update["page_end"] = max(ends)
    return first.model_copy(update=update)


class Passages:
    """The passage of every chunk of a loaded index (built once per retriever)."""

    def __init__(self, chunks: Sequence[Chunk], max_chars: int):
        self.chunks = chunks
        self.groups = passage_groups(chunks, max_chars) if max_chars > 0 \
            else [(i,) for i in range(len(chunks))]
        self.of = [0] * len(chunks)
        for g, members in enumerate(self.groups):
            for i in members:
                self.of[i] = g
        self._merged: dict[int, Chunk] = {}

    def chunk(self, group: int) -> Chunk:
        """The passage as one ``Chunk`` (cached)."""
        if group not in self._merged:
            self._merged[group] = merge_chunks([self.chunks[i] for i in self.groups[group]])
        return self._merged[group]

    def part_ids(self, group: int) -> tuple[str, ...]:
        return tuple(self.chunks[i].chunk_id for i in self.groups[group])

    def passage_id(self, chunk_id: str) -> str:
        """The id of the passage a chunk belongs to (its first chunk's id)."""
        position = self._position().get(chunk_id)
        return chunk_id if position is None else self.part_ids(self.of[position])[0]

    def _position(self) -> dict[str, int]:
        if not hasattr(self, "_positions"):
            self._positions = {c.chunk_id: i for i, c in enumerate(self.chunks)}
        return self._positions
