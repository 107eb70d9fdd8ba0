"""The Python API: ``Assistant.load()`` once, then ``ask()`` many times."""

from __future__ import annotations

import logging
import time
import unicodedata
from collections.abc import Iterator, Sequence

from rag.answer.extractive import Draft, ExtractiveBackend, related_papers
from rag.errors import BackendError, InvalidQuestion
from rag.records import Answer
from rag.search.build import BuildReport
from rag.search.conversation import is_elliptical, rewrite_followup
from rag.search.embed import Embedder
from rag.search.glossary import expand_acronyms
from rag.search.index import load_index
from rag.search.ready import open_index
from rag.search.retrieve import Retriever
from rag.search.stores.base import as_store, open_store
from rag.settings import Settings, load_settings

log = logging.getLogger(__name__)
_ALLOWED_CONTROL = {"\n", "\t", "\r"}


def validate_question(question: object, max_chars: int) -> str:
    """The question, trimmed; raises ``InvalidQuestion`` with a clear message."""
    if not isinstance(question, str):
        raise InvalidQuestion("the question must be text")
    text = question.strip()
    if not text:
        raise InvalidQuestion("the question is empty: type a question, e.g. "
                              "\"Why divide attention scores by sqrt(d_k)?\"")
    if len(text) > max_chars:
        raise InvalidQuestion(f"the question is too long ({len(text):,} characters; "
                              f"the limit is {max_chars:,}): shorten it")
    if any(unicodedata.category(ch) == "Cs" for ch in text):
        raise InvalidQuestion("the question is not valid UTF-8 text: re-type it or check "
                              "the encoding of your input")
    bad = sorted({ch for ch in text if unicodedata.category(ch) == "Cc"
                  and ch not in _ALLOWED_CONTROL})
    if bad:
        names = ", ".join(f"U+{ord(ch):04X}" for ch in bad[:5])
        raise InvalidQuestion(f"the question contains control characters ({names}): "
                              "remove them and ask again")
    return " ".join(text.split())


