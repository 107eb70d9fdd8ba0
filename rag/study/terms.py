"""Word-level helpers shared by grading and exact cards: content-word stems, numbers
(with "15%" = "15 percent" = "fifteen percent"), antonym pairs and negation.

All pure functions of strings; the stemmer is PyStemmer's English Snowball.
"""

from __future__ import annotations

import re
from functools import lru_cache
from itertools import takewhile

import Stemmer

FUNCTION_WORDS = frozenset("""
a an the and or but nor so yet if then than that this these those there here it its it's
is are was were be been being am do does did doing have has had having will would shall
should can could may might must of in on at by for with from to into onto over under
about above below between through during before after up down out off as per via
i me my we us our you your he him his she her they them their what which who whom whose
when where why how not no never none n't also just very too more most less least much
many some any each every all both either neither such only own same other another
because while although though whether until unless since like even still again once
one
""".split())
NEGATIONS = frozenset({"not", "no", "never", "without", "cannot", "can't", "don't",
                       "doesn't", "didn't", "isn't", "aren't", "wasn't", "weren't", "won't",
                       "neither", "nor", "none", "n't", "nothing", "lacks", "lack", "lacking",
                       # verbs that deny what follows ("drops the critic" = "no critic")
                       "drop", "drops", "dropped", "dropping", "remove", "removes", "removed",
                       "removing", "eliminate", "eliminates", "eliminated", "avoid", "avoids",
                       "avoiding", "skip", "skips", "skipping", "instead", "free", "rather",
                       "replace", "replaces", "replacing", "bypass", "bypasses", "omit",
                       "omits", "discard", "discards",
                       # "unable to tell apart", "little ... data existed": nearly none
                       "unable", "fails", "failed", "hardly", "barely", "little",
                       # "gets rid of the reward model", "dispenses with", "ditches" ...
                       "rid", "dispense", "dispenses", "forgo", "forgoes", "ditch",
                       "ditches", "abandon", "abandons", "sidestep", "sidesteps"})
# Words that carry no distinguishing content in an answer about ML papers.
GENERIC = frozenset("""
model models paper papers approach method methods use used uses using result results
show shows shown work works way ways make makes made new also thing things idea ideas
key main important example well better good problem problems propose proposed proposes
introduce introduces introduced author authors like based general allow allows let
lets need needs get gets give gives large language llm llms ai
question questions answer answers basically actually really simply think know thing
stuff say said sure yes okay ok fine versus vs go goes going went relate relates
related relating solve solves solved solving build builds built building
discuss discusses discussed discussing explain explains explained describe describes
described overview matter matters mattered address addresses addressed mean means
meant namely title titled call called design designed aim aims
""".split())
# Pairs whose swap inverts a claim ("linear" for "quadratic" ...), as stems.
ANTONYM_WORDS = [
    ("linear", "quadratic"), ("bidirectional", "unidirectional"),
    ("bidirectional", "left-to-right"), ("frozen", "trained"), ("frozen", "updated"),
    ("frozen", "fine-tuned"), ("freezes", "updates"), ("increases", "decreases"),
    ("increase", "reduce"), ("higher", "lower"), ("more", "fewer"), ("faster", "slower"),
    ("larger", "smaller"), ("dense", "sparse"), ("parallel", "sequential"),
    ("encoder", "decoder"), ("supervised", "unsupervised"), ("maximize", "minimize"),
    ("low-rank", "full-rank"), ("low-rank", "high-rank"), ("cheaper", "expensive"),
    ("stable", "unstable"), ("deterministic", "stochastic"), ("explicit", "implicit"),
    ("offline", "online"), ("absolute", "relative"), ("positive", "negative"),
    ("before", "after"), ("local", "global"), ("static", "dynamic"), ("improves", "hurts"),
    ("outperforms", "underperforms"), ("easier", "harder"), ("add", "remove"),
    ("paired", "unpaired"), ("longer", "shorter"),
    ("exact", "approximate"), ("recurrent", "non-recurrent"), ("single", "multiple"),
    ("on-chip", "off-chip"), ("better", "worse"), ("beats", "worse"),
    ("outperforms", "worse"), ("matches", "worse"), ("simpler", "complex"),
    ("simpler", "complicated"), ("cheap", "expensive"), ("efficient", "inefficient"),
    ("small", "large"), ("left", "right"), ("increase", "lower"), ("raise", "lower"),
    ("few", "many"), ("few", "large"), ("handful", "large"), ("weakly", "strongly"),
    ("smooth", "abrupt"), ("contiguous", "non-contiguous"), ("exact", "approximating"),
    ("first", "last"), ("decoder-only", "encoder-only"),
    ("poorly", "well"), ("struggled", "best"), ("struggle", "excel"), ("struggle", "better"),
    ("worst", "best"), ("weak", "strong"), ("weakness", "strength"),
    ("dense", "mixture-of-experts"), ("dense", "moe"),
    ("split", "merge"), ("splits", "merges"), ("segmentation", "merging"),
    ("keeps", "removes"), ("keep", "remove"), ("adds", "removes"),
    ("speedup", "slower"), ("speedup", "slowdown"), ("speeds", "slows"),
    ("dependent", "independent"), ("depend", "independent"), ("depend", "time-invariant"),
    ("input-dependent", "input-independent"), ("input-dependent", "time-invariant"),
    ("time-varying", "time-invariant"),
    ("trails", "beats"), ("trails", "outperforms"), ("lags", "beats"), ("lags", "outperforms"),
    ("underperforms", "beats"), ("loses", "beats"),
]
_IRREGULAR = {"frozen": "freez", "froze": "freez", "matrices": "matrix", "indices": "index",
              "vertices": "vertex", "larger": "larg", "smaller": "small", "fewer": "few",
              "lower": "low", "higher": "high", "faster": "fast", "slower": "slow",
              "longer": "long", "shorter": "short", "better": "good", "worse": "bad"}
