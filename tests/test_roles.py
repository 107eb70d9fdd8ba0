"""Sentence roles and facets (rag.corpus.roles) on real lines of the corpus."""

from __future__ import annotations

import pytest

from rag.corpus.roles import (
    as_question,
    card_subject,
    classify,
    classify_chunk,
    discussion_items,
    embed_form,
    facet_of,
    restore_subject,
    section_subject,
    split_label,
    title_subject,
)


def one(text: str, **kw):
    infos = classify(text, **kw)
    assert len(infos) == 1
    return infos[0]


@pytest.mark.parametrize(("text", "facet", "prose"), [
    ("Problem: RNN/LSTM have a sequential bottleneck, do not parallelize.", "problem",
     "RNN/LSTM have a sequential bottleneck, do not parallelize."),
    ("Key idea: replace recurrence with self-attention. ", "key_idea",
     "Replace recurrence with self-attention."),
    ("Approach: mask fifteen percent of tokens, predict the original token, additionally "
     "Next Sentence Prediction (NSP).", "method",
     "Mask fifteen percent of tokens, predict the original token, additionally Next Sentence "
     "Prediction (NSP)."),
    ("Architecture: each input token is processed by a router that directs it to the most "
     "relevant K experts from the total pool.", "method",
     "Each input token is processed by a router that directs it to the most relevant K "
     "experts from the total pool."),
    ("Results: BLEU 28.4 on WMT En-De (SOTA at the time), three and a half days of training "
     "on eight GPUs.", "results",
     "BLEU 28.4 on WMT En-De (SOTA at the time), three and a half days of training on eight "
     "GPUs."),
    ("Advantages: one stage instead of three, more stable than PPO, simpler to implement.",
     "advantages", "One stage instead of three, more stable than PPO, simpler to implement."),
    ("Problem: how to use unlabeled text for pre-training?", "problem",
     "How to use unlabeled text for pre-training?"),
])
def test_guide_fields_become_facets_without_their_label(text, facet, prose):
    info = one(text, subject="LoRA")
    assert (info.role, info.facet, info.prose) == ("fact", facet, prose)
    assert info.label and info.text == text.strip()


def test_discussion_points_become_questions_with_their_hints():
    line = ("Discussion points: why specifically sin/cos for positions (extrapolation, relative "
            "positions), why the square root of d_k (softmax stabilization), limitations "
            "(O(n^2) in memory).")
    infos = classify(line, subject="Attention Is All You Need")
    assert [i.role for i in infos] == ["question"] * 3
    assert {i.facet for i in infos} == {"discussion"}
    assert infos[1].hint == "softmax stabilization"
    assert infos[1].prose == "Why the square root of d_k?"
    assert infos[2].hint == "O(n^2) in memory"
    assert all(i.text in line for i in infos)  # each item can be found in the passage


def test_discussion_items_keep_commas_inside_parentheses():
    assert discussion_items("what rank to choose (4-64 is usually sufficient), which layers "
                            "to adapt (Q, V are more important than K)") == [
        ("what rank to choose (4-64 is usually sufficient)", "4-64 is usually sufficient"),
        ("which layers to adapt (Q, V are more important than K)",
         "Q, V are more important than K")]
    assert as_question("why bidirectional matters (GPT was unidirectional)") == \
        "Why bidirectional matters?"


