"""From a PDF's positioned lines to clean sections with page numbers (pure functions).

What papers really contain, and what is done about it:

* running headers, footers and page numbers: lines in the top or bottom band of a page
  that repeat on other pages (digits ignored), or are a bare page number, are dropped;
* two columns: a page whose lines sit left or right of the text area's middle is read
  left column first, then right, band by band between full-width blocks (title,
  abstract, wide figures);
* hyphenation: a word split at a line end is joined, unless the document itself writes
  the word with the hyphen elsewhere ("seven-billion") or both halves are words it
  uses on their own while the joined form never occurs;
* ligatures (ﬁ, ﬂ, ﬀ, ﬃ) and TeX's spacing accents ("Ram´on") are normalised;
* headings: numbered lines ("3.2 Acceptance rule") in a bold or larger face, and short
  standalone lines in a clearly bolder or larger face ("Abstract");
* figure and table captions ("Figure 2: ...") become paragraphs of their own; the
  labels inside a figure are dropped, a table's cells follow its caption;
* the references section is split off (kept out of the passages answers come from).
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field

from rag.corpus.pdf import HYPHEN_MARK, Line, Page

_LIGATURES = str.maketrans({"\ufb00": "ff", "\ufb01": "fi", "\ufb02": "fl", "\ufb03": "ffi",
                            "\ufb04": "ffl", "\ufb05": "st", "\ufb06": "st", "\u00ad": "",
                            "\u2002": " ", "\u2003": " ", "\u2009": " ", "\u00a0": " "})
_SPACING_ACCENT = re.compile(r"([\u00b4`\u00a8\u02c6^\u02dc~\u02c7\u00b8])\s?([A-Za-z])")
_COMBINING = {"\u00b4": "\u0301", "`": "\u0300", "\u00a8": "\u0308", "\u02c6": "\u0302",
              "^": "\u0302", "\u02dc": "\u0303", "~": "\u0303", "\u02c7": "\u030c",
              "\u00b8": "\u0327"}
_PAGE_NUMBER = re.compile(r"^(?:page\s+)?(?:\d{1,4}|[ivxlc]{1,6})(?:\s*(?:/|of)\s*\d{1,4})?$",
                          re.I)
_NUMBERED = re.compile(r"^(?P<num>(?:\d{1,2}|[A-Z])(?:\.\d{1,2}){0,3})\.?\s+(?P<title>[A-Z]\S*"
                       r"(?:\s+\S+){0,13})$")
_CAPTION = re.compile(r"^(?P<kind>Figure|Fig\.|Table|Algorithm|Listing)\s*(?:\d+|[A-Z]\.?\d*)"
                      r"\s*[:.|]", re.I)
_REFERENCES = re.compile(r"^(?:\d+\.?\s+)?(?:references|bibliography|works cited|"
                         r"literature cited|citations)$", re.I)
_STOPWORDS = frozenset(
    "a an the of to in on for and or is are was were be by with as that this it from at "
    "which we our not can than into its their".split())
_WORD = re.compile(r"[A-Za-z]+")
_SENTENCE_END = re.compile(r"[.!?:;)\]\"”’]$")


def normalise(text: str) -> str:
    """Ligatures, odd spaces and soft hyphens; TeX's spacing accents become letters."""
    text = text.translate(_LIGATURES)
    text = _SPACING_ACCENT.sub(lambda m: m.group(2) + _COMBINING[m.group(1)], text)
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Cc")
    return unicodedata.normalize("NFC", text)


# --------------------------------------------------------------- page furniture


def _furniture_key(text: str) -> str:
    return re.sub(r"\d+", "#", " ".join(text.lower().split()))


def _edge_lines(page: Page, band: float = 0.09) -> list[Line]:
    """Up to two lines at the top and two at the bottom, inside the edge bands."""
    ordered = sorted(page.lines, key=lambda ln: ln.top)
    top = [ln for ln in ordered[:2] if ln.bottom <= page.height * band]
    bottom = [ln for ln in ordered[-2:] if ln.top >= page.height * (1 - band)]
    return top + bottom


def strip_furniture(pages: list[Page]) -> list[Page]:
    """Pages without running headers, footers and page numbers."""
    counts: Counter[str] = Counter()
    for page in pages:
        counts.update({_furniture_key(ln.text) for ln in _edge_lines(page)})
    repeated = max(2, round(0.4 * len(pages)))
    out = []
    for page in pages:
        drop = {id(ln) for ln in _edge_lines(page)
                if counts[_furniture_key(ln.text)] >= repeated
                or _PAGE_NUMBER.match(ln.text.strip())}
        out.append(Page(page.number, page.width, page.height,
                        [ln for ln in page.lines if id(ln) not in drop],
                        page.margin_text, page.images))
    return out


