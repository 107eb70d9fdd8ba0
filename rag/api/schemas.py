"""Request and response bodies of the HTTP API (they are its OpenAPI schema).

``AskResponse`` is ``Answer.to_json()``, the ``rag ask --json`` contract, typed.  The
``/v1`` models follow OpenAI's chat-completions API: clients send many more fields
than we use (temperature, top_p, user, ...), so requests allow extra fields and the
answer is the assistant's whatever they say.
"""

from collections.abc import Sequence
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# What ``validate_question`` accepts, as a JSON-schema pattern: no control characters
# other than tab and newlines, and something besides whitespace.
_CONTROL = r"\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F"
QUESTION_PATTERN = rf"^[^{_CONTROL}]*[^\s{_CONTROL}][^{_CONTROL}]*$"


def ask_request_model(max_chars: int, max_messages: int, backends: Sequence[str]):
    """The ``/api/ask`` body for these limits and backends: the schema states what is
    accepted as far as JSON Schema can (lengths, control characters, backends, history);
    that a question needs words is checked by the assistant (400)."""
    Question = Annotated[str, Field(min_length=1, max_length=max_chars,  # noqa: N806
                                    pattern=QUESTION_PATTERN)]
    Backend = Literal[tuple(backends)]  # type: ignore[valid-type]  # noqa: N806

    class AskRequest(_Strict):
        question: Question = Field(  # type: ignore[valid-type]
            description="The question.  Beyond this schema, a question without words (only "
            "symbols) or that is only a link is refused with 400 and a message.")
        k: int | None = Field(None, ge=1, le=50, description="Passages to retrieve "
                              "(default: settings.retrieval.k).")
        backend: Backend | None = Field(  # type: ignore[valid-type]
            None, description="Answer backend (default: settings.answer.backend).")
        history: list[Annotated[str, Field(max_length=max_chars)]] = Field(
            default_factory=list, max_length=max_messages,
            description="The conversation's earlier questions, oldest first, as the user "
            "asked them; a follow-up (\"and its limitations?\") is read in their light.")

    return AskRequest


class CitationOut(BaseModel):
    n: int
    doc_id: str
    title: str
    section: str
    url: str
    text: str
    score: float
    cited: bool


class PaperOut(BaseModel):
    arxiv_id: str
    title: str
    year: int | None = None
    url: str


class AskResponse(BaseModel):
    """Exactly what ``rag ask --json`` prints."""

    question: str
    answer: str
    abstained: bool
    citations: list[CitationOut]
    related_papers: list[PaperOut]
    timings_ms: dict[str, float]
    confidence: float
    backend: str
    search_query: str
    unsupported_sentences: list[str]
    invalid_citations_removed: int
    fallback_reason: str | None = None


class Health(BaseModel):
    status: Literal["ok"]
    index: str = Field(description="The build folder being served.")
    chunks: int
    backends: list[str]
    embedding_runtime: str = Field(description="What encodes queries: onnxruntime or torch.")
    auth: bool = Field(description="Whether API routes require a key.")
    version: str


class ErrorBody(BaseModel):
    message: str
    type: str
    code: str | None = None


class ErrorResponse(BaseModel):
    """Every error, in the shape OpenAI clients understand."""

    error: ErrorBody


# --- OpenAI-compatible -----------------------------------------------------------------


class ContentPart(BaseModel):
    model_config = ConfigDict(extra="allow")

    type: str = "text"
    text: str | None = None


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: str = Field(max_length=32)
    content: str | list[ContentPart] | None = None


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="allow")

    include_usage: bool = False


def chat_request_model(model_ids: Sequence[str], max_messages: int):
    """The ``/v1/chat/completions`` body: OpenAI's, with our models and limits."""
    Served = Literal[tuple(model_ids)]  # type: ignore[valid-type]  # noqa: N806

    class ChatRequest(BaseModel):
        model_config = ConfigDict(extra="allow")

        model: Served = Field(description="A model of GET /v1/models.")  # type: ignore
        messages: list[ChatMessage] = Field(min_length=1, max_length=max_messages + 1)
        stream: bool = False
        stream_options: StreamOptions | None = None
        k: int | None = Field(None, ge=1, le=50, description="Extension: passages to "
                              "retrieve.")

    return ChatRequest


class AssistantMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str


class Choice(BaseModel):
    index: int = 0
    message: AssistantMessage
    finish_reason: Literal["stop"] = "stop"


class Usage(BaseModel):
    """Word counts: this assistant does not bill by token; clients only display them."""

    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class ChatCompletion(BaseModel):
    """OpenAI's chat completion, plus ``citations`` and ``rag`` (ignored by ordinary
    clients): the structured evidence behind the [n] markers."""

    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[Choice]
    usage: Usage
    citations: list[CitationOut] = Field(description="Extension: the numbered passages.")
    rag: dict = Field(description="Extension: abstained, confidence, backend, search_query, "
                      "related_papers, timings_ms.")


class ModelCard(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelCard]
