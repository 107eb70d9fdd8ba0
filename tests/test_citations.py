"""Citation enforcement (rag/answer/citations.py): pure functions on crafted model output."""

from __future__ import annotations

import re

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from rag.answer.citations import (
    CitationRewriter,
    answer_sentences,
    check_answer,
    fallback_reason,
    is_abstention,
    marker_numbers,
    unsupported_sentences,
)
from rag.answer.extractive import citation_order, markers_in
from rag.answer.prompts import NO_ANSWER


def test_invalid_markers_are_removed_and_counted():
    raw = "Scaling keeps the softmax in range [2]. It was first shown in 2017 [9]. Also [0]."
    checked = check_answer(raw, n_passages=4)
    assert checked.invalid_removed == 2
    assert "[9]" not in checked.text and "[0]" not in checked.text
    assert "2017." in checked.text  # the space before the removed marker goes too
    assert markers_in(checked.text) == [1]
    assert checked.cited == (2,)


def test_markers_are_renumbered_by_first_use_like_citation_order():
    raw = "First point [3]. Second point [1]. Third point cites both [3, 1]."
    checked = check_answer(raw, n_passages=4)
    assert checked.text == "First point [1]. Second point [2]. Third point cites both [1][2]."
    ranks = [n - 1 for n in checked.cited]
    order = citation_order(ranks, 4)
    # new number k refers to the passage at order[k - 1]: passage 3 (rank 2), then 1 (rank 0)
    assert order[:2] == [2, 0]
    assert order == [2, 0, 1, 3]


@pytest.mark.parametrize(("body", "numbers"), [
    ("1", [1]), ("1, 3", [1, 3]), ("2-4", [2, 3, 4]), ("1 and 2", [1, 2]),
    ("1; 2", [1, 2]), ("Passage 2", [2]), ("1–2", [1, 2]),
])
def test_marker_numbers(body, numbers):
    assert marker_numbers(body) == numbers


def test_marker_variants_are_normalised():
    checked = check_answer("A claim [Passage 2]. Another [1-2]. Third [2, 7].", 3)
    assert checked.text == "A claim [1]. Another [2][1]. Third [1]."
    assert checked.invalid_removed == 1


def test_sentences_without_a_valid_marker_are_flagged():
    raw = ("Dividing by sqrt(d_k) keeps dot products small [1]. "
           "This is well known to every interviewer. "
           "It matters most for large d_k [5].")
    checked = check_answer(raw, 2)
    assert checked.unsupported == ("This is well known to every interviewer.",
                                   "It matters most for large d_k.")


def test_marker_after_the_full_stop_belongs_to_its_sentence():
    assert answer_sentences("LoRA adds low-rank adapters. [1] It freezes the base weights. [2]") \
        == ["LoRA adds low-rank adapters. [1]", "It freezes the base weights. [2]"]
    assert unsupported_sentences("LoRA adds low-rank adapters. [1] Short one.") == ()


def test_no_valid_citation_means_fallback_unless_abstaining():
    plain = check_answer("Attention is all you need, as everyone knows.", 3)
    assert not plain.trusted and not plain.abstained
    assert fallback_reason(plain, "openai") == "openai answer cited none of the listed passages"
    only_invalid = check_answer("Transformers use attention [8].", 3)
    assert only_invalid.cited == () and only_invalid.invalid_removed == 1
    assert "1 invalid marker(s) removed" in fallback_reason(only_invalid, "openai")
    empty = check_answer("   \n", 3)
    assert fallback_reason(empty, "llamacpp") == "llamacpp backend returned an empty answer"


def test_abstention_rule():
    refusal = check_answer(NO_ANSWER, 3)
    assert refusal.abstained and refusal.trusted and fallback_reason(refusal, "openai") is None
    assert refusal.unsupported == ()
    # saying "not covered" while citing a passage is an answer with a caveat, not an abstention
    partial = check_answer("The passages do not mention GPUs, but LoRA is cheap [1].", 3)
    assert not partial.abstained and partial.cited == (1,)


@pytest.mark.parametrize("text", [
    NO_ANSWER, "I cannot answer this from the passages.", "There is no information about it.",
    "The passages don't cover this topic.", "Not enough information to answer.",
])
def test_is_abstention_positive(text):
    assert is_abstention(text)


@pytest.mark.parametrize("text", [
    "Dropout randomly zeroes activations [1].", "The answer is information retrieval.",
    "Beam search can find better sequences than greedy decoding.",
])
def test_is_abstention_negative(text):
    assert not is_abstention(text)


def test_streaming_holds_back_only_an_unfinished_marker():
    rw = CitationRewriter(3)
    assert rw.feed("Attention weighs tokens") == "Attention weighs tokens"
    assert rw.feed(" [") == ""            # could become a marker: held
    assert rw.feed("9") == ""
    assert rw.feed("]. Next [2") == ". Next"  # invalid marker and its space dropped
    assert rw.feed("] sentence.") == " [1] sentence."
    checked = rw.finish()
    assert checked.text == "Attention weighs tokens. Next [1] sentence."
    assert checked.invalid_removed == 1


_PIECES = st.lists(st.sampled_from([
    "Attention", " scales", " scores", " [", "1", "]", "[2", ", 9]", ".", " ", "\n", "- ",
    "[Passage 3]", "[12]", " [0]", "LoRA", " is cheap", "[x]", "[", "3-4", "]", "e.g. ",
]), max_size=40)


@settings(max_examples=300, deadline=None)
@given(_PIECES, st.integers(min_value=1, max_value=5))
@example(["[", "1", "[Passage 3]", "]"], 1)  # removing the inner marker must not close "[1]"
@example([" [", " [", "7", "]", "Attention"], 1)  # the same, across streamed pieces
def test_streaming_equals_batch(pieces, n):
    rw = CitationRewriter(n)
    streamed = "".join(rw.feed(p) for p in pieces) + rw.flush()
    batch = check_answer("".join(pieces), n)
    assert streamed.strip() == batch.text
    assert rw.finish() == batch
    assert all(1 <= m <= len(batch.cited) for m in markers_in(batch.text))
    assert not re.search(r"\[(?:0|[6-9]|1\d)\]", batch.text)
