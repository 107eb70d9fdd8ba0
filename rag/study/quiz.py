"""``rag quiz``: a mock interview in the terminal (readable text, or JSON lines for
scripts), on the same grading, scheduling and database as the app.

Input is one answer per line on stdin; an empty line skips a card, ``q`` quits.
"""

from __future__ import annotations

import json
import random
import sys
import textwrap
from collections.abc import Callable, Iterator
from typing import TextIO

from rag.errors import InvalidAnswer, ProgressUnavailable
from rag.records import BankEntry, StudyCard
from rag.study import schedule
from rag.study.grade import OFFLINE_LIMITS
from rag.study.practice import Outcome, Practice


def read_answers(stream) -> Iterator[str | InvalidAnswer]:
    """Lines of a binary stream as text; a line that is not UTF-8 becomes an error."""
    for lineno, raw in enumerate(stream, 1):
        try:
            yield raw.decode("utf-8").rstrip("\r\n")
        except UnicodeDecodeError as exc:
            yield InvalidAnswer(f"line {lineno} is not valid UTF-8 text (byte {exc.start}): "
                                "nothing was stored")


def card_json(item: BankEntry | StudyCard, key: str, reason: str) -> dict:
    if isinstance(item, BankEntry):
        return {"card": key, "kind": "open", "topic": item.topic, "question": item.question,
                "why": reason}
    return {"card": key, "kind": item.kind, "topic": item.topic, "question": item.prompt,
            "options": list(item.options), "source": item.title, "why": reason}


def outcome_json(out: Outcome) -> dict:
    data = {"card": out.key, "kind": out.kind, "score": out.score, "grader": out.grader,
            "saved": out.recorded is not None}
    if out.recorded:
        data.update(attempt_id=out.recorded.attempt_id,
                    rating=schedule.RATING_NAMES[schedule.parse_rating(out.recorded.rating)],
                    next_review_utc=out.recorded.due.isoformat(timespec="minutes"))
    if out.saved_note:
        data["not_saved"] = out.saved_note
    if out.grade:
        data["key_points"] = [{"text": p.text, "covered": p.covered, "credit": p.credit,
                               "contradicted": p.contradicted, "source": p.title,
                               "n": p.n} for p in out.grade.key_points]
        data["notes"] = list(out.grade.notes)
    else:
        data.update(correct=out.correct, explanation=out.explanation)
    return data


def format_card(item: BankEntry | StudyCard, n: int, reason: str) -> str:
    if isinstance(item, BankEntry):
        return f"\n[{n}] ({item.topic}, open answer; {reason})\n{item.question}"
    lines = [f"\n[{n}] ({item.topic}, {item.kind}; {reason})", "Fill in the blank:"
             if item.kind == "cloze" else "Pick the missing term:",
             textwrap.fill(item.prompt, 100)]
    lines += [f"  {'abcd'[i]}) {opt}" for i, opt in enumerate(item.options)]
    return "\n".join(lines)


def format_outcome(out: Outcome, item) -> str:
    lines = []
    if out.grade:
        g = out.grade
        lines.append(f"Score: {g.score:.1f}/10 ({g.grader} grader)")
        for p in g.key_points:
            mark = "✗ contradicted" if p.contradicted else ("✓" if p.covered else (
                "~ partly" if p.credit else "· missed"))
            lines.append(f"  {mark} [{p.n}] {textwrap.shorten(p.text, 110)}")
        lines += [f"  note: {note}" for note in g.notes]
        lines.append("Sources: " + "; ".join(f"[{c.n}] {c.title}" for c in g.evidence))
    else:
        lines.append(out.explanation)
        lines.append(f"Source: {item.title}" + (f" › {item.section}" if item.section else "")
                     + f"\n  “{textwrap.shorten(item.fact, 160)}”")
    if out.recorded:
        name = schedule.RATING_NAMES[schedule.parse_rating(out.recorded.rating)]
        lines.append(f"Rated {name}; next review {out.recorded.due.astimezone():%Y-%m-%d %H:%M}")
    elif out.saved_note:
        lines.append(f"(not saved: {out.saved_note})")
    return "\n".join(lines)


def run_quiz(practice: Practice, args, stdin=None, stdout: TextIO | None = None) -> int:
    """The quiz loop; returns the exit code (2 when any answer was rejected)."""
    stdin = stdin if stdin is not None else sys.stdin.buffer
    out = stdout or sys.stdout
    emit: Callable[[str], None] = lambda text: (out.write(text + "\n"), out.flush())  # noqa: E731
    if practice.problem:
        print(f"warning: {practice.problem}", file=sys.stderr)
    answers = read_answers(stdin)
    asked: list[str] = []
    rejected, explained = 0, False
    rng = random.Random(args.seed)
    for n in range(1, args.count + 1):
        pick = practice.next(args.user, args.mode, args.topic or [], args.kinds, asked, rng)
        if pick.key is None:
            reason = pick.reason
            if n == 1 and args.topic and not practice.infos(args.topic, args.kinds):
                reason = (f"No {'/'.join(args.kinds)} cards about {', '.join(args.topic)}: a "
                          f"topic is one of {', '.join(practice.topics())}, or a word or "
                          "name the questions use (e.g. LoRA).")
            emit(json.dumps({"done": reason}) if args.json else reason)
            break
        item = practice.item(pick.key)
        asked.append(pick.key)
        emit(json.dumps(card_json(item, pick.key, pick.reason)) if args.json
             else format_card(item, n, pick.reason))
        result = _answer_one(practice, args, pick.key, answers)
        if result is None:
            break
        if isinstance(result, str):
            rejected += 1
            emit(json.dumps({"card": pick.key, "error": result}) if args.json
                 else f"error: {result}")
            continue
        emit(json.dumps(outcome_json(result)) if args.json else format_outcome(result, item))
        if not args.json and result.grader == "offline" and result.grade and not explained:
            emit(textwrap.fill(f"(offline grader) {OFFLINE_LIMITS}", 100))
            explained = True  # once a session: what the offline grader cannot judge
    return 2 if rejected else 0


def _answer_one(practice: Practice, args, key: str, answers) -> Outcome | str | None:
    line = next(answers, None)
    if line is None or (isinstance(line, str) and line.strip().lower() in ("q", "quit")):
        return None
    if isinstance(line, InvalidAnswer):
        return str(line)
    if not line.strip():
        return "empty answer: card skipped, nothing stored"
    try:
        return practice.answer(args.user, key, line, grader=args.grader)
    except (InvalidAnswer, ProgressUnavailable) as exc:
        return str(exc)
