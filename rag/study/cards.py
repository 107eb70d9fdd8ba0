"""Exactly graded cards from fact sentences: cloze ("BERT masks ____ of input tokens"
-> 15%) and multiple choice (the answer among sibling answers taken from facts of
other sources, same kind of answer: a percentage among percentages, a method name
among method names).  Every card keeps its source passage for the citation.

``check_answer`` accepts reasonable variants: case, hyphens and spaces, a plural,
a number written in words ("fifteen percent" for "15%"), an option's letter.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from rag.records import Chunk, StudyCard
from rag.study import bank as study_bank
from rag.study import terms

BLANK = "____"
_NUMBER = re.compile(r"(?<![\w.\-/])(\d+(?:[.,]\d+)?)(\s?%| percent\b|\s?[BMK]\b| billion\b|"
                     r" million\b| trillion\b|x\b)?(?![\w\-/])")
_NAME = re.compile(r"(?<![\w-])((?:[A-Z][a-z]+[A-Z][\w]*|[A-Z]{2,}[a-z]*[A-Z]*\w*|"
                   r"[A-Z][a-z]*\d+[\w]*))(?![\w-])")
_TERM = re.compile(r"(?<![\w-])([a-z]+(?:-[a-z]+)+)(?![\w-])")
_YEAR = re.compile(r"^(?:19|20)\d\d$")


@dataclass(frozen=True)
class Blank:
    start: int
    end: int
    answer: str
    kind: str  # number | name | term


def find_blank(text: str, avoid: str = "") -> Blank | None:
    """The phrase to hide: a number (not a year), else a method name (not the first
    word, not in ``avoid``, e.g. the source's title), else a hyphenated term."""
    for m in _NUMBER.finditer(text):
        value, unit = m.group(1), (m.group(2) or "")
        if not _YEAR.match(value) and not (unit == "" and value in ("1", "2", "0")):
            return Blank(m.start(), m.end(), (value + unit).strip(), "number")
    for m in _NAME.finditer(text):
        name = m.group(1)
        if m.start() > 0 and name.lower() not in avoid.lower() and len(name) >= 3:
            return Blank(m.start(), m.end(), name, "name")
    for m in _TERM.finditer(text):
        if m.start() > 0 and len(m.group(1)) >= 8:
            return Blank(m.start(), m.end(), m.group(1), "term")
    return None


# Organisations, benchmarks and datasets, and common nouns written in capitals: a
# name blank is asked only for a named method or model, and a distractor is always
# the same kind of thing as the answer (an organisation among organisations ...).
ORGANISATIONS = frozenset(
    "openai google deepmind meta anthropic microsoft nvidia apple amazon ibm kaist fair "
    "mbzuai stanford princeton berkeley cmu mit tsinghua alibaba baidu tencent bytedance "
    "bigcode servicenow mosaicml databricks ai2 eleutherai cohere reka salesforce adobe "
    "laion runway xai zhipu huggingface tiger-lab deepseek mistral qwen".split())
BENCHMARKS = frozenset(
    "mmlu mmlu-pro gsm8k math math500 humaneval mbpp imagenet coco glue superglue squad "
    "big-bench bbh hotpotqa fever aime aime24 gpqa swe-bench mt-bench alpacaeval ifeval "
    "wikitext pile c4 laion-5b sa-1b sa-v ds-1000 scienceqa vtab cifar-100 librispeech "
    "wmt e2e webnlg dart xsum babilong longbench musr frontiermath mmmu gaia mteb".split())
COMMON_NOUNS = frozenset(
    "llm llms ssm ssms gpu gpus tpu tpus sram hbm flops api apis nlp ai agi ml kv qa mlp "
    "cnn cnns rnn rnns nli ocr asr tts cpu cpus io lm lms gui url html json yaml".split())
_ORG_CUES = re.compile(r"^\s*(?:collaboration|team|lab|labs|project|researchers|group|"
                       r"research|ai\b)", re.I)
_BENCH_CUES = re.compile(r"^\s*(?:benchmark|dataset|suite|leaderboard|test set|split)", re.I)
_NOT_STANDALONE = re.compile(r"[+→=|]|\bthis (?:one|is|was)\b|\b(?:of|in) this\b|\b(?:above|"
                             r"below)\b|\bsee\b", re.I)


@lru_cache(maxsize=8192)
def name_kind(answer: str, fact: str = "") -> str:
    """What a name answer is: "org", "benchmark", "common" (a capitalised common noun
    such as LLM or GPU) or "method" (a model or method), from lists and the words
    around it in ``fact``."""
    key = answer.lower()
    if key in COMMON_NOUNS:
        return "common"
    if key in ORGANISATIONS or (answer.endswith("AI") and len(answer) > 3):
        return "org"  # OpenAI, CodiumAI
    if key in BENCHMARKS:
        return "benchmark"
    at = fact.find(answer)
    before, after = fact[max(0, at - 12):max(0, at)], fact[at + len(answer):] if at >= 0 else ""
    model_like = bool(re.search(r"\d|GPT|LM\b", answer))
    if not model_like and (_ORG_CUES.match(after) or re.search(
            r"\b(?:from|by|at)\s+(?:the\s+)?$", before)):
        return "org"
    if _BENCH_CUES.match(after):
        return "benchmark"
    return "method"


def answer_kind(card: StudyCard) -> str:
    """The kind a distractor must share: numbers by unit, names by ``name_kind``."""
    if card.answer_type == "number":
        return "number:" + _unit_class(card.answer)
    if card.answer_type == "name":
        return "name:" + name_kind(card.answer, card.fact)
    return card.answer_type


def card_id(kind: str, text: str) -> str:
    return f"{kind}-{hashlib.sha1(text.encode()).hexdigest()[:10]}"


def _unit_class(answer: str) -> str:
    """"percent", "scaled" (175B, 3 million), "times" (16x) or "plain"."""
    text = answer.lower()
    if "%" in text or "percent" in text:
        return "percent"
    if re.search(r"\d\s?(?:[bmkt]\b|billion|million|trillion|thousand)", text):
        return "scaled"
    return "times" if re.search(r"\dx\b|×", text) else "plain"


def stem_context(chunk: Chunk) -> str:
    """What a card's sentence is about, shown before it: the paper's short name or the
    section's short label ("LoRA", "Mixture of Experts")."""
    if chunk.doc_id.startswith("arxiv:") or not chunk.section:
        return study_bank.paper_name(chunk.title).strip("“”")
    return study_bank.short_label(study_bank.clean_heading(chunk.section.split(" › ")[-1]))


def answerable(text: str, blank: Blank, context: str) -> bool:
    """Can the blank be filled from knowledge, given the context line?  Not when the
    sentence is a fragment or formula ("CLIP encoder + projection + Vicuna ____"),
    points elsewhere ("like this ____ one"), the context gives the answer away, or a
    name blank hides a common noun (LLM, GPU) rather than a named method."""
    body = text[:blank.start] + text[blank.end:]
    if len(body.split()) < 7 or _NOT_STANDALONE.search(text):
        return False
    if blank.answer.lower() in context.lower():
        return False
    return not (blank.kind == "name" and name_kind(blank.answer, text) == "common")


def _cloze(chunk: Chunk, text: str, topic: str, known_terms: frozenset[str] = frozenset()
           ) -> StudyCard | None:
    blank = find_blank(text, avoid=chunk.title if not chunk.doc_id.startswith("arxiv:") else "")
    context = stem_context(chunk)
    if blank is None or not answerable(text, blank, context):
        return None
    if blank.kind == "term" and known_terms and blank.answer.lower() not in known_terms:
        return None  # a one-off adjective ("more compute-efficient") is no concept to recall
    prompt = text[:blank.start] + BLANK + text[blank.end:]
    if context and _alnum(context) not in _alnum(text):
        prompt = f"{context} — {prompt}"
    return StudyCard(card_id=card_id("cloze", text), kind="cloze", topic=topic, prompt=prompt,
                     answer=blank.answer, answer_type=blank.kind, fact=text,
                     chunk_id=chunk.chunk_id, title=chunk.title, section=chunk.section,
                     url=chunk.url)


def build_cards(chunks: Sequence[Chunk], facts: Sequence[tuple[int, str]]) -> list[StudyCard]:
    """Cloze cards for every fact with something to hide, and an mcq card for each that
    has three sibling answers from other sources."""
    cloze = []
    known = _known_terms(chunks)
    for ci, text in facts:
        chunk = chunks[ci]
        topic = study_bank.assign_topic([(chunk.title, 2.0), (chunk.section, 1.0), (text, 1.0)])
        card = _cloze(chunk, " ".join(text.split()), topic, known)
        if card is not None:
            cloze.append(card)
    doc = {c.chunk_id: c.doc_id for c in chunks}
    text_of = {c.chunk_id: c.text.lower() for c in chunks}
    mcq = []
    for card in cloze:
        if card.answer_type == "term":
            continue
        options = distractors(card, cloze, doc, text_of)
        if len(options) == 3:
            ordered = sorted([card.answer, *options],
                             key=lambda o: hashlib.sha1((card.card_id + o).encode()).hexdigest())
            mcq.append(card.model_copy(update={"card_id": card_id("mcq", card.fact),
                                               "kind": "mcq", "options": tuple(ordered)}))
    return cloze + mcq


def _alnum(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def _known_terms(chunks: Sequence[Chunk]) -> frozenset[str]:
    """Hyphenated terms used in two or more documents (a concept, not a one-off)."""
    docs: dict[str, set[str]] = {}
    for chunk in chunks:
        for term in _TERM.findall(chunk.text):
            docs.setdefault(term.lower(), set()).add(chunk.doc_id)
    return frozenset(t for t, d in docs.items() if len(d) >= 2)


def distractors(card: StudyCard, pool: Sequence[StudyCard], doc: dict[str, str],
                text_of: dict[str, str]) -> list[str]:
    """Three answers of sibling cards: the same kind of thing (``answer_kind``: a
    percentage among percentages, an organisation among organisations, a method among
    methods), other sources, same topic first; none that the card's own passage
    contains or that equals the answer in any accepted form."""
    own_doc, own_text = doc[card.chunk_id], text_of[card.chunk_id]
    kind = answer_kind(card)
    seen = {normalise(card.answer)}
    picks = []
    rank = sorted(pool, key=lambda o: (o.topic != card.topic, hashlib.sha1(
        (card.card_id + o.card_id).encode()).hexdigest()))
    for other in rank:
        if (answer_kind(other) != kind or doc[other.chunk_id] == own_doc
                or other.answer.lower() in own_text or normalise(other.answer) in seen
                or is_correct(card, other.answer)):
            continue
        seen.add(normalise(other.answer))
        picks.append(other.answer)
        if len(picks) == 3:
            break
    return picks


# --- checking answers ----------------------------------------------------------------


def normalise(text: str) -> str:
    """Lower case, no punctuation, hyphens or spaces, singular."""
    return "".join(terms.stem(w) if len(w) > 3 else w
                   for w in re.findall(r"[a-z0-9]+", text.lower()))


def is_correct(card: StudyCard, given: str) -> bool:
    if card.answer_type == "number":
        want = terms.numbers(card.answer)
        got = terms.numbers(given)
        if "%" in card.answer:  # "15" alone is accepted for "15%"
            got |= {g + "%" for g in got if not g.endswith("%")}
        return bool(want & got)
    got = normalise(given)
    for want in (normalise(card.answer), *map(normalise, spelled_out(card.answer))):
        if got and (got == want or (len(want) >= 4 and want in got and
                                    len(got) <= len(want) + 12)):
            return True
    return False


def spelled_out(answer: str) -> list[str]:
    """What an acronym stands for ("DPO" -> "direct preference optimization"), from the
    glossary retrieval uses; accepted as the same answer."""
    from rag.search.glossary import glossary

    return [v for k, v in glossary().items() if k.lower() == answer.strip().lower()]


def resolve_option(card: StudyCard, given: str) -> str:
    """An mcq answer given as a letter (a-d) or number (1-4) -> that option's text."""
    key = given.strip().lower().rstrip(").")
    if card.options and len(key) == 1:
        index = "abcd".find(key) if key.isalpha() else (int(key) - 1 if key.isdigit() else -1)
        if 0 <= index < len(card.options):
            return card.options[index]
    return given


def check_answer(card: StudyCard, given: str) -> tuple[bool, str]:
    """Whether ``given`` is right, and a one-line explanation."""
    given = resolve_option(card, given) if card.kind == "mcq" else given
    if is_correct(card, given):
        return True, f"Correct: {card.answer}."
    return False, f"Not quite: the answer is {card.answer} (you said: {given.strip()[:80]})."
