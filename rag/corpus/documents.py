"""Your own documents: add, remove and list them; load them for the index build.

Layout under ``RAG_HOME/corpus/added/`` (beside the shipped corpus)::

    registry.json        the added documents (``AddedDocument`` records): the truth
    files/<name>.<ext>   a copy of each original, so moving the source later breaks nothing
    parsed/<name>.json   the parsed document (sections with pages), re-parsed when the
                         parsing code changes
    .lock                one add or remove at a time

Adding is crash-safe: files are parsed and copied into a staging folder, moved into
place, and only then does an atomic rewrite of ``registry.json`` make them part of the
corpus.  A crash before that leaves orphans that the next add or remove deletes (rolled
back); after it, the next build indexes them (completed).  The served index is never
touched here: ``rag.search.build`` swaps in a new one.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import stat
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from rag.corpus.formats import FORMATS, ParsedDocument, parse_file
from rag.errors import DocumentRejected
from rag.records import AddedDocument, AddResult, Section, Source
from rag.settings import DocumentsSettings, Settings

ADDED = "added"
REGISTRY = "registry.json"
PREFIX = "user:"
_KIND = {"pdf": "pdf", "markdown": "notes", "html": "web page", "text": "text"}
_PARSER_MODULES = ("formats.py", "pdf.py", "layout.py", "structure.py", "clean.py",
                   "ingest.py")
Progress = Callable[[int, int, str], None]


@dataclass(frozen=True)
class Candidate:
    """A file to add: where it is, the name to show, and whether to refuse symlinks."""

    path: Path
    name: str
    no_follow: bool = False


def added_dir(corpus_dir: Path) -> Path:
    return corpus_dir / ADDED


def parser_fingerprint() -> str:
    """Hash of the parsing code; parsed files made by other code are parsed again."""
    digest = hashlib.sha256()
    for name in _PARSER_MODULES:
        digest.update((Path(__file__).parent / name).read_bytes())
    return digest.hexdigest()[:12]


# --------------------------------------------------------------- registry


def read_registry(corpus_dir: Path) -> list[AddedDocument]:
    path = added_dir(corpus_dir) / REGISTRY
    if not path.is_file():
        return []
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return [AddedDocument(**d) for d in data["documents"]]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DocumentRejected(f"the registry of added documents ({path}) is unreadable "
                               f"({exc}); restore it or delete it to start over") from exc


def _write_registry(corpus_dir: Path, docs: list[AddedDocument]) -> None:
    data = {"format": 1, "documents": [d.model_dump() for d in docs]}
    _write_atomic(added_dir(corpus_dir) / REGISTRY, json.dumps(data, indent=1,
                                                               ensure_ascii=False))


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    with tmp.open("w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def registry_lock(corpus_dir: Path) -> Iterator[None]:
    """One add or remove at a time (others wait); leftovers of crashed ones removed."""
    root = added_dir(corpus_dir)
    for sub in ("files", "parsed"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    with open(root / ".lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            _remove_orphans(root, read_registry(corpus_dir))
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _remove_orphans(root: Path, docs: list[AddedDocument]) -> None:
    """Delete what a crashed add or remove left: staging folders, unregistered files."""
    files = {d.file for d in docs}
    parsed = {_parsed_name(d.doc_id) for d in docs}
    for path in root.glob(".staging-*"):
        shutil.rmtree(path, ignore_errors=True)
    for path in root.glob(".*.tmp"):
        path.unlink(missing_ok=True)
    for sub, keep in (("files", files), ("parsed", parsed)):
        for path in (root / sub).iterdir():
            if path.name not in keep and not _fresh_temp(path):
                path.unlink(missing_ok=True)


def _fresh_temp(path: Path) -> bool:
    """A temporary file a running build may still be writing (kept for an hour)."""
    try:
        return path.name.startswith(".") and path.stat().st_mtime > time.time() - 3600
    except OSError:
        return False


def _parsed_name(doc_id: str) -> str:
    return doc_id.removeprefix(PREFIX) + ".json"


# --------------------------------------------------------------- choosing files


def collect(paths: Sequence[Path], max_files: int) -> tuple[list[Candidate], list[AddResult]]:
    """Files named on the command line, folders searched recursively (supported types,
    hidden files skipped).  A symbolic link inside a folder that leads out of it is
    refused; one named directly is followed (the user chose it)."""
    found: list[Candidate] = []
    refused: list[AddResult] = []
    for path in paths:
        if path.is_dir():
            _walk(path, found, refused)
        elif path.exists():
            found.append(Candidate(path.resolve(), path.name))
        else:
            refused.append(AddResult(name=str(path), status="rejected",
                                     message="no such file or folder"))
    if len(found) > max_files:
        raise DocumentRejected(f"{len(found)} files found; at most {max_files} at once "
                               "(RAG_DOCUMENTS__MAX_FILES)")
    return found, refused


def _walk(folder: Path, found: list[Candidate], refused: list[AddResult]) -> None:
    root = folder.resolve()
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames + [d for d in dirnames if (Path(dirpath) / d).is_symlink()]):
            path = Path(dirpath) / name
            shown = str(folder / path.relative_to(root))
            if name.startswith(".") or (Path(name).suffix.lower() not in FORMATS
                                        and not path.is_symlink()):
                continue
            if path.is_symlink():
                target = path.resolve()
                if not target.is_relative_to(root):
                    refused.append(AddResult(name=shown, status="rejected", message=(
                        f"symbolic link to {target}, outside the folder you chose: "
                        "add that file directly if you mean it")))
                continue  # a link inside the folder: its target is added as itself
            found.append(Candidate(path, shown, no_follow=True))


# --------------------------------------------------------------- adding


def add_documents(settings: Settings, candidates: Sequence[Candidate],
                  progress: Progress | None = None) -> list[AddResult]:
    """Add each file (copy, parse, register); one result per file, in order.

    Nothing changes for a rejected or duplicate file.  Call ``rag.search.build`` after
    it to make the added documents answerable."""
    corpus = settings.corpus_dir
    with registry_lock(corpus):
        registry = read_registry(corpus)
        known = {d.sha256: d.doc_id for d in registry} | shipped_hashes(corpus)
        staging = added_dir(corpus) / f".staging-{uuid.uuid4().hex[:8]}"
        staging.mkdir()
        try:
            results, new_docs = [], []
            for i, candidate in enumerate(candidates):
                if progress:
                    progress(i, len(candidates), candidate.name)
                taken = {d.doc_id for d in [*registry, *new_docs]}
                result, doc = _stage(settings, candidate, staging, known, taken)
                results.append(result)
                if doc is not None:
                    new_docs.append(doc)
                    known[doc.sha256] = doc.doc_id
            if progress and new_docs:
                progress(len(candidates), len(candidates), "")  # all read; index next
            if new_docs:
                _commit(corpus, staging, registry, new_docs)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return results


def shipped_hashes(corpus_dir: Path) -> dict[str, str]:
    """SHA-256 of the shipped documents, so adding one of them is a duplicate."""
    docs = corpus_dir / "docs"
    if not docs.is_dir():
        return {}
    return {hashlib.sha256(p.read_bytes()).hexdigest(): p.stem
            for p in sorted(docs.glob("*.txt")) if p.is_file() and not p.is_symlink()}


def _stage(settings: Settings, candidate: Candidate, staging: Path, known: dict[str, str],
           taken: set[str]) -> tuple[AddResult, AddedDocument | None]:
    name = candidate.name
    try:
        copy, digest = _copy_in(candidate, staging, settings.sources.max_mb)
        if digest in known:
            return AddResult(name=name, status="duplicate", doc_id=known[digest],
                             message=f"already added as {known[digest]} (same content)"), None
        doc_id = unique_id(Path(name).stem, taken)
        parsed = parse_file(copy, name, doc_id, settings.documents)
    except DocumentRejected as exc:
        return AddResult(name=name, status="rejected", message=str(exc)), None
    except Exception as exc:  # noqa: BLE001 - one odd file must not stop the others
        return AddResult(name=name, status="rejected", message=(
            f"could not read it ({type(exc).__name__}: {exc}); if it opens in a viewer, "
            "please report it")), None
    doc = _registry_entry(parsed, doc_id, name, digest, copy)
    parsed = parsed.model_copy(update={"source": parsed.source.model_copy(
        update={"url": doc.url})})
    final_copy = staging / doc.file
    os.replace(copy, final_copy)
    (staging / _parsed_name(doc_id)).write_text(json.dumps(
        {"parser": parser_fingerprint(), "document": parsed.model_dump(mode="json")},
        ensure_ascii=False), encoding="utf-8")
    pages = f", {parsed.pages} pages" if parsed.pages else ""
    return AddResult(name=name, status="added", doc_id=doc_id, title=doc.title,
                     pages=parsed.pages, message=f"added as {doc_id}{pages}"), doc


def _copy_in(candidate: Candidate, staging: Path, max_mb: float) -> tuple[Path, str]:
    """Copy the file into staging (refusing non-files, empty and oversized ones)."""
    flags = os.O_RDONLY | os.O_NONBLOCK | (os.O_NOFOLLOW if candidate.no_follow else 0)
    try:
        fd = os.open(candidate.path, flags)
    except OSError as exc:
        raise DocumentRejected(f"cannot open it ({exc.strerror or exc})") from exc
    limit = int(max_mb * 1024 * 1024)
    with os.fdopen(fd, "rb") as src:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise DocumentRejected("not a regular file (a folder, FIFO, device or socket)")
        if info.st_size == 0:
            raise DocumentRejected("empty file (0 bytes)")
        if info.st_size > limit:
            raise DocumentRejected(_too_big(info.st_size, max_mb))
        target = staging / f"incoming-{uuid.uuid4().hex[:8]}"
        digest = hashlib.sha256()
        size = 0
        with target.open("wb") as dst:
            while block := src.read(1 << 20):
                size += len(block)
                if size > limit:
                    raise DocumentRejected(_too_big(size, max_mb))
                digest.update(block)
                dst.write(block)
    return target, digest.hexdigest()


def _too_big(size: int, max_mb: float) -> str:
    return (f"{size / 1024 / 1024:.1f} MB is over the {max_mb:g} MB limit "
            "(raise it with RAG_SOURCES__MAX_MB)")


def unique_id(stem: str, taken: set[str]) -> str:
    """``user:<slug of the file name>``, numbered when taken."""
    slug = re.sub(r"[^a-z0-9.]+", "-", stem.lower()).strip("-.")[:48] or "document"
    doc_id, n = PREFIX + slug, 2
    while doc_id in taken:
        doc_id, n = f"{PREFIX}{slug}-{n}", n + 1
    return doc_id


def _registry_entry(parsed: ParsedDocument, doc_id: str, name: str, digest: str,
                    copy: Path) -> AddedDocument:
    suffix = Path(name).suffix.lower() if Path(name).suffix.lower() in FORMATS else \
        {"pdf": ".pdf", "html": ".html", "markdown": ".md", "text": ".txt"}[parsed.format]
    file = doc_id.removeprefix(PREFIX) + suffix
    arxiv_id = parsed.arxiv_id
    url = (f"https://arxiv.org/abs/{arxiv_id}" if arxiv_id else parsed.source.url
           or f"corpus/{ADDED}/files/{file}")
    return AddedDocument(
        doc_id=doc_id, title=parsed.source.title, kind="paper" if arxiv_id else _KIND[
            parsed.format], format=parsed.format, file=file, original_name=Path(name).name,
        sha256=digest, bytes=copy.stat().st_size, pages=parsed.pages, arxiv_id=arxiv_id,
        url=url, added_at=datetime.now(UTC).isoformat(timespec="seconds"))


def _commit(corpus: Path, staging: Path, registry: list[AddedDocument],
            new_docs: list[AddedDocument]) -> None:
    root = added_dir(corpus)
    for doc in new_docs:
        os.replace(staging / doc.file, root / "files" / doc.file)
        os.replace(staging / _parsed_name(doc.doc_id), root / "parsed" / _parsed_name(
            doc.doc_id))
    _write_registry(corpus, [*registry, *new_docs])  # the commit point


# --------------------------------------------------------------- removing, listing


def resolve_ids(registry: list[AddedDocument], wanted: Sequence[str]) -> tuple[
        list[AddedDocument], list[str]]:
    """Documents named by id (with or without ``user:``) or original file name."""
    found, unknown = [], []
    for want in wanted:
        key = want.strip()
        match = [d for d in registry if key in (d.doc_id, d.doc_id.removeprefix(PREFIX),
                                                d.original_name)]
        if match:
            found.extend(m for m in match if m not in found)
        else:
            unknown.append(want)
    return found, unknown


def remove_documents(settings: Settings, wanted: Sequence[str]) -> tuple[
        list[AddedDocument], list[str]]:
    """Unregister and delete the named documents; returns (removed, unknown names)."""
    corpus = settings.corpus_dir
    with registry_lock(corpus):
        registry = read_registry(corpus)
        removed, unknown = resolve_ids(registry, wanted)
        if removed:
            _write_registry(corpus, [d for d in registry if d not in removed])
            _remove_orphans(added_dir(corpus), [d for d in registry if d not in removed])
    return removed, unknown


# --------------------------------------------------------------- loading for the build


def load_added(corpus_dir: Path, settings: DocumentsSettings,
               card_ids: set[str] | None = None) -> tuple[list[Source], list[str]]:
    """Sources of the added documents (re-parsed when the parsing code changed), plus a
    card for each recognised arXiv paper that has none among ``card_ids``."""
    sources: list[Source] = []
    warnings: list[str] = []
    for doc in read_registry(corpus_dir):
        try:
            parsed = _load_parsed(corpus_dir, doc, settings)
        except DocumentRejected as exc:
            warnings.append(f"{doc.doc_id}: {exc}")
            continue
        sources.append(parsed.source)
        if doc.arxiv_id and card_ids is not None and f"arxiv:{doc.arxiv_id}" not in card_ids:
            sources.append(card_from_paper(parsed.source, doc.arxiv_id))
            card_ids.add(f"arxiv:{doc.arxiv_id}")
    return sources, warnings


def _load_parsed(corpus_dir: Path, doc: AddedDocument,
                 settings: DocumentsSettings) -> ParsedDocument:
    root = added_dir(corpus_dir)
    cache = root / "parsed" / _parsed_name(doc.doc_id)
    fingerprint = parser_fingerprint()
    try:
        data = json.loads(cache.read_text(encoding="utf-8"))
        if data.get("parser") == fingerprint:
            return ParsedDocument(**data["document"])
    except (OSError, ValueError, TypeError):
        pass  # missing or damaged: parse the copy again
    copy = root / "files" / doc.file
    if not copy.is_file():
        raise DocumentRejected(f"its copy {copy} is missing; remove it with "
                               f"`rag remove {doc.doc_id}` and add it again")
    parsed = parse_file(copy, doc.original_name, doc.doc_id, settings)
    parsed = parsed.model_copy(update={"source": parsed.source.model_copy(
        update={"url": doc.url, "title": doc.title})})
    _write_atomic(cache, json.dumps({"parser": fingerprint,
                                     "document": parsed.model_dump(mode="json")},
                                    ensure_ascii=False))
    return parsed


def card_from_paper(source: Source, arxiv_id: str) -> Source:
    """A paper card for an added arXiv paper the corpus has no card for: its title and
    abstract (or first section), so related papers and name linking know it."""
    first = next((s for s in source.sections if s.heading_path[-1:] == ("Abstract",)),
                 source.sections[0])
    summary = " ".join(first.text.split())[:1500]
    return Source(doc_id=f"arxiv:{arxiv_id}", title=source.title,
                  url=f"https://arxiv.org/abs/{arxiv_id}", kind="paper",
                  year=2000 + int(arxiv_id[:2]),
                  metadata={"source": "pdf", "authors": source.metadata.get("author", "")},
                  sections=(Section(heading_path=("Abstract (from the added PDF)",),
                                    text=summary, arxiv_ids=(arxiv_id,)),))
