"""Nothing heavy on the ask path: ``import rag``, ``rag ask`` and the app never import
torch, transformers, sentence-transformers or llama-index (the build and eval may);
``rag ask`` not scipy either (bm25s needs it only to build).

Each check runs in a fresh interpreter and lists the top-level packages it imported.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from rag.settings import REPO_ROOT

HEAVY = {"torch", "transformers", "sentence_transformers", "llama_index"}
_REPORT = ("import json, sys\n"
           "print('MODULES=' + json.dumps(sorted({m.split('.')[0] for m in sys.modules})),"
           " file=sys.stderr)\n")


def _modules(code: str, *args: str, stdin: str | None = None,
             env: dict | None = None) -> set[str]:
    out = subprocess.run([sys.executable, "-c", code + _REPORT, *args], cwd=REPO_ROOT,
                         capture_output=True, text=True, timeout=300, input=stdin,
                         env={**os.environ, **(env or {})})
    assert out.returncode == 0, out.stderr[-2000:]
    line = next(x for x in out.stderr.splitlines() if x.startswith("MODULES="))
    return set(json.loads(line.removeprefix("MODULES=")))


def test_import_rag_is_light():
    loaded = _modules("import rag\nrag.Answer, rag.load_settings\n")
    assert not loaded & (HEAVY | {"numpy", "faiss", "onnxruntime"}), loaded


@pytest.mark.integration
def test_rag_ask_loads_no_heavy_package(real_assistant):
    code = ("import sys\nfrom rag.cli import main\n"
            "assert main(['ask', '--local', '--json', 'Why divide attention scores by "
            "sqrt(d_k)?']) == 0\n")
    loaded = _modules(code)
    assert {"onnxruntime", "faiss"} <= loaded  # the answer came from this process
    assert not loaded & (HEAVY | {"nltk", "sklearn", "scipy"}), loaded & HEAVY


@pytest.mark.integration
def test_rag_quiz_loads_no_heavy_package(real_assistant, tmp_path):
    code = ("import sys\nfrom rag.cli import main\n"  # an open card: the grader runs
            "assert main(['quiz', '--json', '--cards', 'open']) == 0\n")
    loaded = _modules(code, stdin="LoRA freezes the weights and trains a low-rank update.\nq\n",
                      env={"RAG_DB_URL": f"sqlite:///{tmp_path / 'progress.db'}"})
    assert "onnxruntime" in loaded  # the answer was graded in this process
    assert not loaded & (HEAVY | {"nltk", "sklearn"}), loaded & HEAVY


@pytest.mark.integration
def test_the_app_loads_no_heavy_package(real_assistant):
    code = ("from rag.assistant import Assistant\nfrom rag.app import ui\n"
            "assistant = Assistant.load()\n"
            "demo = ui.build_app(assistant)\n"
            "cb = ui.Callbacks(assistant, assistant.settings, [])\n"
            "out = list(cb.respond('What is LoRA?', [], 5, 'extractive', True))\n"
            "assert out[-1][0][-1]['content'].endswith(']')\n")
    loaded = _modules(code)
    assert "gradio" in loaded
    assert not loaded & HEAVY, loaded & HEAVY


def test_a_build_after_scipy_less_searching_writes_the_same_bm25(tmp_path):
    """bm25s is imported without scipy on the ask path; a build later in the same
    process (the app's background rebuild) must still write the scipy-built index."""
    code = f"""
import sys, json
import numpy as np
from rag.search.index import bm25s_module, bm25_tokenize
texts = ["attention scales scores by the square root of d_k", "LoRA trains a low-rank update",
         "mixture of experts routes tokens", "retrieval augments generation with passages"]
searching = bm25s_module()
assert "scipy.sparse" not in sys.modules and not searching.SCIPY_AVAILABLE
from rag.search.build import _write_bm25
_write_bm25(__import__("pathlib").Path({str(tmp_path / "bm25")!r}), texts)
built = searching.BM25.load({str(tmp_path / "bm25")!r})
import scipy.sparse  # the reference: bm25s building with scipy, as in a fresh build process
ref = searching.BM25(csc_backend="scipy")
ref.index(bm25_tokenize(texts), show_progress=False)
same = all(np.array_equal(built.scores[k], ref.scores[k]) for k in ("data", "indices", "indptr"))
print("SAME" if same else "DIFFERENT", file=sys.stderr)
"""
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "SAME" in out.stderr


def test_pipeline_fingerprint_is_stored_between_processes(tmp_path, monkeypatch):
    """Parsing the ingestion modules is not repeated at every start: the digest is kept
    on disk, keyed by the modules' times and sizes (a changed module is parsed again)."""
    from rag.settings import fingerprint as settings

    monkeypatch.setattr(settings, "_DIGEST_FILE", tmp_path / "fingerprint.json")
    monkeypatch.setattr(settings, "_FINGERPRINT", {})
    real = settings.pipeline_fingerprint()
    stored = json.loads((tmp_path / "fingerprint.json").read_text())
    assert stored["digest"] == real == settings._pipeline_digest()
    (tmp_path / "fingerprint.json").write_text(json.dumps({**stored, "digest": "from-disk"}))
    monkeypatch.setattr(settings, "_FINGERPRINT", {})  # a new process
    assert settings.pipeline_fingerprint() == "from-disk"
    monkeypatch.setattr(settings, "_FINGERPRINT", {})
    monkeypatch.setattr(settings, "_digest_key", lambda stamp: "a module changed")
    assert settings.pipeline_fingerprint() == real  # parsed again, not read


def test_pipeline_fingerprint_covers_every_corpus_module_the_pipeline_imports():
    """A module the ingestion code imports changes the index as much as the code itself
    (before: ``corpus/antecedents.py``, which puts back a sentence's subject, was missing,
    so editing it left every index "up to date" with the old sentence roles)."""
    import ast
    from pathlib import Path

    from rag.settings import fingerprint

    package = Path(fingerprint.__file__).parents[1]
    listed = set(fingerprint._PIPELINE_MODULES)
    for name in listed:
        tree = ast.parse((package / name).read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module == "rag.corpus":
                used = {f"corpus/{a.name}.py" for a in node.names}
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                    "rag.corpus."):
                used = {"corpus/" + node.module.split(".")[2] + ".py"}
            else:
                continue
            assert used <= listed, f"{name} imports {sorted(used - listed)}"
