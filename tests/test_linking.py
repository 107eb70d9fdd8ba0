"""rag.corpus.linking: papers named without a link are matched to arXiv ids, never guessed."""

from __future__ import annotations

import pytest

from rag.answer.extractive import related_papers
from rag.corpus import chunk, linking
from rag.corpus.chunk import chunk_sources
from rag.corpus.ingest import load_corpus
from rag.corpus.linking import Linker, PaperName, card_names
from rag.records import Chunk, Citation
from rag.settings import REPO_ROOT, load_settings

CARDS = [
    ("1706.03762", "Attention Is All You Need"),
    ("2106.09685", "LoRA: Low-Rank Adaptation of Large Language Models"),
    ("2305.14314", "QLoRA: Efficient Finetuning of Quantized LLMs"),
    ("2101.03961", "Switch Transformers: Scaling to Trillion Parameter Models with Simple "
                   "and Efficient Sparsity"),
    ("2212.08073", "Constitutional AI: Harmlessness from AI Feedback"),
    ("2305.18290", "Direct Preference Optimization: Your Language Model is Secretly a "
                   "Reward Model"),
    ("2312.00752", "Mamba: Linear-Time Sequence Modeling with Selective State Spaces"),
    ("1810.04805", "BERT: Pre-training of Deep Bidirectional Transformers for Language "
                   "Understanding"),
    ("2205.14135", "FlashAttention: Fast and Memory-Efficient Exact Attention with "
                   "IO-Awareness"),
    ("2210.03629", "ReAct: Synergizing Reasoning and Acting in Language Models"),
    ("2405.09818", "Chameleon: Mixed-Modal Early-Fusion Foundation Models"),
    ("2312.11805", "Gemini: A Family of Highly Capable Multimodal Models"),
    ("2205.11916", "Large Language Models are Zero-Shot Reasoners"),
    ("2211.01910", "Large Language Models Are Human-Level Prompt Engineers"),
]


@pytest.fixture(scope="module")
def linker() -> Linker:
    return Linker(card_names(CARDS))


@pytest.mark.parametrize(("text", "ids"), [
    ("Attention Is All You Need introduced the Transformer.", ("1706.03762",)),
    ("attention is all you need", ("1706.03762",)),  # long titles: any case
    ("We fine-tune with LoRA, then compare with QLoRA.", ("2106.09685", "2305.14314")),
    ("Mixture of Experts — Switch Transformer (2022)", ("2101.03961",)),
    ("Constitutional AI replaces human feedback", ("2212.08073",)),
    ("Flash Attention tiles the computation; so does FlashAttention", ("2205.14135",)),
    ("Mamba layers and a Transformer", ("2312.00752",)),
])
def test_names_in_text(linker: Linker, text: str, ids: tuple[str, ...]) -> None:
    assert linker.ids_in_text(text) == ids


@pytest.mark.parametrize("text", [
    "RoBERTa and Sentence-BERT",  # whole words only
    "Mamba-2 and Gemini 1.5 and FlashAttention-3",  # a version number: another paper
    "they react quickly",  # short names are case-sensitive
    '"Chameleon: Plug-and-Play Compositional Reasoning with Large Language Models"',
    "Large Language Models",  # the start of two titles: ambiguous
])
def test_no_wrong_links(linker: Linker, text: str) -> None:
    assert linker.ids_in_text(text) == ()


@pytest.mark.parametrize(("heading", "ids"), [
    ("6. LoRA: Low-Rank Adaptation (2021)", ("2106.09685",)),
    ("1. Attention Is All You Need (2017)", ("1706.03762",)),
    ("7. Flash Attention (2022)", ("2205.14135",)),
    ("8. Mixture of Experts — Switch Transformer (2022)", ("2101.03961",)),
    ("2. BERT: Pre-training of Deep Bidirectional Transformers (2018)", ("1810.04805",)),
    ("13. DPO: Direct Preference Optimization (2023)", ("2305.18290",)),
    ("Chameleon: Plug-and-Play Compositional Reasoning", ()),
    ("21. Mamba-2 and Hybrid Architectures (2024)", ()),
    ("16. Scaling Monosemanticity (Anthropic, 2024)", ()),
    ("Large Language Models (2023)", ()),
])
def test_resolve_headings(linker: Linker, heading: str, ids: tuple[str, ...]) -> None:
    assert linker.resolve(heading) == ids


def test_aliases_come_from_the_documents(linker: Linker) -> None:
    aliases = linking.learn_aliases(linker, [
        "13. DPO: Direct Preference Optimization (2023)",
        "22. Training Language Models to Follow Instructions (InstructGPT)",  # no card
        "Checklist: Top 15 for Interviews",
        "XYZ: Attention Is All You Need", "XYZ: Constitutional AI",  # claimed twice
    ])
    assert aliases == [PaperName("DPO", "2305.18290", "alias")]
    extended = Linker([*linker.names, *aliases])
    assert extended.ids_in_text("alternatives: DPO, KTO") == ("2305.18290",)