@pytest.mark.parametrize(("text", "reason"), [
    ("See also Nvidia FACTS framework and Extrinsic Hallucinations in LLMs - Lilian Weng's "
     "survey of causes/evals for hallucinations (see also Jason Wei on recall vs precision).",
     "see_also"),
    ("See also SWE-Agent, SWE-Bench Multimodal and the Konwinski Prize.", "see_also"),
    ("See Ideogram, Recraft, Reve Image, Pika, Playground, Genmo and Chinese models like "
     "Wan 2.1 and Kling.", "see_also"),
    ("Of historical interest - Toolformer and HuggingGPT.", "see_also"),
    ("Research Directions: - Larger expert counts (100+) - Dynamic expert routing - Expert "
     "specialization - Load balancing", "heading_list"),
    ("Use Cases: - Long-context modeling (DNA sequences, books) - Efficient inference - "
     "Real-time applications", "heading_list"),
    ("paper: QLoRA: Efficient Finetuning of Quantized LLMs", "title"),
    ("title: PaLM 2 Technical Report", "title"),
    ("Llama 2: Open Foundation and Fine-Tuned Chat Models (Meta, 2023)", "title"),
    ("Switch Transformer: Scaling to Trillion Parameter Models (Fedus et al. 2021)", "title"),
    ("GPT1, GPT2, GPT3, Codex, InstructGPT, GPT4 papers.", "link_list"),
    ("DeepSeek V1, Coder, Math (esp GRPO), MoE, V2, V3, R1 papers.", "link_list"),
    ("| Anthropic | AI safety, constitutional AI | Claude 4 Opus |", "table"),
    ("The limitations include {analysis['limitations']}, which suggests future work in "
     "{analysis['future_directions']}", "code"),
    ('f"Generate an input for this task: {instruction}"', "code"),
    ("spk, mem = lif(input[step], mem)", "code"),
    ("You should also know Claude 3.5 Sonnet and Gemini 2.0 Flash/Flash Thinking.", "pointer"),
    ("Module: Course Contents → Interview Preparation", "title"),
    ("RAG is the bread and butter of AI Engineering at work in 2024, so there are a LOT of "
     "industry resources and practical experience you will be expected to have.", "editorial"),
    ("We also consider prompt injections required knowledge — Lilian Weng, Simon W.",
     "editorial"),
    ("It is organized around three research questions.", "outline"),
    ("Model, data and code are open.", "release"),
    ("Code, data, checkpoints and training scripts are released.", "release"),
    ("Foundation for alignment — see section four above", "pointer"),
])
def test_meta_text_is_context(text, reason):
    info = one(text)
    assert info.role == "context" and info.context == reason


@pytest.mark.parametrize("text", [
    "architecture: Transformer with RMSNorm, SwiGLU activation",
    "Maverick competitive with GPT-4o and Gemini 2.0 Flash.",
    "ReAct, from Princeton and Google, prompts a language model to interleave free-form "
    "reasoning traces (thoughts) with actions in an environment and the observations those "
    "actions return.",
    "Developers write Python programs built from modules such as Predict, ChainOfThought or "
    "ReAct, whose behaviour is specified by declarative signatures like 'question -> answer' "
    "rather than by literal prompt strings.",
    "Entropy: H(X) = -Σ P(x) log P(x)",
    "GraphRAG paper - Microsoft's take on adding knowledge graphs to RAG, now open sourced.",
    "YOLO (You Only Look Once) recasts object detection as a single regression problem.",
    "APE found a better trigger: 'Let's work this out to be sure we have the right answer'.",
])
def test_statements_stay_facts(text):
    assert one(text).role == "fact"


def test_reading_list_line_names_its_subject():
    info = one("GraphRAG paper - Microsoft's take on adding knowledge graphs to RAG, now open "
               "sourced.", subject="Section 4")
    assert info.subject == "GraphRAG"


@pytest.mark.parametrize(("text", "subject", "title", "prose"), [
    ("It quickly became the default attention kernel in LLM training frameworks.",
     "FlashAttention-2", "FlashAttention-2: Faster Attention with Better Parallelism",
     "FlashAttention-2 quickly became the default attention kernel in LLM training "
     "frameworks."),
    ("Its headline contribution is Multi-head Latent Attention (MLA).", "DeepSeek-V2", "x",
     "DeepSeek-V2's headline contribution is Multi-head Latent Attention (MLA)."),
    ("This OpenAI paper introduced GPT-3, a 175-billion-parameter autoregressive Transformer.",
     "GPT-3", "Language Models are Few-Shot Learners",
     "The OpenAI paper “Language Models are Few-Shot Learners” introduced GPT-3, a "
     "175-billion-parameter autoregressive Transformer."),
    ("They also observe that RAG and LC give identical predictions for most queries.", "",
     "Retrieval Augmented Generation or Long-Context LLMs?",
     "The authors also observe that RAG and LC give identical predictions for most queries."),
    ("Its central idea is a clipped surrogate objective.", "",
     "Proximal Policy Optimization Algorithms",
     "The paper's central idea is a clipped surrogate objective."),
    ("Built on it, the vLLM serving engine raises throughput.", "PagedAttention", "",
     "Built on PagedAttention, the vLLM serving engine raises throughput."),
    # "This is the ... paper": the paper is named, no "The is the ..." (a bug)
    ("This is the Stable Diffusion 3 paper from Stability AI.", "SD3",
     "Scaling Rectified Flow Transformers",
     "“Scaling Rectified Flow Transformers” is the Stable Diffusion 3 paper from Stability AI."),
    ("This survey-style paper defines an emergent ability.", "", "Emergent Abilities",
     "The survey-style paper “Emergent Abilities” defines an emergent ability."),
])
def test_card_pronouns_get_their_subject_back(text, subject, title, prose):
    assert restore_subject(text, subject, title, is_card=True) == (prose, False)


