"""Derive key facts for evals/dataset.jsonl from its evidence quotes (the old measure).

    .venv/bin/python scripts/dataset_key_facts.py [--write]

``rag eval``'s lead hit asks whether an answer's first line states a reference key fact.
evals/dataset.jsonl now carries key facts written by hand from each question's reference
answer and evidence, blind to the system's answers (README, Grounded answers).  This
script derives the earlier, mechanical ones, kept for comparison in
evals/dataset_key_facts_derived.json: per evidence quote, its two rarest content words
(document frequency over the corpus files and paper cards) that the question itself (and
the question it follows) does not already use and that at most six corpus files or
cards use, each as a case-insensitive prefix pattern that tolerates inflection
("stabilization" -> "stabiliza").  Words of five letters or more and numbers of two or
more characters count.  They often name a side detail ("chose" for the trade-offs of a
sparse and a dense model), so a first line that states the answer misses them: only
0.865 of the questions have a matching sentence anywhere in their top 5 passages.
Without ``--write`` it prints the patterns; ``--write`` writes the comparison file.
"""

from __future__ import annotations

import argparse
import json
import re
from collections import Counter
from pathlib import Path

from bm25s.stopwords import STOPWORDS_EN

ROOT = Path(__file__).resolve().parents[1]
MAX_DF = 6  # a word in more corpus files and cards than this is not a specific fact
_WORD = re.compile(r"[A-Za-z][A-Za-z-]{4,}|\d[\d.,%x]+")


def corpus_df(corpus: Path) -> Counter[str]:
    texts = [p.read_text(encoding="utf-8", errors="replace")
             for p in sorted((corpus / "docs").glob("*"))]
    texts += [json.loads(ln).get("summary", "") for ln in
              (corpus / "papers.jsonl").read_text(encoding="utf-8").splitlines() if ln.strip()]
    return Counter(w for t in texts for w in {w.lower() for w in _WORD.findall(t)})


def pattern(word: str) -> str:
    keep = word if word[0].isdigit() or len(word) <= 6 else word[: max(6, len(word) - 3)]
    return re.escape(keep)


def key_facts(quotes: list[str], asked: str, df: Counter[str], per_quote: int = 2) -> list[str]:
    asked_words = {w.lower()[:5] for w in _WORD.findall(asked)}
    out: list[str] = []
    for quote in quotes:
        words = [w for w in dict.fromkeys(w.lower() for w in _WORD.findall(quote))
                 if w not in STOPWORDS_EN and w[:5] not in asked_words
                 and df.get(w, 0) <= MAX_DF]
        for word in sorted(words, key=lambda w: (df.get(w, 0), w))[:per_quote]:
            if pattern(word) not in out:
                out.append(pattern(word))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", type=Path, default=ROOT / "evals" / "dataset.jsonl")
    parser.add_argument("--corpus", type=Path, default=ROOT / "corpus")
    parser.add_argument("--out", type=Path,
                        default=ROOT / "evals" / "dataset_key_facts_derived.json")
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    df = corpus_df(args.corpus)
    rows = [json.loads(ln) for ln in args.dataset.read_text(encoding="utf-8").splitlines()
            if ln.strip()]
    by_id = {r["id"]: r for r in rows}
    for row in rows:
        if not row["answerable"]:
            continue
        asked = row["question"] + " " + by_id.get(row.get("followup_of") or "", {}).get(
            "question", "")
        row["key_facts"] = key_facts([e["quote"] for e in row["evidence"]], asked, df)
        print(row["id"], row["key_facts"])
    if args.write:
        derived = {r["id"]: r["key_facts"] for r in rows if r["answerable"]}
        args.out.write_text(json.dumps(derived, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
