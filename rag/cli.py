"""The ``rag`` command: parse arguments, call the library, print the result.

Exit codes: 0 success, 2 bad input or a problem the message explains, 1 an
unexpected internal error (``RAG_DEBUG=1`` shows its traceback), 130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import textwrap
from collections.abc import Callable

from rag.errors import RagError
from rag.records import Answer
from rag.settings import PRESETS, Settings, load_settings


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rag", description="Interview-prep research assistant over an AI reading list.")
    parser.add_argument("--preset", choices=sorted(PRESETS), default="default",
                        help="settings preset (environment variables RAG_* still apply)")
    sub = parser.add_subparsers(dest="command", required=True)
    build = sub.add_parser("build", help="build the index (skipped when up to date)")
    build.add_argument("--force", action="store_true", help="rebuild even when up to date")
    build.add_argument("--quiet", action="store_true", help="no progress bars")
    ask = sub.add_parser("ask", help="answer a question with cited passages")
    ask.add_argument("question", nargs="?", help="the question (omit with --jsonl)")
    ask.add_argument("--json", action="store_true", help="print one JSON object")
    ask.add_argument("--jsonl", action="store_true",
                     help="read questions one per line on stdin, write JSON lines")
    ask.add_argument("--k", type=int, default=None, help="number of passages (1-50)")
    ask.add_argument("--backend", default=None, help="answer backend (default: extractive)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = load_settings(args.preset)
        return COMMANDS[args.command](args, settings)
    except RagError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - last resort: one clear line, no traceback
        if os.environ.get("RAG_DEBUG"):
            raise
        print(f"internal error: {type(exc).__name__}: {exc} (set RAG_DEBUG=1 for details)",
              file=sys.stderr)
        return 1


def cmd_build(args: argparse.Namespace, settings: Settings) -> int:
    from rag.embed import Embedder
    from rag.index import build_index

    report = build_index(settings, Embedder(settings.embedding), force=args.force,
                         progress=not args.quiet)
    for warning in report.warnings:
        print(f"warning: skipped {warning}", file=sys.stderr)
    if report.rebuilt:
        print(f"built {report.index_dir} ({report.reason}): {report.chunks} chunks, "
              f"{report.sentences} sentences; embedded {report.embedded}, "
              f"reused {report.reused}; {report.seconds:.1f} s")
    else:
        print(f"index up to date: {report.index_dir} ({report.chunks} chunks); nothing to do")
    return 0


def cmd_ask(args: argparse.Namespace, settings: Settings) -> int:
    if args.jsonl:
        if args.question:
            raise RagError("--jsonl reads questions from stdin; do not also pass one")
        return _ask_jsonl(args, settings)
    if args.question is None:
        raise RagError('no question given: rag ask "your question"')
    from rag.assistant import validate_question

    validate_question(args.question, settings.answer.max_question_chars)  # before loading
    assistant = _load(settings, quiet=args.json)
    answer = assistant.ask(args.question, k=args.k, backend=args.backend)
    if args.json:
        print(json.dumps(answer.to_json(), ensure_ascii=False, indent=2))
    else:
        print(format_answer(answer))
    return 0


def _load(settings: Settings, quiet: bool):
    from rag.assistant import Assistant

    return Assistant.load(settings, progress=not quiet and sys.stderr.isatty())


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


def format_answer(answer: Answer, width: int = 100) -> str:
    """Readable answer: text, numbered sources, related papers, timing."""
    lines = [answer.text, ""]
    cited = [c for c in answer.citations if c.cited]
    other = [c for c in answer.citations if not c.cited]
    for heading, group in (("Sources", cited), ("Other retrieved passages", other)):
        if group:
            lines.append(f"{heading}:")
            for c in group:
                where = f" — {c.section}" if c.section else ""
                lines.append(f"  [{c.n}] {c.title}{where}  ({c.url})")
                if c.cited:
                    snippet = textwrap.shorten(" ".join(c.used_sentences) or c.text, width - 8)
                    lines.append(f"      “{snippet}”")
            lines.append("")
    if answer.related_papers:
        lines.append("Related papers:")
        lines.extend(f"  - {p.title} ({p.year}) {p.url}" for p in answer.related_papers)
        lines.append("")
    lines.append(f"({answer.backend}, {answer.timings_ms.get('total', 0):.0f} ms)")
    return "\n".join(lines)


COMMANDS: dict[str, Callable[[argparse.Namespace, Settings], int]] = {
    "build": cmd_build,
    "ask": cmd_ask,
}

if __name__ == "__main__":
    sys.exit(main())
