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


def test_names_with_a_decimal_version_are_found(real_assistant):
    names = real_assistant._current().names
    assert names.found("How does wav2vec 2.0 learn from unlabeled audio?") == ["wav2vec20"]


def test_statements_before_the_question_are_context(real_assistant):
    """The subject of "We already train with the original FlashAttention, yet ... . What
    did FlashAttention-2 change ...?" is FlashAttention-2; statements naming something the
    question does not ("The Beyond Chinchilla-Optimal paper argues ... . What cost does the
    Chinchilla analysis leave out?") or that its "each" points back to stay."""
    from rag.answer.subject import without_preamble

    backend = real_assistant._current().backends["extractive"]
    flash = ("We already train with the original FlashAttention, yet profiling shows the "
             "kernel at a third of A100 peak. What did FlashAttention-2 change about how "
             "work is divided on the GPU?")
    assert without_preamble(backend, flash).startswith("What did FlashAttention-2 change")
    beyond = ("The Beyond Chinchilla-Optimal paper argues for training smaller models for "
              "longer. What cost does the Chinchilla analysis leave out?")
    assert without_preamble(backend, beyond) == beyond
    each = ("wav2vec 2.0 and Whisper take opposite bets on supervision for speech. What "
            "training signal does each rely on?")
    assert without_preamble(backend, each) == each
    short = "DPO vs. RLHF: which is better?"  # "vs." ends no statement
    assert without_preamble(backend, short) == short
    answer = real_assistant.ask(flash + " And what speedup did it report?").text
    assert "2x speedup" in answer.split("\n")[0]


def test_a_compared_item_is_found_by_its_name():
    from rag.answer.intent import item_name
    from rag.answer.versions import loose, named_apart

    assert item_name("earlier Kaplan et al  scaling-law recommendation") == "Kaplan"
    assert item_name("Chinchilla compute-optimal recipe") == "Chinchilla"
    assert item_name("DeepMind's RETRO") == "RETRO"
    assert item_name("traditional retrieve-then-generate RAG pipeline") \
        == "traditional retrieve-then-generate RAG pipeline"  # the guide's "Traditional RAG"
    assert item_name("multi-head attention") == "multi-head attention"
    assert named_apart("Relative to MMLU, accuracy falls", "MMLU", ["MMLU-Pro", "MMLU"])
    assert not named_apart("In 2025 labs use MMLU Pro, GPQA", "MMLU", ["MMLU-Pro", "MMLU"])
    assert named_apart("DPO is simpler than RLHF", "DPO", ["DPO", "RLHF"])
    import re
    assert re.fullmatch(loose("FlashAttention"), "Flash Attention")


def test_a_comparison_answers_with_what_was_asked_of_it(real_assistant):
    """"Chinchilla compute-optimal recipe vs the earlier Kaplan et al. recommendation": each
    side by its name; "what did MMLU-Pro change ..., and what effect on scores?" (after a
    statement about MMLU): the contrast that states results."""
    chinchilla = real_assistant.ask("How does the Chinchilla compute-optimal recipe differ from "
                                    "the earlier Kaplan et al. scaling-law recommendation?").text
    assert "Beyond Chinchilla" not in chinchilla.split("\n")[0]
    assert "0.73 power" in chinchilla.split("\n")[0]
    mmlu = real_assistant.ask("Frontier models were all scoring in the high eighties on MMLU. "
                              "What did MMLU-Pro change compared with the original MMLU, and "
                              "what effect did that have on scores?").text
    assert mmlu.startswith("Relative to MMLU, model accuracy falls by 16% to 33%")