def test_what_makes_this_work_is_the_cards_subject():
    info = one("Three techniques make this work: the 4-bit NormalFloat (NF4) data type; "
               "double quantization.", subject="QLoRA", is_card=True)
    assert info.prose.startswith("Three techniques make QLoRA work: the 4-bit")
    assert not info.needs_antecedent
    guide = one("Three techniques make this work: NF4; double quantization.", subject="QLoRA")
    assert guide.needs_antecedent  # outside a card "this" is whatever came before


@pytest.mark.parametrize(("text", "is_card"), [
    ("This slashes KV-cache memory while matching or beating standard multi-head attention "
     "quality.", True),
    ("They can be trained by consistency distillation from a pretrained diffusion model.", True),
    ("This allows the model to think out loud and decompose complex tasks.", False),
    ("Built on it, the vLLM serving engine raises throughput by 2 to 4 times.", False),
    # summing up the list before it: no subject to put back, even on a card
    ("Together they allow a 65B-parameter model to be fine-tuned on one 48GB GPU.", True),
    ("Combined, these cut memory by 4x.", False),
])
def test_unresolved_pronouns_need_their_antecedent(text, is_card):
    info = one(text, subject="Consistency Models", title="Consistency Models",
               is_card=is_card)
    assert info.role == "fact" and info.needs_antecedent and info.prose == text


def test_title_lines_set_the_subject_of_what_follows():
    infos = classify_chunk(["title: Llama 2: Open Foundation and Fine-Tuned Chat Models",
                            "Open-source alternative to proprietary models",
                            "architecture: Transformer with RMSNorm, SwiGLU activation"],
                           subject="GPT-4 and Beyond")
    assert [i.subject for i in infos] == ["GPT-4 and Beyond", "Llama 2", "Llama 2"]
    assert infos[2].facet == "method" and infos[2].prose == \
        "Transformer with RMSNorm, SwiGLU activation"


def test_a_dated_name_line_names_the_subject_of_what_follows():
    infos = classify_chunk(["Sleeper Agents (2024): whether a model can be trained to behave "
                            "well but activate upon a trigger.", "Key finding: safety training "
                            "does not remove backdoor behavior."], "Anthropic's Papers")
    assert [i.subject for i in infos] == ["Sleeper Agents", "Sleeper Agents"]


def test_a_card_without_a_short_name_is_called_by_what_it_introduced():
    from rag.corpus.linking import introduced_name

    text = "This paper introduced the Transformer, a sequence-to-sequence architecture."
    assert introduced_name(text) == ["Transformer"]
    assert introduced_name("The authors introduced the Transformer.") == []  # not the opening
    assert card_subject("Attention Is All You Need", introduced_name(text)) == "Transformer"


def test_a_card_is_called_by_the_coined_name_its_opening_defines():
    """The BIG-bench card (title "Beyond the Imitation Game: ...") opens "BIG-bench is a
    large collaborative benchmark ...": its restored sentences say "BIG-bench gathers 204
    tasks", not "Beyond the Imitation Game gathers ..."; a plain word is no coined name."""
    from rag.corpus.linking import defined_name

    opening = "BIG-bench is a large collaborative benchmark built to measure models."
    assert defined_name(opening) == ["BIG-bench"]
    assert defined_name("StarCoder2 is a family of code models.") == ["StarCoder2"]
    assert defined_name("Molmo is a family of open vision-language models.") == []
    assert defined_name("The selective SSM is a block.") == []
    title = "Beyond the Imitation Game: Quantifying and extrapolating the capabilities"
    assert card_subject(title, ["Beyond the Imitation Game", *defined_name(opening)]) \
        == "BIG-bench"


