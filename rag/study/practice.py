"""The study loop as one object the app and ``rag quiz`` share: pick the next card,
grade an answer (open, cloze or multiple choice), store the attempt and its FSRS
review, re-rate it.  Thin edges call this; nothing here formats for a screen.

When the progress database cannot be used (locked, read-only, newer schema ...),
practice still works: answers are graded but not saved, and ``problem`` says why.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass

from rag.errors import InvalidAnswer, ProgressUnavailable
from rag.records import BankEntry, Grade, StudyCard
from rag.settings import Settings
from rag.study import cards as study_cards
from rag.study import schedule
from rag.study.grade import check_answer, grade_answer
from rag.study.progress import CardInfo, ProgressStore, Recorded, UserProgress
from rag.study.stored import StudyBank, load_study

KINDS = ("open", "cloze", "mcq")


@dataclass
class Outcome:
    """A graded answer: the open-answer ``grade`` or the exact card's verdict, and
    what was stored (None when the database is unavailable: ``saved_note`` says why)."""

    key: str
    kind: str
    score: float
    grader: str
    grade: Grade | None = None
    correct: bool | None = None
    explanation: str = ""
    recorded: Recorded | None = None
    saved_note: str = ""


def parse_kinds(text: str | Sequence[str] | None) -> list[str]:
    """"open,cloze" -> ["open", "cloze"]; ``InvalidAnswer`` names a bad kind."""
    items = text.split(",") if isinstance(text, str) else list(text or KINDS)
    kinds = [k.strip().lower() for k in items if k and k.strip()]
    bad = [k for k in kinds if k not in KINDS]
    if bad or not kinds:
        raise InvalidAnswer(f"unknown card type {', '.join(bad) or '(none)'}: choose from "
                            f"{', '.join(KINDS)}")
    return kinds


class Practice:
    def __init__(self, assistant, study: StudyBank, store: ProgressStore | None,
                 problem: str = ""):
        self.assistant = assistant
        self.settings: Settings = assistant.settings
        self.study = study
        self.store = store
        self.problem = problem
        self._entries = {e.entry_id: e for e in study.entries}
        self._cards = {c.card_id: c for c in study.cards}

    @classmethod
    def open(cls, assistant, db_url: str | None = None) -> Practice:
        """The stored bank of the assistant's index, and the progress database (or a
        ``problem`` message when it cannot be opened)."""
        from rag.study.db import Database

        study = load_study(assistant.index.build_dir)
        settings = assistant.settings
        try:
            db = Database(db_url or settings.progress_db_url, settings.study.busy_timeout_s)
            return cls(assistant, study, ProgressStore(db, settings.study))
        except ProgressUnavailable as exc:
            return cls(assistant, study, None, f"progress is not being saved: {exc}")

    # --- cards --------------------------------------------------------------------

    def infos(self, topics: Sequence[str] = (), kinds: Sequence[str] = KINDS) -> list[CardInfo]:
        """The cards of ``kinds`` in ``topics`` (all when none).  A topic is a bank topic
        ("efficiency", any case) or else a word or name its questions use ("LoRA")."""
        out = []
        if "open" in kinds:
            out += [CardInfo(e.entry_id, "open", e.topic, e.question) for e in self.study.entries]
        out += [CardInfo(c.card_id, c.kind, c.topic, c.prompt) for c in self.study.cards
                if c.kind in kinds]
        if not topics:
            return out
        names = {t.lower() for t in self.topics()}
        bank = {t.strip().lower() for t in topics} & names
        words = [t.strip() for t in topics if t.strip() and t.strip().lower() not in names]
        return [i for i in out if i.topic.lower() in bank or names_any(i.question, words)]

    def topics(self) -> list[str]:
        """The bank's topics, by name."""
        return sorted({e.topic for e in self.study.entries} | {c.topic for c in self.study.cards})

    def item(self, key: str) -> BankEntry | StudyCard:
        found = self._entries.get(key) or self._cards.get(key)
        if found is None:
            raise InvalidAnswer(f"unknown card {key!r}: pick a question first")
        return found

    def user(self, name: str | None) -> UserProgress | None:
        if self.store is None:
            return None
        try:
            return self.store.for_user(name)
        except ProgressUnavailable as exc:
            self.problem = f"progress is not being saved: {exc}"
            return None

    def next(self, user: str | None, mode: str, topics: Sequence[str] = (),
             kinds: Sequence[str] = KINDS, exclude: Sequence[str] = (),
             rng: random.Random | None = None) -> schedule.Pick:
        """The next card key for ``user`` in ``mode`` ("due", "weakest", "random")."""
        rng = rng or random.Random()
        infos = self.infos(topics, kinds)
        progress = self.user(user)
        if progress is None:  # no database: random, avoiding this session's cards
            fresh = [i for i in infos if i.key not in set(exclude)] or infos
            cands = [schedule.Candidate(i.key, i.topic) for i in fresh]
            return schedule.choose("random", cands, schedule.day_start(
                _now()), 0, rng)
        try:
            return progress.next_card(infos, mode, rng, exclude)
        except ProgressUnavailable as exc:
            self.problem = f"progress is not being saved: {exc}"
            return self.next(None, mode, topics, kinds, exclude, rng)

    # --- answering ----------------------------------------------------------------

    def answer(self, user: str | None, key: str, text: object, grader: str = "offline",
               rating: object = None) -> Outcome:
        """Grade ``text`` for card ``key`` and store the attempt (one transaction)."""
        item = self.item(key)
        if isinstance(item, BankEntry):
            grade = grade_answer(self.assistant, self.study, item, text, grader=grader)
            outcome = Outcome(key, "open", grade.score, grade.grader, grade=grade)
            covered = [p.text for p in grade.key_points if p.covered]
            missed = [p.text for p in grade.key_points if not p.covered]
            info = CardInfo(key, "open", item.topic, item.question)
        else:
            given = check_answer(text, self.settings.interview.max_answer_chars)
            correct, why = study_cards.check_answer(item, given)
            outcome = Outcome(key, item.kind, 10.0 if correct else 0.0, "exact",
                              correct=correct, explanation=why)
            covered, missed = ([item.answer], []) if correct else ([], [item.answer])
            info = CardInfo(key, item.kind, item.topic, item.prompt)
            text = given
        return self._record(user, info, outcome, str(text).strip(), covered, missed, rating)

    def _record(self, user, info, outcome, text, covered, missed, rating) -> Outcome:
        progress = self.user(user)
        if progress is None:
            outcome.saved_note = self.problem or "progress is not being saved"
            return outcome
        try:
            outcome.recorded = progress.record(info, text, outcome.score, covered, missed,
                                               outcome.grader, rating)
        except ProgressUnavailable as exc:
            outcome.saved_note = str(exc)
        return outcome

    def rerate(self, user: str | None, attempt_id: int, rating: object) -> Recorded:
        progress = self.user(user)
        if progress is None:
            raise ProgressUnavailable(self.problem or "progress is not being saved")
        return progress.override(attempt_id, rating)


def _now():
    from rag.study.progress import now_utc

    return now_utc()


def names_any(question: str, words: Sequence[str]) -> bool:
    """Does ``question`` use one of ``words`` as a whole word or name ("LoRA", not
    "AdaLoRA")?"""
    return any(re.search(rf"(?<![\w-]){re.escape(w)}(?![\w-])", question, re.I) for w in words)
