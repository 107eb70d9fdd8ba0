"""Answer composition: the extractive backend and citation assembly.

The extractive backend needs no LLM.  It scores the sentences of the top
passages against the question (sentence vectors were computed at build time);
``rag.answer.focus`` plans the answer from them (intent, subject, coverage) and
``rag.answer.compose`` lays it out, each line ending with the ``[n]`` of its
passage.  Citations are numbered by first use; cited
passages are listed first, then the other retrieved ones.  Everything here
except ``ExtractiveBackend.answer`` is a pure function.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from rag.answer.grounded import Candidate, Composer
from rag.answer.sentences import SentenceTable, spelled_acronyms
from rag.corpus.chunk import is_answer_sentence
from rag.records import Citation, Hit, Paper
from rag.search.query import stem_tokens
from rag.settings import AnswerSettings, FocusSettings

ABSTAIN_TEXT = (
    "The reading material does not cover this question well enough to answer it. "
    "The closest passages are listed below; try rephrasing or asking about a topic "
    "from the reading list."
)
# A greeting or a request for a poem (``rag.answer.offtopic.small_talk``): no question.
SMALL_TALK_TEXT = (
    "I answer questions about the reading list, with every claim cited, for example "
    "\u201cWhy divide attention scores by sqrt(d_k)?\u201d or \u201cDPO vs RLHF?\u201d. "
    "Ask about a topic from it; the passages closest to your message are listed below."
)
_MARKER = re.compile(r"\[(\d+)\]")


def term_overlap(query_terms: set[str], sentence_terms: frozenset[str],
                 idf: dict[str, float]) -> float:
    """IDF-weighted share of the query's terms that the sentence contains (0..1)."""
    total = sum(idf.get(t, 0.0) for t in query_terms)
    if total <= 0:
        return 0.0
    return sum(idf.get(t, 0.0) for t in query_terms if t in sentence_terms) / total


def idf_table(documents: Sequence[Sequence[str]]) -> dict[str, float]:
    """Smoothed inverse document frequency of each term over tokenised documents."""
    df: Counter[str] = Counter(t for doc in documents for t in set(doc))
    n = len(documents)
    return {t: math.log(1 + n / c) for t, c in df.items()}


def score_candidates(
    query_vec: np.ndarray, hits: Sequence[Hit], ranges: Sequence[tuple[int, int]],
    sentences: Sequence[tuple[int, str]], sentence_vectors: np.ndarray,
    chunk_index: dict[str, int], lexical: Callable[[int], float] = lambda i: 0.0,
    rank_weight: float = 0.0, prose: Sequence[str] | None = None,
    usable: Sequence[bool] | None = None,
) -> list[Candidate]:
    """Every answer-worthy sentence of the hits, best first.

    Score = cosine to the question + ``lexical(i)`` (weighted term overlap) + a
    small bonus for sentences of higher-ranked passages.  ``usable`` (by sentence)
    keeps context and questions out; ``prose`` is the text an answer shows.
    """
    seen: set[str] = set()
    out: list[Candidate] = []
    for rank, hit in enumerate(hits):
        spans = [ranges[chunk_index[cid]] for cid in hit.chunk_ids]
        rows = [i for start, end in spans for i in range(start, end)]
        cosines = sentence_vectors[rows] @ query_vec if rows else []
        bonus = rank_weight * (len(hits) - rank) / len(hits)
        for i, cos in zip(rows, cosines):
            text = sentences[i][1]
            if text in seen or (not usable[i] if usable else not is_answer_sentence(text)):
                continue
            seen.add(text)
            score = float(cos) + lexical(i) + bonus
            out.append(Candidate(rank, i, prose[i] if prose else text, score, float(cos),
                                 source_text=text))
    return sorted(out, key=lambda c: (-c.score, c.hit_rank, c.sentence))


def confidence(best_sentence: float, hits: Sequence[Hit], settings: AnswerSettings) -> float:
    """Evidence strength: the best of sentence and passage cosine, plus a capped bonus
    when BM25 finds a strong lexical match (rare terms the embedding model blurs)."""
    dense = max((h.dense_score or 0.0 for h in hits), default=0.0)
    bm25 = max((h.bm25_score or 0.0 for h in hits), default=0.0)
    bonus = min(settings.bm25_bonus_max,
                settings.bm25_bonus_per_point * max(0.0, bm25 - settings.bm25_bonus_from))
    return max(best_sentence, dense) + bonus


