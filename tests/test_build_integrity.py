"""Issue 13, items 1-3: a repair build really repairs, ``rag build`` validates what
loading validates, and one bad paper-card line never takes the product down.

Each damage case below changes a file of a good build *and* (where it says so) the
manifest's SHA-256 of it, as a buggy or foreign writer would: checksums alone cannot
catch it, only the structural checks of ``validate_build`` can.
"""

from __future__ import annotations

import json
import os
import struct
from pathlib import Path

import numpy as np
import pytest

from rag.corpus.ingest import load_cards, load_corpus
from rag.errors import IndexProblem
from rag.search.build import build_index, up_to_date
from rag.search.index import current_build, file_sha256, load_index

OFF_TOPIC = "Best pizza in Naples?"


@pytest.fixture
def built(stub_home, embedder):
    build_index(stub_home, embedder)
    return stub_home, current_build(stub_home)


def _rehash(build: Path, *names: str) -> None:
    """Update the manifest's checksums of ``names`` to match the files as they are now."""
    path = build / "manifest.json"
    manifest = json.loads(path.read_text())
    for name in names:
        manifest["files"][name] = file_sha256(build / name)
    path.write_text(json.dumps(manifest))


def _flip_vector_bytes(path: Path, first: int = 0, count: int = 4) -> None:
    """Overwrite the exponent byte of a few floats of the first vectors of a flat FAISS
    file (the data starts after a 45-byte header), as bit rot or a bad disk would."""
    data = bytearray(path.read_bytes())
    for row in range(first, first + count):
        for col in (0, 7, 100):
            data[45 + (row * 384 + col) * 4 + 3] = 0x44  # float ~ 512..1024
    path.write_bytes(bytes(data))


def _norms(index) -> tuple[np.ndarray, np.ndarray]:
    return (np.linalg.norm(index.chunk_vectors, axis=1),
            np.linalg.norm(index.sentence_vectors, axis=1))


def _assert_unit(index) -> None:
    chunk_norms, sentence_norms = _norms(index)
    assert np.allclose(chunk_norms, 1.0, atol=1e-3), chunk_norms.max()
    assert np.allclose(sentence_norms, 1.0, atol=1e-3), sentence_norms.max()


# --- item 1: a repair build re-embeds what does not verify ------------------------------
@pytest.mark.parametrize("force", [False, True])
def test_repair_build_reembeds_damaged_vectors(built, embedder, force):
    """Before the fix: "embedded 0, reused N" and norms ~1,100 in the new build."""
    settings, build = built
    _flip_vector_bytes(build / "vectors.faiss")
    report = build_index(settings, embedder, force=force)
    assert report.rebuilt
    assert report.embedded >= report.chunks  # every passage vector re-embedded
    assert report.reused > 0  # the sentence vectors verified and were reused
    _assert_unit(load_index(settings))


def test_vectors_with_forged_checksum_are_not_reused(built, embedder):
    """Damage whose checksum was updated too: the norm check refuses those vectors."""
    settings, build = built
    _flip_vector_bytes(build / "vectors.faiss", first=2, count=3)
    _rehash(build, "vectors.faiss")
    assert up_to_date(settings) is None
    report = build_index(settings, embedder, force=True)
    assert report.embedded >= 3
    index = load_index(settings)
    _assert_unit(index)
    from rag.assistant import Assistant

    answer = Assistant(settings, embedder, index, None).ask(OFF_TOPIC)
    assert answer.abstained, (answer.confidence, answer.text)


def test_sentence_vectors_of_another_width_are_not_reused(built, embedder):
    settings, build = built
    vectors = np.load(build / "sentence_vectors.npy")
    np.save(build / "sentence_vectors.npy", vectors[:, :-1])
    _rehash(build, "sentence_vectors.npy")
    report = build_index(settings, embedder, force=True)
    assert report.embedded >= report.sentences
    _assert_unit(load_index(settings))


