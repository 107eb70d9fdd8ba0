"""The clauses of a compound question ("What limitation did X remove, and how well
did it do on translation?"): each later clause's subject, with its "it" named back,
and how much of what a clause asks about a sentence writes."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from rag.answer.intent import Intent
from rag.answer.subject import Subject, question_subject

if TYPE_CHECKING:
    from rag.answer.grounded import Candidate, Composer


def clause_subjects(backend, intent: Intent, question: str) -> dict[str, Subject]:
    """The subject of each clause, by its intent; a later clause's "it" stands for the
    first clause's focused name ("what is X for, and what does it buy you?": X)."""
    clauses: dict[str, Subject] = {}
    opening = ""  # the first clause's focused name (None when it names none)
    for n, (kind, text) in enumerate(intent.clauses):
        if kind not in clauses:
            text = named_back(text, opening) if n else text
            clauses[kind] = question_subject(backend, text, question)
            if n == 0:
                opening = clauses[kind].surface if clauses[kind].focused else None
    return clauses


# "why is it ...", "what does it ...", "how do they ...": the pronoun is what is asked about
_PRONOUN = re.compile(r"^\s*(?:why|how|what|when|where)\s+(?:\w+\s+)?(?:is|are|does|do|did|"
                      r"was|were|can|could|would|should|will)\s+(it|they)\b", re.I)


def named_back(clause: str, name: str | None) -> str:
    """A later clause asking about "it" with the pronoun replaced by the focused name the
    question opened with ("whats GRPO and why is it cheaper than PPO": "why is GRPO
    cheaper than PPO"), when it names that thing nowhere itself; with ``None`` (the
    opening named nothing focused) the pronoun is dropped, so the clause is about its own
    words ("..., and what did they use for preference tuning?": preference tuning)."""
    found = _PRONOUN.match(clause)
    if not found or name == "" or name and name.lower() in clause.lower():
        return clause
    return " ".join(f"{clause[:found.start(1)]}{name or ''}{clause[found.end(1):]}".split())


def writes_clause(composer: Composer, c: Candidate, clause: Subject, first: Subject | None,
                  lead: Sequence[Candidate]) -> bool:
    """On the lead's own card or section, close enough to the question, and writing
    most of what a later clause asks about beyond the first clause's subject."""
    t = composer.table
    return bool(lead) and t.unit[c.sentence] == t.unit[lead[0].sentence] \
        and c.cosine >= composer.settings.lead_floor \
        and clause_share(t, c, clause, first) >= 0.5


def clause_share(table, c: Candidate, clause: Subject | None,
                 first: Subject | None) -> float:
    """How much of a later clause's own key (the terms the first clause's subject does
    not have) the sentence writes: "..., and how well did it do on machine
    translation?" gets the WMT translation scores, not a throughput figure close to
    the whole question."""
    if clause is None or first is None or clause is first:
        return 0.0
    w = clause.anchors.weights
    key = [k for k in w if k not in first.anchors.weights and k not in clause.spelled]
    have = sum(w.get(k, 0.0) for k in key if k in table.terms[c.sentence])
    return round(have / (sum(w.get(k, 0.0) for k in key) or 1.0), 1) if key else 0.0


def asks_other_kind(table, c: Candidate, intent: str) -> bool:
    """A discussion point asking for limitations when the question does not
    ("Limitations? Not all features are interpretable." for "what technique did they
    apply?").  (Other kinds stay: "What rank to choose? 4-64 is usually sufficient"
    answers "how do you pick the rank?".)"""
    return c.facet == "hint" and intent != "limitations" \
        and table.asks_kind(c.sentence, intent) == "limitations"
