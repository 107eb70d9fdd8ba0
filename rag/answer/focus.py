"""The extractive answer's plan: intent -> subject -> lead, key points, coverage.

``plan_answer`` is what ``ExtractiveBackend.answer`` runs: it reads the
question's intent and subject, rescores the candidate sentences for fit and
focus, and either composes a grounded answer (``full``/``partial``) or says
honestly that the material only names the subject (``mentioned``) or does not
cover it (``none``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from rag.answer import compose as layout
from rag.answer.coverage import Anchors, question_anchors
from rag.answer.grounded import Candidate, Composer, coverage_label, facet_fit, surface_terms
from rag.answer.intent import Intent, detect_intent
from rag.records import Hit

NAMED_MIN = 0.6  # a subject "named" in the material is a specific term (IDF share of max)
_PARENS = re.compile(r"\s*\([^()]*\)\s*$")
_LIMITS_NOTE = ("The reading material lists no limitations of {s}; what it does say about "
                "{s} follows.")
_MISSING_NOTE = "The material does not explain {s}."


def bare_question(query: str) -> str:
    """The question without the expansions retrieval appended ("... (LoRA)")."""
    previous = None
    while previous != query:
        previous, query = query, _PARENS.sub("", query)
    return query.strip()


def plan_answer(backend, question: str, query_vec: np.ndarray, hits: Sequence[Hit]):
    """The ``Draft`` of the extractive answer for ``question`` over ``hits``."""
    from rag.answer.extractive import Draft, confidence

    intent = detect_intent(bare_question(question))
    anchors = question_anchors(backend._tokenize(question), backend.idf, backend.max_idf)
    key = anchors.key_terms(backend.focus.key_share)
    raw = backend.candidates(question, query_vec, hits)
    conf = confidence(max((c.cosine for c in raw), default=0.0), hits, backend.settings)
    cands = backend.composer.rescore(raw, intent, anchors, key)
    named = [r for r, h in enumerate(hits) if key and anchors.weights[key[0]] >= NAMED_MIN
             and set(key) <= backend.chunk_terms[backend.chunk_index[h.chunk.chunk_id]]]
    weak = conf < backend.settings.abstain_threshold
    unknown = unknown_subject(anchors, glossary_stems())
    subject = surface_terms(bare_question(question), key[:2], backend._tokenize)
    if intent.is_comparison and not weak and not unknown:
        plan = compare(backend.composer, intent, cands, backend, subject)
    else:
        clauses = {kind: clause_anchors(backend, text, question)
                   for kind, text in intent.clauses}
        plan = single(backend.composer, intent, cands, subject, clauses)
    coverage = coverage_label(plan.lead, plan.missing, weak, bool(named), unknown)
    if coverage in ("mentioned", "none"):
        return _abstain(backend.name, hits, conf, coverage, subject, named)
    return _draft(Draft, backend.name, hits, conf, coverage, plan)


def glossary_stems() -> frozenset[str]:
    """Stems of the acronyms the glossary spells out (they need not be in the corpus)."""
    from rag.search.glossary import glossary
    from rag.search.query import stem_tokens

    return frozenset(t for k in glossary() for t in stem_tokens(k))


def clause_anchors(backend, clause: str, question: str) -> tuple[Anchors, list[str]]:
    """Anchors and key terms of one clause (with the expansions retrieval appended), or
    of the whole question when the clause names nothing of its own ("why does it
    matter?")."""
    tail = question[len(bare_question(question)):]
    anchors = question_anchors(backend._tokenize(clause + tail), backend.idf, backend.max_idf)
    if not anchors.weights:
        anchors = question_anchors(backend._tokenize(question), backend.idf, backend.max_idf)
    return anchors, anchors.key_terms(backend.focus.key_share)


def unknown_subject(anchors: Anchors, known: frozenset[str] = frozenset()) -> bool:
    """The question's subject is not in the reading material: it has no known anchor, or
    it names something the material never uses (a term outside its vocabulary that is
    not an acronym the glossary spells out, ``known``)."""
    if not anchors.weights:
        return True
    missing = [t for t in anchors.missing if t not in known]
    return 2 * len(missing) >= len(missing) + len(anchors.weights)


class Plan:
    """Lead sentences, key points, a note on what is missing, an optional table."""

    def __init__(self, lead: Candidate | None = None):
        self.lead = lead
        self.leads: list[Candidate] = [lead] if lead else []
        self.points: list[Candidate] = []
        self.missing: list[str] = []
        self.note = ""
        self.table: tuple[Sequence[str], Sequence[str], dict] | None = None

    @property
    def used(self) -> list[Candidate]:
        cells = [c for c in (self.table[2].values() if self.table else ()) if c]
        return [*self.leads, *self.points, *cells]


def single(composer: Composer, intent: Intent, cands: Sequence[Candidate], subject: str,
           clauses: dict | None = None) -> Plan:
    """One subject: the lead answers the primary intent (about the first clause's
    subject), then the other intents, then supporting key points."""
    clauses = clauses or {}
    plan = Plan(composer.lead(cands, intent.primary, clauses.get(intent.primary)))
    if plan.lead is None:
        return plan
    for kind in intent.kinds[1:]:
        extra = composer.best_for(cands, kind, plan.leads, clauses.get(kind))
        if extra is None:
            plan.missing.append(kind)
        elif len(plan.leads) < 2:
            plan.leads.append(extra)
        else:
            plan.points.append(extra)
    if intent.primary == "limitations" and facet_fit(
            "limitations", plan.lead.facet, composer.table.limiting[plan.lead.sentence]) < 0.5:
        plan.missing.append("limitations")
        plan.note = _LIMITS_NOTE.format(s=subject)
    room = composer.settings.max_points - len(plan.points)
    plan.points += composer.points(cands, plan.leads + plan.points, room)
    return plan


ASPECTS = (("What it is", "definition"), ("Trade-offs and results", "usage"))


def compare(composer: Composer, intent: Intent, cands: Sequence[Candidate], backend,
            subject: str) -> Plan:
    """Each item gets its own cited cells; the direct contrast leads when one sentence
    explains two items."""
    per_item: dict[str, list[Candidate]] = {}
    for item in intent.items:
        item_anchors = question_anchors(backend._tokenize(item), backend.idf, backend.max_idf)
        item_key = item_anchors.key_terms(1.0)
        per_item[item] = [c for c in cands if item_key and composer.table.explained(
            c.sentence, item_anchors, item_key) >= 0.99]
    covered = [i for i in intent.items if per_item[i]]
    contrast = next((c for c in cands if sum(c in per_item[i] for i in covered) >= 2), None)
    plan = Plan(contrast or (per_item[covered[0]][0] if covered else None))
    if plan.lead is None:
        return plan
    if contrast is None and len(covered) > 1:
        plan.leads.append(per_item[covered[1]][0])
    plan.missing = [i for i in intent.items if i not in covered]
    if plan.missing:
        plan.note = " ".join(_MISSING_NOTE.format(s=m) for m in plan.missing)
    cells = {}
    for item in intent.items:
        for label, kind in ASPECTS:
            pool = [c for c in per_item[item]
                    if facet_fit(kind, c.facet) > 0 or kind == "definition"]
            taken = [v for v in cells.values() if v]
            cells[(item, label)] = next((c for c in pool if c not in taken), None)
    plan.table = (list(intent.items), [a for a, _ in ASPECTS], cells)
    plan.points = composer.points(cands, plan.leads + [v for v in cells.values() if v], 2)
    return plan


def _numbering(hits: Sequence[Hit], used: Sequence[Candidate]):
    from rag.answer.extractive import build_citations, citation_order

    order = citation_order([c.hit_rank for c in used], len(hits))
    number_of = {rank: n for n, rank in enumerate(order, start=1)}
    texts: dict[int, list[str]] = {}
    for c in used:
        texts.setdefault(c.hit_rank, [])
        if (c.source_text or c.text) not in texts[c.hit_rank]:
            texts[c.hit_rank].append(c.source_text or c.text)
    return number_of, build_citations(hits, order, set(texts), texts)


def _draft(draft_cls, name: str, hits: Sequence[Hit], conf: float, coverage: str, plan: Plan):
    number_of, citations = _numbering(hits, plan.used)

    def point(c: Candidate) -> layout.Point:
        return layout.Point(c.text, number_of[c.hit_rank], c.facet)

    table = ""
    if plan.table:
        items, aspects, cells = plan.table
        table = layout.table(items, aspects,
                             {k: point(v) if v else None for k, v in cells.items()})
    text = layout.compose([point(c) for c in plan.leads], [point(c) for c in plan.points],
                          plan.note, table)
    return draft_cls(text, citations, False, name, conf, coverage=coverage)


def _abstain(name: str, hits: Sequence[Hit], conf: float, coverage: str, subject: str,
             named: Sequence[int]):
    from rag.answer.extractive import ABSTAIN_TEXT, Draft, build_citations, citation_order

    if coverage == "mentioned" and named:
        order = citation_order(list(named), len(hits))
        places = [(n, _place(hits[r])) for n, r in enumerate(order[: len(named)], start=1)]
        cited = set(named)
        text = layout.mentioned_text(subject, places[:4])
        return Draft(text, build_citations(hits, order, cited, {}), True, name, conf,
                     coverage=coverage)
    order = citation_order([], len(hits))
    return Draft(ABSTAIN_TEXT, build_citations(hits, order, set(), {}), True, name, conf,
                 coverage="none")


def _place(hit: Hit) -> str:
    section = hit.chunk.section.rsplit(" › ", 1)[-1] if hit.chunk.section else ""
    return f"{hit.chunk.title}" + (f" › {section}" if section and section != hit.chunk.title
                                   else "")
