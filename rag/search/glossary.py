"""Query expansion for acronyms (``CoT`` → ``chain-of-thought prompting``).

The small embedding model blurs acronyms it rarely saw; the reading material
often spells them out.  Expansion appends the phrase, so BM25 and the dense
model both see it.  The list lives in ``rag/search/acronyms.json``.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path

_PATH = Path(__file__).with_name("acronyms.json")


@lru_cache(maxsize=1)
def glossary() -> dict[str, str]:
    data = json.loads(_PATH.read_text(encoding="utf-8"))
    return {k: v for k, v in data.items() if not k.startswith("_")}


def _flat(text: str) -> str:
    return " " + " ".join(re.findall(r"[a-z0-9]+", text.lower())) + " "


def _long_forms(terms: dict[str, str], min_words: int) -> list[tuple[str, str]]:
    """``(acronym, flattened expansion)`` of the expansions of ``min_words`` or more."""
    return [(a, f) for a, e in terms.items() if len((f := _flat(e)).split()) >= min_words]


@lru_cache(maxsize=4)
def _glossary_long_forms(min_words: int) -> list[tuple[str, str]]:
    return _long_forms(glossary(), min_words)


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
