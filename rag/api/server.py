"""The FastAPI application: thin routes over a loaded ``Assistant``.

Routes (every one requires the API key when ``RAG_API_KEY`` is set):

* ``POST /api/ask``: ``{question, k?, backend?, history?}`` -> the ``rag ask --json`` object;
* ``GET /api/health``: what is served;
* ``POST /v1/chat/completions`` (JSON or server-sent events) and ``GET /v1/models``:
  the OpenAI chat-completions API, so existing chat clients can use the assistant.

Answers run in worker threads (``settings.api.threads`` at once) because the model
and index calls are blocking; errors are JSON (``{"error": {"message", "type",
"code"}}``), never a traceback.  ``app.py`` mounts the Gradio UI on this same app.
"""

import itertools
import logging
from collections.abc import Callable
from functools import partial

import anyio
from fastapi import APIRouter, Depends, FastAPI, Request, Security
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from fastapi.security import HTTPBearer
from starlette.exceptions import HTTPException as StarletteHTTPException

from rag.answer.render import format_answer
from rag.answer.streaming import coalesce
from rag.api import openai_compat as oai
from rag.api.schemas import (
    AskResponse,
    ChatCompletion,
    ErrorResponse,
    Health,
    ModelList,
    ask_request_model,
    chat_request_model,
)
from rag.api.security import ApiAuth, error_body
from rag.assistant import validate_question
from rag.errors import BackendError, InvalidQuestion, RagError
from rag.settings import Settings

log = logging.getLogger("rag.api")
VERSION = "1"
_ERRORS = {code: {"model": ErrorResponse, "description": text} for code, text in (
    (400, "Bad input: the message says what to fix"), (401, "Missing or wrong API key"),
    (413, "Request body too large"), (422, "The request does not match the schema"),
    (500, "Internal error (details are in the server log, never in the response)"))}


class ApiError(Exception):
    def __init__(self, status: int, message: str, kind: str, code: str | None = None):
        super().__init__(message)
        self.status, self.message, self.kind, self.code = status, message, kind, code


def _json_error(status: int, message: str, kind: str, code: str | None = None,
                headers: dict | None = None) -> JSONResponse:
    return JSONResponse(error_body(message, kind, code), status_code=status, headers=headers)


def create_api(assistant, settings: Settings | None = None,
               auth: ApiAuth | None = None) -> FastAPI:
    """The API application for a loaded assistant.  Request-body limits are the
    server's (``rag.app.limits``, added by ``app.py`` and ``rag serve`` around it)."""
    settings = settings or assistant.settings
    auth = auth or ApiAuth()
    app = FastAPI(title="Interview-prep research assistant API", version=VERSION,
                  docs_url=None, redoc_url=None,  # the docs pages load scripts from a CDN
                  description="Cited answers over the AI reading list. Errors are JSON: "
                  '{"error": {"message", "type", "code"}}.')
    limiter = anyio.CapacityLimiter(settings.api.threads)

    async def run(fn: Callable, *args, **kwargs):
        return await anyio.to_thread.run_sync(partial(fn, *args, **kwargs), limiter=limiter)

    def require_key(request: Request) -> None:
        if not auth.allows(request.headers.get("authorization")):
            raise ApiError(401, "missing or wrong API key: send 'Authorization: Bearer "
                           "<key>' (the server's RAG_API_KEY)", "authentication_error",
                           "invalid_api_key")

    dependencies = [Depends(require_key)]
    if auth.key:  # documents the bearer scheme in the OpenAPI schema (checked above)
        dependencies.append(Security(HTTPBearer(auto_error=False)))
    router = APIRouter(dependencies=dependencies, responses=_ERRORS)
    _add_ask_routes(router, assistant, settings, auth, run)
    _add_openai_routes(router, assistant, settings, run)
    app.include_router(router)
    _add_error_handlers(app, auth, settings)
    return app


def _add_ask_routes(router: APIRouter, assistant, settings: Settings, auth: ApiAuth,
                    run: Callable) -> None:
    ask_request = ask_request_model(settings.answer.max_question_chars,
                                    settings.limits.max_messages, assistant.available_backends)

    @router.post("/api/ask", response_model=AskResponse, summary="Answer one question",
                 responses={200: {"content": {"text/plain": {}}}})
    async def ask(body: ask_request, request: Request) -> Response:  # type: ignore
        """The ``rag ask --json`` contract; ``history`` holds the earlier questions.
        With ``Accept: text/plain``: the answer as ``rag ask`` prints it."""

        def answer():
            history = assistant.standalone_history(body.history)
            return assistant.ask(body.question, k=body.k, backend=body.backend,
                                 history=history)
        result = await run(answer)
        if _wants_text(request):
            return PlainTextResponse(format_answer(result) + "\n")
        return JSONResponse(result.to_json())

    @router.get("/api/health", response_model=Health, summary="What this server serves")
    async def health() -> dict:
        return {"status": "ok", "index": assistant.index.build_dir.name,
                "chunks": len(assistant.index.chunks),
                "backends": assistant.available_backends,
                "embedding_runtime": assistant.embedder.runtime, "auth": auth.required,
                "version": VERSION}


