"""Mock interview: the question bank (built with the index), key points, the grader,
exact cards and the LLM rubric.

Pure helpers are tested on small strings; the bank and the grader run on the real
corpus with the real embedding model (one Assistant per session)."""

from __future__ import annotations

import pytest

from rag.errors import InvalidAnswer, RagError
from rag.records import BankEntry, KeyPoint, StudyCard
from rag.study import bank as study_bank
from rag.study import cards as study_cards
from rag.study import claims, keypoints, rubric, stored, terms
from rag.study import grade as grading

GUIDE_TEXT = ('On specific papers: "Explain the attention mechanism in transformers", '
              '"How does RLHF work? What are its limitations?"\n'
              'Open-ended: "What research directions excite you?"\n'
              'Example principle: "Choose the response that is least harmful or offensive."')
DISCUSSION = ("Discussion points: why specifically sin/cos for positions (extrapolation, "
              "relative positions), limitations (O(n^2) in memory), alternatives DPO, KTO.")
LORA_Q = "When would you use LoRA versus full fine-tuning?"
GOOD_LORA = (
    "LoRA freezes the pretrained weights and learns a low-rank update, the product of two "
    "small matrices B and A, on the attention projections. On GPT-3 it cuts trainable "
    "parameters by about 10,000 times and GPU memory by about three times, with quality close "
    "to full fine-tuning, and merged adapters add no inference latency.")
WRONG_LORA = ("LoRA updates all of the model's weights with a high-rank matrix, so it needs more "
              "GPU memory than full fine-tuning and adds inference latency.")
OFF_TOPIC = ("I would bake the bread at 220 degrees for forty minutes after letting the dough "
             "rise overnight. A lively sourdough starter gives the crust its flavour.")


# --- questions -------------------------------------------------------------------------


def test_quoted_questions_keep_questions_and_prompts_only():
    assert study_bank.quoted_questions(GUIDE_TEXT) == [
        "Explain the attention mechanism in transformers",
        "How does RLHF work? What are its limitations?", "What research directions excite you?"]


def test_discussion_items_split_outside_parentheses_with_hints():
    assert study_bank.discussion_items(DISCUSSION) == [
        ("why specifically sin/cos for positions", "extrapolation, relative positions"),
        ("alternatives DPO", "")]


def test_discussion_points_read_as_an_interviewer_asks_them():
    ask = study_bank.discussion_question
    assert ask("whether NSP is useful", "BERT: Pre-training of Deep Bidirectional "
               "Transformers") == "Is NSP useful in BERT?"
    assert ask("GRPO vs PPO", "DeepSeek R1: Incentivizing Reasoning") == (
        "What are the differences between GRPO and PPO in DeepSeek R1?")
    assert ask("comparison with DPO", "KTO: Model Alignment") == "How does KTO compare with DPO?"
    assert ask("why this works", "Chain-of-Thought Prompting") == (
        "Why does Chain-of-Thought Prompting work?")
    assert ask("why bidirectional matters", "BERT") == (
        "Why does being bidirectional matter in BERT?")
    assert ask("why the KL penalty from the SFT model", "InstructGPT / RLHF") == (
        "Why use the KL penalty from the SFT model in InstructGPT / RLHF?")
    assert ask("when Flash Attention does not help", "Flash Attention") == (
        "When does Flash Attention not help?")
    assert ask("when justified", "Tree of Thoughts") == "When is Tree of Thoughts justified?"
    assert ask("when to choose KTO vs DPO vs RLHF", "KTO") == (
        "When would you choose KTO vs DPO vs RLHF?")
    assert ask("what rank to choose", "LoRA: Low-Rank Adaptation") == (
        "What rank should you choose in LoRA?")
    assert ask("how to choose actions", "ReAct") == "How do you choose actions in ReAct?"
    assert ask("trade-off recomputation versus memory", "Flash Attention") == (
        "What is the trade-off between recomputation and memory in Flash Attention?")
    # noun phrases become questions, with "the" where English wants one
    assert ask("reward hacking", "InstructGPT / RLHF") == (
        "What is reward hacking in InstructGPT / RLHF?")
    assert ask("cost of training SAEs at scale", "Scaling Monosemanticity") == (
        "What is the cost of training SAEs at scale in Scaling Monosemanticity?")
    assert ask("inference challenges", "Mixture of Experts") == (
        "What are the inference challenges in Mixture of Experts?")
    assert ask("alternatives DPO", "InstructGPT / RLHF") == (
        "What are the alternatives to InstructGPT / RLHF, such as DPO?")
    assert ask("implications for the role of SFT", "DeepSeek R1") == (
        "What does DeepSeek R1 imply for the role of SFT?")
    assert ask("interpretability as a path to safety", "AI Safety") == (
        "Why is interpretability a path to safety in AI Safety?")
    # no "Title: noun phrase?" oddities
    assert ask("open-weight competitive with closed", "The Llama 3 Herd of Models") == (
        "Is open-weight competitive with closed in The Llama 3 Herd of Models?")


def test_reworded_questions_keep_their_first_ids():
    """Stored progress stays attached: the id hashes the question's first wording."""
    from rag.study.bank_ids import entry_id, first_discussion_wording

    assert first_discussion_wording("why bidirectional matters", "BERT") == (
        "Why bidirectional matters in BERT?")
    assert entry_id("discussion", "Why bidirectional matters in BERT?") == (
        entry_id("discussion", "why bidirectional matters in bert?"))


def test_papers_are_named_as_a_question_names_them():
    name = study_bank.question_name
    assert name("LLaMA: Open and Efficient Foundation Language Models") == "LLaMA"
    assert name("Gemma 2: Improving Open Language Models at a Practical Size") == "Gemma 2"
    assert name("wav2vec 2.0: A Framework for Self-Supervised Learning") == "wav2vec 2.0"
    assert name("Transformers are SSMs: Generalized Models") == "“Transformers are SSMs”"
    assert name("Attention Is All You Need") == "“Attention Is All You Need”"


def test_bare_headings_and_paper_names():
    assert study_bank.is_bare_heading("Vision") and study_bank.is_bare_heading("Finetuning")
    assert not study_bank.is_bare_heading("Vision-Language Understanding")
    assert study_bank.paper_name("LLaMA: Open and Efficient Foundation Language Models") == "LLaMA"
    assert study_bank.paper_name("Attention Is All You Need") == "“Attention Is All You Need”"


