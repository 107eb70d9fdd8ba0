"""The grader's grounding check (rag/study/grounding.py): an answer unit whose specific
terms its question's sources never use earns no key point, and a short unit made of
the sources' own terms counts as relevant.  Small strings only (no model)."""

from __future__ import annotations

import numpy as np
import pytest

from rag.records import KeyPoint
from rag.settings import InterviewSettings
from rag.study import grounding
from rag.study.claims import stems_of
from rag.study.grade import judge_point

SOURCES = ("PagedAttention stores the KV cache in fixed-size blocks that need not be "
           "contiguous, like pages of virtual memory, so vLLM wastes almost no memory and "
           "batches more requests, raising throughput 2 to 4 times.")
QUESTION = "What problem does PagedAttention solve, and how?"
POINT = KeyPoint(text="PagedAttention stores the KV cache in fixed-size blocks like pages of "
                 "virtual memory.", n=1, title="vLLM", section="", weight=1.0)
RIGHT = "It stores the KV cache in fixed-size blocks, like virtual memory pages."
WRONG = "It compresses model weights into blocks on a slow disk and loads them on demand."


def _rare(stem: str) -> float:
    return 1.0


def _support(unit: str) -> grounding.Support:
    sources = grounding.source_stems("e1", [SOURCES])
    return grounding.unit_support(unit, stems_of(QUESTION), sources, _rare)


def test_supported_and_unsupported_units():
    right, wrong = _support(RIGHT), _support(WRONG)
    assert right.share == 0.0 and right.missing == ()
    assert wrong.share > 0.5
    assert {"compress", "disk", "demand"} <= set(wrong.missing)
    assert "block" not in wrong.missing  # the sources' own terms are supported
    assert grounding.Support(0.0, 0.0).share == 0.0  # no specific term: nothing unsupported


def test_common_words_weigh_nothing_and_question_terms_are_context():
    sources = grounding.source_stems("e2", [SOURCES])
    common = grounding.unit_support("PagedAttention is a thing people like.",
                                    stems_of(QUESTION), sources, lambda s: 0.0)
    assert common.weight == 0.0 and common.share == 0.0 and common.missing == ()
    assert "pagedattent" not in {s for s in _support(WRONG).missing}


def test_on_sources_needs_specific_supported_terms():
    assert grounding.on_sources(_support(RIGHT), 0.0)
    assert not grounding.on_sources(_support(WRONG), 0.3)
    assert not grounding.on_sources(grounding.Support(0.0, 0.0), 0.5)
    assert not grounding.on_sources(_support(RIGHT), -1.0)  # negative limit: off


def test_source_stems_are_cached_per_entry_and_text():
    a = grounding.source_stems("e3", [SOURCES])
    assert grounding.source_stems("e3", [SOURCES]) is a
    assert "disk" in grounding.source_stems("e3", [SOURCES, "Weights live on disk."])


def test_an_unsupported_unit_earns_no_key_point():
    cfg = InterviewSettings()
    units = [RIGHT, WRONG]
    sims = np.array([0.7, 0.7])
    shares = [_support(u).share for u in units]
    right = judge_point(POINT, QUESTION, sims[:1], units[:1], cfg, shares=shares[:1])
    wrong = judge_point(POINT, QUESTION, sims[1:], units[1:], cfg, shares=shares[1:])
    assert right.credit == 1.0
    assert _support(WRONG).share > cfg.unsupported_limit + cfg.unsupported_band / 2
    assert wrong.credit == 0.0
    # without the grounding shares the same wrong unit earned the point
    assert judge_point(POINT, QUESTION, sims[1:], units[1:], cfg).credit == 1.0
    lenient = cfg.model_copy(update={"unsupported_limit": 1.0})
    assert judge_point(POINT, QUESTION, sims[1:], units[1:], lenient,
                       shares=shares[1:]).credit == 1.0


