"""LLM answer backends: any OpenAI-compatible server, or a local GGUF via llama.cpp.

Both follow the ``rag.answer.extractive.Backend`` protocol (``stream`` yields text pieces,
then one ``Draft``) and share one flow (``LLMBackend.stream``):

1. The extractive answer is computed first (milliseconds).  When it abstains,
   the retrieved passages do not answer the question: the LLM is not called and
   the extractive abstention is returned (``backend="extractive"``, ``fallback_reason``
   says why).
2. Otherwise the grounded prompt (``rag.answer.prompts``) is sent and tokens are yielded
   as they arrive, already passed through ``rag.answer.citations.CitationRewriter``
   (invalid markers dropped, valid ones renumbered by first use).
3. The finished text is judged by ``rag.answer.citations``: cites a listed passage →
   the LLM answer (``unsupported_sentences`` flags uncited sentences); no valid
   marker but says the passages do not answer → ``abstained=True``; anything
   else (or any failure) → the extractive answer with ``fallback_reason``.

Invariant: ``Draft.backend`` names the backend that produced the text, and
``fallback_reason`` is set exactly when that is not the backend asked for.  The
final ``Answer.text`` is authoritative: when a fallback happens after tokens
were already shown, no further pieces are streamed and consumers show the final
text instead.

Failures (connection refused, timeout, HTTP 408/429/5xx, malformed response)
are retried with exponential backoff while no token has been shown, all within
``settings.llm.timeout_s``; other 4xx answers are not retried.  Messages are
built from the error's kind, never from its text, so the API key (read only
from the environment variable ``settings.llm.api_key_env``) cannot leak.
Heavy imports (llama-index's OpenAI client, llama_cpp) happen on first use.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from urllib.parse import urlsplit, urlunsplit

import numpy as np

from rag.answer.citations import CitationRewriter, fallback_reason
from rag.answer.extractive import (
    Draft,
    ExtractiveBackend,
    build_citations,
    citation_order,
    word_pieces,
)
from rag.answer.llm_probe import crash_reason
from rag.answer.prompts import answer_messages, condense_messages
from rag.records import Hit
from rag.search.conversation import content_terms
from rag.settings import Settings

log = logging.getLogger(__name__)
Messages = list[tuple[str, str]]
_RETRY_STATUS = {408, 409, 429}


class LLMUnavailable(Exception):
    """The model could not produce an answer; the message is safe to show."""


@dataclass(frozen=True)
class Failure:
    """What went wrong with one request, described without the error's own text."""

    reason: str
    retryable: bool


