"""The Python API: ``Assistant.load()`` once, then ``ask()`` many times."""

from __future__ import annotations

import logging
import numbers
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace

from rag.answer.extractive import Draft, ExtractiveBackend, related_papers
from rag.errors import BackendError, IndexProblem, InvalidQuestion, text_problem
from rag.records import Answer
from rag.search.build import BuildExtra, BuildReport, extras_reason
from rag.search.conversation import is_elliptical, rewrite_followup
from rag.search.embed import Embedder
from rag.search.glossary import expand_acronyms, use_learned
from rag.search.glossary import learn as learn_acronyms
from rag.search.index import load_index
from rag.search.names import QuestionNames
from rag.search.query import (
    correct_typos,
    dictionary_words,
    normalize,
    not_a_question,
    vocabulary,
)
from rag.search.ready import open_index
from rag.search.retrieve import Retriever
from rag.search.stores.base import StaleView, as_store, open_store
from rag.settings import Settings, load_settings

log = logging.getLogger(__name__)


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
    problem = text_problem(text, "the question", "ask")
    if problem:
        raise InvalidQuestion(problem)
    problem = not_a_question(text)
    if problem:
        raise InvalidQuestion(problem)
    return " ".join(text.split())


def recent_history(history: Sequence[str], turns: int, chars: int) -> list[str]:
    """The most recent earlier questions, oldest first: at most ``turns`` of them and
    ``chars`` characters together (``limits.history_turns`` / ``history_chars``)."""
    kept: list[str] = []
    used = 0
    for question in reversed(history[-turns:] if turns > 0 else []):
        used += len(question)
        if used > chars:
            break
        kept.append(question)
    return kept[::-1]


def check_arguments(k: object, backend: object, history: object) -> None:
    """Type checks of ``ask``/``stream`` arguments, with messages for the caller."""
    if k is not None and (isinstance(k, bool) or not isinstance(k, numbers.Integral)):
        raise InvalidQuestion(f"k must be a whole number from 1 to 50 (got {k!r})")
    if k is not None and not 1 <= k <= 50:
        raise InvalidQuestion(f"k must be between 1 and 50 (got {k})")
    if backend is not None and not isinstance(backend, str):
        raise BackendError(f"backend must be a name such as 'extractive' "
                           f"(got a {type(backend).__name__})")
    if isinstance(history, str | bytes) or not isinstance(history, Sequence):
        raise InvalidQuestion("history must be a list of the earlier questions "
                              f"(got a {type(history).__name__})")
    bad = next((i for i, h in enumerate(history) if not isinstance(h, str)), None)
    if bad is not None:
        raise InvalidQuestion(f"history must hold the earlier questions as text "
                              f"(item {bad} is a {type(history[bad]).__name__})")


@dataclass(frozen=True)
class _PerBuild:
    """What the assistant computes once per index build: the answer step's tables, the
    corpus' names and words, and a retriever bound to that build.  A question uses one
    of these from retrieval to citations, so positions always refer to one build."""

    view: object
    index: object
    retriever: Retriever
    backends: dict
    names: QuestionNames
    vocabulary: object
    chunk_arxiv: dict
    acronyms: dict  # those the material defines (rag.search.glossary.learn)


