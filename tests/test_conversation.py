"""Follow-up rewriting (pure) and follow-ups through the real pipeline."""

import pytest

from rag.search.conversation import content_terms, is_elliptical, rewrite_followup
from rag.search.glossary import expand_acronyms


@pytest.mark.parametrize("question", [
    "and what are its limitations?", "What about its memory cost?", "Why does it work?",
    "How do they compare?", "And the second version?", "Is that still true at scale?"])
def test_elliptical(question):
    assert is_elliptical(question)


@pytest.mark.parametrize("question", [
    "What is LoRA?", "Compare chain-of-thought and ReAct prompting",
    "How does FlashAttention reduce memory traffic?"])
def test_standalone(question):
    assert not is_elliptical(question)


def test_rewrite_carries_previous_key_terms():
    q = rewrite_followup("and what are its limitations?",
                         ["How does LoRA reduce fine-tuning cost?"])
    assert q.startswith("and what are its limitations?")
    assert "LoRA" in q and "fine-tuning" in q
    assert rewrite_followup("What is DPO?", ["What is LoRA?"]) == "What is DPO?"
    assert rewrite_followup("and why?", []) == "and why?"


def test_content_terms_skip_stopwords():
    assert content_terms("How does the LoRA method work in practice?") == [
        "LoRA", "method", "practice"]


def test_acronyms_expanded_once():
    assert expand_acronyms("Compare CoT and ToT") == (
        "Compare CoT and ToT (chain-of-thought prompting; tree of thoughts)")
    assert expand_acronyms("What is low-rank adaptation (LoRA)?") == (
        "What is low-rank adaptation (LoRA)?")
    assert expand_acronyms("cot bed") == "cot bed"
    # a long spelled-out name gets its acronym, the form the reading list mostly uses
    assert expand_acronyms("Explain reinforcement learning from human feedback") == (
        "Explain reinforcement learning from human feedback (RLHF)")
    assert expand_acronyms("what is chain-of-thought prompting") == (
        "what is chain-of-thought prompting")  # short phrase: "CoT" also names CoT-decoding


def test_the_acronyms_the_material_defines_are_learned():
    """"Multi-head Latent Attention (MLA)" in a passage teaches the glossary "MLA", so
    "What is MLA?" searches for the words the passage uses; every letter of the short
    form must be in its long form (Schwartz & Hearst), digits and a plural "s" aside."""
    from rag.search import glossary as g

    texts = ["DeepSeek-V2's headline contribution is Multi-head Latent Attention (MLA): keys",
             "the 4-bit NormalFloat (NF4) data type, and latent diffusion models (LDMs) are",
             "a lightweight Querying Transformer (Q-Former) whose query vectors",
             "Tree of Thoughts (ToT) and Zamba (Zyphra) and OpenAI (V) and GPT-4 (Fast)",
             "Foo Bar (FB) here, but Fine Blocks (FB) there"]
    assert g.defined_acronyms(texts) == {
        "MLA": "multi-head latent attention", "NF4": "normalfloat",
        "LDMs": "latent diffusion models", "Q-Former": "querying transformer"}
    assert g.long_form("ToT", "Tree of Thoughts".split()) == ""  # "Thoughts" alone: no
    served = g.learned()
    try:
        g.learn(texts)
        assert expand_acronyms("What is MLA?") == "What is MLA? (multi-head latent attention)"
        assert g.glossary()["ToT"] == "tree of thoughts"  # the listed entry wins
        g.learn(["Fine Blocks (FB) only"])  # another index: the last one's
        assert "MLA" not in g.glossary() and g.glossary()["FB"] == "fine blocks"
        # two assistants over different indexes, answering in two threads at once: each
        # thread reads the acronyms of the build it set
        import threading

        seen: dict[str, str | None] = {}
        ready = threading.Barrier(2)

        def answer(name: str, found: dict[str, str]) -> None:
            g.use_learned(found)
            ready.wait()
            seen[name] = g.glossary().get("ZZ")

        threads = [threading.Thread(target=answer, args=(n, {"ZZ": n}))
                   for n in ("zeta zone", "zig zag")]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert seen == {"zeta zone": "zeta zone", "zig zag": "zig zag"}
    finally:
        g.use_learned(served)


@pytest.mark.integration
def test_followup_retrieves_previous_topic(real_assistant):
    first = "When would you use LoRA over full fine-tuning?"
    ans = real_assistant.ask("and what are its limitations?", history=[first])
    assert "LoRA" in ans.search_query
    assert any("lora" in (c.title + c.section + c.text).lower() for c in ans.citations[:3])