def safe_url(url: str) -> str:
    """The URL without user info, query or fragment (they may hold credentials)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def backoff_delays(retries: int, base_s: float) -> list[float]:
    """Exponential waits between attempts: base, 2·base, 4·base, ..."""
    return [base_s * 2**i for i in range(retries)]


def _caused_by(exc: BaseException, kind: type) -> bool:
    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, kind):
            return True
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return False


def classify_openai_error(exc: Exception, url: str, timeout_s: float, key_env: str) -> Failure:
    """A safe, user-facing description of an OpenAI-client error and whether to retry."""
    import openai

    if isinstance(exc, openai.APITimeoutError):
        return Failure(f"timed out after {timeout_s:g} s waiting for {url}", True)
    if isinstance(exc, openai.APIConnectionError):
        if _caused_by(exc, ConnectionRefusedError):
            return Failure(f"connection refused at {url}", True)
        return Failure(f"cannot connect to {url}", True)
    if isinstance(exc, openai.APIStatusError):
        code = exc.status_code
        key_hint = f" (check the API key in ${key_env})"
        hint = {401: key_hint, 403: key_hint,
                404: " (check the base URL and the model name)"}.get(code, "")
        return Failure(f"HTTP {code} from {url}{hint}", code >= 500 or code in _RETRY_STATUS)
    if isinstance(exc, (openai.APIResponseValidationError, json.JSONDecodeError, ValueError,
                        KeyError, TypeError, AttributeError, IndexError)):
        return Failure(f"malformed response from {url}", True)
    return Failure(f"{type(exc).__name__} talking to {url}", False)


def with_retries(attempt: Callable[[float], Iterator[str]],
                 classify: Callable[[Exception], Failure],
                 retries: int, backoff_s: float, timeout_s: float) -> Iterator[str]:
    """Yield from ``attempt(remaining_s)``; retry retryable failures before the first
    piece, with backoff, while the ``timeout_s`` budget lasts; else ``LLMUnavailable``."""
    deadline = time.monotonic() + timeout_s
    waits = backoff_delays(retries, backoff_s)
    for n in range(retries + 1):
        started = False
        try:
            for piece in attempt(max(deadline - time.monotonic(), 0.05)):
                started = True
                yield piece
            return
        except Exception as exc:  # noqa: BLE001 - every failure becomes a fallback
            failure = classify(exc)
            log.debug("LLM attempt %d failed: %s (%s)", n + 1, failure.reason, type(exc).__name__)
            left = deadline - time.monotonic()
            if started or not failure.retryable or n == retries or left <= waits[n]:
                tries = f" after {n + 1} attempts" if n else ""
                raise LLMUnavailable(failure.reason + tries) from None
            time.sleep(waits[n])


def env_bearer_auth(env_var: str):
    """An ``httpx.Auth`` that sends ``Bearer $env_var`` (read per request) or no header."""
    import httpx

    class EnvBearerAuth(httpx.Auth):
        def auth_flow(self, request):
            key = os.environ.get(env_var, "").strip()
            if key:
                request.headers["Authorization"] = f"Bearer {key}"
            else:
                request.headers.pop("Authorization", None)
            yield request

        def __repr__(self) -> str:
            return f"EnvBearerAuth(${env_var})"

    return EnvBearerAuth()


class LLMBackend:
    """Shared flow of the LLM backends; subclasses implement ``generate``."""

    name = "llm"

    def __init__(self, settings: Settings, extractive: ExtractiveBackend):
        self.llm_settings = settings.llm
        self.answer_settings = settings.answer
        self.extractive = extractive

    def generate(self, messages: Messages, max_tokens: int) -> Iterator[str]:
        """Yield raw text pieces from the model; raise ``LLMUnavailable`` on failure."""
        raise NotImplementedError

    def stream(self, question: str, query_vec: np.ndarray,
               hits: Sequence[Hit]) -> Iterator[str | Draft]:
        base = self.extractive.answer(question, query_vec, hits)
        if base.abstained:
            yield from self._fallback(base, "the retrieved passages do not answer the "
                                      f"question (extractive check); {self.name} not called")
            return
        top = list(hits[: self.answer_settings.passages_for_answer])
        rewriter = CitationRewriter(len(top))
        shown = False
        try:
            for piece in self.generate(answer_messages(question, top),
                                       self.llm_settings.max_tokens):
                text = rewriter.feed(piece)
                shown = shown or bool(text)
                if text:
                    yield text
        except LLMUnavailable as exc:
            log.warning("%s backend unavailable: %s", self.name, exc)
            yield from self._fallback(base, f"{self.name} backend unavailable: {exc}", shown)
            return
        tail = rewriter.flush()
        if tail:
            yield tail
        yield from self._judge(rewriter, base, hits, shown or bool(tail))

    def _judge(self, rewriter: CitationRewriter, base: Draft, hits: Sequence[Hit],
               shown: bool) -> Iterator[str | Draft]:
        checked = rewriter.finish()
        reason = fallback_reason(checked, self.name)
        if reason:
            yield from self._fallback(base, reason, shown)
            return
        ranks = [n - 1 for n in checked.cited]
        citations = build_citations(hits, citation_order(ranks, len(hits)), set(ranks), {})
        yield Draft(checked.text, citations, checked.abstained, self.name,
                    unsupported_sentences=checked.unsupported,
                    invalid_citations_removed=checked.invalid_removed,
                    coverage="none" if checked.abstained else base.coverage)

    def _fallback(self, base: Draft, reason: str, shown: bool = False) -> Iterator[str | Draft]:
        if not shown:
            yield from word_pieces(base.text)
        yield replace(base, fallback_reason=reason)

    def condense(self, question: str, history: Sequence[str]) -> str | None:
        """A standalone question from the LLM, or None (caller uses the heuristic)."""
        try:
            text = "".join(self.generate(condense_messages(question, history), 64))
        except LLMUnavailable as exc:
            log.info("follow-up condensation skipped: %s", exc)
            return None
        return clean_condensed(text, question, history, self.answer_settings.max_question_chars)


def clean_condensed(text: str, question: str, history: Sequence[str],
                    max_chars: int) -> str | None:
    """The model's rewrite if it looks like one question on the same topic, else None."""
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    if not lines:
        return None
    line = lines[0].removeprefix("Standalone question:").strip().strip("\"'` ")
    topic = {t.lower() for t in content_terms(" ".join([*history[-1:], question]))}
    if not 8 <= len(line) <= max_chars or not topic & {t.lower() for t in content_terms(line)}:
        return None
    return " ".join(line.split())


