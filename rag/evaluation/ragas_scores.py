"""ragas metrics for ``rag eval``: the glue between our records and ragas 0.4.3.

Which ragas metrics, and why:

* Context precision / recall: ``IDBasedContextPrecision`` / ``IDBasedContextRecall``.
  ragas 0.4.3 has them only in its classic metric API (``ragas.metrics._context_*``;
  ``ragas.metrics.collections`` has LLM-judged context metrics only).  The
  ``NonLLM*`` variants compare whole passages with reference *texts* by string
  distance, which a short evidence quote against a 180-token chunk cannot pass.
  Reference ids are the chunk ids that contain an evidence quote
  (``rag.evaluation.metrics.reference_chunk_ids``); retrieved ids are the hits' chunk ids.
  Precision is set-based (relevant retrieved / retrieved): with k=5 and one or two
  supporting chunks its ceiling is 0.2-0.4, which is expected.
* ``SemanticSimilarity`` (collections API) with our own MiniLM model through
  ``LocalEmbeddings``, a ``BaseRagasEmbedding`` over ``Embedder.encode`` (no second
  model load, vectors cached per text).  ``RougeScore`` (ROUGE-L F1).
* LLM-judged ``Faithfulness`` and ``AnswerRelevancy`` only with a judge endpoint
  (``settings.llm.base_url`` + ``settings.llm.model``); otherwise their values are
  ``None`` and the note says "not run: no judge configured".  A failed call leaves
  ``None`` for that question and a note; nothing is ever defaulted.

``[n]`` markers are stripped from answers before similarity and ROUGE: they are
citations, not content.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path


def _prepare_environment() -> None:
    """No telemetry; tiktoken (if ragas needs it) reads llama-index's bundled cache."""
    os.environ.setdefault("RAGAS_DO_NOT_TRACK", "true")
    spec = importlib.util.find_spec("llama_index.core")
    if spec and spec.submodule_search_locations:
        cache = Path(spec.submodule_search_locations[0]) / "_static" / "tiktoken_cache"
        if cache.is_dir():
            os.environ.setdefault("TIKTOKEN_CACHE_DIR", str(cache))


_prepare_environment()

import numpy as np  # noqa: E402
from ragas.dataset_schema import SingleTurnSample  # noqa: E402
from ragas.embeddings.base import BaseRagasEmbedding  # noqa: E402
from ragas.metrics._context_precision import IDBasedContextPrecision  # noqa: E402
from ragas.metrics._context_recall import IDBasedContextRecall  # noqa: E402
from ragas.metrics.collections import RougeScore, SemanticSimilarity  # noqa: E402

NOT_CONFIGURED = "not run: no judge configured"
JUDGE_METRICS = ("ragas_faithfulness", "ragas_answer_relevancy")
BASE_METRICS = ("ragas_id_context_precision", "ragas_id_context_recall",
                "ragas_semantic_similarity", "ragas_rouge_l")
_MARKER = re.compile(r"\s*\[\d+\]")


@dataclass(frozen=True)
class RagasInput:
    """What ragas needs of one answered question."""

    question: str
    response: str
    reference: str
    retrieved_ids: tuple[str, ...]
    reference_ids: tuple[str, ...]
    contexts: tuple[str, ...]
    answerable: bool
    abstained: bool


def strip_markers(text: str) -> str:
    """The answer without its ``[n]`` citation markers."""
    return _MARKER.sub("", text).strip()


class LocalEmbeddings(BaseRagasEmbedding):
    """ragas embeddings over our already-loaded ``Embedder`` (cached per text)."""

    def __init__(self, embedder):
        super().__init__()
        self.embedder = embedder
        self._cache: dict[str, list[float]] = {}

    def embed_texts(self, texts: list[str], **kwargs) -> list[list[float]]:
        missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
        if missing:
            for text, vec in zip(missing, self.embedder.encode(missing), strict=True):
                self._cache[text] = vec.tolist()
        return [self._cache[t] for t in texts]

    async def aembed_texts(self, texts: list[str], **kwargs) -> list[list[float]]:
        return self.embed_texts(texts)

    def embed_text(self, text: str, **kwargs) -> list[float]:
        return self.embed_texts([text])[0]

    async def aembed_text(self, text: str, **kwargs) -> list[float]:
        return self.embed_text(text)


@dataclass
class Judge:
    """The LLM-judged metrics, or why they do not run."""

    faithfulness: object | None = None
    relevancy: object | None = None
    status: str = NOT_CONFIGURED


