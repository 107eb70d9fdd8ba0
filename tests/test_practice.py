"""The study loop shared by the app and ``rag quiz``: grading, storing, scheduling,
per-user isolation through the app's callbacks, logins from a users file, exports,
and practice without a usable database."""

from __future__ import annotations

import io
import json
import random
import sqlite3
import zipfile
from types import SimpleNamespace

import pytest

from rag.errors import InvalidAnswer, RagError
from rag.study import stats
from rag.study.export import write_anki, write_attempts_csv
from rag.study.practice import Practice, parse_kinds
from rag.study.quiz import run_quiz

GOOD = ("LoRA freezes the pretrained weights and learns a low-rank update, the product of two "
        "small matrices, on the attention projections, cutting trainable parameters and GPU "
        "memory with quality close to full fine-tuning.")


@pytest.fixture
def practice(real_assistant, tmp_path) -> Practice:
    return Practice.open(real_assistant, f"sqlite:///{tmp_path / 'p.db'}")


def lora(practice):
    return next(e for e in practice.study.entries
                if e.question == "When would you use LoRA versus full fine-tuning?")


def test_an_open_answer_is_graded_stored_and_scheduled(practice):
    entry = lora(practice)
    out = practice.answer("ana", entry.entry_id, GOOD)
    assert out.grade and out.recorded and out.recorded.due is not None
    (attempt,) = practice.user("ana").attempts()
    assert attempt.answer == GOOD and attempt.score == out.score and attempt.grader == "offline"
    assert set(attempt.covered) | set(attempt.missed) == {p.text for p in out.grade.key_points}


def test_exact_cards_are_graded_and_stored(practice):
    card = next(c for c in practice.study.cards if c.kind == "mcq")
    letter = "abcd"[card.options.index(card.answer)]
    assert practice.answer(None, card.card_id, letter).correct
    wrong = next(o for o in card.options if o != card.answer)
    out = practice.answer(None, card.card_id, wrong)
    assert out.correct is False and out.recorded.rating == 1  # Again


@pytest.mark.parametrize("bad", ["", "x" * 7000, "bad\x07bell", b"\xff\xfe broken"])
def test_bad_answers_store_nothing(practice, bad):
    with pytest.raises(InvalidAnswer):
        practice.answer(None, lora(practice).entry_id, bad)
    card = practice.study.cards[0]
    with pytest.raises(InvalidAnswer):
        practice.answer(None, card.card_id, bad)
    assert practice.user(None).attempts() == []


def test_same_day_retry_updates_the_card_and_counts_once(practice):
    entry = lora(practice)
    practice.answer(None, entry.entry_id, "LoRA trains adapters on a frozen model somehow.")
    practice.answer(None, entry.entry_id, GOOD)
    me = practice.user(None)
    assert len(me.attempts()) == 2 and len(me.cards()) == 1 and me.cards()[0].reps == 2
    (row,) = stats.topic_rows(me)
    assert row[1] == 1 and row[2] == me.attempts()[0].score  # the latest score only


def test_next_card_modes_and_card_mix(practice):
    rng = random.Random(0)
    pick = practice.next(None, "due", ["efficiency"], ["cloze"], [], rng)
    assert practice.item(pick.key).kind == "cloze" and practice.item(pick.key).topic == (
        "efficiency")
    assert practice.next(None, "weakest", [], ["open"], [], rng).key
    with pytest.raises(InvalidAnswer, match="unknown card type"):
        parse_kinds("open,essay")


def test_without_a_usable_database_practice_still_grades(real_assistant, tmp_path):
    path = tmp_path / "p.db"
    Practice.open(real_assistant, f"sqlite:///{path}")
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999'")
    practice = Practice.open(real_assistant, f"sqlite:///{path}")
    assert "newer version" in practice.problem
    out = practice.answer(None, lora(practice).entry_id, GOOD)
    assert out.grade is not None and out.recorded is None and "newer" in out.saved_note
    assert practice.next(None, "due", [], ["open"], [], random.Random(1)).key


