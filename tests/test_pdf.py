"""PDF extraction on real rendered PDFs (pdflatex two-column papers, a Chromium print)
and the pure layout functions behind it."""

from __future__ import annotations

import re
from collections import Counter
from functools import cache

import pytest
from documents_data import PAGED, ROPE_PDF, SPECULATIVE, encrypted_pdf, scanned_pdf

from rag.corpus import layout
from rag.corpus.chunk import chunk_source
from rag.corpus.formats import parse_file
from rag.corpus.pdf import HYPHEN_MARK, Line, Page, english_words, read_pdf
from rag.corpus.structure import structure
from rag.errors import DocumentRejected
from rag.settings import ChunkSettings, DocumentsSettings


@cache
def parsed(path):
    text = read_pdf(path, 100, 40)
    return structure(text.pages, text.metadata, english_words())


def body(doc) -> str:
    return "\n\n".join(s.text for s in doc.sections)


def section(doc, heading: str):
    return next(s for s in doc.sections if s.heading_path and s.heading_path[-1] == heading)


# --- the two-column LaTeX paper ------------------------------------------------------


def test_two_column_reading_order_and_numbered_headings():
    doc = parsed(SPECULATIVE)
    headings = [" › ".join(s.heading_path) for s in doc.sections]
    assert headings == [
        "Abstract", "1 Introduction", "2 Background › 2.1 Why decoding is memory bound",
        "2 Background › 2.2 Rejection sampling", "3 Method › 3.1 Drafting",
        "3 Method › 3.2 Verification", "3 Method › 3.3 Acceptance rule",
        "3 Method › 3.4 Expected tokens per target call", "4 Experiments › 4.1 Setup",
        "4 Experiments › 4.2 Results", "4 Experiments › 4.3 When speculation does not help",
        "5 Related Work", "6 Conclusion"]
    # 2.1 starts at the foot of the left column and ends at the top of the right one
    text = section(doc, "2.1 Why decoding is memory bound").text
    assert ("a single new position per sequence. The matrix multiplications degenerate into "
            "matrix-vector products whose arithmetic intensity is far below") in text
    # 3.3 continues from the foot of page 1's right column onto page 2's left column
    assert section(doc, "3.3 Acceptance rule").text.startswith("Each drafted token x is")


def test_title_stamp_running_header_and_page_numbers():
    doc = parsed(SPECULATIVE)
    assert doc.title == ("Speculative Decoding in Practice: Drafting, Verifying and "
                         "Accepting Tokens")
    assert doc.arxiv_id == "2211.17192"  # the rotated arXiv stamp in the left margin
    text = body(doc)
    assert "Preprint" not in text and "arXiv:2211.17192v2" not in text
    assert not re.search(r"(?m)^\d+$", text)  # no bare page numbers


def test_hyphenation_is_undone_but_compounds_keep_their_hyphen():
    text = body(parsed(SPECULATIVE))
    for word in ("accelerator memory", "speculative decoding:", "processors", "authority",
                 "acceptance steps", "degenerate"):
        assert word in text
    for compound in ("self-contained", "seven-billion-parameter", "matrix-vector",
                     "key-value cache", "wall-clock"):
        assert compound in text
    assert HYPHEN_MARK not in text


def test_ligatures_in_a_times_paper_come_out_as_letters():
    text = body(parsed(PAGED))
    assert "fixed-size blocks" in text and "first-come-first-served" in text
    assert not re.search("[\ufb00-\ufb06]", text)


def test_references_are_kept_out_and_captions_are_paragraphs():
    doc = parsed(SPECULATIVE)
    text = body(doc)
    assert "Leviathan" not in text and "Borgeaud" not in text
    assert len(doc.references) == 4 and "arXiv:2211.17192" in doc.references[0]
    verification = section(doc, "3.2 Verification").text
    assert "\n\nFigure 1: One speculative decoding step: the draft model proposes gamma " \
           "tokens" in verification
    assert not re.search(r"\bdraft verify accept\b", text)  # the figure's own labels
    results = section(doc, "4.2 Results").text
    assert re.search(r"Table 1: Acceptance rate.*4 0\.71 2\.90 2\.3x", results, re.S)


def test_a_float_inside_a_paragraph_does_not_cut_it():
    doc = parsed(PAGED)  # page 2 starts with a full-width figure and a table
    text = section(doc, "4 Scheduling and Preemption").text
    assert "or simply dropped and recomputed from the prompt when the request resumes" in text
    figure = re.search(r"Figure 1: .*?\n\n", text + "\n\n", re.S).group(0)
    assert "new blocks are allocated only when the last one is full" in figure


def test_every_chunk_keeps_its_pages():
    doc = parsed(SPECULATIVE)
    from rag.records import Source

    source = Source(doc_id="user:s", title=doc.title, kind="document",
                    sections=tuple(doc.sections))
    chunks = chunk_source(source, ChunkSettings(chunk_tokens=60, overlap_tokens=8),
                          lambda s: len(s.split()), 200)
    pages = {c.section.split(" › ")[-1]: (c.page_start, c.page_end) for c in chunks}
    assert pages["Abstract"] == (1, 1)
    assert pages["3.4 Expected tokens per target call"] == (2, 2)
    assert all(c.page_start is not None and c.page_start <= c.page_end for c in chunks)
    spanning = [c for c in chunks if c.page_start != c.page_end]
    assert spanning and all(c.page_end == c.page_start + 1 for c in spanning)