def test_a_sentence_is_as_unsupported_as_its_worst_clause():
    clause_bad = "PagedAttention compresses model weights into pages on a slow disk"
    clause_ok = "the KV cache is stored in fixed-size blocks of virtual memory"
    sentence = f"{clause_bad}; {clause_ok}."
    units = [sentence, clause_bad, clause_ok]
    supports = [_support(u) for u in units]
    shares = grounding.claim_shares(units, supports)
    assert supports[0].share < supports[1].share  # diluted by the supported clause
    assert shares[0] == shares[1] == supports[1].share
    assert shares[2] == supports[2].share == 0.0


def test_trust_ramps_around_the_limit():
    assert grounding.trust(0.2, 0.55, 0.1) == 1.0
    assert grounding.trust(0.55, 0.55, 0.1) == pytest.approx(0.5)
    assert grounding.trust(0.7, 0.55, 0.1) == 0.0
    assert grounding.trust(0.5, 0.5, 0.0) == 1.0 and grounding.trust(0.51, 0.5, 0.0) == 0.0


def test_a_hyphenated_term_counts_once_and_matches_its_solid_spelling():
    sources = grounding.source_stems("e4", ["The model is pretrained on web text."])
    support = grounding.unit_support("It is pre-trained on web text.", set(), sources, _rare)
    assert support.missing == () and support.share == 0.0
    assert support.weight == len({"pre-train", "web", "text"})


def test_the_grade_notes_name_the_unsupported_terms():
    from rag.study.grade import Prepared, unsupported_notes

    units = [RIGHT, WRONG]
    prep = Prepared(units, np.zeros((2, 3)), [], [0, 1], [_support(u) for u in units])
    (note,) = unsupported_notes(prep, InterviewSettings())
    assert note.startswith("1 sentence(s)") and "compress" in note and "earn no point" in note
    assert unsupported_notes(Prepared([RIGHT], np.zeros((1, 3)), [], [0],
                                      [_support(RIGHT)]), InterviewSettings()) == []


def test_source_terms_prefix_lookup_matches_present():
    from rag.study.claims import present

    stems = ["train", "trainabl", "low", "low-rank", "attent", "kv", "pretrain", "quadrat"]
    sources = grounding.SourceTerms(stems)
    for probe in ["train", "trainer", "tra", "low", "lower", "lo", "attention", "atte",
                  "kv", "kvs", "pre", "pretrained", "quad", "quadratic", "x", "zzzz"]:
        assert sources.has(probe) == present(probe, frozenset(stems)), probe


def test_unverified_discount_separates_grounded_from_unverifiable_answers():
    """Two answers at the same score: the one in the sources' terms keeps it, the one
    whose specific terms the sources mostly lack loses a little (a tie at 10 is broken);
    no units or no cost: no discount."""
    cfg = InterviewSettings()
    sources = grounding.source_stems("e1", [SOURCES])
    asked = stems_of(QUESTION)

    def discount(units, cost=cfg.unverified_cost):
        return grounding.discount(10.0, units, asked, sources, _rare, cfg.unverified_free,
                                  cost)
    assert discount([RIGHT]) == 10.0
    assert 10.0 * (1 - cfg.unverified_cost) <= discount([WRONG]) < 10.0
    assert discount([WRONG], cost=0.0) == 10.0
    assert discount([]) == 10.0


def test_a_unit_about_something_else_is_foreign():
    """A pun on the subject's name ("chinchilla" the rodent, "mistral" the wind) talks in
    words the corpus never uses; a vague on-topic sentence does not."""
    known = {"model", "train", "token", "data", "effici", "help", "bottleneck", "case",
             "els", "someth", "small", "keep"}.__contains__
    context = stems_of("What problem does Mistral 7B solve, and how?")
    wind = "The mistral is a cold wind that blows down the Rhône valley into the Gulf of Lion."
    assert grounding.is_foreign(wind, context, known, 3)
    vague = "It doesn't help in some cases where something else is the bottleneck."
    assert not grounding.is_foreign(vague, context, known, 3)
    assert not grounding.is_foreign("I'm sure there's a trick, isn't there?", context,
                                    known, 3)  # contractions are no topic


