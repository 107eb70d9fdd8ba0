"""The progress database: migrations, attempts and FSRS states, per-user isolation,
transactions, parallel writers and clear messages for unusable databases.

Every database test runs twice: on SQLite and on a real PostgreSQL server."""

from __future__ import annotations

import os
import random
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, text
from study_db import db_url, pg_server  # noqa: F401 - fixtures

from rag.errors import ProgressUnavailable
from rag.settings import REPO_ROOT, StudySettings
from rag.study import schedule, stats
from rag.study.db import Database, head_revision
from rag.study.models import Attempt, Card
from rag.study.progress import LOCAL_USER, CardInfo, ProgressStore

CFG = StudySettings(fuzz=False, new_cards_per_day=2)
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
CARDS = [CardInfo(f"c{i}", "open", "rag" if i < 3 else "agents", f"Question {i}?")
         for i in range(6)]


def store(url: str) -> ProgressStore:
    return ProgressStore(Database(url), CFG)


def test_schema_is_migrated_to_head_once(db_url):  # noqa: F811
    db = Database(db_url)
    assert db.revision == head_revision() == "0001"
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == "0001"
    Database(db_url)  # opening again is a no-op, not an error


def test_a_newer_schema_is_refused_with_a_clear_message(db_url):  # noqa: F811
    db = Database(db_url)
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0099'"))
    with pytest.raises(ProgressUnavailable, match="newer version.*0099"):
        Database(db_url)


def test_record_stores_the_attempt_and_schedules_the_card(db_url):  # noqa: F811
    me = store(db_url).for_user(None)
    assert me.name == LOCAL_USER
    rec = me.record(CARDS[0], "my answer", 7.0, ["point a"], ["point b"], "offline", now=T0)
    assert rec.rating == rec.auto_rating == int(schedule.Rating.Good)
    assert rec.due > T0
    (attempt,) = me.attempts()
    assert (attempt.answer, attempt.score, attempt.covered, attempt.missed, attempt.grader) == (
        "my answer", 7.0, ["point a"], ["point b"], "offline")
    assert attempt.created_at == T0 and attempt.created_at.tzinfo is not None
    cand = {c.key: c for c in me.candidates(CARDS)}
    assert cand["c0"].due == rec.due and cand["c0"].last_score == 7.0
    assert cand["c1"].due is None  # new


def test_override_redoes_the_review_from_the_state_before(db_url):  # noqa: F811
    me = store(db_url).for_user("ana")
    good = me.record(CARDS[0], "a", 9.5, [], [], "offline", now=T0)
    assert good.rating == int(schedule.Rating.Easy)
    again = me.override(good.attempt_id, "again")
    assert again.rating == 1 and again.auto_rating == int(schedule.Rating.Easy)
    assert again.due < good.due and again.reviews == 1
    second = me.record(CARDS[0], "b", 2.0, [], [], "offline", now=T0 + timedelta(hours=1))
    with pytest.raises(ProgressUnavailable, match="latest"):
        me.override(good.attempt_id, "good")  # no longer the latest answer to that card
    assert me.override(second.attempt_id, 3).rating == 3


def test_each_user_sees_only_their_own_data(db_url):  # noqa: F811
    s = store(db_url)
    ana, bob = s.for_user("ana"), s.for_user("bob")
    rec = ana.record(CARDS[0], "ana's answer", 3.0, [], [], "offline", now=T0)
    bob.record(CARDS[1], "bob's answer", 8.0, [], [], "offline", now=T0)
    assert [a.answer for a in ana.attempts()] == ["ana's answer"]
    assert [a.answer for a in bob.attempts()] == ["bob's answer"]
    assert [c.card_key for c in bob.cards()] == ["c1"]
    assert {c.key for c in bob.candidates(CARDS) if c.due is not None} == {"c1"}
    with pytest.raises(ProgressUnavailable, match="no attempt"):
        bob.override(rec.attempt_id, "easy")  # ana's attempt: invisible to bob
    assert stats.summary(bob, T0).attempts_total == 1
    assert stats.topic_rows(ana, T0) == [["rag", 1, 3.0, 1, 0]]
    assert s.for_user("ana").user_id == ana.user_id  # same profile on the next visit


def test_a_failed_write_leaves_nothing_half_written(db_url, monkeypatch):  # noqa: F811
    me = store(db_url).for_user(None)

    def broken_review(*args, **kwargs):
        raise RuntimeError("crash between the card row and the attempt")

    monkeypatch.setattr(schedule, "review", broken_review)
    with pytest.raises(RuntimeError):
        me.record(CARDS[0], "answer", 5.0, [], [], "offline", now=T0)
    with me.db.session() as session:
        assert session.scalar(select(func.count()).select_from(Card)) == 0
        assert session.scalar(select(func.count()).select_from(Attempt)) == 0


WRITER = """
import sys
from rag.settings import StudySettings
from rag.study.db import Database
from rag.study.progress import CardInfo, ProgressStore
url, n, who = sys.argv[1], int(sys.argv[2]), sys.argv[3]
me = ProgressStore(Database(url), StudySettings()).for_user("same-user")
for i in range(n):
    me.record(CardInfo("shared", "open", "rag", "Q?"), f"{who}-{i}", 6.0, [], [], "offline")
    me.record(CardInfo(f"own-{who}-{i % 3}", "cloze", "rag", "Q?"), "x", 10.0, [], [], "exact")
"""