def test_changed_sentence_embed_form_is_embedded_again(built, embedder, monkeypatch):
    """What a sentence's vector embeds is code (``embed_form``): a build whose code embeds
    other text must not reuse the vectors of the old text (before: the cache recomputed
    the old keys with the new code and reused every stale sentence vector)."""
    settings, _ = built
    seen: list[str] = []
    real = embedder.encode

    def recording(texts, *args, **kwargs):
        seen.extend(texts)
        return real(texts, *args, **kwargs)

    monkeypatch.setattr(embedder, "encode", recording)
    monkeypatch.setattr("rag.search.build.embed_form", lambda s: "changed: " + s.prose)
    report = build_index(settings, embedder, force=True)
    assert report.embedded >= report.sentences
    assert sum("changed: " in t for t in seen) >= report.sentences
    index = load_index(settings)
    _assert_unit(index)
    again = build_index(settings, embedder, force=True)  # same code: everything reused
    assert again.embedded == 0 and again.reused >= again.sentences


# --- item 2: ``rag build`` runs the same validation as loading --------------------------
def _truncate_faiss(build: Path) -> None:
    path = build / "vectors.faiss"
    path.write_bytes(path.read_bytes()[:-384 * 4])


def _faiss_ntotal(build: Path) -> None:
    path = build / "vectors.faiss"
    data = bytearray(path.read_bytes())
    struct.pack_into("<q", data, 8, struct.unpack_from("<q", data, 8)[0] - 1)
    path.write_bytes(bytes(data))


def _bm25_params(build: Path) -> None:
    path = build / "bm25" / "params.index.json"
    params = json.loads(path.read_text())
    params["num_docs"] += 7
    path.write_text(json.dumps(params))


def _bm25_indptr(build: Path) -> None:
    path = build / "bm25" / "indptr.csc.index.npy"
    np.save(path, np.load(path)[:-5])


def _papers_list(build: Path) -> None:
    (build / "papers.json").write_text("[1, 2, 3]")


def _chunks_row(build: Path) -> None:
    path = build / "chunks.jsonl"
    lines = path.read_text().splitlines()
    lines[1] = json.dumps({"chunk_id": "x"})
    path.write_text("\n".join(lines) + "\n")


def _sentence_dtype(build: Path) -> None:
    path = build / "sentence_vectors.npy"
    np.save(path, np.load(path).astype(np.float64))


def _sentence_width(build: Path) -> None:
    path = build / "sentence_vectors.npy"
    np.save(path, np.load(path)[:, :100])


def _sentence_chunk_index(build: Path) -> None:
    path = build / "sentences.jsonl"
    lines = path.read_text().splitlines()
    row = json.loads(lines[-1])
    row["chunk"] = 10_000
    lines[-1] = json.dumps(row)
    path.write_text("\n".join(lines) + "\n")


def _sentence_negative_index(build: Path) -> None:
    path = build / "sentences.jsonl"
    lines = path.read_text().splitlines()
    row = json.loads(lines[0])
    row["chunk"] = -1
    lines[0] = json.dumps(row)
    path.write_text("\n".join(lines) + "\n")


DAMAGE = [  # (name, how, the file whose checksum is updated, words the message names)
    ("faiss truncated", _truncate_faiss, "vectors.faiss", "vectors.faiss"),
    ("faiss ntotal", _faiss_ntotal, "vectors.faiss", "vectors.faiss"),
    ("bm25 num_docs", _bm25_params, "bm25/params.index.json", "bm25"),
    ("bm25 indptr", _bm25_indptr, "bm25/indptr.csc.index.npy", "bm25"),
    ("papers list", _papers_list, "papers.json", "papers.json"),
    ("chunk row", _chunks_row, "chunks.jsonl", "chunks.jsonl"),
    ("sentence dtype", _sentence_dtype, "sentence_vectors.npy", "sentence_vectors.npy"),
    ("sentence width", _sentence_width, "sentence_vectors.npy", "sentence_vectors.npy"),
    ("sentence chunk index", _sentence_chunk_index, "sentences.jsonl", "sentences.jsonl"),
    ("negative chunk index", _sentence_negative_index, "sentences.jsonl", "sentences.jsonl"),
]


@pytest.mark.parametrize("name,damage,rehash,named", DAMAGE, ids=[d[0] for d in DAMAGE])
def test_build_rebuilds_what_load_refuses(built, embedder, name, damage, rehash, named):
    """Before the fix: load said "damaged", ``rag build`` said "up to date"."""
    settings, build = built
    damage(build)
    _rehash(build, rehash)
    with pytest.raises(IndexProblem, match=rf"{named}.*run `rag build`"):
        load_index(settings)
    assert up_to_date(settings) is None  # what ``rag build`` asks before loading a model
    report = build_index(settings, embedder)
    assert report.rebuilt and named.split("/")[0] in report.reason
    _assert_unit(load_index(settings))


