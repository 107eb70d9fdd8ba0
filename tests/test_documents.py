"""Adding, listing and removing your own documents (no index involved): formats, the
registry, every kind of bad file, symlinks, and crash safety of an add."""

from __future__ import annotations

import json
import os
import shutil

import pytest
from documents_data import (
    NOTES,
    PAGED,
    PLAIN,
    ROPE_HTML,
    SPECULATIVE,
    encrypted_pdf,
    not_a_pdf,
    scanned_pdf,
    truncated_pdf,
)

from rag.corpus import documents
from rag.corpus.documents import Candidate, add_documents, collect, read_registry
from rag.errors import DocumentRejected


def add(settings, *paths, **kw):
    found, refused = collect(list(paths), 100)
    return refused + add_documents(settings, found, **kw)


def by_name(results):
    return {os.path.basename(r.name): r for r in results}


def test_add_copies_originals_and_registers_each_format(stub_home, tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    for path in (SPECULATIVE, NOTES, PLAIN, ROPE_HTML):
        shutil.copy(path, src)
    results = by_name(add(stub_home, src))
    assert {r.status for r in results.values()} == {"added"}
    assert results["speculative_decoding.pdf"].pages == 3
    shutil.rmtree(src)  # moving or deleting the originals breaks nothing
    docs = {d.original_name: d for d in read_registry(stub_home.corpus_dir)}
    assert docs["speculative_decoding.pdf"].kind == "paper"
    assert docs["speculative_decoding.pdf"].arxiv_id == "2211.17192"
    assert docs["notes_normalization.md"].kind == "notes"
    assert docs["rope_blog.html"].kind == "web page"
    assert docs["rope_blog.html"].url == "https://blog.example.org/2024/rotary-position-embeddings"
    assert docs["plain_attention_notes.txt"].title == "Attention cheat sheet (plain text notes)"
    root = documents.added_dir(stub_home.corpus_dir)
    assert sorted(p.name for p in (root / "files").iterdir()) == sorted(d.file for d in
                                                                         docs.values())
    sources, warnings = documents.load_added(stub_home.corpus_dir, stub_home.documents)
    assert not warnings and {s.doc_id for s in sources} == {d.doc_id for d in docs.values()}


def test_web_page_keeps_only_the_main_text(stub_home):
    add(stub_home, ROPE_HTML)
    source = documents.load_added(stub_home.corpus_dir, stub_home.documents)[0][0]
    text = "\n".join(s.text for s in source.sections)
    assert "dot product depends only on the difference" in text
    for boilerplate in ("cookies", "Subscribe", "Popular posts", "Privacy", "ALiBi next"):
        assert boilerplate not in text
    assert "Position interpolation · positions divided by the factor · about 1,000 steps" \
        in text  # a table row, readable
    assert [s.heading_path for s in source.sections][1:3] == [("How the rotation works",),
                                                              ("Why models use it",)]


def test_bad_files_get_a_clear_message_and_change_nothing(stub_home, tmp_path):
    bad = tmp_path / "bad"
    bad.mkdir()
    encrypted_pdf(bad / "locked.pdf")
    scanned_pdf(bad / "scan.pdf")
    truncated_pdf(bad / "cut.pdf")
    not_a_pdf(bad / "notes.pdf")
    (bad / "empty.md").write_bytes(b"")
    (bad / "binary.txt").write_bytes(b"\x00\x01\x02 not text")
    (bad / "latin1.txt").write_bytes("caf\xe9 notes about attention".encode("latin-1"))
    results = by_name(add(stub_home, bad, tmp_path / "missing.pdf"))
    expected = {"locked.pdf": "password-protected", "scan.pdf": "no text layer: OCR it first",
                "cut.pdf": "truncated PDF", "notes.pdf": "not a PDF",
                "empty.md": "empty file (0 bytes)", "binary.txt": "binary file",
                "latin1.txt": "not UTF-8 text", "missing.pdf": "no such file"}
    for name, message in expected.items():
        assert results[name].status == "rejected" and message in results[name].message, name
    assert read_registry(stub_home.corpus_dir) == []
    root = documents.added_dir(stub_home.corpus_dir)
    assert list((root / "files").iterdir()) == [] and list((root / "parsed").iterdir()) == []


def test_size_limit_from_settings(stub_home, monkeypatch):
    small = stub_home.updated(sources={"max_mb": 0.05})
    result = add(small, SPECULATIVE)[0]  # 100 kB
    assert result.status == "rejected"
    assert "over the 0.05 MB limit (raise it with RAG_SOURCES__MAX_MB)" in result.message
    monkeypatch.setenv("RAG_SOURCES__MAX_MB", "0.05")
    from rag.settings import load_settings

    assert load_settings().sources.max_mb == 0.05


def test_duplicates_by_content_in_the_batch_and_later(stub_home, tmp_path):
    copy = tmp_path / "same-content-other-name.pdf"
    shutil.copy(PAGED, copy)
    first = add(stub_home, PAGED, copy)
    assert [r.status for r in first] == ["added", "duplicate"]
    assert first[1].message == "already added as user:paged-attention (same content)"
    again = add(stub_home, PAGED)[0]
    assert again.status == "duplicate" and again.doc_id == "user:paged-attention"
    shipped = next((stub_home.corpus_dir / "docs").glob("*.txt"))
    assert add(stub_home, shipped)[0].status == "duplicate"  # a shipped document
    assert len(read_registry(stub_home.corpus_dir)) == 1


def test_symlinks_leading_out_of_a_chosen_folder_are_refused(stub_home, tmp_path):
    folder = tmp_path / "chosen"
    folder.mkdir()
    outside = tmp_path / "secret.md"
    outside.write_text("# Secret\n\nThis file lives outside the chosen folder entirely.\n")
    os.symlink(outside, folder / "link.md")
    os.symlink(tmp_path, folder / "up")
    shutil.copy(NOTES, folder)
    os.symlink(folder / NOTES.name, folder / "inside-link.md")  # inside: added once, as itself
    os.mkfifo(folder / "pipe.md")
    results = by_name(add(stub_home, folder))
    assert "outside the folder you chose" in results["link.md"].message
    assert "outside the folder you chose" in results["up"].message
    assert results[NOTES.name].status == "added" and "inside-link.md" not in results
    assert results["pipe.md"].status == "rejected"
    assert "not a regular file" in results["pipe.md"].message
    assert [d.original_name for d in read_registry(stub_home.corpus_dir)] == [NOTES.name]
    direct = add(stub_home, folder / "link.md")[0]  # named directly: the user chose it
    assert direct.status == "added"


def test_unsupported_types_named_directly_are_rejected(stub_home, tmp_path):
    doc = tmp_path / "slides.pptx"
    doc.write_bytes(b"PK\x03\x04 not supported")
    result = add(stub_home, doc)[0]
    assert result.status == "rejected" and "unsupported file type '.pptx'" in result.message


def test_remove_by_id_or_file_name(stub_home):
    add(stub_home, NOTES, PLAIN)
    removed, unknown = documents.remove_documents(stub_home, ["notes-normalization",
                                                              "plain_attention_notes.txt",
                                                              "user:nope"])
    assert [d.doc_id for d in removed] == ["user:notes-normalization",
                                           "user:plain-attention-notes"]
    assert unknown == ["user:nope"]
    root = documents.added_dir(stub_home.corpus_dir)
    assert read_registry(stub_home.corpus_dir) == []
    assert list((root / "files").iterdir()) == [] and list((root / "parsed").iterdir()) == []


def test_a_crash_before_the_registry_is_written_rolls_back(stub_home, monkeypatch):
    real = documents._write_registry

    def crash(*args):
        raise KeyboardInterrupt  # killed right before the commit point

    monkeypatch.setattr(documents, "_write_registry", crash)
    with pytest.raises(KeyboardInterrupt):
        add(stub_home, NOTES)
    root = documents.added_dir(stub_home.corpus_dir)
    assert (root / "files" / "notes-normalization.md").exists()  # moved, not registered
    monkeypatch.setattr(documents, "_write_registry", real)
    assert read_registry(stub_home.corpus_dir) == []
    result = add(stub_home, PLAIN)[0]  # the next add cleans up, then works
    assert result.status == "added"
    assert sorted(p.name for p in (root / "files").iterdir()) == ["plain-attention-notes.txt"]
    assert not list(root.glob(".staging-*"))


def test_a_parsed_file_from_older_code_is_parsed_again(stub_home):
    add(stub_home, NOTES)
    cache = documents.added_dir(stub_home.corpus_dir) / "parsed" / "notes-normalization.json"
    data = json.loads(cache.read_text())
    data["parser"] = "old"
    cache.write_text(json.dumps(data))
    sources, warnings = documents.load_added(stub_home.corpus_dir, stub_home.documents)
    assert not warnings and sources[0].title == "My notes on normalization layers"
    assert json.loads(cache.read_text())["parser"] == documents.parser_fingerprint()


def test_a_missing_copy_is_a_warning_not_a_crash(stub_home):
    add(stub_home, NOTES)
    (documents.added_dir(stub_home.corpus_dir) / "files" / "notes-normalization.md").unlink()
    (documents.added_dir(stub_home.corpus_dir) / "parsed" / "notes-normalization.json").unlink()
    sources, warnings = documents.load_added(stub_home.corpus_dir, stub_home.documents)
    assert sources == [] and "rag remove user:notes-normalization" in warnings[0]


def test_an_unreadable_registry_says_so(stub_home):
    root = documents.added_dir(stub_home.corpus_dir)
    root.mkdir(parents=True)
    (root / "registry.json").write_text("{not json")
    with pytest.raises(DocumentRejected, match="registry of added documents"):
        read_registry(stub_home.corpus_dir)


def test_ids_are_slugs_numbered_when_taken():
    taken = {"user:notes"}
    assert documents.unique_id("Notes", taken) == "user:notes-2"
    assert documents.unique_id("Attention Is All You Need (v7)", set()) == \
        "user:attention-is-all-you-need-v7"
    assert documents.unique_id("...", set()) == "user:document"


def test_candidates_from_uploads_refuse_symlinks(stub_home, tmp_path):
    link = tmp_path / "upload.md"
    os.symlink(NOTES, link)
    result = add_documents(stub_home, [Candidate(link, "upload.md", no_follow=True)])[0]
    assert result.status == "rejected" and "cannot open it" in result.message


def test_a_file_the_parser_chokes_on_is_rejected_alone(stub_home, monkeypatch):
    real = documents.parse_file

    def flaky(path, name, doc_id, settings):
        if name.endswith(".txt"):
            raise IndexError("list index out of range")
        return real(path, name, doc_id, settings)

    monkeypatch.setattr(documents, "parse_file", flaky)
    results = by_name(add(stub_home, PLAIN, NOTES))
    assert results[PLAIN.name].status == "rejected"
    assert "could not read it (IndexError" in results[PLAIN.name].message
    assert results[NOTES.name].status == "added"


def test_cli_add_of_a_folder_without_documents_says_so(stub_home, tmp_path, monkeypatch,
                                                       capsys):
    from rag.cli import main

    (tmp_path / "pictures").mkdir()
    (tmp_path / "pictures" / "cat.png").write_bytes(b"\x89PNG")
    monkeypatch.setenv("RAG_HOME", str(stub_home.home))
    assert main(["add", str(tmp_path / "pictures")]) == 2
    assert "no PDF, Markdown, text or HTML files found in" in capsys.readouterr().err
    assert read_registry(stub_home.corpus_dir) == []
