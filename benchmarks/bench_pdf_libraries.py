"""Which PDF library extracts papers best?  pypdf vs pypdfium2 vs pdfplumber, measured.

Documents with known text (ground truth in reading order):
* a 31-page two-column paper typeset by pdflatex from the shipped corpus (long_paper.py);
* the two two-column LaTeX test papers and the Chromium-printed web page of
  tests/data/documents (truth: the words of their sources).
Real papers without a ground truth: two-column TeX papers shipped with TeX Live.

Metrics per library (each output gets the same light post-processing: line-end hyphens
joined, ligatures expanded, so the comparison is about what the library itself gives):
* word recall: share of the truth's words (a multiset) found in the extraction; glued
  words ("model,andthatpass") and split words lose here;
* bigram recall: share of the truth's consecutive word pairs found; interleaved columns
  and shuffled blocks lose here (reading order);
* dictionary rate (all documents): share of extracted words of 3+ letters that are
  English words (the embedding model's vocabulary);
* pages per second.
"our pipeline" is pypdfium2 plus rag.corpus.layout/structure (columns, running lines,
hyphenation, captions), i.e. what `rag add` indexes (references excluded).

    .venv/bin/python benchmarks/bench_pdf_libraries.py [--smoke]
"""

from __future__ import annotations

import re
import sys
import time
import unicodedata
from collections import Counter
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import (  # noqa: E402
    REPO,
    RESULTS,
    machine,
    parse_args,
    table,
    target,
    targets_table,
    write_result,
)
from benchmarks.long_paper import make_long_paper  # noqa: E402

DOCS = REPO / "tests" / "data" / "documents"
REAL_PAPERS = [Path("/usr/share/doc/texlive-doc/plain/metatex/mtpaper.pdf")]
_TOKEN = re.compile(r"[a-z0-9]+")


def pypdf_default(path: Path) -> list[str]:
    import pypdf

    return [p.extract_text() or "" for p in pypdf.PdfReader(path).pages]


def pypdf_layout(path: Path) -> list[str]:
    import pypdf

    return [p.extract_text(extraction_mode="layout") or "" for p in pypdf.PdfReader(path).pages]


def pdfplumber_default(path: Path) -> list[str]:
    import pdfplumber

    with pdfplumber.open(path) as pdf:
        return [p.extract_text() or "" for p in pdf.pages]


def pdfplumber_flow(path: Path) -> list[str]:
    import pdfplumber

    with pdfplumber.open(path) as pdf:
        return [p.extract_text(use_text_flow=True, x_tolerance=1.5) or "" for p in pdf.pages]


def pypdfium2_default(path: Path) -> list[str]:
    import pypdfium2

    doc = pypdfium2.PdfDocument(str(path))
    try:
        return [doc[i].get_textpage().get_text_range() for i in range(len(doc))]
    finally:
        doc.close()


def our_pipeline(path: Path) -> list[str]:
    from rag.corpus.pdf import english_words, read_pdf
    from rag.corpus.structure import structure

    text = read_pdf(path, 10_000, 1)
    doc = structure(text.pages, text.metadata, english_words())
    return [doc.title] + [" ".join(s.heading_path) + "\n" + s.text for s in doc.sections]


LIBRARIES: dict[str, Callable[[Path], list[str]]] = {
    "pypdf 7 (default)": pypdf_default,
    "pypdf 7 (layout mode)": pypdf_layout,
    "pdfplumber 0.11 (default)": pdfplumber_default,
    "pdfplumber 0.11 (text flow)": pdfplumber_flow,
    "pypdfium2 5 (get_text_range)": pypdfium2_default,
    "our pipeline (pypdfium2 + layout)": our_pipeline,
}


def tokens(text: str) -> list[str]:
    # PDFium marks a line-end hyphen with U+FFFE and joins the lines itself
    text = unicodedata.normalize("NFKC", text).replace("\ufffe", "").replace("\x02", "")
    text = re.sub(r"(\w)-\s*\n\s*(\w)", r"\1\2", text)  # line-end hyphens, for every library
    return _TOKEN.findall(text.lower())


def recall(truth: list[str], got: list[str], n: int) -> float:
    grams = Counter(tuple(truth[i:i + n]) for i in range(len(truth) - n + 1))
    found = Counter(tuple(got[i:i + n]) for i in range(len(got) - n + 1))
    return sum((grams & found).values()) / max(1, sum(grams.values()))


def dictionary_rate(got: list[str], words: frozenset[str]) -> float:
    long = [w for w in got if len(w) >= 3 and w.isalpha()]
    return sum(w in words for w in long) / max(1, len(long))


