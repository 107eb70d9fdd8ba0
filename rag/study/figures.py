"""Numbers an answer gets wrong against a key point: a different number for the same
thing, two numbers traded places, a change run backwards ("from 74% to 4%" for "from 4% to
74%"), or one thing's percentage given to another ("humans answered 15%" where GPT-4 scored
15%).  Pure functions of strings.
"""

from __future__ import annotations

import re

from rag.study import terms


def number_conflict(point: str, unit: str, known: frozenset[float] = frozenset()) -> str:
    """A different number for the same thing (the word after it), unless the unit also
    states the point's number ("47B parameters ... like a 13B model") or its number is
    one the sources state elsewhere (``known``: a right number about another thing)."""
    p_slots, u_slots = terms.number_slots(point), terms.number_slots(unit)
    if why := _swapped_numbers(p_slots, u_slots) or reversed_change(point, unit) \
            or misattributed_number(point, unit):
        return why
    said_anywhere = {v for values in u_slots.values() for v in values}
    for slot in p_slots.keys() & u_slots.keys():
        # a percentage of the same action is forgiven only by the same action's number
        # ("masks 50% in pre-training but 15% in fine-tuning" for "mask 15% of tokens")
        forgiving = u_slots[slot] if slot.startswith("%^") else said_anywhere
        if any(terms.same_number(a, b) for a in p_slots[slot] for b in forgiving):
            continue
        if all(any(terms.same_number(b, k) for k in known) for b in u_slots[slot]):
            continue
        if not any(terms.same_number(a, b) for a in p_slots[slot] for b in u_slots[slot]):
            pct = "%" if slot.startswith("%") else ""
            said = ", ".join(f"{v:g}{pct}" for v in sorted(u_slots[slot]))
            want = ", ".join(f"{v:g}{pct}" for v in sorted(p_slots[slot]))
            what = "" if pct else " " + slot.lstrip("=^")
            return f"different number ({said} for {want}{what})"
    return ""


# "from 4% to 74%", "4% -> 74%": a change from one number to another
_CHANGE = re.compile(r"\bfrom\s+(?:about\s+|around\s+|roughly\s+|only\s+)?(?P<a>\d[\d.,]*\s*%?)"
                     r"[^.;]{0,50}?\bto\s+(?:about\s+|around\s+|roughly\s+)?(?P<b>\d[\d.,]*\s*%?)"
                     r"|(?P<c>\d[\d.,]*\s*%?)\s*(?:->|→|to)\s*(?P<d>\d[\d.,]*\s*%?)", re.I)


def _changes(text: str) -> list[tuple[float, float]]:
    """The ``(from, to)`` numbers of each change ``text`` states."""
    out = []
    for m in _CHANGE.finditer(text):
        a, b = (m.group("a"), m.group("b")) if m.group("a") else (m.group("c"), m.group("d"))
        va, vb = terms.known_values(a), terms.known_values(b)
        if len(va) == 1 and len(vb) == 1:
            out.append((va.pop(), vb.pop()))
    return out


def reversed_change(point: str, unit: str) -> str:
    """The unit runs the point's change backwards ("went from 74% to 4%" for "Game of 24
    from 4% to 74%")."""
    for a, b in _changes(point):
        for x, y in _changes(unit):
            if not terms.same_number(a, b) and terms.same_number(x, b) \
                    and terms.same_number(y, a):
                return f"reversed change ({x:g} to {y:g} for {a:g} to {b:g})"
    return ""


_PERCENT = re.compile(r"%|percent", re.I)  # what terms.number_slots files under "%"
_SIDE = re.compile(r"[,;]\s*|\s+(?:while|whereas|but|compared with|against)\s+", re.I)


def misattributed_number(point: str, unit: str) -> str:
    """The unit gives the point's thing another thing's percentage ("human respondents
    answered only about 15% correctly" for "Human respondents answered about 92%
    correctly, while GPT-4 ... scored about 15%"): a part of the unit states one
    percentage, the part of the point most like it (three content words or more in common,
    more than any other part) states another, and another part of the point states the
    unit's."""
    if not (_PERCENT.search(point) and _PERCENT.search(unit)):
        return ""  # most pairs: no percentage on one side, nothing to split and stem
    parts = [(terms.content_stems(p), terms.number_slots(p).get("%", set()))
             for p in _SIDE.split(point)]
    for piece in _SIDE.split(unit):
        said = terms.number_slots(piece).get("%", set())
        if len(said) != 1:
            continue
        value, own = next(iter(said)), terms.content_stems(piece) - terms._GENERIC_STEMS
        ranked = sorted(((len(own & stems), values) for stems, values in parts),
                        key=lambda p: -p[0])
        if len(ranked) < 2 or ranked[0][0] < 3 or ranked[0][0] == ranked[1][0] \
                or not ranked[0][1]:
            continue
        if not any(terms.same_number(value, v) for v in ranked[0][1]) and any(
                terms.same_number(value, v) for _, vs in ranked[1:] for v in vs):
            return f"another thing's number ({value:g}%)"
    return ""


def _swapped_numbers(p_slots: dict[str, set[float]], u_slots: dict[str, set[float]]) -> str:
    """Two of the point's numbers traded places ("109B active out of 17B total" for
    "17B active / 109B total")."""
    def same(a: set[float], b: set[float]) -> bool:
        return any(terms.same_number(x, y) for x in a for y in b)

    shared = sorted(k for k in p_slots.keys() & u_slots.keys() if not k.startswith("%^"))
    for i, s in enumerate(shared):
        for t in shared[i + 1:]:
            if same(u_slots[s], p_slots[t]) and same(u_slots[t], p_slots[s]) and not (
                    same(u_slots[s], p_slots[s]) or same(u_slots[t], p_slots[t])):
                return f"swapped numbers ({s} and {t})"
    return ""
