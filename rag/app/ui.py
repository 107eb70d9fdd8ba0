"""The Gradio interface: layout and thin callbacks.

Callbacks only call ``Assistant`` / ``rag.study.grade`` and format with
``rag.app.present``; retrieval, answering and grading live in the library.  The
assistant (model and index) is loaded once by ``app.py`` and shared by every
session; per-session data lives in ``gr.State``.
"""

from __future__ import annotations

import functools
import os
import random
from collections.abc import Iterable, Iterator

import gradio as gr

from rag.answer.streaming import paced
from rag.app import documents as your_documents
from rag.app import present, refresh, study_tabs
from rag.assistant import recent_history
from rag.errors import RagError
from rag.records import Answer
from rag.settings import AppSettings, Settings
from rag.study.stored import study_extra

TITLE = "AI interview prep · cited answers from the reading list"
EXAMPLES = [
    "Explain the attention mechanism",
    "DPO vs RLHF?",
    "When would you use LoRA over full fine-tuning?",
    "How does RAG help with hallucinations?",
    "Why divide attention scores by sqrt(d_k)?",
    "What is Mixture of Experts and why load balancing?",
]
CSS = """
.gradio-container { max-width: 1400px !important; }
#chatbot table th:first-child, #chatbot table td:first-child { white-space: nowrap; }
#app-title h1 { margin-bottom: 0; }
#app-title p { margin-top: .2rem; opacity: .8; }
.evidence, .related, .grade { font-size: 0.92rem; line-height: 1.45; }
.ev { border: 1px solid var(--border-color-primary); border-radius: 8px;
      padding: .45rem .7rem; margin: 0 0 .55rem 0; background: var(--block-background-fill); }
.ev-cited { border-left: 4px solid var(--color-accent); }
.ev-uncited { opacity: .85; }
.ev summary { cursor: pointer; font-weight: 600; }
.ev-sec { font-weight: 400; opacity: .8; }
.ev-n { display: inline-block; min-width: 2.1em; font-weight: 700; color: var(--color-accent); }
.ev-meta { font-size: .8rem; opacity: .75; margin: .2rem 0 .35rem 0; }
.ev-text { white-space: pre-wrap; }
.ev-text mark, .ev-text mark * { background: #fde68a; color: #1f2937; border-radius: 3px;
      padding: 0 .1em; }
.ev-sep { margin: .8rem 0 .4rem; font-size: .8rem; text-transform: uppercase;
      letter-spacing: .04em; opacity: .7; }
.ev-weak { border: 1px solid #f59e0b; background: rgba(245, 158, 11, .12);
      border-radius: 8px; padding: .5rem .7rem; margin-bottom: .6rem; }
.ev-empty, .rel-empty { opacity: .7; font-style: italic; }
.related { margin: 0; padding-left: 1.2rem; }
.grade-score { display: flex; align-items: baseline; gap: .4rem; margin-bottom: .4rem; }
.grade-score .score { font-size: 2.2rem; font-weight: 800; color: var(--color-accent); }
.grade-score .of { font-size: 1.1rem; opacity: .7; }
.grade-sum { margin-left: .6rem; opacity: .8; }
.kp-h { margin: .6rem 0 .2rem; }
.kp-h.ok { color: #16a34a; }
.kp-h.miss { color: #dc2626; }
.kp { padding-left: 1.2rem; margin: 0; }
.kp li { margin-bottom: .35rem; }
.kp-cite { font-weight: 700; color: var(--color-accent); }
.kp-src, .kp-match { font-size: .8rem; opacity: .75; }
.grade-sources { font-size: .82rem; padding-left: 1.2rem; }
.kp-h.part { color: #d97706; }
.kp-h.bad { color: #b91c1c; }
.grader-note, .next-review { font-size: .85rem; margin: .2rem 0 .5rem; }
.next-review { padding: .35rem .6rem; border-radius: 6px; background: rgba(99, 102, 241, .1); }
.grade-notes { font-size: .82rem; opacity: .85; }
.tiles { display: flex; flex-wrap: wrap; gap: .6rem; margin-bottom: .4rem; }
.tile { border: 1px solid var(--border-color-primary); border-radius: 8px; padding: .5rem .9rem;
        min-width: 7rem; background: var(--block-background-fill); }
.tile-n { font-size: 1.6rem; font-weight: 800; color: var(--color-accent); }
.tile-l { font-size: .8rem; opacity: .75; }
"""