# --------------------------------------------------------------- reading order


@dataclass(frozen=True)
class Placed:
    """A line in reading order, with the column it belongs to."""

    line: Line
    column: str  # "L", "R" (two-column pages), "S" (spans both), "F" (one column)
    col_x0: float


def reading_order(page: Page) -> list[Placed]:
    """Lines of one page in reading order (columns detected from the line boxes)."""
    lines = sorted(page.lines, key=lambda ln: (round(ln.top, 0), ln.x0))
    if not lines:
        return []
    left_edge = min(ln.x0 for ln in lines)
    mid = (left_edge + max(ln.x1 for ln in lines)) / 2
    tol = 0.02 * page.width
    tags = ["L" if ln.x1 <= mid + tol else "R" if ln.x0 >= mid - tol else "S" for ln in lines]
    _spanning_continuations(lines, tags)
    n_left, n_right = tags.count("L"), tags.count("R")
    if n_left < 3 or n_right < 3 or n_left + n_right < 0.5 * len(lines):
        return [Placed(ln, "F", left_edge) for ln in lines]
    right_edge = min((ln.x0 for ln, t in zip(lines, tags) if t == "R"), default=mid)
    out: list[Placed] = []
    band: list[tuple[Line, str]] = []
    for ln, tag in [*zip(lines, tags), (None, "S")]:
        if tag != "S":
            band.append((ln, tag))
            continue
        for column in ("L", "R"):
            x0 = left_edge if column == "L" else right_edge
            out.extend(Placed(b, column, x0) for b, t in band if t == column)
        band = []
        if ln is not None:
            out.append(Placed(ln, "S", left_edge))
    return out


def _spanning_continuations(lines: list[Line], tags: list[str]) -> None:
    """The last line of a full-width paragraph or caption is short, so it looks like
    a left-column line: tag it as spanning when it hangs right under one."""
    for i in range(1, len(lines)):
        above, line = lines[i - 1], lines[i]
        if tags[i] == "L" and tags[i - 1] == "S" and abs(line.x0 - above.x0) < 2 \
                and abs(line.size - above.size) < 0.5 \
                and line.top - above.bottom < 0.6 * max(line.height, 1.0):
            tags[i] = "S"


# --------------------------------------------------------------- headings


def body_size(pages: list[Page]) -> float:
    """The font size most of the text is set in."""
    sizes: Counter[float] = Counter()
    for page in pages:
        for ln in page.lines:
            sizes[ln.size] += len(ln.text)
    return sizes.most_common(1)[0][0] if sizes else 10.0


def heading_level(line: Line, body: float) -> int:
    """1-4 for a heading line (by numbering depth, else 1), 0 for body text."""
    text = normalise(line.text).strip()
    words = text.split()
    if not words or len(words) > 14 or text.endswith((".", ",", ";")) and not _NUMBERED.match(
            text):
        return 0
    larger = line.size >= body * 1.12
    numbered = _NUMBERED.match(text)
    if numbered and (line.bold or larger) and _looks_titled(numbered.group("title")):
        return numbered.group("num").count(".") + 1
    if not numbered and (larger or line.bold) and len(words) <= 10 and _wordy(text) \
            and not text.endswith((".", ",")):
        return 1
    return 0


def _wordy(text: str) -> bool:
    """Mostly letters, with a real word in it (not a row of numbers)."""
    chars = [ch for ch in text if not ch.isspace()]
    letters = sum(ch.isalpha() for ch in chars)
    return letters >= 0.5 * len(chars) and bool(re.search(r"[A-Za-z]{3}", text))


def _looks_titled(title: str) -> bool:
    letters = [w for w in _WORD.findall(title)]
    return bool(letters) and not re.search(r"\d\s*[x×]$|%$", title)


# --------------------------------------------------------------- blocks


@dataclass
class Block:
    """A run of lines that belong together: a paragraph, heading or caption."""

    kind: str  # "text" | "heading" | "caption"
    lines: list[Line] = field(default_factory=list)
    level: int = 0
    label: str = ""  # a heading made up for text that had none ("Abstract")

    @property
    def first(self) -> str:
        return self.label or normalise(self.lines[0].text).strip()

    @property
    def heading(self) -> str:
        """All lines of a (possibly wrapped) heading as one line."""
        if self.label:
            return self.label
        text = ""
        for line in self.lines:
            piece = normalise(line.text).strip()
            if text.endswith((HYPHEN_MARK, "-")) and piece[:1].islower():
                text = text[:-1] + piece
            else:
                text = f"{text} {piece}".strip()
        return text.replace(HYPHEN_MARK, "-")

    def is_prose(self) -> bool:
        words = [w.lower() for ln in self.lines for w in _WORD.findall(ln.text)]
        return bool(words) and sum(w in _STOPWORDS for w in words) >= 0.08 * len(words)


