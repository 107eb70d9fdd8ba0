"""Connect documents to the papers they name but do not link (pure functions).

A ``Linker`` knows every paper by its full title, its short name (the part of
the title before the colon: "LoRA", "Switch Transformers") and aliases the
documents themselves define ("DPO: Direct Preference Optimization",
"... Follow Instructions (InstructGPT)").  It finds those names in headings
and text; a name that matches no paper, or several, is reported, never guessed.

Matching rules (each keeps a wrong link out):
- whole words only: "BERT" is not found in "RoBERTa" or "Sentence-BERT";
- a version number after a name makes it another paper: "Mamba-2", "BLIP-2",
  "Gemini 2.0" do not match "Mamba", "BLIP", "Gemini";
- short names, aliases and titles under three words are case-sensitive
  ("ReAct", not "react"); longer titles are not.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from rag.corpus.clean import arxiv_ids_in
from rag.records import Chunk, Source

_WORD = re.compile(r"\w+")
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")
_NUMBERING = re.compile(r"^\s*(?:[-*•]\s*)?(?:\d+[.)]\s+)?")
_YEAR_TAIL = re.compile(r"\s*\(([^()]*?,\s*)?(?:19|20)\d{2}\)\s*[,.;]?\s*$")
_PAREN = re.compile(r"\(([^()]{2,40})\)")
_SPLIT = re.compile(r"\s*(?::|\s[—–/]\s|\s-\s)\s*")
# "Name (2017)", "Name (Anthropic, 2024)", "1. Name (Fedus et al., 2021)".
_REFERENCE = re.compile(
    r"^(?P<name>[^()\n]{3,150}?)\s*\((?:[^()\n]*?,\s*)?(?:19|20)\d{2}\)\s*[,.;]?$")
_ALIAS = re.compile(r"^[\w.+\-]{2,20}(?:\s[\w.+\-]{1,10}){0,2}$")
_SUBTITLE = re.compile(r"\s*:\s*([^\n.;()\"]{3,120})")
_STOPWORDS = frozenset("the and for with via from into its are our your".split())
MIN_PREFIX_WORDS = 3


@dataclass(frozen=True)
class PaperName:
    """One way a paper is named: its title, short name or a document-defined alias."""

    text: str
    arxiv_id: str
    kind: str  # "title" | "short" | "alias"

    @property
    def case_sensitive(self) -> bool:
        return self.kind != "title" or len(_WORD.findall(self.text)) < MIN_PREFIX_WORDS


@dataclass(frozen=True)
class NameReport:
    """Paper-like names found in documents: resolved to ids, or left unresolved."""

    resolved: dict[str, tuple[str, ...]] = field(default_factory=dict)
    unresolved: tuple[str, ...] = ()


def key(text: str) -> str:
    """Comparison key: letters and digits, lower case ("Flash Attention" = "FlashAttention")."""
    return re.sub(r"[\W_]+", "", unicodedata.normalize("NFKC", text)).lower()


def short_name(title: str) -> str | None:
    """The part before the colon when it is a name ("LoRA"), not a sentence."""
    head, sep, _ = title.partition(":")
    head = head.strip()
    short = len(head) < 3 and not re.fullmatch(r"[A-Za-z]\d", head)  # "s1" is a name
    if not sep or short or len(head.split()) > 5:
        return None
    return head


def card_names(papers: Iterable[tuple[str, str]]) -> list[PaperName]:
    """Titles and short names of ``(arxiv_id, title)`` pairs."""
    names: list[PaperName] = []
    for arxiv_id, title in papers:
        names.append(PaperName(title.strip(), arxiv_id, "title"))
        if short := short_name(title):
            names.append(PaperName(short, arxiv_id, "short"))
    return names


def name_pattern(name: PaperName) -> str:
    """A regex for ``name`` in running text, tolerant of spacing and hyphenation."""
    tokens = [r"[\s-]?".join(re.escape(p) for p in _CAMEL.split(t))
              for t in _WORD.findall(name.text)]
    if len(tokens) > 1 and tokens[-1].endswith("s") and len(tokens[-1]) > 3:
        tokens[-1] += "?"  # "Switch Transformer" names "Switch Transformers"
    guard = r"(?!\w)(?![-.]\d)(?!\s\d+(?:\.\d+)?(?![\w.]))"  # no version number after
    pattern = r"(?<![\w-])" + r"\W{1,3}".join(tokens) + guard
    return pattern if name.case_sensitive else f"(?i:{pattern})"


class Linker:
    """Finds paper names in text and resolves names to arXiv ids."""

    def __init__(self, names: Sequence[PaperName]) -> None:
        by_key: dict[str, set[str]] = {}
        for name in names:
            by_key.setdefault(key(name.text), set()).add(name.arxiv_id)
        # A name shared by two papers is ambiguous: it links neither.
        self.names = sorted({n for n in names if len(by_key[key(n.text)]) == 1},
                            key=lambda n: (-len(n.text), n.text))
        self._by_key = {k: next(iter(v)) for k, v in by_key.items() if len(v) == 1}
        for k, v in list(self._by_key.items()):
            if k.endswith("s"):
                self._by_key.setdefault(k[:-1], v)
        self._titles = [(_word_keys(n.text), n.arxiv_id) for n in self.names if n.kind == "title"]
        self._title_of = {pid: " ".join(t) for t, pid in self._titles}
        # Names by their first word (lower case, first camel-case part): a text is
        # scanned word by word and only the few names starting there are tried.
        self._by_first: dict[str, list[tuple[PaperName, re.Pattern[str]]]] = {}
        for name in self.names:  # longest first, so the longest name wins at a position
            first = _first_key(_WORD.findall(name.text)[0]) if _WORD.search(name.text) else ""
            if first:
                self._by_first.setdefault(first, []).append(
                    (name, re.compile(name_pattern(name))))

    def ids_in_text(self, text: str) -> tuple[str, ...]:
        """arXiv ids of the papers named in ``text``, in order of first mention."""
        found: dict[str, None] = {}
        free = 0  # matches do not overlap
        for word in _WORD.finditer(text):
            if word.start() < free:
                continue
            for name, pattern in self._by_first.get(_first_key(word.group()), ()):
                match = pattern.match(text, word.start())
                if match and self._fits(name, text, match.end()):
                    found.setdefault(name.arxiv_id, None)
                    free = match.end()
                    break
        return tuple(found)

    def _fits(self, name: PaperName, text: str, end: int) -> bool:
        """A short name followed by ": subtitle" must agree with the paper's title."""
        subtitle = _SUBTITLE.match(text, end)
        return name.kind == "title" or not subtitle or self.agrees(subtitle.group(1),
                                                                   name.arxiv_id)

    def agrees(self, subtitle: str, arxiv_id: str) -> bool:
        """Whether "Name: subtitle" can be this paper: most of the subtitle's words are
        in its title ("Chameleon: Plug-and-Play ..." is not "Chameleon: Mixed-Modal ...")."""
        words = _content_words(subtitle)
        if not words:
            return True
        title = _content_words(self._title_of.get(arxiv_id, ""))
        return len(words & title) / len(words) >= 0.5

    def exact(self, text: str) -> str | None:
        """The paper whose title, short name or alias is ``text`` (spacing and case aside)."""
        return self._by_key.get(key(text))

    def by_prefix(self, text: str) -> str | None:
        """The one paper whose title starts with ``text`` (at least three words)."""
        words = _word_keys(text)
        if len(words) < MIN_PREFIX_WORDS:
            return None
        ids = {pid for title, pid in self._titles if title[:len(words)] == words}
        return ids.pop() if len(ids) == 1 else None

    def resolve(self, name: str, loose: bool = True) -> tuple[str, ...]:
        """Ids a paper reference denotes: the whole name, else its parts, else (``loose``)
        the names found in it."""
        parts = name_parts(name)
        whole = self.exact(parts[0]) or self.by_prefix(parts[0])
        if whole:
            return (whole,)
        ids = dict.fromkeys(pid for p in parts[1:] if (pid := self.exact(p) or self.by_prefix(p)))
        _, colon, subtitle = parts[0].partition(":")
        kept = tuple(pid for pid in ids if not colon or self.agrees(subtitle, pid))
        return kept or (self.ids_in_text(parts[0]) if loose else ())


