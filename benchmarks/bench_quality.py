"""Quality side by side: our pipeline vs a naive llama-index index vs BM25 alone.

    .venv/bin/python benchmarks/bench_quality.py [--smoke]

Same run, same embedding model (all-MiniLM-L6-v2 from the bundled package), same
evaluation datasets (``evals/dataset.jsonl`` and the realistic interview set
``evals/interview.jsonl``, reported whole and per split), same evidence matching
(``rag.evaluation.metrics.supports``: doc_id plus the reference quote inside the passage text).

* ``ours``: ``Assistant.ask`` (hybrid retrieval, extractive cited answer; follow-ups get
  the previous question as history, as in ``rag eval``).
* ``bm25``: the same assistant with ``retrieval.mode = "bm25"`` (BM25 alone).
* ``naive``: what one builds in an afternoon: ``SimpleDirectoryReader`` over the five
  documents, one ``Document`` per paper card, ``VectorStoreIndex.from_documents`` with
  llama-index defaults (``SentenceSplitter`` 1024/200, default metadata, in-memory
  vector store), our model through ``HuggingFaceEmbedding``, ``similarity_top_k=5``.
  No LLM is available offline, so it is llama-index's *retriever* only and its
  "answer" is its top passage's text.  It sees the question as asked (no history).
* ``naive-clean``: the same over our cleaned text (mojibake, HTML and links repaired),
  to separate what cleaning buys from what chunking and hybrid retrieval buy.

``--smoke``: 4 questions; ``naive`` only, over the smallest document and 10 cards.

Metrics on the answerable questions: hit@1, hit@5, MRR (top 5), answer similarity
(cosine of answer and reference answer, same model, citation markers removed), top
passage similarity, latency p50/p95; also on the standalone subset (no follow-ups).
And hit@5 / MRR on our own questions (``tests/data/own_questions.jsonl``), where a hit
is a passage from one of the question's expected source documents.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from _common import (
    DATASET,
    INTERVIEW,
    OWN_QUESTIONS,
    REPO,
    machine,
    parse_args,
    ratio,
    read_jsonl,
    strip_markers,
    summary_ms,
    table,
    target,
    targets_table,
    timed,
    write_result,
)

NAME = "bench_quality"
K = 5


# ----------------------------------------------------------------- naive llama-index
def raw_documents(corpus: Path, smoke: bool) -> list:
    """The corpus as a llama-index user loads it: files as they are, one card each."""
    from llama_index.core import Document, SimpleDirectoryReader

    files = sorted((corpus / "docs").glob("*.txt"))
    files = [min(files, key=lambda p: p.stat().st_size)] if smoke else files
    docs = SimpleDirectoryReader(input_files=[str(p) for p in files]).load_data()
    for doc in docs:
        doc.metadata["doc_id"] = Path(doc.metadata["file_name"]).stem
    lines = (corpus / "papers.jsonl").read_text(encoding="utf-8").splitlines()
    for line in lines[:10] if smoke else lines:
        card = json.loads(line)
        authors = ", ".join(card.get("authors") or [])
        text = f"{card['title']}\n{authors} ({card.get('year')})\n\n{card['summary']}"
        docs.append(Document(text=text, metadata={"doc_id": f"arxiv:{card['arxiv_id']}",
                                                  "title": card["title"]}))
    return _hide_doc_id(docs)


def clean_documents(corpus: Path, smoke: bool) -> list:
    """Our cleaned sources (headings and section text), one ``Document`` each."""
    from llama_index.core import Document

    from rag.corpus.ingest import load_corpus

    sources, _ = load_corpus(corpus)
    if smoke:
        docs = [s for s in sources if s.kind == "document"]
        smallest = min(docs, key=lambda s: sum(len(x.text) for x in s.sections))
        sources = [smallest] + [s for s in sources if s.kind == "paper"][:10]
    out = []
    for src in sources:
        parts = [f"{' › '.join(sec.heading_path)}\n{sec.text}" for sec in src.sections]
        out.append(Document(text=f"{src.title}\n\n" + "\n\n".join(parts),
                            metadata={"doc_id": src.doc_id, "title": src.title}))
    return _hide_doc_id(out)


def _hide_doc_id(docs: list) -> list:
    """Our bookkeeping key stays out of what the model embeds (defaults otherwise)."""
    for doc in docs:
        doc.excluded_embed_metadata_keys.append("doc_id")
        doc.excluded_llm_metadata_keys.append("doc_id")
    return docs


def naive_retriever(documents: list, embed_model) -> tuple[object, dict]:
    """``VectorStoreIndex.from_documents`` with defaults; its top-5 retriever."""
    from llama_index.core import VectorStoreIndex

    index, seconds = timed(VectorStoreIndex.from_documents, documents, embed_model=embed_model)
    nodes = len(index.docstore.docs)
    return index.as_retriever(similarity_top_k=K), {"build_s": round(seconds, 2),
                                                    "documents": len(documents),
                                                    "nodes": nodes}


# ---------------------------------------------------------------------- asking
def ask_ours(assistant, mode: str) -> Callable:
    """A function question -> (passages, answer text) through ``Assistant.ask``."""
    from rag.evaluation.run import recording

    def ask(question: str, history: list[str]) -> tuple[list[tuple[str, str]], str]:
        with recording(assistant, mode) as recorder:
            answer = assistant.ask(question, k=K, history=history)
        return [(h.chunk.doc_id, h.chunk.text) for h in recorder.last], answer.text
    return ask


def ask_naive(retriever) -> Callable:
    def ask(question: str, history: list[str]) -> tuple[list[tuple[str, str]], str]:
        nodes = retriever.retrieve(question)  # as asked: a naive index keeps no history
        passages = [(n.node.metadata["doc_id"], n.node.get_content()) for n in nodes]
        return passages, passages[0][1] if passages else ""
    return ask


def run_system(ask: Callable, questions: list, by_id: dict) -> list[dict]:
    from rag.evaluation import metrics
    from rag.evaluation.run import history_for

    rows = []
    for q in questions:
        (passages, answer), seconds = timed(ask, q.question, history_for(q, by_id))
        evidence = [e.model_dump() for e in q.evidence]
        rank = metrics.first_relevant_rank(passages[:K], evidence)
        rows.append({"id": q.id, "kind": q.kind, "rank": rank, "seconds": seconds,
                     "answer": strip_markers(answer),
                     "top_passage": passages[0][1] if passages else "",
                     "reference": q.reference_answer})
    return rows


def add_similarities(rows: list[dict], embedder) -> None:
    """Cosine of answer / top passage with the reference answer (normalised vectors);
    ``None`` where a question has no reference answer (the interview set has key facts)."""
    refs = embedder.encode([r["reference"] or " " for r in rows])
    answers = embedder.encode([r["answer"] or " " for r in rows])
    tops = embedder.encode([r["top_passage"] or " " for r in rows])
    for row, ref, ans, top in zip(rows, refs, answers, tops, strict=True):
        has = bool(row["reference"])
        row["answer_similarity"] = float(ans @ ref) if has else None
        row["top_passage_similarity"] = float(top @ ref) if has else None


def own_question_scores(ask: Callable, questions: list[dict]) -> dict:
    """hit@5 and MRR on ``tests/data/own_questions.jsonl`` (expected source documents,
    matched by doc_id: these questions carry no quotes)."""
    from rag.evaluation import metrics

    ranks = []
    for q in questions:
        passages, _ = ask(q["question"], [])
        ranks.append(next((i for i, (doc_id, _) in enumerate(passages[:K], start=1)
                           if doc_id in q["sources"]), 0))
    return {"questions": len(ranks),
            "hit_at_5": round(float(np.mean([metrics.hit_at_k(r, K) for r in ranks])), 4),
            "mrr": round(float(np.mean([metrics.reciprocal_rank(r) for r in ranks])), 4)}


def aggregate(rows: list[dict]) -> dict:
    from rag.evaluation import metrics

    def mean(key: str) -> float | None:
        values = [r[key] for r in rows if r[key] is not None]
        return round(float(np.mean(values)), 4) if values else None

    for row in rows:
        row["hit1"] = metrics.hit_at_k(row["rank"], 1)
        row["hit5"] = metrics.hit_at_k(row["rank"], K)
        row["rr"] = metrics.reciprocal_rank(row["rank"])
    return {"questions": len(rows), "hit_at_1": mean("hit1"), "hit_at_5": mean("hit5"),
            "mrr": mean("rr"), "answer_similarity": mean("answer_similarity"),
            "top_passage_similarity": mean("top_passage_similarity"),
            "latency": summary_ms([r["seconds"] for r in rows])}


def compare(summary: dict) -> dict:
    """Our ratio to each baseline, metric by metric (latency: ours / theirs)."""
    ours = summary["ours"]
    keys = ("hit_at_1", "hit_at_5", "mrr", "answer_similarity", "top_passage_similarity")
    return {name: {**{k: ratio(ours[k], other[k]) if ours[k] is not None else None
                      for k in keys},
                   "hit_at_5_points": round(100 * (ours["hit_at_5"] - other["hit_at_5"]), 1),
                   "latency_p50": ratio(ours["latency"]["p50_ms"], other["latency"]["p50_ms"])}
            for name, other in summary.items() if name != "ours"}


def report(result: dict) -> None:
    for subset in ("all", "standalone"):
        summary = result["summary"][subset]
        rows = [(name, s["questions"], s["hit_at_1"], s["hit_at_5"], s["mrr"],
                 s["answer_similarity"], s["top_passage_similarity"], s["latency"]["p50_ms"],
                 s["latency"]["p95_ms"]) for name, s in summary.items()]
        print(table(f"Quality, answerable questions ({subset})",
                    ["system", "n", "hit@1", "hit@5", "MRR", "answer sim", "top-passage sim",
                     "p50 ms", "p95 ms"], rows))
    for subset in ("all", "heldout", "train"):
        summary = result["interview"]["summary"][subset]
        print(table(f"Interview set (evals/interview.jsonl), answerable, {subset}",
                    ["system", "n", "hit@1", "hit@5", "MRR", "p50 ms", "p95 ms"],
                    [(name, s["questions"], s["hit_at_1"], s["hit_at_5"], s["mrr"],
                      s["latency"]["p50_ms"], s["latency"]["p95_ms"])
                     for name, s in summary.items()]))
    ratios = result["ratios"]["all"]
    print(table("Ours / baseline (all answerable; latency: ours / theirs)",
                ["baseline", "hit@5", "hit@5 +points", "MRR", "answer sim", "latency p50"],
                [(name, r["hit_at_5"], r["hit_at_5_points"], r["mrr"], r["answer_similarity"],
                  r["latency_p50"]) for name, r in ratios.items()]))
    print(table("Our own questions (tests/data/own_questions.jsonl, source document in top 5)",
                ["system", "n", "hit@5", "MRR"],
                [(name, o["questions"], o["hit_at_5"], o["mrr"])
                 for name, o in result["own_questions"].items()]))
    print(table("Naive indexes", ["index", "documents", "nodes", "build s"],
                [(name, b["documents"], b["nodes"], b["build_s"])
                 for name, b in result["naive_build"].items()]))
    print(targets_table(result["targets"]))


def run_set(asks: dict, questions: list, by_id: dict, embedder, subsets: dict) -> dict:
    """Every system on ``questions``: per-question rows, summaries per subset, ratios."""
    per_question = {}
    for name, ask in asks.items():
        per_question[name] = run_system(ask, questions, by_id)
        add_similarities(per_question[name], embedder)
    summary = {subset: {name: aggregate([r for r in rows if keep(r)])
                        for name, rows in per_question.items()}
               for subset, keep in subsets.items()}
    return {"summary": summary, "ratios": {s: compare(v) for s, v in summary.items()},
            "per_question": {name: [{k: r[k] for k in ("id", "rank", "answer_similarity")}
                                    for r in rows] for name, rows in per_question.items()}}


def interview_set(asks: dict, embedder, smoke: bool) -> dict:
    """The realistic interview set (evals/interview.jsonl): all, held-out and train."""
    from rag.evaluation.run import load_dataset

    dataset = load_dataset(INTERVIEW)
    questions = [q for q in dataset if q.answerable and q.evidence][:4 if smoke else None]
    split = {q.id: q.split for q in dataset}
    subsets = {"all": lambda r: True, "heldout": lambda r: split[r["id"]] == "heldout",
               "train": lambda r: split[r["id"]] == "train"}
    return run_set(asks, questions, {q.id: q for q in dataset}, embedder, subsets)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(NAME, __doc__.splitlines()[0], argv)
    started, before = time.perf_counter(), machine()
    from rag.assistant import Assistant
    from rag.evaluation.run import load_dataset

    assistant = Assistant.load()
    dataset = load_dataset(DATASET)
    questions = [q for q in dataset if q.answerable and q.evidence][:4 if args.smoke else None]
    corpus = assistant.settings.corpus_dir
    embed_model = assistant.embedder.llama_embedding
    naive, builds = {}, {}
    loaders = {"naive": raw_documents, "naive-clean": clean_documents}
    for name, loader in list(loaders.items())[:1 if args.smoke else None]:
        naive[name], builds[name] = naive_retriever(loader(corpus, args.smoke), embed_model)
    asks = {"ours": ask_ours(assistant, "hybrid"), "bm25": ask_ours(assistant, "bm25"),
            **{name: ask_naive(r) for name, r in naive.items()}}
    for ask in asks.values():  # warm every system up once
        ask(questions[0].question, [])
    result = {"k": K, "dataset": str(DATASET.relative_to(REPO)), "systems": list(asks),
              "naive_build": builds,
              **run_set(asks, questions, {q.id: q for q in dataset}, assistant.embedder,
                        {"all": lambda r: True,
                         "standalone": lambda r: r["kind"] != "followup"})}
    result["interview"] = interview_set(asks, assistant.embedder, args.smoke)
    own = read_jsonl(OWN_QUESTIONS)[:3 if args.smoke else None]
    result["own_questions"] = {name: own_question_scores(ask, own) for name, ask in asks.items()}
    result["targets"] = [
        target(f"hit@5 points above {name} ({where})", ratios[name]["hit_at_5_points"], 10.0,
               higher_is_better=True, unit="points")
        for name in naive for where, ratios in (
            ("dataset.jsonl, all answerable", result["ratios"]["all"]),
            ("interview held-out", result["interview"]["ratios"]["heldout"]))]
    report(result)
    write_result(NAME, args, result, started, before)
    return 0


if __name__ == "__main__":
    sys.exit(main())
