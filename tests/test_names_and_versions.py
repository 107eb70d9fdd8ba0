"""Names a question writes in another form than the material (a long form, a lower-case
plural, a version with a decimal) and the sentences that are about them."""

from __future__ import annotations

from rag.answer.coverage import INTENT_STEMS
from rag.answer.intent import comparison_items
from rag.answer.versions import writes_version
from rag.search.names import introduced_artifacts


def test_a_card_introducing_a_name_with_its_acronym_knows_both():
    text = ("This Google Research paper introduces the Vision Transformer (ViT) and shows "
            "that a nearly unmodified Transformer encoder ...")
    assert introduced_artifacts(text) == ["Vision Transformer", "ViT"]
    assert introduced_artifacts("The paper introduces PagedAttention, an attention "
                                "algorithm") == ["PagedAttention"]
    assert introduced_artifacts("HumanEval, a new benchmark of 164 problems") == ["HumanEval"]


def test_prepositions_are_no_key_terms():
    """"How is GPT-3 different from GPT-2?": "from" is no subject (bm25s keeps it)."""
    assert {"from", "between"} <= INTENT_STEMS


def test_a_decimal_version_stays_one_item():
    assert comparison_items("How did GPT-4 perform on the bar exam compared with GPT-3.5?") \
        == ("GPT-4", "GPT-3.5")
    assert comparison_items("Llama 3.1 vs Llama 2!") == ("Llama 3.1", "Llama 2")
    assert comparison_items("LoRA vs. QLoRA") == ("LoRA", "QLoRA")


def test_writes_version():
    assert writes_version("1.3B InstructGPT beats the 175B GPT-3", "GPT-3")
    assert not writes_version("forecast GPT-4's final loss", "GPT-3")
    assert not writes_version("the bottom 10% for GPT-3.5", "GPT-3")
    assert writes_version("the bottom 10% for GPT-3.5", "GPT-3.5")
    assert writes_version("anything", "LoRA")  # no version asked


def test_a_lower_case_name_finds_the_card_that_introduced_it(real_assistant):
    names = real_assistant._current().names
    assert names.found("How do vision transformers process images?") == ["visiontransformer"]
    answer = real_assistant.ask("How do vision transformers process images?").text
    assert answer.startswith("An image is cut into fixed-size patches")


def test_a_spelled_out_name_is_explained_by_its_acronyms_passage(real_assistant):
    """"reinforcement learning from human feedback": the InstructGPT / RLHF section
    explains it (retrieval appended "RLHF"), not Constitutional AI's RL from AI feedback,
    which shares more of the long form's words."""
    for question in ("Explain reinforcement learning from human feedback",
                     "What is reinforcement learning from human feedback?"):
        answer = real_assistant.ask(question).text
        assert answer.startswith("Align the model with human preferences"), question


def test_a_compared_version_gets_only_its_own_sentences(real_assistant):
    """"GPT-3 vs GPT-2": GPT-4's card is about neither, so it is no contrast and no cell;
    GPT-2, which the material does not explain, is reported missing."""
    gpt = real_assistant.ask("How is GPT-3 different from GPT-2?")
    first = gpt.text.split("\n")[0]
    assert "GPT-4" not in first and "GPT-3" in first
    assert gpt.coverage == "partial" and "does not explain GPT-2" in gpt.text
    bar = real_assistant.ask("How did GPT-4 perform on the Uniform Bar Exam compared with "
                             "GPT-3.5?").text
    assert bar.startswith("On many exams designed for humans")


def test_a_paper_applying_a_method_is_not_its_home(real_assistant):
    """"mixture of experts" is explained by the guide's MoE section; DeepSeekMoE's card
    names it only in its subtitle ("... in Mixture-of-Experts Language Models")."""
    answer = real_assistant.ask("What's the intuition behind mixture of experts?").text
    assert answer.startswith("Sparse activation")
