#!/usr/bin/env python3
"""Validate evals/dataset.jsonl against the raw corpus (standard library only).

Usage:
    python3 evals/check_dataset.py [--dataset PATH] [--corpus DIR]

The corpus directory must contain docs/*.txt (doc_id = file stem) and
papers.jsonl (doc_id = "arxiv:<arxiv_id>").  Defaults: the dataset next to
this script and /work/shared/corpus (or $CORPUS_DIR).

Checks:
  * every line is a JSON object with the required fields and types
  * ids are unique and sequential (q001, q002, ...)
  * reference answers have 2-4 sentences
  * evidence: 1-3 items for answerable questions, [] for unanswerable ones
  * every quote is 4-12 words, single-line ASCII, free of HTML tags/entities,
    markdown link/emphasis syntax, backslashes and double quotes, and is found
    verbatim in its document (case-insensitive, whitespace collapsed; docs are
    html-unescaped and stripped of HTML tags first; paper cards are searched
    in their summary).  Doc quotes must also survive markdown-link flattening.
  * questions do not copy their evidence quotes (no shared 6-word run)
  * follow-ups point at the directly preceding question
  * coverage: all five docs (>=4 questions each for 000/001/002/004, >=3 for
    003), >=30 distinct paper cards, >=6 comparisons, >=5 follow-ups,
    >=6 unanswerable, >=64 questions, and the classic topics are present.
Prints a summary and exits 1 on any failure.
"""
import argparse
import collections
import glob
import html
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_DATASET = os.path.join(HERE, "dataset.jsonl")
# Optional fields: key_facts (regexes from the evidence quotes, for rag eval's lead hit;
# written by scripts/dataset_key_facts.py).
OPTIONAL = {"key_facts"}
DEFAULT_CORPUS = os.environ.get("CORPUS_DIR", "/work/shared/corpus")

KINDS = {"single", "comparison", "followup", "unanswerable"}
TOPICS = {
    "transformers", "alignment", "efficiency", "agents", "rag", "evaluation",
    "multimodal", "reasoning", "architectures", "generative", "safety",
    "theory", "scaling", "code", "other",
}
FIELDS = {
    "id": str, "question": str, "reference_answer": str, "evidence": list,
    "answerable": bool, "kind": str, "followup_of": (str, type(None)),
    "topic": str,
}
# Minimum number of questions whose evidence cites each document.
DOC_MIN = {"000": 4, "001": 4, "002": 4, "003": 3, "004": 4}
MIN_TOTAL, MIN_CARDS, MIN_COMPARISON, MIN_FOLLOWUP, MIN_UNANSWERABLE = 64, 30, 6, 5, 6
# Classic interview topics that must be covered: label -> (paper card that must
# appear in some evidence, regex that must match some question/answer).
CLASSICS = {
    "attention sqrt(d_k) scaling": ("arxiv:1706.03762", r"square root of (the )?(key dimension|d_k)"),
    "LoRA vs full fine-tuning": ("arxiv:2106.09685", r"full fine-tuning"),
    "DPO vs RLHF": ("arxiv:2305.18290", r"\bDPO\b.*\bRLHF\b|\bRLHF\b.*\bDPO\b"),
    "RAG and hallucination": ("arxiv:2005.11401", r"hallucinat"),
    "FlashAttention": ("arxiv:2205.14135", r"FlashAttention"),
    "MoE / Switch Transformer": ("arxiv:2101.03961", r"Switch Transformer"),
    "Mamba": ("arxiv:2312.00752", r"Mamba"),
    "Constitutional AI": ("arxiv:2212.08073", r"Constitutional AI"),
    "InstructGPT pipeline": ("arxiv:2203.02155", r"InstructGPT"),
    "chain-of-thought": ("arxiv:2201.11903", r"chain-of-thought"),
    "ReAct": ("arxiv:2210.03629", r"ReAct"),
    "DeepSeek R1": ("arxiv:2501.12948", r"DeepSeek-R1"),
    "scaling laws / Chinchilla": ("arxiv:2203.15556", r"Chinchilla"),
}

TAG_RE = re.compile(r"</?[A-Za-z][^<>]*>")          # real HTML tags only
MD_LINK_RE = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")  # [text](url) -> text
FORBIDDEN_IN_QUOTE = ["<", ">", "&", "[", "]", "**", "\\", '"', "\n", "\r", "\t"]
SENT_SPLIT_RE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9(])")
NO_COVER_RE = re.compile(r"does not cover", re.I)


def norm(text):
    return re.sub(r"\s+", " ", text).strip().lower()


def clean_doc(raw):
    """html.unescape + strip HTML tags (the cleaning the brief specifies)."""
    return TAG_RE.sub(" ", html.unescape(raw))


