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
from functools import lru_cache

import numpy as np

from rag.answer import compose as layout
from rag.answer.coverage import Anchors, name_phrases, name_spans, question_anchors
from rag.answer.grounded import (
    Candidate,
    Composer,
    Subject,
    coverage_label,
    facet_fit,
    surface_terms,
)
from rag.answer.intent import Intent, detect_intent
from rag.answer.versions import another_version, question_version
from rag.records import Hit
from rag.search.conversation import is_elliptical
from rag.search.names import named_words

NAMED_MIN = 0.6  # a subject "named" in the material is a specific term (IDF share of max)
_PARENS = re.compile(r"\s*\([^()]*\)\s*$")
_PRONOUN = re.compile(r"\b(?:it|its|they|their|them)\b", re.I)
_PAPER_REF = re.compile(r"\bthe\s+(?:(?:original|first|seminal|famous|classic)\s+)?"
                        r"([\w.+-]+(?:\s+[\w.+-]+){0,3}?)\s+paper\b", re.I)
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
    subject = question_subject(backend, question)
    anchors, key = subject.anchors, list(subject.key)
    raw = backend.candidates(question, query_vec, hits)
    conf = confidence(max((c.cosine for c in raw), default=0.0), hits, backend.settings)
    cands = backend.composer.rescore(raw, intent, anchors, key)
    named = naming_passages(backend, subject, question, hits)
    weak = conf < backend.settings.abstain_threshold \
        and not backend.composer.explaining(cands, subject)
    names = getattr(backend, "names", None)
    unknown = unknown_subject(anchors, glossary_stems()) or bool(key) and names is not None \
        and any(key[0] in stems for stems in names.unknown_names(bare_question(question)))
    label = " and ".join(intent.items) if intent.is_comparison and len(intent.items) == 2 \
        else subject_label(question, key, backend._tokenize)
    plan = compare(backend.composer, intent, cands, backend, label) \
        if intent.is_comparison and not weak and not unknown else None
    if plan is None or plan.lead is None:  # items not found: answer it as one question
        clauses: dict[str, Subject] = {}
        for kind, text in intent.clauses:  # the first clause of a kind ("what is X for,
            if kind not in clauses:  # and what does it buy you?": X, not "it")
                clauses[kind] = question_subject(backend, text, question)
        plan = single(backend.composer, intent, cands, label, subject, clauses)
    coverage = coverage_label(plan.lead, plan.missing, weak, bool(named), unknown)
    listed = topic_list(hits, key, backend._tokenize) if plan.lead is None and not unknown \
        else None
    if listed is not None:
        return _list_draft(Draft, backend.name, hits, conf, *listed)
    if coverage in ("mentioned", "none"):
        return _abstain(backend.name, hits, conf, coverage, label, named)
    return _draft(Draft, backend.name, hits, conf, coverage, plan)


def naming_passages(backend, subject: Subject, question: str,
                    hits: Sequence[Hit]) -> list[int]:
    """Ranks of the hits that *name* the question's subject (for a ``mentioned`` answer):
    one sentence or line holds its key terms, the names written as one unit that hold
    them (all of "Black-Scholes") and the question's own heavy words together ("cover
    letter": a passage about "last-letter concatenation" does not name it), acronyms
    counting spelled out (``ExtractiveBackend.passage_names``); or a syllabus line lists
    the name the question writes as one ("- WGAN/WGAN-GP").  A word the material never
    uses ("How do I fix a flat tyre?") is named nowhere."""
    key, bare = subject.key, bare_question(question)
    own = question_anchors(backend._tokenize(bare), backend.idf, backend.max_idf)
    known = glossary_stems()
    if not key or subject.anchors.weights[key[0]] < NAMED_MIN \
            or any(t not in known for t in own.missing):
        return []
    name = next((set(w) for w in named_words(bare) if key[0] in w), set())
    heavy = {t for t, w in own.weights.items() if w >= backend.focus.named_weight}
    wanted = set(key).union(heavy, name, *(n for n in subject.names if n & set(key)))
    return [r for r, h in enumerate(hits)
            if wanted <= backend.passage_names(h) and backend.names_together(h, wanted)
            or name and backend.lists_name(h, name)]


