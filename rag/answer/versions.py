"""Versions and variants of a name: which version a question asks about ("Llama 3",
"DALL-E 2"), and whether a sentence is about another version ("Llama 2 ..."), a later
variant ("Mamba-2" for Mamba), another name containing it ("AdaLoRA" for LoRA) or only
the base of a suffixed name ("DeepSeek-R1" for R1-Zero).  Pure functions of strings."""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from functools import lru_cache


@lru_cache(maxsize=8192)
def regex(pattern: str, flags: int = 0) -> re.Pattern:
    """``re.compile``, cached beyond the 512 patterns of ``re``'s own cache: the answer
    step builds patterns from each question's names, and recompiling them cost about a
    millisecond a question once that cache overflowed."""
    return re.compile(pattern, flags)


def variant_only(text: str, name: str) -> bool:
    """Is ``text`` about a version or variant of ``name`` ("Mamba-2", "FlashAttention-2",
    "GPT-4" for "GPT")?  It names the variant first ("The resulting Mamba-2 layer is
    faster than Mamba's scan"), not the name itself ("Mamba trains in linear time,
    unlike Mamba-2")."""
    if not re.match(r"^[A-Za-z][\w]*$", name) or re.search(r"[-\s]\d+$", name):
        return False
    pattern = rf"(?<![\w-]){re.escape(name)}(-v?\d[\w.]*|\sv?\d[\w.]*\b)?"
    first = regex(pattern, re.I).search(text)
    return bool(first and first.group(1))


def base_only(text: str, name: str) -> bool:
    """Is ``text`` about the base of a suffixed model name rather than the name itself
    ("DeepSeek-R1 adds a cold-start SFT set" for a question about R1-Zero)?  It names the
    base ("R1", which has a digit) without the suffix, and never the full name."""
    found = re.fullmatch(r"([A-Za-z]*\d[\w.]*)-([A-Za-z]{2,})", name)
    if not found or re.search(rf"(?<![\w]){re.escape(name)}(?![\w])", text, re.I):
        return False
    base, suffix = map(re.escape, found.groups())
    return bool(re.search(rf"(?<![\w]){base}(?!-?{suffix})(?![\w])", text, re.I))


_VERSIONED = re.compile(r"(?<![\w-])(?!(?:the|a|an|of|in|on|to|and|or|for|with|by|at|"
                        r"from|top|than|about|over|under|only|all|its|their)\b)"
                        r"([A-Za-z][A-Za-z0-9]*[A-Za-z](?:-[A-Za-z]+)*)[-\s]?"
                        r"(?!(?:19|20)\d\d\b)(v?\d+(?:\.\d+)?[a-z]?)(?![\w.-]|,\d)"
                        r"(?!\s*[x×*]\s*\d)")  # not a year, a size ("8 x 7B"), "the 1,000"


def question_version(question: str) -> tuple[str, str]:
    """The versioned name a question asks about ("What is Llama-3?" -> ("Llama", "3"),
    "GPT-4o" -> ("GPT", "4o"), "DALL-E 2" -> ("DALL-E", "2")), or ("", "")."""
    found = _VERSIONED.search(question)
    return (found.group(1), found.group(2).lower()) if found else ("", "")


