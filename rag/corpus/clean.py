"""Pure text-repair functions: mojibake, HTML, markdown links, front matter, code.

Each function takes a string and returns a string (or a small tuple); none
reads files.  ``ingest.py`` composes them.
"""

from __future__ import annotations

import html
import re
import unicodedata

import ftfy
import yaml

# Some bytes of the original UTF-8 were lost when the files were decoded with a
# legacy code page (windows-1252 drops 0x81/0x8D/0x8F/0x90/0x9D; windows-1257
# drops several more), so ftfy cannot restore those characters from what is
# left.  These remnants are unambiguous in this corpus; each is documented.
_LOSSY_REMNANTS: tuple[tuple[re.Pattern[str], str], ...] = (
    # "âˆ" + lost 0x9D (∝, U+221D) is re-read by ftfy as ∠ (U+2220).
    (re.compile(r"∠\s?(?=[A-Za-z0-9(])"), "∝ "),
    # windows-1257: "→" (E2 86 92) survives as "ā" alone; "×" (C3 97) as "Ć".
    (re.compile(r"(?<=\s)ā(?=\s)"), "→"),
    (re.compile(r"(?<=\d)Ć(?=\s)"), "×"),
    # windows-1257 remnants of 4-byte emoji at the start of a heading ("š¬", "š").
    (re.compile(r"^š¬?\s+", re.MULTILINE), ""),
)

_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9-]*(?:\s[^<>]*)?/?>")
_WIKI_LINK = re.compile(r"\[\[([^\]|]+?)(?:\|([^\]]+))?\]\]")
_MD_LINK = re.compile(
    r"(!?)\[((?:[^\[\]]|\[[^\[\]]*\])*)\]"  # [text], one level of nested brackets
    r"\(\s*<?([^()\s>]+(?:\([^()\s]*\))?[^()\s>]*)>?(?:\s+\"[^\"]*\")?\s*\)"  # (url "title")
)
_BARE_URL = re.compile(r"https?://[^\s<>\"')\]]+")
_EMPHASIS = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!>|])")
_BLOCKQUOTE = re.compile(r"^\s{0,3}>\s?")
_ARXIV = re.compile(
    r"arxiv\.org/(?:abs|pdf|html)/([a-z\-]+(?:\.[A-Z]{2})?/\d{7}|\d{4}\.\d{4,5})(?:v\d+)?",
    re.IGNORECASE,
)
_FRONT_MATTER = re.compile(r"\A\ufeff?---[ \t]*\n(.*?)\n---[ \t]*(?:\n|\Z)", re.DOTALL)


def repair_mojibake(text: str) -> str:
    """Undo UTF-8 read as a legacy code page (ftfy), then the lossy remnants ftfy can't."""
    fixed = ftfy.fix_text(text, normalization="NFC")
    for pattern, replacement in _LOSSY_REMNANTS:
        fixed = pattern.sub(replacement, fixed)
    return fixed


def strip_blockquote(line: str) -> str:
    """``> quoted`` becomes ``quoted``."""
    return _BLOCKQUOTE.sub("", line)


def strip_html(text: str) -> str:
    """Drop HTML tags, keep their text, decode entities (``&#x20;`` becomes a space)."""
    return html.unescape(_TAG.sub("", text)).replace("\u00a0", " ")


def split_front_matter(text: str) -> tuple[dict[str, str], str]:
    """Split YAML front matter from the body; values become strings."""
    match = _FRONT_MATTER.match(text)
    if not match:
        return {}, text
    try:
        data = yaml.safe_load(match.group(1)) or {}
    except yaml.YAMLError:
        return {}, text
    if not isinstance(data, dict):
        return {}, text
    meta = {str(k): _meta_value(v) for k, v in data.items()}
    return meta, text[match.end():]


def _meta_value(value: object) -> str:
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def arxiv_ids_in(urls: list[str] | tuple[str, ...] | str) -> tuple[str, ...]:
    """arXiv ids (no version suffix) in URLs: abs, pdf and html links, in order, unique."""
    if isinstance(urls, str):
        urls = [urls]
    seen: dict[str, None] = {}
    for url in urls:
        for match in _ARXIV.finditer(url):
            seen.setdefault(match.group(1), None)
    return tuple(seen)