def subject_label(question: str, key: Sequence[str], stem) -> str:
    """How the answer names the subject: a name the question writes as one unit that holds
    its heaviest key term ("Decision Transformer"), else a capitalised name among its key
    terms ("RLHF"); a follow-up ("and what are its drawbacks? (LoRA low-rank
    adaptation)") by the first name retrieval appended; else the question's own words
    for its two heaviest key terms."""
    bare = bare_question(question)
    whole = next((n for n in name_spans(bare) if key and key[0] in stem(n)), "")
    if whole:
        return whole
    names = [w for w in re.findall(r"\b[\w-]+\b", bare)[1:]
             if re.search(r"[A-Z]", w) and set(stem(w)) & set(key)]
    if names:
        return " ".join(dict.fromkeys(names[:2]))
    tail = question[len(bare):]
    if tail and re.search(r"\b(?:it|its|this|these|they|their|them|that)\b", bare, re.I):
        named = re.findall(r"\b[\w-]*[A-Z][\w-]*\b", tail)
        return named[0] if named else surface_terms(tail, key[:1], stem)
    own = set(stem(bare))
    return phrase(bare, [k for k in key if k in own][:2] or key[:2], stem)


def phrase(question: str, stems: Sequence[str], stem, most: int = 5) -> str:
    """The question's own words from the first to the last of ``stems`` when they are
    close together ("mixture of experts"), else those words alone."""
    words = re.findall(r"[\w-]+", question)
    at = [i for i, w in enumerate(words) if set(stem(w)) & set(stems)]
    between = [w for w in words[at[0]: at[-1] + 1] if not set(stem(w)) & set(stems)] \
        if at else []
    if at and at[-1] - at[0] < most and all(w.lower() in _SMALL for w in between):
        return " ".join(words[at[0]: at[-1] + 1])
    return surface_terms(question, stems, stem)


_SMALL = frozenset("of the a an and for in on to with".split())


@lru_cache(maxsize=1)
def glossary_stems() -> frozenset[str]:
    """Stems of the acronyms the glossary spells out (they need not be in the corpus)."""
    from rag.search.glossary import glossary
    from rag.search.query import stem_tokens

    return frozenset(t for k in glossary() for t in stem_tokens(k))


def question_subject(backend, clause: str, question: str = "") -> Subject:
    """The ``Subject`` of a question, or of one clause of it (with the expansions retrieval
    appended to the question; the whole question's when the clause names nothing of its
    own: "why does it matter?").  Focused: the question's own words hold at most
    ``subject_terms`` anchors."""
    question, clause = _STYLE.sub(" ", question or clause), _STYLE.sub(" ", clause)
    tail = question[len(bare_question(question)):]
    text = clause if clause == question else clause + tail
    anchors = question_anchors(backend._tokenize(text), backend.idf, backend.max_idf)
    if not question_anchors(backend._tokenize(clause), backend.idf, backend.max_idf).weights:
        text = question
        anchors = question_anchors(backend._tokenize(text), backend.idf, backend.max_idf)
    bare = bare_question(text)
    own = question_anchors(backend._tokenize(bare), backend.idf, backend.max_idf)
    focused = len(own.weights) <= backend.focus.subject_terms \
        and len(bare.split()) <= backend.focus.subject_words \
        and not is_elliptical(bare, names_subject=lambda _: True)
    names = tuple(name_phrases(bare, backend._tokenize))
    key = tuple(anchors.key_terms(backend.focus.key_share))
    named = named_terms(backend, bare, own) if focused else []
    key = tuple(dict.fromkeys([*named, *key]))
    # The words the question itself uses come before those retrieval appended ("RLHF"
    # before "reinforcement ... feedback"): a sentence about RL from *AI* feedback
    # shares the expansion's words, not the name that was asked about.
    key = tuple(sorted(key, key=lambda t: t not in own.weights))
    context, within = named_context(backend, bare)
    if within:  # "double quantization in QLoRA": about double quantization, QLoRA's
        key = tuple(t for t in key if t not in context and t in own.weights) or key
    surface = surface_terms(bare, key[:1], backend._tokenize) if key else ""
    appended = text[len(bare):]
    if surface == "this" and key:  # a follow-up: its subject is in what retrieval appended
        surface = surface_terms(appended, key[:1], backend._tokenize)
    elif appended and _PRONOUN.search(bare):  # "Why is it faster? (Mamba)": it is Mamba
        named = re.findall(r"\b[\w-]*[A-Z][\w-]*\b", appended)
        surface = named[0] if named else surface
    known = known_names(backend, bare)
    if not focused and len(known) == 1 and " " not in known[0] \
            and known[0] != known[0].lower() and known[0] != known[0].upper():
        surface = known[0]  # "Why does Mamba need ...?": not about Mamba-2
    if compound_name(bare, surface, own, backend._tokenize):
        surface = ""  # "Llama Guard": a name of its own, not a version of Llama
    after = re.search(rf"\b{re.escape(surface)}\s+([A-Za-z][\w-]*)", bare) if surface else None
    follows = after.group(1) if after and after.group(1).lower() not in _NOT_COUNTED else ""
    paper = _PAPER_REF.search(bare) or _PAPER_REF.search(bare_question(question))
    asked = frozenset(own.key_terms(backend.focus.key_share)) if appended.strip() \
        and _PRONOUN.search(bare) else frozenset()  # a follow-up ("pick its rank")
    # "What problem does ORPO solve? (odds ratio preference optimization)": the expansion
    # is another name of the one thing asked about, not more of the subject
    spelled = frozenset(key[1:]) if appended.strip() and key and key[0] in own.weights \
        and not any(t in own.weights for t in key[1:]) else frozenset()
    return Subject(anchors, key, names, focused, surface if " " not in surface else "",
                   frozenset(backend._tokenize(paper.group(1))) if paper else frozenset(),
                   backend.focus.focused_share if focused else backend.focus.key_present,
                   question_version(bare), asked, spelled, counted(bare), within, follows)


