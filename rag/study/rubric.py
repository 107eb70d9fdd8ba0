"""An LLM backend as grader: it judges each key point (covered, partly, missed,
contradicted) as a rubric.  It runs only after the offline checks (validation,
gibberish, restatements, off-topic), so "fine" or noise cannot earn points, and its
verdicts are parsed strictly: anything unparsable falls back to the offline grade.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from rag.records import BankEntry, KeyPoint
from rag.settings import InterviewSettings

VERDICTS = {"covered": (1.0, False), "partial": (0.5, False), "missed": (0.0, False),
            "contradicted": (0.0, True)}
SYSTEM = ("You grade a candidate's answer in a technical interview. For each numbered key "
          "point, decide whether the answer states it (covered), states part of it "
          "(partial), does not address it (missed), or states something that contradicts "
          "it (contradicted). Judge meaning, not wording. Reply with JSON only: "
          '{"points": [{"n": 1, "verdict": "covered"}, ...]}')


@dataclass
class Judged:
    points: list[KeyPoint] | None
    grader: str = "offline"
    notes: list[str] = field(default_factory=list)


def rubric_messages(entry: BankEntry, answer: str, points: Sequence[KeyPoint]) -> list[dict]:
    listed = "\n".join(f"{i}. {p.text}" for i, p in enumerate(points, 1))
    user = (f"Question: {entry.question}\n\nKey points:\n{listed}\n\n"
            f"Candidate's answer:\n\"\"\"\n{answer}\n\"\"\"")
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]


def parse_verdicts(reply: str, n_points: int) -> dict[int, str] | None:
    """``{point number: verdict}`` from the model's reply; None unless every point has
    a known verdict."""
    match = re.search(r"\{.*\}", reply, re.S)
    if not match:
        return None
    try:
        rows = json.loads(match.group(0)).get("points", [])
        verdicts = {int(r["n"]): str(r["verdict"]).strip().lower() for r in rows}
    except (ValueError, TypeError, KeyError, AttributeError):
        return None
    if set(verdicts) != set(range(1, n_points + 1)) or not set(verdicts.values()) <= set(
            VERDICTS):
        return None
    return verdicts


def apply_verdicts(points: Sequence[KeyPoint], verdicts: dict[int, str]) -> list[KeyPoint]:
    out = []
    for i, p in enumerate(points, 1):
        credit, wrong = VERDICTS[verdicts[i]]
        out.append(p.model_copy(update={"credit": credit, "covered": credit >= 1.0,
                                        "contradicted": wrong, "why": f"LLM: {verdicts[i]}"}))
    return out


def pick_backend(assistant):
    """The first configured LLM backend (None when only the extractive one exists)."""
    for name, backend in assistant.backends.items():
        if name != "extractive" and hasattr(backend, "generate"):
            return name, backend
    return None, None


def llm_grade(assistant, entry: BankEntry, answer: str, points: Sequence[KeyPoint],
              cfg: InterviewSettings) -> Judged:
    name, backend = pick_backend(assistant)
    if backend is None:
        return Judged(None, notes=["no LLM backend is configured: graded offline"])
    try:
        reply = "".join(backend.generate(rubric_messages(entry, answer, points), 300))
    except Exception as exc:  # noqa: BLE001 - any backend failure: the offline grade stands
        return Judged(None, notes=[f"the LLM grader failed ({type(exc).__name__}): "
                                   "graded offline"])
    verdicts = parse_verdicts(reply, len(points))
    if verdicts is None:
        return Judged(None, notes=["the LLM grader's reply was not usable: graded offline"])
    return Judged(apply_verdicts(points, verdicts), grader=f"llm:{name}")