def test_a_guide_section_on_a_paper_owns_that_papers_card():
    """"What problem does GPT-3 solve" is graded against the guide's GPT-3 section and the
    card of the paper the section links first, not only the section."""
    from rag.records import Chunk

    def chunk(cid, doc, section, text, ids=()):
        return Chunk(chunk_id=cid, doc_id=doc, title="t", section=section, text=text,
                     embed_text=text, arxiv_ids=ids)
    section = "Foundational Papers › 3. GPT-3: Language Models are Few-Shot Learners (2020)"
    text = ("Problem: fine-tuning needs labeled data. Key idea: a large model learns in "
            "context. Results: strong few-shot scores. Emergence appears at scale.")
    chunks = [chunk("g#7", "guide", section, text, ("2005.14165", "2203.02155")),
              chunk("arxiv:2005.14165#0", "arxiv:2005.14165", "Paper card", "GPT-3 card."),
              chunk("arxiv:2203.02155#0", "arxiv:2203.02155", "Paper card", "InstructGPT.")]
    (entry,) = study_bank.heading_entries(chunks, 2, guide_doc="guide")
    assert entry.question.startswith("What problem does GPT-3 solve")
    assert entry.source_chunk_ids == ("g#7", "arxiv:2005.14165#0")


def test_a_comparison_ranked_the_other_way_round_is_a_contradiction():
    point = "1.3 billion InstructGPT outperforms 175 billion GPT-3 by human preference."
    wrong = "Labelers preferred the original 175B GPT-3 over the 1.3B aligned model."
    right = "People preferred a 1.3B aligned model over the 175B GPT-3."
    assert grading.contradiction(point, wrong) == "reversed comparison"
    assert grading.contradiction(point, right) == ""


def test_an_x_free_point_agrees_with_an_answer_that_has_no_x():
    """"reference-free" rules out references: an answer saying there are none agrees; a
    name written with "-free" ("classifier-free guidance") in the answer negates nothing."""
    point = ("Ragas proposes automatic, reference-free metrics for RAG pipelines, needing "
             "no human-labelled answers.")
    agrees = "You often don't have human-written reference answers, so Ragas scores without them."
    assert grading.contradiction(point, agrees) == ""
    assert "refer" in terms.negated_stems(point)
    assert "refer" in claims.ruled_out(point)
    lcm = "The authors distil classifier-free-guided sampling into a one-step model."
    said = "It distils a classifier-free guidance model into a one-step student."
    assert grading.contradiction(lcm, said) == ""


def test_a_point_saying_no_x_is_contradicted_by_an_answer_that_has_x():
    """"... with no separate reward model": an answer whose DPO fits a separate reward
    model states what the source rules out; one that gets rid of it (or dispenses with
    it) agrees."""
    point = ("DPO trains on preference pairs with a binary cross-entropy loss, with no "
             "separate reward model.")
    wrong = "DPO first fits a separate reward model and then trains the policy with it."
    assert {"separ", "reward"} <= claims.ruled_out(point)
    assert "rules out" in grading.contradiction(point, wrong)
    for agrees in ("DPO gets rid of the separate reward model and trains on pairs.",
                   "DPO dispenses with a separate reward model altogether."):
        assert grading.contradiction(point, agrees) == "", agrees


def test_not_removing_something_keeps_it():
    """"does not remove backdoor behavior" says the behaviour persists: an answer saying the
    backdoored models kept it agrees, while "no separate reward model" still rules out."""
    point = ("Safety training (RLHF, SFT) does not remove backdoor behavior; it persists "
             "through standard safety fine-tuning.")
    agrees = ("Backdoored models kept that behavior through RLHF and adversarial training, "
              "so safety can't be bolted on later.")
    assert not {"backdoor", "behavior"} & claims.ruled_out(point)
    assert grading.contradiction(point, agrees) == ""
    assert {"separ", "reward"} <= claims.ruled_out("DPO needs no separate reward model.")


def test_a_change_run_backwards_or_a_score_given_to_the_other_side_contradicts():
    """"from 74% to 4%" runs "from 4% to 74%" backwards; "humans answered 15%" gives the
    humans GPT-4's score; the right way round agrees, whatever else the sentence says."""
    point = "Game of 24 from 4% to 74%, creative writing significant improvement."
    assert "reversed change" in claims.number_conflict(
        point, "Game of 24 accuracy went from 74% with chain-of-thought to 4% for ToT.")
    assert claims.number_conflict(point, "ToT lifts the Game of 24 from 4% to 74%.") == ""
    gaia = ("Human respondents answered about 92% correctly, while GPT-4 equipped with "
            "plugins scored about 15%.")
    swapped = "Human respondents answered only about 15% correctly, while GPT-4 reached 92%."
    assert "another thing's number" in claims.number_conflict(gaia, swapped)
    assert claims.first_reversal(gaia, [swapped], [0.9], 0.5) is not None
    for right in ("Humans answered about 92% correctly.", "GPT-4 with plugins scored only 15%."):
        assert claims.number_conflict(gaia, right) == "", right


def test_a_negation_does_not_reach_into_an_embedded_question():
    """"with no supervision about which document to retrieve" denies supervision, not the
    documents a point says are fed to the generator."""
    unit = ("When RAG is fine-tuned they are trained jointly, but with no supervision about "
            "which document to retrieve.")
    assert terms.negated_stems(unit) == {"supervis"}
    point = ("Then these documents together with the query are fed into a generative model "
             "such as BART, which produces the final answer.")
    assert "negated" not in grading.contradiction(point, unit)
    assert "reward" in terms.negated_stems("DPO needs no separate reward model.")


def test_what_rather_than_governs_reaches_past_its_function_words():
    """"... rather than relying on a handful of saturated benchmarks": "handful" is what
    the answer sets aside, so it is no opposite claim to the point's "large" benchmark;
    "dropped ... in favour of dense layers" still reaches only four words."""
    point = ("BIG-bench is a large collaborative benchmark built to measure what language "
             "models can and cannot do as they grow.")
    right = ("BIG-bench was built to map out what language models can do as they get bigger, "
             "rather than relying on a handful of saturated benchmarks.")
    assert terms.stem("handful") in terms.negated_stems(right)
    assert grading.contradiction(point, right) == ""
    assert terms.stem("dense") not in terms.negated_stems(
        "The design was dropped in DeepSeek-V2 in favour of dense layers.")


