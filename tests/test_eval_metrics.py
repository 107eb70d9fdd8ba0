"""Our evaluation metrics, the gate and the report helpers on hand-made cases (no model)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rag.evaluation import metrics
from rag.evaluation.report import compare_rows, compare_table, load_results, summary_table
from rag.evaluation.run import (
    SUMMARY_METRICS,
    EvalError,
    EvalQuestion,
    Evidence,
    QuestionResult,
    Retrieved,
    Thresholds,
    check_gate,
    load_dataset,
    load_thresholds,
    merge_notes,
    summarize,
)
from rag.settings import REPO_ROOT

EV = [{"doc_id": "doc-a", "quote": "Scaled dot-product attention"},
      {"doc_id": "arxiv:1", "quote": "sinusoidal positional encodings"}]
GOOD_A = ("doc-a", "We use **scaled   dot-product** attention here.")
GOOD_B = ("arxiv:1", "The sinusoidal positional encodings supply order.")
BAD = ("doc-z", "Mixture of experts routes tokens.")


def test_supports_needs_same_doc_and_quote_ignoring_case_space_and_bold():
    assert metrics.supports(*GOOD_A, EV[0])
    assert not metrics.supports("doc-b", GOOD_A[1], EV[0])
    assert not metrics.supports(*BAD, EV[0])


@pytest.mark.parametrize(("passages", "rank", "hits", "rr"), [
    ([GOOD_A, BAD, BAD], 1, (1.0, 1.0, 1.0), 1.0),        # perfect
    ([BAD, BAD, GOOD_B], 3, (0.0, 1.0, 1.0), 1 / 3),
    ([BAD, BAD, BAD, BAD, BAD], 0, (0.0, 0.0, 0.0), 0.0),  # wrong
])
def test_rank_hit_at_k_and_reciprocal_rank(passages, rank, hits, rr):
    assert metrics.first_relevant_rank(passages, EV) == rank
    assert tuple(metrics.hit_at_k(rank, k) for k in (1, 3, 5)) == hits
    assert metrics.reciprocal_rank(rank) == pytest.approx(rr)


def test_hit_at_k_excludes_ranks_beyond_k():
    assert metrics.hit_at_k(6, 5) == 0.0


def test_context_recall_and_precision_against_evidence():
    assert metrics.evidence_recall([GOOD_A, GOOD_B], EV) == 1.0
    assert metrics.evidence_precision([GOOD_A, GOOD_B], EV) == 1.0
    assert metrics.evidence_recall([BAD], EV) == 0.0
    assert metrics.evidence_precision([BAD, BAD], EV) == 0.0
    assert metrics.evidence_recall([GOOD_A, BAD], EV) == 0.5
    assert metrics.evidence_precision([GOOD_A, BAD, BAD, BAD], EV) == 0.25
    assert metrics.evidence_precision([], EV) == 0.0


def test_citation_validity():
    assert metrics.citation_validity("Point one [1]. Point two [2].", [1, 2, 3]) == 1.0
    assert metrics.citation_validity("No markers at all.", [1]) == 1.0
    assert metrics.citation_validity("Point [1]. Invented [4].", [1, 2, 3]) == 0.0
    assert metrics.citation_validity("Anything [1].", []) == 0.0


def test_citation_support():
    assert metrics.citation_support([GOOD_B], EV) == 1.0
    assert metrics.citation_support([BAD, GOOD_A], EV) == 1.0
    assert metrics.citation_support([BAD], EV) == 0.0
    assert metrics.citation_support([], EV) == 0.0


def test_abstention_both_directions():
    perfect = metrics.abstention_scores([(True, False), (True, False), (False, True)])
    assert perfect == {"answered_when_answerable": 1.0, "abstained_when_unanswerable": 1.0,
                       "abstention_accuracy": 1.0}
    wrong = metrics.abstention_scores([(True, True), (False, False)])
    assert wrong == {"answered_when_answerable": 0.0, "abstained_when_unanswerable": 0.0,
                     "abstention_accuracy": 0.0}
    mixed = metrics.abstention_scores([(True, False), (True, True), (False, True), (False, False)])
    assert mixed["abstention_accuracy"] == 0.5
    assert metrics.abstention_correct(True, False) == 1.0
    assert metrics.abstention_correct(False, True) == 1.0
    assert metrics.abstention_correct(True, True) == 0.0
    assert metrics.abstention_correct(False, False) == 0.0


def test_reference_chunk_ids_are_the_supporting_chunks():
    chunks = [("c1", *BAD), ("c2", *GOOD_A), ("c3", *GOOD_B), ("c4", "doc-a", "unrelated")]
    assert metrics.reference_chunk_ids(chunks, EV) == ["c2", "c3"]
    assert metrics.reference_chunk_ids(chunks, []) == []


def test_question_scores_perfect_and_wrong():
    perfect = metrics.question_scores([GOOD_A, GOOD_B], [GOOD_A], [1, 2], "Yes [1].", EV,
                                      answerable=True, abstained=False)
    assert all(v == 1.0 for k, v in perfect.items() if k != "first_rank")
    wrong = metrics.question_scores([BAD, BAD], [BAD], [1, 2], "No [5].", EV,
                                    answerable=True, abstained=False)
    assert wrong["abstention_correct"] == 1.0  # it did answer an answerable question
    assert all(v == 0.0 for k, v in wrong.items() if k != "abstention_correct")


def test_question_scores_not_applicable_parts_are_none():
    abstained = metrics.question_scores([GOOD_A], [], [1], "I cannot answer.", [],
                                        answerable=False, abstained=True)
    assert abstained["abstention_correct"] == 1.0 and abstained["citation_validity"] == 1.0
    assert abstained["hit_at_5"] is None and abstained["citation_support"] is None
    refused = metrics.question_scores([GOOD_A], [], [1], "I cannot answer.", EV,
                                      answerable=True, abstained=True)
    assert refused["hit_at_1"] == 1.0 and refused["abstention_correct"] == 0.0
    assert refused["citation_support"] is None  # counted by abstention, not twice


def test_mean_and_latency_summary():
    assert metrics.mean_or_none([1.0, None, 0.0, float("nan")]) == 0.5
    assert metrics.mean_or_none([None]) is None
    lat = metrics.latency_summary([float(v) for v in range(1, 101)])
    assert lat["latency_p50_ms"] == pytest.approx(50.5)
    assert lat["latency_p95_ms"] == pytest.approx(95.05)


def _result(qid: str, answerable: bool, abstained: bool, scores: dict,
            latency: float = 10.0) -> QuestionResult:
    return QuestionResult(
        config="hybrid", id=qid, question="q?", kind="single" if answerable else "unanswerable",
        answerable=answerable, reference_answer="r", search_query="q?", answer="a [1]",
        abstained=abstained, retrieved=(Retrieved(rank=1, chunk_id="c", doc_id="d", title="t",
                                                  section="s", supports=True),),
        expected=(Evidence(doc_id="d", quote="x"),), reference_ids=("c",), cited=(1,),
        latency_ms=latency, scores=scores)


def test_summarize_averages_applicable_scores_only():
    results = [
        _result("q1", True, False, {"hit_at_5": 1.0, "reciprocal_rank": 1.0}, 10.0),
        _result("q2", True, False, {"hit_at_5": 0.0, "reciprocal_rank": 0.0}, 30.0),
        _result("q3", False, True, {"hit_at_5": None, "reciprocal_rank": None}, 20.0),
    ]
    summary = summarize(results)
    assert list(summary) == list(SUMMARY_METRICS)
    assert summary["hit_at_5"] == 0.5 and summary["mrr"] == 0.5
    assert summary["abstention_accuracy"] == 1.0
    assert summary["latency_p50_ms"] == 20.0
    assert summary["ragas_faithfulness"] is None
    only_answerable = summarize(results[:2])
    assert only_answerable["abstained_when_unanswerable"] is None  # nothing to measure


def test_notes_are_merged_across_configurations():
    same = {"hybrid": {"m": "not run"}, "dense": {"m": "not run"}}
    assert merge_notes(same) == {"m": "not run"}
    differ = {"hybrid": {"m": "failed on 1"}, "dense": {"m": "failed on 2"}}
    assert merge_notes(differ) == {"m": "hybrid: failed on 1; dense: failed on 2"}


def test_gate_lists_every_missed_threshold():
    thresholds = Thresholds(min={"hit_at_5": 0.9, "citation_validity": 1.0,
                                 "ragas_faithfulness": 0.5},
                            max={"latency_p95_ms": 100})
    good = {"hybrid": {"hit_at_5": 0.95, "citation_validity": 1.0, "ragas_faithfulness": 0.7,
                       "latency_p95_ms": 50.0}}
    assert check_gate(good, thresholds) == []
    bad = {"hybrid": {"hit_at_5": 0.5, "citation_validity": 0.99, "ragas_faithfulness": None,
                      "latency_p95_ms": 500.0}}
    missed = check_gate(bad, thresholds)
    assert len(missed) == 4
    assert any("hit_at_5 = 0.5 < 0.9" in m for m in missed)
    assert any("ragas_faithfulness = not measured" in m for m in missed)
    assert any("latency_p95_ms = 500 > 100 (maximum)" in m for m in missed)
    assert check_gate({"dense": good["hybrid"]}, thresholds) == [
        "hybrid: not evaluated (the gate checks this configuration)"]


def test_repo_thresholds_load_and_name_known_metrics():
    thresholds = load_thresholds(REPO_ROOT / "evals" / "thresholds.toml")
    assert thresholds.config == "hybrid"
    assert thresholds.min["citation_validity"] == 1.0
    assert {"hit_at_5", "mrr", "context_recall", "abstention_accuracy",
            "citation_support"} <= set(thresholds.min)


@pytest.mark.parametrize(("text", "message"), [
    ("[min]\nhit_at_9 = 0.5\n", "unknown metric(s) hit_at_9"),
    ("[min\n", "invalid thresholds"),
    ('config = "sparse"\n', "invalid thresholds: config"),
])
def test_bad_thresholds_are_clear_errors(tmp_path, text, message):
    path = tmp_path / "t.toml"
    path.write_text(text)
    with pytest.raises(EvalError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_thresholds(path)
    with pytest.raises(EvalError, match="no thresholds file"):
        load_thresholds(tmp_path / "missing.toml")


def test_repo_dataset_loads():
    questions = load_dataset(REPO_ROOT / "evals" / "dataset.jsonl")
    assert len(questions) >= 60
    assert all(isinstance(q, EvalQuestion) for q in questions)
    assert sum(not q.answerable for q in questions) >= 6
    assert sum(q.followup_of is not None for q in questions) >= 5


def _line(**changes) -> str:
    row = {"id": "q1", "question": "What is RAG?", "reference_answer": "Retrieval.",
           "evidence": [{"doc_id": "d", "quote": "retrieval augmented"}], "answerable": True,
           "kind": "single", "followup_of": None, "topic": "rag"}
    return json.dumps({**row, **changes})


@pytest.mark.parametrize(("lines", "message"), [
    ([_line(), "{not json"], r"d.jsonl:2: not a valid question"),
    ([_line(kind="trivia")], r"d.jsonl:1: not a valid question: kind"),
    ([_line(), _line()], "duplicate question id 'q1'"),
    ([_line(followup_of="q0")], "follows 'q0', which is not an earlier question"),
    ([""], "holds no questions"),
])
def test_bad_dataset_is_a_clear_error(tmp_path, lines, message):
    path = tmp_path / "d.jsonl"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(EvalError, match=message):
        load_dataset(path)


def test_summary_table_shows_not_run_notes():
    summary = {"hybrid": {name: None for name in SUMMARY_METRICS} | {"hit_at_5": 0.9}}
    table = summary_table(summary, {"ragas_faithfulness": "not run: no judge configured"})
    assert "| hit@5 | 0.900 |" in table
    assert "| ragas faithfulness (judge) | not run: no judge configured |" in table
    assert "| MRR | n/a |" in table


def test_compare_deltas():
    old = {"hybrid": {"hit_at_5": 0.9, "latency_p95_ms": 200.0}, "bm25": {"hit_at_5": 0.8}}
    new = {"hybrid": {"hit_at_5": 0.95, "latency_p95_ms": 150.0}, "dense": {"hit_at_5": 0.7}}
    rows = {(c, m): d for c, m, _, _, d in compare_rows(new, old)}
    assert rows[("hybrid", "hit_at_5")] == pytest.approx(0.05)
    assert rows[("hybrid", "latency_p95_ms")] == pytest.approx(-50.0)
    assert rows[("hybrid", "mrr")] is None
    assert all(c == "hybrid" for c, _ in rows)  # only configurations both runs have
    table = compare_table(new, old)
    assert "| hybrid | hit@5 | 0.900 | 0.950 | +0.050 |" in table
    assert "| hybrid | latency p95 (ms) | 200.0 | 150.0 | -50.0 |" in table


def test_load_results_rejects_what_is_not_a_results_file(tmp_path: Path):
    with pytest.raises(EvalError, match="no file at"):
        load_results(tmp_path / "none.json")
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2]")
    with pytest.raises(EvalError, match="has no per-configuration"):
        load_results(bad)
    bad.write_text("{oops")
    with pytest.raises(EvalError, match="not a readable results.json"):
        load_results(bad)
