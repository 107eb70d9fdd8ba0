"""Stable ids for bank entries.

A bank entry's id is the hash of its question's *first* wording (the one the progress
database first stored it under).  The wording shown to users has since improved ("Why
bidirectional matters in BERT?" -> "Why does being bidirectional matter in BERT?");
hashing the first wording keeps every stored attempt and review state attached to its
card.  New origins hash the question they show.
"""

from __future__ import annotations

import hashlib
import re

_WH = re.compile(r"^(why|how|when|what|which|where|can|could|is|are|does|do)\b\s*(.*)$", re.I)
_WHETHER = re.compile(r"^whether\s+(.+?)\s+(is|are|will|can|does|do)\s+(.+)$", re.I)
_VERSUS = re.compile(r"^(.+?)\s+(?:vs\.?|versus)\s+(.+?)(\s+trade-offs?)?$", re.I)
_RELATION = re.compile(r"^(comparison|connection|relation)\s+(?:with|to)\s+(.+)$", re.I)


def entry_id(origin: str, question: str) -> str:
    return f"{origin}-{hashlib.sha1(question.lower().encode()).hexdigest()[:10]}"


def _about(text: str, short: str) -> str:
    return "" if short.lower() in text.lower() else f" in {short}"


def first_discussion_wording(item: str, short: str) -> str:
    """The first wording of a discussion point's question (``short``: the paper's short
    label); only its hash is used."""
    item = item.strip().rstrip("?.")
    if m := _WHETHER.match(item):
        subject, verb, rest = m.groups()
        return f"{verb.capitalize()} {subject} {rest}{_about(item, short)}?"
    if m := _RELATION.match(item):
        verb = "compare with" if m.group(1).lower() == "comparison" else "connect to"
        return f"How does {short} {verb} {m.group(2)}?"
    if m := _WH.match(item):
        rest = re.sub(r"\bthis\b", short, m.group(2), count=1)
        suffix = "" if rest != m.group(2) else _about(item, short)
        return f"{m.group(1).capitalize()} {rest}{suffix}?"
    if m := _VERSUS.match(item):
        what = "trade-offs between" if m.group(3) else "differences between"
        return f"What are the {what} {m.group(1)} and {m.group(2)}{_about(item, short)}?"
    return f"Discuss {item}{_about(item, short)}."