def _word_keys(text: str) -> tuple[str, ...]:
    return tuple(key(w) for w in _WORD.findall(text))


def _first_key(word: str) -> str:
    return _CAMEL.split(word)[0].lower()


def _content_words(text: str) -> set[str]:
    return {w for w in _word_keys(text) if len(w) > 2 and w not in _STOPWORDS}


def name_parts(name: str) -> list[str]:
    """The cleaned name, then its pieces: "6. LoRA: Low-Rank Adaptation (2021)" gives
    ["LoRA: Low-Rank Adaptation", "LoRA", "Low-Rank Adaptation"]."""
    cleaned = _YEAR_TAIL.sub("", _NUMBERING.sub("", name)).strip().strip("\"'“”")
    bare = _PAREN.sub("", cleaned).strip()
    pieces = [p.strip() for p in _SPLIT.split(bare)] + _PAREN.findall(cleaned)
    return list(dict.fromkeys([cleaned, *(p for p in pieces if p)]))


def learn_aliases(linker: Linker, references: Iterable[str]) -> list[PaperName]:
    """Aliases documents define: "DPO: Direct Preference Optimization", "Title (InstructGPT)".

    The alias side must be a short name that resolves to nothing yet; the other side
    must resolve to exactly one paper.  An alias claimed for two papers is dropped.
    """
    claims: dict[str, set[str]] = {}
    for reference in references:
        for alias, named in _alias_pairs(name_parts(reference)[0]):
            if linker.exact(alias) or linker.ids_in_text(alias) or not _ALIAS.match(alias):
                continue
            target = linker.exact(named) or linker.by_prefix(named)
            if target:
                claims.setdefault(alias, set()).add(target)
    return [PaperName(a, ids.pop(), "alias") for a, ids in claims.items() if len(ids) == 1]