def test_exports(practice, tmp_path):
    practice.answer("ana", lora(practice).entry_id, GOOD)
    n = write_attempts_csv(practice.user("ana"), tmp_path / "a.csv")
    text = (tmp_path / "a.csv").read_text(encoding="utf-8")
    assert n == 1 and "LoRA freezes" in text and "next_review_utc" in text
    entries, cards = practice.study.entries[:3], practice.study.cards[:2]
    assert write_anki(entries, cards, tmp_path / "d.apkg") == 5
    with zipfile.ZipFile(tmp_path / "d.apkg") as z:
        z.extract("collection.anki2", tmp_path)
    with sqlite3.connect(tmp_path / "collection.anki2") as conn:
        fields = [r[0] for r in conn.execute("SELECT flds FROM notes")]
    assert len(fields) == 5 and entries[0].question in fields[0]
    assert "Key points" in fields[0] and entries[0].key_points[0].title in fields[0]


# --- rag quiz ---------------------------------------------------------------------------


def quiz_args(**kw):
    base = dict(user="quizzer", mode="random", topic=["efficiency"], kinds=["open"],
                count=3, json=True, grader="offline", seed=5)
    return SimpleNamespace(**{**base, **kw})


def test_quiz_json_session(practice):
    stdin = io.BytesIO(GOOD.encode() + b"\n\xff\xfe not utf-8\nq\n")
    out = io.StringIO()
    code = run_quiz(practice, quiz_args(), stdin, out)
    lines = [json.loads(x) for x in out.getvalue().splitlines()]
    assert lines[0]["kind"] == "open" and lines[0]["topic"] == "efficiency"
    assert lines[1]["saved"] and 0 <= lines[1]["score"] <= 10 and lines[1]["next_review_utc"]
    assert "not valid UTF-8" in lines[3]["error"]
    assert code == 2  # a rejected line
    assert len(practice.user("quizzer").attempts()) == 1  # the bad line stored nothing


def test_a_quiz_topic_is_a_bank_topic_or_a_name_its_questions_use(practice):
    """`rag quiz --topic LoRA`: LoRA is no bank topic ("efficiency" is), but its questions
    name it; a topic that matches nothing says which topics there are."""
    efficiency = practice.infos(["Efficiency"], ["open"])
    assert efficiency and {i.topic for i in efficiency} == {"efficiency"}
    lora_cards = practice.infos(["LoRA"], ["open"])
    assert lora_cards and all("lora" in i.question.lower() for i in lora_cards)
    assert not any("AdaLoRA" in i.question for i in practice.infos(["LoRA"]))  # a whole name
    out = io.StringIO()
    code = run_quiz(practice, quiz_args(json=False, count=1, topic=["underwater basket"]),
                    io.BytesIO(GOOD.encode() + b"\n"), out)
    assert code == 0 and "a topic is one of" in out.getvalue() and "efficiency" in out.getvalue()


def test_quiz_readable_output(practice):
    out = io.StringIO()
    run_quiz(practice, quiz_args(json=False, count=1), io.BytesIO(GOOD.encode() + b"\n"), out)
    text = out.getvalue()
    assert "Score:" in text and "next review" in text and "Sources:" in text
    assert "(offline grader)" in text and "cannot judge" in text  # says what it cannot do


# --- users --------------------------------------------------------------------------------


def test_each_login_sees_only_their_own_progress_in_the_app(practice):
    from rag.app.study_tabs import StudyCallbacks

    cb = StudyCallbacks(practice, seed=1)
    ana, bob = SimpleNamespace(username="ana"), SimpleNamespace(username="bob")
    key = practice.next("ana", "random", ["efficiency"], ["open"], [], random.Random(2)).key
    practice.answer("ana", key, GOOD)
    summary_ana, _, _, recent_ana = cb.progress_view(ana)
    summary_bob, _, _, recent_bob = cb.progress_view(bob)
    assert len(recent_ana) == 1 and len(recent_bob) == 0
    assert "Profile: ana" in summary_ana and "Profile: bob" in summary_bob
    attempt = practice.user("ana").attempts()[0].id
    assert "no attempt" in cb.rerate("Easy", attempt, bob)  # not bob's to re-rate


def test_users_file_logins(tmp_path):
    from rag.app.users import hash_password, load_users, users_auth

    path = tmp_path / "users.txt"
    path.write_text(f"# team\nana:plain-secret\nbob:{hash_password('b0b-pass')}\n")
    check = users_auth(path)
    assert check("ana", "plain-secret") and check("bob", "b0b-pass")
    assert not check("bob", "wrong") and not check("eve", "plain-secret")
    path.write_text("no separator here\n")
    with pytest.raises(RagError, match="expected `name:password`"):
        load_users(path)