def test_a_ranking_of_another_subject_or_a_lessened_term_is_no_contradiction():
    """"It shows that models like Codex beat humans" ranks Codex, not "it"; "Llama 2 7B
    lost to Llama 2 13B" is no claim about the point's subject; "never written to HBM"
    agrees with "minimize transfers between HBM and SRAM" (a verb that lessens), but
    "no KV cache" still denies "reduces the KV cache"."""
    point = "The base model scores above Llama 2 13B on every benchmark."
    assert grading.contradiction(point, "Llama 2 7B lost to Llama 2 13B on every benchmark.") \
        == ""
    assert grading.contradiction(point, "It beats Llama 2 13B on every benchmark.") == ""
    humans = "Language models beat the average human rater on 10 of the 23 tasks."
    assert grading.contradiction(humans, "It shows that chain-of-thought lets models like "
                                 "Codex beat the average human rater.") == ""
    io = "IO-aware algorithm: minimize transfers between HBM and SRAM."
    assert grading.contradiction(io, "The N by N matrix is never written to HBM.") == ""
    assert "negated claim" in grading.contradiction(
        "It reduces the KV cache.", "It has no KV cache at all.")


def test_the_asked_subject_losing_reverses_a_point_it_wins():
    """Asked about Mistral 7B, "Mistral 7B is a mixture of experts model that lost to Llama 2
    13B" reverses "the base model scores above Llama 2 13B" (the point names its subject
    only as "the base model"); another model losing to Llama 2 13B does not, nor does
    Mistral 7B beating it."""
    point = ("In the authors' evaluations the base model scores above Llama 2 13B on every "
             "benchmark.")
    question = "What problem does Mistral 7B solve, and how?"
    asked = claims.asked_stems(question)
    wrong = "Mistral 7B is a mixture of experts model that lost to Llama 2 13B on every benchmark."
    assert claims.subject_loses(point, wrong, asked) == "reversed ranking"
    assert claims.first_reversal(point, [wrong], [0.6], 0.4, question) == (0, "reversed ranking")
    assert claims.subject_loses(point, "Llama 2 7B lost to Llama 2 13B on most tasks.", asked) \
        == ""
    assert claims.subject_loses(point, "Mistral 7B beats Llama 2 13B everywhere.", asked) == ""


def test_denying_the_verb_denies_its_derived_adjective():
    """"reasoning does not emerge from RL alone" denies "Emergent reasoning from RL" (the
    stemmer keeps "emergent" whole); a company called Contextual is no "context"."""
    point = "Emergent reasoning from RL: no explicit CoT supervision."
    wrong = "The paper shows reasoning does not emerge from RL alone."
    assert "negated claim" in grading.contradiction(point, wrong)
    assert grading.contradiction(point, "Reasoning does emerge from RL alone.") == ""
    company = "The original authors have started Contextual and have coined RAG 2.0."
    assert grading.contradiction(company, "Say you don't know when the context lacks it.") == ""


def test_no_with_a_modifier_the_point_lacks_denies_only_that_kind():
    """"no human chain-of-thought data" denies human-written CoT data, not the point's
    chain-of-thought reasoning; "no communication between ...", "no chain-of-thought" and
    "no KV cache tricks" (the point's key-value cache) still deny."""
    point = "DeepSeek-R1 shows that strong chain-of-thought reasoning can be developed by RL."
    right = "They ran RL directly, with no SFT and no human chain-of-thought data."
    assert grading.contradiction(point, right) == ""
    assert "negated" in grading.contradiction(point, "It used no chain-of-thought at all.")
    cache = "Grouped-query attention shrinks the key-value cache and speeds up decoding."
    assert "negated" in grading.contradiction(cache, "It uses no KV cache tricks at all.")
    experts = "Expert parallelism needs communication between GPUs."
    assert "negated" in grading.contradiction(
        experts, "No communication between GPUs is ever needed for the experts.")


def test_denying_another_thing_of_the_same_name_is_no_negated_claim():
    """"rule-based rewards ..., no neural reward model" agrees with "rule-based rewards";
    "not trained from scratch" still denies "standalone training"."""
    point = "Pure reinforcement learning with rule-based rewards can elicit reasoning."
    right = ("They applied pure reinforcement learning using only rule-based rewards, "
             "deliberately no neural reward model.")
    assert grading.contradiction(point, right) == ""
    assert grading.contradiction(point, "It uses no rule-based rewards at all.")
    cm = "Standalone training beat other non-adversarial one-step methods."
    wrong = "They need a discriminator during training and are never trained standalone."
    assert grading.contradiction(cm, wrong)


def test_input_dependent_and_time_invariant_parameters_are_opposites():
    point = "Mamba makes the SSM parameters depend on the input."
    assert grading.contradiction(point, "Mamba keeps the SSM parameters time-invariant.")
    assert grading.contradiction(point, "In Mamba the SSM parameters are independent of the input.")
    assert grading.contradiction(point, "Mamba makes the SSM parameters input-dependent.") == ""


def test_a_reward_model_is_no_opposite_of_a_kl_penalty():
    """"reward" and "penalty" name different things in RLHF (a reward model, a KL
    penalty): using one is no contradiction of the other."""
    assert "penalti" not in terms.antonyms(terms.stem("reward"))


def test_a_problem_statement_is_not_contradicted_by_its_fix():
    """The point states what was wrong before the method; an answer that says the method
    does without it agrees.  Numbers still count."""
    point = "RLHF is complex: it requires a separate reward model and PPO training."
    fix = "DPO needs no separate reward model and no PPO training."
    assert grading.contradiction(point, fix)  # worded as a claim about the same thing
    assert grading.contradiction(point, fix, wording=False) == ""
    assert grading.contradiction("Attention costs 2 passes.", "It takes 5 passes.",
                                 wording=False)