def make_judge(llm_settings, embeddings: LocalEmbeddings) -> Judge:
    """Faithfulness and answer relevancy on the configured OpenAI-compatible endpoint."""
    if not (llm_settings.base_url and llm_settings.model):
        return Judge()
    from openai import AsyncOpenAI
    from ragas.llms import llm_factory
    from ragas.metrics.collections import AnswerRelevancy, Faithfulness

    key = os.environ.get(llm_settings.api_key_env) or "EMPTY"  # local servers need none
    client = AsyncOpenAI(base_url=llm_settings.base_url, api_key=key,
                         timeout=llm_settings.timeout_s, max_retries=llm_settings.retries)
    llm = llm_factory(llm_settings.model, client=client)
    return Judge(Faithfulness(llm=llm), AnswerRelevancy(llm=llm, embeddings=embeddings),
                 status=f"judge: {llm_settings.model} at {llm_settings.base_url}")


class RagasScorer:
    """Scores ``RagasInput`` rows with the ragas metrics above."""

    def __init__(self, embedder, llm_settings):
        self.embeddings = LocalEmbeddings(embedder)
        self.precision = IDBasedContextPrecision()
        self.recall = IDBasedContextRecall()
        self.similarity = SemanticSimilarity(embeddings=self.embeddings)
        self.rouge = RougeScore(rouge_type="rougeL", mode="fmeasure")
        self.judge = make_judge(llm_settings, self.embeddings)

    def score(self, rows: Sequence[RagasInput]) -> tuple[list[dict], dict[str, str]]:
        """Per-row scores (``None`` where a metric does not apply) and per-metric notes."""
        texts = [t for r in rows for t in (strip_markers(r.response), r.reference)]
        self.embeddings.embed_texts(texts)  # one batched pass instead of 2 x rows calls
        return asyncio.run(self._score_all(rows))

    async def _score_all(self, rows: Sequence[RagasInput]) -> tuple[list[dict], dict[str, str]]:
        scores = [await self._base(row) for row in rows]
        notes: dict[str, str] = {}
        if self.judge.faithfulness is None:
            for row_scores in scores:
                row_scores.update(dict.fromkeys(JUDGE_METRICS))
            notes.update(dict.fromkeys(JUDGE_METRICS, NOT_CONFIGURED))
        else:
            notes.update(await self._judged(rows, scores))
        return scores, notes

    async def _base(self, row: RagasInput) -> dict[str, float | None]:
        response = strip_markers(row.response)
        out: dict[str, float | None] = dict.fromkeys(BASE_METRICS)
        if row.answerable and row.reference_ids and row.retrieved_ids:
            sample = SingleTurnSample(retrieved_context_ids=list(row.retrieved_ids),
                                      reference_context_ids=list(row.reference_ids))
            out["ragas_id_context_precision"] = await self.precision.single_turn_ascore(sample)
            out["ragas_id_context_recall"] = await self.recall.single_turn_ascore(sample)
        sim = await self.similarity.ascore(reference=row.reference, response=response)
        rouge = await self.rouge.ascore(reference=row.reference, response=response)
        out["ragas_semantic_similarity"] = float(sim.value)
        out["ragas_rouge_l"] = float(rouge.value)
        return out

    async def _judged(self, rows: Sequence[RagasInput], scores: list[dict]) -> dict[str, str]:
        """Judge answered rows concurrently (4 at a time); abstentions are not judged."""
        gate = asyncio.Semaphore(4)
        errors: dict[str, list[str]] = {name: [] for name in JUDGE_METRICS}

        async def one(row: RagasInput, out: dict) -> None:
            out.update(dict.fromkeys(JUDGE_METRICS))
            if row.abstained or not row.contexts:
                return
            response = strip_markers(row.response)
            async with gate:
                out["ragas_faithfulness"] = await _safe(
                    self.judge.faithfulness.ascore(user_input=row.question, response=response,
                                                   retrieved_contexts=list(row.contexts)),
                    errors["ragas_faithfulness"])
                out["ragas_answer_relevancy"] = await _safe(
                    self.judge.relevancy.ascore(user_input=row.question, response=response),
                    errors["ragas_answer_relevancy"])

        await asyncio.gather(*(one(r, s) for r, s in zip(rows, scores, strict=True)))
        return {name: _judge_note(self.judge.status, errs) for name, errs in errors.items()}


async def _safe(call, errors: list[str]) -> float | None:
    """The metric's value, or ``None`` (and the error noted) when the judge call failed."""
    try:
        value = float((await call).value)
    except Exception as exc:  # noqa: BLE001 - any judge failure is reported, never scored
        errors.append(f"{type(exc).__name__}: {str(exc)[:200]}")
        return None
    return None if np.isnan(value) else value


def _judge_note(status: str, errors: list[str]) -> str:
    if not errors:
        return status
    return f"{status}; failed on {len(errors)} question(s), first error: {errors[0]}"