class Assistant:
    """Loads the model and index once; answers questions with cited passages."""

    def __init__(self, settings: Settings, embedder: Embedder, index, build: BuildReport | None):
        """``index``: a loaded FAISS build or a store (``rag.search.stores``)."""
        self.settings = settings
        self.embedder = embedder
        self.store = as_store(index)
        self.build_report = build
        self.notice = ""  # e.g. answering from the last good index, and why
        self.rebuild_pending = ""  # why the index is out of date ('' when it is not)
        self.dictionary = dictionary_words(getattr(embedder, "path", None))
        self._lock = threading.Lock()
        self._build = self._per_build(self.store.view())

    def _per_build(self, view) -> _PerBuild:
        index = view.corpus()
        acronyms = learn_acronyms(c.text for c in index.chunks)
        names = QuestionNames(index)
        extractive = ExtractiveBackend(index, self.settings.answer, self.settings.focus, names,
                                       self.dictionary)
        backends = {"extractive": extractive, **_llm_backends(self.settings, extractive)}
        words = vocabulary(f"{c.title} {c.section} {c.text}" for c in index.chunks)
        return _PerBuild(view, index, Retriever(view, self.settings.retrieval), backends,
                         names, words,
                         {c.chunk_id: c.arxiv_ids for c in index.chunks}, acronyms)

    def _current(self, fresh: bool = False) -> _PerBuild:
        """The per-build parts of the build served now (a Milvus store may have switched
        to a newer build: its parts are computed once, by the first question to see it)."""
        view = self.store.view(fresh)
        if view is self._build.view:
            return self._build
        with self._lock:
            if self._build.view is not view:
                self._build = self._per_build(view)
                self.rebuild_pending = getattr(self.store, "stale", "")
            return self._build

    # The current build's parts, as attributes (the app, the study tools and tests read
    # them; a test may replace the retriever).
    @property
    def index(self):
        return self._build.index

    @property
    def retriever(self) -> Retriever:
        return self._build.retriever

    @retriever.setter
    def retriever(self, retriever: Retriever) -> None:
        self._build = replace(self._build, retriever=retriever)

    @property
    def backends(self) -> dict:
        return self._build.backends

    @property
    def names(self) -> QuestionNames:
        return self._build.names

    @property
    def vocabulary(self):
        return self._build.vocabulary

    @property
    def chunk_arxiv(self) -> dict:
        return self._build.chunk_arxiv

    @classmethod
    def load(cls, settings: Settings | None = None, build: bool = True,
             progress: bool = False, wait: bool = True,
             extras: Sequence[BuildExtra] = ()) -> Assistant:
        """Load the index, building it first when it is missing or damaged.

        When the corpus (or ingestion code) changed since the index was built,
        ``wait=True`` rebuilds first and ``wait=False`` answers from the last good
        index at once (``rebuild_pending`` says why a rebuild is due).  When a rebuild
        fails, the last good index is used if there is one; ``notice`` then says so.
        ``build=False`` only loads (``IndexProblem`` unless the index is intact).
        ``extras`` are precomputations stored with the index (e.g. the question bank):
        an index without them (or with outdated ones) is rebuilt.

        With ``RAG_STORE=milvus`` nothing is built here (serving processes only read;
        ``rag build --store milvus`` publishes): a missing or mismatched index (or one
        without the ``extras``) is refused with that fix; a changed corpus is served
        until it is republished."""
        settings = settings or load_settings()
        if settings.store != "faiss":
            return cls._load_store(settings, extras)
        embedder = Embedder(settings.resolved_embedding())
        embedder.preload()  # the query model loads while the index does
        if not build:
            return cls(settings, embedder, load_index(settings), None)
        opened = open_index(settings, embedder, wait=wait, progress=progress, extras=extras)
        assistant = cls(settings, embedder, opened.index, opened.report)
        assistant.notice, assistant.rebuild_pending = opened.notice, opened.pending
        return assistant

    @classmethod
    def _load_store(cls, settings: Settings, extras: Sequence[BuildExtra] = ()) -> Assistant:
        store = open_store(settings)  # before the model: an unreachable store fails fast
        problem = extras_reason(store.manifest, extras)
        if problem:
            raise IndexProblem(f"the index in Milvus ({store.describe()}) has no up-to-date "
                               f"{problem.split(' precomputation')[0]} precomputation; run "
                               "`rag build --store milvus`")
        embedder = Embedder(settings.resolved_embedding())
        store.require_dim(embedder.dim)
        assistant = cls(settings, embedder, store, None)
        assistant.rebuild_pending = store.stale
        if store.stale:
            assistant.notice = (f"the index in Milvus is out of date ({store.stale}); "
                                "answering from it until `rag build --store milvus` "
                                "publishes a new one")
        return assistant

    def reloaded(self) -> Assistant:
        """A new assistant over the current index (e.g. after `rag add`), sharing this
        one's model.  This one is left as it was, so requests it is serving finish."""
        index = (load_index(self.settings) if self.store.kind == "faiss"
                 else open_store(self.settings, self.embedder.dim))
        return type(self)(self.settings, self.embedder, index, self.build_report)

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
        text, name = self._check(question, k, backend, history)
        use_learned(self._current().acronyms)  # this index's, should another have loaded
        search_query = self.search_query(text, history, backend=name)
        query_vec = self.embedder.encode_query(search_query)
        t1 = time.perf_counter()
        current, hits = self._retrieve(search_query, query_vec, k)
        t2 = time.perf_counter()
        draft = None
        for event in current.backends[name].stream(search_query, query_vec, hits):
            if isinstance(event, Draft):
                draft = event
            else:
                yield event
        t3 = time.perf_counter()
        yield self._finish(question, search_query, draft, current, hits, {
            "embed": (t1 - t0) * 1000, "retrieve": (t2 - t1) * 1000,
            "answer": (t3 - t2) * 1000, "total": (t3 - t0) * 1000})

    def _retrieve(self, query: str, query_vec, k: int | None) -> tuple[_PerBuild, list]:
        """The build to answer on and its hits (once more on the build served now when a
        Milvus build was dropped under this question)."""
        def search(current: _PerBuild) -> list:
            names = current.names
            return current.retriever.search(query, query_vec, k=k, pinned=names.pinned(query),
                                            named=names.named(query))

        current = self._current()
        try:
            return current, search(current)
        except StaleView:
            current = self._current(fresh=True)
            return current, search(current)

    def search_query(self, question: str, history: Sequence[str] = (),
                     backend: str | None = None) -> str:
        """The standalone query retrieval uses for ``question`` in this conversation:
        follow-ups carry the previous question's terms; acronyms are spelled out.
        With an LLM answer ``backend``, the LLM rewrites an elliptical follow-up
        (the keyword heuristic is the fallback)."""
        limits = self.settings.limits
        past = [self.clean(h) for h in recent_history(
            [h for h in history if h and h.strip()], limits.history_turns,
            limits.history_chars)]
        question = self.clean(question)
        llm = getattr(self.backends.get(backend or self.settings.answer.backend), "condense", None)
        follow_up = is_elliptical(question, self.names_subject)
        condensed = llm(question, past) if llm and past and follow_up else None
        standalone = condensed or rewrite_followup(question, past, self.names_subject)
        return expand_acronyms(standalone)

    def standalone_history(self, questions: Sequence[str]) -> list[str]:
        """The conversation's earlier questions (as asked, oldest first) as retrieval saw
        them: the most recent ones (``limits``), each follow-up rewritten with the ones
        before it, as the app does.  The result is the ``history`` ``ask``/``stream`` take."""
        limits = self.settings.limits
        history: list[str] = []
        for question in recent_history([q for q in questions if q and q.strip()],
                                       limits.history_turns, limits.history_chars):
            history.append(self.search_query(question, history))
        return history

    def names_subject(self, question: str) -> bool:
        """Does the question name a known paper, method or acronym of its own?"""
        return bool(self.names.found(question)) or expand_acronyms(question) != question

    def clean(self, question: str) -> str:
        """The question as search sees it: Unicode maths and casual phrasing normalised,
        typos of corpus words corrected."""
        return correct_typos(normalize(question), self.vocabulary,
                             dictionary=self.dictionary)

    def _check(self, question: str, k: int | None, backend: str | None,
               history: Sequence[str] = ()) -> tuple[str, str]:
        text = validate_question(question, self.settings.answer.max_question_chars)
        check_arguments(k, backend, history)
        name = backend or self.settings.answer.backend
        if name not in self.backends:
            raise BackendError(f"unknown or unavailable backend {name!r}; "
                               f"available: {', '.join(self.backends)}")
        return text, name

    def _finish(self, question: str, search_query: str, draft: Draft, current: _PerBuild,
                hits: Sequence, timings: dict[str, float]) -> Answer:
        arxiv = {**current.chunk_arxiv, **{h.chunk.chunk_id: h.chunk.arxiv_ids for h in hits}}
        papers = related_papers(draft.citations, arxiv, current.index.papers)
        return Answer(
            question=question.strip(), text=draft.text, citations=tuple(draft.citations),
            abstained=draft.abstained, timings_ms=timings, backend=draft.backend,
            confidence=draft.confidence,
            search_query=search_query, related_papers=tuple(papers),
            unsupported_sentences=draft.unsupported_sentences,
            invalid_citations_removed=draft.invalid_citations_removed,
            fallback_reason=draft.fallback_reason,
            coverage=draft.coverage if not draft.abstained or draft.coverage in (
                "mentioned", "none") else "none")


def _llm_backends(settings: Settings, extractive: ExtractiveBackend) -> dict:
    """LLM backends the settings configure (``rag.answer.llm`` is imported only then)."""
    if not (settings.llm.base_url and settings.llm.model) and not settings.llm.gguf_path:
        return {}
    from rag.answer.llm import llm_backends

    return llm_backends(settings, extractive)
