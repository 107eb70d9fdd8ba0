"""An answer's claims: its sentences and clauses, and whether one of them states the
opposite of a source fact.

``answer_units`` splits an answer into sentences and, inside long sentences, clauses
("..., so all experts have to be loaded in memory"): a clause carries one claim, so
its vector is not diluted by the rest of the sentence.  ``contradiction`` compares a
unit with a fact: a different number for the same thing, a swapped antonym, a negated
claim, or a claim the source rules out ("instead of self-supervised pretraining").

All pure functions of strings (see ``rag.study.terms``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from itertools import takewhile

from rag.corpus.chunk import split_sentences
from rag.errors import InvalidAnswer
from rag.search.glossary import expand_acronyms, glossary
from rag.study import terms
from rag.study.figures import misattributed_number, number_conflict, reversed_change

# Where a sentence splits into clauses that each state something on their own.
_CLAUSE = re.compile(r"\s*(?:;|:\s|\s[—–]\s|,\s+(?=(?:so|and|but|while|whereas|which|because|"
                     r"since|although|though|unlike|instead|then|thus|hence)\b))\s*")
_CONNECTIVE = re.compile(r"^(?:so|and|but|while|whereas|which|because|since|although|though|"
                         r"then|thus|hence)\s+", re.I)
_RULED_OUT = re.compile(r"\b(?:instead of|rather than|in place of|without|no longer|not|never|no|"
                        r"lacks?|lacking)\s+"
                        r"((?:[\w-]+\s+){0,4}[\w-]+)", re.I)


def clauses(sentence: str, min_words: int = 3) -> list[str]:
    """The clauses of ``sentence`` that have at least ``min_words`` words (none when the
    sentence does not split)."""
    parts = [_CONNECTIVE.sub("", p.strip(" ,")) for p in _CLAUSE.split(sentence)]
    parts = [p for p in parts if len(p.split()) >= min_words]
    return parts if len(parts) > 1 else []


def answer_units(text: str, min_words: int = 3) -> list[str]:
    """The answer's sentences (lines and list items split too) and their clauses, each
    of at least ``min_words`` words; ``InvalidAnswer`` when none is."""
    return [u for u, _ in sentence_units(text, min_words)]


def sentence_units(text: str, min_words: int = 3) -> list[tuple[str, int]]:
    """``answer_units`` with the number of the sentence each unit belongs to."""
    units: dict[str, int] = {}
    for n, sentence in enumerate(split_sentences(text, light=True) or [text.strip()]):
        for unit in (sentence, *clauses(sentence)):
            if len(unit.split()) >= min_words:
                units.setdefault(unit, n)
    if not units:
        raise InvalidAnswer(f"your answer is too short to grade: write at least one sentence "
                            f"of {min_words} or more words")
    return list(units.items())


def stems_of(text: str) -> set[str]:
    """Content stems with acronyms spelled out too ("MoE" also gives mixture, expert)."""
    return terms.content_stems(text) | terms.content_stems(expand_acronyms(text))


def present(stem: str, stems: set[str] | frozenset[str]) -> bool:
    """``stem`` or a word sharing it as a prefix ("train" / "trainabl")."""
    return stem in stems or any(min(len(s), len(stem)) >= 4 and (
        s.startswith(stem) or stem.startswith(s)) for s in stems)


_NO_PHRASE = re.compile(r"\bno\s+(?=((?:[\w-]+\s+){0,3}[\w-]+))", re.I)


def _qualified_only(unit: str, stem: str, p_stems: set[str] | frozenset[str]) -> bool:
    """Does the unit deny ``stem`` only inside "no <modifier> ... <stem>" whose modifier
    the point lacks ("no human chain-of-thought data" denies human-written data, not the
    point's chain-of-thought reasoning).  Acronyms are spelled out first ("no KV cache
    tricks" names the point's key-value cache)."""
    unit = spell_out(unit)
    spans = [[terms.stem(w) for w in takewhile(lambda w: w not in terms.FUNCTION_WORDS,
                                               terms.words(m.group(1)))]
             for m in _NO_PHRASE.finditer(unit)]  # the noun phrase: up to "on", "of" ...
    holding = [sp for sp in spans if stem in sp]
    return bool(holding) and len(holding) == len(
        [sp for sp in holding if sp[0] != stem and not present(sp[0], p_stems)]) \
        and stem not in terms.negated_stems(_NO_PHRASE.sub("", unit), explicit=True)


def _derived(stem: str, stems: set[str] | frozenset[str]) -> bool:
    """Is one of ``stems`` ``stem`` with a short derivational ending the stemmer keeps
    ("emergent" for "emerg": "does not emerge" denies "emergent reasoning")?  Compound
    words ("task-specif" for "task") are no derivations."""
    return len(stem) >= 5 and "-" not in stem and any(
        s.startswith(stem) and s[len(stem):] in _KEPT_ENDINGS for s in stems)


_KEPT_ENDINGS = frozenset({"ent", "ant", "enc", "anc"})  # the stemmer keeps them when short


def _negated_clause_stems(text: str) -> set[str]:
    """Every stem of a clause that contains a negation ("inference has no added
    latency": inference, added, latency)."""
    out: set[str] = set()
    for clause in re.split(r"[,;:.!?()]", text.replace("n't", " not")):
        if set(terms.words(clause)) & terms.EXPLICIT_NEGATIONS:
            out |= terms.content_stems(clause)
    return out


def _asserted_stems(text: str, scope: int = 4) -> set[str]:
    """Stems a text states outside every negation's reach ("rule-based rewards, no neural
    reward model": reward is asserted too; with a word of the point beside it, the
    negation is of another thing of that name)."""
    out: set[str] = set()
    for clause in re.split(r"[,;:.!?()]", text.replace("n't", " not")):
        tokens, reach = terms.words(clause), -1
        for i, token in enumerate(tokens):
            if token in terms.EXPLICIT_NEGATIONS:
                reach = i + scope
            elif i > reach and token not in terms.FUNCTION_WORDS:
                out.add(terms.stem(token))
    return out


def ruled_out(text: str) -> set[str]:
    """Stems a fact rules out: what follows "instead of", "rather than", "without",
    "no longer", "not", "no", "lacks" ("instead of self-supervised pretraining" ->
    self-supervis ...), and the first part of "X-free" ("reference-free": refer)."""
    out: set[str] = set()
    for m in _RULED_OUT.finditer(text):
        said = terms.words(m.group(1))
        if said and said[0] in terms.NEGATIONS:
            continue  # "does not remove backdoor behavior": it persists
        out |= terms.content_stems(m.group(1))
    out |= {terms.stem(w[:-5]) for w in terms.words(text) if w.endswith("-free") and len(w) > 7}
    return out - terms._GENERIC_STEMS


_ALL = re.compile(r"\b(?:all(?: the)?|every|each)\s+(?:\w+\s+)?(?P<noun>[a-z]{3,})", re.I)
_ONE = r"\b(?:only one|just one|a single|one|no|none of the|only the one|only a few)\s+(?:\w+\s+)?"


def _quantifier_conflict(point: str, unit: str) -> str:
    """"one expert" (or none, a few) where the point says "all experts" ("need to load all
    experts" against "you only need to load the one expert")."""
    for found in _ALL.finditer(point):
        noun = terms.stem(found.group("noun"))
        for other in re.finditer(_ONE + r"(?P<noun>[a-z]{3,})", unit, re.I):
            if terms.stem(other.group("noun")) == noun and not _ALL.search(unit):
                return f"opposite quantity ({other.group(0).strip()} for {found.group(0)})"
    return ""


# "A outperforms B", "preferred A over B", "A is better than B": A before the cue wins.
_BEATS = re.compile(r"\b(?:outperform(?:s|ed)?|beats?|beating|surpass(?:es|ed)?|over|"
                    r"better than|more than|rather than|ahead of)\b", re.I)


def _sides(text: str) -> tuple[set[float], set[float]] | None:
    """The numbers before and after the comparison cue of ``text`` (None without one)."""
    for cue in _BEATS.finditer(text):
        before = terms.known_values(text[:cue.start()])
        after = terms.known_values(text[cue.end():])
        if before and after:
            return before, after
    return None


def _reversed_comparison(point: str, unit: str) -> str:
    """The unit ranks the point's two numbers the other way round ("labelers preferred the
    175B GPT-3 over the 1.3B model" for "1.3 billion InstructGPT outperforms 175 billion
    GPT-3")."""
    p, u = _sides(point), _sides(unit)
    if not p or not u:
        return ""

    def has(values: set[float], wanted: set[float]) -> bool:
        return any(terms.same_number(a, b) for a in values for b in wanted)
    if has(u[1], p[0]) and has(u[0], p[1]) and not has(u[0], p[0]):
        return "reversed comparison"
    return ""


# "X outperforms / beats / is better than / ahead of Y": X wins.
_WINS = re.compile(r"\b(?:outperform(?:s|ed|ing)?|beat(?:s|ing)?|surpass(?:es|ed)?|"
                   r"(?:better|stronger|more accurate) than|ahead of|superior to|"
                   r"wins? over|won over|(?:scores?|scored|scoring|ranks?|ranked) above)\b",
                   re.I)
# "X lost to / trails / falls behind Y": Y wins.
_LOSES = re.compile(r"\b(?:los(?:t|es|e|ing) to|(?:falls?|fell) (?:behind|short of)|"
                    r"underperform(?:s|ed|ing)?|worse than)\b", re.I)
_PRONOUNS = frozenset({"it", "they", "this", "its", "their"})


@lru_cache(maxsize=4096)  # a key point is checked against every unit of every answer
def _ranking(text: str) -> tuple[frozenset[str], frozenset[str], str] | None:
    """``(winner, loser, unnamed)`` content stems of the first "X beats Y" ("Y lost to
    X") in ``text``: the side after the verb is the first content words in its clause,
    the side before it the last ones before it in its clause, or the sentence's opening
    words when the clause has none ("The resulting process reward model ..., clearly
    ahead of an outcome-supervised reward model"); ``unnamed`` is the side ("win" or
    "lose") its clause names only by a pronoun ("It ... lost to Llama 2 13B"), or ''."""
    cues = [m for m in (_WINS.search(text), _LOSES.search(text)) if m]
    if not cues:
        return None
    found = min(cues, key=lambda m: m.start())

    def stems(words: str, first: bool) -> list[str]:
        out = [terms.stem(p) for w in terms.words(words) if w not in terms.FUNCTION_WORDS
               for p in w.split("-") if p]
        return out[:4] if first else out[-4:]
    before = re.split(r"[,;:(]", text[:found.start()])
    after = re.split(r"[,;:.(]", text[found.end():])[0]
    winner = stems(before[-1], first=False)
    if len(winner) < 2 or re.search(r"\d", before[-1]):
        # "..., clearly ahead of ...", "..., 114 Elo points ahead of ...": a quantity, not
        # a side; the sentence's subject wins
        winner = stems(before[0], first=True)
    loser = stems(after, first=True)
    unnamed = "win" if _pronoun_subject(before[-1]) else ""
    if unnamed:
        winner = []
    if found.re is _LOSES:
        winner, loser, unnamed = loser, winner, "lose" if unnamed else ""
    if not (winner or unnamed == "win") or not (loser or unnamed == "lose"):
        return None
    return frozenset(winner), frozenset(loser), unnamed


def _pronoun_subject(clause: str) -> bool:
    """Is the side before a ranking verb only a pronoun: "It beats", "It ended up on par
    with X but lost to" (not "It shows that models like Codex beat")?"""
    opening = terms.words(clause)[:1]
    last = re.split(r"\b(?:and|but|that|which|while|so|yet)\b", clause)[-1]
    named = [w for w in terms.words(last) if w not in terms.FUNCTION_WORDS and w not in _PRONOUNS]
    return bool(opening) and opening[0] in _PRONOUNS and not named


# "weigh losses more (heavily) than gains": the word before and the word after compare.
_MORE = re.compile(r"\b(?:(?P<cmp>more|greater|heavier|less|smaller|lighter)(?:\s+(?:heavily|"
                   r"strongly|often|weight|important|influential))?\s+than|(?:twice|(?:two|"
                   r"three|\d+) times|\d+(?:\.\d+)?x)\s+as\s+(?:heavily|much|strongly|"
                   r"often)\s+as)\b", re.I)
_LESS = frozenset({"less", "smaller", "lighter"})


@lru_cache(maxsize=4096)
def _compared(text: str) -> tuple[str, str, int] | None:
    """``(stem before, stem after, direction)`` of the first "X more than Y" ("X twice as
    heavily as Y") in ``text`` whose two sides are words, not numbers ("more than 5.5
    trillion tokens" compares nothing): the content words right before and right after
    it, in its clause."""
    found = _MORE.search(text)
    if not found:
        return None
    before = [w for w in terms.words(re.split(r"[,;:(]", text[:found.start()])[-1])
              if w not in terms.FUNCTION_WORDS]
    after_text = re.split(r"[,;:.()]", text[found.end():])[0]
    after = [w for w in terms.words(after_text) if w not in terms.FUNCTION_WORDS]
    if not before or not after or re.match(r"\s*[\d$]", after_text):
        return None
    sign = -1 if (found.group("cmp") or "").lower() in _LESS else 1
    return terms.stem(before[-1]), terms.stem(after[0]), sign


def reversed_comparative(point: str, unit: str) -> str:
    """The unit compares the point's two sides the other way round ("weigh gains more
    heavily than losses" for "weigh losses more than gains"), or turns "more" into
    "less" between the same two."""
    p, u = _compared(point), _compared(unit)
    if not p or not u or p[0] == p[1]:
        return ""
    if (u[0], u[1]) == (p[1], p[0]) and u[2] == p[2] or (u[0], u[1]) == (p[0], p[1]) \
            and u[2] != p[2]:
        return "reversed comparison"
    return ""


def reversed_ranking(point: str, unit: str) -> str:
    """The unit ranks the point's two named sides the other way round ("outcome
    supervision beats process supervision" for "the process reward model ..., ahead of
    an outcome-supervised reward model"; ``reversed_comparative``)."""
    if why := reversed_comparative(point, unit):
        return why
    p, u = _ranking(point), _ranking(unit)
    if not p or not u:
        return ""
    p_win, p_lose = p[0] - p[1], p[1] - p[0]
    u_win, u_lose = u[0] - u[1], u[1] - u[0]
    if u_win & p_lose and u_lose & p_win and not u_win & p_win:
        return "reversed ranking"
    # "It ... lost to Llama 2 13B" for "the base model scores above Llama 2 13B"
    if u[2] == "lose" and u_win & p_lose or u[2] == "win" and u_lose & p_win:
        return "reversed ranking"
    return ""


def first_reversal(point: str, units: Sequence[str], sims: Sequence[float],
                   floor: float, question: str = "") -> tuple[int, str] | None:
    """The first unit at least ``floor`` close to ``point`` that ranks its two sides the
    other way round (``reversed_ranking``, or ``subject_loses``), runs its change
    backwards or gives one thing's percentage to another, with the reason; None when none
    does."""
    asked = asked_stems(question)  # once per point, not per unit
    for i, unit in enumerate(units):
        if sims[i] >= floor and (why := reversed_ranking(point, unit)
                                 or subject_loses(point, unit, asked)
                                 or reversed_change(point, unit)
                                 or misattributed_number(point, unit)):
            return i, why
    return None


def asked_stems(question: str) -> frozenset[str]:
    """The question's content stems, single letters aside ("7B" leaves "b")."""
    return frozenset(s for s in terms.content_stems(question) if len(s) > 1)


def subject_loses(point: str, unit: str, asked: frozenset[str]) -> str:
    """The unit has the question's subject (``asked``: ``asked_stems``) lose
    to the side the point's winner beats ("Mistral 7B is a mixture of experts model that
    lost to Llama 2 13B" for "the base model scores above Llama 2 13B", asked about
    Mistral 7B)."""
    p, u = _ranking(point), _ranking(unit)
    if not p or not u or not asked:
        return ""
    p_lose, u_win, u_lose = p[1] - p[0], u[0] - u[1], u[1] - u[0]
    if u_lose & asked and u_win & p_lose and not (u_win | p_lose) & asked:
        return "reversed ranking"
    return ""


def _around(text: str, stem: str, width: int = 3) -> set[str]:
    """Content stems within ``width`` content words of ``stem`` in ``text``."""
    seq = [terms.stem(w) for w in terms.words(text) if w not in terms.FUNCTION_WORDS]
    out: set[str] = set()
    for i, s in enumerate(seq):
        if _inflected(stem, {s}):
            out.update(seq[max(0, i - width):i] + seq[i + 1:i + 1 + width])
    return {s for s in out if not _inflected(stem, {s})} - terms._GENERIC_STEMS


def _stated_of(stem: str, unit: str, stated: Sequence[str]) -> bool:
    """Does one of the ``stated`` texts (the sources) say ``stem`` of the same thing as
    ``unit`` does, undenied?"""
    near = _around(unit, stem)
    return any(_inflected(stem, terms.content_stems(s)) and stem not in terms.negated_stems(s)
               and sum(present(t, near) for t in _around(s, stem)) >= 2 for s in stated)


def _same_object(point: str, a: str, unit: str, b: str) -> bool:
    """Do antonyms ``a`` (in the point) and ``b`` (in the unit) describe the same thing?
    "freezes the pretrained weights" / "fine-tunes the pretrained weights" do;
    "fine-tune only low-rank matrices" / "freezes the pretrained weights" do not."""
    near_a, near_b = _around(point, a), _around(unit, b)
    return any(present(s, near_b) for s in near_a)


def _kindred(stem: str, stems: set[str]) -> bool:
    """``present``, for words at most three letters apart: "image" is no "ImageNet"."""
    return present(stem, {s for s in stems if abs(len(s) - len(stem)) <= 3})


def _inflected(stem: str, stems: set[str]) -> bool:
    """``stem`` or an inflection of it ("low" in "lowers" -> "lower", which the
    stemmer leaves longer than the adjective's irregular "low")."""
    return stem in stems or any(s.startswith(stem) and 0 < len(s) - len(stem) <= 2
                                for s in stems)


def known_numbers(texts) -> frozenset[float]:
    """Every number the texts state (the sources of a question)."""
    return frozenset(v for t in texts for values in terms.number_slots(t).values()
                     for v in values)


def denied_in(texts) -> frozenset[str]:
    """Stems the texts themselves deny ("no SFT or human annotations", acronyms spelled
    out too): an answer denying them agrees with the sources."""
    return frozenset(s for t in texts for form in (t, spell_out(t))
                     for s in terms.negated_stems(form, explicit=True))


def spell_out(text: str) -> str:
    """``text`` with every acronym the glossary knows written out ("no KV cache" -> "no
    key-value cache")."""
    spelled = glossary()
    return re.sub(r"[A-Za-z][A-Za-z0-9]*", lambda m: spelled.get(m.group(0), m.group(0)), text)


def _lessened(point: str, unit: str) -> set[str]:
    """Stems the point lessens ("minimize transfers between HBM and SRAM") that the unit
    denies as an action ("never written to HBM"), not as a thing ("no KV cache tricks"
    for "shrinks the key-value cache" denies it)."""
    return terms.negated_stems(point, negators=terms.LESSENING) - terms.negated_stems(
        unit, negators=frozenset({"no", "none"}))


_DENYING = frozenset({*terms.EXPLICIT_NEGATIONS, "without", "lacks", "lacking"})


def _antonym_swap(point: str, unit: str, p_stems: set[str], u_stems: set[str],
                  context: set[str], neg_u: set[str], stated: Sequence[str]) -> str | None:
    """``contradiction``'s antonym step: "opposite claim (b for a)" for an antonym of the
    point's word swapped in of the same thing, unless the unit negates it, the point
    denies its own word, or the point's paper ``stated`` it too; '' when the unit restates
    the point with an antonym ("does not update" for "freezes", "an implicit reward" for
    "without an explicit reward model"); None when no antonym is involved."""
    swaps = sorted((a, b) for a in p_stems - context for b in terms.antonyms(a) - context
                   if _inflected(b, u_stems) and not present(a, u_stems)
                   and not present(b, p_stems)
                   and _same_object(point, a, unit, b))
    denying = terms.negated_stems(point, negators=_DENYING)  # "without an explicit ..."
    for a, b in swaps:
        if b not in neg_u and a not in denying and not _stated_of(b, unit, stated):
            return f"opposite claim ({b} for {a})"
    if swaps or any(terms.antonyms(x) & p_stems for x in neg_u):
        return ""
    return None


def contradiction(point: str, unit: str, question: str = "",
                  known: frozenset[float] = frozenset(),
                  denied_by_sources: frozenset[str] = frozenset(), wording: bool = True,
                  stated: Sequence[str] = ()) -> str:
    """Why ``unit`` states the opposite of ``point`` ('' when it does not): a different
    number; an antonym swapped in ("quadratic" for "linear") unless the unit negates it
    ("does not update" for "freezes"); a shared word negated in one but not the other;
    or two or more words the point rules out ("instead of self-supervised pretraining")
    asserted by the unit.  ``known``: numbers the sources state (never a wrong number);
    ``denied_by_sources``: stems the sources deny (denying them is no contradiction);
    ``stated``: the sources' texts (an antonym they say of the same thing is no swap:
    "trailed the average human rater" before chain-of-thought, "beats" it with it).
    Without ``wording`` only numbers and quantities count: a point that states the
    problem a method solves, or the state of the art a paper starts from ("RLHF is
    complex: it requires a separate reward model"), is the opposite of what an answer
    says of the method ("DPO needs no separate reward model")."""
    if why := number_conflict(point, unit, known):
        return why
    if why := _reversed_comparison(point, unit) or reversed_ranking(point, unit):
        return why
    if why := _quantifier_conflict(point, unit):
        return why
    if not wording:
        return ""
    p_stems, u_stems = terms.content_stems(point), terms.content_stems(unit)
    context = terms.content_stems(question)
    neg_p, neg_u = terms.negated_stems(point), terms.negated_stems(unit)
    swapped = _antonym_swap(point, unit, p_stems, u_stems, context, neg_u, stated)
    if swapped is not None:
        return swapped
    shared = {s for s in u_stems if s in p_stems or _derived(s, p_stems)} \
        - terms._GENERIC_STEMS - context
    denied = shared & terms.negated_stems(unit, explicit=True) - neg_p - _negated_clause_stems(
        point) - denied_by_sources - _lessened(point, unit)
    denied = {s for s in denied if not (s in _asserted_stems(unit)
                                        and _same_object(point, s, unit, s))
              and not _qualified_only(unit, s, p_stems)}
    if denied:  # "LoRA does not freeze the weights" for "LoRA freezes the weights"
        return f"negated claim ({', '.join(sorted(denied))})"
    excluded = {s for s in ruled_out(point) - context - neg_u - _negated_clause_stems(unit)
                if _kindred(s, u_stems) and not present(s, p_stems - ruled_out(point))}
    if len(excluded) >= 2:  # "self-supervised pretraining" where the source says "instead of"
        return f"states what the source rules out ({', '.join(sorted(excluded))})"
    return ""


def opposite(point: str, facet: str, unit: str, question: str, enough: bool,
             known: frozenset[float], denied: frozenset[str], stated: Sequence[str]) -> str:
    """Why ``unit`` states the opposite of a key point ('' when it does not): every check
    of ``contradiction`` when the unit carries ``enough`` of the point's terms (wording
    too, unless the point is a problem or background facet), else only a number given
    for the same thing."""
    if not enough:
        return number_conflict(point, unit, known)
    return contradiction(point, unit, question, known, denied,
                         wording=facet not in ("problem", "background"), stated=stated)


def plainly_wrong(why: str, unit: str) -> bool:
    """Does a sentence contradict a point so plainly that none of its clauses states it:
    a wrong number, or a negation right before a word of the point ("R1-Zero never
    developed reflection" for "R1-Zero develops chain-of-thought reasoning"), not a
    word further on ("which don't capture whether a program works")?"""
    if why.startswith("different number"):
        return True
    denied = re.match(r"negated claim \((.*)\)$", why)
    return bool(denied) and bool(set(denied.group(1).split(", ")) & terms.first_negated(unit))