def _manifest_list(manifest: dict) -> object:
    return [manifest]


def _manifest_no_files(manifest: dict) -> object:
    return {**manifest, "files": {}}


def _manifest_without_files(manifest: dict) -> object:
    return {k: v for k, v in manifest.items() if k != "files"}


def _manifest_files_list(manifest: dict) -> object:
    return {**manifest, "files": list(manifest["files"])}


def _manifest_missing_entry(manifest: dict) -> object:
    files = {k: v for k, v in manifest["files"].items() if k != "vectors.faiss"}
    return {**manifest, "files": files}


def _manifest_counts_string(manifest: dict) -> object:
    return {**manifest, "counts": "many"}


def _manifest_escaping_path(manifest: dict) -> object:
    return {**manifest, "files": {**manifest["files"], "../../../etc/hostname": "0" * 64}}


MANIFESTS = [_manifest_list, _manifest_no_files, _manifest_without_files,
             _manifest_files_list, _manifest_missing_entry, _manifest_counts_string,
             _manifest_escaping_path]


@pytest.mark.parametrize("change", MANIFESTS, ids=[m.__name__[10:] for m in MANIFESTS])
def test_invalid_manifest_is_refused_and_rebuilt(built, embedder, change):
    """Before the fix: AttributeError (a list), or checksums silently skipped (no files)."""
    settings, build = built
    path = build / "manifest.json"
    path.write_text(json.dumps(change(json.loads(path.read_text()))))
    with pytest.raises(IndexProblem, match=r"manifest.*run `rag build`"):
        load_index(settings)
    assert up_to_date(settings) is None
    report = build_index(settings, embedder)
    assert report.rebuilt and "manifest" in report.reason
    _assert_unit(load_index(settings))


