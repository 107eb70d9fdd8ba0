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


def expand_acronyms(query: str, terms: dict[str, str] | None = None) -> str:
    """``query`` plus the expansion of each acronym it uses (once, in order)."""
    terms = glossary() if terms is None else terms
    found: dict[str, None] = {}
    for word in re.findall(r"[A-Za-z][A-Za-z0-9]*", query):
        expansion = terms.get(word)
        if expansion and expansion.lower() not in query.lower():
            found.setdefault(expansion, None)
    return f"{query} ({'; '.join(found)})" if found else query
