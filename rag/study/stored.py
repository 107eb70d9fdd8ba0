"""The question bank computed once by ``rag build`` and stored with the index.

``study_extra(settings)`` is the hook the CLI and the app pass to
``rag.search.build.build_index``: it writes ``study/`` into the new build folder
before the manifest is written, so the manifest checksums it and a changed corpus,
interview setting or study code rebuilds it.  ``load_study(index)`` reads it back
(no embedding at start-up).  Files::

    study/bank.jsonl            one BankEntry per line, key points included
    study/question_vectors.npy  one row per entry
    study/point_vectors.npy     one row per key point, entries in order
    study/support_vectors.npy   one row per further fact (``BankEntry.support``), likewise
    study/cards.jsonl           cloze and multiple-choice cards
    study/vocab.json            the corpus's words (an answer made of none is gibberish)
    study/report.json           bank size per topic before and after merging/dropping
"""

from __future__ import annotations

import ast
import hashlib
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rag.errors import IndexProblem
from rag.records import BankEntry, Chunk, KeyPoint, StudyCard
from rag.search.build import BuildContext, BuildExtra
from rag.search.glossary import expand_acronyms
from rag.search.index import bm25_tokenize
from rag.settings import InterviewSettings, Settings
from rag.study import bank as study_bank
from rag.study import cards as study_cards
from rag.study import keypoints, terms

STUDY_DIR = "study"
_CODE = ("bank.py", "bank_ids.py", "keypoints.py", "cards.py", "terms.py", "stored.py")
ORIGIN_RANK = {"guide": 0, "discussion": 1, "heading": 2, "paper": 3, "document": 4}


@dataclass
class StudyBank:
    """The stored bank, loaded: entries with key points and their vectors, cards."""

    entries: list[BankEntry]
    question_vectors: dict[str, np.ndarray]
    point_vectors: dict[str, np.ndarray]
    cards: list[StudyCard] = field(default_factory=list)
    vocab: frozenset[str] = frozenset()
    report: dict = field(default_factory=dict)
    stem_df: dict[str, int] = field(default_factory=dict)  # chunks holding each stem
    n_chunks: int = 1
    support_vectors: dict[str, np.ndarray] = field(default_factory=dict)  # entry.support rows

    def term_weight(self, stem: str) -> float:
        """How much using ``stem`` shows knowledge: 1 for a rare term (in under 3% of
        passages) or a number, 0.5 for a middling one (under 10%), 0 for common words."""
        share = self.stem_df.get(stem, 0) / max(1, self.n_chunks)
        if share < 0.03 or stem[:1].isdigit():
            return 1.0
        return 0.5 if share < 0.10 else 0.0

    def entry(self, entry_id: str) -> BankEntry | None:
        return next((e for e in self.entries if e.entry_id == entry_id), None)


_SHAPING = ("guide_doc_id", "min_section_sentences", "reference_passages", "key_points",
            "redundancy_threshold", "duplicate_threshold", "min_key_points",
            "min_point_relevance", "support_points")


def fingerprint(settings: InterviewSettings) -> str:
    """The study code (syntax trees) and the interview settings that shape the bank
    (grading thresholds do not: changing them rebuilds nothing)."""
    shaping = {k: v for k, v in settings.model_dump().items() if k in _SHAPING}
    digest = hashlib.sha256(json.dumps(shaping, sort_keys=True).encode())
    for name in _CODE:
        source = (Path(__file__).parent / name).read_text(encoding="utf-8")
        digest.update(ast.dump(ast.parse(source)).encode())
    return digest.hexdigest()[:12]


def study_extra(settings: Settings) -> BuildExtra:
    return BuildExtra("study", fingerprint(settings.interview), write_study)


# --- building ---------------------------------------------------------------------


