"""The benchmark scripts cannot rot: each runs with ``--smoke`` and writes its JSON.

The scripts run at once as subprocesses (model loading is mostly single-threaded,
so two cores overlap them); smoke numbers mean nothing, so the checks are about
structure and invariants that hold at any size (exact search has recall 1, an edit
re-embeds only the edited source, ...).  Also unit tests of the scripts' pure helpers.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from rag.settings import REPO_ROOT

BENCH = REPO_ROOT / "benchmarks"
SCRIPTS = ("bench_latency", "bench_quality", "bench_scale", "bench_incremental",
           "bench_embed", "bench_cold", "bench_serving")
COMMON_KEYS = {"benchmark", "smoke", "created_at", "command", "machine", "loadavg_end",
               "runtime_s", "targets"}


@pytest.fixture(scope="module")
def smoke(tmp_path_factory) -> dict[str, tuple[int, str, Path]]:
    """name -> (exit code, output, JSON path) of each script's ``--smoke`` run."""
    out = tmp_path_factory.mktemp("bench")
    procs = {name: subprocess.Popen(
        [sys.executable, str(BENCH / f"{name}.py"), "--smoke", "--out",
         str(out / f"{name}.json")],
        cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for name in SCRIPTS}
    results = {}
    for name, proc in procs.items():
        try:
            output, _ = proc.communicate(timeout=900)
        except subprocess.TimeoutExpired:
            proc.kill()
            output, _ = proc.communicate()
        results[name] = (proc.returncode, output, out / f"{name}.json")
    return results


def _result(smoke, name: str) -> dict:
    code, output, path = smoke[name]
    assert code == 0, output[-3000:]
    assert "| " in output and "Targets" in output  # the readable tables were printed
    data = json.loads(path.read_text(encoding="utf-8"))
    assert COMMON_KEYS <= data.keys()
    assert data["benchmark"] == name and data["smoke"] is True
    assert len(data["machine"]["loadavg"]) == 3 and data["machine"]["cores"] >= 1
    for t in data["targets"]:
        assert {"name", "measured", "limit", "met"} <= t.keys()
        assert t["met"] in (True, False, None)
    return data


def test_latency_smoke(smoke):
    data = _result(smoke, "bench_latency")
    warm = data["warm"]
    for key in ("query_embedding", "retrieval_only", "full_answer"):
        assert warm[key]["n"] == 6 and 0 < warm[key]["p50_ms"] <= warm[key]["p95_ms"]
    build = data["build"]
    assert 0 < build["embedded"] <= build["chunks"] + build["sentences"]
    assert build["peak_rss_mb"] > 100  # the model alone needs more than this
    assert data["embedding_runtime"] in ("onnxruntime", "torch")


def test_embed_smoke(smoke):
    data = _result(smoke, "bench_embed")
    assert len(data["queries"]) == 6
    for stats in data["queries"].values():
        assert stats["n"] == 6 and 0 < stats["p50_ms"] <= stats["p95_ms"]
    assert data["min_cosine_onnx_vs_torch"] >= 0.9999  # holds at any size
    assert data["batches"]["torch"] > 0 and data["batches"]["onnx"] > 0


def test_cold_smoke(smoke):
    data = _result(smoke, "bench_cold")
    assert data["baseline_ref"] is None and "before" not in data  # smoke: no baseline
    for key in ("now_local", "now_server", "import_rag"):
        assert data[key]["n"] == 1 and data[key]["p50_ms"] > 0


def test_serving_smoke(smoke):
    data = _result(smoke, "bench_serving")
    for part, keys in (("serve", ("api_1", "api_n", "chat_n")),
                       ("app", ("gradio_1", "gradio_n", "api_n", "unpaced_1", "unpaced_n"))):
        assert data[part]["ready_s"] > 0
        for key in keys:
            run = data[part][key]
            assert run["requests"] > 0 and run["failures"] == 0, (part, key, run)
            assert 0 < run["p50_ms"] <= run["p95_ms"] and run["answers_per_s"] > 0


def test_quality_smoke(smoke):
    data = _result(smoke, "bench_quality")
    summary = data["summary"]["all"]
    assert set(summary) == {"ours", "bm25", "naive"}
    for system in summary.values():
        assert system["questions"] == 4
        assert 0 <= system["hit_at_1"] <= system["hit_at_5"] <= 1
        assert 0 <= system["mrr"] <= system["hit_at_5"]
        assert -1 <= system["answer_similarity"] <= 1
    assert set(data["ratios"]["all"]) == {"bm25", "naive"}
    for own in data["own_questions"].values():
        assert own["questions"] == 3 and 0 <= own["mrr"] <= own["hit_at_5"] <= 1
    assert data["naive_build"]["naive"]["nodes"] >= data["naive_build"]["naive"]["documents"]


def test_scale_smoke(smoke):
    data = _result(smoke, "bench_scale")
    rows = data["vectors"]
    assert {(r["data"], r["method"]) for r in rows} == {
        (d, m) for d in ("embedding-like", "uniform") for m in ("flat", "hnsw", "ivfpq")}
    for row in rows:
        assert row["sweep"] and row["build_s"] >= 0 and row["memory_mb"] > 0
        assert all(0 <= s["recall_at_10"] <= 1 and s["p50_ms"] > 0 for s in row["sweep"])
        if row["method"] == "flat":  # exact search agrees with the numpy ground truth
            assert row["chosen"]["recall_at_10"] == 1.0
    assert data["bm25"][0]["queries"]["n"] == 20 and data["bm25"][0]["queries"]["p50_ms"] > 0


def test_incremental_smoke(smoke):
    data = _result(smoke, "bench_incremental")
    assert len(data["scenarios"]) == 3
    for scenario in data["scenarios"]:
        assert scenario["rebuilt"] and 0 < scenario["embedded"] < scenario["reused"]
        assert scenario["only_changed_source"]
    assert data["no_change"]["rebuilt"] is False


def test_report_renders_the_page_from_results(smoke, tmp_path):
    for name in SCRIPTS:
        _result(smoke, name)
    results_dir = smoke[SCRIPTS[0]][2].parent
    doc = tmp_path / "benchmarks.md"
    proc = subprocess.run([sys.executable, str(BENCH / "report.py"), "--results",
                           str(results_dir), "--doc", str(doc)], cwd=REPO_ROOT,
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    page = doc.read_text(encoding="utf-8")
    for heading in ("## Machine", "## Targets", "## Latency", "## Quality", "## Scale",
                    "## Incremental", "## Query embedding runtimes", "## Cold start",
                    "## Serving"):
        assert heading in page
    assert "Not run yet" not in page and "| verdict" in page


# ----------------------------------------------------------------- pure helpers
@pytest.fixture(scope="module")
def helpers():
    sys.path.insert(0, str(BENCH))
    try:
        import _common
        import bench_scale
    finally:
        sys.path.remove(str(BENCH))
    return _common, bench_scale


def test_summary_and_targets(helpers):
    common, _ = helpers
    summary = common.summary_ms([0.001, 0.002, 0.003, 0.004])
    assert summary["n"] == 4 and summary["p50_ms"] == 2.5 and summary["p95_ms"] <= 4
    assert common.target("t", 3.0, 5.0)["met"] is True
    assert common.target("t", 3.0, 5.0, higher_is_better=True)["met"] is False
    assert common.target("t", None, 5.0)["met"] is None
    assert common.strip_markers("A claim [1]. Another [12].") == "A claim. Another."
    text = common.table("T", ["a", "b"], [(1, 0.5), ("x", None)])
    assert "| a " in text and "0.500" in text and "–" in text


def test_exact_top_k_and_recall(helpers):
    _, scale = helpers
    x = scale.uniform_vectors(3_000, seed=1)
    q = scale.uniform_vectors(5, seed=2)
    truth = scale.exact_top_k(x, q, k=10)
    brute = np.argsort(-(q @ x.T), axis=1)[:, :10]
    assert all(set(a) == set(b) for a, b in zip(truth, brute, strict=True))
    assert scale.recall_at_k(truth, brute) == 1.0
    assert scale.recall_at_k(np.full_like(truth, -1), brute) == 0.0


def test_ivf_lists_and_synthetic_documents(helpers):
    _, scale = helpers
    assert scale.ivf_lists(1_000_000) == 2048 and scale.ivf_lists(100_000) == 512
    assert scale.ivf_lists(2_000) * 39 <= 2_000  # k-means gets enough training points
    docs = scale.synthetic_documents(["One.", "Two.", "Three."], 50, seed=3)
    assert len(docs) == 50 and all(3 <= len(d.split()) <= 8 for d in docs)
