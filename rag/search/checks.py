"""Reading the parts of a build folder, each checked for what a checksum cannot see.

Every reader parses one file and checks its shape against the others (counts,
dtypes, widths, index ranges, finite unit-length vectors); a problem raises
``BadFile`` naming the file.  ``rag.search.index.validate_build`` runs them all, so
loading, ``rag build``'s up-to-date check and vector reuse share one validation.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from rag.records import Chunk

UNIT_TOLERANCE = 1e-3  # |norm - 1| allowed for a stored (normalised float32) vector


class BadFile(ValueError):
    """A part of a build that does not parse or does not agree with the others."""


def unit_rows(vectors: np.ndarray, dim: int | None = None) -> np.ndarray:
    """A boolean mask of the rows that are finite unit vectors (of width ``dim``)."""
    if vectors.ndim != 2 or (dim is not None and vectors.shape[1] != dim):
        return np.zeros(len(vectors), dtype=bool)
    with np.errstate(all="ignore"):
        norms = np.linalg.norm(vectors.astype(np.float64), axis=1)
    return np.isfinite(vectors).all(axis=1) & (np.abs(norms - 1.0) <= UNIT_TOLERANCE)


def _check_unit(name: str, vectors: np.ndarray) -> None:
    bad = np.flatnonzero(~unit_rows(vectors))
    if len(bad):
        raise BadFile(f"{name} holds {len(bad)} vector(s) that are not finite unit "
                      f"vectors (first: row {bad[0]})")


def jsonl_rows(path: Path) -> list:
    """The JSON values of a JSONL file, split at "\\n" only (a U+2028 inside a string
    is text, not a line break); ``BadFile`` names the line that does not parse."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise BadFile(f"{path.name} is unreadable ({exc})") from exc
    rows = []
    for lineno, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except (ValueError, RecursionError) as exc:
            raise BadFile(f"{path.name} line {lineno} is not JSON ({exc})") from exc
    return rows


def read_chunks(path: Path) -> list[Chunk]:
    chunks = []
    for lineno, row in enumerate(jsonl_rows(path), 1):
        try:
            chunks.append(Chunk(**row))
        except (TypeError, ValueError) as exc:
            raise BadFile(f"{path.name} row {lineno} is not a valid chunk "
                          f"({str(exc).splitlines()[0]})") from exc
    return chunks


def read_faiss(path: Path, n_chunks: int) -> tuple[object, np.ndarray]:
    """The vector store (FAISS read directly: no llama-index at query time) and its
    vectors, one per chunk."""
    from rag.search.index import FaissVectors

    try:
        store = FaissVectors.load(path)
        index = store.client
        vectors = index.reconstruct_n(0, index.ntotal)
    except Exception as exc:  # noqa: BLE001 - FAISS reports damage as RuntimeError & co.
        raise BadFile(f"{path.name} is damaged ({str(exc).splitlines()[0][:200]})") from exc
    if index.ntotal != n_chunks:
        raise BadFile(f"{path.name} holds {index.ntotal} vectors for {n_chunks} chunks")
    _check_unit(path.name, vectors)
    return store, vectors


def read_sentences(path: Path, n_chunks: int) -> list[tuple[int, str]]:
    """(chunk index, text) rows, grouped by chunk in order, indexes in range."""
    out: list[tuple[int, str]] = []
    for lineno, row in enumerate(jsonl_rows(path), 1):
        chunk = row.get("chunk") if isinstance(row, dict) else None
        text = row.get("text") if isinstance(row, dict) else None
        if type(chunk) is not int or not isinstance(text, str):
            raise BadFile(f"{path.name} row {lineno} needs an integer chunk and a text")
        if not 0 <= chunk < n_chunks:
            raise BadFile(f"{path.name} row {lineno} refers to chunk {chunk} of {n_chunks}")
        if out and chunk < out[-1][0]:
            raise BadFile(f"{path.name} row {lineno} is out of chunk order")
        out.append((chunk, text))
    return out


def read_vectors(path: Path, rows: int, dim: int) -> np.ndarray:
    """A float32 ``.npy`` matrix of ``rows`` unit vectors of width ``dim``."""
    try:
        vectors = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise BadFile(f"{path.name} is damaged ({exc})") from exc
    if vectors.dtype != np.float32 or vectors.ndim != 2:
        raise BadFile(f"{path.name} holds {vectors.dtype} of {vectors.ndim} dimension(s), "
                      "not a float32 matrix")
    if vectors.shape[1] != dim:
        raise BadFile(f"{path.name} has width {vectors.shape[1]}, the passage vectors {dim}")
    if len(vectors) != rows:
        raise BadFile(f"{len(vectors)} sentence vectors for {rows} sentences")
    _check_unit(path.name, vectors)
    return vectors


def read_bm25(path: Path, n_chunks: int) -> object:
    """The bm25s index, its sparse score matrix checked against the chunk count."""
    from rag.search.index import bm25s_module

    bm25s = bm25s_module()

    try:
        bm25 = bm25s.BM25.load(str(path), show_progress=False)
        data, indices, indptr = (np.asarray(bm25.scores[k]) for k in ("data", "indices",
                                                                      "indptr"))
        vocab = bm25.vocab_dict
        num_docs = bm25.scores.get("num_docs")
    except Exception as exc:  # noqa: BLE001 - any failure here means a damaged file
        raise BadFile(f"{path.name} is damaged ({str(exc).splitlines()[0][:200]})") from exc
    problem = _csc_problem(data, indices, indptr, n_chunks)
    if num_docs != n_chunks:
        problem = f"it indexes {num_docs} documents for {n_chunks} chunks"
    elif not problem and vocab and max(vocab.values()) >= len(indptr):
        problem = "its vocabulary refers past the score matrix"
    if problem:
        raise BadFile(f"{path.name} is damaged ({problem})")
    return bm25


def _csc_problem(data: np.ndarray, indices: np.ndarray, indptr: np.ndarray,
                 n_docs: int) -> str:
    if indptr.ndim != 1 or not len(indptr) or indptr[0] != 0:
        return "bad indptr"
    if np.any(np.diff(indptr) < 0) or indptr[-1] != len(indices) or len(data) != len(indices):
        return "indptr, indices and data disagree"
    if len(indices) and (indices.min() < 0 or indices.max() >= n_docs):
        return "document indexes out of range"
    if not np.isfinite(data).all():
        return "scores are not finite"
    return ""


def read_papers(path: Path) -> dict[str, dict]:
    """The paper catalogue: arXiv id -> {title, year, url}."""
    try:
        papers = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as exc:
        raise BadFile(f"{path.name} is damaged ({exc})") from exc
    if not isinstance(papers, dict) or not all(
            isinstance(p, dict) and isinstance(p.get("title"), str) for p in papers.values()):
        raise BadFile(f"{path.name} is not a catalogue of papers (id -> title, year, url)")
    return papers


def check_counts(manifest: dict, n_chunks: int, n_sentences: int) -> None:
    counts = manifest.get("counts", {})
    if counts.get("chunks") != n_chunks:
        raise BadFile("chunk count differs from the manifest")
    if counts.get("sentences") != n_sentences:
        raise BadFile("sentence count differs from the manifest")