def test_topic_rules_and_heading_cleaning():
    assert study_bank.assign_topic([("DPO vs RLHF", 1.0)]) == "alignment"
    assert study_bank.assign_topic([("Mixture of Experts — Switch Transformer", 1.0)]) == (
        "efficiency")
    assert study_bank.assign_topic([("Sourdough baking", 1.0)]) == study_bank.GENERAL
    assert study_bank.clean_heading("6. LoRA: Low-Rank Adaptation (2021)") == (
        "LoRA: Low-Rank Adaptation")


def test_near_duplicates_need_the_same_subject_or_near_identity():
    def entry(q, topic="efficiency"):
        return BankEntry(entry_id=q, question=q, topic=topic, origin="paper")
    a = entry("What problem does LoRA solve, and what is its key idea?")
    b = entry("What problem does LoRA solve, and how?")
    c = entry("What problem does QLoRA solve, and how?")
    assert stored.is_duplicate(a, b, 0.93, 0.9)
    assert not stored.is_duplicate(b, c, 0.95, 0.9)  # OLMo vs OLMoE, LLaMA vs Llama 2 ...
    assert not stored.is_duplicate(a, entry(b.question, "rag"), 0.99, 0.9)


# --- key points ---------------------------------------------------------------------------

FACTS = ["LoRA freezes the pretrained weights and adds a trainable low-rank update.",
         "Results: BLEU 28.4 on WMT En-De, three and a half days of training on eight GPUs.",
         "Key idea: replace recurrence with self-attention."]
NOISE = ["Discussion points: what rank to choose (4-64 is usually sufficient), which layers.",
         "Published at NeurIPS 2020, it became a standard reference.",
         "See also MathVista and CharXiv.",
         "paper: Switch Transformer: Scaling to Trillion Parameter Models",
         "Problem: how to use unlabeled text for pre-training?",
         "GPT1, GPT2, GPT3, Codex, InstructGPT, GPT4 papers.",
         "You do not need to know every paper by heart.",
         "Code, data, checkpoints and training scripts are released.",
         "Toolformer: Language Models Can Teach Themselves to Use Tools (Schick et al. 2023)",
         "methodology: Prune less important LoRA parameters, grow important ones"]


@pytest.mark.parametrize("text", FACTS)
def test_facts_are_key_points(text):
    assert keypoints.is_fact(text)


@pytest.mark.parametrize("text", NOISE)
def test_questions_metadata_links_and_titles_are_not(text):
    assert not keypoints.is_fact(text)


def test_a_title_and_a_role_are_respected():
    title = "Attention Is All You Need"
    assert not keypoints.is_fact("Attention is all you need, as the paper says.", titles=[title])
    assert not keypoints.is_fact(FACTS[0], role="context")


def test_near_duplicate_points_merge():
    import numpy as np

    cands = [keypoints.Candidate(t, 0, r, True) for t, r in [
        ("LoRA freezes the pretrained weights and trains a low-rank update.", 0.9),
        ("LoRA freezes pretrained weights and trains low-rank updates only.", 0.8),
        ("Adapters can be swapped quickly between tasks at serving time.", 0.7)]]
    vecs = np.eye(3)
    assert keypoints.select_points(cands, vecs, 5, 0.8, 0.3) == [0, 2]


# --- contradictions and numbers ---------------------------------------------------------


@pytest.mark.parametrize("point,answer", [
    ("Attention cost grows quadratically with sequence length.",
     "Attention cost is linear in sequence length."),
    ("BERT is bidirectional: it sees the left and right context.",
     "BERT is unidirectional and sees only the left context."),
    ("LoRA keeps the pretrained weights frozen.", "LoRA keeps the pretrained weights trained."),
    ("Loss decreases as the model gets larger.", "Loss increases as the model gets larger."),
    ("BERT masks 15% of input tokens.", "BERT masks fifty percent of input tokens."),
    ("GPT-3 has 175 billion parameters.", "GPT-3 has 13 billion parameters."),
    ("LoRA freezes the pretrained weights.", "LoRA does not freeze the pretrained weights."),
    # an inflected antonym ("lowers" stems to "lower", the adjective "lower" to "low")
    ("vLLM raises serving throughput 2 to 4 times.", "vLLM lowers serving throughput."),
    # a claim the source rules out, worded without a number, antonym or negation
    ("Whisper scales weakly supervised training instead of self-supervised pretraining.",
     "Whisper relies on self-supervised pretraining on unlabelled audio."),
    ("Lacking the inductive biases of CNNs, ViT needs large pretraining datasets.",
     "ViT has strong inductive biases, so it works best on small datasets."),
    # what the source says never happens ("never trains on ImageNet")
    ("Zero-shot, it equals ResNet-50 on ImageNet although it never trains on ImageNet's "
     "labeled examples.", "It trains on ImageNet's labelled images to write captions."),
    # two of the point's numbers traded places
    ("Llama 4 Scout has 17B active / 109B total parameters.",
     "Llama 4 Scout has 109B active parameters out of 17B total."),
    ("A 1.3B InstructGPT model is preferred over the 175B GPT-3.",
     "The 175B InstructGPT model was preferred over a 1.3B GPT-3."),
    # opposites of results and of architecture
    ("Models struggled with physics and were poorly calibrated.",
     "Models did best on physics and were well calibrated."),
    ("DeepSeek-V2 is a mixture-of-experts model with 236B total parameters.",
     "DeepSeek-V2 is a dense model with 236B parameters."),
    # merged instead of split
    ("Fine-grained expert segmentation splits every expert into several smaller ones.",
     "DeepSeekMoE merges small experts into a few very large ones."),
    # a metric named before its number
    ("Imagen reached a zero-shot FID of 7.27 on MS-COCO.",
     "It reaches a zero-shot COCO FID of about 27."),
    # a speedup turned into a slowdown
    ("Mamba-2 achieves 2-8x speedup over Mamba-1 with competitive quality.",
     "Mamba-2 is about 2 to 8 times slower than Mamba-1."),
    # a ranking of two named sides turned round, in words the point need not share
    ("The resulting process reward model, used to pick the best of many sampled solutions, "
     "solved 78.2% of MATH, clearly ahead of an outcome-supervised reward model.",
     "The paper found that outcome supervision beats process supervision."),
    # the two sides of "more than" traded places
    ("Uses prospect theory (humans weigh losses more than gains) to derive a loss function.",
     "Prospect theory says people weigh gains more heavily than losses."),
    ("Uses prospect theory (humans weigh losses more than gains) to derive a loss function.",
     "People weigh gains about twice as heavily as losses."),
    # "lost to Y" / "fell behind Y" where the point's subject beats Y, the answer's side
    # named only by a pronoun
    ("In the authors' evaluations the base model scores above Llama 2 13B on every "
     "benchmark.", "It ended up on par with Llama 2 7B but lost to Llama 2 13B on every "
     "benchmark."),
    ("DeepSeek LLM 67B beats LLaMA-2 70B on many benchmarks, especially code and math.",
     "Even after training its 67B model on 15T tokens, it still fell behind LLaMA-2 70B."),
])
def test_contradictions_are_caught(point, answer):
    assert grading.contradiction(point, answer)


