"""benchmarks/bench_milvus.py cannot rot: its ``--smoke`` run (2,000 texts; the real
index's answers from both stores on 6 questions) prints its tables and writes its JSON."""

from __future__ import annotations

import json
import subprocess
import sys

from rag.settings import REPO_ROOT


def test_bench_milvus_smoke(tmp_path):
    out = tmp_path / "bench_milvus.json"
    done = subprocess.run([sys.executable, "benchmarks/bench_milvus.py", "--smoke", "--out",
                           str(out), "--latency-queries", "20"], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "| milvus-lite server" in done.stdout and "Targets" in done.stdout
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["benchmark"] == "bench_milvus" and data["smoke"] is True
    assert len(data["machine"]["loadavg"]) == 3 and data["n"] == 2_000
    for store in ("faiss", "milvus"):
        row = data[store]
        assert row["recall_at_10"] == 1.0  # 2,000 vectors: HNSW with ef 256 is exact
        for kind in ("dense", "bm25", "hybrid"):
            assert row[kind]["n"] == 20 and 0 < row[kind]["p50_ms"] <= row[kind]["p95_ms"]
        assert row["disk_mb"] > 0 and row["load_s"] > 0
    assert data["milvus"]["server_rss_peak_mb"] >= data["milvus"]["server_rss_idle_mb"] > 50
    serving = data["serving"]
    assert serving["questions"] == 6 and serving["milvus"]["server_cpu_ms_per_q"] >= 0
    assert serving["faiss"]["p50_ms"] > 0 and serving["milvus"]["p50_ms"] > 0
    assert all(t["met"] in (True, False, None) for t in data["targets"])
