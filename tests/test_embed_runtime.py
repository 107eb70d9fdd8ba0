"""The two embedding runtimes: the ONNX export (made once, keyed by the weights' hash,
verified against PyTorch), its reuse without torch, and agreement of every path."""

from __future__ import annotations

import json

import numpy as np
import pytest

from rag.search.embed import Embedder
from rag.search.onnx_export import EXPORT_FORMAT, MIN_COSINE, weights_digest
from rag.settings import REPO_ROOT, load_settings

TEXTS = ["Why divide attention scores by sqrt(d_k)?", "LoRA",
         "DPO vs RLHF: which one needs a reward model?", "word " * 400]


def _fresh(cache, embedder=None, **embedding) -> Embedder:
    settings = load_settings().updated(embedding=embedding) if embedding else load_settings()
    fresh = Embedder(settings.embedding, cache)
    if embedder is not None:  # share the loaded PyTorch model: no second load
        fresh._torch = embedder.torch_model
    return fresh


def test_weights_digest_is_remembered_and_follows_the_files(tmp_path):
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text("{}")
    (model / "model.safetensors").write_bytes(b"weights-1")
    first = weights_digest(model, tmp_path / "cache")
    assert len(first) == 16 and (tmp_path / "cache" / "onnx" / "weights.json").is_file()
    assert weights_digest(model, tmp_path / "cache") == first
    (model / "model.safetensors").write_bytes(b"weights-2, longer")
    assert weights_digest(model, tmp_path / "cache") != first


def test_export_on_first_query_then_reuse_without_torch(tmp_path, embedder, capsys,
                                                        monkeypatch):
    # the PyTorch model loads (for the export) on first use: hand out the loaded one
    model = embedder.torch_model
    monkeypatch.setattr("rag.search.embed._load_sentence_transformer", lambda *_: model)
    cache = tmp_path / "cache"
    first = _fresh(cache)
    vec = first.encode_query(TEXTS[0])
    assert "Exporting the embedding model to ONNX once" in capsys.readouterr().err
    path = first.onnx_file()
    assert path.parent.name == f"{weights_digest(first.path, cache)}-e{EXPORT_FORMAT}"
    info = json.loads((path.parent / "export.json").read_text())
    assert info["min_cosine_vs_torch"] >= MIN_COSINE and first.runtime == "onnxruntime"
    reference = embedder._encode_torch([TEXTS[0]], False, "")[0]
    assert float(vec @ reference) >= MIN_COSINE

    again = _fresh(cache)  # a new process: the export is found, torch never loads
    assert float(again.encode_query(TEXTS[0]) @ vec) >= 0.999999
    assert again._torch is None and "Exporting" not in capsys.readouterr().err

    path.write_bytes(b"not a model")  # damaged: exported again, with a note
    repaired = _fresh(cache)
    assert float(repaired.encode_query(TEXTS[0]) @ vec) >= 0.999999
    assert "re-exporting the ONNX model" in capsys.readouterr().err


def test_torch_runtime_never_exports(tmp_path, embedder):
    only_torch = _fresh(tmp_path / "cache", embedder, runtime="torch")
    only_torch.encode_query(TEXTS[0])
    assert only_torch.runtime == "torch" and not (tmp_path / "cache" / "onnx").exists()


@pytest.mark.parametrize("runtime", ["auto", "onnx"])
def test_every_path_agrees_with_pytorch(embedder, runtime):
    """Single queries unpadded, short batches padded; truncation at the model's 256."""
    cache = load_settings().cache_root
    onnx = _fresh(cache, embedder, runtime=runtime)
    onnx.ensure_export(quiet=True)
    reference = embedder._encode_torch(TEXTS, False, "")
    batched = onnx.encode(TEXTS)
    single = np.stack([onnx.encode_query(t) for t in TEXTS])
    assert (batched * reference).sum(1).min() >= MIN_COSINE
    assert (single * reference).sum(1).min() >= MIN_COSINE


def test_token_counts_match_the_hugging_face_tokenizer(embedder):
    texts = (REPO_ROOT / "corpus" / "docs").glob("*.txt")
    lines = [line for path in sorted(texts) for line in
             path.read_text(encoding="utf-8").splitlines()[:80] if line.strip()]
    for text in lines + TEXTS:
        expected = len(embedder.tokenizer(text, add_special_tokens=False)["input_ids"])
        assert embedder.count_tokens(text) == expected, text


def test_export_in_a_child_process_then_no_export_here(tmp_path, embedder, capsys):
    """``rag build`` starts the export in a child process; ensure_export waits for it
    and finds the verified export, so this process neither exports nor loads torch."""
    cache = tmp_path / "cache"
    building = _fresh(cache)
    building.start_export()
    assert building._export_proc is not None
    path = building.ensure_export()
    assert path is not None and path.is_file() and building._export_proc is None
    info = json.loads((path.parent / "export.json").read_text())
    assert info["min_cosine_vs_torch"] >= MIN_COSINE
    assert building._torch is None and "Exporting" not in capsys.readouterr().err
    reference = embedder._encode_torch([TEXTS[0]], False, "")[0]
    assert float(building.encode_query(TEXTS[0]) @ reference) >= MIN_COSINE
    building.start_export()  # nothing to do once the export exists
    assert building._export_proc is None


def test_build_batches_in_parallel_agree_with_one_at_a_time(embedder):
    """One single-threaded worker per core (the build) or one batch at a time, in
    token-length order: the same vectors, each in its text's row."""
    texts = [f"{t} ({i})" for i, t in enumerate(TEXTS * 12)]
    parallel = _fresh(None, embedder, encode_workers=2)
    serial = _fresh(None, embedder, encode_workers=1)
    assert parallel._workers(len(texts)) == 2 and serial._workers(len(texts)) == 1
    a = parallel.encode(texts)
    b = serial.encode(texts)
    assert a.shape == (len(texts), parallel.dim)
    assert (a * b).sum(1).min() >= 0.99999
    single = np.stack([serial._encode_torch([t], False, "")[0] for t in texts[:4]])
    assert (a[:4] * single).sum(1).min() >= 0.99999
