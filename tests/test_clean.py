"""Each text-repair step on small inputs taken from what the corpus really holds."""

from rag.corpus import clean


def test_mojibake_cp1252_emoji_and_arrow_repaired():
    assert clean.repair_mojibake("## ðŸŽ¯ Overview") == "## 🎯 Overview"
    assert clean.repair_mojibake("(image, instruction) â†’ edited_image") == (
        "(image, instruction) → edited_image")


def test_mojibake_lossy_remnants_repaired():
    # windows-1257 remnants whose continuation bytes were lost (document 004)
    assert clean.repair_mojibake("Input ā Single forward pass ā Output") == (
        "Input → Single forward pass → Output")
    assert clean.repair_mojibake("- 8Ć A100 GPUs") == "- 8× A100 GPUs"
    assert clean.repair_mojibake("š¬ Emerging Research¶") == "Emerging Research¶"
    # "âˆ" + a dropped 0x9D is ∝, which ftfy alone turns into ∠ (document 000)
    assert clean.repair_mojibake('"N âˆ C^0.5, D âˆ C^0.5"') == '"N ∝ C^0.5, D ∝ C^0.5"'


def test_mojibake_leaves_clean_text_alone():
    text = "Entropy: H(X) = -Σ P(x) log P(x); Gaussian N(μ, σ²) — 论文"
    assert clean.repair_mojibake(text) == text


def test_strip_html_keeps_text_and_decodes_entities():
    raw = ('**papers&#x20;**&#x74;o understand [<span style="color: rgb(36,91,219); '
           'background-color: inherit">GPT3</span>](https://arxiv.org/abs/2005.14165)')
    out = clean.strip_html(raw)
    assert "<span" not in out and "&#x" not in out
    assert "**papers **to understand [GPT3](https://arxiv.org/abs/2005.14165)" == out


def test_unlink_markdown_keeps_text_and_returns_urls():
    text, links = clean.unlink_markdown(
        "See [GPT3](https://arxiv.org/abs/2005.14165) and [[../Table_of_Contents|Course "
        "Contents]] or https://example.org/x.")
    assert text == "See GPT3 and Course Contents or https://example.org/x."
    assert ("GPT3", "https://arxiv.org/abs/2005.14165") in links
    assert ("https://example.org/x.", "https://example.org/x.") in links or any(
        url.startswith("https://example.org/x") for _, url in links)


def test_unlink_markdown_nested_emphasis_inside_link():
    text, links = clean.unlink_markdown("[**GPQA**](https://arxiv.org/abs/2311.12022) paper")
    assert clean.strip_emphasis(text) == "GPQA paper"
    assert links[0] == ("GPQA", "https://arxiv.org/abs/2311.12022")


def test_arxiv_ids_from_abs_pdf_html_links_with_versions():
    urls = ["https://arxiv.org/abs/1706.03762v5", "http://arxiv.org/pdf/2106.09685.pdf",
            "https://arxiv.org/html/2409.12640v2", "https://example.com/2106.09685",
            "https://arxiv.org/abs/1706.03762"]
    assert clean.arxiv_ids_in(urls) == ("1706.03762", "2106.09685", "2409.12640")


def test_front_matter_becomes_metadata():
    meta, body = clean.split_front_matter(
        "---\ntitle: 2025 Reading List\ntags:\n  - GPU\n  - LLM\ndraft: false\n---\n\n# Body\n")
    assert meta == {"title": "2025 Reading List", "tags": "GPU, LLM", "draft": "False"}
    assert body.strip() == "# Body"


def test_front_matter_absent_or_broken_is_left_alone():
    assert clean.split_front_matter("# Title\n") == ({}, "# Title\n")
    broken = "---\ntitle: [unclosed\n---\nbody"
    assert clean.split_front_matter(broken) == ({}, broken)


def test_code_block_facts_become_readable_text():
    code = '''class Facts:
    def __init__(self):
        self.dpo = {
            "key_innovation": "Closed-form objective",
            "advantages": [
                "Simpler than PPO",
            ],
            "steps": 3,
        }
        # Train on revised responses
        return fine_tune(model)'''
    out = clean.code_to_text(code).splitlines()
    assert "dpo:" in out
    assert "key innovation: Closed-form objective" in out
    assert "advantages:" in out and "Simpler than PPO" in out
    assert "Train on revised responses" in out
    assert '"steps": 3,' in out  # anything unrecognised is kept verbatim
    assert "return fine_tune(model)" in out
    assert not any(line.startswith("class ") for line in out)


def test_strip_emphasis_and_escapes():
    assert clean.strip_emphasis("**bold** and __under__ and \\*Note") == "bold and under and *Note"
    assert clean.strip_emphasis("**papers **to") == "papers to"


def test_strip_symbols_removes_emoji():
    assert clean.strip_symbols("🎯 Overview") == "Overview"


def test_meaningful():
    assert not clean.is_meaningful(" -- ... ¶ ")
    assert clean.is_meaningful("x1")


def test_a_code_list_of_labels_becomes_one_line():
    """A list of short labels, several per line, reads as one field ("control types:
    Canny edges, Depth maps, ..."), not as fragments with stray quotes; a list of facts
    keeps one line per item."""
    code = '''self.controlnet = {
        "control_types": [
            "Canny edges", "Depth maps", "Normal maps",
            "Scribbles", "Line art"
        ],
        "advantages": [
            "Precise spatial control over generation",
            "Works with existing pretrained models"
        ]
    }'''
    out = clean.code_to_text(code).splitlines()
    assert "control types: Canny edges, Depth maps, Normal maps, Scribbles, Line art" in out
    assert "advantages:" in out and "Works with existing pretrained models" in out
    assert not any('"' in line for line in out)
    assert clean.code_to_text('"a", "b c", "d",') == "a, b c, d"
