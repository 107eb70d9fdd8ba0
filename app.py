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
import os
import sys
from collections.abc import Mapping

from rag.api.security import is_loopback
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
    from rag.study.stored import study_extra

    try:
        auth = auth_from_env()
        if auth is None and settings.study.users_file:
            from rag.app.users import users_auth

            auth = users_auth(settings.study.users_file)
        for warning in exposure_warnings(args, auth):
            print(f"warning: {warning}", file=sys.stderr)
        print("Loading the model and index…", flush=True)
        loading = _load_in_background(settings, [study_extra(settings)])  # beside Gradio
        from rag.app import ui

        assistant = loading.result()
        if assistant.notice:  # e.g. serving the last good index while a rebuild is due
            print(f"note: {assistant.notice}", file=sys.stderr)
        demo = ui.build_app(assistant, settings)
    except RagError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    demo.queue(default_concurrency_limit=settings.app.concurrency)
    from rag.app import limits

    if args.share:  # a share link needs Gradio's own launcher (and the internet)
        print("note: with --share the HTTP API (/api, /v1) is not served", file=sys.stderr)
        demo.launch(**launch_kwargs(args, auth), **ui.launch_options(),
                    **limits.launch_limits(settings, uploads=True))  # "Your documents"
        return 0
    return serve_with_api(demo, assistant, settings, args, auth)


def _load_in_background(settings, extras):
    """``Assistant.load`` in a worker thread; ``.result()`` waits (and re-raises)."""
    from concurrent.futures import ThreadPoolExecutor

    from rag.assistant import Assistant

    pool = ThreadPoolExecutor(1, thread_name_prefix="load")
    future = pool.submit(Assistant.load, settings, progress=True, wait=settings.rebuild.wait,
                         extras=extras)
    pool.shutdown(wait=False)  # the thread ends when the load does
    return future


def serve_with_api(demo, assistant, settings, args: argparse.Namespace,
                   auth) -> int:
    """The UI and the HTTP API (``rag.api``) in one server: the Gradio app mounted on
    the API's FastAPI app.  The API takes ``RAG_API_KEY`` as a bearer token and, when
    the app has a login (one account or a users file), that login too as HTTP Basic (an
    app locked by a login never serves an open API); ``rag ask`` finds this server like
    a ``rag serve``.  Issue 13's limits
    (request bodies, login back-off) wrap the whole server, API included."""
    import gradio as gr

    from rag.api.security import ApiAuth, api_key_from_env
    from rag.api.security import exposure_warnings as api_warnings
    from rag.api.serve import bind, run_server
    from rag.api.server import create_api
    from rag.app import limits, ui

    api_auth = ApiAuth(key=api_key_from_env(settings.api.key_env), login=auth)
    for warning in api_warnings(args.host, api_auth):
        print(f"warning: {warning}", file=sys.stderr)
    try:
        sock = bind(args.host, args.port)
    except OSError as exc:
        print(f"error: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}",
              file=sys.stderr)
        return 2
    app = limits.add_limits(create_api(assistant, settings, api_auth), settings, uploads=True)
    upload_mb = limits.launch_limits(settings, uploads=True)["max_file_size"]
    app = gr.mount_gradio_app(app, demo, path="/", auth=auth, show_error=False,
                              max_file_size=upload_mb, **ui.launch_options())
    run_server(app, sock, settings, api_auth.required)
    return 0


if __name__ == "__main__":
    sys.exit(main())
