"""The "Your documents" panel of the chat tab: upload area, results, list with remove.

Thin callbacks: adding, removing and re-indexing live in ``rag.search.sources``; this
module shows progress and results.  When the index has been rebuilt, a new
``Assistant`` over it (sharing the loaded model) replaces the one the callbacks use, in
one assignment: requests already running finish on the old one, the next request uses
the new one, so the upload is answerable at once and nobody restarts anything.

Uploads are held to ``RAG_SOURCES__MAX_MB`` (Gradio refuses bigger files, and the
library checks again) and Gradio keeps them under ``RAG_HOME`` (``upload_dir``); each
is deleted once its copy is registered.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from pathlib import Path

import gradio as gr

from rag.app.present import esc
from rag.corpus.documents import Candidate, added_dir
from rag.corpus.formats import FORMATS
from rag.errors import RagError
from rag.records import AddResult
from rag.search.sources import add_and_index, document_rows, remove_and_index
from rag.settings import Settings

_STATUS = {"added": ("ok", "added"), "duplicate": ("dup", "duplicate"),
           "rejected": ("bad", "rejected")}
CSS = """
.up-results { list-style: none; padding: 0; margin: .4rem 0; font-size: .9rem; }
.up-results li { padding: .25rem .5rem; border-radius: 6px; margin-bottom: .25rem; }
.up-results .ok { background: rgba(22, 163, 74, .12); }
.up-results .dup { background: rgba(100, 116, 139, .15); }
.up-results .bad { background: rgba(220, 38, 38, .12); }
.up-status { font-weight: 700; text-transform: uppercase; font-size: .75rem;
      letter-spacing: .04em; margin-right: .4rem; }
.doc-row { align-items: center !important; border-bottom: 1px solid var(--border-color-primary);
      padding: .2rem 0; }