def test_cli_build_repairs_instead_of_up_to_date(built, embedder, monkeypatch, capsys):
    from rag import cli

    settings, build = built
    _sentence_dtype(build)
    _rehash(build, "sentence_vectors.npy")
    monkeypatch.setenv("RAG_HOME", str(settings.home))
    monkeypatch.setattr("rag.search.embed.Embedder", lambda *_: embedder)
    assert cli.main(["--preset", "fast", "build", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("built ") and "sentence_vectors.npy" in out and "up to date" not in out
    assert cli.main(["--preset", "fast", "build", "--quiet"]) == 0
    assert "up to date" in capsys.readouterr().out


# --- item 3: one bad card line is reported and skipped ------------------------------------
BAD_LINES = [
    (b'{"arxiv_id": "9999.00001", "title": "Inf", "year": 1e999, "summary": "x y z w v u"}',
     "year"),
    (b"[" * 200_000 + b"]" * 200_000, "nested too deeply"),
    ('{"arxiv_id": "9999.00002", "title": "Caf\u00e9", "summary": "latin one"}'.encode("latin-1"),
     "not UTF-8"),
    (b'{"arxiv_id": "9999.00003", "title": "Old", "year": -5, "summary": "words here too"}',
     "year"),
    (b'{"arxiv_id": "9999.00004", "title": "Bool", "year": true, "summary": "more words here"}',
     "year"),
    (b'"just a string"', "not a JSON object"),
    (b'{"arxiv_id": "9999.00005", "title": {"a": 1}, "summary": "nested title words"}', "title"),
    (b'{"arxiv_id": "9999.00006", "title": "T", "authors": 5, "summary": "numbers as authors"}',
     "authors"),
]


def _cards_with(tmp_path: Path, bad: bytes) -> Path:
    stub = Path(__file__).parent / "stub_data" / "corpus" / "papers.jsonl"
    good = stub.read_bytes().splitlines()
    path = tmp_path / "papers.jsonl"
    path.write_bytes(b"\n".join([good[0], bad, *good[1:]]) + b"\n")
    return path


@pytest.mark.parametrize("bad,message", BAD_LINES, ids=[m for _, m in BAD_LINES])
def test_bad_card_line_is_reported_with_its_number_and_skipped(tmp_path, bad, message):
    """Before the fix: OverflowError, RecursionError or UnicodeDecodeError for the file."""
    cards, warnings = load_cards(_cards_with(tmp_path, bad))
    assert len(cards) == 3  # the three good cards around the bad line
    assert len(warnings) == 1 and warnings[0].startswith("papers.jsonl:2: ")
    assert message in warnings[0], warnings[0]
    assert len(warnings[0]) < 300  # the line itself is not echoed back


def test_line_separators_inside_card_text_do_not_split_a_card(tmp_path):
    record = {"arxiv_id": "9999.00007", "title": "Sep", "year": 2020,
              "summary": "First part\u2028second part\x1cthird part of the summary"}
    path = tmp_path / "papers.jsonl"
    path.write_text(json.dumps(record, ensure_ascii=False) + "\n", encoding="utf-8")
    cards, warnings = load_cards(path)
    assert warnings == [] and len(cards) == 1


def test_real_cards_all_parse():
    from rag.settings import REPO_ROOT

    cards, warnings = load_cards(REPO_ROOT / "corpus" / "papers.jsonl")
    assert warnings == [] and len(cards) >= 133


@pytest.mark.parametrize("bad,message", BAD_LINES[:3], ids=[m for _, m in BAD_LINES[:3]])
def test_bad_card_line_builds_the_rest(stub_home, embedder, bad, message):
    path = stub_home.corpus_dir / "papers.jsonl"
    lines = path.read_bytes().splitlines()
    path.write_bytes(b"\n".join([lines[0], bad, *lines[1:]]) + b"\n")
    sources, warnings = load_corpus(stub_home.corpus_dir)
    assert len([s for s in sources if s.kind == "paper"]) == 3
    report = build_index(stub_home, embedder)
    assert report.rebuilt and any("papers.jsonl:2" in w for w in report.warnings)
    assert {c.doc_id for c in load_index(stub_home).chunks} >= {
        "arxiv:1706.03762", "arxiv:2106.09685", "arxiv:2305.18290"}


def test_unusable_corpus_never_blocks_answering(built, embedder, monkeypatch):
    """The corpus changed and nothing in it can be read: the last good index answers."""
    from rag.assistant import Assistant

    settings, build = built
    cards = settings.corpus_dir / "papers.jsonl"
    cards.write_bytes(b"\xff\xfe not a card\n" + b"[" * 200_000 + b"\n")
    for doc in (settings.corpus_dir / "docs").iterdir():
        doc.unlink()
    monkeypatch.setattr("rag.assistant.Embedder", lambda *_: embedder)
    assistant = Assistant.load(settings)
    assert assistant.index.build_dir == build
    assert "no usable documents" in assistant.notice and "last good index" in assistant.notice
    assert not assistant.ask("What does DPO optimize instead of a reward model?").abstained


def test_unreadable_card_file_never_blocks_answering(built, embedder, monkeypatch):
    """An I/O error on papers.jsonl (permissions, a bad disk) fails the rebuild, not ``ask``."""
    from rag.assistant import Assistant

    settings, build = built
    cards = settings.corpus_dir / "papers.jsonl"
    cards.write_text(cards.read_text() + "\n")  # the corpus changed: a rebuild is due
    real_open = os.open

    def failing_open(path, flags, *args, **kwargs):  # as for a file of another user
        if str(path).endswith("papers.jsonl"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", failing_open)
    monkeypatch.setattr("rag.assistant.Embedder", lambda *_: embedder)
    assistant = Assistant.load(settings)
    assert assistant.index.build_dir == build
    assert "papers.jsonl" in assistant.notice and "Permission denied" in assistant.notice
    assert not assistant.ask("What does DPO optimize instead of a reward model?").abstained


def test_build_files_split_at_newlines_only(tmp_path):
    """A U+2028 or U+0085 inside a JSON string is text, not a line break: the readers
    of chunks.jsonl and sentences.jsonl must not see a damaged row there."""
    from rag.search.checks import jsonl_rows

    path = tmp_path / "rows.jsonl"
    rows = [{"chunk": 0, "text": "one\u2028two\x85three"}, {"chunk": 0, "text": "four"}]
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows),
                    encoding="utf-8")
    assert jsonl_rows(path) == rows