# "What is double quantization in QLoRA?": the thing asked about belongs to a known name.
_WITHIN = re.compile(r"\s(?:in|of|inside|within|for)\s+(?:an?\s+|the\s+)?$", re.I)
_NAME_TAIL = re.compile(r"\b(?:paper|model|method|architecture|framework|setup|s)\b|\W+")


def named_context(backend, question: str) -> tuple[frozenset[str], frozenset[int]]:
    """The stems and passages (card, guide section) of the known name a question's
    subject belongs to, when it ends with "in/of <name>" after naming something of its
    own ("What is the KL penalty in RLHF?"); else empty."""
    names = getattr(backend, "names", None)
    found = list(names.pattern.finditer(question)) if names is not None \
        and names.pattern is not None else []
    if not found or _NAME_TAIL.sub("", question[found[-1].end():]).strip():
        return frozenset(), frozenset()
    head, name = question[:found[-1].start()], found[-1].group(0)
    stems = frozenset(backend._tokenize(name))
    own = question_anchors(backend._tokenize(_WITHIN.sub("", head)), backend.idf,
                           backend.max_idf)
    if not _WITHIN.search(head) or not set(own.weights) - stems:
        return frozenset(), frozenset()
    from rag.search.names import name_key

    return stems, frozenset(names.groups.get(name_key(name), ()))


def compound_name(question: str, surface: str, own: Anchors, stem_of) -> bool:
    """Is the question's word for its subject the first word of a longer name whose next
    word is also one of the question's terms, rarer in the material than the first
    ("whats llama guard", "Llama Guard": not a version of Llama)?"""
    if not surface or " " in surface:
        return False
    m = re.search(rf"\b{re.escape(surface)}\s+([A-Za-z][\w-]*)", question)
    if not m or m.group(1).lower() in _NOT_COUNTED or any(ch.isdigit() for ch in m.group(1)):
        return False  # "deepseek r1-zero": a version
    first, second = stem_of(surface), stem_of(m.group(1))
    return bool(first and second) and all(t in own.weights for t in (first[0], second[0])) \
        and own.weights[second[0]] > own.weights[first[0]]  # "guard" says more than "llama"


_HOW_MANY = re.compile(r"\bhow (?:many|much)\s+((?:[a-z][\w-]*\s*){1,3})", re.I)
_NOT_COUNTED = frozenset("are is was were do does did can could will would should have has "
                         "had of in on per for to the a an it they went go goes more less "
                         "roughly approximately actually am i we you vs versus and or".split())


def counted(question: str) -> tuple[str, ...]:
    """What a "how many / how much" question counts ("how many experts per layer" ->
    ("expert",), "how much audio" -> ("audio",)): the leading letters of each noun, so
    "parameters" also matches "params"."""
    out = []
    for m in _HOW_MANY.finditer(question):
        phrase = []
        for word in m.group(1).lower().split():
            if word in _NOT_COUNTED:
                break
            phrase.append(word)
        if phrase:  # the head noun: "text-based prompting techniques" counts techniques
            out.append(phrase[-1][:5] if len(phrase[-1]) > 5 else phrase[-1].rstrip("s"))
    return tuple(dict.fromkeys(out))


