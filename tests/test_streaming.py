"""Fewer, larger streamed updates: ``coalesce``, ``paced`` and the chat's ``stream_updates``."""

from __future__ import annotations

from rag.answer.streaming import coalesce, paced
from rag.app.ui import stream_updates
from rag.records import Answer
from rag.settings import AppSettings

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


def test_paced_spreads_instant_text_over_a_few_updates():
    words = "one two three four five six seven eight nine ten"
    naps = []
    out = list(paced([words, ANSWER], delay_s=0.01, interval_s=0.02, max_s=0.06,
                     sleep=naps.append))
    assert out[-1] is ANSWER and "".join(out[:-1]) == words
    assert len(out) - 1 == 3 and naps == [0.02, 0.02]  # capped by max_s: 3 updates
    assert list(paced([words, ANSWER], 0, 0.02, 0.06, sleep=naps.append)) == [words, ANSWER]


def test_chat_sends_paced_updates_and_leaves_the_last_to_the_answer():
    app = AppSettings(stream_delay_ms=10, stream_interval_ms=20, stream_max_ms=60)
    words = "one two three four five six seven eight nine ten"
    out = list(stream_updates([words, ANSWER], app))
    assert out[-1] is ANSWER and len(out) == 3  # 2 text updates; the third is the answer's
    assert words.startswith("".join(out[:-1]))
    instant = AppSettings(stream_delay_ms=0)
    assert list(stream_updates(["a ", "b", ANSWER], instant)) == [ANSWER]


def test_chat_streams_slow_text():
    def slow():
        import time

        for piece in ("a", "b", "c"):
            yield piece
            time.sleep(0.03)
        yield ANSWER
    # "a" waits for the next piece to be released with it; "c" is shown by the answer
    app = AppSettings(stream_delay_ms=0, stream_interval_ms=10)
    assert list(stream_updates(slow(), app)) == ["ab", ANSWER]
