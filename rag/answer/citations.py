"""Citation enforcement for generated answers (pure; no model, no I/O).

An LLM answers from passages numbered ``[1]..[n]`` (see ``rag.answer.prompts``).  Its
output is checked here, token by token while it streams:

* every marker ``[m]`` (also ``[m, k]``, ``[m-k]``, ``[Passage m]``) is parsed;
  a number that is not a listed passage (``m < 1`` or ``m > n``) is removed,
  together with the space before it, and counted;
* valid markers are renumbered by first use, so the text agrees with
  ``rag.answer.extractive.citation_order``/``build_citations`` (cited passages first, in the
  order the answer cites them); ``[1, 3]`` becomes ``[1][2]``;
* sentences left without any marker are reported as unsupported (kept in the text);
* abstention rule: an answer with no valid marker that says the passages do not
  answer (``is_abstention``) is an abstention; an answer with no valid marker
  that is not an abstention (or is empty) cannot be trusted, and the caller
  falls back to the extractive answer with ``fallback_reason`` set.

``CitationRewriter`` holds back only a possible unfinished marker and trailing
whitespace, so the streamed pieces concatenate to exactly the checked text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rag.corpus.chunk import split_sentences

_MARKER = re.compile(
    r"(\s*)\[(?:passages?\s*)?(\d+(?:\s*(?:,|;|-|–|and)\s*(?:passages?\s*)?\d+)*)\]", re.I)
_PARTIAL = re.compile(r"\[[\w\s,;\-–]*")  # what an unfinished marker may look like
_NUMBER = re.compile(r"\d+")
_RANGE = re.compile(r"(\d+)\s*[-–]\s*(\d+)")
_VALID = re.compile(r"\[\d+\]")
_UNCLOSED = re.compile(r"\[[\w\s,;\-–]{0,78}$")
_LEADING_MARKERS = re.compile(r"^((?:\s*\[\d+\])+)\s*")
_MAX_HELD = 80
_ABSTAIN = re.compile(
    r"passages?\s+(?:do|does|did)\s*(?:not|n't)\s+(?:answer|contain|cover|mention|provide|"
    r"address|say|discuss|include|explain|describe)"
    r"|(?:cannot|can't|can not|unable to)\s+(?:answer|find|determine|tell)"
    r"|\bno (?:relevant )?information\b"
    r"|\bnot (?:enough|sufficient) (?:information|context)"
    r"|\bnot (?:mentioned|covered|discussed|addressed|answered) in the passages",
    re.I)


@dataclass(frozen=True)
class CheckedAnswer:
    """A generated answer after enforcement."""

    text: str
    cited: tuple[int, ...]  # passage numbers as prompted (1-based), in first-use order
    invalid_removed: int
    unsupported: tuple[str, ...]
    abstained: bool

    @property
    def trusted(self) -> bool:
        """Usable as is: it cites a listed passage, or it is an abstention."""
        return bool(self.cited) or self.abstained


def marker_numbers(body: str) -> list[int]:
    """The passage numbers inside one marker body: ``"1, 3-4"`` → ``[1, 3, 4]``."""
    out: list[int] = []
    for part in re.split(r"\s*(?:,|;|and)\s*", body, flags=re.I):
        rng = _RANGE.fullmatch(part.strip())
        if rng and 0 <= int(rng.group(2)) - int(rng.group(1)) <= 20:
            out.extend(range(int(rng.group(1)), int(rng.group(2)) + 1))
        else:
            out.extend(int(n) for n in _NUMBER.findall(part))
    return out


def safe_cut(text: str) -> int:
    """How much of ``text`` can be rewritten now: all but a possible unfinished
    marker at the end and the whitespace before it (or trailing whitespace)."""
    cut = len(text)
    start = text.rfind("[")
    if start >= 0 and len(text) - start <= _MAX_HELD and _PARTIAL.fullmatch(text[start:]):
        cut = start
    while cut > 0 and text[cut - 1].isspace():
        cut -= 1
    return cut


class CitationRewriter:
    """Streaming enforcement: ``feed`` pieces, then ``finish`` for the verdict."""

    def __init__(self, n_passages: int):
        self.n_passages = n_passages
        self.number_of: dict[int, int] = {}  # prompted passage number -> new number
        self.invalid_removed = 0
        self._held = ""
        self._out: list[str] = []
        self._started = False
        self._before = ""  # the last 80 characters of raw text already rewritten

    def feed(self, piece: str) -> str:
        """Rewritten text that is safe to show now (may be empty)."""
        self._held += piece
        cut = safe_cut(self._held)
        ready, self._held = self._held[:cut], self._held[cut:]
        return self._emit(ready)

    def flush(self) -> str:
        """Whatever is still held back, rewritten (call once, at the end)."""
        ready, self._held = self._held, ""
        return self._emit(ready)

    def finish(self) -> CheckedAnswer:
        self.flush()
        text = "".join(self._out).strip()
        cited = tuple(sorted(self.number_of, key=self.number_of.get))
        unsupported = () if not cited else unsupported_sentences(text)
        return CheckedAnswer(text=text, cited=cited, invalid_removed=self.invalid_removed,
                             unsupported=unsupported,
                             abstained=not cited and is_abstention(text))

    def _emit(self, ready: str) -> str:
        text = _MARKER.sub(self._replace, ready)
        self._before = (self._before + ready)[-80:]
        if not self._started:
            text = text.lstrip()
            self._started = bool(text)
        self._out.append(text)
        return text

    def _replace(self, match: re.Match) -> str:
        kept: list[int] = []
        for m in marker_numbers(match.group(2)):
            if not 1 <= m <= self.n_passages:
                self.invalid_removed += 1
                continue
            new = self.number_of.setdefault(m, len(self.number_of) + 1)
            if new not in kept:
                kept.append(new)
        if not kept:  # a space, not nothing, where "[1" + "]" would close into a marker
            before = (self._before + match.string[:match.start()])[-80:]
            return " " if _UNCLOSED.search(before) else ""
        return match.group(1) + "".join(f"[{n}]" for n in kept)


def check_answer(raw: str, n_passages: int) -> CheckedAnswer:
    """Enforce citations on a complete answer (same result as streaming it)."""
    rewriter = CitationRewriter(n_passages)
    rewriter.feed(raw)
    return rewriter.finish()


def answer_sentences(text: str) -> list[str]:
    """Sentences of an answer, a marker written after the full stop kept with its sentence."""
    out: list[str] = []
    for sentence in split_sentences(text):
        lead = _LEADING_MARKERS.match(sentence)
        if lead and out:
            out[-1] = f"{out[-1]} {lead.group(1).strip()}"
            sentence = sentence[lead.end():]
        if sentence.strip():
            out.append(sentence.strip())
    return out


def unsupported_sentences(text: str, min_words: int = 3) -> tuple[str, ...]:
    """Sentences (of some substance) that carry no ``[n]`` marker."""
    return tuple(s for s in answer_sentences(text)
                 if not _VALID.search(s) and len(s.split()) >= min_words)


def is_abstention(text: str) -> bool:
    """Does the text say the passages do not answer the question?"""
    return bool(_ABSTAIN.search(text))


def fallback_reason(checked: CheckedAnswer, backend: str) -> str | None:
    """Why a generated answer must be replaced by the extractive one (None: keep it)."""
    if checked.trusted:
        return None
    if not checked.text:
        return f"{backend} backend returned an empty answer"
    removed = (f" ({checked.invalid_removed} invalid marker(s) removed)"
               if checked.invalid_removed else "")
    return f"{backend} answer cited none of the listed passages{removed}"