class BuildSearch:
    """Hybrid search over the chunks being built (dense + BM25, reciprocal rank
    fusion), for the evidence of each question; acronyms are spelled out first."""

    def __init__(self, ctx: BuildContext):
        from rag.search.index import bm25s_module

        self.ctx = ctx
        self.bm25 = bm25s_module(build=True).BM25(csc_backend="scipy")
        self.bm25.index(bm25_tokenize([c.embed_text for c in ctx.chunks]), show_progress=False)

    def __call__(self, question: str, qvec: np.ndarray, k: int, rrf: int = 60) -> list[int]:
        n = len(self.ctx.chunks)
        dense = np.argsort(-(self.ctx.chunk_vectors @ qvec), kind="stable")[:30]
        tokens = bm25_tokenize([expand_acronyms(question)], return_ids=False)
        docs, _ = self.bm25.retrieve(tokens, k=min(30, n), show_progress=False)
        fused: dict[int, float] = {}
        for ranking in (dense, docs[0]):
            for rank, i in enumerate(ranking):
                fused[int(i)] = fused.get(int(i), 0.0) + 1.0 / (rrf + rank)
        return sorted(fused, key=lambda i: -fused[i])[:k]


_TEMPLATES = (re.compile(r"^What problem does (.+?) solve, and (?:how|what is its key idea)\?$"),
              re.compile(r"^Give an overview of (.+?): the main ideas and trade-offs\.$"))


def subject(question: str) -> str:
    """What a templated question is about, normalised ("What problem does “BERT: ...”
    solve, and how?" -> "bertpretrainingofdeep..."); other questions whole."""
    for template in _TEMPLATES:
        if m := template.match(question):
            question = m.group(1)
            break
    question = question.strip("“”\"").split(":")[0]
    return re.sub(r"[^a-z0-9]", "", question.lower())


def is_duplicate(a: BankEntry, b: BankEntry, cos: float, threshold: float) -> bool:
    """Same topic, and either the same subject with cosine >= ``threshold`` (templated
    questions about one paper) or nearly the same question (cosine >= 0.97)."""
    if a.topic != b.topic:
        return False
    return cos >= 0.97 or (cos >= threshold and subject(a.question) == subject(b.question))


def merge_duplicates(entries: list[BankEntry], qvecs: np.ndarray,
                     threshold: float) -> tuple[list[BankEntry], np.ndarray, list[tuple]]:
    """Near-duplicate questions (``is_duplicate``) merge into the one of the
    higher-ranked origin (guide > discussion > heading > paper), sources united."""
    order = sorted(range(len(entries)), key=lambda i: (ORIGIN_RANK.get(entries[i].origin, 9), i))
    kept: list[int] = []
    merged: dict[int, list[str]] = {}
    pairs = []
    for i in order:
        sims = [(float(qvecs[i] @ qvecs[j]), j) for j in kept
                if is_duplicate(entries[i], entries[j], float(qvecs[i] @ qvecs[j]), threshold)]
        best = max(sims, default=(0.0, -1))
        if best[1] >= 0:
            merged.setdefault(best[1], []).extend(entries[i].source_chunk_ids)
            pairs.append((entries[best[1]].question, entries[i].question, round(best[0], 3)))
        else:
            kept.append(i)
    kept.sort()
    out = []
    for i in kept:
        ids = tuple(dict.fromkeys([*entries[i].source_chunk_ids, *merged.get(i, [])]))
        out.append(entries[i].model_copy(update={"source_chunk_ids": ids}))
    return out, qvecs[kept], pairs


