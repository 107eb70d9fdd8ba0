"""Statistics of one user's progress: today's numbers, streak, mastery per topic over
time, recent attempts.  Mastery counts each card once (its latest score), so a same-day
retry replaces the earlier score instead of weighing twice in the topic average."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func, select

from rag.study import schedule
from rag.study.models import Attempt, Card
from rag.study.progress import UserProgress, now_utc


@dataclass(frozen=True)
class Summary:
    due_now: int
    due_today: int
    reviewed_today: int
    attempts_today: int
    streak_days: int
    cards_practised: int
    attempts_total: int
    new_today: int
    new_limit: int


def summary(up: UserProgress, now: datetime | None = None) -> Summary:
    now = now or now_utc()
    start = schedule.day_start(now)
    end = start + timedelta(days=1)
    uid = up.user_id
    with up.db.session() as s:
        def count(query):
            return s.scalar(query) or 0

        due_now = count(select(func.count()).select_from(Card).where(
            Card.user_id == uid, Card.due <= now))
        due_today = count(select(func.count()).select_from(Card).where(
            Card.user_id == uid, Card.due < end))
        today = select(Attempt).where(Attempt.user_id == uid, Attempt.created_at >= start)
        attempts_today = count(select(func.count()).select_from(today.subquery()))
        reviewed = count(select(func.count(func.distinct(Attempt.card_id))).where(
            Attempt.user_id == uid, Attempt.created_at >= start))
        practised = count(select(func.count()).select_from(Card).where(Card.user_id == uid))
        total = count(select(func.count()).select_from(Attempt).where(Attempt.user_id == uid))
        new = count(select(func.count()).select_from(Card).where(
            Card.user_id == uid, Card.created_at >= start))
        times = s.scalars(select(Attempt.created_at).where(Attempt.user_id == uid)).all()
    days = {local_day(t) for t in times}
    return Summary(due_now, due_today, reviewed, attempts_today,
                   schedule.streak(days, local_day(now)), practised, total, new,
                   up.cfg.new_cards_per_day)


def local_day(t: datetime) -> date:
    return t.astimezone().date()


def mastery_series(rows: Iterable[tuple[datetime, str, str, float]]) -> list[dict]:
    """``{"day", "topic", "mastery", "cards"}`` for every day with practice: the mean
    of each practised card's latest score as of that day's end, per topic.

    ``rows`` are ``(time, topic, card_key, score)`` in any order."""
    latest: dict[str, tuple[str, float]] = {}
    out: list[dict] = []
    ordered = sorted(rows, key=lambda r: r[0])
    for i, (when, topic, key, score) in enumerate(ordered):
        latest[key] = (topic, score)
        day = local_day(when)
        if i + 1 < len(ordered) and local_day(ordered[i + 1][0]) == day:
            continue
        by_topic: dict[str, list[float]] = {}
        for t, sc in latest.values():
            by_topic.setdefault(t, []).append(sc)
        out.extend({"day": day.isoformat(), "topic": t, "mastery": round(sum(v) / len(v), 2),
                    "cards": len(v)} for t, v in sorted(by_topic.items()))
    return out


def user_mastery_series(up: UserProgress) -> list[dict]:
    with up.db.session() as s:
        rows = s.execute(select(Attempt.created_at, Attempt.topic, Attempt.card_key,
                                Attempt.score).where(Attempt.user_id == up.user_id)).all()
    return mastery_series(rows)


TOPIC_HEADERS = ["Topic", "Cards practised", "Mastery /10", "Attempts", "Due now"]


def topic_rows(up: UserProgress, now: datetime | None = None) -> list[list]:
    """Per topic: cards practised, mastery (latest score per card), attempts, due."""
    now = now or now_utc()
    with up.db.session() as s:
        rows = s.execute(select(Attempt.created_at, Attempt.topic, Attempt.card_key,
                                Attempt.score).where(Attempt.user_id == up.user_id)).all()
        due = dict(s.execute(select(Card.topic, func.count()).where(
            Card.user_id == up.user_id, Card.due <= now).group_by(Card.topic)).all())
    attempts: dict[str, int] = {}
    latest: dict[str, tuple[str, float]] = {}
    for _when, topic, key, score in sorted(rows, key=lambda r: r[0]):
        attempts[topic] = attempts.get(topic, 0) + 1
        latest[key] = (topic, score)
    scores: dict[str, list[float]] = {}
    for topic, score in latest.values():
        scores.setdefault(topic, []).append(score)
    return [[t, len(v), round(sum(v) / len(v), 1), attempts[t], due.get(t, 0)]
            for t, v in sorted(scores.items())]


ATTEMPT_FIELDS = ["id", "time_utc", "user", "card", "kind", "topic", "question", "answer",
                  "score", "rating", "auto_rating", "grader", "next_review_utc", "covered",
                  "missed"]


def attempt_row(a: Attempt, user: str) -> dict:
    """One attempt as a flat record (CSV export, ``rag quiz --json``)."""
    names = schedule.RATING_NAMES
    return {"id": a.id, "time_utc": a.created_at.isoformat(timespec="seconds"), "user": user,
            "card": a.card_key, "kind": a.kind, "topic": a.topic, "question": a.question,
            "answer": a.answer, "score": a.score,
            "rating": names[schedule.parse_rating(a.rating)],
            "auto_rating": names[schedule.parse_rating(a.auto_rating)], "grader": a.grader,
            "next_review_utc": a.due_after.isoformat(timespec="seconds"),
            "covered": " | ".join(a.covered), "missed": " | ".join(a.missed)}
