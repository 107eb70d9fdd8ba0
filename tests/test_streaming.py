"""Fewer, larger streamed updates: ``coalesce`` and the chat's ``stream_updates``."""

from __future__ import annotations

from rag.answer.streaming import coalesce
from rag.app.ui import stream_updates
from rag.records import Answer

ANSWER = Answer(question="q", text="a b c")


class FakeClock:
    """Each read advances by the next step (seconds)."""

    def __init__(self, *steps: float):
        self.now, self.steps = 0.0, list(steps)

    def __call__(self) -> float:
        self.now += self.steps.pop(0) if self.steps else 0.0
        return self.now


def test_pieces_arriving_together_become_one():
    assert list(coalesce(["a ", "b ", "c", ANSWER], 0.05, FakeClock())) == ["a b c", ANSWER]


def test_slow_pieces_are_released_every_interval():
    # clock reads: start, then one per piece (0.03 s apart), then at the answer
    clock = FakeClock(0, 0.03, 0.03, 0.03, 0.03, 0)
    out = list(coalesce(["a", "b", "c", "d", ANSWER], 0.05, clock))
    assert out == ["ab", "cd", ANSWER]
    assert "".join(p for p in out if isinstance(p, str)) == "abcd"


def test_order_and_trailing_text_are_kept():
    assert list(coalesce(["x", ANSWER, "y"], 1.0, FakeClock())) == ["x", ANSWER, "y"]
    assert list(coalesce([], 1.0)) == []


def test_chat_skips_text_that_the_answer_right_after_it_shows():
    assert list(stream_updates(["a ", "b", ANSWER], 0.05)) == [ANSWER]


def test_chat_streams_slow_text():
    def slow():
        import time

        for piece in ("a", "b", "c"):
            yield piece
            time.sleep(0.03)
        yield ANSWER
    # "a" waits for the next piece to be released with it; "c" is shown by the answer
    assert list(stream_updates(slow(), 0.01)) == ["ab", ANSWER]