def test_arxiv_id_from_metadata_and_file_name(tmp_path):
    assert parsed(PAGED).arxiv_id == "2309.06180"  # only in the PDF metadata
    renamed = tmp_path / "2205.14135v2.pdf"
    renamed.write_bytes(ROPE_PDF.read_bytes())
    doc = parse_file(renamed, renamed.name, "user:r", DocumentsSettings())
    assert doc.arxiv_id == "2205.14135"
    assert all(s.arxiv_ids == ("2205.14135",) for s in doc.source.sections)


def test_chromium_print_loses_its_header_and_footer():
    doc = parsed(ROPE_PDF)
    text = body(doc)
    assert doc.title == "Rotary Position Embeddings, Explained"
    assert "file://" not in text and not re.search(r"\b[12]/2\b", text)
    assert "dot product depends only on the difference between their positions" in text
    assert "cookies" not in text  # the banner above the title is front matter


def test_encrypted_and_scanned_pdfs_are_refused(tmp_path):
    with pytest.raises(DocumentRejected, match="password-protected"):
        read_pdf(encrypted_pdf(tmp_path / "e.pdf"), 100, 40)
    with pytest.raises(DocumentRejected, match="no text layer: OCR it first"):
        read_pdf(scanned_pdf(tmp_path / "s.pdf"), 100, 40)


# --- pure functions ---------------------------------------------------------------------


def line(text, x0, top, x1, page=1, size=10.0, bold=False):
    return Line(page=page, text=text, x0=x0, top=top, x1=x1, bottom=top + size, size=size,
                bold=bold)


def test_reading_order_reads_the_left_column_then_the_right_between_full_width_blocks():
    lines = [line("Title across the page", 100, 50, 500, size=16),
             line("R1", 320, 120, 550), line("L1", 60, 120, 290), line("R2", 320, 132, 550),
             line("L2", 60, 132, 290), line("L3", 60, 144, 290), line("R3", 320, 144, 550),
             line("A full-width figure caption runs across", 60, 300, 550),
             line("and wraps.", 60, 312, 200),
             line("L4", 60, 400, 290), line("R4", 320, 400, 550), line("L5", 60, 412, 290),
             line("R5", 320, 412, 550), line("L6", 60, 424, 290), line("R6", 320, 424, 550)]
    page = Page(1, 612, 792, lines)
    order = [p.line.text for p in layout.reading_order(page)]
    assert order == ["Title across the page", "L1", "L2", "L3", "R1", "R2", "R3",
                     "A full-width figure caption runs across", "and wraps.",
                     "L4", "L5", "L6", "R4", "R5", "R6"]


def test_single_column_pages_are_read_top_down():
    lines = [line("second", 60, 200, 500), line("first", 60, 100, 500), line("x", 300, 300, 310)]
    assert [p.column for p in layout.reading_order(Page(1, 612, 792, lines))] == ["F"] * 3


def test_running_lines_repeated_across_pages_are_dropped():
    pages = [Page(n, 612, 792, [line(f"My Paper Title {n}", 60, 20, 500, page=n, size=8),
                                line(f"body of page {n}", 60, 300, 500, page=n),
                                line(str(n), 300, 760, 310, page=n, size=8)])
             for n in (1, 2, 3)]
    kept = layout.strip_furniture(pages)
    assert [[ln.text for ln in p.lines] for p in kept] == [
        ["body of page 1"], ["body of page 2"], ["body of page 3"]]


@pytest.mark.parametrize("head,tail,joined", [
    ("accel", "erator memory", "accelerator memory"),  # a dictionary word
    ("self", "contained text", "self-contained text"),  # two words, no joined form
    ("META", "FONT is", "META-FONT is"),  # upper case and unknown: kept
    ("the so", "called trick", "the socalled trick"),  # the document writes it joined
])
def test_hyphens_at_line_ends(head, tail, joined):
    vocab = Counter({"socalled": 1})
    assert layout.join_hyphenated(head, tail, vocab, english_words()) == joined


def test_normalise_ligatures_and_tex_accents():
    assert layout.normalise("\ufb01ne e\ufb00ort Ram\u00b4on") == "fine effort Ramón"


def test_numbered_headings_need_a_heading_face():
    assert layout.heading_level(line("3.2 Method", 60, 0, 200, bold=True), 10) == 2
    assert layout.heading_level(line("3 Results", 60, 0, 200, size=12), 10) == 1
    assert layout.heading_level(line("3 apples and 2 pears were eaten.", 60, 0, 200), 10) == 0
    assert layout.heading_level(line("4 0.71 2.90 2.3x", 60, 0, 200, bold=True), 10) == 0
