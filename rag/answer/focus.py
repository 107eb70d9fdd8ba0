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
from rag.answer.clauses import clause_subjects
from rag.answer.comparison import Plan, compare
from rag.answer.coverage import (
    SPECIFIC,
    decide,
    defines,
    listed,
    wording_only,
)
from rag.answer.grounded import Candidate, Composer
from rag.answer.intent import Intent, detect_intent
from rag.answer.offtopic import asks_no_explanation, faint_lead, not_in_material, small_talk
from rag.answer.sentences import LIMITING as _LIMITING_WORDS
from rag.answer.subject import (
    Subject,
    appended_names,
    bare_question,
    glossary_stems,
    question_subject,
    subject_label,
    text_anchors,
    without_preamble,
)
from rag.answer.topics import _list_draft, asked_item, enumeration_lists, topic_list
from rag.answer.versions import (
    regex,
    writes_joined,
)
from rag.records import Hit
from rag.search.names import named_words

_LIMITS_NOTE = ("The reading material lists no limitations of {s}; what it does say about "
                "{s} follows.")



def plan_answer(backend, question: str, query_vec: np.ndarray, hits: Sequence[Hit]):
    """The ``Draft`` of the extractive answer for ``question`` over ``hits``."""
    from rag.answer.extractive import SMALL_TALK_TEXT, Draft, confidence

    bare = bare_question(question)
    intent = with_antecedent(detect_intent(without_preamble(backend, bare)), question)
    subject = question_subject(backend, question)
    anchors, key = subject.anchors, list(subject.key)
    raw = backend.candidates(question, query_vec, hits)
    conf = confidence(max((c.cosine for c in raw), default=0.0), hits, backend.settings)
    cands = backend.composer.rescore(raw, intent, anchors, key)
    named = naming_passages(backend, subject, question, hits)
    weak = conf < backend.settings.abstain_threshold \
        and not backend.composer.explaining(cands, subject, intent.primary)
    chat = small_talk(bare)  # a greeting or a request for a poem: no question
    unknown = chat or not_in_material(backend, bare, intent, subject)
    label = " and ".join(intent.items) if intent.is_comparison and len(intent.items) == 2 \
        else subject_label(question, key, backend._tokenize)
    if not unknown and (lists := enumeration_lists(backend, bare, hits)):
        return _list_draft(Draft, backend.name, hits, conf, *lists)  # the kinds asked for
    plan = compare(backend.composer, intent, cands, backend, label) \
        if intent.is_comparison and not weak and not unknown else None
    if plan is None or plan.lead is None:  # items not found: answer it as one question
        plan = single(backend.composer, intent, cands, label, subject,
                      clause_subjects(backend, intent, question))
        if plan.lead is not None and "comparison" not in intent.kinds \
                and (about := neighbour_places(backend, bare, plan, subject, hits, named)) \
                is not None:
            weak, named = True, about
    if plan.lead is not None and faint_lead(backend, bare, subject, plan.lead):
        weak, named = True, []
    coverage = decide(plan.lead is not None, plan.missing, weak, bool(named), unknown)
    if coverage == "mentioned" and asks_no_explanation(bare):
        coverage = "none"  # "How do I learn French quickly?": naming French is no answer
    topics = topic_list(hits, key, backend._tokenize) if plan.lead is None and not unknown \
        else None
    if topics is not None and (item := asked_item(backend, key, *topics[1:])):
        coverage, named, label = "mentioned", [topics[0]], item  # "Explain the
        # reparameterization trick used to train VAEs": an item of VAE's topic list
    elif topics is not None:
        return _list_draft(Draft, backend.name, hits, conf, topics)
    if coverage in ("mentioned", "none"):
        return _abstain(backend.name, hits, conf, coverage, label, named,
                        SMALL_TALK_TEXT if chat else "")
    return _draft(Draft, backend.name, hits, conf, coverage, plan)


def neighbour_places(backend, bare: str, plan: Plan, subject: Subject,
                     hits: Sequence[Hit], named: list[int]) -> list[int] | None:
    """``None`` when the plan's lead is about the subject; else the lead is about a
    neighbour, and the ranks of the hits that name the subject: those writing a rare name
    the lead never writes (``unwritten_name``), or, for a lead close to the question in
    wording only whose passage is too (``neighbour_lead``) and no key point can replace
    (``on_subject_point``), the passages that name it (``named``) or else the syllabus
    lines that list a rare key term (may be empty)."""
    if rare := unwritten_name(backend, bare, plan.lead):
        return [r for r, h in enumerate(hits)
                if re.search(rf"\b{re.escape(rare)}", h.chunk.text, re.I)]
    if neighbour_lead(backend, plan.lead, subject) \
            and not on_subject_point(backend, plan, subject):
        return named or listing_passages(backend, subject, hits)
    return None


