"""Follow-up questions: rewrite an elliptical question with the conversation.

Without an LLM, a follow-up such as "and what are its limitations?" carries the
key terms of the previous standalone question ("LoRA fine-tuning cost"), so
retrieval finds the right material.  Pure functions only.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9_\-./+]*")
_STOP = frozenset("""
a about above after again against all also am an and any are as at be because been before
being below between both but by can could did do does doing down during each few for from
further had has have having he her here hers herself him himself his how i if in into is it
its itself just me more most my myself no nor not now of off on once only or other our ours
out over own same she should so some such than that the their theirs them themselves then
there these they this those through to too under until up very was we were what when where
which while who whom why will with would you your yours yourself explain describe tell
compare difference between versus vs give example examples mean means work works used use
using would could main key idea ideas approach something else still really please briefly
detail details doesn't isn't aren't don't
""".split())
_ANAPHORA = frozenset("""it its it's they them their theirs this that these those he she
his her such the former latter one ones same above previous""".split())
# Words that point back at an earlier topic on their own.
_ANAPHORA_STRONG = frozenset("it its it's they them their theirs this that these those".split())
_CONTINUERS = frozenset("and but also so then".split())
# Words that point back at something said before, without a pronoun.
_POINTING = frozenset("one ones former latter same above previous second".split())


def content_terms(text: str) -> list[str]:
    """Words that carry the topic: not stopwords, not anaphora, kept in order, unique."""
    seen: dict[str, None] = {}
    for word in _WORD.findall(text):
        w = word.strip(".-/")
        if w and w.lower() not in _STOP and w.lower() not in _ANAPHORA and len(w) > 1:
            seen.setdefault(w, None)
    return list(seen)


def is_elliptical(question: str, names_subject: Callable[[str], bool] | None = None,
                  inner: bool = True) -> bool:
    """Does the question lean on the conversation ("its", "and what about ...")?

    A pronoun, a leading "and/but/so" or "what about" make it a follow-up; so does a
    very short question ("limitations?", "is the second one useful?") that names no
    subject of its own.  ``names_subject`` says whether a text names a known paper,
    method or acronym; a question that does, with no pronoun, stands on its own
    ("Explain the attention mechanism", "What are the limitations of RLHF?"); with
    ``inner``, so does one that names it before its first pronoun ("GAIA: what is it?")."""
    words = [w.lower() for w in _WORD.findall(question)]
    if not words:
        return False
    if words[0] in _CONTINUERS:
        return True
    pronoun = next((m for m in _WORD.finditer(question)
                    if m.group(0).lower() in _ANAPHORA_STRONG), None)
    if pronoun is not None:  # unless it points back inside the question ("GAIA: what is
        # it?", "What is the KV cache and why does it matter?")
        return not (inner and names_subject is not None
                    and names_subject(question[:pronoun.start()]))
    if re.match(r"^(?:what|how) about\b", question.strip(), re.I):
        return True
    if names_subject is not None and names_subject(question):
        return False
    terms = content_terms(question)
    if any(w in _POINTING for w in words):  # "the second one", "the former"
        return True
    return len(terms) <= 1 and not any(_name_like(t) for t in terms)


def _name_like(term: str) -> bool:
    """"LoRA", "GPT-3", "RLHF": a capital or a digit after the first letter."""
    return any(ch.isupper() or ch.isdigit() for ch in term[1:]) or term.isupper()


def rewrite_followup(question: str, history: Sequence[str],
                     names_subject: Callable[[str], bool] | None = None) -> str:
    """A standalone search query for ``question`` given earlier user questions.

    ``history`` holds earlier standalone questions, oldest first.  A question
    that stands on its own is returned unchanged.
    """
    if history:  # "the last of those" -> "LLaVA"
        question = resolve_ordinal(question, history[-1])
    if not history or not is_elliptical(question, names_subject):
        return question
    previous = content_terms(_subject_first(history[-1]))
    if not previous:
        return question
    return f"{question.rstrip()} ({' '.join(previous)})"


_TAIL = re.compile(r"(?:\s+\([^()]*\))+\s*$")  # appended with a space: not "sqrt(d_k)"


def _subject_first(standalone: str) -> str:
    """A standalone question with what it carried first when it was itself a follow-up
    ("why is it more stable than PPO? (DPO ...)": DPO, then "stable PPO"), so a pronoun
    of the next question points at the conversation's subject, not at what the last one
    compared it with."""
    tail = _TAIL.search(standalone)
    own = standalone[:tail.start()] if tail else standalone
    if not tail or not any(w.lower() in _ANAPHORA_STRONG for w in _WORD.findall(own)):
        return standalone
    return f"{tail.group(0).strip()} {own}"


_ORDINALS = {"first": 0, "second": 1, "third": 2, "fourth": 3, "former": 0, "last": -1,
             "latter": -1}
_ORDINAL = re.compile(r"\bthe\s+(first|second|third|fourth|last)\s+(?:one\b|of\s+(?:those|"
                      r"them|these|the\s+(?:two|three|four)(?:\s+\w+)?))|\bthe\s+(former|"
                      r"latter)\b(?!\s+(?:is|was)\b)", re.I)
_ITEM_NAME = re.compile(r"(?<![\w-])[\w.+-]*[A-Z][\w.+-]*")


def listed_names(question: str) -> list[str]:
    """The names a question lists, in order ("Compare how Flamingo, BLIP-2 and LLaVA
    connect ..." -> Flamingo, BLIP-2, LLaVA): words with a capital, not its first word."""
    found = [m.group(0) for m in _ITEM_NAME.finditer(question)
             if m.start() > 0 or not re.fullmatch(r"[A-Z][a-z]+", m.group(0))]
    return list(dict.fromkeys(name.rstrip(".-") for name in found))


def resolve_ordinal(question: str, previous: str) -> str:
    """``question`` with "the last of those" / "the second one" / "the latter" replaced
    by that item of the names the previous question listed (two or more); unchanged
    when there is no such reference or list."""
    names = listed_names(previous)
    if len(names) < 2:
        return question

    def name(match: re.Match[str]) -> str:
        position = _ORDINALS[(match.group(1) or match.group(2)).lower()]
        return names[position] if position < len(names) else match.group(0)
    return _ORDINAL.sub(name, question)
