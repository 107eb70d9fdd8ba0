"""Build progress on stderr from the first second: one tqdm bar per stage, redrawn
every second even while a single large file is being processed, so a long stage
never looks like a hang."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager


class _Quiet:
    def update(self, n: int = 1) -> None:
        pass

    def set_postfix_str(self, text: str, refresh: bool = True) -> None:
        pass


@contextmanager
def stage(label: str, total: float, enabled: bool, unit: str = "it",
          scale: bool = False) -> Iterator[object]:
    """A progress bar for one build stage (a no-op when ``enabled`` is false)."""
    if not enabled:
        yield _Quiet()
        return
    from tqdm import tqdm

    with tqdm(total=total, desc=label, unit=unit, unit_scale=scale, mininterval=0.5,
              dynamic_ncols=True) as bar:
        done = threading.Event()
        ticker = threading.Thread(target=_tick, args=(bar, done), daemon=True)
        ticker.start()
        try:
            yield bar
        finally:
            done.set()
            ticker.join()


def _tick(bar, done: threading.Event) -> None:
    while not done.wait(1.0):
        bar.refresh()  # the elapsed time moves on although no item finished