@pytest.mark.parametrize("point,answer", [
    ("LoRA freezes the pretrained weights.", "LoRA does not update the pretrained weights."),
    ("BERT masks 15% of input tokens.", "BERT masks fifteen percent of the input tokens."),
    ("It reached 99.3% of ChatGPT's score.", "It reached about 99% of ChatGPT's score."),
    ("GRPO vs PPO: simpler, no critic model.", "GRPO drops the critic model entirely."),
    # "more than" with the same two sides, however worded; a quantity compares nothing
    ("Humans weigh losses more than gains.", "Losses weigh about twice as heavily as gains."),
    ("Trained on more than 5.5 trillion tokens of code.", "It saw more than 5.5 trillion tokens."),
    # antonyms about different things: LoRA fine-tunes the low-rank matrices, freezes W
    ("Fine-tune only low-rank matrices delta-W = BA.",
     "LoRA freezes the pretrained weights and learns two low-rank matrices."),
    # the negation governs "added latency", not "inference"
    ("Merged into the weights, inference has no added latency.",
     "The update is merged, so there is no added inference latency."),
    # the point's number is stated, beside another one
    ("Faster than a dense 47B model.", "It holds 47B parameters but computes like a 13B model."),
    # what the source rules out, ruled out again in the answer's own (passive) words
    ("Tiling (process in blocks), online softmax (do not materialize the full matrix).",
     "It uses an online softmax so the full matrix is never materialised"),
    # what the source says is lacking, said to be lacking (or held by another subject)
    ("Lacking the inductive biases of CNNs, ViT needs large pretraining datasets.",
     "ViT lacks the inductive biases of CNNs, so it needs a lot of pretraining data."),
    ("Lacking the inductive biases of CNNs, ViT needs large pretraining datasets.",
     "CNNs have strong inductive biases that ViT does not have."),
    # the same numbers in the same places
    ("Llama 4 Scout has 17B active / 109B total parameters.",
     "Scout runs 17B active parameters of 109B total."),
    # a margin before "ahead of" is a quantity, not the side that wins
    ("On long DOCCI prompts it beats the next model by 114 Elo points.",
     "It is strong on detailed prompts, 114 Elo points ahead of the next model on long "
     "DOCCI prompts."),
])
def test_restatements_are_not_contradictions(point, answer):
    assert grading.contradiction(point, answer) == ""


def test_answers_split_into_sentences_without_nltk():
    """A typed answer is split by a regular expression (nltk costs ~1.5 s to import);
    "sentence A. The" is two sentences, "e.g. this" one."""
    from rag.corpus.chunk import split_sentences

    text = "It checks whether B follows sentence A. The gains come from MLM, e.g. this. s1 wins."
    assert split_sentences(text, light=True) == [
        "It checks whether B follows sentence A.", "The gains come from MLM, e.g. this.",
        "s1 wins."]


def test_number_variants():
    assert terms.numbers("15%") == terms.numbers("fifteen percent") == {"15%"}
    assert terms.numbers("175B parameters") == terms.numbers("175 billion parameters")
    assert terms.numbers("three and a half days") == {"3.5"}
    assert terms.numbers("one of the best") == set()


def test_what_a_number_counts_stays_in_its_clause():
    """"300 billion tokens of training, 45 terabytes": 45 counts terabytes, not training,
    so "trains eight model sizes" states no other number for it; "14B and 32B" is a list,
    not 14 billion "B"s."""
    slots = terms.number_slots("300 billion tokens of training, 45 terabytes of text data.")
    assert slots == {"token": {3e11}, "terabyt": {45.0}}
    assert terms.number_slots("sizes (0.5B, 1.5B, 14B and 32B) that") == {}
    point = "175 billion parameters, 300 billion tokens of training, 45 terabytes of text data."
    answer = "The paper trains eight model sizes up to 175B parameters on 300 billion tokens."
    assert grading.contradiction(point, answer) == ""
    assert "different number" in grading.contradiction(point, "It has 13 billion parameters.")


# --- answers: bad input ---------------------------------------------------------------


@pytest.mark.parametrize("bad,message", [
    ("", "empty"), ("   \n", "empty"), (None, "empty"), ("x" * 101, "too long"),
    ("LoRA\x00 trains adapters", "control characters"),
    ("caf\udce9 au lait is good", "not valid UTF-8"),
    (b"caf\xe9 au lait", "not valid UTF-8"),
])
def test_bad_answers_are_refused_clearly(bad, message):
    with pytest.raises(InvalidAnswer, match=message):
        grading.check_answer(bad, 100)
    assert issubclass(InvalidAnswer, RagError)


def test_answer_units_and_too_short():
    units = grading.answer_units("First point is here. Second part one; second part two.")
    assert "First point is here." in units and "second part two." in units
    # a long sentence also yields its clauses, each one claim with an undiluted vector
    units = grading.answer_units("Each token uses two experts, so all experts have to be "
                                 "loaded in memory, which limits batch size.")
    assert "so all experts have to be loaded in memory" not in units
    assert "all experts have to be loaded in memory" in " | ".join(units)
    with pytest.raises(InvalidAnswer, match="too short"):
        grading.answer_units("LoRA")


