"""Typed records passed between pipeline stages.

Every stage takes and returns these frozen pydantic models; nothing passes
loose dicts.  ``Answer.to_json()`` is the public JSON contract of
``rag ask --json`` and is read by tools outside the project: keep the names.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Section(_Frozen):
    """A run of body text under one heading path of a source."""

    heading_path: tuple[str, ...] = ()
    text: str
    links: tuple[str, ...] = ()
    arxiv_ids: tuple[str, ...] = ()
    page_start: int | None = Field(None, description="Page (from 1) the text starts on; "
                                   "None for sources without pages.")
    page_breaks: tuple[tuple[int, int], ...] = Field(
        (), description="``(offset, page)``: where in ``text`` each later page starts.")

    def page_at(self, offset: int) -> int | None:
        """The page holding character ``offset`` of ``text``."""
        page = self.page_start
        for start, number in self.page_breaks:
            if start > offset:
                break
            page = number
        return page


def page_label(start: int | None, end: int | None) -> str:
    """``"p. 4"``, ``"pp. 4–5"``, or "" for a passage without pages."""
    if start is None:
        return ""
    if end is None or end == start:
        return f"p. {start}"
    return f"pp. {start}–{end}"


class Source(_Frozen):
    """One ingested document or paper card, already cleaned."""

    doc_id: str
    title: str
    url: str = ""
    kind: str = Field(description="'document' or 'paper'")
    year: int | None = None
    metadata: dict[str, str] = Field(default_factory=dict)
    sections: tuple[Section, ...] = ()


class Chunk(_Frozen):
    """A retrievable passage.  ``embed_text`` is what the embedding model sees."""

    chunk_id: str
    doc_id: str
    title: str
    section: str
    url: str = ""
    text: str
    embed_text: str
    arxiv_ids: tuple[str, ...] = ()
    position: int = 0
    page_start: int | None = Field(None, description="First page of the passage (PDFs).")
    page_end: int | None = Field(None, description="Last page of the passage (PDFs).")


class Hit(_Frozen):
    """A chunk returned by retrieval, with its fused score and per-retriever ranks."""

    chunk: Chunk
    score: float
    dense_score: float | None = None
    dense_rank: int | None = None
    bm25_rank: int | None = None
    bm25_score: float | None = None
    parts: tuple[str, ...] = Field((), description="Ids of the index chunks this passage "
                                   "joins (a whole paper card or short section, in order); "
                                   "empty when it is the one chunk ``chunk``.")

    @property
    def chunk_ids(self) -> tuple[str, ...]:
        """The index chunks the passage is made of."""
        return self.parts or (self.chunk.chunk_id,)


class Citation(_Frozen):
    """A numbered passage listed under an answer."""

    n: int
    doc_id: str
    title: str
    section: str
    url: str
    text: str
    score: float
    cited: bool = True
    chunk_id: str = ""
    used_sentences: tuple[str, ...] = ()
    page_start: int | None = None
    page_end: int | None = None

    @property
    def pages(self) -> str:
        """``"p. 4"`` / ``"pp. 4–5"`` for a passage of a PDF, else ""."""
        return page_label(self.page_start, self.page_end)


class Paper(_Frozen):
    """A paper linked from a cited passage."""

    arxiv_id: str
    title: str
    year: int | None = None
    url: str


class Answer(_Frozen):
    """The result of ``Assistant.ask``."""

    question: str
    text: str
    citations: tuple[Citation, ...] = ()
    abstained: bool = False
    timings_ms: dict[str, float] = Field(default_factory=dict)
    confidence: float = Field(0.0, description="Evidence strength; below the abstain "
                              "threshold the answer abstains.")
    backend: str = "extractive"
    search_query: str = ""
    related_papers: tuple[Paper, ...] = ()
    unsupported_sentences: tuple[str, ...] = ()
    invalid_citations_removed: int = 0
    fallback_reason: str | None = None
    coverage: str = Field("full", description="How well the material covers the question: "
                          "'full', 'partial' (some asked parts), 'mentioned' (named, not "
                          "explained) or 'none'; abstained is true for the last two.")

    def to_json(self) -> dict:
        """The ``rag ask --json`` contract."""
        return {
            "question": self.question,
            "answer": self.text,
            "abstained": self.abstained,
            "citations": [
                {
                    "n": c.n,
                    "doc_id": c.doc_id,
                    "title": c.title,
                    "section": c.section,
                    "url": c.url,
                    "text": c.text,
                    "score": round(c.score, 6),
                    "cited": c.cited,
                    "page_start": c.page_start,
                    "page_end": c.page_end,
                    "pages": c.pages,
                }
                for c in self.citations
            ],
            "related_papers": [p.model_dump() for p in self.related_papers],
            "timings_ms": {k: round(v, 3) for k, v in self.timings_ms.items()},
            "confidence": round(self.confidence, 4),
            "backend": self.backend,
            "search_query": self.search_query,
            "unsupported_sentences": list(self.unsupported_sentences),
            "invalid_citations_removed": self.invalid_citations_removed,
            "fallback_reason": self.fallback_reason,
            "coverage": self.coverage,
        }


# --- Your own documents (rag/corpus/documents.py) --------------------


class AddedDocument(_Frozen):
    """One document the user added: an entry of ``corpus/added/registry.json``."""

    doc_id: str = Field(description="'user:<name>'; what `rag remove` takes.")
    title: str
    kind: str = Field(description="'paper' (an arXiv paper), 'pdf', 'notes', 'web page' "
                      "or 'text'.")
    format: str = Field(description="'pdf', 'markdown', 'html' or 'text'.")
    file: str = Field(description="The copy under corpus/added/files/.")
    original_name: str
    sha256: str
    bytes: int
    pages: int | None = None
    arxiv_id: str | None = None
    url: str = ""
    added_at: str = Field(description="ISO 8601 UTC time it was added.")


class AddResult(_Frozen):
    """What happened to one file given to `rag add` or uploaded."""

    name: str
    status: str = Field(description="'added', 'duplicate' or 'rejected'.")
    message: str = ""
    doc_id: str = ""
    title: str = ""
    pages: int | None = None


# --- Mock interview (rag/study/) -------------------------------------


class BankEntry(_Frozen):
    """One mock-interview question derived from the corpus."""

    entry_id: str
    question: str
    topic: str
    origin: str = Field(description="'guide', 'discussion', 'heading', 'paper' or "
                        "'document' (a document the user added)")
    source_chunk_ids: tuple[str, ...] = Field(
        (), description="Passages that answer it (reference evidence).")
    origin_chunk_id: str = Field("", description="The passage the question was taken from.")
    hint: str = Field("", description="The corpus's own short answer, when it gives one "
                      "(a discussion point's parenthesis); graded as a key point.")
    from_user_documents: bool = Field(False, description="Derived from a document the user "
                                      "added (`rag add`, app upload), not the shipped corpus.")
    key_points: tuple[KeyPoint, ...] = Field(
        (), description="Facts a good answer covers, chosen at build time (rag/study/stored.py).")
    support: tuple[KeyPoint, ...] = Field(
        (), description="Further facts of its sources an answer may state beyond the key "
        "points: credited by the grader, not required.")


class KeyPoint(_Frozen):
    """A sentence of the reference evidence an answer should cover."""

    text: str
    n: int = Field(description="Number of its passage in the grade's evidence list.")
    title: str
    section: str
    url: str = ""
    weight: float
    covered: bool = False
    similarity: float = Field(0.0, description="Best cosine to a sentence of the answer.")
    matched: str = Field("", description="The answer sentence closest to it.")
    chunk_id: str = Field("", description="The passage it comes from.")
    facet: str = Field("", description="Its sentence's facet ('problem', 'key_idea' ...).")
    contradicted: bool = Field(False, description="The answer states the opposite (a wrong "
                               "number, a swapped antonym, a negation).")
    credit: float = Field(0.0, description="0, 0.5 (partly covered) or 1.")
    why: str = Field("", description="What the grader saw, in words.")


class Grade(_Frozen):
    """The grade of one mock-interview answer."""

    entry: BankEntry
    user_answer: str
    score: float = Field(description="0-10: 10 x covered weight / total weight.")
    key_points: tuple[KeyPoint, ...]
    evidence: tuple[Citation, ...]
    model_answer: Answer
    grader: str = Field("offline", description="'offline' (key-point matching) or "
                        "'llm:<backend>' (an LLM judged the key points as a rubric).")
    notes: tuple[str, ...] = Field((), description="Why points were lost, in words.")

    @property
    def covered(self) -> list[KeyPoint]:
        return [p for p in self.key_points if p.covered]

    @property
    def missed(self) -> list[KeyPoint]:
        return [p for p in self.key_points if not p.covered]


class StudyCard(_Frozen):
    """An exactly graded card built from a fact sentence: a cloze (type the missing
    words) or a multiple choice (the answer among sibling facts of other sources)."""

    card_id: str
    kind: str = Field(description="'cloze' or 'mcq'")
    topic: str
    prompt: str = Field(description="The fact with its answer replaced by ____.")
    answer: str
    answer_type: str = Field(description="'number', 'name' or 'term'")
    options: tuple[str, ...] = Field((), description="Choices of an mcq card, answer included.")
    fact: str = Field(description="The whole source sentence.")
    chunk_id: str
    title: str
    section: str = ""
    url: str = ""


BankEntry.model_rebuild()


# --- Sentence roles (rag/corpus/roles.py, stored in sentences.jsonl) ----------------


class SentenceInfo(_Frozen):
    """One answer sentence of the index with its role and facet (decided at build time).

    ``text`` is the sentence as it appears in its chunk (for highlighting); ``prose``
    is what an answer shows: the facet label removed, a leading pronoun replaced by
    its subject when that is safe.
    """

    chunk: int = Field(description="Position of its chunk in the index's chunk list.")
    text: str
    prose: str = ""
    role: str = Field("fact", description="'fact' (may be an answer line), 'context' "
                      "(links, titles, lists, code: evidence only) or 'question' "
                      "(a discussion point, for the interview bank).")
    facet: str = Field("", description="'problem', 'key_idea', 'method', 'results', "
                       "'limitations', 'advantages', 'usage', 'discussion', 'impact', "
                       "'overview' (a paper card's introduction), 'background' (what a "
                       "card's paper starts from) or ''.")
    label: str = Field("", description="The label the source put before it ('Key idea').")
    subject: str = Field("", description="What its passage is about: the paper's short "
                         "name or the section's topic.")
    hint: str = Field("", description="A discussion point's own short answer (its "
                      "parenthesis), when it gives one.")
    needs_antecedent: bool = Field(False, description="Opens with a pronoun that could not "
                                   "be resolved: use only right after the sentence before.")
    context: str = Field("", description="Why it is context: 'see_also', 'link_list', "
                         "'heading_list', 'title', 'table', 'pointer', 'code', "
                         "'editorial' (the reading list addressing its reader) or "
                         "'outline' (how a paper is laid out).")

    @property
    def is_fact(self) -> bool:
        return self.role == "fact"
