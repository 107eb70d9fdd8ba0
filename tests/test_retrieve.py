"""Reciprocal rank fusion, near-duplicate collapse and retrieval modes."""

import numpy as np
import pytest

from rag.search.retrieve import collapse_near_duplicates, rrf


def test_rrf_matches_hand_computation():
    scores = rrf([[1, 2, 3], [3, 1]], [1.0, 1.0], k0=60)
    assert scores[1] == pytest.approx(1 / 61 + 1 / 62)
    assert scores[2] == pytest.approx(1 / 62)
    assert scores[3] == pytest.approx(1 / 63 + 1 / 61)
    assert sorted(scores, key=lambda d: -scores[d]) == [1, 3, 2]


def test_rrf_weights_and_empty_rankings():
    assert rrf([[], []], [1, 1], 60) == {}
    scores = rrf([[1], [2]], [2.0, 1.0], k0=10)
    assert scores[1] == pytest.approx(2 / 11) and scores[2] == pytest.approx(1 / 11)
    assert rrf([[1, 2], [2, 1]], [1.0, 0.0], 60)[1] > rrf([[1, 2], [2, 1]], [1.0, 0.0], 60)[2]


def test_collapse_near_duplicates_keeps_first_of_group():
    vecs = np.array([[1, 0, 0], [0.999, 0.0447, 0], [0, 1, 0], [0, 0.6, 0.8]], dtype=np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    assert collapse_near_duplicates([0, 1, 2, 3], vecs, 0.95) == [0, 2, 3]
    assert collapse_near_duplicates([1, 0, 2], vecs, 0.95) == [1, 2]
    assert collapse_near_duplicates([0, 1], vecs, 1.01) == [0, 1]


def test_search_modes_and_k(stub_assistant):
    a = stub_assistant
    q = "How does direct preference optimization remove the reward model?"
    vec = a.embedder.encode_query(q)
    for mode in ("hybrid", "dense", "bm25"):
        hits = a.retriever.search(q, vec, k=3, mode=mode)
        assert 1 <= len(hits) <= 3
        assert any("reward model" in h.chunk.text for h in hits)
        assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    dense_only = a.retriever.search(q, vec, k=3, mode="dense")
    assert all(h.bm25_rank is None for h in dense_only)
    assert len(a.retriever.search(q, vec, k=50)) <= len(a.index.chunks)


def test_lexical_query_without_known_terms(stub_assistant):
    assert stub_assistant.retriever.lexical("the of and", 5) == []
    assert stub_assistant.retriever.lexical("zzzqqq unknownword", 5) == []


def _chunk(i: int, doc: str, section: str, text: str):
    from rag.records import Chunk

    return Chunk(chunk_id=f"{doc}#{i}", doc_id=doc, title=doc, section=section, text=text,
                 embed_text=text, position=i, arxiv_ids=(doc,) if doc.startswith("arxiv") else ())


def test_passages_join_a_card_or_short_section_not_a_long_one():
    from rag.search.passages import Passages, join_texts, passage_groups

    chunks = [_chunk(0, "arxiv:1", "Paper card", "The first half of the card ends here."),
              _chunk(1, "arxiv:1", "Paper card", "of the card ends here. The second half."),
              _chunk(2, "doc", "A", "x" * 900), _chunk(3, "doc", "A", "y" * 900),
              _chunk(4, "doc", "B", "short")]
    assert passage_groups(chunks, 100) == [(0, 1), (2,), (3,), (4,)]
    assert passage_groups(chunks, 2000) == [(0, 1), (2, 3), (4,)]
    assert join_texts(["The first half of the card ends here.", "card ends here. The second."],
                      min_overlap=5) == "The first half of the card ends here. The second."
    assert join_texts(["One.", "Two."]) == "One. Two."
    p = Passages(chunks, 100)
    merged = p.chunk(p.of[1])
    assert merged.chunk_id == "arxiv:1#0" and "second half" in merged.text
    assert merged.text.count("ends here") == 1
    assert p.part_ids(p.of[0]) == ("arxiv:1#0", "arxiv:1#1")
    assert p.passage_id("arxiv:1#1") == "arxiv:1#0" and p.passage_id("doc#3") == "doc#3"
    assert Passages(chunks, 0).groups == [(i,) for i in range(5)]


def test_search_returns_whole_cards_once(stub_assistant):
    a = stub_assistant
    q = "How does direct preference optimization remove the reward model?"
    hits = a.retriever.search(q, a.embedder.encode_query(q), k=5)
    ids = [cid for h in hits for cid in h.chunk_ids]
    assert len(ids) == len(set(ids))  # no chunk is returned twice
    for h in hits:
        assert h.chunk_ids[0] == h.chunk.chunk_id
        assert all(a.retriever.passage_id(cid) == h.chunk.chunk_id for cid in h.chunk_ids)


def test_question_names_tolerate_plurals_and_camel_case():
    from rag.search.names import name_key
    from rag.search.query import camel_pieces

    assert name_key("Switch Transformers") == name_key("Switch Transformer")
    assert name_key("LoRAs") == name_key("LoRA") and name_key("Loss") == "loss"
    assert camel_pieces("What is FlashAttention vs PagedAttention or LoRA?") == \
        "Flash Attention Paged Attention"


def test_a_rare_term_pins_the_few_passages_that_use_it():
    """"How does RoPE encode position?": the syllabus lines that name RoPE join the
    candidates; a rare spelling of a common word ("optimisation") pins nothing."""
    from types import SimpleNamespace

    from rag.search.names import QuestionNames, named_stems

    chunks = [SimpleNamespace(doc_id="d", title="Guide", section=f"S{i}", chunk_id=f"d#{i}",
                              text=text) for i, text in enumerate([
                                  "Positional encodings: Rotary Position Embedding (RoPE)",
                                  "Optimization of large models is hard.",
                                  "Optimization with Adam.", "Optimization with SGD.",
                                  "Optimization with Muon.", "Optimization with Lion.",
                                  "Prefix tuning is optimised through an MLP."])]
    index = SimpleNamespace(chunks=chunks, sentence_info=[])
    names = QuestionNames(index)
    assert names.pinned("How does RoPE encode position?") == [0]
    assert 6 not in names.pinned("whats direct preference optimisation")
    assert named_stems("Explain classifier-free guidance and the ELBO") == [
        "classifi", "free", "elbo"]


def test_a_name_the_material_only_partly_uses_pins_nothing():
    """"Black-Scholes": the material says "black-box" somewhere but never "Scholes"."""
    from types import SimpleNamespace

    from rag.search.names import QuestionNames

    chunks = [SimpleNamespace(doc_id="d", title="Guide", section="S", chunk_id="d#0",
                              text="Voyager calls GPT-4 through black-box API queries.")]
    names = QuestionNames(SimpleNamespace(chunks=chunks, sentence_info=[]))
    assert names.pinned("What is the Black-Scholes formula?") == []
    assert names.knows(("black",)) and not names.knows(("black", "schole"))


def test_names_the_material_never_writes_are_unknown():
    from types import SimpleNamespace

    from rag.search.names import QuestionNames

    chunks = [SimpleNamespace(doc_id="d", title="Guide", section="S", chunk_id="d#0",
                              text="Tree of Thoughts searches over partial solutions; "
                                   "RNN-based models and CNNs; JavaScript libraries; Llama 3.")]
    names = QuestionNames(SimpleNamespace(chunks=chunks, sentence_info=[]))
    assert names.unknown_names("How does a B-tree work?") == [("tree",)]
    assert names.unknown_names("How does PyTorch autograd work?") == [("pytorch",)]
    assert names.unknown_names("Compare tree-of-thoughts and RNN-based models") == []
    assert names.unknown_names("What is JavaScript? And LLaMA3? And thumbs-up data?") == []
    # a capitalised word the material never uses names what follows it
    assert names.unknown_names("What does the Krebs cycle produce?") == [("kreb", "cycl")]
    assert names.unknown_names("Explain it. Then show Tree of Thoughts.") == []
    # letters around a digit ("word2vec") name a thing too; "Llama3" is written "Llama 3"
    assert names.unknown_names("How does word2vec learn embeddings?") == [("word2vec",)]
    assert names.unknown_words("how do you pick k in k-means clustering") == [
        ("k-means", ("mean",))]
    # one slip from a word the material writes is a typo, not an unknown name
    assert names.unknown_names("How does JavaSript work?") == []


def test_the_named_papers_passages_are_always_among_the_hits():
    """"What is GPT-3?": the GPT-3 card and guide section join the hits even when fusion
    ranks other reports above them; they replace the last hits, never the first."""
    from rag.search.passages import Passages
    from rag.search.retrieve import _with_named

    chunks = [_chunk(i, f"doc{i}", "A", f"text {i}") for i in range(8)]
    p = Passages(chunks, 0)
    kept = [(p.of[i], i) for i in range(5)]
    assert _with_named(list(kept), [6, 7], p, 5) == [*kept[:3], (p.of[7], 7), (p.of[6], 6)]
    assert _with_named(list(kept), [1], p, 5) == kept  # already there: unchanged
    assert _with_named(list(kept), [5, 6, 7], p, 5)[:3] == kept[:3]  # two at most


@pytest.mark.integration
def test_what_is_gpt3_is_answered_from_gpt3(real_assistant):
    answer = real_assistant.ask("What is GPT-3?")
    assert any(c.url and "2005.14165" in c.url for c in answer.citations) or any(
        "GPT-3" in (c.section or "") for c in answer.citations)
