"""Fewer, larger streamed updates: merge answer pieces that arrive close together.

A backend streams word-sized pieces.  Sending each one to a browser or an HTTP
client costs a full update (Gradio re-serialises the whole chat per update), so
the edges merge the pieces that arrive within ``interval_s`` of the last update:
an extractive answer (composed at once) becomes one update, an LLM answer one
update per ``interval_s``, still visibly streaming.  ``paced`` then spreads text that
arrived at once over a few updates, so an instant answer still reads as it streams
without one update per word.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable, Iterable, Iterator


def coalesce(events: Iterable[object], interval_s: float = 0.05,
             clock: Callable[[], float] = time.monotonic) -> Iterator[object]:
    """``events`` with consecutive ``str`` pieces merged: a merged piece is released
    when ``interval_s`` has passed since the last release, before any non-``str``
    event, and at the end.  Other events pass through unchanged, in order."""
    pending: list[str] = []
    last = clock()
    for event in events:
        if not isinstance(event, str):
            if pending:
                yield "".join(pending)
                pending = []
            yield event
            last = clock()
            continue
        pending.append(event)
        now = clock()
        if now - last >= interval_s:
            yield "".join(pending)
            pending = []
            last = now
    if pending:
        yield "".join(pending)


def paced(events: Iterable[object], delay_s: float, interval_s: float, max_s: float,
          sleep: Callable[[float], None] = time.sleep) -> Iterator[object]:
    """``coalesce``d events, with text that arrives at once (an extractive answer is
    composed in a few ms) revealed over time so that it still reads as it streams: about
    one word per ``delay_s``, in one update per ``interval_s``, the whole piece taking at
    most ``max_s``.  Text that arrives slowly (an LLM's) is sent as it comes."""
    for event in coalesce(events, interval_s):
        if not isinstance(event, str) or delay_s <= 0:
            yield event
            continue
        words = re.findall(r"\S+\s*|\s+", event)
        steps = max(1, min(math.ceil(len(words) * delay_s / interval_s),
                           math.ceil(max_s / interval_s)))
        size = math.ceil(len(words) / steps)
        for start in range(0, len(words), size):
            if start:
                sleep(interval_s)
            yield "".join(words[start:start + size])
