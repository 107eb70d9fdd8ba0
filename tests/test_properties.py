"""Property tests (hypothesis) for cleaning and chunking, with the real tokenizer.

1. No cleaning, parsing or chunking function crashes on arbitrary text.
2. Every body word of a generated markdown document lands in at least one chunk.
   *Markup* (the only text allowed to vanish) is, precisely: heading lines (``#``
   markers plus heading text, which goes to the chunk's section path instead),
   emphasis markers ``**``/``__``, HTML tags ``<b>``/``</b>``/``<br/>``, and the
   ``[``, ``](url)`` part of markdown links.  Body words are everything else:
   paragraph words, including emphasised words, words inside HTML tags and link
   anchor text.  Chunk text is cut into words at whitespace and ``.,;:``.
   Paragraphs end with or without a full stop (a paragraph break must never glue
   the last word of one paragraph to the first of the next: see
   ``test_paragraph_break_is_kept``).
3. Token bounds: every chunk's embedded text (heading prefix + body) fits the
   chunk budget and the model window, counted by the embedding model's tokenizer.
"""

from __future__ import annotations

import re
import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rag.corpus import clean
from rag.corpus.chunk import chunk_source, split_sentences, split_text
from rag.corpus.ingest import parse_document
from rag.settings import ChunkSettings

PROPS = settings(max_examples=40, deadline=None,
                 suppress_health_check=[HealthCheck.function_scoped_fixture,
                                        HealthCheck.too_slow])
MODEL_BODY = 254  # all-MiniLM-L6-v2 window (256) minus [CLS] and [SEP]
# Letters that ftfy or the corpus' mojibake repairs never rewrite.
LETTERS = string.ascii_letters + string.digits + "éüßñçøå中文字"

words = st.text(alphabet=LETTERS, min_size=1, max_size=12)
any_text = st.text(alphabet=st.characters(codec="utf-8"), max_size=2000)
budgets = st.sampled_from([ChunkSettings(), ChunkSettings(chunk_tokens=96, overlap_tokens=16),
                           ChunkSettings(chunk_tokens=40, overlap_tokens=8)])


@pytest.fixture(scope="module")
def count_tokens(embedder):
    return embedder.count_tokens


# --- 1. never crash ------------------------------------------------------------------------
@PROPS
@given(text=any_text)
def test_cleaning_never_crashes(text):
    for fn in (clean.repair_mojibake, clean.strip_html, clean.strip_emphasis,
               clean.strip_symbols, clean.code_to_text, clean.normalize_whitespace,
               clean.strip_blockquote):
        assert isinstance(fn(text), str)
    meta, body = clean.split_front_matter(text)
    assert isinstance(meta, dict) and isinstance(body, str)
    unlinked, links = clean.unlink_markdown(text)
    assert isinstance(unlinked, str) and all(len(pair) == 2 for pair in links)
    assert isinstance(clean.arxiv_ids_in(text), tuple)


@PROPS
@given(text=any_text, chunking=budgets)
def test_parsing_and_chunking_never_crash_and_fit(text, chunking, count_tokens):
    source = parse_document("doc", text)
    for chunk in chunk_source(source, chunking, count_tokens, MODEL_BODY):
        assert chunk.text.strip() and clean.is_meaningful(chunk.text)
        assert count_tokens(chunk.embed_text) <= min(chunking.chunk_tokens, MODEL_BODY)
        split_sentences(chunk.text)


# --- 2. no body word lost ----------------------------------------------------------------
@st.composite
def marked_up_word(draw) -> tuple[str, list[str]]:
    """(markdown, its body words): a plain, emphasised, tagged or linked word run."""
    run = draw(st.lists(words, min_size=1, max_size=3))
    text = " ".join(run)
    kind = draw(st.sampled_from(["plain", "plain", "bold", "under", "tag", "link"]))
    if kind == "bold":
        return f"**{text}**", run
    if kind == "under":
        return f"__{text}__", run
    if kind == "tag":
        return f"<b>{text}</b>", run
    if kind == "link":
        return f"[{text}](https://example.org/{run[0]})", run
    return text, run


