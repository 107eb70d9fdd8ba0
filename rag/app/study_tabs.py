"""The mock-interview and progress tabs: layout and thin callbacks over
``rag.study.practice.Practice`` (grading, scheduling and the database live there).

The user is the login name (``gr.Request.username``) when the app asks for one, else
the local profile; every read and write goes through that user's ``UserProgress``.
"""

from __future__ import annotations

import random
import tempfile
from pathlib import Path

import gradio as gr
import pandas as pd

from rag.app import study_present as sp
from rag.errors import RagError
from rag.study import schedule, stats
from rag.study.export import write_anki, write_attempts_csv
from rag.study.practice import KINDS, Practice

MODE_CHOICES = [(schedule.MODE_LABELS[m], m) for m in schedule.MODES]
KIND_CHOICES = [(sp.KIND_LABELS[k], k) for k in KINDS]
RATINGS = ["Again", "Hard", "Good", "Easy"]
RECENT_HEADERS = ["Time", "Type", "Topic", "Question", "Your answer", "Score", "Rating",
                  "Grader", "Next review"]


def user_of(request: gr.Request | None) -> str | None:
    return getattr(request, "username", None) or None


class StudyCallbacks:
    def __init__(self, practice: Practice, seed: int | None = None):
        self.practice = practice
        self.rng = random.Random(seed)

    def use(self, practice: Practice) -> None:
        """Swap in the practice loop of a rebuilt index (``rag.app.refresh``)."""
        self.practice = practice

    # --- interview --------------------------------------------------------------

    def next_question(self, mode: str, kinds: list[str], topics: list[str], asked: list[str],
                      request: gr.Request = None) -> tuple:
        asked = list(asked or [])
        pick = self.practice.next(user_of(request), mode or "due", topics or [],
                                  kinds or list(KINDS), asked, self.rng)
        item = self.practice.item(pick.key) if pick.key else None
        if pick.key:
            asked.append(pick.key)
        return (sp.question_markdown(item, len(asked), pick.reason), pick.key, asked, "", "",
                "", None, gr.update(visible=False), self.status(request))

    def grade(self, answer: str, key: str | None, grader: str,
              request: gr.Request = None) -> tuple:
        hidden = gr.update(visible=False)
        if not key:
            return (sp_notice("Click “Next question” first."), "", None, hidden,
                    self.status(request))
        try:
            out = self.practice.answer(user_of(request), key, answer, grader=grader or "offline")
        except RagError as exc:  # bad input: a message, nothing stored
            return sp_notice(str(exc)), "", None, hidden, self.status(request)
        item = self.practice.item(key)
        if out.grade is not None:
            html, model = sp.grade_html(out.grade, out), sp.model_answer_markdown(out.grade)
        else:
            html, model = sp.card_result_html(item, out), ""
        attempt = out.recorded.attempt_id if out.recorded else None
        return html, model, attempt, gr.update(visible=attempt is not None), self.status(request)

    def rerate(self, rating: str, attempt_id: int | None, request: gr.Request = None) -> str:
        if attempt_id is None:
            return sp_notice("Grade an answer first.")
        try:
            rec = self.practice.rerate(user_of(request), attempt_id, rating)
        except RagError as exc:
            return sp_notice(str(exc))
        return (f'<div class="next-review">Re-rated <b>{rating}</b> · next review '
                f"<b>{rec.due.astimezone():%a %d %b %Y, %H:%M}</b></div>")

    def status(self, request: gr.Request = None) -> str:
        if self.practice.problem:
            return sp_notice(self.practice.problem + " Grading still works; the chat is "
                             "unaffected.")
        return (f'<div class="kp-src">Saving progress for <b>{sp.esc(user_of(request) or "local")}'
                f"</b> · {len(self.practice.study.entries)} questions, "
                f"{len(self.practice.study.cards)} cloze/multiple-choice cards</div>")

    # --- progress ----------------------------------------------------------------

    def progress_view(self, request: gr.Request = None) -> tuple:
        user = self.practice.user(user_of(request))
        if user is None:
            empty = pd.DataFrame(columns=["day", "topic", "mastery"])
            return (sp.summary_html(None, "", self.practice.problem), empty,
                    pd.DataFrame(columns=stats.TOPIC_HEADERS),
                    pd.DataFrame(columns=RECENT_HEADERS))
        try:
            summary = stats.summary(user)
            series = pd.DataFrame(stats.user_mastery_series(user),
                                  columns=["day", "topic", "mastery", "cards"])
            topics = pd.DataFrame(stats.topic_rows(user), columns=stats.TOPIC_HEADERS)
            recent = pd.DataFrame(recent_rows(user), columns=RECENT_HEADERS)
        except RagError as exc:
            return (sp.summary_html(None, "", str(exc)), pd.DataFrame(), pd.DataFrame(),
                    pd.DataFrame())
        return sp.summary_html(summary, user.name), series, topics, recent

    def export_csv(self, request: gr.Request = None):
        user = self.practice.user(user_of(request))
        if user is None:
            raise gr.Error(self.practice.problem or "progress is not being saved")
        path = Path(tempfile.mkdtemp(prefix="rag-export-")) / f"attempts-{user.name}.csv"
        write_attempts_csv(user, path)
        return str(path)

    def export_anki(self, kinds: list[str]):
        kinds = kinds or list(KINDS)
        entries = self.practice.study.entries if "open" in kinds else []
        cards = [c for c in self.practice.study.cards if c.kind in kinds]
        path = Path(tempfile.mkdtemp(prefix="rag-export-")) / "interview-prep.apkg"
        write_anki(entries, cards, path)
        return str(path)