def clean_doc_markdown(raw):
    """A harsher cleaner: also flatten markdown links and drop ** emphasis."""
    text = clean_doc(raw)
    for _ in range(3):  # nested/adjacent links
        text = MD_LINK_RE.sub(r"\1", text)
    return text.replace("**", "")


def load_corpus(corpus_dir):
    docs, docs_md, cards = {}, {}, {}
    paths = sorted(glob.glob(os.path.join(corpus_dir, "docs", "*.txt")))
    for p in paths:
        doc_id = os.path.splitext(os.path.basename(p))[0]
        with open(p, encoding="utf-8") as f:
            raw = f.read()
        docs[doc_id] = norm(clean_doc(raw))
        docs_md[doc_id] = norm(clean_doc_markdown(raw))
    with open(os.path.join(corpus_dir, "papers.jsonl"), encoding="utf-8") as f:
        for line in f:
            if line.strip():
                card = json.loads(line)
                cards["arxiv:" + card["arxiv_id"]] = norm(card["summary"])
    return docs, docs_md, cards


def word_ngrams(text, n):
    words = re.findall(r"[a-z0-9]+", text.lower())
    return {tuple(words[i:i + n]) for i in range(len(words) - n + 1)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default=DEFAULT_DATASET)
    ap.add_argument("--corpus", default=DEFAULT_CORPUS)
    args = ap.parse_args()

    errors = []

    def err(msg):
        errors.append(msg)

    docs, docs_md, cards = load_corpus(args.corpus)
    if len(docs) != 5:
        err(f"expected 5 docs in {args.corpus}/docs, found {len(docs)}")

    items = []
    with open(args.dataset, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                err(f"line {lineno}: blank line")
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                err(f"line {lineno}: invalid JSON ({e})")
                continue
            if not isinstance(obj, dict):
                err(f"line {lineno}: not a JSON object")
                continue
            items.append((lineno, obj))

    seen_ids, seen_questions = set(), set()
    kind_counts = collections.Counter()
    topic_counts = collections.Counter()
    doc_questions = collections.Counter()   # doc prefix -> #questions citing it
    card_ids = set()
    quote_count = 0
    prev_id = None

    for idx, (lineno, q) in enumerate(items, 1):
        where = f"line {lineno} ({q.get('id', '?')})"
        missing = set(FIELDS) - set(q)
        extra = set(q) - set(FIELDS) - OPTIONAL
        if missing:
            err(f"{where}: missing fields {sorted(missing)}")
            prev_id = q.get("id")
            continue
        if extra:
            err(f"{where}: unexpected fields {sorted(extra)}")
        for field, typ in FIELDS.items():
            if not isinstance(q[field], typ):
                err(f"{where}: field {field!r} has wrong type {type(q[field]).__name__}")
        if not isinstance(q["id"], str) or not isinstance(q["evidence"], list):
            prev_id = q.get("id")
            continue

        # ids
        expected_id = f"q{idx:03d}"
        if q["id"] != expected_id:
            err(f"{where}: id should be {expected_id}")
        if q["id"] in seen_ids:
            err(f"{where}: duplicate id")
        seen_ids.add(q["id"])

        # text fields
        question = q["question"].strip() if isinstance(q["question"], str) else ""
        answer = q["reference_answer"].strip() if isinstance(q["reference_answer"], str) else ""
        if len(question) < 10:
            err(f"{where}: question too short")
        if norm(question) in seen_questions:
            err(f"{where}: duplicate question")
        seen_questions.add(norm(question))
        n_sent = len([s for s in SENT_SPLIT_RE.split(answer) if s.strip()])
        if not 2 <= n_sent <= 4:
            err(f"{where}: reference_answer has {n_sent} sentences (want 2-4)")

        # enums
        kind, topic = q["kind"], q["topic"]
        if kind not in KINDS:
            err(f"{where}: bad kind {kind!r}")
        if topic not in TOPICS:
            err(f"{where}: bad topic {topic!r}")
        kind_counts[kind] += 1
        topic_counts[topic] += 1

        # answerability / kind consistency
        ev = q["evidence"]
        if kind == "unanswerable" or q["answerable"] is False:
            if kind != "unanswerable" or q["answerable"] is not False:
                err(f"{where}: kind 'unanswerable' must go with answerable=false")
            if ev:
                err(f"{where}: unanswerable question must have empty evidence")
            if not NO_COVER_RE.search(answer):
                err(f"{where}: unanswerable answer should say the material 'does not cover' it")
        else:
            if not 1 <= len(ev) <= 3:
                err(f"{where}: answerable question needs 1-3 evidence items, has {len(ev)}")

        # follow-ups
        if kind == "followup":
            if q["followup_of"] is None or q["followup_of"] != prev_id:
                err(f"{where}: followup_of must be the preceding id {prev_id!r}, got {q['followup_of']!r}")
        elif q["followup_of"] is not None:
            err(f"{where}: followup_of must be null for kind {kind!r}")

        # comparisons should cite more than one passage
        if kind == "comparison" and len(ev) < 2:
            err(f"{where}: comparison should cite evidence for each side (>=2 items)")

        # evidence
        q_grams = word_ngrams(question, 6)
        cited_docs = set()
        for j, e in enumerate(ev):
            ew = f"{where} evidence[{j}]"
            if not isinstance(e, dict) or set(e) != {"doc_id", "quote"}:
                err(f"{ew}: must be an object with exactly doc_id and quote")
                continue
            doc_id, quote = e["doc_id"], e["quote"]
            if not isinstance(doc_id, str) or not isinstance(quote, str):
                err(f"{ew}: doc_id and quote must be strings")
                continue
            quote_count += 1
            n_words = len(quote.split())
            if not 4 <= n_words <= 12:
                err(f"{ew}: quote has {n_words} words (want 4-12): {quote!r}")
            if quote != quote.strip():
                err(f"{ew}: quote has leading/trailing whitespace")
            if not quote.isascii():
                err(f"{ew}: quote contains non-ASCII characters: {quote!r}")
            for bad in FORBIDDEN_IN_QUOTE:
                if bad in quote:
                    err(f"{ew}: quote contains forbidden sequence {bad!r}: {quote!r}")
            if re.search(r"&#?\w+;", quote):
                err(f"{ew}: quote contains an HTML entity: {quote!r}")
            nq = norm(quote)
            if doc_id.startswith("arxiv:"):
                if doc_id not in cards:
                    err(f"{ew}: unknown paper card {doc_id!r}")
                    continue
                if nq not in cards[doc_id]:
                    err(f"{ew}: quote not found in summary of {doc_id}: {quote!r}")
                card_ids.add(doc_id)
            else:
                if doc_id not in docs:
                    err(f"{ew}: unknown doc_id {doc_id!r}")
                    continue
                if nq not in docs[doc_id]:
                    err(f"{ew}: quote not found in cleaned {doc_id}: {quote!r}")
                elif nq not in docs_md[doc_id]:
                    err(f"{ew}: quote spans markdown link/emphasis syntax in {doc_id}: {quote!r}")
                cited_docs.add(doc_id[:3])
            if q_grams & word_ngrams(quote, 6):
                err(f"{ew}: question copies the quote wording (shared 6-word run)")
        for d in cited_docs:
            doc_questions[d] += 1
        prev_id = q["id"]

    # ---- coverage --------------------------------------------------------
    total = len(items)
    if total < MIN_TOTAL:
        err(f"only {total} questions (need >= {MIN_TOTAL})")
    for prefix, minimum in DOC_MIN.items():
        if doc_questions[prefix] < minimum:
            err(f"doc {prefix}: cited by {doc_questions[prefix]} questions (need >= {minimum})")
    if len(card_ids) < MIN_CARDS:
        err(f"only {len(card_ids)} distinct paper cards cited (need >= {MIN_CARDS})")
    if kind_counts["comparison"] < MIN_COMPARISON:
        err(f"only {kind_counts['comparison']} comparisons (need >= {MIN_COMPARISON})")
    if kind_counts["followup"] < MIN_FOLLOWUP:
        err(f"only {kind_counts['followup']} follow-ups (need >= {MIN_FOLLOWUP})")
    if kind_counts["unanswerable"] < MIN_UNANSWERABLE:
        err(f"only {kind_counts['unanswerable']} unanswerable (need >= {MIN_UNANSWERABLE})")

    all_text = "\n".join(
        f"{q.get('question', '')} {q.get('reference_answer', '')}" for _, q in items
    )
    for label, (card, pattern) in CLASSICS.items():
        if card not in card_ids:
            err(f"classic topic {label!r}: card {card} never cited")
        if not re.search(pattern, all_text, re.I):
            err(f"classic topic {label!r}: no question/answer mentions it")

    # ---- summary ---------------------------------------------------------
    print(f"dataset: {args.dataset}")
    print(f"corpus : {args.corpus} ({len(docs)} docs, {len(cards)} cards)")
    print(f"questions: {total}  quotes checked: {quote_count}")
    print("kinds: " + ", ".join(f"{k}={kind_counts[k]}" for k in sorted(KINDS)))
    print("answerable: %d, unanswerable: %d" % (
        sum(1 for _, q in items if q.get("answerable") is True),
        sum(1 for _, q in items if q.get("answerable") is False)))
    print("questions citing each doc: " + ", ".join(
        f"{p}={doc_questions[p]}" for p in sorted(DOC_MIN)))
    print(f"distinct paper cards cited: {len(card_ids)}")
    print("topics: " + ", ".join(f"{t}={c}" for t, c in sorted(topic_counts.items())))
    if errors:
        print(f"\nFAILED with {len(errors)} problem(s):")
        for e in errors:
            print("  - " + e)
        return 1
    print("\nOK: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