def test_paper_references_and_unresolved_names() -> None:
    sources, _ = load_corpus(REPO_ROOT / "corpus")
    report = linking.name_report(sources)
    assert report.resolved["Attention Is All You Need (2017)"] == ("1706.03762",)
    assert report.resolved["InstructGPT / RLHF (2022)"] == ("2203.02155",)
    assert report.resolved["Switch Transformer: Scaling to Trillion Parameter Models "
                           "(Fedus et al., 2021)"] == ("2101.03961",)
    for name in ("Scaling Monosemanticity", "Llama 4: Native Multimodality and MoE",
                 "Mamba-2 and Hybrid Architectures", "PaLM 2 Technical Report"):
        assert name in report.unresolved
    assert not set(report.unresolved) & {linking.name_parts(r)[0] for r in report.resolved}


def test_document_chunks_carry_the_papers_they_name() -> None:
    """The real corpus through the real chunker (word counts stand in for tokens)."""
    sources, _ = load_corpus(REPO_ROOT / "corpus")
    guide = [s for s in sources if s.doc_id.startswith("001_") or s.kind == "paper"]
    chunks = chunk_sources(guide, load_settings().chunking, lambda t: len(t.split()), 254)
    linked = {c.chunk_id: c for c in linking.link_chunks(chunks, sources)}
    by_heading: dict[str, set[str]] = {}
    for c in linked.values():
        if c.doc_id.startswith("001_"):
            by_heading.setdefault(c.section.rsplit(chunk.PATH_SEP, 1)[-1], set()).update(
                c.arxiv_ids)
    assert "2106.09685" in by_heading["6. LoRA: Low-Rank Adaptation (2021)"]
    assert "2101.03961" in by_heading["8. Mixture of Experts — Switch Transformer (2022)"]
    assert "2212.08073" in by_heading["5. Constitutional AI (2022)"]
    assert "2305.18290" in by_heading["4. InstructGPT / RLHF (2022)"]  # "alternatives DPO"
    assert by_heading["16. Scaling Monosemanticity (Anthropic, 2024)"] == set()
    assert linking._PATH_SEP == chunk.PATH_SEP
    # paper passages keep exactly their own id
    assert all(c.arxiv_ids == (c.doc_id.removeprefix("arxiv:"),)
               for c in linked.values() if c.doc_id.startswith("arxiv:"))
    # and a cited LoRA passage yields the LoRA paper as a related paper
    lora = next(c for c in linked.values() if c.section.endswith("6. LoRA: Low-Rank "
                                                                 "Adaptation (2021)"))
    papers = {s.doc_id.removeprefix("arxiv:"): {"title": s.title, "year": s.year, "url": s.url}
              for s in sources if s.kind == "paper"}
    cit = Citation(n=1, doc_id=lora.doc_id, title=lora.title, section=lora.section, url="",
                   text=lora.text, score=1.0, chunk_id=lora.chunk_id)
    related = related_papers([cit], {lora.chunk_id: lora.arxiv_ids}, papers)
    assert [(p.arxiv_id, p.year) for p in related] == [("2106.09685", 2021)]
    assert related[0].title.startswith("LoRA")


def test_link_chunk_keeps_links_first_and_adds_named() -> None:
    link = Linker(card_names(CARDS))
    base = Chunk(chunk_id="d#0", doc_id="d", title="t", section="Papers › Constitutional AI",
                 text="Compare LoRA with full fine-tuning.", embed_text="x",
                 arxiv_ids=("9999.00001",))
    assert linking.link_chunk(base, link).arxiv_ids == ("9999.00001", "2212.08073", "2106.09685")
    plain = base.model_copy(update={"section": "Intro", "text": "nothing here",
                                    "arxiv_ids": ()})
    assert linking.link_chunk(plain, link) is plain


@pytest.mark.integration
def test_answers_over_the_real_index_list_named_papers(real_assistant) -> None:
    """The index built from the real corpus, through the shared Assistant."""
    index = real_assistant.index
    lora = [c for c in index.chunks if c.section.endswith("6. LoRA: Low-Rank Adaptation (2021)")]
    assert lora and all("2106.09685" in c.arxiv_ids for c in lora)
    assert index.manifest["format_version"] >= 4
    answer = real_assistant.ask("Why does LoRA's low-rank adaptation work, and which layers "
                                "should be adapted?")
    assert "2106.09685" in [p.arxiv_id for p in answer.related_papers]


def test_a_short_name_before_the_colon():
    from rag.corpus.linking import short_name

    assert short_name("LoRA: Low-Rank Adaptation of Large Language Models") == "LoRA"
    assert short_name("s1: Simple test-time scaling") == "s1"  # a letter and a digit
    assert short_name("AI: a survey") is None
    assert short_name("Attention Is All You Need") is None