# A name written in mixed case ("ColBERT", "HyDE"), anywhere in the question.
_MIXED_CASE = re.compile(r"\b[\w-]*(?:[a-z][A-Z]|[A-Z]{2,}[a-z])[\w-]*")
# A capitalised word inside a sentence, not its first word ("How does Reflexion ..."); an
# author ("by Karras et al.") is no name of a method.
_CAPITALISED = re.compile(r"(?<=[a-z0-9,;'] )(?<!\bby )[A-Z][a-z]{3,}\b(?! et al\b)")

# The one-word topic a question opens with as a label ("Hyena: how do its ...", "sparsegpt -
# how does it prune ...").
_LABEL = re.compile(r"^\W*([A-Za-z][\w.]*(?:-\w+)*)(?=\s*:\s|\s+[-–—]\s)")


def unwritten_name(backend, bare: str, lead) -> str:
    """A rare name the question writes capitalised inside a sentence ("How does Reflexion
    let agents learn ...?"), in mixed case anywhere ("ColBERT is often recommended ...")
    or as the label it opens with ("Hyena: how do its ...", unless a known paper's name)
    that the lead, its card and its passage never write, or write only as a bare item of
    a list: the answer would be about a neighbour.  The name as written, '' when none."""
    cut = backend.focus.coined_weight * backend.max_idf
    near = backend.composer.table.around(lead.sentence)
    names = getattr(backend, "names", None)
    label = [w for w in _LABEL.findall(bare) if names is None or not names.found(w)]
    own = backend.composer.table.terms[lead.sentence]
    for word in _CAPITALISED.findall(bare) + _MIXED_CASE.findall(bare) + label:
        stems = [t for t in backend._tokenize(word) if backend.idf.get(t, 0.0) >= cut]
        if stems and (not any(w.startswith(t) for w in near for t in stems)
                      or listed(re.sub(r"\s+[—–]\s+", ": ", lead.text), word)
                      or lead.focus < backend.focus.stray_focus  # its passage names it
                      and not any(w.startswith(t) for w in own for t in stems)):
            return word
    return ""


def neighbour_lead(backend, lead, subject: Subject) -> bool:
    """Is the lead close to the question in wording only (``wording_only``: under
    ``stray_focus`` of the subject's terms) while its card or passage writes none of the
    subject's key terms either?  Then it is about a neighbour ("1-step generation with
    optional refinement steps" for "why do VAEs need the reparameterization trick?", an
    instruction-search card for "how does speculative decoding's draft model ...")."""
    table = backend.composer.table
    return wording_only(lead.focus, backend.focus.stray_focus, subject.key,
                        table.around(lead.sentence))


def on_subject_point(backend, plan: Plan, subject: Subject) -> bool:
    """Make the first key point that is no neighbour (``neighbour_lead``) the lead in
    place of a lead that is one ("With alpha = 0.8 and gamma = 4 a single target call
    yields 3.36 tokens on average" over "Drafting eight tokens produces more tokens per
    call ..."); False when every point is one too."""
    point = next((c for c in plan.points if not neighbour_lead(backend, c, subject)), None)
    if point is None:
        return False
    plan.points.remove(point)
    plan.lead, plan.leads = point, [point, *plan.leads[1:]]
    return True


def listing_passages(backend, subject: Subject, hits: Sequence[Hit]) -> list[int]:
    """Ranks of the hits whose syllabus line lists a rare key term of the question
    ("- Reparameterization trick"): where the material names a subject it does not
    explain."""
    cut = backend.focus.coined_weight * backend.max_idf
    rare = [k for k in subject.key if backend.idf.get(k, 0.0) >= cut]
    return [r for r, h in enumerate(hits) if any(backend.lists_name(h, {k}) for k in rare)]


# "how does it compare to ...", "is it better than ...", "and how do they differ from ...":
# the pronoun is one side (not "the RL algorithm it relies on")
_COMPARED_PRONOUN = re.compile(r"^\W*(?:and\s+|but\s+|so\s+)?(?:\w+\s+){0,2}"
                               r"(?:it|they|this|these)\b", re.I)