def latex_truth(tex: Path) -> str:
    """The words of a LaTeX source's body that belong in an index: title, abstract,
    sections, captions; not authors, figure drawings, table cells or references."""
    body = tex.read_text().split("\\begin{document}", 1)[1].split("\\begin{thebibliography}")[0]
    title = re.search(r"\\title\{(.*?)\}\n", tex.read_text(), re.S)
    body = (title.group(1) if title else "") + re.sub(r"\\maketitle", " ", body)
    body = re.sub(r"(?s)\\begin\{(tikzpicture|tabular)\}.*?\\end\{\1\}", " ", body)
    body = re.sub(r"%.*", "", body)
    body = re.sub(r"\\(?:label|ref|bibitem|thispagestyle|vspace)\{[^}]*\}", " ", body)
    body = re.sub(r"\\[a-zA-Z]+\*?(?:\[[^]]*\])?", " ", body)
    return re.sub(r"[{}\[\]]", " ", body)


def html_truth(html: Path) -> str:
    """The article's text (not the menus, banner, comments or footer)."""
    from lxml import html as lxml_html

    article = lxml_html.fromstring(html.read_bytes()).find(".//article")
    for cells in article.findall(".//table"):
        cells.getparent().remove(cells)
    return article.text_content()


def documents(smoke: bool) -> list[tuple[str, Path, str | None]]:
    docs = [("speculative_decoding (LaTeX, 2 col, 3 pp)", DOCS / "speculative_decoding.pdf",
             latex_truth(DOCS / "src" / "speculative_decoding.tex")),
            ("paged_attention (LaTeX Times, 2 col, 2 pp)", DOCS / "paged_attention.pdf",
             latex_truth(DOCS / "src" / "paged_attention.tex")),
            ("rope_blog (Chromium print, 2 pp)", DOCS / "rope_blog.pdf",
             html_truth(DOCS / "src" / "rope_blog.html"))]
    if not smoke:
        pdf, truth = make_long_paper(RESULTS / "documents")
        docs.insert(0, (f"reading list digest (LaTeX, 2 col, {_pages(pdf)} pp)", pdf, truth))
        docs.extend((f"{p.name} (real TeX paper, no truth)", p, None) for p in REAL_PAPERS
                    if p.is_file())
    return docs


def _pages(path: Path) -> int:
    import pypdfium2

    doc = pypdfium2.PdfDocument(str(path))
    try:
        return len(doc)
    finally:
        doc.close()


def measure(docs, words) -> list[dict]:
    rows = []
    for doc_name, path, truth in docs:
        truth_tokens = tokens(truth) if truth else None
        for lib, extract in LIBRARIES.items():
            start = time.perf_counter()
            pages = extract(path)
            seconds = time.perf_counter() - start
            got = tokens("\n".join(pages))
            rows.append({
                "document": doc_name, "library": lib,
                "word_recall": round(recall(truth_tokens, got, 1), 4) if truth_tokens else None,
                "bigram_recall": round(recall(truth_tokens, got, 2), 4) if truth_tokens
                else None,
                "dictionary_rate": round(dictionary_rate(got, words), 4),
                "pages_per_s": round(_pages(path) / seconds, 1)})
    return rows


def summary(rows: list[dict]) -> list[dict]:
    out = []
    for lib in LIBRARIES:
        mine = [r for r in rows if r["library"] == lib]
        scored = [r for r in mine if r["word_recall"] is not None]
        out.append({"library": lib,
                    "word_recall": round(sum(r["word_recall"] for r in scored) / len(scored), 4),
                    "bigram_recall": round(sum(r["bigram_recall"] for r in scored)
                                           / len(scored), 4),
                    "dictionary_rate": round(sum(r["dictionary_rate"] for r in mine)
                                             / len(mine), 4),
                    "pages_per_s (median)": sorted(r["pages_per_s"] for r in mine)[
                        len(mine) // 2]})
    return out


def main(argv: list[str] | None = None) -> int:
    started = time.perf_counter()
    args = parse_args("bench_pdf_libraries", __doc__.splitlines()[0], argv)
    before = machine()
    from rag.corpus.pdf import english_words

    rows = measure(documents(args.smoke), english_words())
    cols = ["document", "library", "word_recall", "bigram_recall", "dictionary_rate",
            "pages_per_s"]
    print(table("Per document", cols, [[r[c] for c in cols] for r in rows]))
    means = summary(rows)
    print(table("Mean over documents (recall: documents with a ground truth)", list(means[0]),
                [list(m.values()) for m in means]))
    ours = next(m for m in means if m["library"].startswith("our pipeline"))
    fastest_other = max(m["pages_per_s (median)"] for m in means
                        if not m["library"].startswith(("our", "pypdfium2")))
    targets = [target("our pipeline: word recall", ours["word_recall"], 0.98, True),
               target("our pipeline: bigram recall (reading order)", ours["bigram_recall"],
                      0.95, True),
               target("pypdfium2 speed / fastest other library", round(next(
                   m["pages_per_s (median)"] for m in means if m["library"].startswith(
                       "pypdfium2")) / fastest_other, 1), 2.0, True, "x")]
    print(targets_table(targets))
    write_result("bench_pdf_libraries", args, {"rows": rows, "summary": means,
                                               "targets": targets}, started, before)
    return 0


if __name__ == "__main__":
    sys.exit(main())