def _add_openai_routes(router: APIRouter, assistant, settings: Settings,
                       run: Callable) -> None:
    served = oai.model_ids(settings.api.model_id, settings.answer.backend,
                           assistant.available_backends)
    chat_request = chat_request_model(list(served), settings.limits.max_messages)

    @router.get("/v1/models", response_model=ModelList, summary="Models (answer backends)")
    async def models() -> dict:
        created = int(assistant.index.build_dir.stat().st_mtime)
        return {"object": "list", "data": [
            {"id": mid, "object": "model", "created": created, "owned_by": "rag"}
            for mid in served]}

    @router.post("/v1/chat/completions", response_model=ChatCompletion,
                 summary="OpenAI-compatible chat completion (JSON or server-sent events)",
                 responses={200: {"content": {"text/event-stream": {}}}})
    async def chat(body: chat_request):  # type: ignore[valid-type]
        backend = served[body.model]
        question, asked = oai.conversation(body.messages)
        if body.stream:
            history = await run(assistant.standalone_history, asked)
            events = coalesce(assistant.stream(question, k=body.k, backend=backend,
                                               history=history))
            # the first event before the 200 status line: bad input is still a JSON 400
            events = itertools.chain([await run(next, events)], events)
            include = bool(body.stream_options and body.stream_options.include_usage)
            return StreamingResponse(
                _guarded(oai.stream_events(events, body.model, question, asked, include)),
                media_type="text/event-stream", headers={"Cache-Control": "no-cache"})

        def answer():
            history = assistant.standalone_history(asked)
            return assistant.ask(question, k=body.k, backend=backend, history=history)
        return JSONResponse(oai.completion(await run(answer), body.model, asked))


def _wants_text(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return "text/plain" in accept and "application/json" not in accept


def _guarded(chunks):
    """SSE chunks; an error once streaming has begun becomes a final error event."""
    try:
        yield from chunks
    except RagError as exc:
        yield oai.sse_error(str(exc), "invalid_request_error")
    except Exception:  # noqa: BLE001 - logged here, never shown to the client
        log.exception("error while streaming an answer")
        yield oai.sse_error("internal error while answering")


def _add_error_handlers(app: FastAPI, auth: ApiAuth, settings: Settings) -> None:
    @app.exception_handler(ApiError)
    async def api_error(_request: Request, exc: ApiError) -> JSONResponse:
        headers = {"WWW-Authenticate": auth.challenge} if exc.status == 401 else None
        return _json_error(exc.status, exc.message, exc.kind, exc.code, headers)

    @app.exception_handler(RagError)
    async def rag_error(_request: Request, exc: RagError) -> JSONResponse:
        code = "unknown_backend" if isinstance(exc, BackendError) else "invalid_request"
        return _json_error(400, str(exc), "invalid_request_error", code)

    @app.exception_handler(RequestValidationError)
    async def invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        message = _question_message(exc, settings) or _validation_message(exc)
        return _json_error(422, message, "invalid_request_error", "invalid_schema")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return _json_error(exc.status_code, str(exc.detail), "invalid_request_error",
                           headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def internal(_request: Request, exc: Exception) -> JSONResponse:
        log.error("internal error", exc_info=exc)
        return _json_error(500, "internal error (see the server log)", "server_error")


def _question_message(exc: RequestValidationError, settings: Settings) -> str | None:
    """For a question the schema refused, the message ``rag ask`` gives locally
    ("the question is empty: ...", "... control characters (U+0007) ...")."""
    for err in exc.errors():
        if tuple(err.get("loc", ())) == ("body", "question") and isinstance(
                err.get("input"), str):
            try:
                validate_question(err["input"], settings.answer.max_question_chars)
            except InvalidQuestion as problem:
                return str(problem)
    return None


def _validation_message(exc: RequestValidationError) -> str:
    """'body.question: Field required; ...' (no input values echoed back)."""
    parts = []
    for err in exc.errors()[:5]:
        where = ".".join(str(p) for p in err.get("loc", ()) if p != "body") or "body"
        parts.append(f"{where}: {err.get('msg', 'invalid')}")
    return "invalid request: " + "; ".join(parts)
