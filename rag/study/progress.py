"""What a user has done, in the progress database: attempts, card states, statistics.

``ProgressStore(db, cfg).for_user(name)`` gives a ``UserProgress`` bound to one user;
every query it runs filters on that user's id, so one user never reads or changes
another's cards or attempts.  ``record()`` stores an attempt and moves the card's FSRS
state in one transaction (the card row is locked first, so two processes answering at
once both land, one after the other).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from rag.errors import ProgressUnavailable
from rag.settings import StudySettings
from rag.study import schedule
from rag.study.db import Database
from rag.study.models import Attempt, Card, User

LOCAL_USER = "local"


@dataclass(frozen=True)
class CardInfo:
    """What the bank says about a card (stored with the user's card row)."""

    key: str
    kind: str
    topic: str
    question: str


@dataclass(frozen=True)
class Recorded:
    """A stored attempt and the card's schedule after it."""

    attempt_id: int
    card_key: str
    score: float
    rating: int
    auto_rating: int
    due: datetime
    reviews: int


def now_utc() -> datetime:
    return datetime.now(UTC)


def _insert(session: Session):
    """The dialect's INSERT that can skip rows violating a unique constraint."""
    return postgresql.insert if session.bind.dialect.name == "postgresql" else sqlite.insert


class ProgressStore:
    def __init__(self, db: Database, cfg: StudySettings):
        self.db = db
        self.cfg = cfg

    def for_user(self, name: str | None) -> UserProgress:
        """The progress of ``name`` (the local profile when None), created on first use."""
        name = (name or LOCAL_USER).strip()[:200] or LOCAL_USER
        with self.db.session() as s:
            ins = _insert(s)(User).values(name=name, created_at=now_utc())
            s.execute(ins.on_conflict_do_nothing(index_elements=["name"]))
            user_id = s.scalar(select(User.id).where(User.name == name))
        return UserProgress(self.db, self.cfg, user_id, name)


class UserProgress:
    """One user's cards and attempts; every query is scoped to ``user_id``."""

    def __init__(self, db: Database, cfg: StudySettings, user_id: int, name: str):
        self.db, self.cfg, self.user_id, self.name = db, cfg, user_id, name

    # --- writing ---------------------------------------------------------------

    def _card_for_update(self, s: Session, info: CardInfo, now: datetime) -> Card:
        state = schedule.fresh_state(now)
        ins = _insert(s)(Card).values(
            user_id=self.user_id, card_key=info.key, kind=info.kind, topic=info.topic,
            question=info.question, state=state["state"], step=state["step"],
            due=now, reps=0, lapses=0, created_at=now)
        s.execute(ins.on_conflict_do_nothing(index_elements=["user_id", "card_key"]))
        query = select(Card).where(Card.user_id == self.user_id, Card.card_key == info.key)
        return s.scalars(query.with_for_update()).one()

    def record(self, info: CardInfo, answer: str, score: float, covered: Sequence[str],
               missed: Sequence[str], grader: str, rating: int | None = None,
               now: datetime | None = None) -> Recorded:
        """Store one graded attempt and review the card (one transaction)."""
        now = now or now_utc()
        auto = int(schedule.rating_for(score, info.kind, self.cfg))
        chosen = int(schedule.parse_rating(rating)) if rating is not None else auto
        with self.db.session() as s:
            card = self._card_for_update(s, info, now)
            before = card_state(card)
            _apply(card, schedule.review(self.cfg, before, schedule.parse_rating(chosen), now))
            attempt = Attempt(
                user_id=self.user_id, card_id=card.id, card_key=info.key, kind=info.kind,
                topic=info.topic, question=info.question, answer=answer, score=float(score),
                covered=list(covered), missed=list(missed), grader=grader, rating=chosen,
                auto_rating=auto, card_before=before, due_after=card.due, created_at=now)
            s.add(attempt)
            s.flush()
            return Recorded(attempt.id, info.key, float(score), chosen, auto, card.due,
                            card.reps)

    def override(self, attempt_id: int, rating: object) -> Recorded:
        """Re-rate the latest attempt of a card: the review is redone from the card's
        state before that attempt.  Only the user's own latest attempt per card."""
        new = schedule.parse_rating(rating)
        with self.db.session() as s:
            attempt = s.scalar(select(Attempt).where(
                Attempt.id == attempt_id, Attempt.user_id == self.user_id))
            if attempt is None:
                raise ProgressUnavailable(f"no attempt {attempt_id} of yours to re-rate")
            card = s.scalars(select(Card).where(
                Card.id == attempt.card_id, Card.user_id == self.user_id).with_for_update()).one()
            latest = s.scalar(select(func.max(Attempt.id)).where(
                Attempt.card_id == card.id, Attempt.user_id == self.user_id))
            if latest != attempt.id:
                raise ProgressUnavailable("only the latest answer to a card can be re-rated")
            card.reps -= 1
            _apply(card, schedule.review(self.cfg, attempt.card_before, new, attempt.created_at))
            attempt.rating = int(new)
            attempt.due_after = card.due
            return Recorded(attempt.id, attempt.card_key, attempt.score, int(new),
                            attempt.auto_rating, card.due, card.reps)

    # --- reading -----------------------------------------------------------------

    def candidates(self, infos: Sequence[CardInfo]) -> list[schedule.Candidate]:
        """The bank's cards with this user's due date and latest score (None: new)."""
        with self.db.session() as s:
            dues = dict(s.execute(select(Card.card_key, Card.due).where(
                Card.user_id == self.user_id)).all())
            last = latest_scores(s, self.user_id)
        return [schedule.Candidate(i.key, i.topic, dues.get(i.key), last.get(i.key))
                for i in infos]

    def new_today(self, now: datetime | None = None) -> int:
        start = schedule.day_start(now or now_utc())
        with self.db.session() as s:
            return s.scalar(select(func.count()).select_from(Card).where(
                Card.user_id == self.user_id, Card.created_at >= start)) or 0

    def next_card(self, infos: Sequence[CardInfo], mode: str, rng,
                  exclude: Sequence[str] = (), now: datetime | None = None) -> schedule.Pick:
        """The next card in ``mode`` (``schedule.MODES``) among ``infos``; ``exclude``
        (cards asked this session) is honoured in random mode while others remain."""
        now = now or now_utc()
        cands = self.candidates(infos)
        if mode == "random" and exclude:
            skip = set(exclude)
            cands = [c for c in cands if c.key not in skip] or cands
        left = max(0, self.cfg.new_cards_per_day - self.new_today(now))
        return schedule.choose(mode, cands, now, left, rng)

    def attempts(self, limit: int | None = None) -> list[Attempt]:
        """This user's attempts, newest first."""
        query = (select(Attempt).where(Attempt.user_id == self.user_id)
                 .order_by(Attempt.created_at.desc(), Attempt.id.desc()))
        with self.db.session() as s:
            return list(s.scalars(query.limit(limit) if limit else query))

    def cards(self) -> list[Card]:
        with self.db.session() as s:
            return list(s.scalars(select(Card).where(Card.user_id == self.user_id)
                                  .order_by(Card.due)))


def latest_scores(s: Session, user_id: int) -> dict[str, float]:
    """Each card's latest score for one user."""
    newest = (select(Attempt.card_key, func.max(Attempt.id).label("last"))
              .where(Attempt.user_id == user_id).group_by(Attempt.card_key).subquery())
    rows = s.execute(select(Attempt.card_key, Attempt.score)
                     .join(newest, Attempt.id == newest.c.last)
                     .where(Attempt.user_id == user_id)).all()
    return dict(rows)


def card_state(card: Card) -> dict:
    """The card's FSRS fields as ``fsrs.Card.to_dict()`` gives them."""
    return {"state": card.state, "step": card.step, "stability": card.stability,
            "difficulty": card.difficulty, "due": card.due.isoformat(),
            "last_review": card.last_review.isoformat() if card.last_review else None}


def _apply(card: Card, state: dict) -> None:
    card.state = state["state"]
    card.step = state["step"]
    card.stability = state["stability"]
    card.difficulty = state["difficulty"]
    card.due = datetime.fromisoformat(state["due"])
    card.last_review = (datetime.fromisoformat(state["last_review"])
                        if state["last_review"] else None)
    card.reps = (card.reps or 0) + 1