class Assistant:
    """Loads the model and index once; answers questions with cited passages."""

    def __init__(self, settings: Settings, embedder: Embedder, index, build: BuildReport | None):
        """``index``: a store (``rag.search.stores``) or a loaded FAISS build."""
        self.settings = settings
        self.embedder = embedder
        self.store = as_store(index)
        self.build_report = build
        self.notice = ""  # e.g. answering from the last good index, and why
        self.rebuild_pending = ""  # why the index is out of date ('' when it is not)
        self.retriever = Retriever(self.store, settings.retrieval)
        self.backends = {"extractive": ExtractiveBackend(self.store, settings.answer)}
        self.backends.update(_llm_backends(settings, self.backends["extractive"]))

    @property
    def index(self):
        """The whole index in memory: the loaded FAISS build, or (Milvus) every passage
        and sentence read once, for the question bank and ``rag eval``."""
        return getattr(self.store, "index", None) or self.store.corpus()

    @classmethod
    def load(cls, settings: Settings | None = None, build: bool = True,
             progress: bool = False, wait: bool = True) -> Assistant:
        """Load the index, building it first when it is missing or damaged.

        When the corpus (or ingestion code) changed since the index was built,
        ``wait=True`` rebuilds first and ``wait=False`` answers from the last good
        index at once (``rebuild_pending`` says why a rebuild is due).  When a rebuild
        fails, the last good index is used if there is one; ``notice`` then says so.
        ``build=False`` only loads (``IndexProblem`` unless the index is intact).

        With ``RAG_STORE=milvus`` nothing is built here (serving processes only read;
        ``rag build --store milvus`` publishes): a missing or mismatched index is
        refused with that fix."""
        settings = settings or load_settings()
        if settings.store != "faiss":  # connect first: an unreachable store fails fast
            store = open_store(settings)
            embedder = Embedder(settings.embedding)
            store.require_dim(embedder.dim)
            assistant = cls(settings, embedder, store, None)
            assistant.rebuild_pending = getattr(store, "stale", "")
            if assistant.rebuild_pending:
                assistant.notice = (f"the index in Milvus is out of date "
                                    f"({assistant.rebuild_pending}); answering from it "
                                    "until `rag build --store milvus` publishes a new one")
            return assistant
        embedder = Embedder(settings.embedding)
        if not build:
            return cls(settings, embedder, load_index(settings), None)
        opened = open_index(settings, embedder, wait=wait, progress=progress)
        assistant = cls(settings, embedder, opened.index, opened.report)
        assistant.notice, assistant.rebuild_pending = opened.notice, opened.pending
        return assistant

    @property
    def available_backends(self) -> list[str]:
        return list(self.backends)

    def ask(self, question: str, k: int | None = None, backend: str | None = None,
            history: Sequence[str] = ()) -> Answer:
        """Answer one question; raises ``InvalidQuestion`` for bad input.

        ``history`` holds the conversation's earlier (standalone) questions, oldest
        first; an elliptical follow-up is rewritten with them before retrieval.
        """
        answer = None
        for event in self.stream(question, k=k, backend=backend, history=history):
            if isinstance(event, Answer):
                answer = event
        assert answer is not None
        return answer

    def stream(self, question: str, k: int | None = None, backend: str | None = None,
               history: Sequence[str] = ()) -> Iterator[str | Answer]:
        """Yield answer text pieces as they are produced, then the final ``Answer``."""
        t0 = time.perf_counter()
        text, name = self._check(question, k, backend)
        search_query = self.search_query(text, history, backend=name)
        query_vec = self.embedder.encode_query(search_query)
        t1 = time.perf_counter()
        hits = self.retriever.search(search_query, query_vec, k=k)
        arxiv = {h.chunk.chunk_id: h.chunk.arxiv_ids for h in hits}
        t2 = time.perf_counter()
        draft = None
        for event in self.backends[name].stream(search_query, query_vec, hits):
            if isinstance(event, Draft):
                draft = event
            else:
                yield event
        t3 = time.perf_counter()
        yield self._finish(question, search_query, draft, arxiv, {
            "embed": (t1 - t0) * 1000, "retrieve": (t2 - t1) * 1000,
            "answer": (t3 - t2) * 1000, "total": (t3 - t0) * 1000})

    def search_query(self, question: str, history: Sequence[str] = (),
                     backend: str | None = None) -> str:
        """The standalone query retrieval uses for ``question`` in this conversation:
        follow-ups carry the previous question's terms; acronyms are spelled out.
        With an LLM answer ``backend``, the LLM rewrites an elliptical follow-up
        (the keyword heuristic is the fallback)."""
        past = [h for h in history if h and h.strip()]
        llm = getattr(self.backends.get(backend or self.settings.answer.backend), "condense", None)
        condensed = llm(question, past) if llm and past and is_elliptical(question) else None
        standalone = condensed or rewrite_followup(question, past)
        return expand_acronyms(standalone)

    def _check(self, question: str, k: int | None, backend: str | None) -> tuple[str, str]:
        text = validate_question(question, self.settings.answer.max_question_chars)
        name = backend or self.settings.answer.backend
        if name not in self.backends:
            raise BackendError(f"unknown or unavailable backend {name!r}; "
                               f"available: {', '.join(self.backends)}")
        if k is not None and not 1 <= k <= 50:
            raise InvalidQuestion(f"k must be between 1 and 50 (got {k})")
        return text, name

    def _finish(self, question: str, search_query: str, draft: Draft,
                chunk_arxiv: dict[str, tuple[str, ...]], timings: dict[str, float]) -> Answer:
        papers = related_papers(draft.citations, chunk_arxiv, self.store.papers)
        return Answer(
            question=question.strip(), text=draft.text, citations=tuple(draft.citations),
            abstained=draft.abstained, timings_ms=timings, backend=draft.backend,
            confidence=draft.confidence,
            search_query=search_query, related_papers=tuple(papers),
            unsupported_sentences=draft.unsupported_sentences,
            invalid_citations_removed=draft.invalid_citations_removed,
            fallback_reason=draft.fallback_reason)


def _llm_backends(settings: Settings, extractive: ExtractiveBackend) -> dict:
    """LLM backends the settings configure (``rag.answer.llm`` is imported only then)."""
    if not (settings.llm.base_url and settings.llm.model) and not settings.llm.gguf_path:
        return {}
    from rag.answer.llm import llm_backends

    return llm_backends(settings, extractive)