def with_antecedent(intent: Intent, question: str) -> Intent:
    """A follow-up comparing "it" with one named item ("how does it compare to QLoRA?
    (LoRA low-rank adaptation ...)") compares the conversation's subject, the first name
    retrieval appended, with it."""
    bare = bare_question(question)
    if "comparison" not in intent.kinds or len(intent.items) != 1 \
            or not _COMPARED_PRONOUN.match(bare):
        return intent
    named = [n for n in appended_names(question) if n.lower() != intent.items[0].lower()]
    return Intent(intent.kinds, (named[0], *intent.items), intent.clauses) if named else intent


def naming_passages(backend, subject: Subject, question: str,
                    hits: Sequence[Hit]) -> list[int]:
    """Ranks of the hits that *name* the question's subject (for a ``mentioned`` answer):
    one sentence or line holds its key terms, the names written as one unit that hold
    them (all of "Black-Scholes") and the question's own heavy words together ("cover
    letter": a passage about "last-letter concatenation" does not name it), acronyms
    counting spelled out (``ExtractiveBackend.passage_names``); or a syllabus line lists
    the name the question writes as one ("- WGAN/WGAN-GP").  A word the material never
    uses ("How do I fix a flat tyre?") is named nowhere.  A subject the question names as
    one unit ("multi-query attention", "MQA", "ColBERT": ``named_units``,
    ``coined_names``) is named where a passage writes that unit."""
    key, bare = subject.key, bare_question(question)
    units, names = named_units(subject), coined_names(bare, subject)
    if units or names:  # "multi-query attention", "MQA", "ColBERT": where the material
        return [r for r, h in enumerate(hits)  # writes it as one unit
                if any(writes_joined(h.chunk.text, u) for u in units)
                or any(regex(rf"(?<![\w-]){re.escape(n)}(?!\w)").search(h.chunk.text)
                       for n in names)]
    own = text_anchors(backend, bare)
    known = glossary_stems()
    if not key or subject.anchors.weights[key[0]] < SPECIFIC \
            or any(t not in known for t in own.missing):
        return []
    name = next((set(w) for w in named_words(bare) if key[0] in w), set())
    heavy = {t for t, w in own.weights.items() if w >= backend.focus.named_weight}
    wanted = set(key).union(heavy, name, *(n for n in subject.names if n & set(key)))
    pairs = adjacent_pairs(backend._tokenize(bare), wanted, set(subject.anchors.weights))
    if not pairs and common_word(backend, bare, wanted):  # "How does the internet work?":
        return [r for r, h in enumerate(hits)  # only a syllabus line or heading names it
                if backend.lists_name(h, wanted)
                or wanted <= set(backend._tokenize(h.chunk.section))]
    return [r for r, h in enumerate(hits)
            if wanted <= backend.passage_names(h) and backend.names_together(h, wanted)
            and writes_pairs(backend, h, pairs, wanted)
            or name and backend.lists_name(h, name)]


def common_word(backend, bare: str, wanted: set[str]) -> bool:
    """Is the one term wanted written in the question as a lower-case common English word
    ("internet", "perplexity"), not a name?  Prose using it ("from the internet") does not
    name it as a subject."""
    words = [w for w in re.findall(r"[\w'-]+", bare) if set(backend._tokenize(w)) == wanted]
    dictionary = getattr(backend, "dictionary", frozenset())
    return len(wanted) == 1 and bool(words) and all(
        w.islower() and w in dictionary for w in words)


def adjacent_pairs(tokens: Sequence[str], wanted: set[str],
                   anchors: set[str]) -> set[frozenset[str]]:
    """The pairs of subject terms, one of them wanted, the question writes next to each
    other ("classical conditioning", "cells divide")."""
    return {frozenset(p) for p in zip(tokens, tokens[1:])
            if set(p) <= anchors and set(p) & wanted and p[0] != p[1]}


def writes_pairs(backend, hit: Hit, pairs: set[frozenset[str]], wanted: set[str]) -> bool:
    """Does the passage write each pair next to each other in one sentence or line, in
    either order (``ExtractiveBackend.passage_pairs``), or list its wanted term on a
    syllabus line ("Efficient generation (beam, nucleus)")?  A passage naming the subject
    writes its phrase: YOLO "divides" an image into cells, it does not name "cells
    divide"."""
    written = backend.passage_pairs(hit) if pairs else frozenset()
    return all(p in written or backend.lists_name(hit, set(p & wanted)) for p in pairs)