def loose(name: str) -> str:
    """A regex for ``name`` however its parts are joined ("FlashAttention" ~ "Flash
    Attention" ~ "Flash-Attention")."""
    parts = re.findall(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+|[^\sA-Za-z\d-]+", name)
    return r"[\s-]?".join(re.escape(p) for p in parts) if parts else re.escape(name)


def named_apart(text: str, name: str, others: Sequence[str]) -> bool:
    """Does ``text`` name ``name`` outside the longer compared names that contain it ("In
    2025 labs use MMLU Pro, ..." names MMLU-Pro, not MMLU)?  True when none contains it."""
    word = rf"(?<![\w-]){loose(name)}(?![\w])"
    longer = [o for o in others if len(o) > len(name) and regex(word, re.I).search(o)]
    for other in longer:
        text = regex(rf"(?<![\w-]){loose(other)}(?![\w])", re.I).sub(" ", text)
    return not longer or regex(word, re.I).search(text) is not None


def writes_version(text: str, item: str) -> bool:
    """Does ``text`` write the version ``item`` names ("GPT-3" in "175 billion GPT-3"),
    or is ``item`` unversioned?"""
    base, version = question_version(item)
    return not base or regex(rf"(?<![\w-]){re.escape(base)}[-\s]?{re.escape(version)}(?![\w]|\.\d)",
                             re.I).search(text) is not None


def other_version(text: str, subject: str, base: str, version: str) -> bool:
    """Is a sentence about another version of ``base`` than the one asked ("Llama 2 is
    Meta's successor ..." or the FlashAttention card for "FlashAttention-2")?  Its first
    mention of ``base``, else its passage's subject, decides; neither naming it, no."""
    pattern = rf"(?<![\w-]){loose(base)}(?:[-\s]?(v?\d+(?:\.\d+)?[a-z]?))?(?!\w)"
    for where in (text, subject):
        found = re.search(pattern, where, re.I)
        if found:
            seen = (found.group(1) or "").lower()
            return not (seen == version or seen.startswith(version + ".")
                        or version.startswith(seen + ".") and seen)
    return False


def other_name(subject_words: frozenset[str], name: str) -> bool:
    """Is the sentence's subject another thing whose name contains ``name`` ("AdaLoRA",
    "QLoRA" or "FlashAttention-2" for a question about LoRA or FlashAttention), or the
    beginning of it ("OLMo" for a question about OLMoE)?"""
    low = name.lower()
    return low not in subject_words and any(low in w or _letters_on(w, low)
                                            for w in subject_words)


def _letters_on(base: str, name: str) -> bool:
    """Is ``name`` ``base`` with a letter or two more ("olmoe" of "olmo": another model)?"""
    return len(base) >= 4 and name.startswith(base) and 0 < len(name) - len(base) <= 2 \
        and name[len(base):].isalpha()


def another_version(text: str, subject: str, name: str, version: tuple[str, str]) -> bool:
    """Is a sentence (its ``text``, its passage's ``subject``) about another version of
    ``name`` than the one asked: another number of a versioned name ("Llama 2" for
    ``version`` ("Llama", "3")), else a later variant of an unversioned one ("BLIP-2 ..."
    for BLIP)?"""
    if version[0]:
        return other_version(text, subject, *version)
    return bool(name) and (variant_only(text, name) or variant_only(subject, name))


def other_version_only(text: str, where: str, item: str, items: Sequence[str]) -> bool:
    """When ``items`` compare a name with its version ("BLIP vs BLIP-2"), is a sentence
    (its ``text``, its passage's ``where``) about the other one only, so no direct contrast
    of the two?  For the version: neither writes it ("BLIP, from Salesforce ...", the
    guide's "When Flash Attention does not help?"); for the base name: it is written only
    inside the version ("BLIP-2 set ...", "FlashAttention-2 cuts ..."; not "FlashAttention
    made ..., FlashAttention-2 narrows ...")."""
    version = question_version(item)
    if version[0]:
        if not any(j.lower() == version[0].lower() for j in items):
            return False
        return not re.search(rf"{re.escape(version[0])}[-\s]?{re.escape(version[1])}\b",
                             f"{text} {where}", re.I)
    if not any(question_version(j)[0].lower() == item.lower() for j in items):
        return False
    return not re.search(rf"(?<![\w-]){re.escape(item)}(?![\w-]|\s?v?\d)", text, re.I) \
        and another_version(text, where, item, version)


# Capitalised words that do not make another name of the one after them
_NOT_A_NAME = frozenset("the a an this that these those our its their each every both with on "
                        "in of for to and or by from use using standard vanilla original plain "
                        "modern traditional classic classical typical regular full".split())


def prefixed_only(text: str, name: str, asked: Collection[str]) -> bool:
    """Does ``text`` write the single-word ``name`` only as the end of a longer capitalised
    name that the question does not write ("Switch Transformer", "Flash Attention" or
    "Stable Diffusion" for a question about the transformer, attention or diffusion)?
    ``asked``: the question's stems."""
    if not name or not re.fullmatch(r"[A-Za-z][\w-]*", name):
        return False
    found = list(regex(rf"(?<![\w-]){re.escape(name)}s?(?![\w-])", re.I).finditer(text))
    return bool(found) and all(_prefixed(text, m, asked) for m in found)


def _prefixed(text: str, mention: re.Match, asked: Collection[str]) -> bool:
    before = re.search(r"(?:^|(?<=[^\w'.]))([A-Z][\w-]*) $", text[:mention.start()])
    if not mention.group(0)[0].isupper() or not before:
        return False
    word = before.group(1).lower()
    return word not in _NOT_A_NAME and not any(
        word.startswith(a[:5]) or a.startswith(word[:5]) for a in asked)


def writes_joined(text: str, name: str) -> bool:
    """Does ``text`` write the hyphenated ``name`` as one unit, with a hyphen, a space or
    nothing between its parts ("multi-query", "Multi Query", "multiquery"), not its
    parts apart ("Multi-Round ... requests")?"""
    parts = [re.escape(p) for p in name.split("-") if p]
    return bool(regex(r"(?<![\w])" + r"[\s-]?".join(parts), re.I).search(text))


def interposed(text: str, first: str, last: str) -> bool:
    """Does ``text`` name another thing by putting capitalised words between the two words
    of the question's name ("Multi-head Latent Attention" for "multi-head attention"),
    without also using the name itself?"""
    if not first or not last:
        return False
    a, b = re.escape(first), re.escape(last)
    return bool(regex(rf"(?i:\b{a})\s+(?:[A-Z][\w-]*\s+){{1,2}}(?i:{b}\b)").search(text)) \
        and not regex(rf"\b{a}\s+{b}\b", re.I).search(text)
