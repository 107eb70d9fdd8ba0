"""Follow-up questions: rewrite an elliptical question with the conversation.

Without an LLM, a follow-up such as "and what are its limitations?" carries the
key terms of the previous standalone question ("LoRA fine-tuning cost"), so
retrieval finds the right material.  Pure functions only.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

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


def content_terms(text: str) -> list[str]:
    """Words that carry the topic: not stopwords, not anaphora, kept in order, unique."""
    seen: dict[str, None] = {}
    for word in _WORD.findall(text):
        w = word.strip(".-/")
        if w and w.lower() not in _STOP and w.lower() not in _ANAPHORA and len(w) > 1:
            seen.setdefault(w, None)
    return list(seen)


def is_elliptical(question: str) -> bool:
    """Does the question lean on the conversation ("its", "and what about ...")?"""
    words = [w.lower() for w in _WORD.findall(question)]
    if not words:
        return False
    if any(w in _ANAPHORA_STRONG for w in words) or words[0] in _CONTINUERS:
        return True
    if re.match(r"^(?:what|how) about\b", question.strip(), re.I):
        return True
    return len(content_terms(question)) <= 2 and any(w in _ANAPHORA for w in words)


def rewrite_followup(question: str, history: Sequence[str]) -> str:
    """A standalone search query for ``question`` given earlier user questions.

    ``history`` holds earlier standalone questions, oldest first.  A question
    that stands on its own is returned unchanged.
    """
    if not history or not is_elliptical(question):
        return question
    previous = content_terms(history[-1])
    if not previous:
        return question
    return f"{question.rstrip()} ({' '.join(previous)})"
