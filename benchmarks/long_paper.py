"""A long two-column paper made by pdflatex from the shipped corpus's own text.

``make_long_paper(out_dir)`` typesets the five reading-list documents and every paper
card's summary as a ~30-page two-column ``article`` (running header, page numbers,
numbered sections, hyphenation by TeX) and returns the PDF path and the ground-truth
text in reading order.  Used by ``bench_pdf_libraries.py`` (extraction quality) and
``bench_documents.py`` (``rag add`` pages per second).  Cached by content hash.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import unicodedata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

_ASCII = str.maketrans({"→": "->", "×": "x", "—": "--", "–": "-", "“": '"', "”": '"',
                        "‘": "'", "’": "'", "…": "...", "≈": "~", "≥": ">=", "≤": "<=",
                        "∝": "proportional to", "√": "sqrt"})
_TEX_SPECIAL = re.compile(r"([#$%&_{}])")

PREAMBLE = r"""\documentclass[10pt,twocolumn]{article}
\usepackage[letterpaper,margin=0.9in]{geometry}
\usepackage{fancyhdr}
\usepackage[pdftitle={Reading List Digest}]{hyperref}
\pagestyle{fancy}\fancyhf{}
\fancyhead[L]{\small Reading List Digest}\fancyhead[R]{\small Benchmark edition}
\fancyfoot[C]{\thepage}
\title{Reading List Digest: Documents and Paper Summaries}
\author{Benchmark Generator}\date{}
\begin{document}\maketitle
"""


def ascii_text(text: str) -> str:
    text = unicodedata.normalize("NFKD", text.translate(_ASCII))
    return "".join(ch for ch in text if ch.isascii() and (ch.isprintable() or ch == "\n"))


def tex_escape(text: str) -> str:
    text = text.replace("\\", " ").replace("~", "-").replace("^", " ").replace("<", " ")
    text = text.replace(">", " ").replace("|", " ")
    return _TEX_SPECIAL.sub(r"\\\1", text)


def digest_sections(max_cards: int = 55) -> list[tuple[int, str, str]]:
    """``(level, heading, paragraph text)`` from the shipped documents and cards."""
    from rag.corpus.ingest import load_corpus
    from rag.settings import REPO_ROOT

    sources, _ = load_corpus(REPO_ROOT / "corpus")
    out: list[tuple[int, str, str]] = []
    for source in (s for s in sources if s.kind == "document"):
        out.append((1, source.title, ""))
        for section in source.sections:
            heading = section.heading_path[-1] if section.heading_path else ""
            out.append((2, heading, section.text) if heading else (0, "", section.text))
    out.append((1, "Paper summaries", ""))
    for card in [s for s in sources if s.kind == "paper"][:max_cards]:
        out.append((2, card.title, " ".join(s.text for s in card.sections)))
    return out


def latex_source(sections: list[tuple[int, str, str]]) -> tuple[str, str]:
    """The LaTeX document and the ground-truth plain text (same words, same order)."""
    body, truth = [PREAMBLE], ["Reading List Digest: Documents and Paper Summaries"]
    for level, heading, text in sections:
        heading = " ".join(ascii_text(heading).split())[:120]
        if heading:
            command = "section" if level == 1 else "subsection"
            body.append(f"\\{command}{{{tex_escape(heading)}}}\n")
            truth.append(heading)
        paragraphs = [" ".join(p.split()) for p in ascii_text(text).split("\n\n")]
        for para in (p for p in paragraphs if re.search(r"[A-Za-z]{3}", p)):
            body.append(tex_escape(para) + "\n\n")
            truth.append(para)
    body.append("\\end{document}\n")
    return "".join(body), "\n".join(truth)


def make_long_paper(out_dir: Path) -> tuple[Path, str]:
    """Typeset (or reuse) the long paper; returns its PDF and the ground truth."""
    tex, truth = latex_source(digest_sections())
    key = hashlib.sha256(tex.encode()).hexdigest()[:12]
    out_dir.mkdir(parents=True, exist_ok=True)
    pdf = out_dir / f"reading_list_digest_{key}.pdf"
    truth_path = pdf.with_suffix(".truth.json")
    if not pdf.is_file():
        src = out_dir / f"reading_list_digest_{key}.tex"
        src.write_text(tex, encoding="ascii")
        env = {**os.environ, "SOURCE_DATE_EPOCH": "1700000000", "FORCE_SOURCE_DATE": "1"}
        for _ in range(2):
            subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error",
                            src.name], cwd=out_dir, env=env, check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=300)
        truth_path.write_text(json.dumps({"truth": truth}), encoding="utf-8")
    return pdf, json.loads(truth_path.read_text(encoding="utf-8"))["truth"]


if __name__ == "__main__":
    path, _ = make_long_paper(ROOT / "benchmarks" / "results" / "documents")
    print(path)
