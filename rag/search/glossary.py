"""Query expansion for acronyms (``CoT`` → ``chain-of-thought prompting``).

The small embedding model blurs acronyms it rarely saw; the reading material
often spells them out.  Expansion appends the phrase, so BM25 and the dense
model both see it.  The list lives in ``rag/search/acronyms.json``.
"""

from __future__ import annotations

import json
import re
from contextvars import ContextVar
from functools import lru_cache
from pathlib import Path

_PATH = Path(__file__).with_name("acronyms.json")
# The acronyms the material being served defines (``learn``): set per thread (or task)
# by the assistant for the build it answers from; a thread that set none reads the last
# learned anywhere.  Items sorted, so equal learnings are one cache key.
_LEARNED: ContextVar[tuple[tuple[str, str], ...] | None] = ContextVar("learned_acronyms",
                                                                      default=None)
_LAST: list[tuple[tuple[str, str], ...]] = [()]


@lru_cache(maxsize=1)
def _listed() -> dict[str, str]:
    data = json.loads(_PATH.read_text(encoding="utf-8"))
    return {k: v for k, v in data.items() if not k.startswith("_")}


def _current() -> tuple[tuple[str, str], ...]:
    here = _LEARNED.get()
    return _LAST[0] if here is None else here


def glossary() -> dict[str, str]:
    """The listed acronyms, and those the material served defines (``learn``)."""
    return _glossary_of(_current())


@lru_cache(maxsize=16)
def _glossary_of(learned: tuple[tuple[str, str], ...]) -> dict[str, str]:
    return {**dict(learned), **_listed()}


def learned() -> dict[str, str]:
    """The acronyms learned from the material served now (``use_learned``)."""
    return dict(_current())


def use_learned(found: dict[str, str]) -> None:
    """Make ``found`` (``defined_acronyms`` of an index) the learned part of the glossary
    in this thread (and, for threads that set none, everywhere), in place of the last."""
    items = tuple(sorted(found.items()))
    _LEARNED.set(items)
    _LAST[0] = items


def learn(texts) -> dict[str, str]:
    """Learn the acronyms ``texts`` define ("Multi-head Latent Attention (MLA)"): the
    glossary spells them out from now on.  Returns them."""
    found = defined_acronyms(texts)
    use_learned(found)
    return found


# "Long Form (LF)": a short form in parentheses after the words it abbreviates.
_DEFINED = re.compile(r"((?:[A-Za-z0-9][\w-]*[ ]){1,8})\((?=[^)]*[A-Z][^)]*[A-Z])"
                      r"([A-Z][A-Za-z0-9-]{1,9})\)")


def long_form(short: str, words: list[str]) -> str:
    """The words (the shortest tail of ``words``) that ``short`` abbreviates, or ''
    (Schwartz & Hearst, 2003: every letter of the short form, right to left, in the long
    form; its first at the start of a word).  Digits and a plural "s" are not matched."""
    letters = [ch.lower() for ch in short.rstrip("s") if ch.isalpha()]
    if len(letters) < 2:
        return ""
    text = " ".join(words[-min(len(words), len(letters) + 4):])
    low, i = text.lower(), len(text) - 1
    for n, ch in enumerate(reversed(letters)):
        first = n == len(letters) - 1
        while i >= 0 and (low[i] != ch or first and i > 0 and low[i - 1].isalnum()):
            i -= 1
        if i < 0:
            return ""
        i -= 1
    long = text[i + 1:].strip()
    pieces = re.findall(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+", long)
    capitals = sum(ch.isupper() for ch in short)  # "ToT" is no "Thoughts"
    return long if len(pieces) >= capitals and long.lower() != short.lower() else ""


def defined_acronyms(texts) -> dict[str, str]:
    """Acronym -> long form for every acronym ``texts`` define in one way only."""
    seen: dict[str, set[str]] = {}
    for text in texts:
        for m in _DEFINED.finditer(text):
            long = long_form(m.group(2), m.group(1).split())
            if long:
                seen.setdefault(m.group(2), set()).add(long.lower())
    return {short: next(iter(forms)) for short, forms in seen.items() if len(forms) == 1}


def _flat(text: str) -> str:
    return " " + " ".join(re.findall(r"[a-z0-9]+", text.lower())) + " "


def _long_forms(terms: dict[str, str], min_words: int) -> list[tuple[str, str]]:
    """``(acronym, flattened expansion)`` of the expansions of ``min_words`` or more."""
    return [(a, f) for a, e in terms.items() if len((f := _flat(e)).split()) >= min_words]


def _glossary_long_forms(min_words: int) -> list[tuple[str, str]]:
    return _long_forms_of(_current(), min_words)


@lru_cache(maxsize=16)
def _long_forms_of(learned: tuple[tuple[str, str], ...], min_words: int
                   ) -> list[tuple[str, str]]:
    return _long_forms(_glossary_of(learned), min_words)


def expand_acronyms(query: str, terms: dict[str, str] | None = None,
                    min_words: int = 5) -> str:
    """``query`` plus the expansion of each acronym it uses, and the acronym of each long
    name it spells out ("reinforcement learning from human feedback" -> RLHF: the
    reading list mostly writes the acronym), once each, in order.  Shorter phrases
    ("chain-of-thought prompting") are common words whose acronym names other things too
    ("CoT-decoding")."""
    longs = _glossary_long_forms(min_words) if terms is None else _long_forms(terms, min_words)
    terms = glossary() if terms is None else terms
    found: dict[str, None] = {}
    for word in re.findall(r"[A-Za-z][A-Za-z0-9]*", query):
        expansion = terms.get(word)
        if expansion and expansion.lower() not in query.lower():
            found.setdefault(expansion, None)
    flat, words = _flat(query), set(re.findall(r"[A-Za-z][A-Za-z0-9]*", query))
    for acronym, long in longs:
        if acronym not in words and long in flat:
            found.setdefault(acronym, None)
    return f"{query} ({'; '.join(found)})" if found else query