def blocks(placed: list[Placed], body: float) -> list[Block]:
    """Headings, captions and paragraphs in reading order."""
    out: list[Block] = []
    prev: Placed | None = None
    for item in placed:
        line = item.line
        level = heading_level(line, body)
        if out and out[-1].kind == "heading" and prev is not None and _wraps(prev.line, line):
            out[-1].lines.append(line)  # the second line of a long heading
        elif level:
            out.append(Block("heading", [line], level))
        elif _CAPTION.match(normalise(line.text).strip()):
            out.append(Block("caption", [line]))
        elif out and prev is not None and out[-1].kind != "heading" and _continues(
                prev, item, body):
            out[-1].lines.append(line)
        else:
            out.append(Block("text", [line]))
        prev = item
    return out


def _wraps(above: Line, line: Line) -> bool:
    """``line`` continues the heading line ``above``: same face, right below it."""
    return (line.page == above.page and line.bold == above.bold
            and abs(line.size - above.size) < 0.3 and 0 <= line.top - above.bottom
            < 0.5 * max(line.height, 1.0) and len(line.text.split()) <= 12)


def _continues(prev: Placed, item: Placed, body: float) -> bool:
    """Does ``item`` continue the block ``prev`` ends (same column, no gap, no indent)?"""
    a, b = prev.line, item.line
    if a.page != b.page or prev.column != item.column:
        return False
    gap = b.top - a.bottom
    if gap > 0.9 * max(a.height, b.height, body * 0.6) or gap < -a.height:
        return False
    if abs(a.size - b.size) > 1.0:
        return False
    indented = b.x0 - item.col_x0 > 0.6 * body and b.x0 - a.x0 > 0.6 * body
    return not indented


# --------------------------------------------------------------- text assembly


def vocabulary(pages: list[Page]) -> Counter[str]:
    """Words as the document writes them (lower case), hyphenated compounds included;
    the halves of words split at a line end are left out."""
    counts: Counter[str] = Counter()
    split_before = False
    for page in pages:
        for ln in page.lines:
            text = normalise(ln.text)
            hyphenated = text.endswith((HYPHEN_MARK, "-"))
            found = re.findall(r"[A-Za-z]+(?:-[A-Za-z]+)*", text)
            found = found[1 if split_before else 0: -1 if hyphenated else None]
            counts.update(w.lower() for w in found)
            split_before = hyphenated
    return counts


def join_hyphenated(head: str, tail: str, vocab: Counter[str],
                    words: frozenset[str] = frozenset()) -> str:
    """``head`` ends a line with a hyphen, ``tail`` starts the next: the joined text.

    ``vocab`` counts the document's own words; ``words`` is an English word list."""
    left = re.search(r"([A-Za-z]+)$", head)
    right = re.match(r"([A-Za-z]+)", tail)
    if not left or not right:
        return head + "-" + tail
    a, b = left.group(1).lower(), right.group(1).lower()
    if not right.group(1)[0].islower():  # "META-" "FONT": joined only if written so
        return head + tail if vocab[a + b] > 0 else head + "-" + tail
    if vocab[f"{a}-{b}"] > 0 and vocab[a + b] == 0:
        return head + "-" + tail  # the document writes it with the hyphen
    if vocab[a + b] > 0 or a + b in words:
        return head + tail
    if len(a) > 2 and len(b) > 2 and (a in words or vocab[a]) and (b in words or vocab[b]):
        return head + "-" + tail  # a compound: "seven-billion", "self-contained"
    return head + tail


def block_text(lines: list[Line], vocab: Counter[str],
               words: frozenset[str] = frozenset()) -> tuple[str, list[tuple[int, int]]]:
    """The lines joined into one paragraph, and ``(offset, page)`` where pages start."""
    text = ""
    pages: list[tuple[int, int]] = []
    for line in lines:
        piece = normalise(line.text).strip()
        if not pages or pages[-1][1] != line.page:
            pages.append((len(text) + (1 if text else 0), line.page))
        if text.endswith((HYPHEN_MARK, "-")) and not text.endswith(" -"):
            text = join_hyphenated(text[:-1], piece, vocab, words)
        else:
            text = f"{text} {piece}" if text else piece
    return text.replace(HYPHEN_MARK, "-"), pages
