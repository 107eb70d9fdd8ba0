"""Chunk bounds with the embedding model's own tokenizer, structure and sentences."""

from pathlib import Path

import numpy as np
import pytest

from rag.corpus import clean
from rag.corpus.chunk import chunk_source, chunk_sources, is_answer_sentence, split_sentences
from rag.corpus.ingest import load_corpus, parse_document
from rag.settings import ChunkSettings, load_settings

WINDOW = load_settings().embedding.max_seq_tokens  # 256, special tokens included


def _full_tokens(embedder, text: str) -> int:
    return len(embedder.tokenizer(text, add_special_tokens=True)["input_ids"])


def test_model_silently_truncates_beyond_its_window(embedder):
    """Why chunks must fit: text past 256 tokens does not change the embedding at all."""
    long_text = " ".join(["Attention weighs every token against every other token."] * 60)
    assert _full_tokens(embedder, long_text) > WINDOW
    tail = " Completely different words about cooking pasta and tomato sauce recipes."
    a, b = embedder.encode([long_text, long_text + tail])
    assert float(a @ b) > 0.9999  # the tail was cut off without any warning
    short = "Attention weighs every token against every other token."
    c, d = embedder.encode([short, short + tail])
    assert float(c @ d) < 0.95  # within the window the same tail matters


def test_no_real_chunk_exceeds_the_window(embedder):
    sources, _ = load_corpus(Path(__file__).parents[1] / "corpus")
    settings = load_settings()
    chunks = chunk_sources(sources, settings.chunking, embedder.count_tokens, WINDOW - 2)
    assert len(chunks) > 300
    sizes = [_full_tokens(embedder, c.embed_text) for c in chunks]
    assert max(sizes) <= WINDOW
    assert max(sizes) <= settings.chunking.chunk_tokens + 2
    for chunk in chunks:
        assert chunk.text.strip() and clean.is_meaningful(chunk.text)
        assert chunk.embed_text.endswith(chunk.text)
    ids = [c.chunk_id for c in chunks]
    assert len(ids) == len(set(ids))


def test_pathological_section_is_split_within_bounds(embedder):
    words = " ".join(f"token{i}" for i in range(3000))  # one sentence, no punctuation
    huge_word = "x" * 5000
    raw = f"# T\n\n## A very long heading {'deep ' * 80}\n\n{words}\n\n{huge_word}\n"
    source = parse_document("long", raw)
    chunks = chunk_source(source, ChunkSettings(), embedder.count_tokens, WINDOW - 2)
    assert len(chunks) > 10
    assert max(_full_tokens(embedder, c.embed_text) for c in chunks) <= WINDOW


def test_heading_path_carried_and_overlap_between_windows(embedder):
    sentences = " ".join(f"Fact number {i} says attention scales quadratically." for i in range(80))
    raw = f"# Guide\n\n## Foundational Papers\n\n### 1. Attention Is All You Need\n\n{sentences}\n"
    chunks = chunk_source(parse_document("g", raw), ChunkSettings(chunk_tokens=120,
                          overlap_tokens=30), embedder.count_tokens, WINDOW - 2)
    assert len(chunks) >= 3
    for chunk in chunks:
        assert chunk.section == "Foundational Papers › 1. Attention Is All You Need"
        assert chunk.embed_text.startswith(chunk.section + "\n")
    first_tail = chunks[0].text.split(". ")[-1]
    assert first_tail.rstrip(".") in chunks[1].text  # overlap repeats the last sentence


def test_sections_never_merge_across_headings(embedder):
    raw = "# G\n\n## A\n\nAlpha text about adapters.\n\n## B\n\nBeta text about routing.\n"
    chunks = chunk_source(parse_document("g", raw), ChunkSettings(), embedder.count_tokens, 254)
    assert [(c.section, c.text) for c in chunks] == [
        ("A", "Alpha text about adapters."), ("B", "Beta text about routing.")]


def test_empty_and_punctuation_only_pieces_dropped(embedder):
    raw = "# G\n\n## A\n\n---\n\n...\n\n## B\n\n- - -\n\nReal sentence about experts here.\n"
    chunks = chunk_source(parse_document("g", raw), ChunkSettings(), embedder.count_tokens, 254)
    assert [c.text for c in chunks] == ["Real sentence about experts here."]


def test_chunk_arxiv_ids_follow_their_links(stub_home, embedder):
    sources, _ = load_corpus(stub_home.corpus_dir)
    chunks = chunk_sources(sources, stub_home.chunking, embedder.count_tokens, 254)
    linked = [c for c in chunks if "Transformer paper" in c.text]
    assert linked and linked[0].arxiv_ids == ("1706.03762", "2106.09685")
    card = next(c for c in chunks if c.doc_id == "arxiv:2305.18290")
    assert card.arxiv_ids == ("2305.18290",) and card.section == "Paper card"
    assert card.embed_text.startswith("Direct Preference Optimization")


@pytest.mark.parametrize("text,expected", [
    ("- First point about LoRA adapters.\n- Second point about QLoRA.",
     ["First point about LoRA adapters.", "Second point about QLoRA."]),
    ("Adapters help, e.g. LoRA reduces memory. Next sentence here.",
     ["Adapters help, e.g. LoRA reduces memory.", "Next sentence here."]),
    ("1. Numbered item text here\n\n...", ["Numbered item text here"]),
    # a comment in prose inside a code sample states a fact of the guide; code does not
    ("return generated\n# Used to create Alpaca dataset (52k examples from 175 seeds)",
     ["return generated", "Used to create Alpaca dataset (52k examples from 175 seeds)"]),
])
def test_split_sentences(text, expected):
    assert split_sentences(text) == expected


def test_answer_sentence_filter():
    assert is_answer_sentence("Key idea: replace recurrence with self-attention.")
    assert not is_answer_sentence("key contributions:")
    assert not is_answer_sentence("from peft import LoraConfig, get_peft_model")
    assert not is_answer_sentence("How does RLHF work? What are its limitations?")
    assert not is_answer_sentence('", "How does RAG help with hallucinations?"')
    assert not is_answer_sentence("model = AutoModel.from_pretrained(name)")
    assert is_answer_sentence(split_sentences("# Only train 0.1% (70M parameters)")[0])
    assert not is_answer_sentence("# Only train 0.1% (70M parameters)")


def test_sentence_vectors_are_normalised(embedder):
    vecs = embedder.encode(["one sentence", "another sentence entirely"])
    assert np.allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)
