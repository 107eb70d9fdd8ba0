"""The interview answer's shape (pure functions): a direct answer of one or two
sentences, then at most four cited key points (a short facet label where it
helps), and for comparisons a small Markdown table (item x aspect, each cell
cited).  Every line ends with the ``[n]`` of its passage.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

# Bullet labels of facets (what an interviewer would call that part of an answer).
FACET_LABELS: dict[str, str] = {
    "problem": "Problem", "key_idea": "Key idea", "method": "How it works",
    "results": "Results", "limitations": "Limitation", "advantages": "Advantage",
    "usage": "Use", "hint": "Note",  # a discussion point with its own short answer
}
_TRAILING = re.compile(r"[\s.;:,]+$")


@dataclass(frozen=True)
class Point:
    """One line of an answer: text, facet and the number of its passage."""

    text: str
    n: int
    facet: str = ""


def clause(text: str) -> str:
    """One line of prose without a trailing full stop and with single spaces."""
    return _TRAILING.sub("", " ".join(text.split()))


def cite(text: str, n: int) -> str:
    return f"{clause(text)} [{n}]"


def lead_line(points: Sequence[Point]) -> str:
    """The direct answer: one or two sentences, each cited."""
    return " ".join(cite(p.text, p.n) + "." for p in points).replace("]. ", "]. ")


STEP = re.compile(r"^(?:First|Second|Third|Fourth|Finally|Then|Next)\b", re.I)


def key_point(point: Point, labelled: bool = True) -> str:
    """A bullet; no label on a step of a sequence ("Second, a reward model ...")."""
    label = FACET_LABELS.get(point.facet, "") if labelled and not STEP.match(point.text) \
        else ""
    body = cite(point.text, point.n)
    return f"- **{label}:** {body}" if label else f"- {body}"


def table(items: Sequence[str], aspects: Sequence[str],
          cells: dict[tuple[str, str], Point | None]) -> str:
    """Markdown table: one row per item, one column per aspect, each cell cited."""
    head = "| | " + " | ".join(aspects) + " |"
    rule = "|---|" + "---|" * len(aspects)
    rows = []
    for item in items:
        values = []
        for aspect in aspects:
            p = cells.get((item, aspect))
            values.append(_cell(cite(p.text, p.n)) if p else "not covered in the material")
        rows.append(f"| **{_cell(item)}** | " + " | ".join(values) + " |")
    return "\n".join([head, rule, *rows])


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def compose(lead: Sequence[Point], points: Sequence[Point], note: str = "",
            comparison: str = "", note_first: bool = False) -> str:
    """Direct answer, optional note (what the material lacks), key points, table.  A note
    that answers the question itself ("The reading material lists no limitations of
    LoRA") comes before what the material does say."""
    parts = [lead_line(lead)]
    if note:
        parts.insert(0 if note_first else 1, note)
    if points:
        parts.append("\n".join(key_point(p) for p in points))
    if comparison:
        parts.append(comparison)
    return "\n\n".join(parts)


def mentioned_text(subject: str, places: Sequence[tuple[int, str]]) -> str:
    """The answer when the material names the subject but does not explain it."""
    where = "; ".join(f"{label} [{n}]" for n, label in places)
    it = "them" if " and " in subject else "it"
    return (f"The reading list mentions {subject} but does not explain {it}, so there is no "
            f"grounded answer to give. It is named in: {where}.")


def topic_list(heading: str, items: Sequence[str], n: int) -> str:
    """The answer when the reading list covers the subject only as a list of topics (one
    line: the list is the direct answer)."""
    return (f"The reading list covers {heading} as topics to study, without explaining "
            f"them: {_items(items)} [{n}].")


def topic_lists(lists: Sequence[tuple[str, Sequence[str], int]]) -> str:
    """``topic_list`` of several lists ``(heading, items, n)``, one heading each, on one
    line ("... covers Optimization and Generalization Theory as topics to study, without
    explaining them. Optimization: NTK regime; ... [1]. Generalization Theory: ... [2].")."""
    if len(lists) == 1:
        return topic_list(*lists[0])
    names = [heading for heading, _, _ in lists]
    each = " ".join(f"{heading}: {_items(items)} [{n}]." for heading, items, n in lists)
    return (f"The reading list covers {', '.join(names[:-1])} and {names[-1]} as topics to "
            f"study, without explaining them. {each}")


def _items(items: Sequence[str]) -> str:
    """A topic list's items as one clause list ("ELBO derivation; Reparameterization
    trick")."""
    return "; ".join(clause(i) for i in items)
