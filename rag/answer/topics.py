"""Answers from the reading list's syllabus lists: a subject it covers only as a list of
topics ("Section 7 › MLOps: - Experiment tracking ..."), a question asking for the kinds
of something ("what ways of injecting position information ...?") and a question about
one item of such a list ("the reparameterization trick" under "VAE")."""

from __future__ import annotations

import re
from collections.abc import Sequence

from rag.answer import compose as layout
from rag.answer.coverage import kin_in
from rag.records import Hit

_ITEM = re.compile(r"^\s*[-*•]\s+(?P<item>\S.*)$")


def topic_list(hits: Sequence[Hit], key: Sequence[str], stem,
               min_items: int = 3) -> tuple[int, str, list[str]] | None:
    """``(hit rank, heading, items)`` of a retrieved syllabus list whose heading names the
    question's subject ("Section 7 › MLOps: - Experiment tracking ... - Feature stores"):
    the reading list covers the subject as a list of topics, not in prose."""
    for rank, hit in enumerate(hits[:3]):
        heading, items = syllabus(hit, min_items)
        named = set(stem(heading))  # the heading is the subject itself, not a wider topic
        if items and named and named <= set(key):
            return rank, heading, items
    return None


def syllabus(hit: Hit, min_items: int = 3) -> tuple[str, list[str]]:
    """``(heading, items)`` of a passage that is only a list of short topics (at least
    ``min_items``); no items when it is not one."""
    return hit.chunk.section.rsplit(" › ", 1)[-1], syllabus_items(hit.chunk.text, min_items)


def syllabus_items(text: str, min_items: int = 3) -> list[str]:
    """The items of a passage that is only a list of short topics; [] when it is not one."""
    lines = [ln for ln in text.splitlines() if ln.strip()]
    items = [m.group("item").strip() for ln in lines if (m := _ITEM.match(ln))]
    if len(items) >= min_items and len(items) == len(lines) \
            and all(len(i.split()) <= 12 for i in items):
        return items
    return []


# "what ways of injecting position ... should you know?", "which families of ... are worth
# reviewing?", "what theoretical tools are used to ...": asks for the kinds of something
_ENUMERATION = re.compile(r"\b(?:what|which)\s+(?:\w+\s+){0,2}?(?:ways|kinds|types|families|"
                          r"tools|techniques|methods|approaches|variants|alternatives|"
                          r"topics|areas)\b", re.I)


def enumeration_lists(backend, bare: str, hits: Sequence[Hit]) -> list[tuple[int, str, list[str]]]:
    """The syllabus lists among the top five hits a question asking for the kinds of
    something (``_ENUMERATION``) is answered with: those whose heading shares a word (or its
    family) with the sentence asking it ("Positional Encoding" for "ways of injecting
    position information"; "Generalization Theory" and "Optimization" both for "tools ...
    about generalization and optimization"; not "Attention Mechanisms" for "I keep losing
    attention when I study ... What practical techniques help ...?")."""
    asking = [part for part in re.split(r"(?<=[.?!])\s+", bare) if _ENUMERATION.search(part)]
    if not asking:
        return []
    asked = set(backend._tokenize(" ".join(asking)))
    out = []
    for rank, hit in enumerate(hits[:5]):
        heading, items = syllabus(hit)
        words = set(backend._tokenize(heading))
        if items and any(w in asked or kin_in(w, asked) for w in words):
            out.append((rank, heading, items))
    return out


def asked_item(backend, key: Sequence[str], heading: str, items: Sequence[str]) -> str:
    """The item of a topic list the question asks about: one that writes a rare key term
    (at least ``coined_weight`` of the rarest's IDF) the heading does not ("Reparameterization
    trick" under "VAE"), as a name inside a sentence; '' when none does."""
    cut = backend.focus.coined_weight * backend.max_idf
    own = set(backend._tokenize(heading))
    rare = [k for k in key if k not in own and backend.idf.get(k, 0.0) >= cut]
    item = next((i for i in items if any(k in backend._tokenize(i) for k in rare)), "")
    return item[:1].lower() + item[1:] if item[1:2].islower() else item


def _list_draft(draft_cls, name: str, hits: Sequence[Hit], conf: float,
                *lists: tuple[int, str, list[str]]):
    from rag.answer.extractive import build_citations, citation_order

    ranks = [rank for rank, _, _ in lists]
    order = citation_order(ranks, len(hits))
    text = layout.topic_lists([(heading, items, order.index(rank) + 1)
                               for rank, heading, items in lists])
    return draft_cls(text, build_citations(hits, order, set(ranks),
                                           {rank: items for rank, _, items in lists}),
                     False, name, conf, coverage="partial")