def known_names(backend, question: str) -> list[str]:
    """The known paper or method names a question writes, as it writes them, unique."""
    names = getattr(backend, "names", None)
    if names is None or names.pattern is None:
        return []
    return list(dict.fromkeys(m.group(0) for m in names.pattern.finditer(question)))


def named_terms(backend, question: str, own: Anchors) -> list[str]:
    """Stems of the known paper or method names a question writes ("How does CLIP do
    zero-shot classification?" -> ["clip"]): however common the name is in the
    material, a short question that names it is about it."""
    names = getattr(backend, "names", None)
    if names is None or names.pattern is None:
        return []
    return [t for m in names.pattern.finditer(question)
            for t in backend._tokenize(m.group(0)) if t in own.weights]


# How the user wants it said, not what it is about: "in one sentence", "in simple terms".
_STYLE = re.compile(r"\b(?:in (?:just )?(?:one|a|two|three|a few|simple|plain|layman'?s?|"
                    r"short) (?:sentences?|words?|terms|lines?|paragraphs?)|like I'?m "
                    r"(?:five|5))\b", re.I)


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
        self.note_first = False  # the note answers the question ("lists no limitations")
        self.table: tuple[Sequence[str], Sequence[str], dict] | None = None

    @property
    def used(self) -> list[Candidate]:
        cells = [c for c in (self.table[2].values() if self.table else ()) if c]
        return [*self.leads, *self.points, *cells]


def single(composer: Composer, intent: Intent, cands: Sequence[Candidate], label: str,
           subject: Subject, clauses: dict[str, Subject] | None = None) -> Plan:
    """One subject: the lead answers the primary intent (about the first clause's
    subject), then the other intents, then supporting key points."""
    clauses = clauses or {}
    plan = Plan(composer.lead(cands, intent.primary, subject, clauses.get(intent.primary)))
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
    if intent.primary == "limitations" and composer.table.fit(plan.lead.sentence,
                                                              "limitations") < 0.5:
        plan.missing.append("limitations")
        plan.note, plan.note_first = _LIMITS_NOTE.format(s=label), True
    room = composer.settings.max_points - len(plan.points)
    plan.points += composer.points(cands, plan.leads + plan.points, room,
                                   clauses.get(intent.primary) or subject)
    _second_sentence(composer, plan, intent.primary)
    return plan


def _second_sentence(composer: Composer, plan: Plan, intent: str) -> None:
    """A short direct answer gets a second sentence: the best key point of the lead's own
    card or section that also answers the question's kind, when both read as one short
    paragraph."""
    t, cfg = composer.table, composer.settings
    if len(plan.leads) != 1 or plan.note_first:
        return
    words = len(plan.lead.text.split())
    for c in plan.points:
        if (t.unit[c.sentence] == t.unit[plan.lead.sentence] and t.statement[c.sentence]
                and c.facet != "hint" and not c.text.rstrip().endswith("?")
                and t.fit(c.sentence, intent) >= 0.5
                and words + len(c.text.split()) <= cfg.lead_words):
            plan.points.remove(c)
            plan.leads.append(c)
            if any(layout.STEP.match(x.text) for x in plan.leads):  # "First, ...  Second, ..."
                plan.leads.sort(key=lambda x: x.sentence)
            return


ASPECTS = (("What it is", "definition"), ("Trade-offs and results", "usage"))


def compare(composer: Composer, intent: Intent, cands: Sequence[Candidate], backend,
            subject: str) -> Plan:
    """Each item gets its own cited cells; the direct contrast leads when one sentence
    explains two items."""
    per_item = item_candidates(composer, intent, cands, backend)
    covered = [i for i in intent.items if per_item[i]]
    t = composer.table
    both = [c for c in cands if sum(c in per_item[i] for i in covered) >= 2]
    contrast = min(both, default=None, key=lambda c: (
        t.anaphoric[c.sentence] or t.needs_antecedent[c.sentence],
        t.facet[c.sentence] in ("impact", "background", "problem"),
        not t.statement[c.sentence], both.index(c)))
    want = next((k for k in intent.kinds if k != "comparison"), "")
    firsts = [_fitting(t, per_item[i], want) for i in covered[:2]]
    if contrast is not None and len(firsts) > 1 and all(t.statement[c.sentence] for c in firsts) \
            and (not t.statement[contrast.sentence]
                 or t.facet[contrast.sentence] in ("impact", "background", "problem")):
        contrast = None  # a fragment, or about what came before: each item's own reads better
    plan = Plan(contrast or (firsts[0] if firsts else None))
    if plan.lead is None:
        return plan
    if contrast is None and len(firsts) > 1 and firsts[1] is not firsts[0]:
        plan.leads.append(firsts[1])
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


