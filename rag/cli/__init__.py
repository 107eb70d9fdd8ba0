"""The ``rag`` command: parse arguments, call the library, print (exit 0, 2, 1 or 130).
May import every other part of ``rag``: it is the top layer (with ``documents``, ``evaluate``).
"""

# Exit codes: 0 success, 2 bad input or a problem the message explains, 1 an unexpected
# internal error (``RAG_DEBUG=1`` shows its traceback), 130 interrupted.

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path

from rag.answer.render import format_answer
from rag.cli.documents import cmd_add, cmd_remove, list_documents
from rag.cli.evaluate import cmd_eval
from rag.errors import RagError
from rag.records import Answer
from rag.settings import PRESETS, REPO_ROOT, Settings, SettingsError, load_settings


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rag", description="Interview-prep research assistant over an AI reading list.")
    parser.add_argument("--preset", choices=sorted(PRESETS), default="default",
                        help="settings preset (environment variables RAG_* still apply)")
    sub = parser.add_subparsers(dest="command", required=True)
    build = sub.add_parser("build", help="build the index (skipped when up to date)")
    build.add_argument("--force", action="store_true", help="rebuild even when up to date")
    build.add_argument("--quiet", action="store_true", help="no progress bars")
    build.add_argument("--store", choices=["faiss", "milvus"], default=None,
                       help="where the index is served from (default: RAG_STORE, faiss); "
                            "milvus publishes a new build and switches its alias")
    build.add_argument("--rollback", action="store_true",
                       help="with --store milvus: serve the previous kept build again")
    ask = sub.add_parser("ask", help="answer a question with cited passages")
    ask.add_argument("question", nargs="?", help="the question (omit with --jsonl)")
    ask.add_argument("--json", action="store_true", help="print one JSON object")
    ask.add_argument("--jsonl", action="store_true",
                     help="read questions one per line on stdin, write JSON lines")
    ask.add_argument("--k", type=int, default=None, help="number of passages (1-50)")
    ask.add_argument("--backend", default=None,
                     help="answer backend: extractive (default), openai or llamacpp "
                          "(when configured: RAG_LLM__BASE_URL/MODEL or RAG_LLM__GGUF_PATH)")
    ask.add_argument("--local", action="store_true",
                     help="answer in this process even when a `rag serve` is running")
    _add_serve_parser(sub)
    _add_corpus_parser(sub)
    _add_eval_parser(sub)
    _add_quiz_parser(sub)
    _add_documents_parsers(sub)
    return parser


def _add_quiz_parser(sub: argparse._SubParsersAction) -> None:
    quiz = sub.add_parser("quiz", help="mock interview in the terminal (answers on stdin, "
                          "one per line; empty line skips, q quits)")
    quiz.add_argument("--topic", action="append",
                      help="only this topic (repeatable): a bank topic such as efficiency, "
                      "or a word or name its questions use, such as LoRA")
    quiz.add_argument("--due", action="store_true", help="due cards first (same as "
                      "--mode due, the default)")
    quiz.add_argument("--mode", choices=["due", "weakest", "random"], default="due",
                      help="how the next card is chosen (default: due)")
    quiz.add_argument("--cards", default="open,cloze,mcq",
                      help="card types to mix: open,cloze,mcq (default: all)")
    quiz.add_argument("--count", type=int, default=10, help="cards to ask (default 10)")
    quiz.add_argument("--user", default=None, help="profile (default: the local profile, or "
                      "RAG_APP_USERNAME when set)")
    quiz.add_argument("--grader", choices=["offline", "llm"], default="offline",
                      help="offline key-point grader, or the configured LLM as a rubric judge")
    quiz.add_argument("--json", action="store_true", help="JSON lines: a card, then its result")
    quiz.add_argument("--seed", type=int, default=None, help="repeatable card order")


def _add_documents_parsers(sub: argparse._SubParsersAction) -> None:
    add = sub.add_parser("add", help="add your own PDFs, notes (Markdown, text) and saved "
                         "web pages; the index is updated")
    add.add_argument("paths", nargs="+", type=Path, metavar="PATH|FOLDER",
                     help="files, or folders searched recursively")
    add.add_argument("--json", action="store_true", help="print one JSON object")
    add.add_argument("--quiet", action="store_true", help="no progress output")
    remove = sub.add_parser("remove", help="remove documents you added; the index is updated")
    remove.add_argument("doc_ids", nargs="+", metavar="DOC_ID",
                        help="ids from `rag corpus list` (user:..., or the file name)")
    remove.add_argument("--quiet", action="store_true", help="no progress bars")


