"""Sentences that open by pointing back ("It ...", "This paper ...", "Built on it, ..."):
their referent put back when it is safe, else marked as needing the sentence before
(``rag.corpus.roles`` calls ``restore_subject`` for every fact).  Pure functions of
strings.
"""

from __future__ import annotations

import re

# Pronoun openings.  "This/These + noun" and bare pronouns are handled differently.
_PRONOUN = re.compile(r"^(?P<p>It|Its|They|Their|This|These|That|Those|Such|Both|He|She|"
                      r"Them)\b(?P<rest>.*)$", re.S)
_SELF_NOUN = re.compile(r"^This\s+(?P<mid>(?:[\w./&-]+\s+){0,5}?)(?P<noun>paper|study|report|"
                        r"work|survey|article|review|technical report)(?![\w-])(?P<rest>.*)$",
                        re.S)
# What "They ..." does when "they" are a paper's authors.
_AUTHOR_VERBS = frozenset("""also then argue argued assemble assembled build built catalog
catalogue catalogued describe described derive derived design designed evaluate evaluated find
found fine-tune fine-tuned group grouped introduce introduced measure measured observe observed
propose proposed release released report reported set show showed study studied test tested
train trained use used""".split())
_VERBS_AFTER_IT = re.compile(r"^\s+(?:also\s+|then\s+|still\s+|quickly\s+|now\s+)?"
                             r"(?:is|was|has|had|became|becomes|remains|reaches|reached|"
                             r"scores|scored|contains|comes|covers|gathers|gave|gives|"
                             r"achieves|achieved|extends|extended|established|laid|pairs|"
                             r"targets|includes|shows|showed|introduces|introduced|adds|"
                             r"added|uses|used|works|trails|cuts|proposes|studies|"
                             r"appeared|outperforms|matches|supports|analyzes|analyses|"
                             r"combines|offers|made|makes|enables)\b")


_DEMONSTRATIVE = re.compile(r"^(?:\S+\s+){0,7}?(?:that|this|these|those)\s+(?:gap|problem|issue|"
                            r"approach|idea|method|trade-off|limitation|result|design|setting|"
                            r"work|trend|objective|recipe|structure|framework|technique)s?\b",
                            re.I)


# "Together they allow ...": the pronoun stands for the list before (never restored).
_TOGETHER = re.compile(r"^(?:Together|Combined|Taken together|Between them),?\s+(?:they|these|"
                       r"those|both|all three|all four)\b", re.I)


def sums_up(text: str) -> bool:
    """Does ``text`` open by summing up the sentence before ("Together they ...")?"""
    return bool(_TOGETHER.match(text))


# A short opening phrase that points back: "Built on it, ...", "Compared with it, ...".
_OPENING_IT = re.compile(r"^((?:Built|Based|Trained|Compared|Applied|Combined)(?: \w+){0,2})"
                         r" it(?=,)")


_MAKES_WORK = re.compile(r"\b(makes?|made|making) (?:this|it) work\b")


def name_the_work(prose: str, subject: str) -> str:
    """A card's "Three techniques make this work: ..." with its subject named ("make
    QLoRA work"): the paper's method, not something before."""
    return _MAKES_WORK.sub(rf"\1 {subject} work", prose)


def _the_paper(text: str, rest: str, named: str) -> str:
    """A card's "This paper introduces ..." / "This is the SD3 paper ..." with the paper
    named ('' when "This" is not the paper)."""
    if re.match(r"\s+(?:is|was)\s", rest):  # "This is the Stable Diffusion 3 paper ..."
        return named + rest
    self_ref = _SELF_NOUN.match(text)
    if not self_ref:
        return ""
    mid = self_ref.group("mid").strip()
    lead = " ".join(p for p in ("The", mid, self_ref.group("noun"), named) if p)
    return lead + self_ref.group("rest")


def restore_subject(text: str, subject: str, title: str = "",
                    is_card: bool = False) -> tuple[str, bool]:
    """``(prose, needs_antecedent)``: a leading pronoun replaced by its subject when safe.

    Only paper cards have a known referent (the paper, its method, its authors);
    elsewhere a pronoun opening is left alone and marked as needing its antecedent.
    """
    if sums_up(text):
        return text, True
    match = _PRONOUN.match(text)
    inner = _OPENING_IT.match(text)
    if inner:  # "Built on it, the vLLM engine ...": "it" is the paper's subject
        if is_card and subject:
            return f"{inner.group(1)} {subject}{text[inner.end():]}", False
        return text, True
    if not match:  # "that approach ..."
        return text, bool(_DEMONSTRATIVE.match(text))
    if not is_card:
        return text, True
    restored = _restored(text, match.group("p"), match.group("rest"), subject, title)
    return (restored, False) if restored else (text, True)


def _restored(text: str, pronoun: str, rest: str, subject: str, title: str) -> str:
    """A card's sentence opening with ``pronoun`` with its referent put back ('' when
    that is not safe)."""
    if pronoun == "This" and (title or subject):
        return _the_paper(text, rest, f"“{title}”" if title else subject)
    if pronoun == "They":
        first = rest.split()[0].lower() if rest.split() else ""
        return "The authors" + rest if first in _AUTHOR_VERBS else ""
    if pronoun == "It" and subject and _VERBS_AFTER_IT.match(rest):
        return subject + rest
    if pronoun == "Its" and rest[:1] == " ":
        return f"{subject}'s{rest}" if subject else f"The paper's{rest}"
    return ""
