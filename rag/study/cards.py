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


def card_id(kind: str, text: str) -> str:
    return f"{kind}-{hashlib.sha1(text.encode()).hexdigest()[:10]}"


def _unit_class(answer: str) -> str:
    return "percent" if "%" in answer or "percent" in answer else "plain"


def _cloze(chunk: Chunk, text: str, topic: str) -> StudyCard | None:
    blank = find_blank(text, avoid=chunk.title if not chunk.doc_id.startswith("arxiv:") else "")
    if blank is None:
        return None
    prompt = text[:blank.start] + BLANK + text[blank.end:]
    return StudyCard(card_id=card_id("cloze", text), kind="cloze", topic=topic, prompt=prompt,
                     answer=blank.answer, answer_type=blank.kind, fact=text,
                     chunk_id=chunk.chunk_id, title=chunk.title, section=chunk.section,
                     url=chunk.url)


def build_cards(chunks: Sequence[Chunk], facts: Sequence[tuple[int, str]]) -> list[StudyCard]:
    """Cloze cards for every fact with something to hide, and an mcq card for each that
    has three sibling answers from other sources."""
    cloze = []
    for ci, text in facts:
        chunk = chunks[ci]
        topic = study_bank.assign_topic([(chunk.title, 2.0), (chunk.section, 1.0), (text, 1.0)])
        card = _cloze(chunk, " ".join(text.split()), topic)
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


def distractors(card: StudyCard, pool: Sequence[StudyCard], doc: dict[str, str],
                text_of: dict[str, str]) -> list[str]:
    """Three answers of sibling cards: same answer type (and unit), other sources,
    same topic first; none that the card's own passage contains or that equals the
    answer in any accepted form."""
    own_doc, own_text = doc[card.chunk_id], text_of[card.chunk_id]
    seen = {normalise(card.answer)}
    picks = []
    rank = sorted(pool, key=lambda o: (o.topic != card.topic, hashlib.sha1(
        (card.card_id + o.card_id).encode()).hexdigest()))
    for other in rank:
        if (other.answer_type != card.answer_type or doc[other.chunk_id] == own_doc
                or _unit_class(other.answer) != _unit_class(card.answer)
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