CACHE_CLEANUP = (3600, 3600)  # Gradio temp files: checked hourly, removed after an hour

# Keeps the newest answer in view: when a message is added to the conversation, its
# start is scrolled into view (inside the chat box and on the page), once per message,
# so reading is not interrupted while the answer streams in.
SCROLL_JS = """
<script>
(() => {
  let seen = 0;
  const follow = () => {
    const root = document.querySelector('#chatbot');
    if (!root) return;
    const bots = root.querySelectorAll("[data-testid='bot']");
    if (bots.length === seen) return;
    seen = bots.length;
    const last = bots[bots.length - 1];
    if (last) last.scrollIntoView({block: 'start', behavior: 'smooth'});
  };
  new MutationObserver(follow).observe(document.documentElement,
                                       {childList: true, subtree: true});
})();
</script>
"""


def launch_options() -> dict:
    """Theme, CSS and the scroll script; Gradio 6 takes them in ``launch()`` (the upload
    size limit comes with ``rag.app.limits.launch_limits``)."""
    local = ["ui-sans-serif", "system-ui", "Segoe UI", "Roboto", "Helvetica", "Arial",
             "sans-serif"]  # offline: no web fonts
    theme = gr.themes.Soft(primary_hue="indigo", neutral_hue="slate", font=local,
                           font_mono=["ui-monospace", "Consolas", "monospace"])
    return {"theme": theme, "css": CSS + your_documents.CSS, "head": SCROLL_JS}


class Callbacks:
    """Chat event handlers bound to one loaded assistant; ``bank`` is the mock
    interview's practice loop (``rag.study.practice.Practice``) of the same index."""

    def __init__(self, assistant, settings: Settings, bank=None, seed: int | None = None):
        self.assistant = assistant
        self.settings = settings
        self.bank = bank
        self.rng = random.Random(seed)
        self.on_new_bank = None  # the interview tab's hook: use the rebuilt index's bank

    def use(self, assistant, bank) -> None:
        """Swap in a rebuilt index's assistant and practice loop (rag.app.refresh);
        each callback reads ``self.assistant`` once, so requests in flight finish on
        the old one."""
        self.assistant, self.bank = assistant, bank
        if self.on_new_bank is not None and bank is not None:
            self.on_new_bank(bank)

    # --- chat -----------------------------------------------------------------

    def respond(self, question: str, messages: list, k: float, backend: str,
                show_uncited: bool) -> Iterator[tuple]:
        """Stream the answer into the chat, then fill the evidence panel.

        The conversation is the chat itself: the earlier questions are read from
        ``messages``, so a follow-up is rewritten the same way for the browser and
        for API clients, with no server-side state to go stale."""
        assistant = self.assistant  # read once: a background rebuild may swap it
        before = list(messages or [])
        limits = self.settings.limits
        if len(before) > limits.max_messages:  # refused before any work
            raise gr.Error(f"This conversation is too long ({len(before):,} messages; "
                           f"the limit is {limits.max_messages}): click “New chat”.")
        recent = recent_history(asked_questions(before), limits.history_turns,
                                limits.history_chars)
        history = standalone_history(assistant, recent)
        messages = [*before, {"role": "user", "content": (question or "").strip()},
                    {"role": "assistant", "content": "…"}]
        weak = self.settings.app.weak_evidence_below
        partial, answer = "", None
        empty = empty_evidence()
        try:
            events = assistant.stream(question or "", k=int(k), backend=backend,
                                      history=history)
            first = next(events)  # a rejected question fails here, before any bubble
            yield messages, "", None, empty, "", "Searching…"
            for event in stream_updates(_chain(first, events), self.settings.app):
                if isinstance(event, Answer):
                    answer = event
                else:
                    partial += event
                    messages[-1] = {"role": "assistant", "content": partial}
                    # unchanged outputs are sent again: gr.skip() would make Gradio build
                    # a new component per output and update (profiled: most of the cost)
                    yield messages, "", gr.skip(), empty, "", "Searching…"
        except RagError as exc:  # no bubble: the question stays in the box to fix it
            gr.Warning(str(exc))
            yield before, question, gr.skip(), gr.skip(), gr.skip(), present.error_message(
                str(exc))
            return
        messages[-1] = {"role": "assistant", "content": answer.text}
        yield (messages, "", answer, present.evidence_html(answer, show_uncited, weak),
               present.related_html(answer.related_papers), present.answer_footer(answer))

    def new_chat(self) -> tuple:
        return [], "", None, empty_evidence(), "", ""

    def rerender(self, answer: Answer | None, show_uncited: bool) -> str:
        return present.evidence_html(answer, show_uncited, self.settings.app.weak_evidence_below)