_STEMMER = Stemmer.Stemmer("english")
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[-'][A-Za-z0-9]+)*")


def words(text: str) -> list[str]:
    """Lower-cased word tokens (hyphenated words kept whole)."""
    return [w.lower() for w in _WORD.findall(text)]


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    word = word.lower()
    if word in _IRREGULAR:
        return _IRREGULAR[word]
    return "-".join(_STEMMER.stemWord(part) for part in word.split("-"))


def content_stems(text: str) -> set[str]:
    """Stems of the words that carry content (no function words), numbers included."""
    out = set()
    for w in words(text):
        if w in FUNCTION_WORDS or len(w) <= 1:
            continue
        out.add(stem(w))
        if "-" in w:  # "prospect-theoretic" also matches "prospect theory"
            out.update(stem(p) for p in w.split("-") if len(p) > 2 and p not in FUNCTION_WORDS)
    out.update(numbers(text))
    return out


def distinguishing(text: str, context: str) -> set[str]:
    """Content stems of ``text`` that are neither in ``context`` (the question) nor
    generic: the words an answer must use to show it knows this point."""
    ctx = content_stems(context)
    return {s for s in content_stems(text) if s not in ctx and s not in _GENERIC_STEMS}


_GENERIC_STEMS = frozenset(stem(w) for w in GENERIC)
_ANTONYMS: dict[str, set[str]] = {}
for _a, _b in ANTONYM_WORDS:
    _ANTONYMS.setdefault(stem(_a), set()).add(stem(_b))
    _ANTONYMS.setdefault(stem(_b), set()).add(stem(_a))


def antonyms(stem_: str) -> set[str]:
    return _ANTONYMS.get(stem_, set())


def negated(text: str) -> bool:
    tokens = set(words(text.replace("n't", " n't")))
    return bool(tokens & NEGATIONS)


_CONTRASTING = frozenset({"rather", "instead"})  # their scope counts content words
EXPLICIT_NEGATIONS = frozenset({"not", "no", "never", "cannot", "none", "neither", "nor"})
# verbs that lessen what follows: "minimize transfers to HBM" agrees with "never written
# to HBM" (verbs only: "less compute" is not "no compute")
LESSENING = frozenset({"minimize", "minimizes", "minimise", "minimises", "minimizing",
                       "reduce", "reduces", "reducing", "cut", "cuts", "cutting", "limit",
                       "limits", "limiting", "shrink", "shrinks", "shrinking"})


# words that open an embedded clause, which a negation before them does not reach
_EMBEDDING = frozenset({"which", "what", "whether", "how", "who", "whom", "where", "why"})


def negated_stems(text: str, scope: int = 4, explicit: bool = False,
                  negators: frozenset[str] | None = None) -> set[str]:
    """Stems of the words a negation governs: up to ``scope`` words after "not", "no",
    "without", "drops" ... (only "not"/"no"/"never"... when ``explicit``; the words of
    ``negators`` when given, e.g. ``LESSENING``), within the same clause; and, unless
    ``explicit``, the first part of "X-free" ("reference-free": reference)."""
    out: set[str] = set()
    negators = negators or (EXPLICIT_NEGATIONS if explicit else NEGATIONS)
    for clause in re.split(r"[,;:.!?()]", text.replace("n't", " not")):
        tokens = words(clause)
        for i, token in enumerate(tokens):
            if not explicit and token.endswith("-free") and len(token) > 7:  # reference-free
                out.add(stem(token[:-5]))
            if token in negators and not (token == "little" and tokens[i - 1:i] == ["a"]):
                # "rather than relying on a handful of ...": words, not "than", "on", "a"
                window = tokens[i + 1:] if token in _CONTRASTING else tokens[i + 1:i + 1 + scope]
                # "no supervision about which document to retrieve": not the document
                window = list(takewhile(lambda t: t not in _EMBEDDING, window))
                governed = [t for t in window if t not in FUNCTION_WORDS]
                out.update(stem(t) for t in governed[:scope])
    return out


def first_negated(text: str) -> set[str]:
    """The stem of the first content word after each explicit negation ("never developed
    reflection": develop; "don't capture whether a program works": captur, not program)."""
    out: set[str] = set()
    for clause in re.split(r"[,;:.!?()]", text.replace("n't", " not")):
        tokens = words(clause)
        for i, token in enumerate(tokens):
            if token in EXPLICIT_NEGATIONS:
                out.update(next(([stem(t)] for t in tokens[i + 1:i + 3]
                                 if t not in FUNCTION_WORDS), []))
    return out


# --- numbers ----------------------------------------------------------------------

_UNITS = {"zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
          "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
          "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17,
          "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40,
          "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90}
_SCALES = {"hundred": 100, "thousand": 1_000, "million": 1_000_000, "billion": 1_000_000_000,
           "trillion": 1_000_000_000_000, "k": 1_000, "m": 1_000_000, "b": 1_000_000_000,
           "t": 1_000_000_000_000}
_NUMBER_WORDS = re.compile(
    r"\b(?:(?:" + "|".join(sorted(_UNITS, key=len, reverse=True)) + r"|hundred|thousand|"
    r"million|billion|trillion|and|a half|-)\s*)+", re.I)
_NUMERAL = re.compile(r"(?<![\w.])(\d+(?:[.,]\d+)*)\s*(%|percent\b|[kmbt]\b|thousand\b|"
                      r"million\b|billion\b|trillion\b|x\b|×)?", re.I)


def words_to_number(text: str) -> float | None:
    """"fifteen" -> 15, "three and a half" -> 3.5, "twenty-one" -> 21; None otherwise."""
    total, current, found = 0.0, 0.0, False
    for token in re.findall(r"[a-z]+", text.lower().replace("a half", "half")):
        if token in _UNITS:
            current += _UNITS[token]
            found = True
        elif token == "half":
            current += 0.5
            found = True
        elif token in ("hundred",):
            current = (current or 1) * 100
        elif token in _SCALES and len(token) > 1:
            total += (current or 1) * _SCALES[token]
            current = 0
        elif token != "and":
            return None
    return total + current if found else None


def number_slots(text: str) -> dict[str, set[float]]:
    """Numbers by what they count: the stem of the word after each ("175 billion
    parameters" -> {"paramet": {1.75e11}}); percentages under "%"."""
    slots: dict[str, set[float]] = {}
    spelled = _NUMBER_WORDS.sub(lambda m: _spell(m.group(0)), text)
    for m in _NUMERAL.finditer(spelled):
        try:
            number = float(m.group(1).replace(",", ""))
        except ValueError:
            continue
        unit = (m.group(2) or "").lower()
        if unit in ("%", "percent"):
            slots.setdefault("%", set()).add(number)
            if verb := _word_before(spelled, m.start()):  # "masks 50%" vs "mask 15%"
                slots.setdefault("%^" + verb, set()).add(number)
            continue
        number *= _SCALES.get(unit, 1)
        clause = words(_BREAK.split(spelled[m.end():m.end() + 40])[0])
        after = [w for w in clause if w not in FUNCTION_WORDS and len(w) > 1]  # not "to 32B"'s B
        if after:
            slots.setdefault(stem(after[0]), set()).add(number)
        if head := _head_noun(clause):  # "400 million image-text pairs": pairs, too
            slots.setdefault("=" + stem(head), set()).add(number)
        if before := _word_before(spelled, m.start()):
            slots.setdefault("^" + before, set()).add(number)  # "FID of 7.27"
    return slots


def _word_before(text: str, start: int) -> str:
    """The stem of the content word right before a number, linking words skipped ("FID
    of 7.27": fid; "masks only 15%": mask); '' when none."""
    before = words(_BREAK.split(text[max(0, start - 30):start])[-1])[-3:]
    while before and before[-1] in _LINKING:
        before.pop()
    if before and before[-1] not in FUNCTION_WORDS and len(before[-1]) > 1:
        return stem(before[-1])
    return ""


def _head_noun(run: list[str]) -> str:
    """The last word of the two to four content words that open ``run`` ("image-text
    pairs from ...": pairs), '' when a function word comes first or second."""
    phrase = []
    for w in run[:4]:
        if w in FUNCTION_WORDS or not w.isalpha() and "-" not in w:
            break
        phrase.append(w)
    return phrase[-1] if len(phrase) >= 2 else ""


# What a number counts does not reach across a clause break ("300 billion tokens of
# training, 45 terabytes": 45 is not a count of training).
_BREAK = re.compile(r"[,;:()]|[.!?](?:\s|$)")
_LINKING = frozenset("of is was were about around roughly approximately nearly almost "
                     "just only a an the at to reaches reached scored scores".split())


def known_values(text: str) -> set[float]:
    """Every number ``text`` states, scaled ("1.3B" and "1.3 billion" alike)."""
    return {v for values in number_slots(text).values() for v in values}


def same_number(a: float, b: float) -> bool:
    """Equal up to rounding ("about 99%" for 99.3%)."""
    return abs(a - b) <= 0.02 * max(abs(a), abs(b)) or round(a) == round(b)


def _fmt(value: float) -> str:
    """"2000000000000" for two trillion (never "2e+12", which reads as 2 and 12)."""
    return str(int(value)) if value == int(value) else f"{value:g}"


def numbers(text: str) -> set[str]:
    """Numbers in ``text`` normalised: "15%" / "15 percent" / "fifteen percent" -> "15%",
    "175B" / "175 billion" -> "175000000000", "0.5" -> "0.5"; years and all."""
    out: set[str] = set()
    spelled = _NUMBER_WORDS.sub(lambda m: _spell(m.group(0)), text)
    for value, unit in _NUMERAL.findall(spelled):
        try:
            number = float(value.replace(",", ""))
        except ValueError:
            continue
        unit = (unit or "").lower()
        if unit in ("%", "percent"):
            out.add(_fmt(number) + "%")
        elif unit in _SCALES:
            out.add(_fmt(number * _SCALES[unit]))
        else:
            out.add(_fmt(number))
    return out


def _spell(phrase: str) -> str:
    stripped = phrase.strip(" -")
    if stripped.lower() in ("and", "a half", "", "one"):  # "one of the best" is no number
        return phrase
    value = words_to_number(stripped)
    return phrase if value is None else f" {_fmt(value)} "


_ARTICLES = frozenset({"the", "a", "an"})
# Words an article cannot precede, and words no sentence ends with.
_NOT_AFTER_ARTICLE = frozenset("""the a an of which and or to in on for with by from is are
was were as at into than its their""".split())
_NOT_LAST = frozenset("the a an of which and or its their than whose into nor".split())


def misplaced_function_words(unit: str) -> bool:
    """Function words sprinkled into a keyword list, where English never puts them: an
    article before a preposition, conjunction or verb ("sparse the of parameters"), or
    a sentence that ends on one ("... Kahneman preference data unpaired of.").  A
    capital "A" is a variable ("matrices B and A with rank r"), not an article."""
    tokens = _WORD_CASED.findall(unit)
    low = [t.lower() for t in tokens]
    for i, t in enumerate(low[:-1]):
        if t in _ARTICLES and tokens[i] != "A" and low[i + 1] in _NOT_AFTER_ARTICLE:
            return True
    return bool(low) and low[-1] in _NOT_LAST and tokens[-1] != "A"


_WORD_CASED = re.compile(r"[A-Za-z0-9]+(?:[-'][A-Za-z0-9]+)*")