def test_a_card_defines_the_acronym_of_its_title():
    from rag.corpus.linking import title_acronyms

    yolo = "You Only Look Once: Unified, Real-Time Object Detection"
    assert title_acronyms(yolo, "YOLO (You Only Look Once) recasts detection.") == ["YOLO"]
    assert title_acronyms("Latent Consistency Models: Synthesizing Images", "Latent "
                          "Consistency Models (LCMs) distil a model.") == ["LCMs", "LCM"]
    # an acronym of something else, or of a single word, is not the card's name
    assert title_acronyms(yolo, "It beats DPM (Deformable Parts Models).") == []
    assert title_acronyms("Mamba: Linear-Time Sequence Modeling", "Mamba (Mamba) is.") == []
    assert card_subject(yolo, title_acronyms(yolo, "YOLO (You Only Look Once) ...")) == "YOLO"


def test_subjects():
    assert card_subject("Direct Preference Optimization: Your Language Model is Secretly a "
                        "Reward Model", ["Direct Preference Optimization", "DPO"]) == "DPO"
    assert card_subject("GPT-4 Technical Report") == "GPT-4"
    assert card_subject("Phi-4 Technical Report", ["Microsoft Phi"]) == "Phi-4"
    assert card_subject("Efficient Memory Management for Large Language Model Serving with "
                        "PagedAttention") == "PagedAttention"
    assert card_subject("Proximal Policy Optimization Algorithms") == ""
    assert section_subject("Papers Reading Guide › Efficiency & Scaling Papers › "
                           "6. LoRA: Low-Rank Adaptation (2021)") == "LoRA"
    assert section_subject("Papers Reading Guide › Foundational Papers › "
                           "1. Attention Is All You Need (2017)") == "Attention Is All You Need"
    assert title_subject("paper: QLoRA: Efficient Finetuning of Quantized LLMs") == "QLoRA"
    assert title_subject("Consistency Models (Song et al. 2023)") == "Consistency Models"


def test_labels_and_facets():
    assert split_label("Key idea: replace recurrence") == ("Key idea", "replace recurrence")
    assert split_label("We use it as follows: a, b") == ("", "We use it as follows: a, b")
    assert facet_of("Discussion points for Anthropic interviews") == "discussion"
    assert facet_of("Mathematical formulation") == "method"
    assert facet_of("business impact") == ""


def test_embed_form_keeps_the_facet_cue():
    info = one("Limitations: requires paired preferences.")
    assert info.facet == "limitations"
    assert embed_form(info) == "Limitations: Requires paired preferences."


def test_content_facet_impact_is_about_later_influence_not_origins():
    """'inspired by paging' says where an idea comes from and 'popular LLMs' describes
    other things: neither is the paper's impact (a 'how does it work' answer needs them)."""
    from rag.corpus.roles import content_facet

    assert content_facet("PagedAttention, an attention algorithm inspired by virtual "
                         "memory and paging in operating systems") == ""
    assert content_facet("It keeps throughput high for popular LLMs") == ""
    assert content_facet("BERT inspired variants such as RoBERTa") == "impact"
    assert content_facet("The series became a popular base for coding assistants") == "impact"
    assert content_facet("One of the most popular trends in RAG in 2024") == "impact"


def test_ranking_ahead_of_earlier_systems_is_a_result():
    """Not how it works, though its model was "trained on 200K hours"."""
    from rag.corpus.roles import content_facet

    assert content_facet("Listening tests put it ahead of prior leading systems, and a 1B "
                         "model trained on 200K hours improves it further.", True) == "results"