@functools.cache
def empty_evidence() -> str:
    """The evidence panel before an answer (rendered once)."""
    return present.evidence_html(None)


def stream_updates(events: Iterable[object], app: AppSettings) -> Iterator[object]:
    """The chat's updates for ``Assistant.stream`` events: words paced so an instant
    answer still reads as it streams (``stream_delay_ms`` per word), but sent in one
    update per ``stream_interval_ms`` (each update re-sends the whole chat) and at most
    ``stream_max_ms`` in all; no separate update for the text the final ``Answer``,
    arriving right after it, shows anyway."""
    held = None
    for event in paced(events, app.stream_delay_ms / 1000, app.stream_interval_ms / 1000,
                       app.stream_max_ms / 1000):
        if held is not None and not isinstance(event, Answer):
            yield held
        held = event if isinstance(event, str) else None
        if held is None:
            yield event
    if held is not None:
        yield held


def _chain(first, rest) -> Iterator:
    yield first
    yield from rest


def message_text(message: dict) -> str:
    """The text of a chat message (plain string or Gradio's list of content parts)."""
    content = message.get("content", "")
    if isinstance(content, str):
        return content
    parts = content if isinstance(content, list) else [content]
    return "".join(p.get("text", "") for p in parts if isinstance(p, dict))


def asked_questions(messages: list[dict]) -> list[str]:
    """The user's earlier questions, oldest first, leaving out those that got an error."""
    out = []
    for i, message in enumerate(messages):
        reply = messages[i + 1] if i + 1 < len(messages) else None
        failed = reply is None or message_text(reply).startswith(present.error_message(""))
        if message.get("role") == "user" and not failed:
            out.append(message_text(message))
    return out


def standalone_history(assistant, questions: list[str]) -> list[str]:
    """Each earlier question as retrieval saw it (follow-ups rewritten in turn)."""
    history: list[str] = []
    for question in questions:
        history.append(assistant.search_query(question, history))
    return history


def build_app(assistant, settings: Settings | None = None, practice=None,
              seed: int | None = None, db_url: str | None = None, bank=None) -> gr.Blocks:
    """The whole app for a loaded ``Assistant``: chat, mock interview and progress.
    ``practice`` (``rag.study.practice.Practice``) is opened here unless given: the
    question bank stored with the index and the progress database (``db_url``, default
    ``RAG_DB_URL`` or SQLite under ``RAG_HOME``); ``seed`` makes card order repeatable.
    ``bank`` is an older name of ``practice``."""
    settings = settings or assistant.settings
    practice = practice or bank or None
    practice, problem = _practice(assistant, practice, db_url)
    cb = Callbacks(assistant, settings, practice, seed)
    cb.extras, cb.bank_for = [study_extra(settings)], _practice_for(practice)
    cb.documents = your_documents.DocumentsCallbacks(cb, settings)
    upload_dir = your_documents.upload_dir(settings)  # uploads stay under RAG_HOME
    upload_dir.mkdir(parents=True, exist_ok=True)
    os.environ["GRADIO_TEMP_DIR"] = str(upload_dir)
    refresher = refresh.Refresher(cb, bank_for=cb.bank_for, extras=cb.extras)
    with gr.Blocks(title="Interview prep assistant", analytics_enabled=False,
                   delete_cache=CACHE_CLEANUP) as demo:
        gr.Markdown(f"# {TITLE}\nAnswers are built from the reading list's own passages; "
                    "every claim carries an [n] marker that points to the evidence beside it.",
                    elem_id="app-title")
        gr.HTML(refresher.status_html, elem_id="index-status", show_label=False)
        with gr.Tabs():
            with gr.Tab("Chat", id="chat"):
                _chat_tab(cb, assistant, settings)
            with gr.Tab("Mock interview", id="interview"):
                if practice is None:
                    gr.HTML(present.notice_html(problem), elem_id="study-status")
                else:
                    study = study_tabs.StudyCallbacks(practice, seed)
                    cb.on_new_bank = study.use
                    llm = any(name != "extractive" for name in assistant.available_backends)
                    study_tabs.interview_tab(study, llm)
            if practice is not None:
                with gr.Tab("Progress", id="progress") as tab:
                    _refresh, outputs = study_tabs.progress_tab(study)
                tab.select(study.progress_view, None, outputs, api_visibility="private")
        demo.load(cb.documents.rows, None, cb.documents.state, api_visibility="private")
    if assistant.rebuild_pending and settings.rebuild.background:
        refresher.start()  # the app serves the last good index meanwhile
    return demo