def unlink_markdown(text: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    """Replace markdown and wiki links by their text.

    Returns the text and the ``(anchor text, url)`` pairs found, in order; a bare
    URL is its own anchor.  Image links keep their alt text.
    """
    links: list[tuple[str, str]] = []

    def _md(match: re.Match[str]) -> str:
        anchor = strip_emphasis(match.group(2)).strip()
        links.append((anchor, match.group(3)))
        return match.group(2)

    text = _WIKI_LINK.sub(lambda m: m.group(2) or m.group(1).rsplit("/", 1)[-1], text)
    previous = None
    while previous != text:  # links nested inside link text
        previous = text
        text = _MD_LINK.sub(_md, text)
    links.extend((url, url) for url in _BARE_URL.findall(text))
    return text, tuple(dict.fromkeys(links))


def strip_emphasis(text: str) -> str:
    """``**bold**`` and ``__bold__`` become plain text."""
    previous = None
    while previous != text:
        previous = text
        text = _EMPHASIS.sub(r"\2", text)
    # Unbalanced markers ("**papers **" around HTML) and escapes ("\\*Note") are markup.
    return _ESCAPE.sub(r"\1", text.replace("**", ""))


def strip_symbols(text: str) -> str:
    """Remove emoji and pictographs (Unicode category So) and collapse spaces."""
    kept = "".join(ch for ch in text if unicodedata.category(ch) != "So")
    return re.sub(r"[ \t]{2,}", " ", kept).strip()


_KV_LINE = re.compile(r'^"([^"]+)"\s*:\s*(?:f?"(.*)"|\'(.*)\')\s*,?$')
_KEY_OPEN = re.compile(r'^"([^"]+)"\s*:\s*[\[{(]\s*$')
_ITEM = re.compile(r'^f?"(.*)"\s*,?$')
_ITEMS = re.compile(r'^(?:f?"[^"]*"\s*,\s*)+f?"[^"]*"\s*,?$')  # "a", "b", "c",
_LIST_OPEN = re.compile(r'^"([^"]+)"\s*:\s*\[\s*$')
_ATTR_OPEN = re.compile(r"^self\.(\w+)\s*=\s*[\[{(]\s*$")
_SYNTAX_ONLY = re.compile(r"^[\[\]{}(),:;\"'`\s]*$")
# Scaffolding that only holds the facts: "class Foo:", "def __init__(self):".
_SCAFFOLD = re.compile(r"^(?:class \w+(?:\([^)]*\))?:|def __init__\(self[^)]*\):)$")


def code_to_text(code: str) -> str:
    """Make Python-literal facts readable: ``"key_idea": "X",`` becomes ``key idea: X``.

    Comments lose their ``#``; lines of brackets alone are dropped; any other
    line is kept as it is, so no content word is lost.
    """
    out: list[str] = []
    lines = [raw.strip() for raw in code.splitlines()]
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if _SYNTAX_ONLY.match(line) or _SCAFFOLD.match(line):
            continue
        if (short := _short_list(lines, i)) is not None:
            out.append(f"{_readable_key(_LIST_OPEN.match(line).group(1))}: "
                       f"{', '.join(short[0])}")
            i = short[1]
            continue
        out.append(_code_line(line))
    return "\n".join(line for line in out if line)


def _short_list(lines: list[str], start: int) -> tuple[list[str], int] | None:
    """A list of labels (``"control_types": [`` then ``"Canny edges", "Depth maps",``
    ...: three or more, of at most three words each) opened by ``lines[start - 1]``: its
    items and the index after its closing bracket; None for anything else (a list of
    facts keeps one line per item)."""
    if not _LIST_OPEN.match(lines[start - 1]):
        return None
    items: list[str] = []
    for k in range(start, min(len(lines), start + 40)):
        if lines[k].startswith("]"):
            ok = len(items) >= 3 and all(len(item.split()) <= 3 for item in items)
            return (items, k + 1) if ok else None
        if not (_ITEM.match(lines[k]) or _ITEMS.match(lines[k])):
            return None
        items += re.findall(r'"([^"]*)"', lines[k])
    return None


def _code_line(line: str) -> str:
    if match := _KV_LINE.match(line):
        value = match.group(2) if match.group(2) is not None else match.group(3)
        return f"{_readable_key(match.group(1))}: {value}"
    if match := _KEY_OPEN.match(line):
        return f"{_readable_key(match.group(1))}:"
    if match := _ATTR_OPEN.match(line):
        return f"{_readable_key(match.group(1))}:"
    if _ITEMS.match(line):
        return ", ".join(re.findall(r'"([^"]*)"', line))
    if match := _ITEM.match(line):
        return match.group(1)
    if line.startswith("#"):
        return line.lstrip("#").strip()
    return line


def _readable_key(key: str) -> str:
    return key.replace("_", " ").strip()


def normalize_whitespace(text: str) -> str:
    """Trim line ends, collapse runs of blank lines, drop rules and symbol-only lines."""
    lines = [line.rstrip() for line in text.splitlines()]
    lines = [ln if is_meaningful(ln) else "" for ln in lines]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def is_meaningful(text: str) -> bool:
    """False for empty or punctuation/symbol-only text."""
    return any(ch.isalnum() for ch in text)