def test_gibberish_salad_and_echo_detection():
    vocab = frozenset({"lora", "weights", "frozen", "low-rank", "attention", "transformer",
                       "softmax", "query", "key", "value", "scaling"})
    assert grading.is_gibberish("asdkj qwe zxcvb lorem ipsum", vocab)
    assert not grading.is_gibberish("LoRA keeps the weights frozen", vocab)
    assert grading.is_salad("attention transformer softmax query key value scaling")
    assert not grading.is_salad("attention scales the query by the key")
    assert not grading.is_salad("batches get uneven load across experts.")
    # a "the" and "of" thrown into a keyword dump, in an answer with no punctuation
    dump = "hybrid mamba jamba layer scan selective attention the of 256K linear recall"
    assert grading.is_salad(dump, punctuated=False)
    assert not grading.is_salad("Mixture of experts uses sparse activation per token",
                                punctuated=False)  # a terse statement keeps its words
    # function words sprinkled where English never puts them, however it is punctuated
    assert grading.is_salad("dense expert router MoE tokens sparse the of parameters "
                            "trade-off memory top-k compute balancing.")
    assert grading.is_salad("distill R1 Qwen Llama smaller teacher reasoning the traces "
                            "GRPO 1.5B into 70B model outputs of.")
    assert not grading.is_salad("LoRA learns two small matrices B and A with rank r much "
                                "smaller than d.")  # "A" is a matrix, not an article


def test_a_punctuated_keyword_dump_is_still_a_dump():
    assert grading.is_keyword_dump("Timbre! prosody? content... acoustic: detail, detail; "
                                   "codec-codec. Diffusion 42 - umbrella.")
    assert not grading.is_keyword_dump("NaturalSpeech 3 factorizes speech into content, "
                                       "prosody, timbre and acoustic details with a codec.")
    assert not grading.is_keyword_dump("Consistency models make diffusion faster.")  # short


def test_denying_what_the_sources_deny_is_no_contradiction():
    from rag.study.claims import denied_in

    point = "R1-Zero develops chain-of-thought reasoning spontaneously through RL alone."
    answer = "They ran RL directly with no chain-of-thought data."
    assert grading.contradiction(point, answer)
    sources = denied_in(["Emergent reasoning from RL: no explicit CoT supervision."])
    assert grading.contradiction(point, answer, denied_by_sources=sources) == ""


def test_a_restated_title_with_filler_verbs_is_an_echo():
    """"going from local to global" and "relates to" add no content to the title."""
    import numpy as np

    far, q = np.array([1.0, 0.0]), np.array([0.0, 1.0])
    title = "From Local to Global: A Graph RAG Approach to Query-Focused Summarization"
    context = f"What problem does From Local to Global solve, and how? {title}"
    echo = ("From Local to Global solves the problem of going from local to global, using a "
            "graph RAG approach to query-focused summarization.")
    assert grading.is_echo(echo, far, q, context, 0.9)
    assert grading.is_echo("Scaling Monosemanticity relates to alignment.", far, q,
                           "How does Scaling Monosemanticity connect to alignment?", 0.9)
    assert not grading.is_echo("It builds a knowledge graph of entities and summarises its "
                               "communities.", far, q, context, 0.9)
    # words about the question itself, or parts of its name, are no content either
    assert grading.is_echo("QLoRA solves the problem that QLoRA addresses, which is "
                           "quantized LoRA.", far, q, "What problem does QLoRA solve?", 0.9)
    assert grading.is_echo("NaturalSpeech solves it, namely natural speech.", far, q,
                           "What problem does NaturalSpeech solve?", 0.9)
    assert not grading.is_echo("QLoRA backpropagates through a frozen 4-bit model into "
                               "LoRA adapters.", far, q, "What problem does QLoRA solve?", 0.9)


# --- exact cards -------------------------------------------------------------------------


def card(**kw) -> StudyCard:
    base = dict(card_id="c", kind="cloze", topic="transformers", prompt="BERT masks ____ of "
                "input tokens.", answer="15%", answer_type="number", fact="BERT masks 15% of "
                "input tokens.", chunk_id="x#0", title="BERT")
    return StudyCard(**{**base, **kw})


def test_cloze_blanks_prefer_numbers_then_names_then_terms():
    assert study_cards.find_blank("BERT masks 15% of input tokens.").answer == "15%"
    assert study_cards.find_blank("It was trained in 2019 with the RoBERTa recipe.").answer == (
        "RoBERTa")
    assert study_cards.find_blank("The update uses two low-rank matrices.").answer == "low-rank"


@pytest.mark.parametrize("given", ["15%", "15 %", "15 percent", "fifteen percent", "15"])
def test_cloze_accepts_number_variants(given):
    assert study_cards.check_answer(card(), given)[0]


def test_cloze_accepts_case_plural_and_hyphen_variants():
    c = card(answer="low-rank matrix", answer_type="term")
    for given in ["Low-Rank Matrix", "low rank matrices", "lowrank matrix"]:
        assert study_cards.check_answer(c, given)[0], given
    assert not study_cards.check_answer(c, "sparse matrix")[0]
    assert not study_cards.check_answer(card(), "50%")[0]
    dpo = card(answer="DPO", answer_type="name")
    assert study_cards.check_answer(dpo, "Direct Preference Optimization")[0]
    assert not study_cards.check_answer(dpo, "PPO")[0]


def test_one_sentence_covers_one_point_fully():
    from rag.study.grade import Judgement, cap_per_sentence

    judged = [Judgement(1.0, False, 0, 0.7, ""), Judgement(1.0, False, 1, 0.6, ""),
              Judgement(1.0, False, 2, 0.8, "")]
    capped = cap_per_sentence(judged, [0, 0, 1], 1)  # units 0 and 1 are one sentence
    assert [j.credit for j in capped] == [1.0, 0.5, 1.0]
    assert cap_per_sentence(judged, [0, 0, 1], 0) == judged


def test_name_kinds_and_unanswerable_stems():
    kind = study_cards.name_kind
    assert kind("OpenAI") == kind("KAIST") == "org"
    assert kind("BigCode", "models from the BigCode collaboration") == "org"
    assert kind("MMLU") == "benchmark" and kind("LLM") == "common"
    assert kind("LoRA", "apply LoRA to the attention projections") == "method"
    fact = "CLIP vision encoder + projection layer + Vicuna LLM backbone for chat"
    blank = study_cards.find_blank(fact)
    assert not study_cards.answerable(fact, blank, "LLaVA")  # a formula, not a sentence
    fact = "Instruction-tuned GPT-3.5 with RLHF."
    assert not study_cards.answerable(fact, study_cards.find_blank(fact), "")  # too thin
    fact = "LoRA freezes the pretrained weights and trains a low-rank update of rank 8."
    assert study_cards.answerable(fact, study_cards.find_blank(fact), "LoRA")