.doc-meta { font-size: .8rem; opacity: .75; }
"""


# Gradio finds progress trackers by their default value (the usual ``progress=gr.Progress()``).
_PROGRESS = gr.Progress(track_tqdm=True)


def upload_dir(settings: Settings) -> Path:
    """Where Gradio keeps uploads (inside ``RAG_HOME``, never in the system temp dir)."""
    return added_dir(settings.corpus_dir) / ".uploads"


def results_html(results: Sequence[AddResult]) -> str:
    """One line per uploaded file: added / duplicate / rejected, and why."""
    if not results:
        return ""
    items = []
    for r in results:
        css, label = _STATUS.get(r.status, ("bad", r.status))
        items.append(f'<li class="{css}" data-status="{esc(r.status)}"><span class="up-status">'
                     f"{esc(label)}</span><strong>{esc(r.name)}</strong>: {esc(r.message)}</li>")
    return f'<ul class="up-results" id="upload-result-list">{"".join(items)}</ul>'


def document_label(row: dict) -> str:
    """Markdown for one of your documents: title, then kind, pages, chunks, date."""
    pages = row.get("pages")
    parts = [row["kind"], f"{pages} page{'s' if pages != 1 else ''}" if pages else "",
             f"{row['chunks']} passages" if row.get("chunks") is not None else "indexing…",
             f"added {row['added_at'][:10]}"]
    meta = " · ".join(p for p in parts if p)
    title = row["title"].replace("*", "\\*").replace("_", "\\_")
    return f"**{title}**  \n<span class='doc-meta'>{esc(row['doc_id'])} · {esc(meta)}</span>"


class DocumentsCallbacks:
    """Upload and remove handlers; ``owner`` is the chat's ``Callbacks`` (its
    ``assistant`` and ``bank`` are replaced after a rebuild)."""

    def __init__(self, owner, settings: Settings):
        self.owner = owner
        self.settings = settings
        self.state = None  # the per-session list of documents (set by documents_panel)
        self._reload_lock = threading.Lock()
        self._embedder = None

    def builder(self):
        """The model instance index updates embed with: a second one, loaded on first use,
        so a rebuild never shares a tokenizer with the questions being answered."""
        with self._reload_lock:
            if self._embedder is None:
                from rag.search.embed import Embedder

                self._embedder = Embedder(self.settings.resolved_embedding())
            return self._embedder

    def rows(self) -> list[dict]:
        return document_rows(self.settings)

    def upload(self, files: list | None, progress=_PROGRESS) -> tuple:
        paths = [Path(f if isinstance(f, str) else getattr(f, "name", str(f)))
                 for f in (files or [])]
        if not paths:
            return "", self.rows()
        limit = self.settings.documents.max_files
        if len(paths) > limit:
            _delete_uploads(paths, upload_dir(self.settings))
            return results_html([AddResult(name=f"{len(paths)} files", status="rejected",
                                           message=f"at most {limit} files at once")]), \
                self.rows()
        candidates = [Candidate(p, p.name, no_follow=True) for p in paths]
        progress(0.0, desc="Reading your files…")

        def step(i: int, n: int, name: str) -> None:
            progress(0.4 * i / max(n, 1), desc=f"Reading {name}" if name else
                     "Updating the index (new passages are embedded)…")

        try:
            change = add_and_index(self.settings, self.builder, candidates, step,
                                   build_progress=True, extras=self._extras())
            if change.build is not None:
                progress(0.95, desc="Loading the updated index…")
                self._reload()
            results = change.results
        except RagError as exc:
            results = [AddResult(name=p.name, status="rejected", message=str(exc))
                       for p in paths]
        finally:
            _delete_uploads(paths, upload_dir(self.settings))
        return results_html(results), self.rows()

    def remove(self, doc_id: str, progress=_PROGRESS) -> tuple:
        progress(0.1, desc=f"Removing {doc_id}…")
        try:
            change = remove_and_index(self.settings, self.builder, [doc_id],
                                      build_progress=True, extras=self._extras())
        except RagError as exc:
            return results_html([AddResult(name=doc_id, status="rejected",
                                           message=str(exc))]), self.rows()
        if change.build is not None:
            self._reload()
        removed = [f"<li class='dup'><span class='up-status'>removed</span>"
                   f"<strong>{esc(d.title)}</strong> ({esc(d.doc_id)})</li>"
                   for d in change.removed]
        return f'<ul class="up-results">{"".join(removed)}</ul>', self.rows()

    def _extras(self) -> list:
        """The build extras of the app (the question bank), rebuilt with the index."""
        return list(getattr(self.owner, "extras", []))

    def _reload(self) -> None:
        """Swap in an assistant (and practice loop) over the rebuilt index."""
        bank_for = getattr(self.owner, "bank_for", None) or (lambda fresh: None)
        with self._reload_lock:
            fresh = self.owner.assistant.reloaded()
            self.owner.use(fresh, bank_for(fresh))  # in-flight requests keep the old


def _delete_uploads(paths: Sequence[Path], root: Path) -> None:
    """Remove Gradio's upload copies and their folders (only inside ``root``, never the
    user's own files), and empty temporary files Gradio left there long ago."""
    root = root.resolve()
    for path in paths:
        try:
            if path.resolve().is_relative_to(root) and path.resolve() != root:
                path.unlink(missing_ok=True)
                if path.parent.resolve() != root:
                    path.parent.rmdir()  # only when empty
        except OSError:
            pass
    cutoff = time.time() - 600
    for leftover in root.glob("tmp*"):
        try:
            info = leftover.stat()
            if leftover.is_file() and info.st_size == 0 and info.st_mtime < cutoff:
                leftover.unlink()
        except OSError:
            pass


def documents_panel(cb: DocumentsCallbacks) -> None:  # noqa: C901 - gr.render closure
    """The upload area, per-file results and the "Your documents" list."""
    types = sorted(FORMATS)
    with gr.Accordion("Your documents", open=False, elem_id="your-documents"):
        gr.Markdown(f"Drop PDFs (papers), notes (`.md`, `.txt`) or saved web pages "
                    f"(`.html`) here, up to {cb.settings.sources.max_mb:g} MB each. They are "
                    "answerable as soon as the progress bar finishes; passages from PDFs "
                    "are cited with their pages.")
        upload = gr.File(label="Add documents", file_count="multiple", file_types=types,
                         elem_id="upload")
        results = gr.HTML("", elem_id="upload-results", min_height=90)
        docs = gr.State(cb.rows())

        @gr.render(inputs=docs)
        def _listing(rows: list[dict]) -> None:
            if not rows:
                gr.Markdown("_No documents added yet._", elem_id="no-documents")
                return
            for row in rows:
                with gr.Row(elem_classes="doc-row"):
                    gr.Markdown(document_label(row), elem_classes="doc-label")
                    button = gr.Button("Remove", size="sm", variant="stop", scale=0,
                                       elem_classes="doc-remove", min_width=90)
                    doc_id = gr.State(row["doc_id"])
                    button.click(cb.remove, doc_id, [results, docs],
                                 api_visibility="private", show_progress_on=[results])

    upload.upload(cb.upload, upload, [results, docs], api_name="add_documents",
                  show_progress_on=[results]).then(
        lambda: None, None, upload, api_visibility="private", show_progress="hidden")
    cb.state = docs
