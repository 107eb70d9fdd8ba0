"""The ingestion code's fingerprint: a hash of the modules that turn files into chunks, so
changing them rebuilds the index (``Settings.index_shape``)."""

from __future__ import annotations

import ast
import hashlib
import json
import os
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parents[1]  # rag/

_PIPELINE_MODULES = ("corpus/clean.py", "corpus/ingest.py", "corpus/chunk.py",
                     "corpus/linking.py", "corpus/roles.py", "corpus/context.py",
                     "corpus/outline.py", "corpus/antecedents.py", "corpus/files.py",
                     # your own documents (rag add): parsing PDFs, pages, web pages
                     "corpus/formats.py", "corpus/pdf.py", "corpus/layout.py",
                     "corpus/structure.py", "corpus/documents.py")


def pipeline_fingerprint() -> str:
    """Hash of the code of the modules that turn files into chunks: changing it rebuilds
    the index.  Hashed as syntax trees without imports, docstrings and comments, so moving
    a module or editing its documentation does not force a rebuild.  Remembered while
    the files' sizes and times are unchanged (a build asks several times; ~1 s each)."""
    paths = [_PACKAGE / name for name in _PIPELINE_MODULES]
    stamp = tuple((p.stat().st_mtime_ns, p.stat().st_size) for p in paths)
    if _FINGERPRINT.get("stamp") != stamp:
        value = _stored_digest(stamp)
        if value is None:
            value = _pipeline_digest()
            _store_digest(stamp, value)
        _FINGERPRINT.update(stamp=stamp, value=value)
    return _FINGERPRINT["value"]


_FINGERPRINT: dict = {}
# Across processes too: parsing the ten modules cost ~0.4 s of every `rag ask` start (a
# third of it).  The digest is kept beside the package's bytecode, keyed like it (file
# times and sizes, Python version); a read-only install just computes it each time.
_DIGEST_FILE = Path(__file__).parent / "__pycache__" / "pipeline-fingerprint.json"


def _digest_key(stamp: tuple) -> str:
    import sys

    return json.dumps([sys.version_info[:2], _PIPELINE_MODULES, stamp])


def _stored_digest(stamp: tuple) -> str | None:
    try:
        stored = json.loads(_DIGEST_FILE.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return stored.get("digest") if stored.get("key") == _digest_key(stamp) else None


def _store_digest(stamp: tuple, digest: str) -> None:
    try:
        _DIGEST_FILE.parent.mkdir(exist_ok=True)
        tmp = _DIGEST_FILE.with_name(f".{_DIGEST_FILE.name}.{os.getpid()}")
        tmp.write_text(json.dumps({"key": _digest_key(stamp), "digest": digest}))
        os.replace(tmp, _DIGEST_FILE)
    except OSError:
        pass


def _pipeline_digest() -> str:
    digest = hashlib.sha256()
    for name in _PIPELINE_MODULES:
        tree = ast.parse((_PACKAGE / name).read_text(encoding="utf-8"))
        digest.update(ast.dump(_strip_imports_and_docstrings(tree)).encode())
    return digest.hexdigest()[:12]


def _strip_imports_and_docstrings(tree: ast.Module) -> ast.Module:
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if not isinstance(body, list):
            continue
        kept = [n for n in body if not isinstance(n, ast.Import | ast.ImportFrom)]
        if kept and isinstance(kept[0], ast.Expr) and isinstance(
                getattr(kept[0], "value", None), ast.Constant) and isinstance(
                kept[0].value.value, str):
            kept = kept[1:]
        node.body = kept or [ast.Pass()]
    return tree