def test_distractors_are_the_same_kind_of_thing():
    names = [("OpenAI", "d1"), ("LoRA", "d2"), ("KAIST", "d3"), ("Anthropic", "d4"),
             ("DeepMind", "d5"), ("QLoRA", "d6"), ("MMLU", "d7")]
    pool = [card(card_id=f"c{i}", answer=a, answer_type="name", chunk_id=f"{d}#0",
                 fact=f"{a} is described in detail.") for i, (a, d) in enumerate(names)]
    doc = {c.chunk_id: c.chunk_id.split("#")[0] for c in pool}
    text = {c.chunk_id: "" for c in pool}
    assert sorted(study_cards.distractors(pool[0], pool, doc, text)) == [
        "Anthropic", "DeepMind", "KAIST"]
    numbers = [card(card_id=f"n{i}", answer=a, chunk_id=f"e{i}#0") for i, a in
               enumerate(["175B", "15%", "7B", "40%", "3 billion", "12"])]
    doc = {c.chunk_id: c.chunk_id for c in numbers}
    text = {c.chunk_id: "" for c in numbers}
    assert sorted(study_cards.distractors(numbers[0], numbers, doc, text)) == [
        "3 billion", "7B"]  # only two scaled siblings: no mcq card


def test_mcq_takes_a_letter_and_distractors_come_from_other_sources():
    pool = [card(card_id=f"c{i}", answer=a, chunk_id=f"d{i}#0") for i, a in
            enumerate(["15%", "20%", "30%", "40%", "15 percent"])]
    doc = {f"d{i}#0": f"doc{i}" for i in range(5)}
    text = {f"d{i}#0": "" for i in range(5)}
    options = study_cards.distractors(pool[0], pool, doc, text)
    assert sorted(options) == ["20%", "30%", "40%"]  # "15 percent" is the answer itself
    mcq = card(kind="mcq", options=("20%", "15%", "30%", "40%"))
    assert study_cards.check_answer(mcq, "b")[0] and not study_cards.check_answer(mcq, "a")[0]


# --- the LLM rubric ------------------------------------------------------------------------


def test_rubric_verdicts_are_parsed_strictly():
    assert rubric.parse_verdicts('ok {"points": [{"n": 1, "verdict": "covered"}, '
                                 '{"n": 2, "verdict": "contradicted"}]}', 2) == {
        1: "covered", 2: "contradicted"}
    assert rubric.parse_verdicts('{"points": [{"n": 1, "verdict": "great"}]}', 1) is None
    assert rubric.parse_verdicts("I think it is fine", 1) is None
    assert rubric.parse_verdicts('{"points": [{"n": 1, "verdict": "covered"}]}', 2) is None


class FakeLLM:
    def __init__(self, reply):
        self.reply = reply
        self.messages = None

    def generate(self, messages, max_tokens):
        self.messages = messages
        yield self.reply


class FakeAssistant:
    def __init__(self, backend):
        self.backends = {"extractive": object(), "openai": backend}


def test_llm_rubric_grades_the_key_points_and_falls_back_when_unusable():
    entry = BankEntry(entry_id="e", question="Q?", topic="rag", origin="guide")
    points = [KeyPoint(text=f"Point {i}.", n=1, title="T", section="", weight=1.0)
              for i in (1, 2)]
    llm = FakeLLM('{"points": [{"n": 1, "verdict": "covered"}, {"n": 2, "verdict": "partial"}]}')
    judged = rubric.llm_grade(FakeAssistant(llm), entry, "my answer", points, None)
    assert judged.grader == "llm:openai" and [p.credit for p in judged.points] == [1.0, 0.5]
    assert "Point 2." in llm.messages[1]["content"] and "my answer" in llm.messages[1]["content"]
    broken = rubric.llm_grade(FakeAssistant(FakeLLM("no json")), entry, "a", points, None)
    assert broken.points is None and "not usable" in broken.notes[0]


# --- the stored bank and grading on the real corpus ----------------------------------------


@pytest.fixture(scope="module")
def study(real_assistant):
    return stored.load_study(real_assistant.index.build_dir)


def entry_for(study, question: str) -> BankEntry:
    found = [e for e in study.entries if e.question == question]
    assert found, f"{question!r} is not in the bank"
    return found[0]


def test_the_bank_is_stored_with_the_index_and_checksummed(real_assistant, study):
    manifest = real_assistant.index.manifest
    assert "study" in manifest["extras"]
    assert {"study/bank.jsonl", "study/point_vectors.npy", "study/cards.jsonl"} <= set(
        manifest["files"])
    report = study.report
    assert sum(report["kept"].values()) == len(study.entries) >= 150
    assert report["merged_pairs"]  # duplicates were merged


def test_bank_questions_read_well_and_have_gradable_key_points(study, real_assistant):
    cfg = real_assistant.settings.interview
    questions = [e.question for e in study.entries]
    assert len(set(questions)) == len(questions)
    assert not [q for q in questions if q.startswith("Explain ") and len(q.split()) <= 2]
    assert not [q for q in questions if ": " in q.split("?")[0][:60] and q.endswith("?")
                and q.split(":")[0].istitle() and "solve" not in q and "overview" not in q]
    for e in study.entries:
        assert len(e.key_points) >= cfg.min_key_points, e.question
        for p in e.key_points:
            assert "?" not in p.text and not p.text.lower().startswith("discussion points")
            assert 1 <= p.n <= len(e.source_chunk_ids)
    assert LORA_Q in questions


def test_cards_cite_their_source(study, real_assistant):
    ids = {c.chunk_id for c in real_assistant.index.chunks}
    kinds = {c.kind for c in study.cards}
    assert kinds == {"cloze", "mcq"}
    for c in study.cards[:200]:
        assert c.chunk_id in ids and c.title and study_cards.BLANK in c.prompt
        assert study_cards.check_answer(c, c.answer)[0]
        if c.kind == "mcq":
            assert len(c.options) == 4 and c.answer in c.options