def test_a_foreign_unit_earns_no_topical_floor():
    from rag.study.grade import Prepared, topical_floor

    cfg = InterviewSettings()
    qvec = np.array([1.0, 0.0])
    units = ["Chinchillas are small rodents from the Andes with dense fur."]
    vecs = np.array([[0.9, 0.1]])  # the shared name brings it close to the question
    plain = Prepared(units, vecs, [], [0])
    foreign = Prepared(units, vecs, [], [0], off_subject=[True])
    assert topical_floor(0.0, plain, qvec, [], cfg) == cfg.topical_credit
    assert topical_floor(0.0, foreign, qvec, [], cfg) == 0.0


def test_a_wrong_number_for_the_same_head_noun_contradicts():
    """"400 thousand hand-labelled ImageNet pairs" for "400 million image-text pairs":
    the words right after the numbers differ, the thing counted (pairs) does not."""
    from rag.study import claims, terms

    point = "The authors gathered 400 million image-text pairs from the internet."
    unit = "It trains on about 400 thousand hand-labelled ImageNet pairs, and so on."
    assert terms.number_slots(point)["=pair"] == {4e8}
    assert claims.number_conflict(point, unit).startswith("different number")
    assert not claims.number_conflict(point, "It trains on 400 million web pairs.")


def test_a_percentage_of_the_same_action_is_forgiven_only_by_that_action():
    """"BERT masks 50% of tokens ... and only 15% during fine-tuning" says the wrong share
    for the masking the point is about; the right number elsewhere in the answer, for
    another action, does not excuse it.  The same number for the same action does."""
    from rag.study import claims, terms

    point = "Mask fifteen percent of the input tokens and predict them."
    wrong = "BERT masks 50% of the input tokens, but it uses only 15% during fine-tuning."
    assert terms.number_slots(point)["%^mask"] == {15.0}
    assert claims.number_conflict(point, wrong) == "different number (50% for 15%)"
    assert not claims.number_conflict(point, "BERT masks 15% of its input tokens.")
    assert not claims.number_conflict(point, "About 15 percent of tokens are masked.")


def test_a_wrong_number_is_not_excused_by_a_clause_of_its_own_sentence():
    """The clause "CLIP is trained with a contrastive objective" may cover the point, but
    the sentence it belongs to counts 400 thousand pairs where the point says 400
    million: the point is contradicted.  A number conflict is checked even where the
    sentence carries too few of the point's terms to cover it."""
    cfg = InterviewSettings()
    point = KeyPoint(text="CLIP trains an image encoder and a text encoder with a contrastive "
                     "objective on 400 million image-text pairs.", n=1, title="CLIP",
                     section="", weight=1.0)
    sentence = ("CLIP trains an image encoder and a text encoder with a contrastive "
                "objective, on about 400 thousand hand-labelled pairs")
    clause = "CLIP trains an image encoder and a text encoder with a contrastive objective"
    judged = judge_point(point, "How is CLIP trained?", np.array([0.8, 0.8]),
                         [sentence, clause], cfg)
    assert judged.contradicted and "different number" in judged.why
    right = judge_point(point, "How is CLIP trained?", np.array([0.8]), [clause], cfg)
    assert right.credit > 0 and not right.contradicted


def test_a_plain_denial_is_not_excused_by_a_clause_of_its_own_sentence():
    """"..., reasoning emerges because RL is applied on top of SFT on chains of thought;
    R1-Zero never developed reflection": the first clause shares the point's words, but
    its sentence denies right after "never" what the point asserts (develops).  A
    negation further on ("which don't capture whether a program works") is about its
    verb, not the point's word: the clause keeps its credit."""
    cfg = InterviewSettings()
    point = KeyPoint(text="R1-Zero develops chain-of-thought reasoning spontaneously "
                     "through RL alone.", n=1, title="DeepSeek-R1", section="", weight=1.0)
    question = "What is emergent reasoning from RL in DeepSeek R1?"
    clause = ("R1-Zero reasoning emerges with RL alone, as long chains of thought appear "
              "spontaneously")
    denied = clause + ", though R1-Zero never developed reflection"
    judged = judge_point(point, question, np.array([0.8, 0.8]), [denied, clause], cfg)
    assert judged.contradicted and "negated" in judged.why
    further = clause + ", which the benchmarks do not capture for developed models"
    kept = judge_point(point, question, np.array([0.8, 0.8]), [further, clause], cfg)
    assert kept.credit > 0 and not kept.contradicted


