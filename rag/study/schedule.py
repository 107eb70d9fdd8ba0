"""Spaced repetition with FSRS (the ``fsrs`` package): ratings from scores, reviews
of stored card states, and the pure choice of the next card.

A card's state lives in the progress database as the fields of ``fsrs.Card``;
``review()`` turns a stored state and a rating into the next state.  Same-day
retries are reviews too (FSRS handles short-term reviews), so a retry moves the
card, while topic mastery counts each card once (its latest score).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from fsrs import Card, Rating, Scheduler, State

from rag.settings import StudySettings

RATING_NAMES = {Rating.Again: "Again", Rating.Hard: "Hard", Rating.Good: "Good",
                Rating.Easy: "Easy"}
MODES = ("due", "weakest", "random")
MODE_LABELS = {"due": "Due now", "weakest": "Weakest topics", "random": "Random"}


def parse_rating(value: object) -> Rating:
    """A rating from 1-4 or its name (case-insensitive); ``ValueError`` otherwise."""
    if isinstance(value, Rating):
        return value
    text = str(value).strip().lower()
    for rating, name in RATING_NAMES.items():
        if text in (name.lower(), str(int(rating))):
            return rating
    raise ValueError(f"unknown rating {value!r}: use Again, Hard, Good or Easy")


def rating_for(score: float, kind: str, cfg: StudySettings) -> Rating:
    """The rating a score earns: exact cards (cloze, mcq) are Good or Again; open
    answers by score band (``again_below``, ``hard_below``, ``easy_from``)."""
    if kind != "open":
        return Rating.Good if score >= 10 else Rating.Again
    if score < cfg.again_below:
        return Rating.Again
    if score < cfg.hard_below:
        return Rating.Hard
    return Rating.Easy if score >= cfg.easy_from else Rating.Good


def scheduler(cfg: StudySettings) -> Scheduler:
    return _scheduler(cfg.desired_retention, cfg.fuzz)


@lru_cache(maxsize=8)
def _scheduler(retention: float, fuzz: bool) -> Scheduler:
    return Scheduler(desired_retention=retention, enable_fuzzing=fuzz)


def new_card(now: datetime) -> Card:
    return Card(card_id=0, state=State.Learning, step=0, due=now)


def review(cfg: StudySettings, state: dict, rating: Rating, now: datetime) -> dict:
    """The card state (``fsrs.Card.to_dict()`` fields) after a review at ``now``."""
    card = Card.from_dict({**state, "card_id": 0})
    updated, _log = scheduler(cfg).review_card(card, rating, review_datetime=now)
    out = updated.to_dict()
    out.pop("card_id", None)
    return out


def fresh_state(now: datetime) -> dict:
    out = new_card(now).to_dict()
    out.pop("card_id", None)
    return out


# --- choosing the next card -----------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    """A card the user could get next, with what the database knows of it."""

    key: str
    topic: str
    due: datetime | None = None  # None: new to this user
    last_score: float | None = None


@dataclass(frozen=True)
class Pick:
    key: str | None
    reason: str


def pick_due(cands: Sequence[Candidate], now: datetime, new_left: int,
             rng: random.Random) -> Pick:
    """The most overdue card; else a new one while the daily limit allows."""
    due = sorted((c for c in cands if c.due is not None and c.due <= now),
                 key=lambda c: c.due)
    if due:
        return Pick(due[0].key, f"due since {due[0].due:%Y-%m-%d %H:%M} UTC")
    fresh = [c for c in cands if c.due is None]
    if fresh and new_left > 0:
        return Pick(rng.choice(fresh).key, f"new card ({new_left} new left today)")
    upcoming = sorted(c.due for c in cands if c.due is not None)
    parts = ["Nothing is due now"]
    if upcoming:
        parts.append(f"next review {upcoming[0]:%Y-%m-%d %H:%M} UTC")
    if fresh:
        parts.append("today's new-card limit is reached")
    return Pick(None, "; ".join(parts) + ".")


def topic_mastery(cands: Sequence[Candidate]) -> dict[str, float]:
    """Mean latest score per topic over the cards the user has answered."""
    scores: dict[str, list[float]] = {}
    for c in cands:
        if c.last_score is not None:
            scores.setdefault(c.topic, []).append(c.last_score)
    return {t: sum(s) / len(s) for t, s in scores.items()}


def pick_weakest(cands: Sequence[Candidate], now: datetime, new_left: int,
                 rng: random.Random) -> Pick:
    """A card from the topic with the lowest mastery: due first, then the
    lowest-scored card, then a new one."""
    mastery = topic_mastery(cands)
    if not mastery:
        pick = pick_random(cands, rng)
        return Pick(pick.key, "no answers yet: a random card")
    topic = min(mastery, key=lambda t: (mastery[t], t))
    pool = [c for c in cands if c.topic == topic]
    inner = pick_due(pool, now, new_left, rng)
    why = f"weakest topic: {topic} (mastery {mastery[topic]:.1f}/10)"
    if inner.key:
        return Pick(inner.key, f"{why}; {inner.reason}")
    seen = sorted((c for c in pool if c.last_score is not None),
                  key=lambda c: (c.last_score, c.key))
    return Pick(seen[0].key, f"{why}; your lowest score there") if seen else Pick(None, why)


def pick_random(cands: Sequence[Candidate], rng: random.Random) -> Pick:
    return Pick(rng.choice(cands).key, "random card") if cands else Pick(None, "no cards")


def choose(mode: str, cands: Sequence[Candidate], now: datetime, new_left: int,
           rng: random.Random) -> Pick:
    if not cands:
        return Pick(None, "No cards match these topics and card types.")
    if mode == "due":
        return pick_due(cands, now, new_left, rng)
    if mode == "weakest":
        return pick_weakest(cands, now, new_left, rng)
    if mode == "random":
        return pick_random(cands, rng)
    raise ValueError(f"unknown mode {mode!r}; choose one of {', '.join(MODES)}")


def day_start(now: datetime) -> datetime:
    """Midnight (local time of this machine) of ``now``'s day, as aware UTC."""
    local = now.astimezone()
    return local.replace(hour=0, minute=0, second=0, microsecond=0).astimezone(now.tzinfo)


def streak(days: set, today) -> int:
    """Consecutive days with practice ending today (or yesterday, if not yet today)."""
    day = today if today in days else today - timedelta(days=1)
    count = 0
    while day in days:
        count += 1
        day -= timedelta(days=1)
    return count