def citation_order(used_ranks: Sequence[int], n_hits: int) -> list[int]:
    """Hit ranks in citation order: cited ones by first use, then the rest by rank."""
    order = list(dict.fromkeys(used_ranks))
    return order + [r for r in range(n_hits) if r not in order]


def build_citations(
    hits: Sequence[Hit], order: Sequence[int], cited: set[int],
    used: dict[int, list[str]],
) -> list[Citation]:
    """Numbered citations (n from 1) for ``hits`` in ``order``."""
    citations = []
    for n, rank in enumerate(order, start=1):
        hit = hits[rank]
        c = hit.chunk
        citations.append(Citation(
            n=n, doc_id=c.doc_id, title=c.title, section=c.section, url=c.url, text=c.text,
            score=hit.score, cited=rank in cited, chunk_id=c.chunk_id,
            used_sentences=tuple(used.get(rank, ())),
            page_start=c.page_start, page_end=c.page_end))
    return citations


def markers_in(text: str) -> list[int]:
    return [int(m) for m in _MARKER.findall(text)]


def related_papers(
    citations: Sequence[Citation], chunk_arxiv: dict[str, tuple[str, ...]],
    papers: dict[str, dict],
) -> list[Paper]:
    """Papers linked from (or being) the cited passages, in citation order."""
    found: dict[str, Paper] = {}
    for cit in citations:
        if not cit.cited:
            continue
        for arxiv_id in chunk_arxiv.get(cit.chunk_id, ()):
            card = papers.get(arxiv_id)
            if card and arxiv_id not in found:
                found[arxiv_id] = Paper(arxiv_id=arxiv_id, title=card["title"],
                                        year=card.get("year"), url=card["url"])
    return list(found.values())


@dataclass
class Draft:
    """What a backend produces before the assistant adds timings and metadata."""

    text: str
    citations: list[Citation]
    abstained: bool
    backend: str
    confidence: float = 0.0
    fallback_reason: str | None = None
    unsupported_sentences: tuple[str, ...] = ()
    invalid_citations_removed: int = 0
    coverage: str = "full"


class Backend(Protocol):
    """An answer backend: ``stream`` yields text pieces, then exactly one ``Draft``."""

    name: str

    def stream(self, question: str, query_vec: np.ndarray,
               hits: Sequence[Hit]) -> Iterator[str | Draft]: ...


def word_pieces(text: str) -> Iterator[str]:
    """Split text into words with their trailing whitespace (streaming granularity)."""
    yield from re.findall(r"\S+\s*|\s+", text)


def sentence_units(text: str, heading: frozenset[str], stem) -> list[frozenset[str]]:
    """Stems of each sentence or line of ``text``, each with ``heading``'s terms."""
    pieces = (p for ln in text.splitlines() for p in re.split(r"(?<=[.!?;])\s+", ln))
    return [frozenset(stem(p)) | heading for p in pieces if p.strip()]


def short_lines(text: str, stem, most: int = 8) -> list[frozenset[str]]:
    """Stems of each short line or list item of ``text`` (at most ``most`` words)."""
    items = (i.strip(" -*•\t") for ln in text.splitlines() for i in re.split(r"\s+-\s+", ln))
    return [frozenset(stem(i)) for i in items if i and len(i.split()) <= most]


def written_pairs(text: str, stem) -> frozenset[frozenset[str]]:
    """The pairs of stems written next to each other in a sentence or line of ``text``
    ("cells divide" is not one of a text saying it "divides" an image into cells)."""
    pairs: set[frozenset[str]] = set()
    for part in re.split(r"(?<=[.!?])\s+|\n", text):
        tokens = stem(part)
        pairs.update(frozenset(p) for p in zip(tokens, tokens[1:]))
    return frozenset(pairs)


