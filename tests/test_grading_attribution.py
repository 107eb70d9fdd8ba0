"""The grader's misattribution check (rag/study/attribution.py): a clause that gives its
subject a property the sources attribute elsewhere ("Mamba is quadratic" where they
say Mamba is linear and attention quadratic) earns no key point and contradicts it.
Small strings only (no model)."""

from __future__ import annotations

import numpy as np

from rag.records import KeyPoint
from rag.settings import InterviewSettings
from rag.study import attribution
from rag.study.grade import judge_point

SOURCES = (
    "Transformers model language well, but attention cost grows quadratically with "
    "sequence length.",
    "Mamba trains in linear time and generates with constant memory per step.",
    "FlashAttention computes exact attention in tiles kept in on-chip SRAM.",
)
QUESTION = "What problem does Mamba solve, and what is its key idea?"
POINT = KeyPoint(text="Mamba trains in linear time, generates with constant memory per step.",
                 n=1, title="Mamba", section="", weight=1.0)


def _pairs(*texts: str) -> attribution.SourcePairs:
    return attribution.build_pairs(texts or SOURCES)


def test_names_are_capitalised_or_acronyms_and_architecture_parts():
    names = attribution.source_names(SOURCES)
    assert {"mamba", "flashattent", "sram", "attent", "transform"} <= names
    assert "the" not in names and "sequenc" not in names
    assert "linear" not in names  # a property is never a subject


def test_sources_pair_each_subject_with_its_own_properties():
    pairs = _pairs()
    assert ("mamba", "linear") in pairs.stated
    assert ("attent", "quadrat") in pairs.stated
    assert ("mamba", "quadrat") not in pairs.stated
    assert ("flashattent", "exact") in pairs.stated


def test_a_swapped_subject_is_flagged():
    why = attribution.unit_problem("Mamba makes attention quadratic again to improve recall.",
                                   _pairs())
    assert why.startswith("misattributed") and "linear" in why
    assert "approxim" in attribution.unit_problem(
        "FlashAttention approximates the softmax with a low-rank projection.", _pairs())


def test_right_negated_hedged_or_pronoun_claims_are_not_flagged():
    pairs = _pairs()
    for unit in ("Mamba scales linearly with sequence length.",
                 "Attention is quadratic in sequence length.",
                 "Mamba is not quadratic in sequence length.",
                 "Mamba is linear rather than quadratic like attention.",
                 "It makes Mamba quadratic.",  # the subject is a pronoun: unknown
                 "Jamba is quadratic."):  # the sources say nothing of Jamba
        assert attribution.unit_problem(unit, pairs) == "", unit


def test_a_property_stated_in_contrast_belongs_to_the_other_subject():
    pairs = _pairs("Mamba handles long sequences, unlike Transformers, which are slow "
                   "on them.")
    assert ("transform", "slow", "mamba") in pairs.contrasted
    assert ("mamba", "slow") not in pairs.stated
    assert "said of transform" in attribution.unit_problem("Mamba is slow at inference.", pairs)
    assert attribution.unit_problem("Transformers are slow on long sequences.", pairs) == ""
    # "Unlike X, Y is P": the property is Y's
    pairs = _pairs("Unlike RNNs, the Transformer is parallel across positions.")
    assert ("transform", "parallel") in pairs.stated
    assert ("rnns", "parallel") not in pairs.stated


def test_a_pronoun_stands_for_the_subject_before_it():
    # in the sources: "Its central idea ..." is PPO's
    pairs = _pairs("PPO comes from OpenAI. Its clipped objective keeps each update small.")
    assert ("ppo", "small") in pairs.stated
    # in the answer: "...: it is large" is GPT-3's, and "them" is no subject
    pairs = _pairs("GPT-3 is a large model trained on 300 billion tokens.")
    why = attribution.unit_problem("GPT-3 solved few-shot learning: it is a small model.", pairs)
    assert "small of gpt-3" in why
    assert attribution.unit_problem("GPT-3 is large: it is not small.", pairs) == ""
    # a pronoun with no subject before it stands for nothing
    assert attribution.text_pairs("It is small.", _pairs().names) == []


def test_source_pairs_are_cached_per_entry_and_text():
    a = attribution.source_pairs("m1", SOURCES)
    assert attribution.source_pairs("m1", SOURCES) is a
    assert attribution.source_pairs("m1", SOURCES[:1]) is not a


def test_a_misattributed_unit_contradicts_the_point_it_matches():
    cfg = InterviewSettings()
    unit = "Mamba trains in quadratic time and generates with constant memory per step."
    why = attribution.unit_problem(unit, _pairs())
    sims = np.array([0.8])
    plain = judge_point(POINT, QUESTION, sims, [unit], cfg)
    judged = judge_point(POINT, QUESTION, sims, [unit], cfg, misattributed=[why])
    assert why and judged.contradicted and judged.credit == 0.0
    assert plain.contradicted and judged.why == plain.why  # the point's own reason first
    right = "Mamba trains in linear time and generates with constant memory per step."
    both = judge_point(POINT, QUESTION, np.array([0.8, 0.8]), [right, unit], cfg,
                       misattributed=["", why])
    assert both.credit == 1.0 and not both.contradicted  # a correct statement wins


