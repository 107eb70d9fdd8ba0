"""Get an index ready to serve: load it, repair or refresh it, or fall back to the
last good build, so that one bad input never takes answering down.

- An intact, up-to-date index loads as it is.
- A missing or damaged one is (re)built first: there is nothing else to serve.
- One that is valid but out of date (the corpus or the ingestion code changed) is
  rebuilt first when ``wait`` is true; otherwise it is served at once and the
  caller learns that a rebuild is pending (``Opened.pending``).
- When the (re)build fails (an unreadable corpus, a bug), the last good index is
  served with a notice saying why, if there is one.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from rag.errors import IndexProblem, RagError
from rag.search.build import BuildExtra, BuildReport, build_index, extras_reason
from rag.search.embed import Embedder
from rag.search.index import LoadedIndex, load_index
from rag.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class Opened:
    index: LoadedIndex
    report: BuildReport | None = None
    notice: str = ""  # for the user: answers come from an older build, and why
    pending: str = ""  # why a rebuild is due ('' when none is)


def open_index(settings: Settings, embedder: Embedder, wait: bool = True,
               progress: bool = False, extras: Sequence[BuildExtra] = ()) -> Opened:
    """The index to answer from (see the module docstring); raises only when there is
    no good index at all and none can be built.  An index lacking one of ``extras``'
    precomputations (or holding an outdated one) is rebuilt with them."""
    try:
        index = load_index(settings)
        if not extras_reason(index.manifest, extras):
            return Opened(index)
        return _add_extras(settings, embedder, index, progress, extras)
    except IndexProblem as exc:
        problem = str(exc)
    last_good = _last_good(settings)
    if last_good is not None and not wait:
        return Opened(last_good, notice=pending_notice(last_good), pending=last_good.stale)
    try:
        report = build_index(settings, embedder, progress=progress, extras=extras)
        return Opened(load_index(settings), report)
    except Exception as exc:  # noqa: BLE001 - any failure falls back to the last good index
        if last_good is None:
            raise
        reason = str(exc) if isinstance(exc, RagError) else f"{type(exc).__name__}: {exc}"
        log.warning("rebuild failed (%s); index problem was: %s", reason, problem)
        return Opened(last_good, notice=f"the index could not be rebuilt ({reason}); "
                      f"answering from the last good index ({built_at(last_good)})")


def _add_extras(settings: Settings, embedder: Embedder, index: LoadedIndex, progress: bool,
                extras: Sequence[BuildExtra]) -> Opened:
    """Rebuild a good index whose extras are missing or outdated; if that fails, serve
    it as it is (answering works; the extra's user reports what is missing)."""
    try:
        report = build_index(settings, embedder, progress=progress, extras=extras)
        return Opened(load_index(settings), report)
    except Exception as exc:  # noqa: BLE001 - the index itself is still good
        log.warning("adding build extras failed: %s", exc)
        return Opened(index)


def _last_good(settings: Settings) -> LoadedIndex | None:
    try:
        return load_index(settings, allow_stale=True)
    except IndexProblem:
        return None


def built_at(index: LoadedIndex) -> str:
    """"built 2026-11-30 20:53 UTC" from the manifest."""
    stamp = str(index.manifest.get("created_at", "at an unknown time"))
    return "built " + stamp.replace("T", " ")[:16] + (" UTC" if stamp[:4].isdigit() else "")


def pending_notice(index: LoadedIndex) -> str:
    what = "the corpus" if index.stale.startswith("corpus") else "the ingestion code"
    return (f"{what} changed since the index was {built_at(index)}; answering from the "
            "last good index until the rebuild finishes")