def recent_rows(user, limit: int | None = None) -> list[list]:
    rows = []
    for a in user.attempts(limit or user.cfg.max_attempts_shown):
        r = stats.attempt_row(a, user.name)
        rows.append([a.created_at.astimezone().strftime("%Y-%m-%d %H:%M"), a.kind, a.topic,
                     a.question[:140], a.answer[:200], a.score, r["rating"], a.grader,
                     a.due_after.astimezone().strftime("%Y-%m-%d %H:%M")])
    return rows


def sp_notice(message: str) -> str:
    return f'<div class="ev-weak" role="alert">{sp.esc(message)}</div>'


def interview_tab(cb: StudyCallbacks, llm_available: bool) -> None:
    key, asked, attempt = gr.State(None), gr.State([]), gr.State(None)
    topics = sorted({e.topic for e in cb.practice.study.entries})
    with gr.Row(equal_height=False):
        with gr.Column(scale=3):
            with gr.Row():
                mode = gr.Radio(MODE_CHOICES, value="due", label="Next card", elem_id="mode")
                kinds = gr.CheckboxGroup(KIND_CHOICES, value=["open"], label="Card types",
                                         elem_id="kinds")
            chosen = gr.CheckboxGroup(topics, value=[], elem_id="topics",
                                      label="Topics (none ticked = all)")
            status = gr.HTML(cb.status(), elem_id="study-status")
            next_btn = gr.Button("Next question", variant="secondary", elem_id="next-question")
            question = gr.Markdown("Pick a mode, card types and topics, then click "
                                   "**Next question**.", elem_id="interview-question")
            answer = gr.Textbox(lines=6, label="Your answer", elem_id="interview-answer",
                                placeholder="Answer as you would in an interview: a few "
                                "sentences that state the key facts. For a cloze or "
                                "multiple-choice card, type the missing term or a letter.")
            with gr.Row():
                grader = gr.Radio([("Offline grader", "offline")] + (
                    [("LLM rubric", "llm")] if llm_available else []), value="offline",
                    label="Grader", elem_id="grader", scale=2)
                grade_btn = gr.Button("Grade my answer", variant="primary", elem_id="grade",
                                      scale=1)
            result = gr.HTML("", elem_id="grade-result")
            with gr.Column(visible=False, elem_id="rerate") as rerate_row:
                gr.Markdown("Disagree with the rating? Rate the card yourself (the review "
                            "is redone with your rating):")
                with gr.Row():
                    buttons = [gr.Button(r, size="sm", elem_id=f"rate-{r.lower()}")
                               for r in RATINGS]
            rerated = gr.HTML("", elem_id="rerated")
            with gr.Accordion("What the offline grader can and cannot judge", open=False):
                gr.Markdown(sp.md_escape(sp.OFFLINE_LIMITS))
        with gr.Column(scale=2):
            model_answer = gr.Markdown(elem_id="model-answer", label="Model answer")
    next_btn.click(cb.next_question, [mode, kinds, chosen, asked],
                   [question, key, asked, answer, result, model_answer, attempt, rerate_row,
                    status], api_name="next_question")
    grade_btn.click(cb.grade, [answer, key, grader],
                    [result, model_answer, attempt, rerate_row, status], api_name="grade")
    for button, rating in zip(buttons, RATINGS):
        button.click(_rater(cb, rating), [attempt], rerated, api_name=f"rate_{rating.lower()}")


def _rater(cb: StudyCallbacks, rating: str):
    def rate(attempt_id: int | None, request: gr.Request):
        return cb.rerate(rating, attempt_id, request)
    return rate


def progress_tab(cb: StudyCallbacks) -> gr.Button:
    with gr.Row():
        refresh = gr.Button("Refresh", size="sm", elem_id="progress-refresh")
    summary = gr.HTML(elem_id="progress-summary")
    plot = gr.ScatterPlot(x="day", y="mastery", color="topic", title="Mastery per topic by "
                          "day (mean latest score per card, /10)", y_lim=[0, 10],
                          elem_id="mastery-plot", height=300)
    topics = gr.Dataframe(label="By topic", interactive=False, elem_id="topic-table")
    recent = gr.Dataframe(label="Recent attempts", interactive=False, elem_id="recent",
                          wrap=True, max_chars=160,
                          column_widths=["9%", "6%", "8%", "25%", "28%", "5%", "6%", "6%", "7%"])
    with gr.Row():
        csv_btn = gr.Button("Export attempts (CSV)", elem_id="export-csv")
        deck_kinds = gr.CheckboxGroup(KIND_CHOICES, value=["open"], label="Anki deck cards")
        anki_btn = gr.Button("Export Anki deck (.apkg)", elem_id="export-anki")
    files = gr.File(label="Download", elem_id="export-file", height=90)
    outputs = [summary, plot, topics, recent]
    refresh.click(cb.progress_view, None, outputs, api_name="progress")
    csv_btn.click(cb.export_csv, None, files, api_name="export_csv")
    anki_btn.click(cb.export_anki, [deck_kinds], files, api_name="export_anki")
    return refresh, outputs

