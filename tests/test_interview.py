"""Mock interview: the question bank derived from the corpus, and grading.

Pure helpers are tested on small strings; the bank and the grader run on the
real corpus with the real embedding model (one Assistant per session)."""

from __future__ import annotations

import random

import pytest

from rag.errors import InvalidAnswer, RagError
from rag.records import BankEntry, Citation, Grade, KeyPoint
from rag.study import bank as study_bank
from rag.study import grade as grading

GUIDE_TEXT = ('On specific papers: "Explain the attention mechanism in transformers", '
              '"How does RLHF work? What are its limitations?"\n'
              'Open-ended: "What research directions excite you?"\n'
              'Example principle: "Choose the response that is least harmful or offensive."')
DISCUSSION = ("Discussion points: why specifically sin/cos for positions (extrapolation, "
              "relative positions), limitations (O(n^2) in memory), alternatives DPO, KTO.")

# Good answers paraphrase the reference passages; off-topic ones are fluent but unrelated.
GOOD = {
    "When would you use LoRA versus full fine-tuning?": (
        "LoRA keeps the pretrained weights frozen and learns only a small low-rank update, "
        "the product of two thin matrices, for some weight matrices. That needs far fewer "
        "trainable parameters and much less GPU memory, adapters can be swapped quickly, and "
        "quality is roughly the same as full fine-tuning. Full fine-tuning updates all "
        "weights, which is very expensive for huge models like GPT-3."),
    "What's the difference between DPO and RLHF?": (
        "RLHF is complex: it trains a separate reward model on human preference pairs and "
        "then optimizes the policy with PPO reinforcement learning. DPO skips the reward "
        "model and optimizes the policy directly on the preference data with a simple loss "
        "against a reference model, which is simpler and more stable."),
    "Flash Attention: trade-off recomputation versus memory?": (
        "Standard attention is slow because it writes and reads the full n by n score "
        "matrix to high bandwidth memory. Flash Attention tiles the computation in on-chip "
        "SRAM and recomputes attention in the backward pass instead of storing it, so memory "
        "becomes linear in sequence length and memory traffic drops."),
}
OFF_TOPIC = ("I would bake the bread at 220 degrees for forty minutes after letting the dough "
             "rise overnight. A lively sourdough starter gives the crust its flavour.")


@pytest.fixture(scope="module")
def bank(real_assistant) -> list[BankEntry]:
    return study_bank.bank_for(real_assistant)


def entry_for(bank, question: str) -> BankEntry:
    found = [e for e in bank if e.question == question]
    assert found, f"{question!r} is not in the bank"
    return found[0]


# --- pure helpers -------------------------------------------------------------------


def test_quoted_questions_keep_questions_and_prompts_only():
    qs = study_bank.quoted_questions(GUIDE_TEXT)
    assert qs == ["Explain the attention mechanism in transformers",
                  "How does RLHF work? What are its limitations?",
                  "What research directions excite you?"]


def test_discussion_items_split_outside_parentheses_with_hints():
    items = study_bank.discussion_items(DISCUSSION)
    assert items == [
        ("why specifically sin/cos for positions", "extrapolation, relative positions"),
        ("alternatives DPO", ""),  # one-word items ("limitations", "KTO") are dropped
    ]


def test_clean_heading():
    assert study_bank.clean_heading("Section 2: Benchmarks and Evals") == "Benchmarks and Evals"
    assert study_bank.clean_heading("6. LoRA: Low-Rank Adaptation (2021)") == (
        "LoRA: Low-Rank Adaptation")
    assert study_bank.clean_heading("16. Scaling Monosemanticity (Anthropic, 2024)") == (
        "Scaling Monosemanticity")
    assert study_bank.clean_heading("🎯 Overview") == "Overview"


def test_topic_rules():
    assert study_bank.assign_topic([("DPO vs RLHF", 1.0)]) == "alignment"
    assert study_bank.assign_topic([("Mixture of Experts — Switch Transformer", 1.0)]) == (
        "efficiency")  # the specific topic wins a tie with the broad "transformers"
    assert study_bank.assign_topic([("Compare CoT, ToT, and ReAct", 1.0)]) == "reasoning"
    assert study_bank.assign_topic([("Sourdough baking", 1.0)]) == study_bank.GENERAL
    assert not study_bank.names_topic("What research directions excite you?")


def test_pick_question_respects_topics_and_avoids_repeats():
    bank = [BankEntry(entry_id=f"e{i}", question=f"Q{i}", topic=t, origin="heading")
            for i, t in enumerate(["rag", "rag", "agents"])]
    rng = random.Random(0)
    first = study_bank.pick_question(bank, ["rag"], [], rng)
    second = study_bank.pick_question(bank, ["rag"], [first.entry_id], rng)
    assert {first.entry_id, second.entry_id} == {"e0", "e1"}
    again = study_bank.pick_question(bank, ["rag"], ["e0", "e1"], rng)  # all asked: repeat
    assert again.topic == "rag"
    assert study_bank.pick_question(bank, ["safety"], [], rng) is None
    assert study_bank.pick_question(bank, [], [], rng) is not None  # no topic = all


def test_score_is_covered_weight_over_total():
    def kp(w, covered):
        return KeyPoint(text="t", n=1, title="T", section="", weight=w, covered=covered)
    assert grading.score_out_of_10([kp(0.6, True), kp(0.4, False)]) == 6.0
    assert grading.score_out_of_10([kp(0.5, False)]) == 0.0
    assert grading.score_out_of_10([]) == 0.0


