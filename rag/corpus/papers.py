"""Linked papers: fetch official arXiv metadata and abstracts, and cache them safely.

``update_papers`` takes every arXiv id the documents link (ingest extracts them
from abs, pdf and html links, version suffix dropped) and the ids of papers
they only name (``rag.corpus.linking``), asks the arXiv API for the ones without a
fetched abstract (all of them with ``refresh``) through the ``arxiv`` package,
and merges the answers into ``corpus/papers.jsonl``:

- shipped summaries are ``source: "card"``; fetched abstracts are
  ``source: "arxiv"`` with ``fetched_at``.  Both records of a paper are kept;
  ingest makes them two passages of one ``doc_id`` (``arxiv:<id>``);
- requests go out in batches of ids, at most one per ``delay_s`` seconds, with a
  timeout, retried with exponential backoff;
- each batch is saved atomically (temp file in the same folder, fsync,
  ``os.replace``): an interrupted run keeps what it saved, never a torn file;
- offline (DNS failure, nothing listening) nothing changes.

Papers named without a link that the cards do not cover are looked up by title
through the same client; a name is taken only when a result's title matches it
(``Linker.resolve``), otherwise it stays on the unresolved list.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import arxiv
import requests
from lxml import etree
from pydantic import BaseModel, ConfigDict, ValidationError
from urllib3.exceptions import NewConnectionError

from rag.corpus.files import mb_to_bytes
from rag.corpus.ingest import load_corpus
from rag.corpus.linking import Linker, card_names, corpus_linker, name_report
from rag.errors import RagError
from rag.records import Source
from rag.settings import PapersSettings, Settings

PAPERS_FILE = "papers.jsonl"
_VERSION = re.compile(r"v\d+$")
Progress = Callable[[str], None]


class PaperFetchError(RagError):
    """The arXiv API kept answering with an HTTP error."""


class Offline(Exception):
    """No connection to the API could be opened (no route, DNS failure, refused)."""


class PaperRecord(BaseModel):
    """One line of ``papers.jsonl``; unknown fields are kept as they are."""

    model_config = ConfigDict(frozen=True, extra="allow")

    arxiv_id: str
    title: str
    authors: list[str] = []
    year: int | None = None
    summary: str
    url: str = ""
    source: Literal["card", "arxiv"] = "card"
    fetched_at: str | None = None

    def line(self) -> str:
        return json.dumps(self.model_dump(exclude_none=True), ensure_ascii=False) + "\n"


@dataclass(frozen=True)
class CacheLine:
    """A line of ``papers.jsonl`` as stored (newline included) and its record, if valid."""

    raw: str
    record: PaperRecord | None


# ------------------------------------------------------------------ the cache
def read_cache(path: Path) -> list[CacheLine]:
    """Every line of the cache; a line that is not a valid record is kept as it is."""
    if not path.is_file():
        return []
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise RagError(f"{path} is not UTF-8 text (byte {exc.start}); fix or restore it "
                       "before fetching papers") from exc
    return [CacheLine(raw, _parse_record(raw)) for raw in text.splitlines(keepends=True)]


def _parse_record(raw: str) -> PaperRecord | None:
    try:
        return PaperRecord.model_validate_json(raw)
    except ValidationError:
        return None


def records_by_source(cache: Iterable[CacheLine]) -> dict[str, set[str]]:
    """arXiv ids per ``source`` ("card", "arxiv")."""
    out: dict[str, set[str]] = {"card": set(), "arxiv": set()}
    for line in cache:
        if line.record:
            out.setdefault(line.record.source, set()).add(line.record.arxiv_id)
    return out


def merge(cache: Sequence[CacheLine], fetched: Sequence[PaperRecord]) -> str:
    """The new file text: every line as it was, except a fetched paper's previous arXiv
    record, which its new record replaces in place; new papers are appended."""
    new = {r.arxiv_id: r for r in fetched}
    out: list[str] = []
    placed: set[str] = set()
    for line in cache:
        old = line.record
        if old is None or old.source != "arxiv" or old.arxiv_id not in new:
            out.append(line.raw)
        elif old.arxiv_id not in placed:
            out.append(_carry_names(old, new[old.arxiv_id]).line())
            placed.add(old.arxiv_id)
    if out and not out[-1].endswith("\n"):
        out[-1] += "\n"
    out.extend(r.line() for pid, r in new.items() if pid not in placed)
    return "".join(out)


def _carry_names(old: PaperRecord, new: PaperRecord) -> PaperRecord:
    """Names a paper was resolved from are kept across refreshes."""
    names = [*(getattr(old, "resolved_from", None) or []),
             *(getattr(new, "resolved_from", None) or [])]
    if not names:
        return new
    return PaperRecord(**{**new.model_dump(), "resolved_from": list(dict.fromkeys(names))})


def write_atomic(path: Path, text: str) -> None:
    """Replace ``path`` by ``text`` all at once: readers see the old or the new file."""
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def remove_stale_temps(path: Path, older_than_s: float = 3600) -> None:
    """Temp files a killed run left beside ``path`` (a running one's are younger)."""
    for tmp in path.parent.glob(f".{path.name}.*.tmp"):
        with contextlib.suppress(OSError):
            if time.time() - tmp.stat().st_mtime > older_than_s:
                tmp.unlink()


def save(path: Path, fetched: Sequence[PaperRecord]) -> None:
    """Merge fetched records into the cache file (re-read now, written atomically)."""
    if fetched:
        write_atomic(path, merge(read_cache(path), fetched))


# ------------------------------------------------------------------ the client
class _StrictSession(requests.Session):
    """Each request gets a timeout; a 200 body must be one complete XML document (a
    connection cut mid-body would otherwise parse, leniently, as fewer papers)."""

    def __init__(self, timeout_s: float) -> None:
        super().__init__()
        self.timeout_s = timeout_s

    def request(self, method, url, **kwargs):  # noqa: ANN001, ANN201 - requests' API
        kwargs.setdefault("timeout", self.timeout_s)
        response = super().request(method, url, **kwargs)
        if response.status_code == 200:
            try:
                etree.fromstring(response.content,
                                 etree.XMLParser(resolve_entities=False, no_network=True))
            except etree.XMLSyntaxError as exc:
                raise requests.exceptions.ContentDecodingError(
                    f"incomplete response ({exc})") from exc
        return response


def _cannot_connect(exc: BaseException) -> bool:
    """A connection could not even be opened: refused, no route, DNS failure."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    if isinstance(exc, requests.exceptions.ConnectionError) and exc.args:
        return isinstance(getattr(exc.args[0], "reason", None), NewConnectionError)
    return False


class ArxivApi:
    """The ``arxiv`` package's client aimed at ``settings.api_url``, with backoff on top.

    The client keeps the delay between requests (its own rate limit); this class adds
    a timeout, exponential backoff between retries, and fails fast when offline.
    """

    def __init__(self, settings: PapersSettings, sleep: Callable[[float], None] = time.sleep):
        self.settings = settings
        self.client = arxiv.Client(page_size=settings.batch_size,
                                   delay_seconds=settings.delay_s, num_retries=0)
        self.client.query_url_format = settings.api_url + "?{}"
        self.client._session = _StrictSession(settings.timeout_s)  # the one it requests with
        self.answered = 0
        self.attempts = 0
        self._sleep = sleep

    def fetch(self, ids: Sequence[str]) -> list:
        """``arxiv.Result`` of each id the API knows (one request for a batch)."""
        search = arxiv.Search(id_list=list(ids), max_results=len(ids))
        return self._call(lambda: list(self.client.results(search)))

    def search_title(self, name: str) -> list:
        """Results whose title holds the words of ``name``."""
        phrase = " ".join(re.findall(r"\w+", name))
        search = arxiv.Search(query=f'ti:"{phrase}"', max_results=self.settings.title_candidates)
        return self._call(lambda: list(self.client.results(search)))

    def _call(self, run: Callable[[], list]) -> list:
        for attempt in range(self.settings.retries + 1):
            self.attempts += 1
            try:
                results = run()
            except (requests.RequestException, arxiv.ArxivError) as exc:
                if self.answered == 0 and _cannot_connect(exc):
                    raise Offline(_reason(exc)) from exc
                if attempt == self.settings.retries or _permanent(exc):
                    raise
                self._sleep(max(self.settings.backoff_s * 2 ** attempt, self.settings.delay_s))
            else:
                self.answered += 1
                return results
        raise AssertionError("unreachable")


def _permanent(exc: BaseException) -> bool:
    """HTTP 4xx other than 408/429 will not change on retry."""
    status = getattr(exc, "status", None)
    return status is not None and 400 <= status < 500 and status not in (408, 429)


_ERRNO = re.compile(r"\[Errno -?\d+\] ([^)'\"]+)")


def _reason(exc: BaseException) -> str:
    """One short line: "export.arxiv.org: Name or service not known"."""
    inner = exc.args[0] if exc.args else None
    pool, cause = getattr(inner, "pool", None), getattr(inner, "reason", None)
    if pool is not None and cause is not None:
        errno = _ERRNO.search(str(cause))
        return f"{pool.host}: {errno.group(1).strip() if errno else type(cause).__name__}"
    text = str(exc)
    return text if len(text) < 160 else text[:157] + "..."


def base_id(short_id: str) -> str:
    """``2106.09685v2`` -> ``2106.09685``."""
    return _VERSION.sub("", short_id)


def record_from_result(result, fetched_at: str, names: Sequence[str] = ()) -> PaperRecord:
    """A ``source: "arxiv"`` record from an ``arxiv.Result``."""
    short = result.get_short_id()
    arxiv_id = base_id(short)
    extra = {"resolved_from": list(names)} if names else {}
    return PaperRecord(
        arxiv_id=arxiv_id, title=" ".join(result.title.split()),
        authors=[a.name for a in result.authors], year=result.published.year,
        summary=" ".join(result.summary.split()), url=f"https://arxiv.org/abs/{arxiv_id}",
        source="arxiv", fetched_at=fetched_at, version=short[len(arxiv_id):] or None,
        published=result.published.date().isoformat(),
        updated=result.updated.date().isoformat(),
        primary_category=result.primary_category or None, **extra)


# ------------------------------------------------------------------ the command
def linked_ids(sources: Iterable[Source]) -> tuple[str, ...]:
    """arXiv ids linked from documents (abs, pdf, html; no version), in corpus order."""
    ids = (i for s in sources if s.kind == "document" for sec in s.sections
           for i in sec.arxiv_ids)
    return tuple(dict.fromkeys(ids))


@dataclass
class PapersReport:
    """What ``update_papers`` found, fetched and left to do."""

    cached_papers: int
    linked: tuple[str, ...]
    named: dict[str, tuple[str, ...]]
    unresolved: list[str]
    to_fetch: list[str]
    fetched: list[str] = field(default_factory=list)
    not_found: list[str] = field(default_factory=list)
    resolved_online: dict[str, str] = field(default_factory=dict)
    batches_done: int = 0
    requests: int = 0
    offline: bool = False
    offline_reason: str = ""
    interrupted: str = ""

    def remaining(self) -> list[str]:
        done = set(self.fetched) | set(self.not_found)
        return [i for i in self.to_fetch if i not in done]

    def lines(self) -> list[str]:
        out = [f"linked arXiv ids: {len(self.linked)}; papers named without a link: "
               f"{len(self.named) + len(self.unresolved)} ({len(self.unresolved)} unresolved)"]
        if self.offline:
            why = f" ({self.offline_reason})" if self.offline_reason else ""
            out.append(f"offline: kept {self.cached_papers} cached papers{why}")
            if self.to_fetch:
                out.append(f"{len(self.to_fetch)} paper(s) still without a fetched abstract")
        else:
            out.append(f"fetched {len(self.fetched)} abstract(s) from arXiv in "
                       f"{self.requests} request(s); {len(self.remaining())} still to fetch")
        if self.interrupted:
            out.append(f"connection lost after {self.batches_done} batch(es) "
                       f"({self.interrupted}); what was fetched is saved; run again for "
                       f"the remaining {len(self.remaining())}")
        if self.not_found:
            out.append("not found on arXiv: " + ", ".join(self.not_found))
        out.extend(f"resolved by title: {n} -> {i}" for n, i in self.resolved_online.items())
        if self.unresolved:
            out.append("unresolved paper names (listed, not guessed):")
            out.extend(f"  - {name}" for name in self.unresolved)
        return out


def update_papers(
    settings: Settings, refresh: bool = False, offline: bool = False,
    progress: Progress | None = None, sleep: Callable[[float], None] = time.sleep,
) -> PapersReport:
    """Fetch abstracts of linked and named papers into ``papers.jsonl`` (see module doc)."""
    path = settings.corpus_dir / PAPERS_FILE
    sources, _ = load_corpus(settings.corpus_dir, mb_to_bytes(settings.sources.max_mb))
    cache = read_cache(path)
    have = records_by_source(cache)
    names = name_report(sources, corpus_linker(sources))
    named_ids = [i for ids in names.resolved.values() for i in ids]
    targets = list(dict.fromkeys([*linked_ids(sources), *named_ids]))
    report = PapersReport(
        cached_papers=len(set().union(*have.values())), linked=linked_ids(sources),
        named=names.resolved, unresolved=list(names.unresolved),
        to_fetch=[t for t in targets if refresh or t not in have["arxiv"]])
    if offline:
        report.offline = True
        return report
    remove_stale_temps(path)
    api = ArxivApi(settings.papers, sleep)
    try:
        _fetch_batches(api, path, report, progress or (lambda _: None))
        _resolve_titles(api, path, report, progress or (lambda _: None))
    except Offline as exc:
        report.offline, report.offline_reason = True, str(exc)
    except Exception as exc:
        _settle_failure(exc, api, report)
    report.requests = api.attempts
    return report


def _settle_failure(exc: Exception, api: ArxivApi, report: PapersReport) -> None:
    """After the last retry: an HTTP error is the user's to see; a network failure means
    offline (nothing answered) or an interrupted run (some batches saved)."""
    if isinstance(exc, arxiv.HTTPError):
        saved = f"; {len(report.fetched)} abstract(s) fetched before it are saved"
        raise PaperFetchError(f"arXiv API answered HTTP {exc.status} after "
                              f"{api.attempts} attempt(s){saved}") from exc
    if not isinstance(exc, requests.RequestException | arxiv.ArxivError):
        raise exc
    if api.answered == 0:
        report.offline, report.offline_reason = True, _reason(exc)
    else:
        report.interrupted = _reason(exc)


def _batches(items: Sequence[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield list(items[start:start + size])


def _fetch_batches(api: ArxivApi, path: Path, report: PapersReport, progress: Progress) -> None:
    todo = report.to_fetch
    total = -(-len(todo) // api.settings.batch_size)
    for n, batch in enumerate(_batches(todo, api.settings.batch_size), 1):
        progress(f"fetching batch {n}/{total} ({len(batch)} ids)")
        now = datetime.now(UTC).isoformat(timespec="seconds")
        wanted = set(batch)
        records = [record_from_result(r, now) for r in api.fetch(batch)]
        records = [r for r in records if r.arxiv_id in wanted and r.summary and r.title]
        save(path, records)
        got = {r.arxiv_id for r in records}
        report.fetched.extend(i for i in batch if i in got)
        report.not_found.extend(i for i in batch if i not in got)
        report.batches_done = n


def _resolve_titles(api: ArxivApi, path: Path, report: PapersReport,
                    progress: Progress) -> None:
    """Search arXiv for each unresolved name; save the one paper whose title matches."""
    for name in list(report.unresolved):
        progress(f"searching arXiv for {name!r}")
        results = {base_id(r.get_short_id()): r for r in api.search_title(name)}
        linker = Linker(card_names((pid, r.title) for pid, r in results.items()))
        ids = linker.resolve(name, loose=False)
        if len(ids) != 1:
            continue
        now = datetime.now(UTC).isoformat(timespec="seconds")
        save(path, [record_from_result(results[ids[0]], now, names=[name])])
        report.resolved_online[name] = ids[0]
        report.unresolved.remove(name)
