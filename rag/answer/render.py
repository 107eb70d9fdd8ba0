"""An answer as terminal text: the answer, numbered sources, related papers, timing.

Used by ``rag ask`` and by ``POST /api/ask`` with ``Accept: text/plain`` (what
``rag ask`` prints when a running server answers for it).
"""

from __future__ import annotations

import textwrap

from rag.records import Answer


def format_answer(answer: Answer, width: int = 100, with_text: bool = True) -> str:
    """Readable answer: text, numbered sources, related papers, timing."""
    lines = [answer.text, ""] if with_text else []
    cited = [c for c in answer.citations if c.cited]
    other = [c for c in answer.citations if not c.cited]
    for heading, group in (("Sources", cited), ("Other retrieved passages", other)):
        if group:
            lines.append(f"{heading}:")
            for c in group:
                where = f" — {c.section}" if c.section else ""
                where += f", {c.pages}" if c.pages else ""
                lines.append(f"  [{c.n}] {c.title}{where}  ({c.url})")
                if c.cited:
                    snippet = textwrap.shorten(" ".join(c.used_sentences) or c.text, width - 8)
                    lines.append(f"      “{snippet}”")
            lines.append("")
    if answer.related_papers:
        lines.append("Related papers:")
        lines.extend(f"  - {p.title} ({p.year}) {p.url}" for p in answer.related_papers)
        lines.append("")
    lines.extend(_check_notes(answer))
    lines.append(f"({answer.backend}, coverage {answer.coverage}, "
                 f"{answer.timings_ms.get('total', 0):.0f} ms)")
    return "\n".join(lines)


def _check_notes(answer: Answer) -> list[str]:
    """What the citation check and the fallback did, one line each (LLM backends)."""
    notes = []
    if answer.fallback_reason:
        notes.append(f"note: extractive answer used: {answer.fallback_reason}")
    if answer.invalid_citations_removed:
        notes.append(f"note: removed {answer.invalid_citations_removed} citation(s) "
                     "to passages that were not listed")
    if answer.unsupported_sentences:
        notes.append(f"note: {len(answer.unsupported_sentences)} sentence(s) cite no passage")
    return notes
