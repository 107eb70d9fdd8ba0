"""Focus and honest coverage (pure functions).

The question's *anchors* are its content terms (stemmed, as BM25 sees them) that
say what it is about, weighted by IDF; terms that only say what kind of answer
is wanted ("limitations", "why", "compare") are not anchors.  A sentence
*explains* an anchor when its passage is about it (the passage subject names it)
or the sentence names it early, as its topic; a passage that names an anchor
only in passing *mentions* it.  Coverage:

* ``full``: a focused sentence answers every part that was asked;
* ``partial``: some parts are covered (one side of a comparison, no limitations
  listed for the subject, ...);
* ``mentioned``: the subject is named in the material but nothing explains it;
* ``none``: the material does not name it, or the evidence is weak.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

COVERAGES = ("full", "partial", "mentioned", "none")
# Stems of words that ask for a kind of answer rather than name a subject.
INTENT_STEMS = frozenset("""limit limitat drawback downsid disadvantag weak weak con pitfal
fail why how when use work compar comparison differ differ vs versus result benchmark explain
defin problem solv reason purpos advantag trade off tradeoff matter need help actual even
deal simpli practic mean good bad better best worst main key idea exact realli pleas work
happen doe get make give tell way thing kind type role import signific detail overview
question answer describ discuss summar summari briefli quick eli5 nutshel paper whi do doe
did we you i u what how is are can should would could us it they the a an be been there
someon peopl our your my me so mani much say said find found show shown think know
suppos want abl possibl method reading list ignor itself place hand new everi ani without
rather have around expect write includ exist apart effect close turn dure keep still also
other anoth way ways instead just onli veri well real actual often usual alway never sinc
becaus while though although whether either neither both each few more most less least
like unlik same differ similar kind sort lot bit got go goe went come came look seem""".split())


@dataclass(frozen=True)
class Anchors:
    """What a question is about: stemmed terms with their weights."""

    weights: dict[str, float]
    missing: tuple[str, ...] = ()  # content terms the reading material never uses

    @property
    def total(self) -> float:
        return sum(self.weights.values())

    def key_terms(self, share: float = 0.5, most: int = 4) -> list[str]:
        """The heaviest terms (at most ``most``) that together carry ``share`` of the
        weight."""
        out, acc = [], 0.0
        for term, w in sorted(self.weights.items(), key=lambda x: (-x[1], x[0])):
            out.append(term)
            acc += w
            if acc >= share * self.total or len(out) >= most:
                break
        return out


def joined_terms(tokens: Sequence[str], known: dict[str, float]) -> list[str]:
    """Adjacent pairs written as one word when the material writes them so ("flash
    attention" -> "flashattent", as in "FlashAttention")."""
    from rag.search.query import stem_tokens

    out = []
    for a, b in zip(tokens, tokens[1:]):
        joined = stem_tokens(a + b)
        if joined and joined[0] in known and joined[0] not in (a, b):
            out.append(joined[0])
    return out


def question_anchors(tokens: Sequence[str], idf: dict[str, float], max_idf: float,
                     min_idf: float = 1.0) -> Anchors:
    """Anchors of a tokenised (stemmed) question; unknown terms are ``missing``."""
    weights: dict[str, float] = {}
    missing: list[str] = []
    tokens = [*tokens, *joined_terms(tokens, idf)]
    for term in tokens:
        if term in INTENT_STEMS or len(term) < 2 or term.isdigit():
            continue
        if term not in idf:
            missing.append(term)
            continue
        if idf[term] >= min_idf:
            weights[term] = idf[term] / max_idf
    return Anchors(weights, tuple(dict.fromkeys(missing)))


def focus(anchors: Anchors, sentence: Sequence[str], subject: frozenset[str]) -> float:
    """Share of the anchors' weight that a sentence (or its passage subject) carries."""
    if not anchors.total:
        return 0.0
    present = set(sentence) | subject
    return sum(w for t, w in anchors.weights.items() if t in present) / anchors.total


def explains(term: str, sentence: Sequence[str], subject: frozenset[str],
             passage_count: int = 0, lead_tokens: int = 4) -> bool:
    """Is the sentence about ``term``?  Its passage is about it (the passage's subject
    names it, or two or more of its sentences do) or the sentence opens with it.  A
    passage that names a term once, in a list of components, only mentions it."""
    if term in subject:
        return True
    if term not in sentence:
        return False
    return passage_count >= 2 or list(sentence).index(term) < lead_tokens


def explained_share(anchors: Anchors, key: Sequence[str], sentence: Sequence[str],
                    subject: frozenset[str], counts: dict[str, int] | None = None) -> float:
    """Share of the key anchors' weight the sentence explains."""
    total = sum(anchors.weights[t] for t in key)
    if not total:
        return 0.0
    counts = counts or {}
    return sum(anchors.weights[t] for t in key
               if explains(t, sentence, subject, counts.get(t, 0))) / total


def decide(found_lead: bool, parts_missing: Sequence[str], weak: bool, named: bool,
           unknown_subject: bool) -> str:
    """The coverage label from what the composition found."""
    if weak or unknown_subject:
        return "mentioned" if named and not unknown_subject else "none"
    if not found_lead:
        return "mentioned" if named else "none"
    return "partial" if parts_missing else "full"
