"""OpenAI's chat-completions format around our answers (pure functions, no I/O).

The last message is the question; the user's earlier messages are the conversation
history (our own earlier answers and system prompts are not questions).  The reply's
text is the cited answer, [n] markers included, followed by its sources, so a chat
client that only shows ``content`` still shows where each claim comes from; the
structured citations travel in extra fields (``citations``, ``rag``) that ordinary
clients ignore.  Model ids: ``<model_id>`` is the default backend and
``<model_id>:<backend>`` each available one.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence

from rag.api.schemas import ChatMessage
from rag.errors import RagError
from rag.records import Answer


def message_text(message: ChatMessage) -> str:
    content = message.content
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    return "".join(part.text or "" for part in content if part.type in ("text", "input_text"))


def conversation(messages: Sequence[ChatMessage]) -> tuple[str, list[str]]:
    """(question, earlier user questions oldest first) of a chat request."""
    if messages[-1].role != "user":
        raise RagError("the last message must be the user's question (role \"user\")")
    earlier = [message_text(m).strip() for m in messages[:-1] if m.role == "user"]
    return message_text(messages[-1]), [q for q in earlier if q]


def model_ids(base: str, default_backend: str, backends: Iterable[str]) -> dict[str, str]:
    """Served model id -> answer backend."""
    ids = {base: default_backend}
    ids.update({f"{base}:{name}": name for name in backends})
    return ids


def sources_text(answer: Answer) -> str:
    """The sources block appended to the answer text (cited passages; when the answer
    abstained, the closest passages)."""
    cited = [c for c in answer.citations if c.cited]
    group, heading = (cited, "Sources") if cited else (list(answer.citations),
                                                      "Closest passages")
    if not group:
        return ""
    lines = [f"\n\n{heading}:"]
    for c in group:
        where = f" — {c.section}" if c.section else ""
        link = f" <{c.url}>" if c.url else ""
        lines.append(f"[{c.n}] {c.title}{where}{link}")
    return "\n".join(lines)


def extensions(answer: Answer) -> dict:
    """The extra fields: structured citations and the rest of the answer's metadata."""
    data = answer.to_json()
    keys = ("abstained", "confidence", "backend", "search_query", "related_papers",
            "timings_ms", "unsupported_sentences", "invalid_citations_removed",
            "fallback_reason")
    return {"citations": data["citations"], "rag": {k: data[k] for k in keys}}


def usage(question: str, history: Sequence[str], text: str) -> dict:
    prompt = len(question.split()) + sum(len(h.split()) for h in history)
    completion = len(text.split())
    return {"prompt_tokens": prompt, "completion_tokens": completion,
            "total_tokens": prompt + completion}


def new_id() -> tuple[str, int]:
    return f"chatcmpl-{uuid.uuid4().hex[:24]}", int(time.time())


def completion(answer: Answer, model: str, history: Sequence[str]) -> dict:
    """A non-streamed ``chat.completion``."""
    cid, created = new_id()
    text = answer.text + sources_text(answer)
    return {"id": cid, "object": "chat.completion", "created": created, "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                         "finish_reason": "stop"}],
            "usage": usage(answer.question, history, text), **extensions(answer)}


def stream_events(events: Iterable[object], model: str, question: str,
                  history: Sequence[str], include_usage: bool = False) -> Iterator[str]:
    """Server-sent events of ``chat.completion.chunk``s for ``Assistant.stream`` events:
    the role, the answer pieces, the sources, a last chunk with ``finish_reason`` and
    the extensions, optionally usage, then ``[DONE]``."""
    cid, created = new_id()

    def chunk(delta: dict, finish: str | None = None, **extra) -> str:
        body = {"id": cid, "object": "chat.completion.chunk", "created": created,
                "model": model, "choices": [{"index": 0, "delta": delta,
                                             "finish_reason": finish}], **extra}
        return f"data: {json.dumps(body, ensure_ascii=False)}\n\n"

    yield chunk({"role": "assistant", "content": ""})
    shown: list[str] = []
    answer = None
    for event in events:
        if isinstance(event, Answer):
            answer = event
        else:
            shown.append(event)
            yield chunk({"content": event})
    tail = _tail(answer, "".join(shown))
    if tail:
        yield chunk({"content": tail})
    text = "".join(shown) + tail
    yield chunk({}, "stop", **extensions(answer))
    if include_usage:
        body = {"id": cid, "object": "chat.completion.chunk", "created": created,
                "model": model, "choices": [], "usage": usage(question, history, text)}
        yield f"data: {json.dumps(body)}\n\n"
    yield "data: [DONE]\n\n"


def _tail(answer: Answer, streamed: str) -> str:
    """What follows the streamed text: the sources, and the final text first when
    the citation check replaced what streamed (an LLM answer's fallback)."""
    if streamed.strip() == answer.text.strip():
        return sources_text(answer)
    note = "\n\n(the text above was replaced; final answer:)\n\n" if streamed.strip() else ""
    return note + answer.text + sources_text(answer)


def sse_error(message: str, kind: str = "server_error") -> str:
    """An error after streaming began (the status line is already sent)."""
    return (f"data: {json.dumps({'error': {'message': message, 'type': kind}})}\n\n"
            "data: [DONE]\n\n")