def test_a_quantified_cut_is_a_result():
    """"LoRA cuts trainable parameters by about 10,000 times ..." is what LoRA achieved (it
    leads "what are the main results of LoRA?"); cutting something with no amount is not."""
    from rag.corpus.roles import content_facet

    assert content_facet("On GPT-3 175B, LoRA cuts trainable parameters by about 10,000 times "
                         "and training GPU memory by about 3 times.", True) == "results"
    assert content_facet("Pruning cuts the weights that matter least.", True) != "results"


def test_outperforming_baselines_is_a_result():
    """"..., outperforming fixed-context baselines" says how well MemGPT did, not how it
    works (it led "How does MemGPT let an LLM work with more information ...?")."""
    from rag.corpus.roles import content_facet

    text = ("In document question answering it handles inputs far beyond the native "
            "context, outperforming fixed-context baselines.")
    assert content_facet(text, True) == "results"


@pytest.mark.parametrize(("text", "subject", "title", "facet"), [
    # framing: the question the paper asks, the gap it addresses
    ("DeepMind revisits how a fixed training compute budget should be split.", "Chinchilla",
     "Training Compute-Optimal Large Language Models", "background"),
    ("MemGPT addresses the limited context window of LLMs.", "MemGPT", "MemGPT", "background"),
    # the state of the art before the paper, naming neither it nor its title
    ("Diffusion models need many network evaluations per sample, which makes generation "
     "slow.", "Consistency Models", "Consistency Models", "background"),
    ("FlashAttention made exact attention memory-efficient, but its forward pass reached "
     "only 25 to 40% of peak.", "FlashAttention-2", "FlashAttention-2: Faster Attention",
     "background"),
    # what the paper introduces
    ("BIG-bench is a large collaborative benchmark built to measure what models cannot do.",
     "Beyond the Imitation Game", "Beyond the Imitation Game: Quantifying", "overview"),
    ("Microsoft's Phi-4 report describes a 14-billion-parameter dense decoder model.",
     "Microsoft Phi", "Phi-4 Technical Report", "overview"),
    ("The paper presents Codex, a GPT model fine-tuned on public GitHub code.", "Codex",
     "Evaluating Large Language Models Trained on Code", "overview"),
])
def test_a_cards_opening_is_its_background_or_its_overview(text, subject, title, facet):
    from rag.corpus.roles import card_opening_facet

    assert card_opening_facet(text, subject, title) == facet


def test_only_a_cards_first_sentence_gets_an_opening_facet():
    from types import SimpleNamespace

    from rag.corpus.roles import annotate_chunks

    card = "Diffusion models need many steps, which makes sampling slow. The authors train a " \
           "one-step model that maps noise to data."
    chunks = [SimpleNamespace(doc_id="arxiv:1", title="Consistency Models", section="",
                              text=card),
              SimpleNamespace(doc_id="arxiv:1", title="Consistency Models", section="",
                              text="Diffusion models are slow to sample from, the authors note.")]
    infos = annotate_chunks(chunks, [])
    assert [i.facet for i in infos] == ["background", "", ""]


@pytest.mark.parametrize("text, is_card, facet", [
    # a paper card's account of how the thing is built or trained is its method
    ("The authors collected 680,000 hours of audio paired with transcripts and trained a "
     "standard encoder-decoder Transformer on log-Mel spectrograms.", True, "method"),
    ("Second, a reward model trained on labelers' rankings of several outputs.", True, "method"),
    ("The encoder and decoder are stacks of layers that combine multi-head attention with "
     "feed-forward networks.", True, "method"),
    # ... but a guide's unlabelled line is not read for a method
    ("Use GPT-4 to create diverse instruction-response pairs", False, ""),
    # what the card calls its central idea, and results stated without a number
    ("DeepSeek-V2's headline contribution is Multi-head Latent Attention (MLA).", True,
     "key_idea"),
    ("In human evaluations Llama 2-Chat beat other open chat models.", True, "results"),
    ("Human evaluators strongly preferred the resulting InstructGPT models.", True, "results"),
    ("The Transformer underlies nearly all modern large language models.", True, "impact"),
    ("Mamba trains in linear time and handles sequences up to a million tokens.", True, ""),
    # a result verb is followed closely by its number, not by one two clauses later
    ("The 2B and 9B models learn from a teacher's distribution, which gives a richer signal "
     "and lets them keep improving; the 27B model is trained from scratch.", False, ""),
    ("BLIP gave gains of 2.7% in recall@1.", False, "results"),
    ("Mixtral's instruction-tuned version, trained with DPO, outscored GPT-3.5 Turbo.", True,
     "results"),
    ("A gating network sends every token to the two highest-scoring experts.", True, "method"),
])
def test_content_facets_of_card_statements(text, is_card, facet):
    from rag.corpus.roles import content_facet

    assert content_facet(text, is_card) == facet


