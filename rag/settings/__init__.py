"""One settings object for the whole pipeline (``Settings``; sections, code fingerprint).
May import nothing of ``rag``'s own but its submodules: it is the base layer."""

# Every value can be overridden by an environment variable (``RAG_`` prefix, ``__``
# between levels, e.g. ``RAG_RETRIEVAL__K=8``) or by CLI flags.  All paths derive from
# ``home`` (``RAG_HOME``), so tests point one variable at a temp dir.  The sections live
# in ``rag.settings.sections``, the ingestion code's fingerprint in
# ``rag.settings.fingerprint``.

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict
from pydantic_settings import SettingsError as PydanticSettingsError

from rag.settings.fingerprint import pipeline_fingerprint
from rag.settings.sections import (
    AnswerSettings,
    ApiSettings,
    AppSettings,
    ChunkSettings,
    DocumentsSettings,
    EmbeddingSettings,
    FocusSettings,
    InterviewSettings,
    LimitsSettings,
    LLMSettings,
    MilvusSettings,
    PapersSettings,
    RebuildSettings,
    RetrievalSettings,
    SourcesSettings,
    StudySettings,
    VectorIndexSettings,
)

__all__ = ["FORMAT_VERSION", "PRESETS", "REPO_ROOT", "Settings", "SettingsError",
           "describe_errors", "load_settings", "pipeline_fingerprint",
           "EmbeddingSettings",
           "ChunkSettings",
           "RetrievalSettings",
           "VectorIndexSettings",
           "AnswerSettings",
           "FocusSettings",
           "LLMSettings",
           "RebuildSettings",
           "LimitsSettings",
           "AppSettings",
           "ApiSettings",
           "InterviewSettings",
           "StudySettings",
           "PapersSettings",
           "MilvusSettings",
           "SourcesSettings",
           "DocumentsSettings"]

FORMAT_VERSION = 5  # 5: sentences carry role, facet and prose (rag.corpus.roles)
REPO_ROOT = Path(__file__).resolve().parents[2]


class Settings(BaseSettings):
    """All knobs of the pipeline; ``index_name()`` hashes those that shape the index."""

    model_config = SettingsConfigDict(
        env_prefix="RAG_", env_nested_delimiter="__", extra="forbid"
    )

    home: Path = Field(REPO_ROOT, description="Root of corpus/ and index/.")
    embedding: EmbeddingSettings = EmbeddingSettings()
    chunking: ChunkSettings = ChunkSettings()
    retrieval: RetrievalSettings = RetrievalSettings()
    vector_index: VectorIndexSettings = VectorIndexSettings()
    answer: AnswerSettings = AnswerSettings()
    focus: FocusSettings = FocusSettings()
    llm: LLMSettings = LLMSettings()
    rebuild: RebuildSettings = RebuildSettings()
    limits: LimitsSettings = LimitsSettings()
    app: AppSettings = AppSettings()
    api: ApiSettings = ApiSettings()
    interview: InterviewSettings = InterviewSettings()
    papers: PapersSettings = PapersSettings()
    sources: SourcesSettings = SourcesSettings()
    documents: DocumentsSettings = DocumentsSettings()
    study: StudySettings = StudySettings()
    db_url: str | None = Field(None, description="SQLAlchemy URL of the progress database "
                               "(RAG_DB_URL); default: SQLite at <home>/progress.db.")
    store: Literal["faiss", "milvus"] = Field(
        "faiss", description="Where the index is served from: 'faiss' (files under "
        "index/, the fastest on one machine) or 'milvus' (a Milvus Lite file or a server "
        "shared by several app replicas; see RAG_MILVUS__*).")
    milvus: MilvusSettings = MilvusSettings()

    @property
    def corpus_dir(self) -> Path:
        return self.home / "corpus"

    @property
    def progress_db_url(self) -> str:
        return self.db_url or f"sqlite:///{self.home / 'progress.db'}"

    @property
    def index_root(self) -> Path:
        return self.home / "index"

    @property
    def cache_root(self) -> Path:
        """Derived files that are not the index (the ONNX export of the weights)."""
        return Path(self.embedding.cache_dir).expanduser() if self.embedding.cache_dir \
            else self.home / "cache"

    def resolved_embedding(self) -> EmbeddingSettings:
        """``embedding`` with its cache folder resolved against ``home`` (what
        ``Embedder`` takes)."""
        return self.embedding.model_copy(update={"cache_dir": str(self.cache_root)})

    @property
    def milvus_uri(self) -> str:
        """Where the Milvus store is: the setting, or a Milvus Lite folder under index/."""
        return self.milvus.uri or str(self.index_root / "milvus.db")

    def index_shape(self) -> dict:
        """Every setting (and the ingestion code) that changes what the index holds."""
        return {
            "format_version": FORMAT_VERSION,
            "pipeline_code": pipeline_fingerprint(),
            "embedding_model": self.embedding.model_name,
            "max_seq_tokens": self.embedding.max_seq_tokens,
            "chunking": self.chunking.model_dump(),
        }

    def index_name(self) -> str:
        """Folder name: a hash of the settings that shape the index.  The ingestion code
        fingerprint is checked from the manifest instead, so code changes rebuild in place."""
        shape = {k: v for k, v in self.index_shape().items() if k != "pipeline_code"}
        blob = json.dumps(shape, sort_keys=True).encode()
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


class SettingsError(ValueError):
    """Settings from the environment that do not validate; the message is one line that
    names each offending variable (the CLI and app print it and exit 2)."""


def load_settings(preset: str = "default", **overrides: dict) -> Settings:
    """Settings from the environment, then a preset, then explicit overrides."""
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; choose one of {sorted(PRESETS)}")
    try:
        base = Settings()
    except ValidationError as exc:
        raise SettingsError(describe_errors(exc)) from None
    except PydanticSettingsError as exc:  # a section given as JSON that does not parse
        field = re.search(r'field "(\w+)"', str(exc))
        name = f"RAG_{field.group(1).upper()}" if field else "a RAG_* variable"
        raise SettingsError(f"{name}: not valid JSON for a settings section") from None
    return base.updated(**PRESETS[preset]).updated(**overrides)


def describe_errors(exc: ValidationError) -> str:
    """One line: ``RAG_RETRIEVAL__K: Input should be a valid integer (got 'abc'); ...``."""
    parts = []
    for error in exc.errors():
        name = "RAG_" + "__".join(str(p).upper() for p in error["loc"])
        value = error.get("input")
        got = f" (got {value!r})" if isinstance(value, str | int | float) and len(
            str(value)) <= 40 else ""
        parts.append(f"{name}: {error['msg']}{got}")
    return "; ".join(parts).replace("\n", " ")