def test_a_misattributed_unit_without_the_points_terms_earns_nothing():
    cfg = InterviewSettings()
    point = KeyPoint(text="Mamba makes SSM parameters functions of the input, a selective "
                     "state space model computed with a parallel scan.", n=2, title="Mamba",
                     section="", weight=1.0)
    unit = "Mamba makes attention quadratic again with a selective scan."
    why = attribution.unit_problem(unit, _pairs())
    assert why
    assert judge_point(point, QUESTION, np.array([0.8]), [unit], cfg).credit > 0
    judged = judge_point(point, QUESTION, np.array([0.8]), [unit], cfg, misattributed=[why])
    assert judged.credit == 0.0


def test_a_misattributing_answer_gets_no_topical_floor():
    from rag.study.grade import Prepared, topical_floor

    cfg = InterviewSettings()
    qvec = np.array([1.0, 0.0])
    units = ["Mamba makes attention quadratic again."]
    vecs = np.array([[0.9, 0.1]])  # close to the question: relevant
    plain = Prepared(units, vecs, [], [0])
    flagged = Prepared(units, vecs, [], [0], misattributed=["misattributed (quadrat ...)"])
    assert topical_floor(0.0, plain, qvec, [], cfg) == cfg.topical_credit
    assert topical_floor(0.0, flagged, qvec, [], cfg) == 0.0


def test_a_unit_too_far_to_cover_a_point_can_still_contradict_it():
    """At cosine 0.37 a unit covers nothing, but "quadratic time" for "linear time" of the
    same thing is evidence of its own: the point is contradicted, not merely missed."""
    cfg = InterviewSettings()
    wrong = "Mamba trains in quadratic time."
    far = judge_point(POINT, QUESTION, np.array([0.37]), [wrong], cfg)
    assert far.contradicted and far.credit == 0.0
    right = "Mamba trains in linear time."
    assert judge_point(POINT, QUESTION, np.array([0.37]), [right], cfg).credit == 0.0
    below = judge_point(POINT, QUESTION, np.array([0.3]), [wrong], cfg)
    assert not below.contradicted  # below contradiction_threshold: too far to judge


# --- entries of one code dictionary ("gptq": {...}, "sparsegpt": {...}) --------------
def test_a_dictionary_entrys_point_said_of_another_entry_is_misattributed():
    """SparseGPT's "Layer-wise reconstruction with Hessian approximation" said of Wanda
    (named as a name) is misattributed; a sentence that names SparseGPT too, or names no
    entry, is not; "came" as a verb is no entry named."""
    owners = {"gptq", "wanda", "sparsegpt", "came"}
    wrong = "Wanda, by contrast, needs full backpropagation to compute a Hessian for every weight."
    assert "said of wanda" in attribution.owner_problem(wrong, "sparsegpt", owners)
    both = ("SparseGPT reconstructs each layer with a Hessian approximation, and Wanda is "
            "simpler still.")
    assert attribution.owner_problem(both, "sparsegpt", owners) == ""
    assert attribution.owner_problem("It reconstructs each layer with a Hessian.",
                                     "sparsegpt", owners) == ""
    assert attribution.owner_problem("The Hessian idea came from optimal brain surgeon.",
                                     "sparsegpt", owners) == ""


def test_a_point_stated_of_another_dictionary_entry_earns_nothing():
    """Through the grader: the point's credit is taken and, as it carried the point's
    terms, it contradicts the point; the same sentence naming SparseGPT keeps it."""
    from rag.records import BankEntry
    from rag.study.grade import Prepared, judge_points

    cfg = InterviewSettings()
    point = KeyPoint(text="Layer-wise reconstruction with Hessian approximation", n=1,
                     title="Guide", section="Model Compression", weight=1.0)
    entry = BankEntry(entry_id="e", question="Give an overview of model compression.",
                      topic="compression", key_points=(point,), source_chunk_ids=(),
                      origin="guide")
    owners = {point.text: "sparsegpt", "Weight magnitude based pruning": "wanda"}

    def judged(unit: str) -> KeyPoint:
        prep = Prepared([unit], np.ones((1, 2)) / np.sqrt(2), [], [0])
        return judge_points(entry, prep, np.ones((1, 2)) / np.sqrt(2), cfg,
                            owners=owners)[0]

    wrong = judged("Wanda does layer-wise reconstruction with a Hessian approximation.")
    assert wrong.credit == 0.0 and wrong.contradicted and "wanda" in wrong.why
    right = judged("SparseGPT does layer-wise reconstruction with a Hessian approximation.")
    assert right.credit == 1.0 and not right.contradicted


# --- points of several paper cards ("Compare CoT, ToT, and ReAct") ---------------------
def test_a_cards_point_said_of_another_compared_paper_earns_nothing():
    """ReAct's card: "prompts a language model to interleave reasoning traces with
    actions"; "Tree of Thoughts then interleaves thoughts with search actions" says it of
    ToT (a card's name of several words counts when all of them are named).  A point
    that itself names the other paper ("keeps BERT-base's hidden size", NeoBERT's) is no
    sibling's to take."""
    from rag.study.owners import owners_other

    owners = {"ReAct interleaves reasoning traces with actions.": "react",
              "Tree of Thoughts searches over partial solutions.": "tree thought"}
    siblings = owners_other(owners, "ReAct interleaves reasoning traces with actions.")
    wrong = "Tree of Thoughts then interleaves thoughts with search actions."
    assert "said of tree thought" in attribution.owner_problem(wrong, "react", siblings)
    right = "ReAct, unlike Tree of Thoughts, interleaves thoughts with actions."
    assert attribution.owner_problem(right, "react", siblings) == ""
    neo = {"NeoBERT keeps BERT-base's hidden size.": "neobert", "BERT masks 15%.": "bert"}
    assert "bert" not in owners_other(neo, "NeoBERT keeps BERT-base's hidden size.")
