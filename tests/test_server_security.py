"""Server hardening of ``app.py``: loopback by default, public exposure only by flag,
a login from the environment, and no files served from outside the allowed paths.

The end-to-end checks run against the real ``app.py`` in a subprocess started
with its defaults plus ``RAG_APP_USERNAME``/``RAG_APP_PASSWORD`` (``locked_app``)."""

from __future__ import annotations

import http.client
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from conftest import APP_LOGIN

from rag.errors import RagError
from rag.settings import REPO_ROOT, load_settings


def _load_app_module():
    import importlib.util

    spec = importlib.util.spec_from_file_location("rag_app_main", REPO_ROOT / "app.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


app_module = _load_app_module()

pytestmark = pytest.mark.app


def _args(*argv: str):
    return app_module.parse_args(list(argv), load_settings())


# --- flags and defaults (no server) -----------------------------------------------------
def test_defaults_bind_loopback_without_share():
    kwargs = app_module.launch_kwargs(_args(), None)
    assert kwargs["server_name"] == "127.0.0.1"
    assert kwargs["share"] is False and kwargs["auth"] is None
    assert "allowed_paths" not in kwargs and kwargs["show_error"] is False
    assert app_module.exposure_warnings(_args(), None) == []


def test_public_binding_and_share_only_by_flag():
    public = _args("--host", "0.0.0.0")
    assert app_module.launch_kwargs(public, None)["server_name"] == "0.0.0.0"
    assert app_module.launch_kwargs(_args("--share"), None)["share"] is True
    for args in (public, _args("--share")):  # exposed without a login: warned
        assert "without a login" in app_module.exposure_warnings(args, None)[0]
        assert app_module.exposure_warnings(args, APP_LOGIN) == []


def test_login_comes_from_both_environment_variables():
    assert app_module.auth_from_env({}) is None
    env = {"RAG_APP_USERNAME": "ann", "RAG_APP_PASSWORD": "pw"}
    assert app_module.auth_from_env(env) == ("ann", "pw")
    with pytest.raises(RagError, match="set both RAG_APP_USERNAME and RAG_APP_PASSWORD"):
        app_module.auth_from_env({"RAG_APP_USERNAME": "ann"})


def test_half_a_login_is_a_clear_error_before_loading():
    out = subprocess.run([sys.executable, "app.py", "--port", "0"], cwd=REPO_ROOT,
                         env={"PATH": "/usr/bin:/bin", "RAG_APP_PASSWORD": "pw",
                              "HF_HUB_OFFLINE": "1"},
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 2
    assert out.stderr.startswith("error: set both") and "Traceback" not in out.stderr


# --- the running server -----------------------------------------------------------------
def _listening_addresses(port: int) -> set[str]:
    """Local addresses with a socket listening on ``port`` (from /proc/net/tcp{,6})."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        if not Path(table).exists():
            continue
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            addr, port_hex = local.split(":")
            if state == "0A" and int(port_hex, 16) == port:  # 0A = LISTEN
                found.add(socket.inet_ntop(socket.AF_INET, bytes.fromhex(addr)[::-1])
                          if len(addr) == 8 else addr)
    return found


def test_server_listens_on_loopback_only(locked_app):
    assert _listening_addresses(locked_app.port) == {"127.0.0.1"}


def test_unauthenticated_requests_are_refused(locked_app):
    from gradio_client import Client

    url = locked_app.url
    for path in ("/config", "/gradio_api/info", "/gradio_api/file=/etc/passwd"):
        assert requests.get(url + path, timeout=10).status_code == 401, path
    call = requests.post(url + "/gradio_api/call/ask", timeout=10,
                         json={"data": ["What is LoRA?", [], 5, "extractive", True]})
    assert call.status_code == 401
    page = requests.get(url + "/", timeout=10)
    assert "cited answers from the reading list" not in page.text  # the login page only
    with pytest.raises(Exception, match="(?i)credentials|login"):
        Client(url, verbose=False)
    with pytest.raises(Exception, match="(?i)login"):
        Client(url, auth=(APP_LOGIN[0], "wrong password"), verbose=False)


@pytest.fixture(scope="module")
def session(locked_app) -> requests.Session:
    s = requests.Session()
    resp = s.post(locked_app.url + "/login", timeout=10,
                  data={"username": APP_LOGIN[0], "password": APP_LOGIN[1]})
    assert resp.status_code == 200, resp.text
    assert s.get(locked_app.url + "/config", timeout=10).status_code == 200  # logged in
    return s


def _raw_get(app, path: str, cookies: str) -> tuple[int, bytes]:
    """GET ``path`` exactly as written (no client-side ``../`` normalisation)."""
    conn = http.client.HTTPConnection("127.0.0.1", app.port, timeout=10)
    conn.putrequest("GET", path, skip_accept_encoding=True)
    conn.putheader("Cookie", cookies)
    conn.endheaders()
    resp = conn.getresponse()
    body = resp.read()
    conn.close()
    return resp.status, body


def test_files_outside_allowed_paths_are_refused(locked_app, session):
    import gradio.utils

    cookies = "; ".join(f"{c.name}={c.value}" for c in session.cookies)
    gradio_tmp = str(Path(gradio.utils.get_upload_folder()))
    secret_paths = [
        "/gradio_api/file=/etc/passwd", "/file=/etc/passwd", "/gradio_api/file=%2Fetc%2Fpasswd",
        "/gradio_api/file=../../../../../../etc/passwd",
        "/gradio_api/file=..%2F..%2F..%2F..%2F..%2F..%2Fetc%2Fpasswd",
        f"/gradio_api/file={gradio_tmp}/../../../etc/passwd",
        "/gradio_api/file=/proc/self/environ",
        f"/gradio_api/file={REPO_ROOT}/app.py",  # the working directory is not served
        f"/gradio_api/file={REPO_ROOT}/corpus/papers.jsonl",
        "/static/../../../../etc/passwd", "/assets/..%2F..%2F..%2F..%2Fetc%2Fpasswd",
    ]
    for path in secret_paths:
        status, body = _raw_get(locked_app, path, cookies)
        assert status in (400, 403, 404), (path, status)
        assert b"root:" not in body and b"RAG_APP_PASSWORD" not in body
        assert b"import argparse" not in body and b"arxiv_id" not in body, path