@pytest.mark.parametrize(("question", "previous"), [
    ("Explain the attention mechanism", "What is Constitutional AI?"),
    ("What are the limitations of RLHF?", "What is the KV cache and why does it matter?"),
    ("What is chain-of-thought prompting?", "How does LoRA work?"),
])
def test_topic_switch_is_not_rewritten(question, previous):
    assert rewrite_followup(question, [previous]) == question


def test_short_followups_are_rewritten():
    assert "LoRA" in rewrite_followup("limitations?", ["What is LoRA?"])
    assert "BERT" in rewrite_followup("Is the second one actually useful?",
                                      ["Explain BERT's pre-training objectives."])
    named = rewrite_followup("What are the limitations of RLHF?", ["What is LoRA?"],
                             names_subject=lambda q: "RLHF" in q)
    assert named == "What are the limitations of RLHF?"


def test_an_ordinal_reference_names_the_listed_item():
    """"For the last of those, ..." after "Compare how Flamingo, BLIP-2 and LLaVA ..." is
    about LLaVA; "the former or the latter" after "DPO vs RLHF?" are DPO and RLHF; an
    ordinal of something else ("the first stage") is left alone."""
    from rag.search.conversation import listed_names, resolve_ordinal, rewrite_followup

    listed = "Compare how Flamingo, BLIP-2 and LLaVA connect a vision encoder to an LLM."
    assert listed_names(listed) == ["Flamingo", "BLIP-2", "LLaVA", "LLM"]
    assert resolve_ordinal("and the second one?", listed) == "and BLIP-2?"
    three = "Compare how Flamingo, BLIP-2 and LLaVA connect vision to language."
    assert rewrite_followup("For the last of those, where did the data come from?",
                            [three]) == "For LLaVA, where did the data come from?"
    assert resolve_ordinal("Which is cheaper, the former or the latter?", "DPO vs RLHF?") \
        == "Which is cheaper, DPO or RLHF?"
    assert resolve_ordinal("How does the first stage work?", three) \
        == "How does the first stage work?"
    assert resolve_ordinal("and the third one?", "DPO vs RLHF?") == "and the third one?"


def test_a_chained_followup_points_at_the_conversations_subject():
    """After "How does DPO work?" and "why is it more stable than PPO?", "it" is still DPO:
    what the last follow-up carried comes before its own words, so the next pronoun's
    antecedent (the first name carried) is DPO, not PPO; a standalone question's own words
    stay first."""
    chained = rewrite_followup("what data does it need?",
                               ["why is it more stable than PPO? (DPO direct preference "
                                "optimization)"])
    assert chained.index("DPO") < chained.index("PPO")
    standalone = rewrite_followup("and its drawbacks?", ["How does DPO compare to PPO? "
                                                         "(direct preference optimization)"])
    assert standalone.index("DPO") < standalone.index("direct")
    # a parenthesis written onto a word is the question's own, not something carried
    own = rewrite_followup("and when does it fail?", ["why does it divide by sqrt(d_k)"])
    assert own.index("divide") < own.index("d_k")


@pytest.mark.integration
def test_a_followup_comparison_compares_the_conversations_subject(real_assistant):
    """"how does it compare to QLoRA?" after two questions about LoRA compares LoRA with
    QLoRA (a table with both rows), not QLoRA alone."""
    history = real_assistant.standalone_history(["What is LoRA?",
                                                 "and what are its drawbacks?"])
    answer = real_assistant.ask("how does it compare to QLoRA?", history=history)
    assert "| **LoRA** |" in answer.text and "| **QLoRA** |" in answer.text, answer.text


def test_a_pronoun_after_the_questions_own_subject_is_no_follow_up():
    """"GAIA: what is it ...?" and "What is the KV cache and why does it matter?" name what
    "it" stands for; asked after a BLIP question they do not carry BLIP into the search.
    A pronoun before any name still does ("How does it compare to LoRA?")."""
    from rag.search.conversation import is_elliptical, rewrite_followup

    known = {"GAIA", "KV cache", "LoRA", "BLIP"}

    def names(text: str) -> bool:
        return any(k in text for k in known)
    history = ["What's the difference between BLIP and BLIP-2?"]
    for own in ("GAIA: what is it and how do humans compare with GPT-4?",
                "What is the KV cache and why does it matter?"):
        assert not is_elliptical(own, names)
        assert rewrite_followup(own, history, names) == own
    assert is_elliptical("How does it compare to LoRA?", names)
    assert "BLIP" in rewrite_followup("How does it compare to LoRA?", history, names)
    assert is_elliptical("and what are its limitations?", names)
    assert is_elliptical("GAIA: what is it?", lambda _: True, inner=False)  # old reading
