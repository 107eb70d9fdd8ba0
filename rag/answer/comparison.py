"""Comparison answers ("DPO vs RLHF?", "How does RETRO differ from RAG?"): each compared
item's own cited sentences, the direct contrast when one sentence explains two items,
and a small item x aspect table; and the ``Plan`` every extractive answer fills."""

from __future__ import annotations

import re
from collections.abc import Sequence

from rag.answer import compose as layout
from rag.answer.grounded import Candidate, Composer
from rag.answer.intent import Intent, item_name
from rag.answer.sentences import facet_fit
from rag.answer.subject import text_anchors
from rag.answer.versions import (
    another_version,
    named_apart,
    other_name,
    other_version_only,
    question_version,
    writes_version,
)

_MISSING_NOTE = "The material does not explain {s}."


class Plan:
    """Lead sentences, key points, a note on what is missing, an optional table."""

    def __init__(self, lead: Candidate | None = None):
        self.lead = lead
        self.leads: list[Candidate] = [lead] if lead else []
        self.points: list[Candidate] = []
        self.missing: list[str] = []
        self.note = ""
        self.note_first = False  # the note answers the question ("lists no limitations")
        self.table: tuple[Sequence[str], Sequence[str], dict] | None = None

    @property
    def used(self) -> list[Candidate]:
        cells = [c for c in (self.table[2].values() if self.table else ()) if c]
        return [*self.leads, *self.points, *cells]


ASPECTS = (("What it is", "definition"), ("Trade-offs and results", "usage"))


def compare(composer: Composer, intent: Intent, cands: Sequence[Candidate], backend,
            subject: str) -> Plan:
    """Each item gets its own cited cells; the direct contrast leads when one sentence
    explains two items."""
    per_item = item_candidates(composer, intent, cands, backend)
    covered = [i for i in intent.items if per_item[i]]
    t = composer.table
    own = {i: [c for c in per_item[i] if not other_version_only(
        t.text[c.sentence], t.subject_name[c.sentence], i, intent.items)] for i in covered}
    want = next((k for k in intent.kinds if k != "comparison"), "")
    contrast = _contrast(t, cands, own, intent.items, want)
    firsts = [_fitting(t, own[i] or per_item[i], want) for i in covered[:2]]
    if contrast is not None and len(firsts) > 1 and all(t.statement[c.sentence] for c in firsts) \
            and (not t.statement[contrast.sentence]
                 or t.facet[contrast.sentence] in ("impact", "background", "problem")):
        contrast = None  # a fragment, or about what came before: each item's own reads better
    plan = Plan(contrast or (firsts[0] if firsts else None))
    if plan.lead is None:
        return plan
    if contrast is None and len(firsts) > 1 and firsts[1] is not firsts[0]:
        plan.leads.append(firsts[1])
    elif contrast is None and len(firsts) == 1:  # one side only: two of its sentences
        plan.leads += [c for c in own[covered[0]] if c is not firsts[0]
                       and (t.statement[c.sentence] or t.unit[c.sentence]  # its own bullet
                            == t.unit[firsts[0].sentence])
                       and not t.anaphoric[c.sentence]][:1]
    plan.missing = [i for i in intent.items if i not in covered]
    named = [m for m in plan.missing if len(m.split()) <= 4]  # a name, not a clause
    if named:
        plan.note = " ".join(_MISSING_NOTE.format(s=m) for m in named)
    cells = {}
    for item in intent.items:
        for label, kind in ASPECTS:
            pool = [c for c in per_item[item] if kind == "definition"
                    or facet_fit(kind, c.facet) > 0 or c.facet == "results"]
            pool += [c for c in per_item[item] if scores(c) and c not in pool]  # last
            if kind == "definition":  # what it is before how it scored
                pool.sort(key=lambda c: (scores(c), t.fit(c.sentence, kind) < 0.5))
            taken = [v for v in cells.values() if v]
            cells[(item, label)] = next((c for c in pool if c not in taken), None)
    plan.table = (list(intent.items), [a for a, _ in ASPECTS], cells)
    plan.points = composer.points(cands, plan.leads + [v for v in cells.values() if v], 2)
    return plan


def _contrast(t, cands: Sequence[Candidate], own: dict[str, list[Candidate]],
              items: Sequence[str], want: str) -> Candidate | None:
    """The best sentence that explains two compared items (``own``: each covered item's
    candidates): it writes each compared version ("GPT-3 vs GPT-2": not GPT-4's card),
    names each apart from another's name ("MMLU Pro" is no mention of MMLU), and reads
    on its own; one stating what else was asked ("... and what effect did that have on
    scores?") first."""
    covered = list(own)
    names = [item_name(i) for i in covered]
    both = [c for c in cands if sum(c in own[i] for i in covered) >= 2 and all(
        writes_version(f"{t.text[c.sentence]} {t.subject_name[c.sentence]}", i) for i in covered)
        and all(named_apart(f"{t.text[c.sentence]} {t.subject_name[c.sentence]}", n, names)
                for n in names)]
    # "Compare Mamba and Transformers": Mamba-2's sentences are not Mamba's (unless another
    # compared item is that version: "FlashAttention vs FlashAttention-2")
    unversioned = [i for i in covered if not any(
        another_version(j, "", i, question_version(i)) for j in items if j != i)]
    return min(both, default=None, key=lambda c: (
        any(another_version(t.text[c.sentence], t.subject_name[c.sentence], i,
                            question_version(i)) for i in unversioned),
        t.anaphoric[c.sentence] or t.needs_antecedent[c.sentence],
        t.facet[c.sentence] in ("impact", "background", "problem"),
        not t.statement[c.sentence],
        want in ("results", "limitations") and t.fit(c.sentence, want) < 0.5,
        both.index(c)))


