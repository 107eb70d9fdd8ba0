"""Citation numbering, answer composition and abstention (pure functions + stub index)."""

import re

from rag.answer.extractive import (
    ABSTAIN_TEXT,
    build_citations,
    citation_order,
    confidence,
    markers_in,
    term_overlap,
)
from rag.records import Chunk, Hit
from rag.settings import AnswerSettings


def _hit(i: int, text: str = "text", dense: float = 0.5, bm25: float | None = None) -> Hit:
    chunk = Chunk(chunk_id=f"d#{i}", doc_id="d", title="T", section=f"S{i}", text=text,
                  embed_text=text)
    return Hit(chunk=chunk, score=1.0 / (i + 1), dense_score=dense, bm25_score=bm25)


def test_citation_order_first_use_then_rank():
    assert citation_order([2, 0, 2, 3], 5) == [2, 0, 3, 1, 4]
    assert citation_order([], 3) == [0, 1, 2]


def test_citations_numbered_by_first_use_cited_first():
    hits = [_hit(i) for i in range(4)]
    order = citation_order([2, 0], 4)
    cits = build_citations(hits, order, {2, 0}, {2: ["s"], 0: ["t"]})
    assert [c.n for c in cits] == [1, 2, 3, 4]
    assert [c.chunk_id for c in cits] == ["d#2", "d#0", "d#1", "d#3"]
    assert [c.cited for c in cits] == [True, True, False, False]
    assert cits[0].used_sentences == ("s",)


def test_layout_every_line_ends_with_a_listed_marker():
    from rag.answer.compose import Point, compose

    text = compose([Point("Lead sentence here.", 1)],
                   [Point("Support one.", 2, "advantages"), Point("Support  two!\n", 1)])
    lines = [ln for ln in text.splitlines() if ln.strip()]
    assert lines == ["Lead sentence here [1].", "- **Advantage:** Support one [2]",
                     "- Support two! [1]"]
    assert all(re.search(r"\[\d+\]\.?$", ln) for ln in lines)
    assert set(markers_in(text)) == {1, 2}


def test_confidence_uses_best_signal_and_capped_bm25_bonus():
    s = AnswerSettings(bm25_bonus_from=5, bm25_bonus_per_point=0.01, bm25_bonus_max=0.1)
    assert confidence(0.3, [_hit(0, dense=0.5)], s) == 0.5
    assert confidence(0.3, [_hit(0, dense=0.2, bm25=8.0)], s) == 0.3 + 0.03
    assert confidence(0.3, [_hit(0, dense=0.2, bm25=100.0)], s) == 0.3 + 0.1


def test_term_overlap_is_idf_weighted():
    idf = {"rare": 3.0, "common": 1.0}
    assert term_overlap({"rare", "common"}, frozenset({"rare"}), idf) == 0.75
    assert term_overlap({"unknown"}, frozenset({"unknown"}), idf) == 0.0


def test_stub_answer_cites_only_listed_passages(stub_assistant):
    ans = stub_assistant.ask("How does direct preference optimization avoid a reward model?")
    assert not ans.abstained
    listed = {c.n for c in ans.citations}
    assert markers_in(ans.text) and set(markers_in(ans.text)) <= listed
    cited = [c for c in ans.citations if c.cited]
    assert [c.n for c in cited] == list(range(1, len(cited) + 1))
    assert all(not c.cited for c in ans.citations[len(cited):])
    first = list(dict.fromkeys(markers_in(ans.text)))
    assert first == list(range(1, len(first) + 1))  # numbered in order of first use


def test_stub_abstains_off_topic(stub_assistant):
    ans = stub_assistant.ask("What is a good recipe for tomato soup?")
    assert ans.abstained and ans.text == ABSTAIN_TEXT
    assert markers_in(ans.text) == [] and all(not c.cited for c in ans.citations)
