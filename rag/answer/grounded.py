"""Grounded composition: pick the sentences that answer *this* question about *its*
subject, decide coverage, and lay the answer out (``rag.answer.compose``).

``rag.answer.sentences.SentenceTable`` holds what is known of every index sentence at
load time; ``Composer`` picks the lead and the key points among scored candidates
(``rag.answer.focus.plan_answer`` drafts the answer from them).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from rag.answer import compose as layout
from rag.answer.clauses import asks_other_kind, clause_share, writes_clause
from rag.answer.coverage import (
    SPECIFIC,
    Anchors,
    defines,
    focus,
    leaves_acronym,
    listed,
    states_count,
    wording_only,
)
from rag.answer.intent import Intent
from rag.answer.sentences import SentenceTable
from rag.answer.subject import Subject
from rag.answer.versions import (
    interposed,
    other_name,
    other_version,
    prefixed_only,
    variant_only,
)
from rag.settings import AnswerSettings, FocusSettings

_REASON_CUE = re.compile(r"\b(?:because|since|so that|as a result|the reason|due to|thanks "
                         r"to|which is why|in order to)\b", re.I)
@dataclass(frozen=True)
class Candidate:
    """A sentence that could go into the answer, with what makes it fit."""

    hit_rank: int
    sentence: int
    text: str  # as an answer shows it
    score: float
    cosine: float
    facet: str = ""  # facet ("hint": a discussion point's answer; a card's method: "")
    focus: float = 0.0
    explained: float = 0.0
    source_text: str = ""  # as its passage has it (for highlighting)


# Intents whose lead is the passage's sentence of the best-fitting facet (its results),
# not merely the first that fits (for "how does X work", its method).
_BEST_FACET = frozenset({"results", "verdict", "mechanism"})


class Composer:
    """Chooses lead, key points and comparison cells from scored candidates."""

    def __init__(self, table: SentenceTable, vectors: np.ndarray, answer: AnswerSettings,
                 settings: FocusSettings):
        self.table = table
        self.vectors = vectors
        self.answer_settings = answer
        self.settings = settings

    def rescore(self, cands: Sequence[Candidate], intent: Intent, anchors: Anchors,
                key: Sequence[str]) -> list[Candidate]:
        """Candidates with facet fit and subject focus added to their score, best first."""
        t, cfg = self.table, self.settings
        out = []
        for c in cands:
            i = c.sentence
            fit = t.fit(i, intent.primary)
            foc = focus(anchors, t.terms[i], t.subject[i])
            expl = t.explained(i, anchors, key)
            shown = "" if t.facet[i] == "method" and not t.labelled[i] else t.facet[i]
            out.append(Candidate(c.hit_rank, i, c.text, c.score + cfg.facet_weight * fit
                                 + cfg.focus_weight * foc, c.cosine, shown, foc, expl,
                                 c.source_text))
        return sorted(out, key=lambda c: (-c.score, c.hit_rank, c.sentence))

    def acceptable(self, c: Candidate, subject: Subject, intent: str = "") -> bool:
        """May ``c`` lead an answer about ``subject``?  It explains the subject (and is
        not far off the question), or it is semantically close to the question: very
        close for a focused question, close for a descriptive one.  Never a sentence about
        another version of a versioned name ("Llama 2 ..." for "What is Llama 3?")."""
        cfg, t, i = self.settings, self.table, c.sentence
        if subject.version[0] and other_version(t.text[i], t.subject_name[i], *subject.version):
            return False
        if not self.names_coined(c, subject):
            return False  # "How does WGAN-GP's gradient penalty ...": not PPO's clipping
        if subject.words <= cfg.short_words and self.unnamed_acronym(c, subject):
            return False  # "Why does MQA speed up decoding?": not RT-DETR's decoder layers
        if t.tagline[i] and not set(subject.key) & t.subject[i]:
            return False  # "Neuromorphic Computing: brain-inspired hardware": not the brain's
        if self._close_enough(c, subject, intent) and t.explains(i, subject):
            return True
        if t.tagline[i] or t.topic_item[i]:
            return False  # a few words under a heading: only about that heading's subject
        if c.cosine >= cfg.lead_floor and self._gives_reason(c, subject, intent):
            return True  # "why did Transformers replace RNNs?": "Because ... than with RNNs"
        if self.pointed_to(c, subject):
            return True
        if not subject.focused and c.focus >= 0.99 and c.cosine >= cfg.lead_floor:
            return True  # every word of a descriptive question ("update ... without retraining")
        return c.cosine >= (cfg.lead_cosine if subject.focused else cfg.descriptive_cosine) \
            and not self.off_short_subject(c, subject)

    def pointed_to(self, c: Candidate, subject: Subject) -> bool:
        """Is ``c`` in the passages the question points to: any sentence of the paper it
        names ("in the Transformer paper"), of the name it asks inside ("What is double
        quantization in QLoRA?"), or of the own card of the known name a focused question
        is about ("How does the transformer work?")?"""
        t = self.table
        if subject.paper and subject.paper == t.card_name[c.sentence]:
            return True
        if subject.within and t.chunk[c.sentence] in subject.within:
            return True
        return t.unit[c.sentence] in self.table.home_cards(subject)

    def off_short_subject(self, c: Candidate, subject: Subject) -> bool:
        """Is ``c`` off the subject of a short (``short_words``) focused question, however
        close its wording?  It leaves unwritten a hyphenated name the question writes
        ("What is multi-query attention?": not "Multi-head attention ..."), or the heaviest
        key term is rare and ``c`` (its card and passage too) names no rare key term ("Why
        do LLMs hallucinate?": not a sentence about open LLMs); a word sharing a term's
        first five letters counts ("superposed" for "superposition")."""
        if not subject.focused or not subject.key or subject.words > self.settings.short_words:
            return False
        if self.table.splits_joined(c.sentence, subject):
            return True
        weights = subject.anchors.weights
        if len(subject.key) > 3 or weights.get(subject.key[0], 0.0) < SPECIFIC:
            return False
        near = self.table.around(c.sentence)
        rare = [t for t in subject.key if weights.get(t, 0.0) >= SPECIFIC]
        return not any(w.startswith(t[:5]) for w in near for t in rare)

    def names_coined(self, c: Candidate, subject: Subject) -> bool:
        """Does ``c``, its paper's card or its guide passage (their sentences, their
        subject) name one of the rare names the question writes ("CQL", "HyDE"; "RNN" in
        "RNNs"), when it writes any?"""
        if not subject.coined:
            return True
        words = self.table.around(c.sentence)
        return any(w.startswith(t) for w in words for t in subject.coined)

    def leaves_coined(self, c: Candidate, subject: Subject) -> bool:
        """Does a supporting point leave unnamed (itself, its card and its passage) every
        coined word name the question writes ("HyDE": not RAG's own points; "AdaLoRA": not
        LoRA's; "SparseGPT": not the line under "wanda:" of the same code dictionary)?
        Names of three letters or more that open with one: "BA" of "ΔW = BA" or "48GB" is
        no name."""
        coined = {t for t in subject.coined if len(t) >= 3 and t[0].isalpha()}
        if not coined:
            return False
        t = self.table  # a line under a code dictionary's key is about that key only
        words = {*t.terms[c.sentence], *t.keyed[c.sentence]} if t.keyed[c.sentence] \
            else self.table.around(c.sentence)
        return not any(w.startswith(t) for w in words for t in coined)

    def other_method(self, c: Candidate, subject: Subject) -> bool:
        """Does ``c``, its card and its passage leave unnamed the paper or method the
        question names ("How does Tree of Thoughts explore ...": CoT-decoding's card)?  In a
        focused question a name with a version ("How big is GPT-3?") is named only by its
        own passages (not by Codex's card, which compares with GPT-3)."""
        t = self.table
        if not subject.method or t.chunk[c.sentence] in subject.method_home:
            return False
        home = t.home_units(subject) if t.on_card[c.sentence] else set()
        if home and t.home_cards(subject):  # "What is a transformer?": not ViT's card
            return t.unit[c.sentence] not in home
        if home:  # a name the guide explains ("test-time compute scaling"): not another
            return not subject.method <= t.named_as[c.sentence]  # paper's card (s1's,
            # DeepSeekMoE's for "mixture of experts"), unless its name is the method's
        return subject.versioned and subject.focused \
            or not subject.method <= self.table.around(c.sentence)

    def _defines_it(self, c: Candidate, subject: Subject, intent: str) -> bool:
        """A definition of the subject ("HumanEval, a new benchmark of 164 hand-written
        Python problems") answers "what is X?" however little the embedding model knows
        the name (cosine 0.1)."""
        return intent == "definition" and subject.focused and bool(subject.key) \
            and defines(self.table.text[c.sentence], subject.key[0])

    def _gives_reason(self, c: Candidate, subject: Subject, intent: str) -> bool:
        """A "why" question's answer: a sentence that gives a reason ("because", "since",
        "so that" ...) about the question's heaviest key term, however far its wording."""
        return intent in ("reason", "problem") and bool(subject.key) \
            and subject.key[0] in self.table.terms[c.sentence] \
            and _REASON_CUE.search(self.table.text[c.sentence]) is not None

    def _close_enough(self, c: Candidate, subject: Subject, intent: str) -> bool:
        """Close enough to the question for a sentence that explains the subject: its
        cosine, or one of the subject's own fields or definitions that answers the intent
        however far its wording."""
        return c.cosine >= self.settings.lead_floor or self._states_field(c, subject, intent) \
            or self._defines_it(c, subject, intent)

    def _states_field(self, c: Candidate, subject: Subject, intent: str) -> bool:
        """A limitation of the subject answers "what are its weaknesses?" however far its
        wording is from the question's ("localizes small objects less precisely"); so do
        the problem, method and key-idea fields of its own entry "what problem does it
        address, and how?", "what is it?" ("Outlier activations make quantization
        difficult", "Smooth activation distribution by moving outliers to weights" for
        SmoothQuant; "AI-discovered optimizer outperforming Adam" for Lion)."""
        t = self.table
        own = bool(subject.key) and subject.key[0] in {*t.keyed[c.sentence],
                                                        *t.card_name[c.sentence]}
        if intent == "results":  # only the subject's own entry ("glam: results: ...")
            return own and t.fit(c.sentence, intent) >= 1.0
        if intent == "definition" and own and t.keyed[c.sentence]:  # a code dictionary's
            return t.fit(c.sentence, intent) >= 0.5  # entry is what its fields say it is
        return intent in ("limitations", "problem", "mechanism", "definition") \
            and t.fit(c.sentence, intent) >= 1.0

    def explaining(self, cands: Sequence[Candidate], subject: Subject, intent: str = "") -> bool:
        """Does some candidate explain the subject (not merely name it)?"""
        return any(self.acceptable(c, subject, intent) and self._close_enough(c, subject, intent)
                   and self.table.explains(c.sentence, subject) for c in cands)

    def lead(self, cands: Sequence[Candidate], intent: str, subject: Subject,
             clause: Subject | None = None) -> Candidate | None:
        """The best acceptable candidate for the subject of the (first) clause; one whose
        facet answers ``intent`` wins over one that does not."""
        own = clause or subject

        def rank(c: Candidate) -> float:  # focus on this clause's subject, not the others'
            score = c.score + self.shape(c, own, intent)
            if clause is None:
                return score
            mine = focus(clause.anchors, self.table.terms[c.sentence],
                         self.table.subject[c.sentence])
            return score + self.settings.focus_weight * (mine - c.focus)

        t = self.table
        strays = frozenset(c.sentence for c in cands if self.asks_another(c, own, subject))
        ok = [c for c in cands if self.acceptable(c, own, intent)]
        # What keeps a sentence from leading ("In the X paper, ...": not of X's passage).
        flaws = {c.sentence: (wording_only(c.focus, self.settings.stray_focus, own.key,
                                           (*t.terms[c.sentence], *t.subject[c.sentence])),
                              self.other_question(c, intent, strays), t.anaphoric[c.sentence],
                              t.about_variant(c.sentence, own),
                              self.unnamed_acronym(c, own),
                              own.focused and (not t.explains(c.sentence, own)
                                               or listed(c.text, own.phrase)),
                              self.out_of_scope(c, own),
                              t.list_entry[c.sentence], t.needs_antecedent[c.sentence],
                              self.other_method(c, own))
                 for c in ok}

        def off_ask(c: Candidate) -> bool:  # a follow-up's lead says what it asks about
            return bool(own.asked) and not own.asked & set(t.terms[c.sentence])
        accepted = sorted(ok, key=lambda c: (*flaws[c.sentence], off_ask(c),
                                             self.echoes(c, own, intent),
                                             not self.defining(c, own, intent),
                                             self.fragment(c, intent), -rank(c)))
        best = flaws[accepted[0].sentence] if accepted else ()
        fine = [c for c in accepted if all(a <= b for a, b in zip(flaws[c.sentence], best))]
        counting = [c for c in fine if states_count(c.text, own.counted) and accepted
                    and t.unit[c.sentence] == t.unit[accepted[0].sentence]]
        if counting:  # "how many experts?": the sentence that gives their number
            return counting[0]
        mates = self.unit_mates(cands, accepted, own)
        mates += self.asking_mates(cands, accepted, intent, mates, strays)
        return self.fitting_lead(accepted, intent, mates, fine, aspect=not own.focused,
                                 strays=strays)

    def asking_mates(self, cands, accepted, intent: str, mates, strays) -> list[Candidate]:
        """The best accepted sentence's section's own discussion point asking exactly this
        ("Limitations? Not all features are interpretable.")."""
        t = self.table
        unit = t.unit[accepted[0].sentence] if accepted else None
        return [c for c in cands if c.facet == "hint" and t.asks_kind(c.sentence, intent) == intent
                and t.unit[c.sentence] == unit and c not in accepted and c not in mates
                and c.sentence not in strays]

    def echoes(self, c: Candidate, subject: Subject, intent: str) -> bool:
        """Does ``c`` only say back what a "how" or "why" question asks ("Add spatial
        control to pretrained diffusion models" for "How does ControlNet add spatial
        conditioning ... to a pretrained diffusion model?": a third of its words new at
        most)?  It leads only when nothing more can."""
        if intent not in _ECHO_INTENTS:
            return False
        own = set(self.table.terms[c.sentence])
        new = own - set(subject.anchors.weights) - set(subject.anchors.missing)
        return len(own) >= 3 and 3 * len(new) <= len(own)

    def other_question(self, c: Candidate, intent: str, strays: frozenset[int]) -> bool:
        """A discussion point of another kind than ``intent``, or asking about another
        thing (``strays``)."""
        asks = self.table.asks_kind(c.sentence, intent)
        return c.facet == "hint" and (c.sentence in strays or asks != intent
                                      and not (asks == "" and c.explained))

    def other_key(self, c: Candidate, subject: Subject) -> bool:
        """Is ``c`` a line under a code dictionary's key ("wanda": {...}) while the
        question names another key of that dictionary ("how does sparsegpt prune")?"""
        t, asked = self.table, subject.anchors.weights.keys()
        mine = t.keyed[c.sentence]
        return bool(mine) and not mine & asked and bool(
            (t.chunk_keys.get(t.chunk[c.sentence], set()) - mine) & asked)

    def asks_another(self, c: Candidate, *subjects: Subject) -> bool:
        """Is ``c`` a discussion point whose question shares no term with the question's
        ("Why load balancing matters? ..." for "why route each token to one expert?")?"""
        asks = self.table.asks[c.sentence]
        return bool(asks) and not any(asks & s.anchors.weights.keys() for s in subjects)

    def unit_mates(self, cands: Sequence[Candidate], accepted: Sequence[Candidate],
                   subject: Subject) -> list[Candidate]:
        """Statements of the best lead's own card or section that explain the subject but
        are phrased far from the question ("How was Whisper trained?" -> "The authors
        collected 680,000 hours of audio ..."): they may lead when their facet fits."""
        if not accepted:
            return []
        t, unit = self.table, self.table.unit[accepted[0].sentence]
        return [c for c in cands if c not in accepted and t.unit[c.sentence] == unit
                and c.cosine >= self.settings.unit_floor and t.statement[c.sentence]
                and not t.anaphoric[c.sentence] and t.explains(c.sentence, subject)]

    def fitting_lead(self, accepted: Sequence[Candidate], intent: str,
                     mates: Sequence[Candidate] = (),
                     fine: Sequence[Candidate] | None = None,
                     aspect: bool = False, strays: frozenset[int] = frozenset()
                     ) -> Candidate | None:
        """The lead among ``accepted`` (best first): the sentence of the best one's paper
        card or guide section whose facet answers ``intent`` best (a "how" question about
        MemGPT gets the MemGPT card's method, not its framing; "Can X compete?" gets its
        results).  Another passage's fitting sentence leads only when it is as focused on
        the subject as the best one and has none of its flaws (``fine``: not a discussion
        point of another kind, not about another thing the subject's name contains);
        otherwise the best one leads.  A question about one ``aspect`` of its subject ("How
        does DeepSeek-V2's attention cut the KV cache?") gets the method of that aspect,
        not of another part (its MoE layers).  A discussion point asking another thing
        (``strays``) is no fitting lead."""
        if not accepted:
            return None
        top, fit = accepted[0], self.table.fit
        fits = [c for c in [*accepted, *mates] if intent and fit(c.sentence, intent) >= 0.5
                and c.sentence not in strays]
        if not fits:
            return top
        unit, t = self.table.unit[top.sentence], self.table
        fits = [c for c in fits if (t.anaphoric[top.sentence] or not t.anaphoric[c.sentence])
                and (t.needs_antecedent[top.sentence] or not t.needs_antecedent[c.sentence])]
        same = t.names[top.sentence]  # one entry of a many-method section ("qlora"), not
        pool = [c for c in fits if self.table.unit[c.sentence] == unit  # another ("switch")
                and (not same or t.names[c.sentence] == same)
                and not (c.facet == "hint"
                         and t.asks_kind(c.sentence, intent) not in ("", intent))] or \
            [c for c in fits if c.focus >= top.focus - self.settings.lead_focus_margin
             and (fine is None or c in fine or c in mates)]
        if not pool:
            return top
        if intent == "results" and max(fit(c.sentence, intent) for c in pool) < 1.0:
            # no sentence of the top passage states what was asked (its results): another
            # passage's that does, as focused and as flawless ("At release, leading systems
            # solved under 2%" of FrontierMath's card, not the guide's "labs focus on it")
            pool += [c for c in fits if fit(c.sentence, intent) >= 1.0 and c not in pool
                     and c.focus >= top.focus - self.settings.lead_focus_margin
                     and (fine is None or c in fine)]
        if intent not in _BEST_FACET:
            return pool[0]
        if aspect and intent == "mechanism":
            near = top.focus - self.settings.lead_focus_margin
            pool = [c for c in pool if c.focus >= near] or pool
        best = max(fit(c.sentence, intent) for c in pool)
        return next(c for c in pool if fit(c.sentence, intent) >= best)

    def defining(self, c: Candidate, subject: Subject, intent: str) -> bool:
        """For a "what is" question: does ``c`` define its subject ("X is ...", "X (gloss)")?
        A definition leads over other sentences about the subject."""
        if intent != "definition" or not subject.key or not defines(c.text, subject.key[0]):
            return False
        opening = self.table.terms[c.sentence][:8]  # every key term, named as the topic
        return all(k in opening for k in subject.key)

    def fragment(self, c: Candidate, intent: str = "") -> bool:
        """A fragment (a formula, a verbless predicate or label line) leads only when no
        statement can; a discussion point's own short answer reads with its question, and
        a guide field that is exactly what was asked reads as its answer ("How does RLHF
        work?" -> its "Approach:" field: "SFT (...), Reward Model (...), PPO (...)")."""
        i = c.sentence
        if self.table.statement[i] or c.facet == "hint":
            return False
        asked = bool(intent) and self.table.labelled[i] and self.table.fit(i, intent) >= 1.0
        return not (asked and len(c.text.split()) >= self.settings.field_words)

    def shape(self, c: Candidate, subject: Subject, intent: str) -> float:
        """How well a sentence reads as the direct answer: a statement rather than a
        fragment, and for "what is" questions a definition of the subject.  (A sentence
        that points back at an earlier one leads only when nothing else can.)"""
        cfg, i = self.settings, c.sentence
        bonus = 0.0 if self.table.statement[i] else -cfg.fragment_penalty
        if intent == "definition" and subject.key and defines(c.text, subject.key[0]):
            bonus += cfg.define_bonus
        if subject.paper and subject.paper == self.table.card_name[i]:
            bonus += cfg.paper_bonus  # "in the LoRA paper": the LoRA card itself
        return bonus

    def points(self, cands: Sequence[Candidate], chosen: list[Candidate],
               limit: int, subject: Subject | None = None) -> list[Candidate]:
        """Up to ``limit`` focused, non-redundant supporting sentences (none about another
        thing whose name contains the subject's, such as AdaLoRA for LoRA)."""
        cfg, ans = self.settings, self.answer_settings
        floor = chosen[0].score - ans.support_margin - cfg.facet_weight if chosen else -1.0
        name = subject.surface if subject and subject.focused else ""
        home = self.table.home_cards(subject) if subject else set()  # "What is a
        out: list[Candidate] = []  # transformer?": no points from ViT's or DiT's card
        for c in cands:
            if len(out) >= limit or c.score < floor:
                break
            if c.focus < cfg.point_focus or c.cosine < ans.min_support_score or (
                    home and self.table.on_card[c.sentence]
                    and self.table.unit[c.sentence] not in home):
                continue
            if name and (other_name(self.table.names[c.sentence], name)
                         or variant_only(self.table.text[c.sentence], name)
                         or interposed(self.table.text[c.sentence], name, subject.follows)
                         or prefixed_only(self.table.text[c.sentence], name,
                                          subject.anchors.weights)):
                continue
            if self._redundant(c, [*chosen, *out]) or subject and (
                    self.out_of_scope(c, subject) or self.splits_name(c, subject, chosen)
                    or self.leaves_coined(c, subject) or self.asks_another(c, subject)
                    or self.other_key(c, subject)):
                continue
            out.append(c)
        return out

    def splits_name(self, c: Candidate, subject: Subject, chosen: Sequence[Candidate]) -> bool:
        """Does ``c``, from another paper card or passage than the lead's, carry only
        part of a key name a focused question writes as one unit, its card or passage
        never naming all of it ("grouped-query attention": GraphRAG's "query-focused",
        FlashAttention's "queries")?  It is about something else.  (A measure such as
        "65-billion-parameter" is no name.)"""
        t = self.table
        if not subject.focused or chosen and t.unit[c.sentence] == t.unit[chosen[0].sentence]:
            return False
        present, key = self.table.around(c.sentence), set(subject.key)
        if any(name & key and not name <= present
               and not any(w[0].isdigit() for w in name) for name in subject.names):
            return True
        # "GQA": a point names the acronym or all of "grouped-query attention", not "queries"
        return leaves_acronym(subject, present)

    def unnamed_acronym(self, c: Candidate, subject: Subject) -> bool:
        """Does ``c`` (itself or its passage subject) leave unnamed the acronym a focused
        question names its subject by, written short or spelled out ("Why does GQA reduce
        memory?": not FlashAttention's "queries ... memory")?"""
        if not subject.focused or not subject.expanded:
            return False
        return leaves_acronym(subject, {*self.table.terms[c.sentence],
                                        *self.table.subject[c.sentence]})

    def out_of_scope(self, c: Candidate, subject: Subject) -> bool:
        """Outside the paper or name a question scopes itself to ("In the Flamingo paper,
        ...", "What is double quantization in QLoRA?"): a neighbour's sentence."""
        t = self.table
        return bool(subject.paper) and not subject.paper <= t.subject[c.sentence] \
            or bool(subject.within) and t.chunk[c.sentence] not in subject.within

    def best_for(self, cands: Sequence[Candidate], intent: str, exclude: Sequence[Candidate],
                 clause: Subject | None = None, first: Subject | None = None
                 ) -> Candidate | None:
        """The best candidate about the clause's subject whose facet answers ``intent``
        (for results and verdicts: of the best-fitting facet, so "how much can it help?"
        gets the paper's results rather than a guide line about its influence)."""
        fits = [c for c in cands
                if (self.acceptable(c, clause, intent)
                    or writes_clause(self, c, clause, first, exclude)
                    if clause else c.focus >= self.settings.point_focus)
                and self.table.fit(c.sentence, intent) >= 0.5
                and not asks_other_kind(self.table, c, intent)
                and not self._redundant(c, exclude)]
        t = self.table  # a reading list's entry or a pointing-back sentence comes last
        fits.sort(key=lambda c: (t.list_entry[c.sentence] or t.needs_antecedent[c.sentence],
                                 -t.fit(c.sentence, intent) if intent in _BEST_FACET else 0,
                                 -clause_share(t, c, clause, first) if intent == "results" else 0))
        return fits[0] if fits else None

    def _redundant(self, cand: Candidate, chosen: Sequence[Candidate]) -> bool:
        vec = self.vectors[cand.sentence]
        limit = self.answer_settings.redundancy_threshold
        return any(cand.sentence == c.sentence or cand.text in c.text or c.text in cand.text
                   or float(vec @ self.vectors[c.sentence]) >= limit for c in chosen)


_ECHO_INTENTS = frozenset({"mechanism", "reason", "usage"})


__all__ = ["Candidate", "Composer", "Subject", "defines", "layout"]
