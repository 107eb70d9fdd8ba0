"""Questions as people type them, made searchable (pure functions).

* ``normalize``: Unicode maths pasted from papers (√dₖ, QKᵀ, ×, →, ², Greek
  letters) becomes the ASCII the reading material uses (``sqrt(d_k)``,
  ``QK^T``, ``x``, ``->``, ``^2``, ``alpha``), after NFKC; casual openings
  ("whats the deal with", "eli5", "can u explain") become plain questions.
* ``correct_typos``: a word the corpus never uses, one or two edits away from a
  word it does use, is replaced by it ("trasnformer" -> "transformer"), with
  rapidfuzz's Damerau-Levenshtein distance.
* ``not_a_question``: why a text cannot be searched at all (only symbols, only a
  link), for a clear message instead of an abstention.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

_SUBSCRIPTS = str.maketrans("ₐₑₒₓₔₕₖₗₘₙₚₛₜᵢⱼᵣᵤᵥ₀₁₂₃₄₅₆₇₈₉",
                            "aeoxəhklmnpstijruv0123456789")
_SUPERSCRIPTS = str.maketrans("ᵀᵗⁿᶦⁱ⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁺", "TtniI0123456789-+")
_SUB_RUN = re.compile(r"(?<=\w)([ₐₑₒₓₔₕₖₗₘₙₚₛₜᵢⱼᵣᵤᵥ₀-₉]+)")
_SUP_RUN = re.compile(r"([ᵀᵗⁿᶦⁱ⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁺]+)")
SYMBOLS: dict[str, str] = {
    "×": " x ", "·": " * ", "⋅": " * ", "÷": " / ", "→": " -> ", "⟶": " -> ", "←": " <- ",
    "⇒": " => ", "↔": " <-> ", "≈": " ~ ", "≃": " ~ ", "≠": " != ", "≤": " <= ", "≥": " >= ",
    "≪": " << ", "≫": " >> ", "∝": " proportional to ", "∞": " infinity ", "∑": " sum ",
    "Σ": " sum ", "∏": " product ", "∫": " integral ", "∂": " partial ", "∇": " gradient ",
    "∈": " in ", "−": "-", "–": "-", "—": " - ", "‘": "'", "’": "'", "“": '"', "”": '"',
    "…": "...", "‖": "||", "⊙": " elementwise product ", "⊗": " tensor product ",
}
GREEK: dict[str, str] = {
    "α": "alpha", "β": "beta", "γ": "gamma", "δ": "delta", "ε": "epsilon", "ϵ": "epsilon",
    "ζ": "zeta", "η": "eta", "θ": "theta", "κ": "kappa", "λ": "lambda", "μ": "mu", "ν": "nu",
    "ξ": "xi", "π": "pi", "ρ": "rho", "σ": "sigma", "τ": "tau", "φ": "phi", "ϕ": "phi",
    "χ": "chi", "ψ": "psi", "ω": "omega", "Δ": "delta", "Θ": "theta", "Λ": "lambda",
    "Π": "pi", "Φ": "phi", "Ψ": "psi", "Ω": "omega", "Γ": "gamma",
}
_GREEK_HYPHEN = re.compile(r"\b(" + "|".join(sorted(set(GREEK.values()), key=len, reverse=True))
                           + r")\s+(?=-\w)")
_SQRT = re.compile(r"√\s*(\([^()]*\)|[\w^]+)")
# Casual openings -> the plain question they stand for (applied to the start only).
CASUAL: tuple[tuple[str, str], ...] = (
    (r"(?:so\s+)?what'?s\s+the\s+deal\s+with\b", "what is"),
    (r"what'?s\s+up\s+with\b", "what is"),
    (r"eli5:?\b", "explain simply"),
    (r"(?:can|could)\s+(?:you|u)\s+(?:please\s+|pls\s+)?(?:explain|describe)\b", "explain"),
    (r"(?:can|could)\s+(?:you|u)\s+(?:please\s+|pls\s+)?tell\s+me\s+about\b", "explain"),
    (r"tell\s+me\s+about\b", "explain"),
    (r"help\s+me\s+understand\b", "explain"),
    (r"i\s+don'?t\s+(?:get|understand)\b", "explain"),
    (r"quick\s+q(?:uestion)?\s*[-:,]?\s*", ""),
    (r"what\s+even\s+is\b", "what is"),
    (r"whats\b", "what is"),
    (r"so\s+(?=how|what|why|when)", ""),
    (r"(?:hey|hi|ok|okay)[,!]?\s+(?=\w)", ""),
)
_CASUAL = [(re.compile(r"^\s*" + p, re.I), r) for p, r in CASUAL]
# Chat shorthand anywhere in a question (lower case only: "DIFF" or "Wat" may be names).
SHORTHAND: dict[str, str] = {
    "wrk": "work", "wrks": "works", "abt": "about", "diff": "difference", "wat": "what",
    "wht": "what", "cuz": "because", "becuz": "because", "thru": "through", "w/o": "without",
    "b/w": "between", "btw": "", "lol": "", "ngl": "", "tbh": "", "imo": "", "idk": "",
    "w/": "with", "b/c": "because", "bc": "because", "vs.": "vs",
}
_SHORTHAND = re.compile(r"(?<![\w/])(" + "|".join(map(re.escape, SHORTHAND)) + r")(?![\w/])")
_TAIL = re.compile(r"\s+(?:in a nutshell|pls|plz|please|thx|thanks)\s*(?=[?.!]*$)", re.I)
_URL = re.compile(r"^(?:https?://|www\.)\S+$", re.I)
_WORD = re.compile(r"[A-Za-z]+")


def normalize(text: str) -> str:
    """NFKC plus the symbol tables; casual openings made plain; spaces collapsed."""
    text = _SQRT.sub(lambda m: "sqrt" + (m.group(1) if m.group(1).startswith("(")
                                         else f"({m.group(1)})"), text)
    text = _SUB_RUN.sub(lambda m: "_" + m.group(1).translate(_SUBSCRIPTS), text)
    text = _SUP_RUN.sub(lambda m: "^" + m.group(1).translate(_SUPERSCRIPTS), text)
    text = "".join(SYMBOLS.get(ch, f" {GREEK[ch]} " if ch in GREEK else ch) for ch in text)
    text = re.sub(r"\s+(?=[_^)])|(?<=[(])\s+", "", text)
    text = _GREEK_HYPHEN.sub(r"\1", text)  # "τ-bench" -> "tau-bench", not "tau -bench"
    text = unicodedata.normalize("NFKC", text).replace("√", "sqrt")
    for pattern, repl in _CASUAL:
        text = pattern.sub(repl + (" " if repl else ""), text, count=1)
    text = _SHORTHAND.sub(lambda m: SHORTHAND[m.group(1)], text)
    text = _TAIL.sub("", text)
    text = re.sub(r"([?!.])\1+", r"\1", text)
    return " ".join(text.split())


def not_a_question(text: str) -> str:
    """Why ``text`` cannot be searched ('' when it can): no words at all, or only a link."""
    stripped = text.strip()
    if _URL.match(stripped):
        return ("the question is only a link: ask about what the page covers, e.g. "
                "\"What does the LoRA paper propose?\"")
    if not any(ch.isalpha() for ch in stripped):
        return ("the question has no words, only symbols: type a question, e.g. "
                "\"Why divide attention scores by sqrt(d_k)?\"")
    return ""


class Vocabulary(dict):
    """Lower-case words of the reading material and how often each occurs; ``hyphened``:
    how often it writes each two-part word with a hyphen ("finetuning" -> "fine-tuning")."""

    def __init__(self) -> None:
        super().__init__()
        self.hyphened: dict[str, tuple[str, int]] = {}

    def __hash__(self) -> int:  # one per loaded index: identity is enough for caching
        return id(self)


_HYPHENED = re.compile(r"\b([A-Za-z]{2,})-([A-Za-z]{3,})\b")


def vocabulary(texts: Iterable[str]) -> Vocabulary:
    """The words of ``texts`` (for typo correction)."""
    vocab = Vocabulary()
    for text in texts:
        for word in _WORD.findall(text):
            low = word.lower()
            vocab[low] = vocab.get(low, 0) + 1
        for a, b in _HYPHENED.findall(text):
            key = (a + b).lower()
            form, n = vocab.hyphened.get(key, (f"{a}-{b}".lower(), 0))
            vocab.hyphened[key] = (form, n + 1)
    return vocab


def material_spelling(word: str, vocab: Vocabulary) -> str:
    """A closed compound the material mostly writes with a hyphen, as the material writes
    it ("finetuning" -> "fine-tuning"); otherwise ``word``."""
    form, n = vocab.hyphened.get(word.lower(), ("", 0))
    return form if form and n > vocab.get(word.lower(), 0) else word


@lru_cache(maxsize=4096)
def _closest(word: str, vocab: Vocabulary) -> str:
    """The corpus word at the smallest distance (within the limit): one that keeps the
    first letter (typists rarely miss it: "prunning" is "pruning", not "running"), then
    the most frequent."""
    from rapidfuzz import process
    from rapidfuzz.distance import DamerauLevenshtein

    limit = 1 if len(word) <= 10 else 2
    found = process.extract(word, list(vocab), scorer=DamerauLevenshtein.distance,
                            score_cutoff=limit, limit=8)
    if not found:
        return word
    return min(found, key=lambda f: (f[1], f[0][:1] != word[:1], -vocab[f[0]], f[0]))[0]


def _inflection(a: str, b: str) -> bool:
    short, long_ = sorted((a, b), key=len)
    return long_.startswith(short[:-1]) and len(long_) - len(short) <= 3 and \
        long_[len(short) - 1:] in {"s", "es", "ed", "d", "ing", "ies", "y", "er", "e", "ion"} \
        or long_.startswith(short) and long_[len(short):] in {"s", "es", "ed", "d", "ing", "er"}


def dictionary_words(model_dir: Path | None) -> frozenset[str]:
    """English words the embedding model's WordPiece vocabulary holds whole ("shipping",
    "congestion"): real words, never typos, even when the reading material lacks them."""
    path = model_dir / "vocab.txt" if model_dir else None
    if path is None or not path.is_file():
        return frozenset()
    words = path.read_text(encoding="utf-8").split()
    return frozenset(w for w in words if len(w) >= 3 and w.isalpha() and w.islower())


def correct_typos(text: str, vocab: Vocabulary, min_len: int = 5,
                  dictionary: frozenset[str] = frozenset()) -> str:
    """``text`` with each unknown word of ``min_len``+ letters replaced by the closest
    corpus word within one edit (two for words over ten letters), case kept.  Words of
    the ``dictionary`` and names written with inner capitals ("MLOps") are kept."""
    if not vocab:
        return text

    def fix(match: re.Match[str]) -> str:
        word = match.group(0)
        low = word.lower()
        if any(ch.isupper() for ch in word[1:]):
            return word
        hyphened = material_spelling(low, vocab)
        if hyphened != low:
            return hyphened.capitalize() if word[0].isupper() else hyphened
        if low in vocab or low in dictionary or len(low) < min_len:
            return word
        best = _closest(low, vocab)
        if best == low or _inflection(low, best):  # "divide" / "divided" is no typo
            return word
        return best.upper() if word.isupper() else best.capitalize() \
            if word[0].isupper() else best

    return _WORD.sub(fix, text)


_CAMEL = re.compile(r"\b[A-Z][a-z]+(?:[A-Z][a-z]+)+\b")


def camel_pieces(text: str) -> str:
    """The words of CamelCase names, which the reading material may write apart
    ("FlashAttention" -> "Flash Attention", "PagedAttention" -> "Paged Attention")."""
    return " ".join(" ".join(re.findall(r"[A-Z][a-z]+", m.group(0)))
                    for m in _CAMEL.finditer(text))


_TOKEN = re.compile(r"(?u)\b\w\w+\b")


@lru_cache(maxsize=1)
def _stemmer_and_stopwords():
    import Stemmer

    from rag.search.index import bm25s_module

    STOPWORDS_EN = bm25s_module().stopwords.STOPWORDS_EN  # noqa: N806 - bm25s's name

    return Stemmer.Stemmer("english"), frozenset(STOPWORDS_EN)


@lru_cache(maxsize=8192)
def stem_tokens(text: str) -> tuple[str, ...]:
    """The BM25 tokens of ``text`` (what ``bm25s.tokenize`` with English stopwords and
    the Snowball stemmer gives), without its per-call overhead."""
    stemmer, stop = _stemmer_and_stopwords()
    words = [w for w in _TOKEN.findall(text.lower()) if w not in stop]
    return tuple(stemmer.stemWords(words))