def _alias_pairs(cleaned: str) -> list[tuple[str, str]]:
    pairs = []
    head, sep, tail = cleaned.partition(":")
    if sep:
        pairs.append((head.strip(), tail.strip()))
    for inner in _PAREN.findall(cleaned):
        pairs.append((inner.strip(), _PAREN.sub("", cleaned).strip()))
    return pairs


# ------------------------------------------------------------- corpus level
_PATH_SEP = " › "  # rag.corpus.chunk.PATH_SEP (not imported: chunk pulls in llama-index)


def paper_references(sources: Iterable[Source]) -> list[str]:
    """Paper-like references in documents: headings and lines of the form
    "Name (2017)" or "Name (Authors, 2022)", in corpus order, unique."""
    found: dict[str, None] = {}
    for source in sources:
        if source.kind != "document":
            continue
        for section in source.sections:
            lines = [*section.heading_path[-1:], *section.text.splitlines()]
            for line in lines:
                line = _NUMBERING.sub("", line.strip()).strip("\"'“”,")
                if _looks_like_reference(line):
                    found.setdefault(line, None)
    return list(found)


def _looks_like_reference(line: str) -> bool:
    match = _REFERENCE.match(line)
    if not match:
        return False
    name = match.group("name").strip()
    return (name[:1].isupper() or name[:1].isdigit()) and len(name.split()) <= 15 \
        and ". " not in name


def corpus_linker(sources: Sequence[Source]) -> Linker:
    """A linker over the corpus's paper cards plus the aliases its documents define."""
    cards = [s for s in sources if s.kind == "paper"]
    base = Linker([*card_names((s.doc_id.removeprefix("arxiv:"), s.title) for s in cards),
                   *_resolved_names(cards)])
    headings = [s.heading_path[-1] for src in sources if src.kind == "document"
                for s in src.sections if s.heading_path]
    aliases = learn_aliases(base, [*paper_references(sources), *headings])
    return Linker([*base.names, *aliases]) if aliases else base


def _resolved_names(cards: Iterable[Source]) -> list[PaperName]:
    """Names an earlier title search resolved (``resolved_from`` of fetched records)."""
    return [PaperName(name, card.doc_id.removeprefix("arxiv:"), "alias")
            for card in cards for name in card.metadata.get("resolved_from", "").split(" | ")
            if name.strip()]


def name_report(sources: Sequence[Source], linker: Linker | None = None) -> NameReport:
    """Every paper reference in the documents, resolved or listed as unresolved."""
    linker = linker or corpus_linker(sources)
    resolved: dict[str, tuple[str, ...]] = {}
    unresolved: list[str] = []
    for reference in paper_references(sources):
        ids = linker.resolve(reference)
        if ids:
            resolved[reference] = ids
        else:
            unresolved.append(name_parts(reference)[0])
    return NameReport(resolved, tuple(dict.fromkeys(unresolved)))


def link_chunk(chunk: Chunk, linker: Linker) -> Chunk:
    """A document chunk with the papers its heading or text names added to its links."""
    if chunk.doc_id.startswith("arxiv:"):
        return chunk  # a paper's own passages carry its id already
    heading = chunk.section.rsplit(_PATH_SEP, 1)[-1]
    named = linker.resolve(heading) if heading else ()
    ids = dict.fromkeys([*chunk.arxiv_ids, *named, *linker.ids_in_text(chunk.text)])
    if tuple(ids) == chunk.arxiv_ids:
        return chunk
    return chunk.model_copy(update={"arxiv_ids": tuple(ids)})


def link_chunks(chunks: Sequence[Chunk], sources: Sequence[Source]) -> list[Chunk]:
    """All chunks, document chunks carrying the ids of the papers they name."""
    linker = corpus_linker(sources)
    return [link_chunk(c, linker) for c in chunks]