def named_units(subject: Subject) -> list[str]:
    """The names a question gives its subject as one unit: the hyphenated word it opens
    with ("multi-query") and an acronym among its key terms with its long form ("MQA",
    "multi-query attention")."""
    key = set(subject.key)
    units = [name for name, stems in subject.joined if stems & key]
    short = {a.stem for a in subject.expanded if a.long & key or a.stem in key}
    for a in subject.expanded:
        if len(a.long_form.split()) >= 2 and a.written.lower() in short:
            units += [a.long_form, a.written]
    return list(dict.fromkeys(units))


def coined_names(bare: str, subject: Subject) -> list[str]:
    """Names the question writes with capitals inside ("ColBERT", "HyDE", "CQL") that are
    among its key terms, as written (matched case-sensitively: "STaR" is no "start")."""
    words = [re.sub(r"['’]s$", "", w) for w in re.findall(r"[\w'’-]+", bare)[1:]]
    return [w for w in dict.fromkeys(words) if re.search(r"[A-Z].*[A-Z]|[a-z][A-Z]", w)
            and w.lower() in subject.coined | set(subject.key)]


def single(composer: Composer, intent: Intent, cands: Sequence[Candidate], label: str,
           subject: Subject, clauses: dict[str, Subject] | None = None) -> Plan:
    """One subject: the lead answers the primary intent (about the first clause's
    subject), then the other intents, then supporting key points."""
    clauses = clauses or {}
    plan = Plan(composer.lead(cands, intent.primary, subject, clauses.get(intent.primary)))
    if plan.lead is None:
        return plan
    for kind in intent.kinds[1:]:
        extra = composer.best_for(cands, kind, plan.leads, clauses.get(kind),
                                  clauses.get(intent.primary, subject))
        if extra is None:
            plan.missing.append(kind)
        elif len(plan.leads) < 2:
            plan.leads.append(extra)
        else:
            plan.points.append(extra)
    if intent.primary == "limitations" and composer.table.fit(plan.lead.sentence,
                                                              "limitations") < 0.5:
        own = clauses.get(intent.primary) or subject
        limit = composer.best_for(cands, "limitations", [], own) \
            or weakness_fixed(composer, cands, own)
        if limit is not None:  # a limitation to lead with, however less focused than
            plan.lead, plan.leads = limit, [limit, *(c for c in plan.leads if c is not limit)]
        else:  # the best sentence: before saying there is none
            plan.missing.append("limitations")
            plan.note, plan.note_first = _LIMITS_NOTE.format(s=label), True
    room = composer.settings.max_points - len(plan.points)
    plan.points += composer.points(cands, plan.leads + plan.points, room,
                                   clauses.get(intent.primary) or subject)
    _second_sentence(composer, plan, intent.primary, cands, subject)
    return plan


def weakness_fixed(composer: Composer, cands: Sequence[Candidate],
                   subject: Subject) -> Candidate | None:
    """A weakness of the subject that a newer method's card gives as its motivation ("DPO:
    standard RLHF ... a pipeline that is complex and often unstable"; "DeepSeekMoE
    addresses a weakness of conventional top-K mixture-of-experts layers ...") for "what
    are the limitations of RLHF / MoE?": limitation wording in a card's background or
    problem that writes every key term of the subject, on a card not named by it."""
    t = composer.table
    key = set(subject.key) - set(subject.spelled or ())  # "RLHF", not also its long form
    for c in cands:
        i = c.sentence
        if t.facet[i] in ("background", "problem") and _LIMITING_WORDS.search(t.text[i]) \
                and key and key <= set(t.terms[i]) and not _names_it(t, i, key) \
                and composer.acceptable(c, subject, "limitations"):
            return c
    return None


def _names_it(table, i: int, key: set[str]) -> bool:
    """Does the short name of sentence ``i``'s card or section (its title before a colon,
    "DeepSeekMoE") write a key term?"""
    name = table.subject_name[i].split(" | ")[0].split(":")[0].lower()
    return any(w.startswith(k) for w in re.findall(r"[a-z0-9]+", name) for k in key)