def test_unable_and_little_deny_what_follows():
    """"unable to tell them apart" and "little ... data existed" say nearly none: an
    answer's "could no longer tell them apart" restates them ("a little" does not)."""
    from rag.study import terms

    assert {"tell", "apart"} <= terms.negated_stems("leaving MMLU unable to tell apart models")
    assert "data" in terms.negated_stems("Because little instruction data existed")
    assert not terms.negated_stems("It adds a little noise to the data")
    assert terms.first_negated("R1-Zero never developed reflection") == {"develop"}
    assert terms.first_negated("which don't capture whether a program works") == {"captur"}


@pytest.mark.parametrize("unit", [
    "I'm not familiar with SWE-agent, I've only really used Copilot.",
    "FlashAttention-2, yeah, I know there's a version 2, but I couldn't tell you what's in it.",
    "Hmm, ORPO... honestly I'm not sure, I'd have to look it up.",
    "I haven't come across that one, sorry, I really don't know."])
def test_admitting_not_to_know_is_off_subject(unit):
    assert grounding.off_subject(unit, set(), lambda s: True, 3)


def test_an_on_subject_unit_is_not_off_subject():
    unit = "It keeps the KV cache in fixed-size blocks, so I know memory is not wasted."
    assert not grounding.off_subject(unit, set(), lambda s: True, 3)


def test_image_is_no_imagenet_in_what_a_source_rules_out():
    """The CLIP card says it "never trains on ImageNet's labeled examples": an answer that
    trains an *image* encoder does not assert what that rules out; one trained on
    ImageNet does."""
    from rag.study.claims import contradiction

    point = ("Zero-shot, it equals the ImageNet accuracy of the original ResNet-50 even "
             "though it never trains on ImageNet's 1.28 million labeled examples.")
    right = "CLIP trains an image encoder and a text encoder with a contrastive objective."
    wrong = "CLIP is trained on ImageNet's labelled examples with a contrastive objective."
    assert contradiction(point, right) == ""
    assert "rules out" in contradiction(point, wrong)


def test_a_clause_is_off_the_subject_only_with_its_whole_sentence():
    sentence = "Their dot product has variance d_k, so its standard deviation is sqrt(d_k)."
    clause = "so its standard deviation is sqrt(d_k)."
    alone = "The mistral is a cold wind in Provence."
    flags = grounding.whole_sentence([False, True, True], [sentence, clause, alone])
    assert flags == [False, False, True]


def test_beating_what_the_sources_say_it_trails_is_an_opposite_claim():
    """"ViT beats ResNets when trained on ImageNet alone" swaps the point's "trails" for
    "beats".  A card that reports both states of the same thing ("trailed the average
    human rater" without chain-of-thought, "beats the average human rater" with it) makes
    "beat the average human rater" no contradiction of its first sentence."""
    from rag.study.claims import contradiction

    point = ("Lacking the inductive biases of CNNs, ViT trails comparable ResNets when "
             "trained only on ImageNet.")
    wrong = "It beats ResNets when trained on ImageNet alone."
    assert contradiction(point, wrong) == "opposite claim (beat for trail)"
    bbh = ("The paper isolates the part of BIG-Bench where language models still trailed "
           "the average human rater: 23 tasks.")
    answer = ("Chain-of-thought prompting lets models like Codex beat the average human "
              "rater on most of the 23 tasks.")
    assert contradiction(bbh, answer).startswith("opposite claim")
    stated = ["With CoT, PaLM 540B beats the average human rater on 10 of the 23 tasks and "
              "Codex on 17 of 23."]
    assert contradiction(bbh, answer, stated=stated) == ""