class OpenAIBackend(LLMBackend):
    """Any OpenAI-compatible chat endpoint (Ollama, vLLM, llama.cpp server, OpenAI)."""

    name = "openai"

    def __init__(self, settings: Settings, extractive: ExtractiveBackend,
                 extra_body: dict | None = None):
        super().__init__(settings, extractive)
        if not (settings.llm.base_url and settings.llm.model):
            raise ValueError("the openai backend needs settings.llm.base_url and .model")
        self.url = safe_url(settings.llm.base_url)
        self.extra_body = dict(extra_body or {})
        self._llm = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"OpenAIBackend(url={self.url!r}, model={self.llm_settings.model!r})"

    def _client(self):
        """The llama-index client, built once.  It never holds the API key: the
        ``EnvBearerAuth`` of its HTTP client reads it at each request."""
        with self._lock:
            if self._llm is None:
                import openai
                from llama_index.llms.openai_like import OpenAILike

                s = self.llm_settings
                self._llm = OpenAILike(
                    model=s.model, api_base=s.base_url, is_chat_model=True,
                    api_key="from-environment", temperature=s.temperature, max_tokens=None,
                    timeout=s.timeout_s, max_retries=0,  # retries: see with_retries
                    context_window=s.n_ctx, http_client=openai.DefaultHttpxClient(
                        auth=env_bearer_auth(s.api_key_env)))
                self._llm._get_client()  # build the SDK client now, outside the time budget
            return self._llm

    def generate(self, messages: Messages, max_tokens: int) -> Iterator[str]:
        s = self.llm_settings
        self._client()  # the first call imports the client: not part of the time budget
        yield from with_retries(
            lambda remaining: self._attempt(messages, max_tokens, remaining),
            lambda exc: classify_openai_error(exc, self.url, s.timeout_s, s.api_key_env),
            s.retries, s.backoff_s, s.timeout_s)

    def _attempt(self, messages: Messages, max_tokens: int, timeout_s: float) -> Iterator[str]:
        from llama_index.core.llms import ChatMessage  # already imported by _client()

        chat = [ChatMessage(role=role, content=content) for role, content in messages]
        kwargs = {"max_tokens": max_tokens, "timeout": timeout_s}
        if self.extra_body:
            kwargs["extra_body"] = self.extra_body
        for response in self._client().stream_chat(chat, **kwargs):
            if response.delta:
                yield response.delta


class LlamaCppBackend(LLMBackend):
    """A local GGUF model run in-process by ``llama-cpp-python`` (the ``llm`` extra)."""

    name = "llamacpp"

    def __init__(self, settings: Settings, extractive: ExtractiveBackend):
        super().__init__(settings, extractive)
        if not settings.llm.gguf_path:
            raise ValueError("the llamacpp backend needs settings.llm.gguf_path")
        self.path = settings.llm.gguf_path
        self._model = None
        self._lock = threading.Lock()  # one generation at a time: Llama is not thread-safe

    def __repr__(self) -> str:
        return f"LlamaCppBackend(path={self.path!r})"

    def _load(self):
        if self._model is None:
            try:
                from llama_cpp import Llama

                s = self.llm_settings
                crashed = crash_reason(self.path, s.n_ctx, s.chat_format, s.n_threads) \
                    if os.path.isfile(self.path) else None
                if crashed:
                    raise LLMUnavailable(crashed)
                threads = {"n_threads": s.n_threads, "n_threads_batch": s.n_threads} \
                    if s.n_threads else {}
                self._model = Llama(model_path=self.path, n_ctx=s.n_ctx, verbose=False,
                                    chat_format=s.chat_format, **threads)
            except ImportError:
                raise LLMUnavailable("llama-cpp-python is not installed: "
                                     "pip install -e '.[llm]'") from None
            except (ValueError, OSError, RuntimeError) as exc:
                raise LLMUnavailable(f"cannot load the GGUF model {self.path} "
                                     f"({type(exc).__name__})") from None
        return self._model

    def generate(self, messages: Messages, max_tokens: int) -> Iterator[str]:
        with self._lock:
            model = self._load()
            try:
                for chunk in model.create_chat_completion(
                        messages=[{"role": r, "content": c} for r, c in messages],
                        stream=True, temperature=self.llm_settings.temperature,
                        max_tokens=max_tokens):
                    piece = chunk["choices"][0]["delta"].get("content")
                    if piece:
                        yield piece
            except (ValueError, RuntimeError, KeyError, IndexError) as exc:
                raise LLMUnavailable(f"generation failed ({type(exc).__name__})") from None


def llm_backends(settings: Settings, extractive: ExtractiveBackend) -> dict[str, LLMBackend]:
    """The LLM backends the settings configure: ``openai`` (base URL and model set),
    ``llamacpp`` (GGUF path set and llama-cpp-python installed)."""
    found: dict[str, LLMBackend] = {}
    if settings.llm.base_url and settings.llm.model:
        found["openai"] = OpenAIBackend(settings, extractive)
    if settings.llm.gguf_path:
        if importlib.util.find_spec("llama_cpp") is not None:
            found["llamacpp"] = LlamaCppBackend(settings, extractive)
        else:
            log.warning("settings.llm.gguf_path is set but llama-cpp-python is not "
                        "installed (pip install -e '.[llm]'); llamacpp backend disabled")
    return found
