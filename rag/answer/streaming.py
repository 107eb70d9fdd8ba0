"""Fewer, larger streamed updates: merge answer pieces that arrive close together.

A backend streams word-sized pieces.  Sending each one to a browser or an HTTP
client costs a full update (Gradio re-serialises the whole chat per update), so
the edges merge the pieces that arrive within ``interval_s`` of the last update:
an extractive answer (composed at once) becomes one update, an LLM answer one
update per ``interval_s``, still visibly streaming.
"""

from __future__ import annotations

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