def _alnum(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def _subject_names(ctx: BuildContext, own: list[int]) -> list[str]:
    """What the entry's own passages are about, normalised to letters and digits: a
    paper card's title, a section's short label ("LoRA", "Mixture of Experts")."""
    names = set()
    for ci in own:
        chunk = ctx.chunks[ci]
        if chunk.doc_id.startswith("arxiv:") or not chunk.section:
            names.add(_alnum(chunk.title))
        else:
            label = study_bank.clean_heading(chunk.section.split(" › ")[-1])
            names.add(_alnum(study_bank.short_label(label)))
    return sorted(n for n in names if len(n) >= 3)


def _allowed(ctx: BuildContext, entry: BankEntry, own: list[int], retrieved: list[int]
             ) -> list[int]:
    """Retrieved passages that may give an entry key points: none for a paper card or a
    document (its own passages say it all), only those about the same subject (named in
    their title or section, or a paper card's opening sentence) for a section or
    discussion question, all for a guide question (it has no passages)."""
    if entry.origin in ("paper", "document"):
        return []
    if entry.origin == "guide":  # about what it asks, when any is
        return [ci for ci in retrieved if _names_asked(ctx.chunks[ci], entry.question)] \
            or retrieved
    if not own:
        return retrieved
    names = _subject_names(ctx, own)
    out = []
    for ci in retrieved:
        chunk = ctx.chunks[ci]
        # about the subject: its title or section names it, or a paper card's opening
        # sentence ("This OpenAI paper introduced GPT-3"); the InstructGPT section, which
        # opens "Problem: GPT-3 is not always helpful", is not about GPT-3
        opening = re.split(r"(?<=[.!?])\s", chunk.text[:400], maxsplit=1)[0] \
            if chunk.doc_id.startswith("arxiv:") and chunk.chunk_id.endswith("#0") else ""
        text = _alnum(f"{chunk.title} {chunk.section} {opening}")
        if any(name in text for name in names):
            out.append(ci)
    return out


def _names_asked(chunk: Chunk, question: str) -> bool:
    """Does a passage's title or section name something the question asks about ("Explain
    the attention mechanism in transformers": the Transformer card, not Mamba's section,
    whose problem line only mentions attention)?"""
    asked = terms.distinguishing(expand_acronyms(question), "")  # "ToT": tree of thoughts
    return bool(asked & terms.content_stems(f"{chunk.title} {chunk.section}"))


def _candidates(ctx: BuildContext, entry: BankEntry, qvec: np.ndarray,
                facts: dict[int, list[int]], cfg: InterviewSettings, search: BuildSearch,
                ) -> list[keypoints.Candidate]:
    position = {c.chunk_id: i for i, c in enumerate(ctx.chunks)}
    own = [position[c] for c in entry.source_chunk_ids if c in position]
    if entry.origin == "guide":  # retrieved for it: own only when about what it asks
        own = [ci for ci in own if _names_asked(ctx.chunks[ci], entry.question)]
    skip = position.get(entry.origin_chunk_id) if entry.origin == "guide" else None
    wide = 2 if entry.origin == "guide" else 1  # a guide question keeps only some of them
    retrieved = _allowed(ctx, entry, own,
                         search(entry.question, qvec, wide * cfg.reference_passages))
    retrieved = retrieved[:cfg.reference_passages]
    out = []
    for ci in dict.fromkeys([*own, *retrieved]):
        if ci == skip:
            continue
        for row in facts.get(ci, []):
            info = ctx.sentences[row]
            relevance = float(ctx.sentence_vectors[row] @ qvec)
            relevance += keypoints.facet_bonus(entry.question, info.facet)
            out.append(keypoints.Candidate(sentence_text(info), ci, relevance, ci in own,
                                           info.facet))
    return out


def _point(text: str, chunk: Chunk, n: int, weight: float, facet: str = "") -> KeyPoint:
    return KeyPoint(text=text, n=n, title=chunk.title, section=chunk.section, url=chunk.url,
                    weight=weight, chunk_id=chunk.chunk_id, facet=facet)


def entry_points(ctx: BuildContext, entry: BankEntry, qvec: np.ndarray,
                 facts: dict[int, list[int]], plain: dict[str, np.ndarray],
                 cfg: InterviewSettings, search: BuildSearch
                 ) -> tuple[BankEntry, np.ndarray, np.ndarray]:
    """The entry with its key points and further facts (``support``; sources renumbered
    to the points' passages), and the vectors of both."""
    cands = [c for c in _candidates(ctx, entry, qvec, facts, cfg, search) if c.text in plain]
    if entry.hint and entry.origin_chunk_id:
        ci = next(i for i, c in enumerate(ctx.chunks) if c.chunk_id == entry.origin_chunk_id)
        cands.insert(0, keypoints.Candidate(entry.hint, ci, 1.0, True))
    dim = ctx.chunk_vectors.shape[1]
    vecs = np.stack([plain[c.text] for c in cands]) if cands else np.zeros((0, dim))
    keep = keypoints.select_points(cands, vecs, cfg.key_points, cfg.redundancy_threshold,
                                   cfg.min_point_relevance)
    extra = keypoints.select_support(cands, vecs, keep, cfg.support_points,
                                     cfg.redundancy_threshold)
    sources: list[str] = []
    points = []
    for i in [*keep, *extra]:
        chunk = ctx.chunks[cands[i].chunk]
        if chunk.chunk_id not in sources:
            sources.append(chunk.chunk_id)
        points.append(_point(cands[i].text, chunk, sources.index(chunk.chunk_id) + 1,
                             keypoints.point_weight(cands[i].relevance), cands[i].facet))
    rest = [c for c in entry.source_chunk_ids if c not in sources]
    updated = entry.model_copy(update={"key_points": tuple(points[:len(keep)]),
                                       "support": tuple(points[len(keep):]),
                                       "source_chunk_ids": tuple(sources + rest)})
    return updated, vecs[keep].reshape(-1, dim), vecs[extra].reshape(-1, dim)


def sentence_text(info) -> str:
    """What a key point or card shows: the sentence's prose (label removed, subject
    restored by ``rag.corpus.roles``), else its text."""
    return info.prose or info.text


def _fact_rows(ctx: BuildContext) -> dict[int, list[int]]:
    """Rows of the sentences that are facts: role "fact" (``rag.corpus.roles``), a
    resolvable subject, and ``keypoints.is_fact`` on the prose."""
    titles = {c.title for c in ctx.chunks} | {
        study_bank.clean_heading(c.section.split(" › ")[-1]) for c in ctx.chunks if c.section}
    facts: dict[int, list[int]] = {}
    for row, info in enumerate(ctx.sentences):
        role = "context" if info.needs_antecedent else info.role
        if keypoints.is_fact(sentence_text(info), role=role, titles=titles,
                             labelled=bool(info.label and info.facet)):
            facts.setdefault(info.chunk, []).append(row)
    return facts


def write_study(ctx: BuildContext) -> None:
    """The build hook: questions, key points with vectors, cards, into ``study/``."""
    cfg = ctx.settings.interview
    hybrid = BuildSearch(ctx)

    def search(question: str) -> list[str]:
        qvec = ctx.encode([expand_acronyms(question)])[0]
        return [ctx.chunks[i].chunk_id for i in hybrid(question, qvec, cfg.reference_passages)]

    raw = study_bank.build_bank(ctx.chunks, cfg, search)
    qvecs = ctx.encode([expand_acronyms(e.question.replace("“", "").replace("”", ""))
                        for e in raw])
    entries, qvecs, pairs = merge_duplicates(raw, qvecs, cfg.duplicate_threshold)
    facts = _fact_rows(ctx)
    texts = sorted({sentence_text(ctx.sentences[r]) for rows in facts.values() for r in rows}
                   | {e.hint for e in entries if e.hint})
    plain = dict(zip(texts, ctx.encode(texts)))
    kept, kept_q, point_vecs, support_vecs = [], [], [], []
    for entry, qvec in zip(entries, qvecs):
        entry, vecs, extra = entry_points(ctx, entry, qvec, facts, plain, cfg, hybrid)
        if len(entry.key_points) >= cfg.min_key_points:
            kept.append(entry)
            kept_q.append(qvec)
            point_vecs.append(vecs)
            support_vecs.append(extra)
    cards = study_cards.build_cards(ctx.chunks, [(ci, sentence_text(ctx.sentences[r]))
                                                 for ci, rows in facts.items() for r in rows])
    report = {"candidates": dict(Counter(e.topic for e in raw)),
              "after_merge": dict(Counter(e.topic for e in entries)),
              "kept": dict(Counter(e.topic for e in kept)), "merged_pairs": pairs,
              "cards": dict(Counter(c.kind for c in cards))}
    dim = ctx.chunk_vectors.shape[1]
    arrays = {"question_vectors": np.stack(kept_q).reshape(-1, dim),
              "point_vectors": _rows(point_vecs, dim), "support_vectors": _rows(support_vecs, dim)}
    _save(ctx.out_dir / STUDY_DIR, kept, arrays, cards, _vocab(ctx.chunks), report)


def _rows(parts: list[np.ndarray], dim: int) -> np.ndarray:
    return np.concatenate([p.reshape(-1, dim) for p in parts]) if parts else np.zeros((0, dim))


def _vocab(chunks: list[Chunk]) -> dict:
    """The corpus's words (gibberish check) and each stem's passage count (rarity)."""
    words = sorted({w for c in chunks for w in terms.words(c.text)})
    df = Counter(s for c in chunks for s in terms.content_stems(c.text))
    return {"words": words, "stem_df": dict(sorted(df.items())), "chunks": len(chunks)}


def _save(out: Path, entries, arrays: dict[str, np.ndarray], cards, vocab, report) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with (out / "bank.jsonl").open("w", encoding="utf-8") as f:
        for e in entries:
            f.write(json.dumps(e.model_dump(mode="json"), ensure_ascii=False) + "\n")
    with (out / "cards.jsonl").open("w", encoding="utf-8") as f:
        for c in cards:
            f.write(json.dumps(c.model_dump(mode="json"), ensure_ascii=False) + "\n")
    for name, array in arrays.items():
        np.save(out / f"{name}.npy", array.astype(np.float32), allow_pickle=False)
    (out / "vocab.json").write_text(json.dumps(vocab), encoding="utf-8")
    (out / "report.json").write_text(json.dumps(report, indent=1, ensure_ascii=False),
                                     encoding="utf-8")


# --- loading ----------------------------------------------------------------------


def load_study(build_dir: Path) -> StudyBank:
    """The bank stored in a build folder; ``IndexProblem`` when it is missing."""
    root = build_dir / STUDY_DIR
    if not (root / "bank.jsonl").is_file():
        raise IndexProblem(f"no question bank in {build_dir}: run `rag build` (the CLI "
                           "and the app store it with the index)")
    try:
        entries = [BankEntry(**json.loads(line)) for line in
                   (root / "bank.jsonl").read_text(encoding="utf-8").splitlines()]
        cards = [StudyCard(**json.loads(line)) for line in
                 (root / "cards.jsonl").read_text(encoding="utf-8").splitlines()]
        qvecs = np.load(root / "question_vectors.npy", allow_pickle=False)
        pvecs = np.load(root / "point_vectors.npy", allow_pickle=False)
        svecs = np.load(root / "support_vectors.npy", allow_pickle=False)
        vocab = json.loads((root / "vocab.json").read_text(encoding="utf-8"))
        report = json.loads((root / "report.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise IndexProblem(f"the stored question bank in {build_dir} is damaged ({exc}); "
                           "run `rag build --force`") from exc
    sizes = np.cumsum([0] + [len(e.key_points) for e in entries])
    extra = np.cumsum([0] + [len(e.support) for e in entries])
    if len(qvecs) != len(entries) or len(pvecs) != sizes[-1] or len(svecs) != extra[-1]:
        raise IndexProblem(f"the stored question bank in {build_dir} is inconsistent; "
                           "run `rag build --force`")
    return StudyBank(entries, {e.entry_id: qvecs[i] for i, e in enumerate(entries)},
                     {e.entry_id: pvecs[sizes[i]:sizes[i + 1]] for i, e in enumerate(entries)},
                     cards, frozenset(vocab["words"]), report, vocab["stem_df"], vocab["chunks"],
                     {e.entry_id: svecs[extra[i]:extra[i + 1]] for i, e in enumerate(entries)})