_ANCHOR = re.compile(r"^[A-Z][\w.+/-]*(?:[ -][\w.+/-]+){0,2}$")


def link_anchors(sources: Sequence) -> list[tuple[str, str]]:
    """(arXiv id, anchor text) of documents' links to papers whose anchor reads as a
    name ("Chinchilla", "Latent Diffusion"), not as prose ("this one", "(2)")."""
    out = []
    for source in sources:
        for section in getattr(source, "sections", ()):
            for link in section.links:
                anchor, _, url = link.partition("\t")
                anchor = anchor.strip()
                if _ANCHOR.match(anchor) and anchor.lower() not in ("paper", "this one"):
                    out += [(arxiv_id, anchor) for arxiv_id in arxiv_ids_in(url)]
    return out


_ACRONYM_FIRST = re.compile(r"\b([A-Z][A-Za-z0-9-]{1,12})\s*\(([^()]{3,80})\)")
_ACRONYM_LAST = re.compile(r"((?:[A-Z][\w-]*\s+){1,6}[A-Z][\w-]*)\s*\(([A-Z][A-Za-z0-9-]{1,12})\)")


def title_acronyms(title: str, text: str) -> list[str]:
    """Acronyms the text defines for the title's opening words: "YOLO (You Only Look
    Once)" or "You Only Look Once (YOLO)" in the card of "You Only Look Once: Unified,
    Real-Time Object Detection"."""
    def flat(t: str) -> str:
        return " ".join(re.findall(r"[a-z0-9]+", t.lower()))

    head = flat(title)
    pairs = _ACRONYM_FIRST.findall(text) + [(a, long) for long, a in _ACRONYM_LAST.findall(text)]
    found = [a for a, long in pairs if a[0].upper() == long.strip()[:1].upper()
             and len(flat(long).split()) >= 2 and head.startswith(flat(long))]
    return found + [a[:-1] for a in found if re.fullmatch(r"[A-Z]{2,}s", a)]  # "LCMs"


_INTRODUCED = re.compile(r"This (?:[\w-]+ ){0,2}paper (?:introduce[sd]|propose[sd]|presents?) "
                         r"(?:the )?([A-Z][\w-]+(?: [A-Z][\w-]+)?)(?=[,.:;( ])")


def introduced_name(text: str) -> list[str]:
    """The name a card's opening says the paper introduced ("This paper introduced the
    Transformer, ..." -> ["Transformer"]): the card's name when it has no other."""
    found = _INTRODUCED.match(text)
    return [found.group(1)] if found else []


# A card opening that defines a coined name: "BIG-bench is a large collaborative ...".
_DEFINED = re.compile(r"^([A-Z][\w.-]*(?:[ -][A-Z0-9][\w.-]*){0,2}) (?:is|are) (?:a|an)\s")


def defined_name(text: str) -> list[str]:
    """The coined name (with a hyphen, a digit or an inner capital) a card's opening
    sentence defines ("BIG-bench is a large collaborative benchmark ..." -> ["BIG-bench"]),
    whatever the paper's title calls it ("Beyond the Imitation Game")."""
    found = _DEFINED.match(text)
    name = found.group(1) if found else ""
    return [name] if re.search(r"[-\d]|\w[A-Z]", name) else []


def short_names_by_paper(chunks: Sequence, sources: Sequence) -> dict[str, list[str]]:
    """Each paper's short names, by arXiv id: the linker's, a link's anchor text, an
    acronym its card defines for its title, a coined name its opening defines, else the
    name its card says it introduced."""
    names: dict[str, list[str]] = {}
    for name in corpus_linker(sources).names:
        if name.kind != "title":
            names.setdefault(name.arxiv_id, []).append(name.text)
    for arxiv_id, anchor in link_anchors(sources):
        if arxiv_id not in names:
            names.setdefault(f"anchor:{arxiv_id}", []).append(anchor)
    for anchored in [k for k in names if k.startswith("anchor:")]:
        names[anchored.removeprefix("anchor:")] = names.pop(anchored)
    opened: set[str] = set()
    for chunk in chunks:  # "YOLO (You Only Look Once) recasts ...": the card's short name
        if chunk.doc_id.startswith("arxiv:"):
            own = names.setdefault(chunk.doc_id.removeprefix("arxiv:"), [])
            own.extend(a for a in title_acronyms(chunk.title, chunk.text) if a not in own)
            if chunk.doc_id not in opened:  # "BIG-bench is a ...": its first sentence
                opened.add(chunk.doc_id)
                own.extend(n for n in defined_name(chunk.text) if n not in own)
            if not own:  # "This paper introduced the Transformer, ..."
                own.extend(introduced_name(chunk.text)[:1])
    return names