class ExtractiveBackend:
    """Answers from the passages' own sentences; works offline, no model beyond embeddings.

    The question's intent (``rag.answer.intent``) and subject (``rag.answer.coverage``)
    steer which sentences lead; ``rag.answer.grounded`` composes the answer and decides
    its coverage."""

    name = "extractive"

    def __init__(self, index, settings: AnswerSettings, focus: FocusSettings | None = None,
                 names=None, dictionary: frozenset[str] = frozenset()):
        """``names``: the papers and methods the index knows (``rag.search.names``); a
        short question that names one is about it.  ``dictionary``: common English words
        (``rag.search.query.dictionary_words``)."""
        from rag.search.index import bm25_tokenize

        self.index = index
        self.names = names
        self.dictionary = dictionary
        self.settings = settings
        self.focus = focus or FocusSettings()
        self.chunk_index = {c.chunk_id: i for i, c in enumerate(index.chunks)}
        self._tokenize = lambda text: list(stem_tokens(text))
        self.idf = idf_table(bm25_tokenize([c.embed_text for c in index.chunks],
                                           return_ids=False))
        self.max_idf = max(self.idf.values(), default=1.0)
        tokenize_all = lambda texts: bm25_tokenize(list(texts), return_ids=False)  # noqa: E731
        self.table = SentenceTable(index, tokenize_all)
        self.sentence_terms = [frozenset(t) for t in self.table.terms]
        self.chunk_terms = [frozenset(t) for t in tokenize_all(c.text for c in index.chunks)]
        self.chunk_names = [terms | spelled_acronyms(f"{c.section} {c.text}", self._tokenize)
                            for terms, c in zip(self.chunk_terms, index.chunks)]
        self.chunk_lines = [short_lines(c.text, self._tokenize) for c in index.chunks]
        self.chunk_pairs = [written_pairs(c.text, self._tokenize) for c in index.chunks]
        self.chunk_units = [sentence_units(c.text, spelled_acronyms(c.section, self._tokenize),
                                           self._tokenize) for c in index.chunks]
        self.composer = Composer(self.table, index.sentence_vectors, settings, self.focus)

    def passage_terms(self, hit: Hit) -> frozenset[str]:
        """The stemmed terms of a retrieved passage (all its chunks)."""
        return frozenset().union(*(self.chunk_terms[self.chunk_index[cid]]
                                   for cid in hit.chunk_ids))

    def passage_names(self, hit: Hit) -> frozenset[str]:
        """A passage's terms plus the spelled-out forms of the acronyms it or its heading
        uses (a "VAE" section names the variational autoencoder)."""
        return frozenset().union(*(self.chunk_names[self.chunk_index[cid]]
                                   for cid in hit.chunk_ids))

    def names_together(self, hit: Hit, terms: set[str]) -> bool:
        """Does one sentence or line of the passage (with its heading's spelled-out
        acronyms) hold all of ``terms``?  "Turing test" is not named by a passage with
        "Megatron-Turing" in one sentence and "to test the prediction" in another."""
        return any(terms <= unit for cid in hit.chunk_ids
                   for unit in self.chunk_units[self.chunk_index[cid]])

    def passage_pairs(self, hit: Hit) -> frozenset[frozenset[str]]:
        """The stem pairs a passage writes next to each other (``written_pairs``)."""
        return frozenset().union(*(self.chunk_pairs[self.chunk_index[cid]]
                                   for cid in hit.chunk_ids))

    def lists_name(self, hit: Hit, name: set[str]) -> bool:
        """Does a short line of the passage (a syllabus item: "- WGAN/WGAN-GP", "ELBO
        derivation") name ``name``?  How the reading list names a topic it does not
        explain; a name inside prose ("17 JavaScript libraries used for ...") is not it."""
        return any(name <= line for cid in hit.chunk_ids
                   for line in self.chunk_lines[self.chunk_index[cid]])

    def candidates(self, question: str, query_vec: np.ndarray,
                   hits: Sequence[Hit]) -> list[Candidate]:
        """Scored usable sentences of the top passages for this question."""
        terms = set(self._tokenize(question))
        weight = self.settings.lexical_weight
        return score_candidates(
            query_vec, list(hits[: self.focus.pool]),
            self.index.sentence_ranges, self.index.sentences, self.index.sentence_vectors,
            self.chunk_index,
            lambda i: weight * term_overlap(terms, self.sentence_terms[i], self.idf),
            self.settings.rank_weight, self.table.text, self.table.usable)

    def answer(self, question: str, query_vec: np.ndarray, hits: Sequence[Hit]) -> Draft:
        from rag.answer.focus import plan_answer

        return plan_answer(self, question, query_vec, hits)

    def stream(self, question: str, query_vec: np.ndarray,
               hits: Sequence[Hit]) -> Iterator[str | Draft]:
        draft = self.answer(question, query_vec, hits)
        yield from word_pieces(draft.text)
        yield draft
