"""The Gradio app: ``python app.py [--host 127.0.0.1] [--port 7860]``.

Loads the embedding model and the index once (building the index if it is
missing or stale), then serves the chat and mock-interview tabs from
``rag.ui``.  Offline: nothing is downloaded.
"""

from __future__ import annotations

import argparse
import sys

from rag.errors import RagError
from rag.settings import load_settings


def parse_args(argv: list[str] | None, settings) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Interview-prep assistant (Gradio app)")
    parser.add_argument("--host", default=settings.app.host,
                        help=f"address to bind (default {settings.app.host})")
    parser.add_argument("--port", type=int, default=settings.app.port,
                        help=f"port to listen on (default {settings.app.port}; 0 = any free)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    settings = load_settings()
    args = parse_args(argv, settings)
    from rag import ui
    from rag.assistant import Assistant

    try:
        print("Loading the model and index…", flush=True)
        assistant = Assistant.load(settings, progress=True)
        demo = ui.build_app(assistant, settings)
    except RagError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    demo.queue(default_concurrency_limit=settings.app.concurrency)
    demo.launch(server_name=args.host, server_port=args.port or None, show_error=False,
                **ui.launch_options())
    return 0


if __name__ == "__main__":
    sys.exit(main())