def test_empty_and_too_short_answers_are_refused_clearly():
    for bad in ["", "   \n", None]:
        with pytest.raises(InvalidAnswer, match="empty"):
            grading.check_answer(bad, 100)
    with pytest.raises(InvalidAnswer, match="too long"):
        grading.check_answer("x" * 101, 100)
    with pytest.raises(InvalidAnswer, match="too short"):
        grading.answer_units("LoRA")
    assert issubclass(InvalidAnswer, RagError)


def test_answer_units_split_sentences_and_clauses():
    units = grading.answer_units("First point is here. Second part one; second part two.")
    assert "First point is here." in units
    assert "second part two." in units


def test_history_rows_per_topic():
    entry = BankEntry(entry_id="e", question="Q", topic="rag", origin="heading")
    history = []
    for score in (4.0, 8.0):
        g = Grade(entry=entry, user_answer="a", score=score, key_points=(), evidence=(),
                  model_answer={"question": "Q", "text": "A"})
        history = grading.record_score(history, g)
    assert grading.history_rows(history) == [["rag", 2, 6.0, 8.0, 8.0]]


def test_reference_evidence_appends_entry_sources_numbered_after_citations(real_assistant):
    chunk = real_assistant.index.chunks[0]
    entry = BankEntry(entry_id="e", question="Q", topic="rag", origin="heading",
                      source_chunk_ids=(chunk.chunk_id, "missing#0"))
    first = Citation(n=1, doc_id="d", title="T", section="", url="", text="x", score=1.0,
                     chunk_id="other#1")
    evidence = grading.reference_evidence(
        [first], entry, {c.chunk_id: c for c in real_assistant.index.chunks})
    assert [(c.n, c.chunk_id) for c in evidence] == [(1, "other#1"), (2, chunk.chunk_id)]


# --- the bank, from the real corpus --------------------------------------------------


def test_bank_is_derived_from_the_corpus(bank, real_assistant):
    by_origin = {}
    for e in bank:
        by_origin.setdefault(e.origin, []).append(e)
    questions = {e.question for e in bank}
    # The guide's "Typical Interview Questions", minus open-ended ones with no topic.
    assert "What's the difference between DPO and RLHF?" in questions
    assert "When would you use LoRA versus full fine-tuning?" in questions
    assert "What research directions excite you?" not in questions
    # Discussion points, with the guide's own hint as a key point.
    sqrt = entry_for(bank, "Attention Is All You Need: why the square root of d_k?")
    assert sqrt.hint == "Why the square root of d_k: softmax stabilization."
    # Headings and every paper card.
    assert "Explain LoRA: Low-Rank Adaptation" in questions
    cards = {c.doc_id for c in real_assistant.index.chunks if c.doc_id.startswith("arxiv:")}
    assert len(by_origin["paper"]) == len(cards)
    assert len(questions) == len(bank)  # no duplicates


def test_bank_entries_have_topics_and_real_sources(bank, real_assistant):
    ids = {c.chunk_id for c in real_assistant.index.chunks}
    for e in bank:
        assert e.topic in study_bank.TOPIC_RULES or e.topic == study_bank.GENERAL
        assert e.source_chunk_ids and set(e.source_chunk_ids) <= ids, e.question
    topics = study_bank.topics_in(bank)
    assert {"alignment", "efficiency", "agents", "rag", "transformers",
            "multimodal", "reasoning", "evaluation"} <= set(topics)
    assert entry_for(bank, "What's the difference between DPO and RLHF?").topic == "alignment"
    assert entry_for(bank, "How does RAG help with hallucinations?").topic == "rag"


# --- grading on the real corpus ------------------------------------------------------


@pytest.mark.parametrize("question", list(GOOD))
def test_good_answer_scores_clearly_higher_than_off_topic(question, bank, real_assistant):
    entry = entry_for(bank, question)
    good = grading.grade_answer(real_assistant, entry, GOOD[question])
    off = grading.grade_answer(real_assistant, entry, OFF_TOPIC)
    assert good.score >= 4.0, [(p.text, p.similarity) for p in good.key_points]
    assert off.score <= 2.0
    assert good.score >= off.score + 3.0
    assert 3 <= len(good.key_points) <= real_assistant.settings.interview.key_points
    assert good.covered and off.missed


def test_grade_cites_missed_points_and_shows_the_model_answer(bank, real_assistant):
    entry = entry_for(bank, "When would you use LoRA versus full fine-tuning?")
    grade = grading.grade_answer(real_assistant, entry, "LoRA trains low-rank adapters.")
    numbers = {c.n for c in grade.evidence}
    assert grade.missed
    for point in grade.key_points:
        assert point.n in numbers and point.title
    assert "[1]" in grade.model_answer.text
    assert grade.model_answer.question == entry.question


def test_restating_the_question_scores_nothing(bank, real_assistant):
    entry = entry_for(bank, "What's the difference between DPO and RLHF?")
    assert grading.grade_answer(real_assistant, entry, entry.question).score == 0.0


def test_discussion_hint_is_a_key_point(bank, real_assistant):
    entry = entry_for(bank, "Attention Is All You Need: why the square root of d_k?")
    answer = ("Dividing by the square root of d_k keeps the dot products from growing with "
              "the dimension, which stabilizes the softmax so gradients do not vanish.")
    grade = grading.grade_answer(real_assistant, entry, answer)
    assert grade.key_points[0].text == entry.hint
    assert grade.key_points[0].covered


def test_empty_answer_is_a_clear_error_not_a_grade(bank, real_assistant):
    entry = bank[0]
    with pytest.raises(InvalidAnswer, match="empty"):
        grading.grade_answer(real_assistant, entry, "  ")
