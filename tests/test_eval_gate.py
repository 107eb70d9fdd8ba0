"""``rag eval`` end to end with the real assistant: ragas scores, the gate, the CLI.

One assistant per module; the runs use small subsets of evals/dataset.jsonl.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from rag.assistant import Assistant
from rag.cli import main
from rag.evaluation.run import check_gate, load_dataset, load_thresholds, run_eval
from rag.search.retrieve import Retriever
from rag.settings import REPO_ROOT, LLMSettings, load_settings

pytestmark = pytest.mark.eval
EVALS = REPO_ROOT / "evals"


@pytest.fixture(scope="module")
def assistant() -> Assistant:
    return Assistant.load(load_settings())


@pytest.fixture(scope="module")
def questions():
    return load_dataset(EVALS / "dataset.jsonl")


class ReversedRetriever(Retriever):
    """Deliberately broken: returns the *least* relevant of 50 candidates, worst first."""

    def search(self, query, query_vec, k=None, mode=None, pinned=(), named=()):
        k = k or self.settings.k
        return super().search(query, query_vec, k=50, mode=mode)[::-1][:k]


def test_broken_retriever_fails_the_gate(assistant, questions):
    thresholds = load_thresholds(EVALS / "thresholds.toml")
    subset = questions[::4]  # 26 questions of every kind, follow-ups asked with history
    by_id = {q.id: q for q in questions}
    real = run_eval(assistant, subset, ["hybrid"], by_id=by_id)
    original = assistant.retriever
    assistant.retriever = ReversedRetriever(assistant.index, assistant.settings.retrieval)
    try:
        broken = run_eval(assistant, subset, ["hybrid"], by_id=by_id)
    finally:
        assistant.retriever = original
    missed = check_gate(broken.summary, thresholds)
    missed_names = {line.split()[1] for line in missed}
    assert {"hit_at_5", "mrr", "context_recall", "citation_support"} <= missed_names, missed
    real_missed = {line.split()[1] for line in check_gate(real.summary, thresholds)}
    assert not real_missed & {"hit_at_5", "mrr", "context_recall"}, real_missed
    assert broken.summary["hybrid"]["hit_at_5"] < real.summary["hybrid"]["hit_at_5"] - 0.5


def _row(**changes):
    from rag.evaluation.ragas_scores import RagasInput

    base = dict(question="Why scale attention?", response="Scaling keeps softmax stable [1].",
                reference="Scaling keeps softmax stable.", retrieved_ids=("c1", "c2"),
                reference_ids=("c1", "c2"), contexts=("Scaling keeps softmax stable.",),
                answerable=True, abstained=False)
    return RagasInput(**{**base, **changes})


def test_ragas_scores_perfect_and_wrong(assistant):
    from rag.evaluation.ragas_scores import NOT_CONFIGURED, RagasScorer

    scorer = RagasScorer(assistant.embedder, LLMSettings())
    wrong = _row(response="Mixture of experts routes tokens to experts [2].",
                 retrieved_ids=("c8", "c9"))
    unanswerable = _row(answerable=False, abstained=True, reference_ids=())
    (perfect, bad, abst), notes = scorer.score([_row(), wrong, unanswerable])
    assert perfect["ragas_id_context_precision"] == 1.0
    assert perfect["ragas_id_context_recall"] == 1.0
    assert perfect["ragas_rouge_l"] == pytest.approx(1.0)  # markers are not content
    assert perfect["ragas_semantic_similarity"] == pytest.approx(1.0, abs=1e-5)
    assert bad["ragas_id_context_precision"] == 0.0 and bad["ragas_id_context_recall"] == 0.0
    assert bad["ragas_rouge_l"] < 0.3 and bad["ragas_semantic_similarity"] < 0.5
    assert abst["ragas_id_context_recall"] is None  # no reference contexts: not applicable
    assert perfect["ragas_faithfulness"] is None and perfect["ragas_answer_relevancy"] is None
    assert notes == {"ragas_faithfulness": NOT_CONFIGURED, "ragas_answer_relevancy": NOT_CONFIGURED}


def test_unreachable_judge_is_reported_never_scored(assistant):
    from rag.evaluation.ragas_scores import RagasScorer

    judge = LLMSettings(base_url="http://127.0.0.1:9/v1", model="judge", retries=0, timeout_s=5)
    scores, notes = RagasScorer(assistant.embedder, judge).score([_row()])
    assert scores[0]["ragas_faithfulness"] is None
    assert scores[0]["ragas_answer_relevancy"] is None
    assert "failed on 1 question(s)" in notes["ragas_faithfulness"]
    assert scores[0]["ragas_rouge_l"] == pytest.approx(1.0)  # the rest still runs


class _StubJudge(BaseHTTPRequestHandler):
    """An OpenAI-compatible chat endpoint answering ragas' structured prompts (JSON mode)."""

    def do_POST(self):  # noqa: N802 - http.server's name
        body = self.rfile.read(int(self.headers["Content-Length"])).decode()
        if "AnswerRelevanceOutput" in body:
            reply = {"question": "Why scale attention?", "noncommittal": 0}
        elif "NLIStatementOutput" in body:
            reply = {"statements": [{"statement": "Scaling keeps softmax stable.",
                                     "reason": "the context says so", "verdict": 1}]}
        else:
            reply = {"statements": ["Scaling keeps softmax stable."]}
        payload = json.dumps({
            "id": "stub", "object": "chat.completion", "created": 0, "model": "judge",
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": json.dumps(reply)}}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


def test_configured_judge_runs_faithfulness_and_relevancy(assistant):
    from rag.evaluation.ragas_scores import RagasScorer

    server = ThreadingHTTPServer(("127.0.0.1", 0), _StubJudge)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/v1"
        judge = LLMSettings(base_url=url, model="judge", retries=0, timeout_s=10)
        scores, notes = RagasScorer(assistant.embedder, judge).score(
            [_row(), _row(abstained=True)])
    finally:
        server.shutdown()
    assert scores[0]["ragas_faithfulness"] == pytest.approx(1.0)
    assert scores[0]["ragas_answer_relevancy"] == pytest.approx(1.0, abs=1e-4)
    assert scores[1]["ragas_faithfulness"] is None  # abstentions are not judged
    assert notes["ragas_faithfulness"] == f"judge: judge at {url}"


def test_cli_eval_writes_results_report_and_chart(tmp_path, capsys):
    assert main(["eval", "--limit", "5", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "| hit@5 |" in out and "not run: no judge configured" in out
    (run_dir,) = tmp_path.iterdir()
    results = json.loads((run_dir / "results.json").read_text())
    assert set(results["summary"]) == {"hybrid", "dense", "bm25"}
    assert results["n_questions"] == 5 and len(results["questions"]) == 15
    assert results["summary"]["hybrid"]["ragas_semantic_similarity"] is not None
    report = (run_dir / "report.md").read_text()
    assert "## Summary" in report and "## Worst 5 questions (hybrid)" in report
    assert "**Expected evidence:**" in report and "**Retrieved**" in report
    assert (run_dir / "metrics.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cli_compare_and_gate_exit_code(tmp_path, capsys):
    older = tmp_path / "older.json"
    older.write_text(json.dumps({"created": "earlier", "summary": {
        "hybrid": {"hit_at_5": 0.5, "mrr": 0.25}}}))
    strict = tmp_path / "strict.toml"
    strict.write_text('config = "hybrid"\n[min]\nhit_at_5 = 0.5\nmrr = 1.01\n')
    code = main(["eval", "--limit", "3", "--configs", "hybrid", "--out", str(tmp_path / "r"),
                 "--compare", str(older), "--gate", "--thresholds", str(strict)])
    captured = capsys.readouterr()
    assert code == 1
    assert "gate FAILED: 1 threshold(s) missed" in captured.err
    assert "hybrid mrr" in captured.err and "hit_at_5" not in captured.err
    assert "| hit@5 |" in captured.out  # the summary table is printed either way
    assert f"## Compared with `{older}` (earlier)" in captured.out
    assert "the deltas compare different question sets" in captured.out
    assert "| hybrid | hit@5 | 0.500 |" in captured.out
    (run_dir,) = (tmp_path / "r").iterdir()
    report = (run_dir / "report.md").read_text()
    assert "## Gate" in report and "FAILED" in report and "## Compared with" in report


@pytest.mark.parametrize(("argv", "message"), [
    (["--dataset", "nowhere.jsonl"], "no evaluation dataset at nowhere.jsonl"),
    (["--gate", "--no-ragas"], "drop --no-ragas"),
    (["--gate", "--configs", "dense"], "--gate needs the hybrid configuration"),
    (["--compare", "nowhere.json"], "--compare: no file at nowhere.json"),
    (["--limit", "0"], "--limit must be at least 1"),
    (["--configs", "hybrid,sparse"], "unknown configuration(s) sparse; choose from hybrid"),
])
def test_cli_eval_bad_input_is_a_clear_error(argv, message, capsys):
    assert main(["eval", *argv]) == 2
    assert message in capsys.readouterr().err