def _add_eval_parser(sub: argparse._SubParsersAction) -> None:
    ev = sub.add_parser("eval", help="evaluate retrieval and answers on evals/dataset.jsonl")
    ev.add_argument("--dataset", type=Path, default=None,
                    help="questions as JSONL (default: evals/dataset.jsonl)")
    ev.add_argument("--out", type=Path, default=None,
                    help="results folder; a timestamped run folder is made inside "
                         "(default: evals/results)")
    ev.add_argument("--compare", type=Path, default=None, metavar="OLDER_RESULTS_JSON",
                    help="show the deltas against an older results.json")
    ev.add_argument("--gate", action="store_true",
                    help="exit 1 when a threshold of --thresholds is missed")
    ev.add_argument("--thresholds", type=Path, default=None,
                    help="gate thresholds (default: evals/thresholds.toml)")
    ev.add_argument("--configs", default="hybrid,dense,bm25",
                    help="comma-separated retrieval configurations (default: all)")
    ev.add_argument("--limit", type=int, default=None, help="only the first N questions")
    ev.add_argument("--split", default="all", choices=("all", "train", "heldout"),
                    help="only the questions of one split of the dataset (default: all)")
    ev.add_argument("--no-ragas", action="store_true",
                    help="skip the ragas metrics (quick checks; the gate needs them)")
    ev.add_argument("--grading", action="store_true",
                    help="calibrate the mock-interview grader on evals/grading.jsonl "
                         "(per-class means, Spearman rho): the train split; `--split "
                         "heldout` or `--gate` (evals/thresholds_grading.toml) score the "
                         "held-out split")
    ev.add_argument("--verbose", action="store_true",
                    help="with --grading: every answer's label, score and notes")


def _add_serve_parser(sub: argparse._SubParsersAction) -> None:
    serve = sub.add_parser("serve", help="serve the HTTP API (no UI): /api/ask, "
                           "/v1/chat/completions; `rag ask` then answers through it")
    serve.add_argument("--host", default=None,
                       help="address to bind (default: RAG_API__HOST, 127.0.0.1)")
    serve.add_argument("--port", type=int, default=None,
                       help="port (default: RAG_API__PORT, 8000; 0 = any free)")