# a score as a card states it: "85.9% Pass@1", "93.2 F1", "41.8 BLEU"
_SCORE = re.compile(r"\b\d+(?:\.\d+)?\s*(?:%|points?\b|F1\b|BLEU\b|EM\b)")


def scores(c: Candidate) -> bool:
    """Does ``c`` state scores ("MetaGPT reports 85.9% Pass@1 on HumanEval and 87.7% on
    MBPP"), whatever its facet?"""
    return len(_SCORE.findall(c.text)) >= 2


def _fitting(table, cands: Sequence[Candidate], kind: str) -> Candidate:
    """The first of an item's candidates whose facet answers what else was asked ("X vs
    Y - what results?": each item's results), else its first."""
    if kind in ("results", "limitations"):
        return next((c for c in cands if table.fit(c.sentence, kind) >= 0.5), cands[0])
    # "How do MetaGPT and AutoGen differ?": what each is or does before how it scored
    plain = next((c for c in cands if table.fit(c.sentence, "results") < 1.0
                  and not scores(c)), cands[0])
    if kind == "mechanism":  # "compare how X and Y connect ...": each item's method
        return next((c for c in cands if table.fit(c.sentence, kind) >= 1.0
                     and table.statement[c.sentence] and not table.anaphoric[c.sentence]
                     and not layout.STEP.match(c.text)), plain)
    return plain


def item_candidates(composer: Composer, intent: Intent, cands: Sequence[Candidate],
                    backend) -> dict[str, list[Candidate]]:
    """Per compared item, the candidates that explain every word of it: its own version
    before another's ("BLIP-2" is not BLIP), statements before
    fragments, what it is before where it was published or what it influenced (impact) or
    what came before it (background), sentences that open with the item first, sentences
    pointing back last."""
    t = composer.table
    out: dict[str, list[Candidate]] = {}
    anchors = {i: text_anchors(backend, i) for i in intent.items}
    keys = {i: set(a.key_terms(1.0)) for i, a in anchors.items()}
    called = {i: i for i in intent.items}
    for i in intent.items:  # "Chinchilla compute-optimal recipe", which no sentence
        name = item_name(i)  # explains word for word: Chinchilla
        if name != i and not any(t.explained(c.sentence, anchors[i], sorted(keys[i])) >= 0.99
                                 for c in cands):
            anchors[i], called[i] = text_anchors(backend, name), name
            keys[i] = set(anchors[i].key_terms(1.0))
    compared = {i.lower() for i in called.values()}
    for item in intent.items:
        key, version = sorted(keys[item]), question_version(item)
        found = [c for c in cands if key and t.explained(c.sentence, anchors[item], key) >= 0.99]
        own = [c for c in found if version[0] or not other_name(t.names[c.sentence], called[item])
               or t.names[c.sentence] & compared]
        found = own or found  # "AdaLoRA: prune less important LoRA parameters" is no LoRA
        # cell (but "FlashAttention-2 cuts ..." contrasts FlashAttention with FlashAttention-2)
        others = set().union(*(keys[i] for i in intent.items if i != item)) - keys[item]
        # a sentence naming only another version ("3x faster GPT-2 training" for GPT),
        # outside the item's own passages, is not about the item
        found = [c for c in found if not only_versioned(t.text[c.sentence], item)
                 or keys[item] <= t.subject[c.sentence]]
        if version[0]:  # GPT-4's card is no cell of GPT-3's, nor GPT-3's of GPT-2's
            found = [c for c in found if writes_version(
                f"{t.text[c.sentence]} {t.subject_name[c.sentence]}", item) or not another_version(
                t.text[c.sentence], t.subject_name[c.sentence], item, version)]
        out[item] = sorted(found, key=lambda c: (
            another_version(t.text[c.sentence], t.subject_name[c.sentence], item, version),
            t.anaphoric[c.sentence], t.needs_antecedent[c.sentence],
            about_other(t.terms[c.sentence], keys[item], others),
            t.facet[c.sentence] in ("impact", "background"), not t.statement[c.sentence],
            not set(t.terms[c.sentence][:3]) & keys[item]))
    return out


def only_versioned(text: str, item: str) -> bool:
    """Does ``text`` name ``item`` only as part of a numbered name ("GPT-2" for GPT)?"""
    if not item or any(ch.isdigit() for ch in item):
        return False
    name = re.escape(item)
    versioned = re.search(rf"(?<![\w-]){name}[-\s]?\d", text, re.I)
    standalone = re.search(rf"(?<![\w-]){name}(?![\w-]|\s?\d)", text, re.I)
    return bool(versioned) and not standalone


def about_other(terms: Sequence[str], own: set[str], others: set[str], opening: int = 3) -> bool:
    """Is a sentence's own subject another compared item?  It opens with that item and
    not with this one ("Standard RLHF fits a reward model ..." in the DPO card is about
    RLHF, not DPO)."""
    head = set(terms[:opening])
    return bool(head & others) and not head & own