def test_cards_have_answerable_stems_and_same_kind_options(study):
    for c in study.cards:
        assert len(c.prompt.split()) >= 7 and "+" not in c.prompt, c.prompt
        assert c.answer.lower() not in {"llm", "llms", "gpu", "gpus", "ssm"}, c.prompt
        if c.kind == "mcq":
            kinds = {study_cards.answer_kind(c.model_copy(update={"answer": o}))
                     for o in c.options if o != c.answer}
            assert len(kinds) == 1 or c.answer_type == "name", (c.prompt, c.options)
            if c.answer_type == "name":
                own = study_cards.name_kind(c.answer, c.fact)
                assert all(study_cards.name_kind(o) in (own, "method") for o in c.options)


def test_good_answer_beats_wrong_echo_and_off_topic(study, real_assistant):
    entry = entry_for(study, LORA_Q)

    def score(text):
        return grading.assess(real_assistant, study, entry, text).score

    good, wrong = score(GOOD_LORA), score(WRONG_LORA)
    assert good >= 4.5 and wrong <= 1.0 and good >= wrong + 4
    assert score(LORA_Q) == 0.0  # restating the question earns nothing
    assert score(OFF_TOPIC) == 0.0
    assert score("asdkj qwe zxcvb lorem ipsum dolor sit amet") == 0.0


def test_a_contradiction_loses_the_point_and_says_why(study, real_assistant):
    entry = entry_for(study, LORA_Q)
    result = grading.assess(real_assistant, study, entry, WRONG_LORA)
    wrong = [p for p in result.points if p.contradicted]
    assert wrong and all(p.credit == 0 for p in wrong)
    assert any("contradicts" in n for n in result.notes)


def test_grade_cites_points_and_shows_the_model_answer(study, real_assistant):
    entry = entry_for(study, LORA_Q)
    grade = grading.grade_answer(real_assistant, study, entry, GOOD_LORA)
    numbers = {c.n for c in grade.evidence}
    assert grade.grader == "offline" and grade.covered
    for point in grade.key_points:
        assert point.n in numbers and point.title
    assert grade.model_answer.question == entry.question


def test_grader_calibration_on_the_held_out_split(study, real_assistant):
    """The gate of `rag eval --grading --gate` (evals/thresholds_grading.toml) on
    evals/grading.jsonl's held-out questions; the README has the measured figures."""
    from rag.evaluation import grading as calibration
    from rag.settings import REPO_ROOT

    rows = [r for r in calibration.load_calibration(REPO_ROOT / "evals" / "grading.jsonl")
            if r.split == "test"]
    questions = {r.question for r in rows}
    assert len(questions) >= 20 and len(rows) == 5 * len(questions)
    summary = calibration.summarise(calibration.score_rows(real_assistant, study, rows))
    gate = calibration.load_gate(REPO_ROOT / "evals" / "thresholds_grading.toml")
    assert not calibration.gate(summary, gate)


def test_calibration_set_is_large_split_by_question_and_labelled():
    from rag.evaluation import grading as calibration
    from rag.settings import REPO_ROOT

    rows = calibration.load_calibration(REPO_ROOT / "evals" / "grading.jsonl")
    by_question: dict[str, set] = {}
    for r in rows:
        by_question.setdefault(r.question, set()).add((r.split, r.cls))
    assert len(by_question) >= 60
    for q, seen in by_question.items():
        assert len({s for s, _ in seen}) == 1, q  # a question is in one split only
        assert {c for _, c in seen} == set(calibration.CLASSES), q
    assert all(0 <= r.label <= 10 for r in rows)
    junk = [r.label for r in rows if r.cls == "junk"]
    assert set(junk) == {0.0}


def test_grading_gate_reads_thresholds(tmp_path):
    from rag.evaluation import grading as calibration

    path = tmp_path / "gate.toml"
    path.write_text("[min]\nspearman = 0.8\n[max]\nwrong_mean = 3.0\n")
    gate = calibration.load_gate(path)
    ok = {"spearman": 0.85, "mean": {"wrong": 2.0, "excellent": 9.0}}
    assert calibration.gate(ok, gate) == []
    bad = calibration.gate({"spearman": 0.7, "mean": {"wrong": 4.0}}, gate)
    assert len(bad) == 2 and "spearman" in bad[0]
    path.write_text("[min]\nrecall = 1\n")
    with pytest.raises(RagError, match="unknown"):
        calibration.load_gate(path)


def test_one_where_the_point_says_all_is_a_contradiction():
    from rag.study.claims import contradiction

    point = "Inference challenges: need to load all experts."
    assert contradiction(point, "you only need to load the one expert a token is routed to")
    assert not contradiction(point, "you must keep all experts in memory")


def test_a_guide_question_takes_key_points_from_passages_about_what_it_asks():
    """"Explain the attention mechanism in transformers" is answered by the Transformer's
    passages, not by Mamba's section (whose problem line only mentions attention); an
    acronym counts spelled out ("ToT": the Tree of Thoughts card)."""
    from rag.records import Chunk

    def chunk(title, section):
        return Chunk(chunk_id="c", doc_id="d", title=title, section=section, text="x",
                     embed_text="x")
    asked = "Explain the attention mechanism in transformers"
    assert stored._names_asked(chunk("Attention Is All You Need", "Paper card"), asked)
    assert not stored._names_asked(chunk("Papers Reading Guide", "Efficiency & Scaling "
                                         "Papers › 9. Mamba: Linear-Time Sequence Modeling"),
                                   asked)
    assert stored._names_asked(chunk("Tree of Thoughts: Deliberate Problem Solving with "
                                     "Large Language Models", "Paper card"),
                               "Compare CoT, ToT, and ReAct")


def test_the_opposite_of_what_a_point_denies_agrees_with_it():
    """"without an explicit reward model": an answer's "implicit reward" restates it (the
    swapped antonym is the one the point denies), while "an explicit reward model is
    trained" still contradicts it; a word a loose negation reaches ("too little resolution
    add further ...") is no denial."""
    point = "Optimize the policy directly from preference data without an explicit reward model."
    agrees = ("The implicit reward is just beta times the log-ratio between the policy and a "
              "frozen reference model.")
    assert grading.contradiction(point, agrees) == ""
    assert grading.contradiction("DPO uses an explicit reward.", "DPO uses an implicit "
                                 "reward.").startswith("opposite claim")
