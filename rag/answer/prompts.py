"""Every prompt the LLM backends send, as plain templates and pure builders.

The passages are numbered ``[1]..[n]`` in retrieval order; the answer cites them
with the same markers.  ``rag.answer.citations`` checks the markers afterwards, so the
prompt asks for citations but nothing relies on the model obeying.
"""

from __future__ import annotations

from collections.abc import Sequence

from rag.records import Hit, page_label

NO_ANSWER = "The passages do not answer this question."

# One user message (no system role): some chat templates, Gemma's among them,
# drop system messages.
ANSWER_PROMPT = f"""\
You are a tutor helping a candidate prepare for a machine-learning interview.
Answer the question using only the numbered passages below.
Rules:
- Answer like a strong interview answer: direct, concise, at most 5 sentences.
- End every sentence with the number of the passage that supports it, like [1] or [2][3].
- Cite only passage numbers that appear below; never invent facts or numbers.
- If the passages do not contain the answer, reply exactly: "{NO_ANSWER}"

Passages:
{{passages}}

Question: {{question}}

Answer in at most 5 sentences, each ending with its passage number like [1]:"""

CONDENSE_PROMPT = """\
Rewrite the follow-up question as one standalone question that makes sense without \
the conversation. Keep the topic words of the earlier questions that the follow-up \
refers to. Reply with the rewritten question only, on one line.

Earlier questions:
{history}

Follow-up question: {question}

Standalone question:"""


def format_passage(n: int, hit: Hit, max_chars: int) -> str:
    """One numbered passage: ``[n] Title — section`` then its text (trimmed)."""
    chunk = hit.chunk
    where = f" — {chunk.section}" if chunk.section else ""
    where += f", {page_label(chunk.page_start, chunk.page_end)}" if chunk.page_start else ""
    text = " ".join(chunk.text.split())
    if len(text) > max_chars:
        text = text[:max_chars].rsplit(" ", 1)[0] + " …"
    return f"[{n}] {chunk.title}{where}\n{text}"


def answer_messages(question: str, hits: Sequence[Hit],
                    max_chars: int = 1200) -> list[tuple[str, str]]:
    """(role, content) pairs of the grounded answer prompt; passage n is ``hits[n-1]``."""
    passages = "\n\n".join(format_passage(n, h, max_chars) for n, h in enumerate(hits, 1))
    return [("user", ANSWER_PROMPT.format(passages=passages, question=question))]


def condense_messages(question: str, history: Sequence[str]) -> list[tuple[str, str]]:
    """(role, content) pairs asking for a standalone version of a follow-up question."""
    lines = "\n".join(f"- {h}" for h in history)
    return [("user", CONDENSE_PROMPT.format(history=lines, question=question))]
