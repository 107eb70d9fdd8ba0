"""Sentences made from lines that are not sentences.

An outline states things in a few words under a heading: a section's tagline
("Liquid Neural Networks" / "Time-continuous, adaptive networks.") or a labelled list
of facts ("Benefits: - 1000x lower power - Real-time processing").  Read as they stand
they are too short to answer with, or a list (context), and a question about their
subject finds nothing; ``rag.corpus.roles`` turns them into sentences that name it.
"""

from __future__ import annotations

import re

from rag.corpus.roles import split_label
from rag.records import SentenceInfo

_TAGLINE = re.compile(r"^[A-Za-z][\w ,/'-]*[a-z]\.$")


def tagline(chunk, position: int, subject: str) -> list[SentenceInfo]:
    """A section's opening line that says what its subject is in a few words, too short
    for a sentence ("Liquid Neural Networks" -> "Time-continuous, adaptive networks.";
    "Federated Learning" -> "Train without centralizing data."), as an overview sentence
    that names its subject ("Liquid Neural Networks: time-continuous, adaptive
    networks.").  Without it, a question about the subject finds nothing to answer with."""
    from rag.corpus.chunk import is_answer_sentence

    first = chunk.text.strip().split("\n", 1)[0].strip()
    if not subject or not 2 <= len(first.split()) <= 8 or not _TAGLINE.match(first) or \
            first.lower().startswith(subject.lower()) or is_answer_sentence(first):
        return []
    lead = first if first[:2].isupper() else first[0].lower() + first[1:]
    return [SentenceInfo(chunk=position, text=first, prose=f"{subject}: {lead}",
                         facet="overview", subject=subject)]


_FACT_LISTS = ("advantages", "usage", "limitations")


def fact_list(info: SentenceInfo) -> SentenceInfo:
    """A labelled list of a field that states facts ("Benefits: - 1000x lower power -
    Real-time processing" under "Spiking Neural Networks") as one sentence of that
    facet ("Spiking Neural Networks benefits: 1000x lower power, real-time processing.");
    other heading lists (research directions, lists of titles) stay context."""
    if info.context != "heading_list" or info.facet not in _FACT_LISTS or not info.subject:
        return info
    items = [i.strip(" .") for i in re.split(r"(?:^|\s)-\s", split_label(info.text)[1])
             if i.strip(" .-")]
    if len(items) < 2 or any(q in info.text for q in "\"“”"):
        return info
    items = [i if i[:2].isupper() else i[0].lower() + i[1:] for i in items]
    return info.model_copy(update={"role": "fact", "context": "", "prose": (
        f"{info.subject} {info.label.lower()}: {', '.join(items)}.")})
