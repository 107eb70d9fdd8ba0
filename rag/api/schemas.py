"""Request and response bodies of the HTTP API (they are its OpenAPI schema).

``AskResponse`` is ``Answer.to_json()``, the ``rag ask --json`` contract, typed.  The
``/v1`` models follow OpenAI's chat-completions API: clients send many more fields
than we use (temperature, top_p, user, ...), so requests allow extra fields and the
answer is the assistant's whatever they say.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AskRequest(_Strict):
    question: str = Field(description="The question (at most answer.max_question_chars).")
    k: int | None = Field(None, ge=1, le=50, description="Passages to retrieve (default: "
                          "settings.retrieval.k).")
    backend: str | None = Field(None, max_length=64, description="Answer backend: "
                                "extractive (default) or a configured LLM backend.")
    history: list[str] = Field(default_factory=list, description="The conversation's earlier "
                               "questions, oldest first, as the user asked them; a follow-up "
                               "(\"and its limitations?\") is read in their light.")


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


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="allow")

    model: str = Field(max_length=200)
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = False
    stream_options: StreamOptions | None = None
    k: int | None = Field(None, ge=1, le=50, description="Extension: passages to retrieve.")


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
