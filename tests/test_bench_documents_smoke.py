"""Issue 16's benchmark scripts cannot rot: each runs with ``--smoke`` (numbers mean
nothing) and writes its JSON with the usual fields and targets."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from rag.settings import REPO_ROOT


@pytest.mark.parametrize("name", ["bench_pdf_libraries", "bench_documents"])
def test_documents_benchmarks_run(name, tmp_path):
    out = tmp_path / f"{name}.json"
    run = subprocess.run([sys.executable, str(REPO_ROOT / "benchmarks" / f"{name}.py"),
                          "--smoke", "--out", str(out)], cwd=REPO_ROOT, capture_output=True,
                         text=True, timeout=1200)
    assert run.returncode == 0, (run.stdout + run.stderr)[-3000:]
    assert "Targets" in run.stdout
    data = json.loads(out.read_text())
    assert data["smoke"] is True and data["targets"]
    if name == "bench_documents":
        assert data["quality"]["questions"] == 4
        assert data["app_time_to_answerable"][0]["answer_cites_it"]
    else:
        assert {r["library"] for r in data["rows"]} >= {"pypdf 7 (default)",
                                                       "our pipeline (pypdfium2 + layout)"}