def _fitting(table, cands: Sequence[Candidate], kind: str) -> Candidate:
    """The first of an item's candidates whose facet answers what else was asked ("X vs
    Y - what results?": each item's results), else its first."""
    if kind in ("results", "limitations"):
        return next((c for c in cands if table.fit(c.sentence, kind) >= 0.5), cands[0])
    if kind == "mechanism":  # "compare how X and Y connect ...": each item's method
        return next((c for c in cands if table.fit(c.sentence, kind) >= 1.0
                     and table.statement[c.sentence] and not table.anaphoric[c.sentence]
                     and not layout.STEP.match(c.text)), cands[0])
    return cands[0]


def item_candidates(composer: Composer, intent: Intent, cands: Sequence[Candidate],
                    backend) -> dict[str, list[Candidate]]:
    """Per compared item, the candidates that explain every word of it: its own version
    before another's ("BLIP-2" is not BLIP), statements before
    fragments, what it is before where it was published or what it influenced (impact) or
    what came before it (background), sentences that open with the item first, sentences
    pointing back last."""
    t = composer.table
    out: dict[str, list[Candidate]] = {}
    anchors = {i: question_anchors(backend._tokenize(i), backend.idf, backend.max_idf)
               for i in intent.items}
    keys = {i: set(a.key_terms(1.0)) for i, a in anchors.items()}
    for item in intent.items:
        key = sorted(keys[item])
        found = [c for c in cands if key and t.explained(c.sentence, anchors[item], key) >= 0.99]
        others = set().union(*(keys[i] for i in intent.items if i != item)) - keys[item]
        version = question_version(item)
        out[item] = sorted(found, key=lambda c: (
            another_version(t.text[c.sentence], t.subject_name[c.sentence], item, version),
            t.anaphoric[c.sentence], t.needs_antecedent[c.sentence],
            about_other(t.terms[c.sentence], keys[item], others),
            t.facet[c.sentence] in ("impact", "background"), not t.statement[c.sentence],
            not set(t.terms[c.sentence][:3]) & keys[item]))
    return out


def about_other(terms: Sequence[str], own: set[str], others: set[str], opening: int = 3) -> bool:
    """Is a sentence's own subject another compared item?  It opens with that item and
    not with this one ("Standard RLHF fits a reward model ..." in the DPO card is about
    RLHF, not DPO)."""
    head = set(terms[:opening])
    return bool(head & others) and not head & own


_ITEM = re.compile(r"^\s*[-*•]\s+(?P<item>\S.*)$")


def topic_list(hits: Sequence[Hit], key: Sequence[str], stem,
               min_items: int = 3) -> tuple[int, str, list[str]] | None:
    """``(hit rank, heading, items)`` of a retrieved syllabus list whose heading names the
    question's subject ("Section 7 › MLOps: - Experiment tracking ... - Feature stores"):
    the reading list covers the subject as a list of topics, not in prose."""
    for rank, hit in enumerate(hits[:3]):
        heading = hit.chunk.section.rsplit(" › ", 1)[-1]
        lines = [ln for ln in hit.chunk.text.splitlines() if ln.strip()]
        items = [m.group("item").strip() for ln in lines if (m := _ITEM.match(ln))]
        named = set(stem(heading))  # the heading is the subject itself, not a wider topic
        if named and named <= set(key) and len(items) >= min_items \
                and len(items) == len(lines) and all(len(i.split()) <= 12 for i in items):
            return rank, heading, items
    return None


def _list_draft(draft_cls, name: str, hits: Sequence[Hit], conf: float, rank: int,
                heading: str, items: list[str]):
    from rag.answer.extractive import build_citations, citation_order

    order = citation_order([rank], len(hits))
    text = layout.topic_list(heading, items, 1)
    return draft_cls(text, build_citations(hits, order, {rank}, {rank: items}), False, name,
                     conf, coverage="partial")


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
                          plan.note, table, plan.note_first)
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
