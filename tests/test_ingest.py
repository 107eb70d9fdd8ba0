"""Ingestion of the stub corpus, which reproduces each kind of damage in the real one."""

from pathlib import Path

import pytest

from rag.corpus.ingest import load_corpus, parse_document
from rag.errors import CorpusError

STUB = Path(__file__).parent / "stub_data" / "corpus"


@pytest.fixture(scope="module")
def sources():
    found, warnings = load_corpus(STUB)
    assert warnings == []
    return {s.doc_id: s for s in found}


def _body(source) -> str:
    return "\n".join(s.text for s in source.sections)


def test_stable_doc_ids_and_titles(sources):
    assert set(sources) == {"100_markdown_guide", "101_pilcrow_notes", "arxiv:1706.03762",
                            "arxiv:2106.09685", "arxiv:2305.18290"}
    assert sources["100_markdown_guide"].title == "Tiny Reading Guide"  # front matter
    assert sources["101_pilcrow_notes"].title == "Scraped Research Notes"  # first heading
    card = sources["arxiv:2106.09685"]
    assert card.title.startswith("LoRA") and card.url == "https://arxiv.org/abs/2106.09685"
    assert card.year == 2021 and card.kind == "paper"


def test_mojibake_repaired(sources):
    body = _body(sources["100_markdown_guide"])
    assert "â" not in body and "ðŸ" not in body
    assert "preference tuning → for interviews" in body
    notes = _body(sources["101_pilcrow_notes"])
    assert "8× A100" in notes and "Input → Router → Experts → Output" in notes


def test_html_stripped_text_kept(sources):
    body = _body(sources["100_markdown_guide"])
    assert "<span" not in body and "&#x" not in body
    assert "Read the Transformer paper and the LoRA paper to learn adapters." in body


def test_links_become_text_and_arxiv_ids_recorded(sources):
    section = next(s for s in sources["100_markdown_guide"].sections
                   if "Transformer paper" in s.text)
    assert "](" not in section.text
    assert section.arxiv_ids == ("1706.03762", "2106.09685")
    assert any(link.endswith("https://arxiv.org/abs/1706.03762v5") for link in section.links)


def test_front_matter_is_metadata_not_body(sources):
    doc = sources["100_markdown_guide"]
    assert doc.metadata["author"] == "Test Author" and doc.metadata["tags"] == "LLM, paper"
    assert "Test Author" not in _body(doc) and "tags" not in _body(doc)


def test_code_block_content_kept(sources):
    body = _body(sources["100_markdown_guide"])
    assert "key innovation: Closed-form policy objective replaces reinforcement learning" in body
    assert "Simpler than PPO pipelines" in body


def test_heading_paths_markdown_and_pilcrow(sources):
    paths = {s.heading_path for s in sources["100_markdown_guide"].sections}
    assert ("Foundational Papers", "1. Attention Is All You Need (2017)") in paths
    assert ("Overview",) in paths  # emoji dropped from the heading
    notes = {s.heading_path: s.text for s in sources["101_pilcrow_notes"].sections}
    assert ("Research Areas", "1. Sparse Mixture of Experts") in notes
    # "# Route to top-k experts" is a code comment in a pilcrow document, not a heading
    assert "# Route to top-k experts" in notes[("Research Areas", "1. Sparse Mixture of Experts")]


def test_missing_corpus_is_a_clear_error(tmp_path):
    with pytest.raises(CorpusError, match="no corpus"):
        load_corpus(tmp_path / "nowhere")


def test_bad_files_are_skipped_with_warnings(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "good.txt").write_text("# Good\n\nAttention is useful for sequence modelling.\n")
    (docs / "empty.txt").write_text("")
    (docs / "binary.txt").write_bytes(b"\x00\x01\x02PNG")
    (docs / "latin1.txt").write_bytes("caf\xe9 na\xefve".encode("latin-1"))
    (tmp_path / "papers.jsonl").write_text('{"arxiv_id": "1"}\nnot json\n')
    sources, warnings = load_corpus(tmp_path)
    assert [s.doc_id for s in sources] == ["good"]
    text = "\n".join(warnings)
    for name in ("empty.txt", "binary.txt", "latin1.txt", "papers.jsonl:1", "papers.jsonl:2"):
        assert name in text


def test_duplicate_cards_merge_into_sections(tmp_path):
    (tmp_path / "papers.jsonl").write_text(
        '{"arxiv_id": "1", "title": "T", "year": 2020, "summary": "Card text here."}\n'
        '{"arxiv_id": "1", "title": "T", "year": 2020, "summary": "Official abstract.",'
        ' "source": "arxiv"}\n')
    sources, _ = load_corpus(tmp_path)
    assert len(sources) == 1
    assert [s.heading_path for s in sources[0].sections] == [("Paper card",), ("arXiv abstract",)]


def test_real_corpus_headings_from_both_styles():
    root = Path(__file__).parents[1] / "corpus"
    sources, warnings = load_corpus(root)
    assert warnings == []
    by_id = {s.doc_id: s for s in sources}
    assert len([s for s in sources if s.kind == "document"]) == 5
    assert len([s for s in sources if s.kind == "paper"]) == 133
    assert by_id["001_3b12a4961c6a2177"].title == "Papers Reading Guide"
    paths = {s.heading_path for s in by_id["001_3b12a4961c6a2177"].sections}
    assert ("Foundational Papers", "1. Attention Is All You Need (2017)") in paths
    emerging = {s.heading_path for s in by_id["004_631e2e10b08435b7"].sections}
    assert ("Research Areas", "5. Efficient Fine-Tuning") in emerging


def test_parse_document_without_headings():
    source = parse_document("plain", "Just one paragraph of text about attention.\n")
    assert source.title == "plain"
    assert source.sections[0].heading_path == ()
