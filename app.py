"""The Gradio app: ``python app.py [--host 127.0.0.1] [--port 7860]``.

Loads the embedding model and the index once (building the index if it is
missing or stale), then serves the chat and mock-interview tabs from
``rag.app.ui``.  Offline: nothing is downloaded.

Security defaults: the app binds 127.0.0.1 (reachable only from this machine);
``--host 0.0.0.0`` serves other machines and ``--share`` opens a Gradio share
link, each only when given.  Setting ``RAG_APP_USERNAME`` and ``RAG_APP_PASSWORD``
makes every page and API call ask for that login; ``RAG_STUDY__USERS_FILE`` names a
file of several logins (``rag.app.users``).  Each login has its own mock-interview
progress.  No folder is added to
Gradio's allowed file paths, so its file routes serve nothing from disk.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import sys
from collections.abc import Mapping

from rag.errors import RagError
from rag.settings import SettingsError, load_settings


def parse_args(argv: list[str] | None, settings) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Interview-prep assistant (Gradio app)")
    parser.add_argument("--host", default=settings.app.host,
                        help=f"address to bind (default {settings.app.host})")
    parser.add_argument("--port", type=int, default=settings.app.port,
                        help=f"port to listen on (default {settings.app.port}; 0 = any free)")
    parser.add_argument("--share", action="store_true",
                        help="also open a public Gradio share link (off by default)")
    return parser.parse_args(argv)


def auth_from_env(environ: Mapping[str, str] = os.environ) -> tuple[str, str] | None:
    """The login from RAG_APP_USERNAME / RAG_APP_PASSWORD (both or neither)."""
    user = environ.get("RAG_APP_USERNAME", "")
    password = environ.get("RAG_APP_PASSWORD", "")
    if bool(user) != bool(password):
        raise RagError("set both RAG_APP_USERNAME and RAG_APP_PASSWORD (or neither)")
    return (user, password) if user else None


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def launch_kwargs(args: argparse.Namespace, auth: tuple[str, str] | None) -> dict:
    """What ``demo.launch`` gets: bind address, share link and login; nothing widens
    the file paths Gradio may serve (no ``allowed_paths``)."""
    return {"server_name": args.host, "server_port": args.port or None,
            "share": bool(args.share), "auth": auth, "show_error": False}


def exposure_warnings(args: argparse.Namespace, auth: tuple[str, str] | None) -> list[str]:
    public = args.share or not is_loopback(args.host)
    if public and auth is None:
        return ["the app is reachable from other machines without a login; "
                "set RAG_APP_USERNAME and RAG_APP_PASSWORD to require one"]
    return []


def main(argv: list[str] | None = None) -> int:
    try:
        settings = load_settings()
    except SettingsError as exc:  # one line naming the variable, no traceback
        print(f"error: {exc}", file=sys.stderr)
        return 2
    args = parse_args(argv, settings)
    from rag.app import limits, ui
    from rag.assistant import Assistant
    from rag.study.stored import study_extra

    try:
        auth = auth_from_env()
        if auth is None and settings.study.users_file:
            from rag.app.users import users_auth

            auth = users_auth(settings.study.users_file)
        for warning in exposure_warnings(args, auth):
            print(f"warning: {warning}", file=sys.stderr)
        print("Loading the model and index…", flush=True)
        assistant = Assistant.load(settings, progress=True, wait=settings.rebuild.wait,
                                   extras=[study_extra(settings)])
        if assistant.notice:  # e.g. serving the last good index while a rebuild is due
            print(f"note: {assistant.notice}", file=sys.stderr)
        demo = ui.build_app(assistant, settings)
    except RagError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    demo.queue(default_concurrency_limit=settings.app.concurrency)
    demo.launch(**launch_kwargs(args, auth), **ui.launch_options(),
                **limits.launch_limits(settings, uploads=True))  # "Your documents" uploads
    return 0


if __name__ == "__main__":
    sys.exit(main())