def _second_sentence(composer: Composer, plan: Plan, intent: str,
                     cands: Sequence[Candidate] = (), subject: Subject | None = None) -> None:
    """A short direct answer gets a second sentence: the best key point of the lead's own
    card or section that also answers the question's kind, when both read as one short
    paragraph (else the best such candidate that is not yet a point and repeats nothing:
    a label line like "Key idea: retrieve documents" may hold the point slot).  A
    statement comes first; another line of the lead's own code-dictionary entry may
    follow it even as a fragment ("Layer-wise reconstruction with Hessian approximation");
    a bare label line, another passage's definition of the subject; the lead's own next
    sentence, even one that leans on it ("Each of its 2,294 task instances ...")."""
    t, cfg = composer.table, composer.settings
    if len(plan.leads) != 1 or plan.note_first:
        return
    words = len(plan.lead.text.split())
    floor = plan.lead.score - composer.answer_settings.support_margin - cfg.facet_weight

    def fits(c: Candidate, loose: bool) -> bool:
        lone_step = layout.STEP.match(c.text) and not layout.STEP.match(plan.lead.text)
        after = follows_lead(t, c, plan.lead)
        return ((t.unit[c.sentence] == t.unit[plan.lead.sentence] or defining(c))
                and (t.statement[c.sentence] or after
                     or loose and same_entry(t, c, plan.lead))
                and c.facet != "hint" and not c.text.rstrip().endswith("?")
                and not lone_step  # "Then these documents ..." after no first step
                and t.fit(c.sentence, intent) >= (0.4 if after else 0.5)
                and words + len(c.text.split()) <= cfg.lead_words)

    def defining(c: Candidate) -> bool:  # "Paged optimizers for memory efficiency": a
        # bare label line is followed by another passage's definition of its subject
        return intent == "definition" and not t.statement[plan.lead.sentence] \
            and subject is not None and subject.focused and bool(subject.key) \
            and set(subject.key) <= set(t.terms[c.sentence]) \
            and (defines(c.text, subject.key[0]) or described(c.text, subject.key[0]))

    def more(c: Candidate) -> bool:  # not yet a point: close and new
        return (c.score >= floor or defining(c)) and c not in plan.used \
            and (c.focus >= cfg.point_focus or same_entry(t, c, plan.lead)
                 or follows_lead(t, c, plan.lead) and not t.statement[c.sentence]) \
            and not composer._redundant(c, plan.used)

    for loose in (False, True):
        found = next((c for c in plan.points if fits(c, loose)), None) \
            or next((c for c in cands if fits(c, loose) and more(c)), None)
        if found is not None:
            if found in plan.points:
                plan.points.remove(found)
            plan.leads.append(found)
            if any(layout.STEP.match(x.text) for x in plan.leads):  # "First, ... Second"
                plan.leads.sort(key=lambda x: x.sentence)
            return


def follows_lead(table, c: Candidate, lead: Candidate) -> bool:
    """Is ``c`` the next sentence of the lead's own prose passage (not of a code
    dictionary's list of entries)?"""
    return c.sentence == lead.sentence + 1 and table.chunk[c.sentence] == table.chunk[
        lead.sentence] and not table.keyed[c.sentence] and not table.keyed[lead.sentence]


def described(text: str, term: str) -> bool:
    """Does ``text`` say what the things named by ``term`` (a stem) do, in a relative
    clause ("paged optimizers that use NVIDIA unified memory to absorb memory spikes")?"""
    return re.search(rf"\b{re.escape(term)}[\w-]*\s+[a-z-]+s\s+(?:that|which)\s+"
                     r"(?!is\b|are\b|was\b|were\b)[a-z]+\b", text, re.I) is not None


def same_entry(table, c: Candidate, lead: Candidate) -> bool:
    """Is ``c`` another line of the lead's own code-dictionary entry (under the same key
    of the same passage: "methodology" after "contribution" of "sparsegpt")?  It is about
    the lead's subject however little of the question's wording it repeats."""
    keys = table.keyed[lead.sentence]
    return bool(keys) and table.keyed[c.sentence] == keys \
        and table.chunk[c.sentence] == table.chunk[lead.sentence]


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
             named: Sequence[int], text: str = ""):
    from rag.answer.extractive import ABSTAIN_TEXT, Draft, build_citations, citation_order

    if coverage == "mentioned" and named:
        order = citation_order(list(named), len(hits))
        places = [(n, _place(hits[r])) for n, r in enumerate(order[: len(named)], start=1)]
        cited = set(named)
        text = layout.mentioned_text(subject, places[:4])
        return Draft(text, build_citations(hits, order, cited, {}), True, name, conf,
                     coverage=coverage)
    order = citation_order([], len(hits))
    return Draft(text or ABSTAIN_TEXT, build_citations(hits, order, set(), {}), True, name,
                 conf, coverage="none")


def _place(hit: Hit) -> str:
    section = hit.chunk.section.rsplit(" › ", 1)[-1] if hit.chunk.section else ""
    return f"{hit.chunk.title}" + (f" › {section}" if section and section != hit.chunk.title
                                   else "")
