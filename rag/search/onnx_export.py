"""Export the packaged embedding weights to ONNX once, and find the export again.

The export is the transformer plus sentence-transformers' mean pooling and L2
normalisation, with dynamic batch and sequence axes (a query runs at its own
length, never padded).  It is written under ``<cache>/onnx/<weights hash>-e<N>/``
(``N`` = this module's export format), so other weights or another export recipe
never reuse a stale graph.  Before it is kept, its vectors are compared with
PyTorch's on probe texts (single and padded batch): the minimum cosine must reach
``MIN_COSINE``.  Nothing is downloaded: the weights are the installed package's.

Hashing 90 MB of weights at every start would cost ~0.2 s of a ~1 s CLI start, so
the hash is remembered in ``<cache>/onnx/weights.json`` by file size and mtime.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
import uuid
import warnings
from pathlib import Path

import numpy as np

EXPORT_FORMAT = 1  # bump when the exported graph changes (wrapper, opset, inputs)
MIN_COSINE = 0.9999
INPUTS = ("input_ids", "attention_mask", "token_type_ids")
OUTPUT = "sentence_embedding"
WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin", "config.json",
                "1_Pooling/config.json", "tokenizer.json")
PROBES = (
    "Why divide attention scores by sqrt(d_k)?",
    "LoRA",
    "DPO vs RLHF: which one needs a reward model, and why does that matter in practice?",
    "Mixture of Experts routes each token to a few experts; a load-balancing loss keeps "
    "every expert busy. " * 12,  # longer than the 256-token window: truncation
)


def weights_digest(model_dir: Path, cache: Path) -> str:
    """SHA-256 (16 hex) of the files that define the model, memoised by size and mtime."""
    files = [model_dir / name for name in WEIGHT_FILES if (model_dir / name).is_file()]
    stamp = [[str(p), p.stat().st_size, p.stat().st_mtime_ns] for p in files]
    memo_path = cache / "onnx" / "weights.json"
    key = hashlib.sha256(json.dumps(stamp).encode()).hexdigest()
    try:
        memo = json.loads(memo_path.read_text())
    except (OSError, ValueError):
        memo = {}
    if key in memo:
        return memo[key]
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.name.encode() + b"\0")
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    value = digest.hexdigest()[:16]
    _write_json(memo_path, {**memo, key: value})
    return value


def onnx_file(model_dir: Path, cache: Path) -> Path:
    """Where the export of these weights lives (it may not exist yet)."""
    return cache / "onnx" / f"{weights_digest(model_dir, cache)}-e{EXPORT_FORMAT}" / "model.onnx"


def export_onnx(st_model, model_dir: Path, target: Path, max_tokens: int) -> dict:
    """Export ``st_model`` (a loaded SentenceTransformer) to ``target``, verified;
    returns what ``export.json`` records."""
    import torch

    start = time.perf_counter()
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.parent / f".tmp-{uuid.uuid4().hex[:8]}.onnx"
    wrapper = _Pooled(st_model[0].auto_model).eval()
    example = st_model.tokenizer(["an example query"], return_tensors="pt")
    args = tuple(example[name] for name in INPUTS)
    axes = {name: {0: "batch", 1: "sequence"} for name in INPUTS} | {OUTPUT: {0: "batch"}}
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tracer notes about constant-folded checks
            torch.onnx.export(wrapper, args, str(tmp), input_names=list(INPUTS),
                              output_names=[OUTPUT], dynamic_axes=axes, opset_version=17,
                              dynamo=False)
        cosine = verify(tmp, st_model, model_dir, max_tokens)
        info = {"weights": target.parent.name, "torch": torch.__version__, "opset": 17,
                "min_cosine_vs_torch": round(cosine, 9), "probes": len(PROBES),
                "seconds": round(time.perf_counter() - start, 2), "bytes": tmp.stat().st_size}
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    _write_json(target.parent / "export.json", info)
    return info


def verify(onnx_path: Path, st_model, model_dir: Path, max_tokens: int) -> float:
    """Minimum cosine between ONNX Runtime's and PyTorch's vectors of the probes, one
    at a time and as one padded batch; raises ``ValueError`` below ``MIN_COSINE``."""
    from rag.search.embed import OnnxEncoder

    encoder = OnnxEncoder(onnx_path, model_dir, max_tokens, threads=1)
    reference = st_model.encode(list(PROBES), normalize_embeddings=True,
                                convert_to_numpy=True, show_progress_bar=False)
    single = np.stack([encoder.encode([text])[0] for text in PROBES])
    batched = encoder.encode(list(PROBES), batch=len(PROBES))
    cosine = float(min((single * reference).sum(1).min(), (batched * reference).sum(1).min()))
    if cosine < MIN_COSINE:
        raise ValueError(f"the ONNX export disagrees with PyTorch (cosine {cosine:.6f} "
                         f"< {MIN_COSINE})")
    return cosine


class _Pooled:
    """The transformer + mean pooling over the attention mask + L2 normalisation, as
    a torch module (sentence-transformers' Pooling and Normalize modules)."""

    def __new__(cls, transformer):
        import torch

        class Pooled(torch.nn.Module):
            def __init__(self, model):
                super().__init__()
                self.model = model

            def forward(self, input_ids, attention_mask, token_type_ids):
                hidden = self.model(input_ids=input_ids, attention_mask=attention_mask,
                                    token_type_ids=token_type_ids).last_hidden_state
                mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                return torch.nn.functional.normalize(pooled, p=2, dim=1)

        return Pooled(transformer)


def _write_json(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:6]}")
    tmp.write_text(json.dumps(data, indent=1))
    os.replace(tmp, path)


def main(argv: list[str] | None = None) -> int:
    """``python -m rag.search.onnx_export SETTINGS_JSON``: export for these embedding
    settings when missing (the child process ``Embedder.start_export`` starts)."""
    from rag.search.embed import Embedder
    from rag.settings import EmbeddingSettings

    args = sys.argv[1:] if argv is None else argv
    settings = EmbeddingSettings.model_validate_json(args[0])
    return 0 if Embedder(settings).ensure_export(quiet=True) else 1


if __name__ == "__main__":
    sys.exit(main())
