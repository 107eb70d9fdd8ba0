"""Pure formatting of the mock interview and the progress view (HTML and Markdown).

Every string from the corpus, the user or a model is escaped here.  No I/O, no state.
"""

from __future__ import annotations

from collections.abc import Sequence

from rag.app.present import esc, link_html, md_escape, source_link
from rag.records import BankEntry, Citation, Grade, KeyPoint, StudyCard
from rag.study import schedule
from rag.study.grade import OFFLINE_LIMITS
from rag.study.practice import Outcome

ORIGINS = {"guide": "the reading guide's interview questions",
           "discussion": "the reading guide's discussion points",
           "heading": "a section of the reading material", "paper": "a paper card"}
KIND_LABELS = {"open": "Open answer", "cloze": "Cloze", "mcq": "Multiple choice"}


def question_markdown(item: BankEntry | StudyCard | None, asked: int = 0,
                      reason: str = "") -> str:
    """The question, its topic, where it comes from and why it was picked."""
    if item is None:
        return f"**{md_escape(reason or 'No questions for these topics and card types.')}**"
    why = f" · {md_escape(reason)}" if reason else ""
    if isinstance(item, BankEntry):
        origin = "your documents" if item.from_user_documents else ORIGINS.get(
            item.origin, "the reading material")
        return (f"### {md_escape(item.question)}\nTopic: **{item.topic}** · open answer · "
                f"from {origin} · question {asked}{why}")
    options = "".join(f"\n- **{'abcd'[i]})** {md_escape(o)}" for i, o in enumerate(item.options))
    task = "Fill in the blank" if item.kind == "cloze" else "Pick the missing term (a–d)"
    return (f"### {md_escape(item.prompt)}\n{task}.{options}\n\nTopic: **{item.topic}** · "
            f"{KIND_LABELS[item.kind].lower()} · from {md_escape(item.title)} · "
            f"question {asked}{why}")


def _src(p: KeyPoint) -> str:
    return esc(p.title) + (f" › {esc(p.section)}" if p.section and p.section != "Paper card"
                           else "")


def _point_item(p: KeyPoint) -> str:
    if p.contradicted:
        extra = f'<div class="kp-match">you said: “{esc(p.matched)}” — {esc(p.why)}</div>'
    elif p.matched:
        extra = (f'<div class="kp-match">your words: “{esc(p.matched)}” '
                 f"({esc(p.why)}, similarity {p.similarity:.2f})</div>")
    else:
        extra = ""
    return (f'<li><span class="kp-text">{esc(p.text)}</span> <span class="kp-cite">[{p.n}]'
            f'</span> <span class="kp-src">{_src(p)}</span>{extra}</li>')


def _section(title: str, css: str, points: Sequence[KeyPoint], empty: str) -> str:
    items = "".join(_point_item(p) for p in points) or f"<li>{esc(empty)}</li>"
    return f'<h4 class="kp-h {css}">{esc(title)}</h4><ul class="kp kp-{css}">{items}</ul>'


def grader_note(grader: str) -> str:
    if grader.startswith("llm:"):
        return (f"Graded by the LLM backend <b>{esc(grader[4:])}</b> against the key points, "
                "after the offline relevance checks.")
    return f"Graded offline. {esc(OFFLINE_LIMITS)}"


def grade_html(grade: Grade, outcome: Outcome | None = None) -> str:
    """Score, grader, covered / partly / contradicted / missed key points with their
    citations, notes, the next review and the sources."""
    pts = grade.key_points
    covered = [p for p in pts if p.covered]
    partial = [p for p in pts if p.credit and not p.covered]
    wrong = [p for p in pts if p.contradicted]
    missed = [p for p in pts if not p.credit and not p.contradicted]
    head = (f'<div class="grade-score"><span class="score">{grade.score:.1f}</span>'
            f'<span class="of">/10</span> <span class="grade-sum">{len(covered)} of {len(pts)} '
            f"key points covered{f', {len(partial)} partly' if partial else ''}"
            f"{f', {len(wrong)} contradicted' if wrong else ''}</span></div>"
            f'<div class="grader-note">{grader_note(grade.grader)}</div>')
    notes = "".join(f"<li>{esc(n)}</li>" for n in grade.notes)
    body = (_section("Covered", "ok", covered, "None yet.")
            + (_section("Partly covered", "part", partial, "") if partial else "")
            + (_section("Contradicted", "bad", wrong, "") if wrong else "")
            + _section("Missed", "miss", missed, "None: well done."))
    tail = f'<ul class="grade-notes">{notes}</ul>' if notes else ""
    return (f'<div class="grade">{head}{schedule_html(outcome)}{body}{tail}'
            f"{sources_html(grade.evidence)}</div>")


def card_result_html(card: StudyCard, outcome: Outcome) -> str:
    css = "ok" if outcome.correct else "miss"
    link = link_html(card.url, "link")
    where = esc(card.title) + (f" › {esc(card.section)}" if card.section and
                               card.section != "Paper card" else "")
    return (f'<div class="grade"><div class="grade-score"><span class="score">'
            f'{outcome.score:.0f}</span><span class="of">/10</span></div>'
            f'<h4 class="kp-h {css}">{esc(outcome.explanation)}</h4>'
            f"{schedule_html(outcome)}"
            f'<div class="kp-src">Source: {where} {link}</div>'
            f'<blockquote class="ev-text">{esc(card.fact)}</blockquote></div>')


def schedule_html(outcome: Outcome | None) -> str:
    if outcome is None:
        return ""
    if outcome.recorded is None:
        return f'<div class="ev-weak">Not saved: {esc(outcome.saved_note)}</div>'
    rec = outcome.recorded
    name = schedule.RATING_NAMES[schedule.parse_rating(rec.rating)]
    auto = schedule.RATING_NAMES[schedule.parse_rating(rec.auto_rating)]
    why = "" if rec.rating == rec.auto_rating else f" (you changed it from {auto})"
    return (f'<div class="next-review">Rated <b>{name}</b>{why} · next review '
            f"<b>{rec.due.astimezone():%a %d %b %Y, %H:%M}</b></div>")


def sources_html(evidence: Sequence[Citation]) -> str:
    items = []
    for c in evidence:
        label = c.title + (f" › {c.section}" if c.section else "")
        link = link_html(source_link(c.doc_id, c.url), "link")
        items.append(f'<li><span class="ev-n">[{c.n}]</span> {esc(label)} {link}</li>')
    return f'<h4 class="kp-h">Sources</h4><ol class="grade-sources">{"".join(items)}</ol>'


def model_answer_markdown(grade: Grade) -> str:
    return f"**Model answer** ({grade.model_answer.backend})\n\n{grade.model_answer.text}"


def summary_html(s, user: str, problem: str = "") -> str:
    """Due now / today, reviewed today, streak, new cards today."""
    if s is None:
        return f'<div class="ev-weak">{esc(problem or "Progress is not being saved.")}</div>'
    tiles = [("Due now", s.due_now), ("Due today", s.due_today),
             ("Reviewed today", s.reviewed_today), ("Streak", f"{s.streak_days} d"),
             ("New today", f"{s.new_today}/{s.new_limit}"), ("Attempts", s.attempts_total)]
    body = "".join(f'<div class="tile"><div class="tile-n">{esc(v)}</div>'
                   f'<div class="tile-l">{esc(k)}</div></div>' for k, v in tiles)
    return f'<div class="tiles">{body}</div><div class="kp-src">Profile: {esc(user)}</div>'
