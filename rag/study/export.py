"""Exports: attempts as CSV, cards as an Anki deck (``genanki``, ``.apkg``)."""

from __future__ import annotations

import csv
import hashlib
import html
from collections.abc import Sequence
from pathlib import Path

from rag.records import BankEntry, StudyCard
from rag.study.progress import UserProgress
from rag.study.stats import ATTEMPT_FIELDS, attempt_row

ANKI_MODEL_ID = 1_607_392_014  # stable: re-importing updates cards instead of duplicating
ANKI_CSS = ".card { font-family: sans-serif; font-size: 18px; text-align: left; } "\
           ".src { font-size: 13px; color: #555; } li { margin-bottom: 6px; }"


def write_attempts_csv(progress: UserProgress, path: Path) -> int:
    """Every attempt of the user, newest first; returns the number of rows."""
    rows = [attempt_row(a, progress.name) for a in progress.attempts()]
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=ATTEMPT_FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    return len(rows)


def _cite(title: str, section: str, url: str) -> str:
    where = html.escape(title + (f" › {section}" if section and section != "Paper card" else ""))
    link = f' <a href="{html.escape(url)}">{html.escape(url)}</a>' if url.startswith(
        ("http://", "https://")) else ""
    return f'<span class="src">{where}{link}</span>'


def entry_back(entry: BankEntry) -> str:
    """Key points, each with its citation."""
    items = "".join(f"<li>{html.escape(p.text)}<br>{_cite(p.title, p.section, p.url)}</li>"
                    for p in entry.key_points)
    return f"<b>Key points</b><ol>{items}</ol>"


def card_back(card: StudyCard) -> str:
    return (f"<b>{html.escape(card.answer)}</b><br><br>{html.escape(card.fact)}<br>"
            f"{_cite(card.title, card.section, card.url)}")


def card_front(card: StudyCard) -> str:
    options = "".join(f"<li>{html.escape(o)}</li>" for o in card.options)
    return html.escape(card.prompt) + (f"<ol type='a'>{options}</ol>" if options else "")


def write_anki(entries: Sequence[BankEntry], cards: Sequence[StudyCard], path: Path,
               name: str = "AI interview prep") -> int:
    """An Anki deck: front = question, back = key points with citations (cloze and mcq
    cards: the answer, the fact and its source).  Returns the number of notes."""
    import genanki

    model = genanki.Model(
        ANKI_MODEL_ID, "Interview prep card",
        fields=[{"name": "Front"}, {"name": "Back"}, {"name": "Key"}],
        templates=[{"name": "Card", "qfmt": "{{Front}}",
                    "afmt": "{{FrontSide}}<hr id=answer>{{Back}}"}], css=ANKI_CSS)
    deck_id = int(hashlib.sha1(name.encode()).hexdigest()[:8], 16)
    deck = genanki.Deck(deck_id, name)
    for e in entries:
        deck.add_note(genanki.Note(model=model, fields=[html.escape(e.question), entry_back(e),
                                                        e.entry_id],
                                   guid=genanki.guid_for(e.entry_id), tags=[e.topic]))
    for c in cards:
        deck.add_note(genanki.Note(model=model, fields=[card_front(c), card_back(c), c.card_id],
                                   guid=genanki.guid_for(c.card_id), tags=[c.topic, c.kind]))
    genanki.Package(deck).write_to_file(str(path))
    return len(entries) + len(cards)