def _practice_for(practice):
    """For rag.app.refresh: the practice loop of a rebuilt index (same database)."""
    def practice_for(fresh):
        from rag.study.practice import Practice
        from rag.study.stored import load_study

        if practice is None:
            return None
        return Practice(fresh, load_study(fresh.index.build_dir), practice.store,
                        practice.problem)
    return practice_for


def _practice(assistant, practice, db_url: str | None):
    """The practice loop, or None and why (no stored bank: the chat still works)."""
    if practice is not None:
        return practice, ""
    from rag.study.practice import Practice

    try:
        return Practice.open(assistant, db_url), ""
    except RagError as exc:
        return None, f"The mock interview is unavailable: {exc}"


def _chat_tab(cb: Callbacks, assistant, settings: Settings) -> None:
    last_answer = gr.State(None)
    with gr.Row(equal_height=False):
        with gr.Column(scale=3):
            chatbot = gr.Chatbot(label="Conversation", show_label=False, height=None,
                                 min_height=360, max_height=620, elem_id="chatbot",
                                 buttons=["copy"], feedback_options=None,
                                 placeholder="Ask an interview question, or pick an example "
                                 "below. Follow-ups like “and what are its limitations?” work.")
            with gr.Row():
                question = gr.Textbox(show_label=False, scale=6, elem_id="question",
                                      placeholder="Ask an interview question…", autofocus=True)
                send = gr.Button("Send", variant="primary", scale=1, elem_id="send")
            examples = gr.Examples(EXAMPLES, inputs=[question], label="Example questions")
            new_chat = gr.Button("New chat", elem_id="new-chat", size="sm")
            with gr.Accordion("Settings", open=False):
                k = gr.Slider(1, 10, value=min(10, settings.retrieval.k), step=1,
                              label="Passages to retrieve (k)")
                backends = assistant.available_backends
                default = settings.answer.backend
                backend = gr.Dropdown(backends, value=default if default in backends
                                      else backends[0], label="Answer backend")
                show_uncited = gr.Checkbox(True, label="Show uncited evidence")
            your_documents.documents_panel(cb.documents)
        with gr.Column(scale=2):
            footer = gr.Markdown(elem_id="answer-footer", label="Answer details")
            gr.Markdown("### Evidence")
            evidence = gr.HTML(present.evidence_html(None), elem_id="evidence", label="Evidence",
                               show_label=False)
            gr.Markdown("### Related papers")
            related = gr.HTML("", elem_id="related", label="Related papers", show_label=False)
    inputs = [question, chatbot, k, backend, show_uncited]
    outputs = [chatbot, question, last_answer, evidence, related, footer]
    send.click(cb.respond, inputs, outputs, api_name="ask")
    question.submit(cb.respond, inputs, outputs, api_visibility="private")
    examples.load_input_event.then(cb.respond, inputs, outputs, api_visibility="private")
    new_chat.click(cb.new_chat, None, outputs, api_name="new_chat")
    show_uncited.change(cb.rerender, [last_answer, show_uncited], evidence,
                        api_visibility="private")
