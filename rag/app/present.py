"""Pure formatting of answers and grades for the app (HTML and Markdown).

Every string that comes from the corpus, the user or a model is HTML-escaped
here; nothing else in the app builds HTML.  No I/O, no state.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence

from rag.records import Answer, Citation, Paper

_ARXIV_ABS = "https://arxiv.org/abs/"


def esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def safe_url(url: str) -> str:
    """``url`` when it is http(s), else "" (no javascript: or data: links)."""
    return url if re.match(r"^https?://[^\s\"'<>]+$", url or "") else ""


def source_link(doc_id: str, url: str) -> str:
    """The link shown for a passage: the arXiv page for paper cards, else its URL."""
    if doc_id.startswith("arxiv:"):
        return _ARXIV_ABS + doc_id.split(":", 1)[1]
    return safe_url(url)


def link_html(url: str, label: str) -> str:
    url = safe_url(url)
    if not url:
        return ""
    return f'<a href="{esc(url)}" target="_blank" rel="noopener noreferrer">{esc(label)}</a>'


def sentence_spans(text: str, sentences: Sequence[str]) -> list[tuple[int, int]]:
    """Where each sentence occurs in ``text`` (whitespace- and case-insensitive: an
    answer sentence is the prose of a labelled field, "Problem: full fine-tuning …"
    quoted as "Full fine-tuning …"), merged."""
    spans = []
    for sentence in sentences:
        words = sentence.split()
        if not words:
            continue
        match = re.search(r"\s+".join(map(re.escape, words)), text, flags=re.IGNORECASE)
        if match:
            spans.append(match.span())
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def highlight(text: str, sentences: Sequence[str]) -> str:
    """``text`` escaped, with the given sentences wrapped in ``<mark>``."""
    out, pos = [], 0
    for start, end in sentence_spans(text, sentences):
        out.append(esc(text[pos:start]))
        out.append(f"<mark>{esc(text[start:end])}</mark>")
        pos = end
    out.append(esc(text[pos:]))
    return "".join(out)


def is_weak(answer: Answer, weak_below: float) -> bool:
    """Weak evidence: the answer abstained, cites nothing, or its confidence is low."""
    cited = any(c.cited for c in answer.citations)
    return answer.abstained or not cited or answer.confidence < weak_below


def weak_notice(answer: Answer) -> str:
    if not answer.citations:
        why = "Nothing relevant was retrieved."
    elif answer.abstained:
        why = "The retrieved passages do not answer the question, so the assistant abstained."
    else:
        why = ("The passages below only partly match the question: check them before "
               "relying on the answer.")
    return (f'<div class="ev-weak" role="note"><strong>Weak evidence.</strong> {esc(why)} '
            "Try rephrasing, or ask about a topic from the reading list.</div>")


def citation_block(c: Citation, open_: bool) -> str:
    """One collapsible ``<details>`` block for a passage, numbered like its marker."""
    link = link_html(source_link(c.doc_id, c.url),
                     "arXiv page" if c.doc_id.startswith("arxiv:") else "source")
    status = "cited" if c.cited else "retrieved, not cited"
    meta = [esc(c.section) if c.section else "", esc(c.pages), f"score {c.score:.4f}", status,
            link]
    return (
        f'<details class="ev {"ev-cited" if c.cited else "ev-uncited"}" id="ev-{c.n}" '
        f'data-n="{c.n}"{" open" if open_ else ""}>'
        f'<summary><span class="ev-n">[{c.n}]</span> <span class="ev-title">{esc(c.title)}'
        f"</span>{_section_tail(c.section)}{_pages_tail(c.pages)}</summary>"
        f'<div class="ev-meta">{" · ".join(m for m in meta if m)}</div>'
        f'<div class="ev-text">{highlight(c.text, c.used_sentences)}</div></details>')


def _pages_tail(pages: str) -> str:
    """``· p. 4`` after a PDF passage's heading ("" for sources without pages)."""
    return f' <span class="ev-pages">· {esc(pages)}</span>' if pages else ""


def _section_tail(section: str) -> str:
    """The last heading of a section path, shown beside the title ("" for cards)."""
    tail = section.rsplit(" › ", 1)[-1] if section and section != "Paper card" else ""
    return f' <span class="ev-sec">› {esc(tail)}</span>' if tail else ""


def evidence_html(answer: Answer | None, show_uncited: bool = True,
                  weak_below: float = 0.5) -> str:
    """The evidence panel: weak-evidence notice, cited passages (open), then the
    other retrieved ones (collapsed, when ``show_uncited``)."""
    if answer is None:
        return ('<div class="ev-empty">Ask a question: the passages behind the answer '
                "appear here, numbered like the [n] markers.</div>")
    parts = [weak_notice(answer)] if is_weak(answer, weak_below) else []
    cited = [c for c in answer.citations if c.cited]
    uncited = [c for c in answer.citations if not c.cited]
    parts.extend(citation_block(c, open_=True) for c in cited)
    if uncited and show_uncited:
        parts.append(f'<div class="ev-sep">Also retrieved, not cited ({len(uncited)})</div>')
        parts.extend(citation_block(c, open_=False) for c in uncited)
    elif uncited:
        parts.append(f'<div class="ev-sep">{len(uncited)} more retrieved passage(s) hidden '
                     "(Settings › Show uncited evidence)</div>")
    return f'<div class="evidence">{"".join(parts)}</div>'


def related_html(papers: Sequence[Paper]) -> str:
    """Related papers: the arXiv cards linked from the cited passages."""
    if not papers:
        return ('<div class="rel-empty">No linked papers for the cited passages '
                "(documents without arXiv links).</div>")
    items = []
    for p in papers:
        year = f" ({p.year})" if p.year else ""
        url = safe_url(p.url) or _ARXIV_ABS + p.arxiv_id
        title = link_html(url, p.title) or esc(p.title)  # an unsafe URL: no link, the title
        items.append(f"<li>{title}{esc(year)}</li>")
    return f'<ul class="related">{"".join(items)}</ul>'


COVERAGE_WORDS = {
    "full": "full", "partial": "partial (some asked parts are missing from the material)",
    "mentioned": "named in the material, not explained", "none": "not covered",
}


def answer_footer(answer: Answer) -> str:
    """A one-line Markdown note: backend, passages, time, rewritten query."""
    parts = [f"Answered by **{answer.backend}**",
             f"coverage: **{COVERAGE_WORDS.get(answer.coverage, answer.coverage)}**",
             f"{len(answer.citations)} passages",
             f"{answer.timings_ms.get('total', 0):.0f} ms"]
    if answer.fallback_reason:
        parts.append(f"fell back: {md_escape(answer.fallback_reason)}")
    note = " · ".join(parts)
    if answer.search_query and answer.search_query != answer.question:
        note += f"  \nSearched for: _{md_escape(answer.search_query)}_"
    return note


def md_escape(text: str) -> str:
    """Escape Markdown/HTML specials in user or corpus text shown as Markdown."""
    return re.sub(r"([\\`*_{}\[\]<>#|~])", r"\\\1", text)


def notice_html(message: str) -> str:
    """A plain notice box (bad input in the interview tab)."""
    return f'<div class="ev-weak" role="alert">{esc(message)}</div>'


def error_message(message: str) -> str:
    """The chat reply for bad input."""
    return f"⚠️ {message}"
