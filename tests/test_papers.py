"""rag.corpus.papers through the real ``arxiv`` client against a local stand-in of the arXiv API.

The stand-in (http.server on 127.0.0.1) answers ``id_list`` and title queries with
the Atom responses under tests/data/arxiv/ and can misbehave on purpose: drop the
connection, cut a response short, stall, or answer HTTP errors.  Every test works on
a small corpus in tmp_path; nothing here touches the network or the real corpus.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest

from rag import cli
from rag.corpus import papers
from rag.corpus.ingest import load_cards
from rag.settings import REPO_ROOT, Settings, load_settings

DATA = Path(__file__).parent / "data" / "arxiv"
ENTRY = re.compile(r"<entry>.*?</entry>", re.DOTALL)
ENTRY_ID = re.compile(r"<id>https?://arxiv\.org/abs/(.+?)(?:v\d+)?</id>")
LINKED = ["1706.03762", "2106.09685", "2305.18290", "2101.03961", "2005.11401", "hep-th/9711200"]
DOC = """# Test reading list

## Foundations

1. [Attention Is All You Need](https://arxiv.org/abs/1706.03762v7) - the Transformer paper.
2. [LoRA](https://arxiv.org/pdf/2106.09685v2) - low-rank adapters.
3. [DPO](http://arxiv.org/html/2305.18290v3) - preference optimisation without RL.
4. [Switch Transformers](https://www.arxiv.org/abs/2101.03961) - sparse experts.
5. [RAG](https://arxiv.org/abs/2005.11401) - retrieval-augmented generation.
6. [AdS/CFT](https://arxiv.org/abs/hep-th/9711200v3) - an old-style identifier.

## Papers named without a link

### PaLM 2 Technical Report (Google, 2023)

Google's successor to PaLM, trained with a mixture of objectives.

### Scaling Monosemanticity (Anthropic, 2024)

Dictionary learning on the activations of a production model.
"""


# ------------------------------------------------------------ the API stand-in
class StubArxiv:
    """arXiv API stand-in; ``behaviour(n)`` says what to do with request n (from 0):
    "ok", "drop" (close, no answer), "truncate" (half the body, Content-Length
    promised more), "cut" (half the body, no Content-Length), "stall" (answer after
    ``stall_s``), or an HTTP status code."""

    def __init__(self, behaviour: Callable[[int], object] = lambda n: "ok",
                 stall_s: float = 1.0) -> None:
        self.behaviour = behaviour
        self.stall_s = stall_s
        self.times: list[float] = []
        self.queries: list[dict[str, list[str]]] = []
        self.entries = {m.group(1): e for path in DATA.glob("*.xml")
                        for e in ENTRY.findall(path.read_text(encoding="utf-8"))
                        if (m := ENTRY_ID.search(e))}
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/api/query"

    def gaps(self) -> list[float]:
        return [b - a for a, b in zip(self.times, self.times[1:], strict=False)]

    def feed(self, query: dict[str, list[str]]) -> bytes:
        ids = [i for i in query.get("id_list", [""])[0].split(",") if i]
        if ids:
            entries = [self.entries[i] for i in ids if i in self.entries]
        else:
            phrase = re.search(r'ti:"(.*)"', query.get("search_query", [""])[0])
            slug = "_".join(re.findall(r"\w+", phrase.group(1).lower())) if phrase else ""
            found = DATA / f"search_{slug}.xml"
            entries = ENTRY.findall(found.read_text(encoding="utf-8")) if found.is_file() else []
        template = (DATA / "empty.xml").read_text(encoding="utf-8")
        text = template.replace(">0</opensearch:totalResults>",
                                f">{len(entries)}</opensearch:totalResults>")
        return text.replace("</feed>", "".join(entries) + "\n</feed>").encode()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                with stub._lock:
                    n = len(stub.times)
                    stub.times.append(time.monotonic())
                    query = parse_qs(urlparse(self.path).query, keep_blank_values=True)
                    stub.queries.append(query)
                action = stub.behaviour(n)
                try:
                    self._answer(action, stub.feed(query))
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout): expected when stalling

            def _answer(self, action: object, body: bytes) -> None:
                if isinstance(action, int):
                    self.send_error(action)
                    return
                if action == "drop":
                    return
                if action == "stall":
                    time.sleep(stub.stall_s)
                self.send_response(200)
                self.send_header("Content-Type", "application/atom+xml; charset=utf-8")
                if action != "cut":
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body[:len(body) // 2] if action in ("truncate", "cut")
                                 else body)

        return Handler

    def __enter__(self) -> StubArxiv:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


# ------------------------------------------------------------ fixtures
@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A small corpus: one document linking six papers, naming two, and two real cards."""
    docs = tmp_path / "corpus" / "docs"
    docs.mkdir(parents=True)
    (docs / "000_test.txt").write_text(DOC, encoding="utf-8")
    real = (REPO_ROOT / "corpus" / "papers.jsonl").read_text(encoding="utf-8").splitlines()
    cards = [line for line in real if json.loads(line)["arxiv_id"] in LINKED[:2]]
    assert len(cards) == 2
    (tmp_path / "corpus" / "papers.jsonl").write_text("\n".join(cards) + "\n", encoding="utf-8")
    return tmp_path


def _settings(home: Path, url: str, **papers_settings: object) -> Settings:
    values = {"api_url": url, "batch_size": 4, "delay_s": 0.05, "retries": 2,
              "backoff_s": 0.05, "timeout_s": 2.0, **papers_settings}
    return load_settings(home=home, papers=values)


def _papers_file(home: Path) -> Path:
    return home / "corpus" / "papers.jsonl"


def _records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# ------------------------------------------------------------ fetching and merging
def test_fetch_parses_merges_and_keeps_provenance(home: Path) -> None:
    path = _papers_file(home)
    before = path.read_bytes()
    with StubArxiv() as stub:
        report = papers.update_papers(_settings(home, stub.url))
    assert report.fetched == LINKED and not report.not_found and not report.offline
    after = path.read_bytes()
    assert after.startswith(before), "shipped cards must stay byte-identical"
    records = _records(path)
    assert [r["source"] for r in records] == ["card"] * 2 + ["arxiv"] * 7
    fetched = {r["arxiv_id"]: r for r in records if r["source"] == "arxiv"}
    assert set(fetched) == {*LINKED, "2305.10403"}
    dpo = fetched["2305.18290"]
    assert dpo["title"] == ("Direct Preference Optimization: Your Language Model is "
                            "Secretly a Reward Model")
    assert dpo["year"] == 2023 and dpo["version"] == "v3" and dpo["authors"][0] == "Rafael Rafailov"
    assert dpo["summary"].startswith("While large-scale unsupervised")
    assert "\n" not in dpo["summary"]
    assert dpo["url"] == "https://arxiv.org/abs/2305.18290"
    assert datetime.fromisoformat(dpo["fetched_at"]).tzinfo is not None
    assert fetched["hep-th/9711200"]["year"] == 1997
    assert fetched["hep-th/9711200"]["version"] == "v3"
    # card and abstract of one paper: two passages of the same doc_id
    sources = {s.doc_id: s for s in load_cards(path)[0]}
    attention = sources["arxiv:1706.03762"]
    assert [s.heading_path for s in attention.sections] == [("Paper card",), ("arXiv abstract",)]
    assert sources["arxiv:2305.18290"].sections[0].heading_path == ("arXiv abstract",)


def test_second_run_fetches_nothing_and_refresh_replaces_in_place(home: Path) -> None:
    path = _papers_file(home)
    with StubArxiv() as stub:
        papers.update_papers(_settings(home, stub.url))
        first = path.read_bytes()
        again = papers.update_papers(_settings(home, stub.url))
        assert again.to_fetch == [] and again.fetched == []
        assert path.read_bytes() == first
        # the name resolved by title last time now resolves offline
        assert again.named["PaLM 2 Technical Report (Google, 2023)"] == ("2305.10403",)
        assert again.unresolved == ["Scaling Monosemanticity"]
        refreshed = papers.update_papers(_settings(home, stub.url), refresh=True)
    assert sorted(refreshed.fetched) == sorted([*LINKED, "2305.10403"])
    records = _records(path)
    assert len(records) == 9, "a refresh replaces fetched records, it does not duplicate them"
    palm = next(r for r in records if r["arxiv_id"] == "2305.10403")
    assert palm["resolved_from"] == ["PaLM 2 Technical Report"]


def test_rate_limit_between_requests(home: Path) -> None:
    with StubArxiv() as stub:
        report = papers.update_papers(_settings(home, stub.url, batch_size=2, delay_s=0.25))
    # three id batches of at most two ids, then two title searches
    id_lists = [q["id_list"][0] for q in stub.queries if q["id_list"][0]]
    assert [len(ids.split(",")) for ids in id_lists] == [2, 2, 2]
    assert len(stub.times) == report.requests == 5
    assert min(stub.gaps()) >= 0.25 - 0.01


def test_title_resolver_takes_exact_matches_and_lists_the_rest(home: Path) -> None:
    with StubArxiv() as stub:
        report = papers.update_papers(_settings(home, stub.url))
    assert report.resolved_online == {"PaLM 2 Technical Report": "2305.10403"}
    # "PaLM: Scaling Language Modeling with Pathways" came back too and was not taken
    assert "2204.02311" not in {r["arxiv_id"] for r in _records(_papers_file(home))}
    # a search that found only a loosely related paper leaves the name unresolved
    assert report.unresolved == ["Scaling Monosemanticity"]
    assert "unresolved paper names (listed, not guessed):" in report.lines()
    assert "  - Scaling Monosemanticity" in report.lines()


def test_stalled_request_times_out_and_is_retried(home: Path) -> None:
    with StubArxiv(lambda n: "stall" if n == 0 else "ok", stall_s=1.0) as stub:
        report = papers.update_papers(_settings(home, stub.url, timeout_s=0.3))
    assert report.fetched == LINKED
    assert stub.queries[0]["id_list"] == stub.queries[1]["id_list"]  # the same batch again


# ------------------------------------------------------------ failures
@pytest.mark.parametrize("failure", ["drop", "truncate", "cut"])
def test_connection_lost_mid_run_keeps_papers_valid(home: Path, failure: str) -> None:
    path = _papers_file(home)
    before = path.read_bytes()
    with StubArxiv(lambda n: "ok" if n == 0 else failure) as stub:
        report = papers.update_papers(_settings(home, stub.url))
    assert report.fetched == LINKED[:4] and report.interrupted
    assert report.remaining() == LINKED[4:]
    assert len(stub.times) == 1 + 3  # the second batch, tried three times
    after = path.read_bytes()
    assert after.startswith(before)
    records = _records(path)  # every line is valid JSON
    assert [r["arxiv_id"] for r in records[2:]] == LINKED[:4]
    assert all(r["summary"] for r in records)
    assert not [p for p in path.parent.iterdir() if p.name.endswith(".tmp")]
    assert any("connection lost after 1 batch" in line for line in report.lines())


def test_http_errors_back_off_then_fail_clearly(home: Path, monkeypatch, capsys) -> None:
    path = _papers_file(home)
    before = path.read_bytes()
    with StubArxiv(lambda n: 503) as stub:
        _env(monkeypatch, home, stub.url, backoff_s=0.1, delay_s=0.05)
        assert cli.main(["corpus", "papers"]) == 2
    err = capsys.readouterr().err
    assert "error: arXiv API answered HTTP 503 after 3 attempt(s)" in err
    assert "Traceback" not in err
    gaps = stub.gaps()
    assert len(gaps) == 2 and gaps[0] >= 0.1 - 0.01 and gaps[1] >= 0.2 - 0.01
    assert path.read_bytes() == before


def _env(monkeypatch, home: Path, url: str, **values: object) -> None:
    monkeypatch.setenv("RAG_HOME", str(home))
    monkeypatch.setenv("RAG_PAPERS__API_URL", url)
    for name, value in {"delay_s": 0.05, "backoff_s": 0.05, "retries": 2, "timeout_s": 2,
                        "batch_size": 4, **values}.items():
        monkeypatch.setenv(f"RAG_PAPERS__{name.upper()}", str(value))


def test_offline_nothing_listening_changes_nothing(home: Path, monkeypatch, capsys) -> None:
    path = _papers_file(home)
    before, mtime = path.read_bytes(), path.stat().st_mtime_ns
    _env(monkeypatch, home, f"http://127.0.0.1:{_free_port()}/api/query")
    assert cli.main(["corpus", "papers"]) == 0
    out = capsys.readouterr().out
    assert "offline: kept 2 cached papers" in out
    assert "  - Scaling Monosemanticity" in out  # the unresolved names are still listed
    assert path.read_bytes() == before and path.stat().st_mtime_ns == mtime


def test_offline_unresolvable_host_changes_nothing(home: Path, monkeypatch, capsys) -> None:
    """DNS failure: the resolver is the one piece replaced, so nothing leaves the machine."""
    real_getaddrinfo = socket.getaddrinfo

    def getaddrinfo(host, *args, **kwargs):  # noqa: ANN001, ANN202
        if host == "export.arxiv.invalid":
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    path = _papers_file(home)
    before = path.read_bytes()
    _env(monkeypatch, home, "https://export.arxiv.invalid/api/query")
    start = time.monotonic()
    assert cli.main(["corpus", "papers"]) == 0
    assert time.monotonic() - start < 5, "offline is detected at once, not after retries"
    assert "offline: kept 2 cached papers" in capsys.readouterr().out
    assert path.read_bytes() == before


def test_offline_flag_never_connects(home: Path, monkeypatch, capsys) -> None:
    with StubArxiv() as stub:
        _env(monkeypatch, home, stub.url)
        assert cli.main(["corpus", "papers", "--offline"]) == 0
    assert stub.times == []
    out = capsys.readouterr().out
    assert "offline: kept 2 cached papers" in out and "linked arXiv ids: 6" in out


def test_interrupted_command_leaves_papers_intact(home: Path) -> None:
    """SIGINT while the second batch is in flight: the first batch is saved, nothing torn."""
    path = _papers_file(home)
    before = path.read_bytes()
    # The second batch stalls far longer than a loaded CI machine needs to start the
    # command, so the signal always lands while that request is in flight.
    with StubArxiv(lambda n: "ok" if n == 0 else "stall", stall_s=30.0) as stub:
        env = {**os.environ, "RAG_HOME": str(home), "RAG_PAPERS__API_URL": stub.url,
               "RAG_PAPERS__DELAY_S": "0", "RAG_PAPERS__BATCH_SIZE": "4",
               "RAG_PAPERS__TIMEOUT_S": "60"}
        # A shell that runs CI in the background starts its children with SIGINT
        # ignored, which Python would inherit: give the command the default handler.
        proc = subprocess.Popen([sys.executable, "-m", "rag.cli", "corpus", "papers"],
                                env=env, cwd=REPO_ROOT, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE,
                                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        deadline = time.monotonic() + 180
        while len(stub.times) < 2 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        assert len(stub.times) >= 2, "the command never reached its second batch"
        time.sleep(0.2)
        err = b""
        for _ in range(12):  # Ctrl-C, again if a busy machine delivered it mid-handshake
            proc.send_signal(signal.SIGINT)
            try:
                _, err = proc.communicate(timeout=10)
                break
            except subprocess.TimeoutExpired:
                continue
    assert proc.returncode == 130 and b"interrupted" in err
    assert path.read_bytes().startswith(before)
    assert [r["arxiv_id"] for r in _records(path)[2:]] == LINKED[:4]
    assert not [p for p in path.parent.iterdir() if p.name.endswith(".tmp")]


# ------------------------------------------------------------ the cache file
def test_merge_keeps_every_line_and_replaces_fetched_records_in_place() -> None:
    card = '{"arxiv_id": "1", "title": "T", "summary": "card text", "source": "card"}\n'
    broken = "{not json\n"
    old = '{"arxiv_id": "1", "title": "T", "summary": "old", "source": "arxiv"}\n'
    other = '{"arxiv_id": "2", "title": "U", "summary": "u", "source": "arxiv"}'  # no newline
    cache = [papers.CacheLine(raw, papers._parse_record(raw)) for raw in (card, broken, old, other)]
    new = [papers.PaperRecord(arxiv_id="1", title="T", summary="new", source="arxiv"),
           papers.PaperRecord(arxiv_id="3", title="V", summary="v", source="arxiv")]
    lines = papers.merge(cache, new).splitlines(keepends=True)
    assert lines[:2] == [card, broken]
    assert json.loads(lines[2])["summary"] == "new"
    assert lines[3] == other + "\n"
    assert json.loads(lines[4])["arxiv_id"] == "3" and len(lines) == 5


def test_failed_write_leaves_the_old_file(tmp_path: Path) -> None:
    path = tmp_path / "papers.jsonl"
    path.write_text('{"arxiv_id": "1"}\n', encoding="utf-8")
    path.chmod(0o444)
    with pytest.raises(UnicodeEncodeError):
        papers.write_atomic(path, "fine so far\n" * 1000 + "\udc80 cannot be encoded\n")
    assert path.read_text(encoding="utf-8") == '{"arxiv_id": "1"}\n'
    assert [p.name for p in tmp_path.iterdir()] == ["papers.jsonl"]
    papers.write_atomic(path, "new\n")
    assert path.read_text(encoding="utf-8") == "new\n"
    assert path.stat().st_mode & 0o777 == 0o444  # the file keeps its permissions
    # what a killed run leaves behind is cleared later; a fresh one is left alone
    old, fresh = tmp_path / ".papers.jsonl.a1.tmp", tmp_path / ".papers.jsonl.b2.tmp"
    old.write_text("x")
    fresh.write_text("y")
    os.utime(old, (time.time() - 7200, time.time() - 7200))
    papers.remove_stale_temps(path)
    assert not old.exists() and fresh.exists()


# ------------------------------------------------------------ rag corpus stats
def test_corpus_stats_counts_sources_and_missing_ids(home: Path, monkeypatch, capsys) -> None:
    _env(monkeypatch, home, "http://127.0.0.1:9/unused")
    assert cli.main(["corpus", "stats"]) == 0
    out = capsys.readouterr().out
    assert "documents: 1" in out
    assert "papers: 2 (records by source: card 2)" in out
    assert "chunks: no index built" in out
    assert ("linked arXiv ids: 6; missing from papers.jsonl: 4 (2305.18290, 2101.03961, "
            "2005.11401, hep-th/9711200)") in out
    assert "paper names without a link: 0 resolved, 2 unresolved" in out