def test_a_sections_tagline_names_its_heading():
    """"Liquid Neural Networks" / "Time-continuous, adaptive networks." is too short for a
    sentence, but it is what the material says the subject is."""
    from rag.corpus.outline import tagline
    from rag.records import Chunk

    def chunk(text):
        return Chunk(chunk_id="d#1", doc_id="d", title="Emerging Research",
                     section="Novel Architectures › 1. Liquid Neural Networks", text=text,
                     embed_text=text)
    (info,) = tagline(chunk("Time-continuous, adaptive networks.\nProperties: - a - b"), 7,
                      "Liquid Neural Networks")
    assert info.prose == "Liquid Neural Networks: time-continuous, adaptive networks."
    assert (info.chunk, info.text, info.facet) == (7, "Time-continuous, adaptive networks.",
                                                   "overview")
    assert tagline(chunk("LoRA freezes the pretrained weights and learns an update."), 7,
                   "LoRA") == []  # a real sentence is kept as itself
    assert tagline(chunk("import torch"), 7, "Code") == []
    assert tagline(chunk("Time-continuous networks."), 7, "") == []  # no heading subject


def test_a_labelled_list_of_facts_reads_as_one_sentence_of_its_facet():
    from rag.corpus.outline import fact_list
    from rag.records import SentenceInfo

    def listed(text, facet, subject="Spiking Neural Networks"):
        label = text.split(":")[0]
        return SentenceInfo(chunk=3, text=text, prose=text, role="context", facet=facet,
                            label=label, subject=subject, context="heading_list")
    info = fact_list(listed("Benefits: - 1000x lower power - Real-time processing - Edge "
                            "deployment", "advantages"))
    assert (info.role, info.context, info.facet) == ("fact", "", "advantages")
    assert info.prose == ("Spiking Neural Networks benefits: 1000x lower power, real-time "
                          "processing, edge deployment.")
    directions = listed("Research Directions: - Larger expert counts - Dynamic routing", "")
    assert fact_list(directions) == directions  # not a field of facts: stays context
    titles = listed('Training: - "Direct Preference Optimization" - "Constitutional AI"',
                    "usage")
    assert fact_list(titles) == titles  # a list of titles stays context


def test_a_code_dictionary_key_holds_on_into_the_next_chunk():
    """A guide's code dictionary split across two chunks ("edm:" ... "key findings:" |
    "sampling: 2nd-order solvers ...") keeps its subject in the second chunk; a markdown
    heading key ("Capabilities:") or a loop ("for prompt in prompts:") does not carry."""
    from types import SimpleNamespace

    from rag.corpus.roles import annotate_chunks

    def chunk(text: str) -> SimpleNamespace:
        return SimpleNamespace(doc_id="guide", section="Diffusion › Training Improvements",
                               title="Guide", text=text)

    chunks = [chunk("edm:\npaper: Elucidating the Design Space of Diffusion-Based "
                    "Generative Models\ncontribution: Systematic study of diffusion model "
                    "design choices"),
              chunk("sampling: 2nd-order solvers improve sample quality"),
              chunk("for prompt in prompts:\nCapabilities:\nGenerate critiques of each draft "
                    "response carefully"),
              chunk("Revise each response according to the critique it received")]
    infos = annotate_chunks(chunks, [])
    by_text = {i.prose: i.subject for i in infos}
    assert by_text["2nd-order solvers improve sample quality"] == "edm"
    last = by_text["Revise each response according to the critique it received"]
    assert last not in ("Capabilities", "for prompt in prompts")