def test_parallel_writers_of_one_user_lose_no_attempt(db_url):  # noqa: F811
    Database(db_url)  # migrated once; the writers race on rows, not on the schema
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    writers, n = 4, 15
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, db_url, str(n), f"w{w}"],
                              env=env, stderr=subprocess.PIPE, text=True)
             for w in range(writers)]
    for proc in procs:
        assert proc.wait(timeout=120) == 0, proc.stderr.read()
    me = store(db_url).for_user("same-user")
    attempts = me.attempts()
    assert len(attempts) == 2 * writers * n
    shared = [c for c in me.cards() if c.card_key == "shared"]
    assert shared[0].reps == writers * n  # every review applied, none overwritten
    assert len(me.cards()) == 1 + 3 * writers


# --- SQLite files that cannot be used --------------------------------------------------


def test_missing_folder_read_only_and_locked_databases_give_clear_messages(tmp_path):
    with pytest.raises(ProgressUnavailable, match="does not exist"):
        Database(f"sqlite:///{tmp_path / 'nowhere' / 'p.db'}")
    path = tmp_path / "p.db"
    ProgressStore(Database(f"sqlite:///{path}"), CFG).for_user(None)
    # Read-only: opened read-only by URL (root ignores file modes, so chmod proves
    # nothing in CI), and by file mode where that is enforced.
    with pytest.raises(ProgressUnavailable, match="read-only"):
        ProgressStore(Database(f"sqlite:///file:{path}?mode=ro&uri=true"), CFG).for_user(
            None).record(CARDS[0], "answer", 5.0, [], [], "offline")
    path.chmod(0o444)
    try:
        if not os.access(path, os.W_OK):
            with pytest.raises(ProgressUnavailable, match="read-only"):
                Database(f"sqlite:///{path}")
    finally:
        path.chmod(0o644)


def test_a_locked_database_is_a_clear_message_and_nothing_is_stored(tmp_path):
    path = tmp_path / "p.db"
    me = ProgressStore(Database(f"sqlite:///{path}", busy_timeout_s=0.2), CFG).for_user(None)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(ProgressUnavailable, match="locked.*not saved"):
            me.record(CARDS[0], "answer", 5.0, [], [], "offline", now=T0)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert me.attempts() == []


def test_a_bad_url_is_a_clear_message():
    with pytest.raises(ProgressUnavailable, match="not a database URL"):
        Database("not a url")


# --- scheduling ------------------------------------------------------------------------


def test_score_bands_map_to_ratings():
    cfg = StudySettings()
    assert [schedule.rating_for(s, "open", cfg).name for s in (0, 3.9, 4, 6.4, 6.5, 8.9, 9)] == [
        "Again", "Again", "Hard", "Hard", "Good", "Good", "Easy"]
    assert schedule.rating_for(10, "cloze", cfg).name == "Good"
    assert schedule.rating_for(0, "mcq", cfg).name == "Again"
    assert schedule.parse_rating("EASY") == schedule.Rating.Easy
    with pytest.raises(ValueError, match="unknown rating"):
        schedule.parse_rating("perfect")


def test_due_mode_reviews_overdue_cards_first_then_new_ones_within_the_daily_limit(db_url):  # noqa: F811,E501
    me = store(db_url).for_user(None)
    rng = random.Random(0)
    me.record(CARDS[0], "a", 2.0, [], [], "offline", now=T0)  # Again: due in minutes
    later = T0 + timedelta(hours=1)
    assert me.next_card(CARDS, "due", rng, now=later).key == "c0"
    me.record(CARDS[1], "a", 9.5, [], [], "offline", now=T0)  # Easy: due in days
    me.record(CARDS[0], "b", 9.5, [], [], "offline", now=later)
    # two new cards today = the limit (2): nothing more to do today
    pick = me.next_card(CARDS, "due", rng, now=later)
    assert pick.key is None and "limit" in pick.reason and "next review" in pick.reason
    next_week = T0 + timedelta(days=30)
    assert me.next_card(CARDS, "due", rng, now=next_week).key in {"c0", "c1"}


def test_weakest_mode_picks_from_the_lowest_mastery_topic(db_url):  # noqa: F811
    me = store(db_url).for_user(None)
    me.record(CARDS[0], "a", 9.0, [], [], "offline", now=T0)  # rag
    me.record(CARDS[3], "a", 3.0, [], [], "offline", now=T0)  # agents
    pick = me.next_card(CARDS, "weakest", random.Random(0), now=T0 + timedelta(seconds=5))
    assert pick.key in {"c3", "c4", "c5"} and "agents" in pick.reason


def test_random_mode_avoids_cards_asked_this_session():
    cands = [schedule.Candidate(c.key, c.topic) for c in CARDS]
    pick = schedule.choose("random", cands[:2], T0, 5, random.Random(1))
    assert pick.key in {"c0", "c1"}
    with pytest.raises(ValueError, match="unknown mode"):
        schedule.choose("hardest", cands, T0, 5, random.Random(1))


def test_same_day_retries_count_once_in_topic_mastery():
    rows = [(T0, "rag", "c0", 2.0), (T0 + timedelta(minutes=5), "rag", "c0", 8.0),
            (T0 + timedelta(minutes=9), "rag", "c1", 6.0),
            (T0 + timedelta(days=1), "agents", "c3", 4.0)]
    series = stats.mastery_series(rows)
    first_day = [p for p in series if p["day"] == stats.local_day(T0).isoformat()]
    assert first_day == [{"day": first_day[0]["day"], "topic": "rag", "mastery": 7.0,
                          "cards": 2}]  # (8 + 6) / 2: the retry replaced the 2
    assert {p["topic"] for p in series} == {"rag", "agents"}


def test_streak_counts_consecutive_days():
    today = T0.date()
    days = {today, today - timedelta(days=1), today - timedelta(days=3)}
    assert schedule.streak(days, today) == 2
    assert schedule.streak({today - timedelta(days=1)}, today) == 1  # not yet today
    assert schedule.streak(set(), today) == 0
