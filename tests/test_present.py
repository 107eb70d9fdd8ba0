"""rag.app.present: evidence panel, related papers and grade HTML (pure, no model)."""

from __future__ import annotations

import html
import re

from hypothesis import given
from hypothesis import strategies as st

from rag.app import present
from rag.records import Answer, Citation, Paper

EVIL = '<img src=x onerror="alert(1)">'


def cit(n: int, cited: bool = True, **kw) -> Citation:
    base = dict(n=n, doc_id=f"doc{n}", title=f"Title {n}", section="Part › Sub", url="",
                text=f"First sentence of passage {n}. Second sentence here.", score=0.03 / n,
                cited=cited, chunk_id=f"doc{n}#0", used_sentences=())
    base.update(kw)
    return Citation(**base)


def answer(citations, abstained=False, confidence=0.9, **kw) -> Answer:
    return Answer(question="q?", text="An answer [1]", citations=tuple(citations),
                  abstained=abstained, confidence=confidence, **kw)


def blocks(page: str) -> list[tuple[str, bool]]:
    """(data-n, open?) of every evidence block, in page order."""
    return [(m.group(1), " open" in m.group(0))
            for m in re.finditer(r'<details[^>]*data-n="(\d+)"[^>]*>', page)]


def test_highlight_marks_used_sentence_and_escapes():
    text = "Plain <b>bold</b> text. The used one & more.\nNext line."
    out = present.highlight(text, ["The used one & more."])
    assert "<mark>The used one &amp; more.</mark>" in out
    assert "&lt;b&gt;bold&lt;/b&gt;" in out and "<b>" not in out


def test_highlight_ignores_whitespace_differences_and_missing_sentences():
    text = "Alpha beta\ngamma delta. Other."
    assert present.highlight(text, ["Alpha beta gamma delta."]).startswith(
        "<mark>Alpha beta\ngamma delta.</mark>")
    assert "<mark>" not in present.highlight(text, ["Not in the text at all."])


def test_highlight_finds_the_prose_of_a_labelled_field():
    """Answer sentences are a labelled field's prose, capitalised ("Problem: full …"
    is quoted as "Full …"): the browser test found nothing highlighted."""
    text = "Problem: full fine-tuning needs 700 GB.\n\nKey idea: train low-rank matrices."
    out = present.highlight(text, ["Full fine-tuning needs 700 GB."])
    assert out.startswith("Problem: <mark>full fine-tuning needs 700 GB.</mark>")


@given(st.text(max_size=200), st.lists(st.text(min_size=1, max_size=30), max_size=3))
def test_highlight_only_adds_mark_tags(text, sentences):
    out = present.highlight(text, sentences)
    assert out.replace("<mark>", "").replace("</mark>", "") == html.escape(text, quote=True)


def test_evidence_cited_first_open_uncited_after_collapsed():
    page = present.evidence_html(answer([cit(1), cit(2), cit(3, cited=False)]))
    assert blocks(page) == [("1", True), ("2", True), ("3", False)]
    assert '<span class="ev-n">[1]</span>' in page
    assert "Title 1" in page and "Part › Sub" in page and "score 0.0300" in page
    assert "Weak evidence" not in page


def test_evidence_can_hide_uncited():
    page = present.evidence_html(answer([cit(1), cit(2, cited=False)]), show_uncited=False)
    assert blocks(page) == [("1", True)]
    assert "1 more retrieved passage(s) hidden" in page


def test_used_sentences_highlighted_in_panel():
    page = present.evidence_html(answer([cit(1, used_sentences=("Second sentence here.",))]))
    assert "<mark>Second sentence here.</mark>" in page


def test_weak_evidence_notice():
    abstained = present.evidence_html(answer([cit(1, cited=False)], abstained=True))
    assert "Weak evidence" in abstained and "abstained" in abstained
    low = present.evidence_html(answer([cit(1)], confidence=0.41), weak_below=0.5)
    assert "Weak evidence" in low
    assert "Weak evidence" in present.evidence_html(answer([], abstained=True))


def test_no_answer_placeholder():
    assert "Ask a question" in present.evidence_html(None)


def test_corpus_text_is_escaped_everywhere():
    c = cit(1, title=EVIL, section=EVIL, text=EVIL + " sentence.", used_sentences=(EVIL,))
    page = present.evidence_html(answer([c]))
    assert "<img" not in page and "&lt;img" in page
    rel = present.related_html([Paper(arxiv_id="1", title=EVIL, year=2020,
                                      url="https://arxiv.org/abs/1")])
    assert "<img" not in rel


def test_links_arxiv_for_cards_and_no_unsafe_urls():
    card = cit(1, doc_id="arxiv:2106.09685", url="")
    assert 'href="https://arxiv.org/abs/2106.09685"' in present.evidence_html(answer([card]))
    bad = cit(1, url="javascript:alert(1)")
    assert "javascript:" not in present.evidence_html(answer([bad]))
    doc = cit(1, url="https://example.org/page")
    assert 'href="https://example.org/page"' in present.evidence_html(answer([doc]))


def test_related_papers_list_and_empty():
    rel = present.related_html([Paper(arxiv_id="2106.09685", title="LoRA", year=2021,
                                      url="https://arxiv.org/abs/2106.09685")])
    assert "LoRA" in rel and "(2021)" in rel and "arxiv.org/abs/2106.09685" in rel
    assert "No linked papers" in present.related_html([])


def test_answer_footer_names_backend_and_rewritten_query():
    a = answer([cit(1)], backend="extractive", search_query="and its limits? (LoRA)",
               timings_ms={"total": 12.0})
    note = present.answer_footer(a)
    assert "**extractive**" in note and "12 ms" in note and "LoRA" in note
    assert "Searched for" not in present.answer_footer(answer([cit(1)], search_query="q?"))


def test_notice_and_error_messages_are_plain_and_escaped():
    assert "&lt;b&gt;" in present.notice_html("bad <b>input</b>")
    assert present.error_message("the question is empty").endswith("the question is empty")
