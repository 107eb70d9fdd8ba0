"""Issue 12: question normalisation, intent, focus and coverage, answer layout, metrics."""

from __future__ import annotations

import pytest

from rag.answer import compose as layout
from rag.answer.coverage import Anchors, decide, explains, question_anchors
from rag.answer.intent import detect_intent
from rag.evaluation.metrics import answer_scores, lead_hit, noise_lead
from rag.search.query import correct_typos, normalize, not_a_question, stem_tokens, vocabulary


@pytest.mark.parametrize(("raw", "clean"), [
    ("Why is QKᵀ divided by √dₖ before the softmax?",
     "Why is QK^T divided by sqrt(d_k) before the softmax?"),
    ("Attention is O(n²) in memory", "Attention is O(n^2) in memory"),
    ("In DPO what does β control?", "In DPO what does beta control?"),
    ("loss ∝ N^(−0.076)", "loss proportional to N^(-0.076)"),
    ("whats the deal with flash attention", "what is flash attention"),
    ("can u explain what rag is", "explain what rag is"),
    ("why does chain of thought even work??", "why does chain of thought even work?"),
])
def test_normalize(raw, clean):
    assert normalize(raw) == clean


def test_not_a_question():
    assert "only symbols" in not_a_question("?!? ...")
    assert "only a link" in not_a_question("https://arxiv.org/abs/2106.09685")
    assert not_a_question("What is LoRA?") == ""
    assert not_a_question("√dₖ?") == ""


def test_correct_typos_uses_corpus_words_only():
    vocab = vocabulary(["self-attention in transformers", "retrieval augmented generation",
                        "generation generation", "the generator", "divided by"])
    assert correct_typos("How does self-atention work in trasnformers?", vocab) == \
        "How does self-attention work in transformers?"
    assert correct_typos("retreival augmented generaton", vocab) == \
        "retrieval augmented generation"  # the more frequent of two equally close words
    assert correct_typos("divide", vocab) == "divide"  # an inflection is no typo
    assert correct_typos("sourdough bread", vocab) == "sourdough bread"


def test_stem_tokens_match_bm25s():
    from rag.search.index import bm25_tokenize

    text = "Why do transformers divide the query-key dot products by sqrt(d_k)?"
    assert list(stem_tokens(text)) == bm25_tokenize([text], return_ids=False)[0]


@pytest.mark.parametrize(("question", "kinds", "items"), [
    ("Why do we divide by sqrt(d_k) in attention?", ("reason",), ()),
    ("What are the limitations of LoRA?", ("limitations",), ()),
    ("What is MoE and why do you need load balancing?", ("definition", "reason"), ()),
    ("How does RLHF work? What are its limitations?", ("mechanism", "limitations"), ()),
    ("When would you use LoRA over full fine-tuning?", ("usage",), ()),
    ("DPO vs RLHF?", ("comparison",), ("DPO", "RLHF")),
    ("Compare CoT, ToT and ReAct", ("comparison",), ("CoT", "ToT", "ReAct")),
    ("How does BERT differ from GPT?", ("comparison", "mechanism"), ("BERT", "GPT")),
    ("What results did chain-of-thought get on GSM8K?", ("results",), ()),
])
def test_intent(question, kinds, items):
    intent = detect_intent(question)
    assert intent.kinds == kinds and intent.items == items


def test_anchors_leave_out_question_words_and_flag_unknown_terms():
    idf = {"lora": 5.0, "limit": 2.0, "rank": 3.0}
    anchors = question_anchors(list(stem_tokens("What are the limitations of LoRA sourdough?")),
                               idf, 5.0)
    assert set(anchors.weights) == {"lora"} and anchors.missing == ("sourdough",)


def test_explains_needs_the_passage_to_be_about_the_term():
    sentence = ["encod", "use", "two", "dimension", "rotari", "posit", "embed"]
    assert not explains("rotari", sentence, frozenset({"pixtral"}), passage_count=1)
    assert explains("rotari", sentence, frozenset({"pixtral"}), passage_count=2)
    assert explains("rotari", ["rotari", "posit", "embed", "rotat"], frozenset(), 1)
    assert explains("lora", ["fine", "tune"], frozenset({"lora"}))


def test_decide_coverage():
    assert decide(True, [], False, True, False) == "full"
    assert decide(True, ["limitations"], False, True, False) == "partial"
    assert decide(False, [], False, True, False) == "mentioned"
    assert decide(False, [], False, False, False) == "none"
    assert decide(True, [], False, True, True) == "none"  # subject unknown to the material
    assert decide(True, [], True, True, False) == "mentioned"


def test_anchor_key_terms():
    anchors = Anchors({"a": 1.0, "b": 0.5, "c": 0.4, "d": 0.1, "e": 0.1})
    assert anchors.key_terms(0.6) == ["a", "b"]
    assert len(anchors.key_terms(1.0, most=3)) == 3


def test_layout_direct_answer_points_and_table():
    lead = [layout.Point("Softmax stabilization.", 1)]
    points = [layout.Point("Scaled dot-product attention divides by sqrt(d_k)", 2, "method"),
              layout.Point("O(n^2) memory", 1, "limitations")]
    text = layout.compose(lead, points)
    lines = text.splitlines()
    assert lines[0] == "Softmax stabilization [1]."
    assert lines[2] == "- **How it works:** Scaled dot-product attention divides by sqrt(d_k) [2]"
    assert lines[3] == "- **Limitation:** O(n^2) memory [1]"
    table = layout.table(["DPO", "RLHF"], ["What it is"],
                         {("DPO", "What it is"): layout.Point("One stage | simple", 2),
                          ("RLHF", "What it is"): None})
    assert table.splitlines()[2] == "| **DPO** | One stage \\| simple [2] |"
    assert "not covered" in table.splitlines()[3]


def test_lead_metrics():
    text = "Why the square root of d_k? Softmax stabilization [1].\n\n- other [2]"
    assert lead_hit(text, [r"softmax stabili"], [])
    assert not lead_hit(text, [r"O\(n\^2\)"], [])
    assert lead_hit(text, [], [{"doc_id": "x", "quote": "square root of d_k"}])
    assert noise_lead("Discussion points: why sin/cos [1]")
    assert noise_lead("See also SWE-Agent and the Konwinski Prize [2]")
    assert noise_lead("This slashes KV-cache memory [1]")
    assert noise_lead("Research Directions: - Larger expert counts [1]")
    assert not noise_lead("The paper “Attention Is All You Need” introduced the Transformer [1]")
    scores = answer_scores("The reading list mentions RoPE", True, "mentioned", "mentioned",
                           False, (), ())
    assert scores["coverage_correct"] == 1.0 and scores["named_only_ok"] == 1.0
    assert scores["false_abstention"] is None


@pytest.mark.integration
def test_grounded_answers_on_the_real_index(real_assistant):
    assistant = real_assistant
    why = assistant.ask("Why do we divide by sqrt(d_k) in attention?")
    assert not why.abstained and "softmax" in why.text.splitlines()[0].lower()
    rope = assistant.ask("How does RoPE encode position?")
    assert rope.abstained and rope.coverage in ("mentioned", "none")
    off = assistant.ask("How do I make sourdough bread?")
    assert off.abstained and off.coverage == "none"
    compare = assistant.ask("DPO vs RLHF?")
    assert "| **DPO** |" in compare.text and compare.coverage in ("full", "partial")
    assert compare.to_json()["coverage"] == compare.coverage
    unicode = assistant.ask("Why is QKᵀ divided by √dₖ before the softmax?")
    assert "softmax" in unicode.text.splitlines()[0].lower()