def _add_corpus_parser(sub: argparse._SubParsersAction) -> None:
    corpus = sub.add_parser("corpus", help="linked papers and corpus statistics")
    corpus_sub = corpus.add_subparsers(dest="corpus_command", required=True)
    papers = corpus_sub.add_parser(
        "papers", help="fetch arXiv abstracts of the linked papers into corpus/papers.jsonl")
    papers.add_argument("--refresh", action="store_true",
                        help="fetch every linked paper again, not only the missing ones")
    papers.add_argument("--offline", action="store_true",
                        help="report what is linked, cached and unresolved; no network")
    corpus_sub.add_parser("stats", help="documents, papers by source, chunks, missing ids")
    listing = corpus_sub.add_parser("list", help="the documents you added (rag add)")
    listing.add_argument("--json", action="store_true", help="print a JSON array")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = load_settings(args.preset)
        return COMMANDS[args.command](args, settings)
    except (RagError, SettingsError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # the reader went away (`| head`): stop quietly, as Unix tools do
        _silence_stdout()
        return 141  # 128 + SIGPIPE, what a shell reports for a tool killed by SIGPIPE
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - last resort: one clear line, no traceback
        if os.environ.get("RAG_DEBUG"):
            raise
        print(f"internal error: {type(exc).__name__}: {exc} (set RAG_DEBUG=1 for details)",
              file=sys.stderr)
        return 1


def _silence_stdout() -> None:
    """Point stdout at /dev/null so that flushing it at exit raises nothing more."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def cmd_build(args: argparse.Namespace, settings: Settings) -> int:
    if args.store:
        settings = settings.updated(store=args.store)
    if settings.store == "milvus":
        return _build_milvus(args, settings)
    if args.rollback:
        raise RagError("--rollback needs --store milvus (FAISS keeps only the current build)")
    from rag.search.build import build_index, rebuild_reason
    from rag.search.embed import Embedder
    from rag.study.stored import study_extra

    embedder = Embedder(settings.resolved_embedding())
    extras = [study_extra(settings)]
    reason = "forced" if args.force else rebuild_reason(settings, extras)
    if not reason:  # no model load needed
        from rag.search.index import current_build, read_manifest

        ready = current_build(settings)
        chunks = read_manifest(ready)["counts"]["chunks"]
        print(f"index up to date: {ready} ({chunks} chunks); nothing to do")
        embedder.ensure_export(quiet=args.quiet)  # the query model, only when missing
        return 0
    if not args.quiet:
        print(f"building the index ({reason}); loading the embedding model…",
              file=sys.stderr, flush=True)
    embedder.start_export()  # on another core while this process reads and chunks
    report = build_index(settings, embedder, force=args.force, progress=not args.quiet,
                         extras=extras)
    embedder.ensure_export(quiet=args.quiet)
    _print_warnings(report.warnings)
    if report.rebuilt:
        print(f"built {report.index_dir} ({report.reason}): {report.chunks} chunks, "
              f"{report.sentences} sentences; embedded {report.embedded}, "
              f"reused {report.reused}; {report.seconds:.1f} s")
    else:
        print(f"index up to date: {report.index_dir} ({report.chunks} chunks); nothing to do")
    return 0


def _build_milvus(args: argparse.Namespace, settings: Settings) -> int:
    from rag.search.stores import milvus_build
    from rag.search.stores.milvus_client import redact_uri

    where = redact_uri(settings.milvus_uri)
    if args.rollback:
        left, now = milvus_build.rollback_milvus(settings)
        print(f"rolled back in Milvus at {where}: now serving build {now} (was {left})")
        return 0

    def embedder():
        from rag.search.embed import Embedder

        return Embedder(settings.resolved_embedding())

    from rag.study.stored import study_extra

    report = milvus_build.build_milvus(settings, embedder, force=args.force,
                                       progress=not args.quiet,
                                       extras=[study_extra(settings)])
    if report.published is None:
        print(f"Milvus index up to date at {where}: build {report.serving}; nothing to do")
        return 0
    if report.local and report.local.rebuilt:
        for warning in report.local.warnings:
            print(f"warning: skipped {warning}", file=sys.stderr)
    pub = report.published
    print(f"published build {pub.build} to Milvus at {where} ({report.reason}): "
          f"{pub.chunks} chunks, {pub.sentences} sentences; alias "
          f"{settings.milvus.collection_prefix!r} switched"
          + (f" (previous build kept for --rollback; dropped {len(pub.dropped)} older)"
             if pub.previous else "") + f"; {pub.seconds:.1f} s")
    return 0


def settings_env(settings: Settings) -> dict[str, str]:
    """Environment variables that reproduce ``settings`` exactly in a child process."""
    data = settings.model_dump(mode="json")
    data["milvus"]["token"] = settings.milvus.token.get_secret_value()  # dumps mask secrets
    return {f"RAG_{name.upper()}": value if isinstance(value, str) else json.dumps(value)
            for name, value in data.items()}


def _print_warnings(warnings: list[str]) -> None:
    for warning in warnings:
        print(f"warning: skipped {warning}", file=sys.stderr)


def cmd_ask(args: argparse.Namespace, settings: Settings) -> int:
    if args.jsonl:
        if args.question:
            raise RagError("--jsonl reads questions from stdin; do not also pass one")
        return _ask_jsonl(args, settings)
    if args.question is None:
        raise RagError('no question given: rag ask "your question"')
    if _ask_via_server(args, settings):
        return 0
    from rag.assistant import validate_question

    validate_question(args.question, settings.answer.max_question_chars)  # before loading
    assistant = _load(settings, quiet=args.json)
    if args.json:
        answer = assistant.ask(args.question, k=args.k, backend=args.backend)
        print(json.dumps(answer.to_json(), ensure_ascii=False, indent=2))
    elif (args.backend or settings.answer.backend) == "extractive":
        print(format_answer(assistant.ask(args.question, k=args.k, backend=args.backend)))
    else:
        _ask_streaming(assistant, args)
    return 0


def _ask_via_server(args: argparse.Namespace, settings: Settings) -> bool:
    """Answer through a running ``rag serve`` of this home and these settings (no model
    or index load here); False when there is none or it cannot answer."""
    streaming = (args.backend or settings.answer.backend) != "extractive" and not args.json
    if args.local or streaming or not settings.api.client:
        return False
    from rag.api import client

    server = client.find_server(settings)
    key = os.environ.get(settings.api.key_env, "").strip() or None
    if server is None or (server.auth and not key):  # a locked server we hold no key to
        return False
    try:
        out = client.ask(server, args.question, args.k, args.backend,
                         settings.api.client_timeout_s, key, text=not args.json)
    except client.Unreachable as exc:
        print(f"note: the server at {server.url} did not answer ({exc}); answering here",
              file=sys.stderr)
        return False
    print(out if isinstance(out, str) else json.dumps(out, ensure_ascii=False, indent=2))
    return True


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    from rag.api.security import ApiAuth, api_key_from_env, exposure_warnings
    from rag.api.serve import bind, run_server

    host = args.host or settings.api.host
    port = settings.api.port if args.port is None else args.port
    auth = ApiAuth(key=api_key_from_env(settings.api.key_env))
    for warning in exposure_warnings(host, auth):
        print(f"warning: {warning}", file=sys.stderr)
    try:
        sock = bind(host, port)  # before loading: a busy port fails at once
    except OSError as exc:
        raise RagError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    assistant = _load(settings, quiet=False)
    assistant.embedder.prepare()  # export the query model now if it is missing
    assistant.ask("What is attention?")  # warm caches before the first client
    from rag.api.server import create_api
    from rag.app.limits import add_limits  # the app's request limits (no Gradio import)

    run_server(add_limits(create_api(assistant, settings, auth), settings), sock, settings,
               auth.required)
    return 0


def _ask_streaming(assistant, args: argparse.Namespace) -> None:
    """Print an LLM answer token by token, then its sources; the final (checked)
    text is printed again only when it differs from what streamed (a fallback)."""
    shown: list[str] = []
    answer = None
    for event in assistant.stream(args.question, k=args.k, backend=args.backend):
        if isinstance(event, Answer):
            answer = event
        else:
            shown.append(event)
            sys.stdout.write(event)
            sys.stdout.flush()
    streamed = "".join(shown).strip()
    if streamed == answer.text:
        print("\n")
        print(format_answer(answer, with_text=False))
        return
    if streamed:
        print("\n\n(the text above was replaced; final answer:)\n")
    print(format_answer(answer))


def _load(settings: Settings, quiet: bool):
    """The assistant; an out-of-date index answers at once while it is rebuilt in the
    background (``RAG_REBUILD__WAIT=true`` rebuilds first).  Notices go to stderr."""
    from rag.assistant import Assistant
    from rag.study.stored import study_extra

    assistant = Assistant.load(settings, progress=not quiet and sys.stderr.isatty(),
                               wait=settings.rebuild.wait, extras=[study_extra(settings)])
    if assistant.build_report:
        _print_warnings(assistant.build_report.warnings)
    notice = assistant.notice
    if assistant.rebuild_pending:
        notice += "; " + _start_background_build(settings)
    if notice:
        print(f"note: {notice}", file=sys.stderr)
    return assistant


def _start_background_build(settings: Settings) -> str:
    """Start ``rag build`` as a detached process (it outlives this command) unless one
    is running; say what happened.  It gets these exact settings through RAG_*."""
    import subprocess

    from rag.search.build import build_running

    if not settings.rebuild.background:
        return "run `rag build` to update it"
    if build_running(settings):
        return "a rebuild is already running"
    settings.index_dir.mkdir(parents=True, exist_ok=True)
    log_path = settings.index_dir / "rebuild.log"
    env = {**os.environ, **settings_env(settings)}
    with open(log_path, "ab") as log:
        subprocess.Popen([sys.executable, "-m", "rag.cli", "build", "--quiet"],
                         stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env,
                         cwd=REPO_ROOT, start_new_session=True)
    return f"rebuilding in the background (log: {log_path})"


def _ask_jsonl(args: argparse.Namespace, settings: Settings) -> int:
    assistant = _load(settings, quiet=True)
    failures = 0
    for lineno, raw in enumerate(sys.stdin.buffer, 1):
        try:
            line = raw.decode("utf-8").rstrip("\r\n")
        except UnicodeDecodeError as exc:
            failures += 1
            _emit({"line": lineno, "error": f"line {lineno} is not valid UTF-8 (byte {exc.start})"})
            continue
        if not line.strip():
            continue
        try:
            answer = assistant.ask(line, k=args.k, backend=args.backend)
        except RagError as exc:
            failures += 1
            _emit({"line": lineno, "question": line[:200], "error": str(exc)})
            continue
        _emit(answer.to_json())
    if failures:
        print(f"error: {failures} line(s) rejected (see their \"error\" field)", file=sys.stderr)
    return 2 if failures else 0


def _emit(obj: dict) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def cmd_corpus(args: argparse.Namespace, settings: Settings) -> int:
    if args.corpus_command == "list":
        return list_documents(args, settings)
    if args.corpus_command == "stats":
        from rag.evaluation.corpus_stats import corpus_stats

        print("\n".join(corpus_stats(settings).lines()))
        return 0
    from rag.corpus import papers

    report = papers.update_papers(settings, refresh=args.refresh, offline=args.offline,
                                  progress=lambda line: print(line, file=sys.stderr))
    print("\n".join(report.lines()))
    return 0


def cmd_quiz(args: argparse.Namespace, settings: Settings) -> int:
    from rag.study.practice import Practice, parse_kinds
    from rag.study.quiz import run_quiz

    args.kinds = parse_kinds(args.cards)
    if args.count < 1:
        raise RagError(f"--count must be at least 1 (got {args.count})")
    args.user = args.user or os.environ.get("RAG_APP_USERNAME") or None
    practice = Practice.open(_load(settings, quiet=True))
    return run_quiz(practice, args)


COMMANDS: dict[str, Callable[[argparse.Namespace, Settings], int]] = {
    "build": cmd_build,
    "ask": cmd_ask,
    "serve": cmd_serve,
    "corpus": cmd_corpus,
    "eval": cmd_eval,
    "quiz": cmd_quiz,
    "add": cmd_add,
    "remove": cmd_remove,
}
