"""Keep the app answering while its index is rebuilt.

When the corpus changed since the index was built, the app starts at once on the
last good index and rebuilds in a background thread; when the new build is ready, a
new ``Assistant`` and question bank are swapped in together (requests in flight
finish on the old ones).  A status line at the top of the page says what is going on.
"""

from __future__ import annotations

import logging
import threading

from rag.app import present
from rag.assistant import Assistant
from rag.search.embed import Embedder
from rag.search.stores.base import open_store
from rag.search.stores.update import rebuild

log = logging.getLogger(__name__)


class Refresher:
    """Rebuilds the index of ``callbacks.assistant`` in the background and swaps it in."""

    def __init__(self, callbacks, bank_for=lambda assistant: None, embedder_factory=Embedder,
                 extras=()):
        self.callbacks = callbacks
        self.bank_for = bank_for  # the rebuilt index's question bank / practice loop
        self.extras = list(extras)  # precomputations stored with the index (the bank)
        self.embedder_factory = embedder_factory
        self.status = callbacks.assistant.notice
        if callbacks.assistant.rebuild_pending:
            self.status += "; a rebuild is due"
        self.thread: threading.Thread | None = None

    def start(self) -> threading.Thread:
        self.status = f"{self.callbacks.assistant.notice}; rebuilding in the background"
        self.thread = threading.Thread(target=self._run, name="index-rebuild", daemon=True)
        self.thread.start()
        return self.thread

    def _run(self) -> None:
        old = self.callbacks.assistant
        try:  # its own model instance: a tokenizer shared across threads can fail
            embedder = self.embedder_factory(old.settings.resolved_embedding())
            report = rebuild(old.settings, embedder, extras=self.extras)
            fresh = Assistant(old.settings, old.embedder,
                              open_store(old.settings, old.embedder.dim), report)
            bank = self.bank_for(fresh)
        except Exception as exc:  # noqa: BLE001 - keep serving the last good index
            log.warning("background rebuild failed: %s", exc)
            self.status = (f"the rebuild failed ({exc}); still answering from the last "
                           "good index")
            return
        self.callbacks.use(fresh, bank)
        self.status = ""
        log.info("index rebuilt (%s); now answering from %s", report.reason,
                 fresh.index.build_dir)

    def status_html(self) -> str:
        """The status line ('' when the index is current)."""
        return present.notice_html(f"Note: {self.status}.") if self.status else ""