@st.composite
def documents(draw) -> tuple[str, list[str]]:
    """A markdown document and the body words it holds."""
    lines, body = [], []
    for _ in range(draw(st.integers(1, 5))):
        level = draw(st.integers(1, 4))
        lines += ["#" * level + " " + " ".join(draw(st.lists(words, min_size=1, max_size=4))),
                  ""]
        for _ in range(draw(st.integers(1, 4))):  # paragraphs
            parts = draw(st.lists(marked_up_word(), min_size=1, max_size=40))
            sentence_ends = draw(st.lists(st.booleans(), min_size=len(parts),
                                          max_size=len(parts)))
            pairs = zip(parts, sentence_ends, strict=True)
            line = " ".join(md + ("." if end else "") for (md, _), end in pairs)
            lines += [line + ("." if draw(st.booleans()) else ""), ""]
            body += [w for _, ws in parts for w in ws]
    return "\n".join(lines), body


def _tokens(text: str) -> set[str]:
    return {t for t in re.split(r"[\s.,;:]+", text) if t}


@PROPS
@given(doc=documents(), chunking=budgets)
def test_every_body_word_lands_in_a_chunk(doc, chunking, count_tokens):
    text, body = doc
    source = parse_document("doc", text)
    chunks = chunk_source(source, chunking, count_tokens, MODEL_BODY)
    found = set().union(*(_tokens(c.text) for c in chunks)) if chunks else set()
    missing = [w for w in body if w not in found]
    assert not missing, (missing[:10], text[:500])
    glued = found - set(body)
    assert not glued, (sorted(glued)[:10], text[:500])  # no words fused together
    for chunk in chunks:  # markup never reaches a chunk
        assert "**" not in chunk.text and "<b>" not in chunk.text and "](" not in chunk.text


# --- 3. token bounds -------------------------------------------------------------------------
@PROPS
@given(paragraphs=st.lists(st.lists(words, min_size=1, max_size=120), min_size=1, max_size=6),
       heading=st.lists(words, min_size=1, max_size=60), chunking=budgets)
def test_chunk_token_bounds_hold(paragraphs, heading, chunking, count_tokens):
    """Long headings (the prefix is cut to a third of the budget) and long paragraphs."""
    text = "# Title\n\n## " + " ".join(heading) + "\n\n" + "\n\n".join(
        " ".join(p) + "." for p in paragraphs)
    source = parse_document("doc", text)
    budget = min(chunking.chunk_tokens, MODEL_BODY)
    chunks = chunk_source(source, chunking, count_tokens, MODEL_BODY)
    assert chunks
    for chunk in chunks:
        assert count_tokens(chunk.embed_text) <= budget
        prefix = chunk.embed_text.split("\n", 1)[0]
        assert count_tokens(prefix) <= max(budget // 3, count_tokens(heading[-1]))


@PROPS
@given(text=st.text(alphabet=LETTERS + " .,", max_size=3000), budget=st.integers(8, 200))
def test_split_text_respects_any_budget(text, budget, count_tokens):
    """Any budget holds; no word is lost, except that a single word longer than the
    budget is cut into pieces (each piece then fits)."""
    pieces = split_text(text, budget, ChunkSettings(), count_tokens)
    assert all(count_tokens(p) <= budget for p in pieces)
    found = set().union(*(_tokens(p) for p in pieces), set())
    lost = [w for w in _tokens(text) if w not in found and count_tokens(w) <= budget // 2]
    assert not lost, lost[:10]

def test_paragraph_break_is_kept(count_tokens):
    first = " ".join(f"alpha{i}" for i in range(12))
    second = " ".join(f"beta{i}" for i in range(12))
    text = f"{first}. {first}\n\n{second}. {second}"
    pieces = split_text(text, 12, ChunkSettings(chunk_tokens=12, overlap_tokens=4), count_tokens)
    found = set().union(*(_tokens(p) for p in pieces))
    assert found <= _tokens(text), sorted(found - _tokens(text))  # no glued words
