"""What is known of every index sentence at load time (``SentenceTable``): its role and
facet, answer-ready text, stemmed terms and its passage's subject terms, and how well
its facet fits a question's intent (``facet_fit``).  ``rag.answer.grounded`` composes
answers from it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from rag.answer.coverage import (
    Anchors,
    can_explain,
    defines,
    explained_share,
    explains_subject,
    is_statement,
)
from rag.answer.intent import FACET_FIT, clause_intents
from rag.answer.subject import Subject
from rag.answer.topics import syllabus_items
from rag.answer.versions import (
    another_version,
    base_only,
    interposed,
    other_name,
    prefixed_only,
    regex,
    writes_joined,
)
from rag.corpus.antecedents import sums_up
from rag.corpus.context import is_resource_heading
from rag.corpus.linking import key as flat_key
from rag.corpus.roles import is_dict_key
from rag.search.query import normalize

LIMITING = re.compile(r"\b(?:limitation|drawback|struggl|cannot|can't|fail|expensive|costly|"
                       r"unstable|instabilit|hard to|difficult|bottleneck|trails?\b|not always|"
                       r"weak|overfit|hallucinat|lack|challeng|trade-off|slow|at the cost of|"
                       r"worse|degrad|suffer|sensitiv|brittle|although|less precise|"
                       r"less accurate|lags? behind)\w*", re.I)

_TRADE_OFF = re.compile(r"\btrade-?offs?\b", re.I)


class SentenceTable:
    """Per-sentence facts the composer needs, computed once from the loaded index."""

    def __init__(self, index, tokenize: Callable[[list[str]], list[list[str]]]):
        info = index.sentence_info
        self.text = [answer_text(s) for s in info]
        self.source = [s.text for s in info]
        self.facet = ["hint" if s.hint else s.facet for s in info]
        self.usable = [(s.is_fact and not s.needs_antecedent) or bool(s.hint) for s in info]
        self.terms = tokenize(self.text)  # a sentence's own words, even when it is shown
        self.terms = [[*t, *j] for t, j in zip(self.terms, _hyphens_joined(self.text, tokenize))]
        for i in after_antecedent(info):  # "Three techniques make this work: ..." reads
            self.text[i] = f"{self.text[i - 1]} {self.text[i]}"  # right after its antecedent
            self.usable[i] = True
        # "Together they allow ...", shown after the list it sums up, reads as one account
        self.needs_antecedent = [s.needs_antecedent and not sums_up(s.prose) for s in info]
        self.chunk = [s.chunk for s in info]
        self.unit = [_unit(index.chunks[s.chunk]) for s in info]
        spelled = spelled_out(info, self.unit)
        subjects = tokenize([normalize(f"{s.subject} {_heading(index.chunks[s.chunk])} "
                                       f"{_joined(s.subject)} {spelled.get(u, '')}")
                             for s, u in zip(info, self.unit)])  # "τ-bench" as "tau-bench"
        self.subject = [frozenset(t) for t in subjects]
        self.named_as = _named_as(info, self.unit, index, spelled, tokenize)
        # Limitation-like wording counts in plain statements and a card's background (the
        # problems of what came before it), not in a key idea, method or advantage.
        self.limiting = [bool(LIMITING.search(t)) and f in ("", "background")
                         for t, f in zip(self.text, self.facet)]
        # a section's tagline, named by its heading ("Federated Learning: train without
        # centralizing data."): about its heading's subject and nothing else, which it defines
        self.tagline = [bool(s.subject) and s.prose.startswith(f"{s.subject}: ")
                        and s.prose != s.text for s in info]
        self.able = [t or can_explain(s.prose, bool(s.label and s.facet) or bool(s.hint))
                     for s, t in zip(info, self.tagline)]
        self.statement = [is_statement(t) for t in self.text]
        self.hint_intent = [(clause_intents(s.prose) or [""])[0] if s.hint else "" for s in info]
        self.anaphoric = [bool(_ANAPHORA.match(t)) for t in self.text]
        self.list_entry = [bool(_LIST_ENTRY.match(t)) for t in self.text]
        self.topic_item = _topic_items(index, info, self.text, self.statement)
        self.labelled = [bool(s.label and s.facet) for s in info]
        self.names = [frozenset(re.findall(r"[\w-]+", s.subject.lower())) for s in info]
        # "SAM 2: Segment Anything in Images and Videos": a later version of SAM
        self.subject_name = [f"{s.subject} | {_heading(index.chunks[s.chunk])}"
                             for s in info]
        cards = self._cards(info, tokenize)
        self.keyed, self.chunk_keys = _dictionary_keys(info, cards, tokenize)
        self.asks = _asks(info, tokenize)
        self.chunk_counts = _chunk_counts(self.chunk, self.terms)
        self.unit_terms = _unit_terms(self.unit, self.terms)
        # "The architecture makes two changes." says nothing until the first is told: it
        # is shown with the next sentence (how it ranks is still its own)
        for i in announcing(info):
            self.text[i] = f"{self.text[i]} {self.text[i + 1]}"

    def _cards(self, info, tokenize) -> list[bool]:
        """Which sentences are a paper card's (``on_card``), each card sentence's card name,
        and each chunk's card or section (``unit_of``)."""
        self.on_card = [_is_card(u) for u in self.unit]
        self.card_name = [frozenset(t) if card else frozenset()
                          for t, card in zip(tokenize([s.subject for s in info]), self.on_card)]
        self.unit_of = dict(zip(self.chunk, self.unit))
        return self.on_card

    def explained(self, i: int, anchors: Anchors, key: Sequence[str]) -> float:
        """Share of the key terms sentence ``i`` explains (rag.answer.coverage.explains)."""
        return explained_share(anchors, key, self.terms[i], self.subject[i],
                               self.chunk_counts.get(self.chunk[i], {}))

    def fit(self, i: int, intent: str) -> float:
        """How well sentence ``i``'s facet answers ``intent`` (``facet_fit``); a discussion
        point's answer fits only the kind of question it answers ("Why ...?")."""
        facet, asks = self.facet[i], self.asks_kind(i, intent)
        if facet == "hint" and (asks not in ("", "definition", intent)
                                or (intent in ("limitations", "reason") and asks != intent)):
            facet = ""  # "What rank to choose? 4-64" is no limitation, "Zero-shot CoT?
            # 'Let's think step by step'" no reason
        if facet == "method" and not self.labelled[i] and intent != "mechanism":
            facet = ""  # a card's own account of how only matters to "how does it work"
        if facet == "problem" and intent == "usage" and self.text[i].rstrip().endswith("?"):
            facet = ""  # "Problem: How to use unlabeled text for pre-training?" answers no usage
        return facet_fit(intent, facet, self.limiting[i])

    def asks_kind(self, i: int, intent: str) -> str:
        """The kind of question discussion point ``i`` asks; one about trade-offs ("SSM
        vs attention trade-offs? Recall, in-context learning, efficiency.") also answers
        where something falls short (``intent`` "limitations")."""
        if intent == "limitations" and self.facet[i] == "hint" \
                and _TRADE_OFF.search(self.text[i]):
            return intent
        return self.hint_intent[i]

    def about_variant(self, i: int, subject: Subject) -> bool:
        """Is sentence ``i`` about a later version of the subject, another name containing
        it ("FlashAttention-2" for a follow-up about FlashAttention), or only the base of
        its name ("DeepSeek-R1" for R1-Zero)?"""
        name = subject.surface  # "Llama 2": the Llama 2 card is the subject, Llama 3 is not
        if another_version(self.text[i], self.subject_name[i], name, subject.version):
            return True
        if name and (interposed(self.text[i], name, subject.follows)
                     or self.prefixed(i, name, subject.anchors.weights)):
            return True  # "Multi-head Latent Attention" is not multi-head attention, nor
            # "Switch Transformer" the transformer
        return not subject.version[0] and bool(name) and (
            base_only(self.text[i], name) or other_name(self.names[i], name))

    def prefixed(self, i: int, name: str, asked) -> bool:
        """Does sentence ``i`` name ``name`` only inside a longer name ("Switch Transformer"),
        or, naming it nowhere, belong to such a name's passage ("Each input token is
        processed by a router ..." under "Switch Transformer")?"""
        if prefixed_only(self.text[i], name, asked):
            return True
        return not regex(rf"(?<![\w-]){re.escape(name)}", re.I).search(self.text[i]) \
            and prefixed_only(self.subject_name[i].split(" | ")[0], name, asked)

    def around(self, i: int) -> set[str]:
        """The terms of sentence ``i``, its subject, and its paper card's (a card is
        about one paper) or else its guide passage's."""
        t = self
        near = t.unit_terms.get(t.unit[i], ()) if t.card_name[i] else \
            t.chunk_counts.get(t.chunk[i], ())
        return {*t.terms[i], *t.subject[i], *near}

    def home_units(self, subject: Subject) -> set[str]:
        """The cards and guide sections of the known name a focused question is about."""
        if not subject.focused or not subject.method or not subject.method <= set(subject.key):
            return set()
        return {u for ch in subject.method_home if (u := self.unit_of.get(ch))}

    def home_cards(self, subject: Subject) -> set[str]:
        """The paper cards among them ("How does the transformer work?": the
        Transformer's card)."""
        return {u for u in self.home_units(subject) if _is_card(u)}

    def splits_joined(self, i: int, subject: Subject) -> bool:
        """Does sentence ``i`` leave unwritten a hyphenated name of the question's subject
        ("multi-query"), outside a passage about it?"""
        return any(stems & set(subject.key) and not stems <= self.subject[i]
                   and not writes_joined(self.text[i], name) for name, stems in subject.joined)

    def explains(self, i: int, subject: Subject) -> bool:
        """Does sentence ``i`` explain the subject (rag.answer.coverage.explains_subject)?
        A sentence that names only a later version of it ("Mamba-2" for a question about
        Mamba), or whose subject is another name containing it ("AdaLoRA" for LoRA), is
        about something else."""
        if self.about_variant(i, subject):
            return False
        if self.splits_joined(i, subject):
            return False  # "multi-query attention": not "Multi-Round ... requests"
        if subject.focused and subject.key and defines(self.text[i], subject.key[0]) \
                and set(subject.key) <= set(self.terms[i]):
            return True  # "the authors define pass@k, the chance that ..."
        key = subject.key
        if subject.spelled and key and key[0] in self.subject[i]:
            # a passage about ORPO itself need not also say "odds ratio" (the expansion)
            key = tuple(t for t in key if t not in subject.spelled)
        if subject.short & self.subject[i]:  # a passage about RLHF explains "reinforcement
            key = tuple(t for t in key if t in subject.short)  # learning from human feedback"
        return explains_subject(subject.anchors, key, self.terms[i], self.subject[i],
                                self.chunk_counts.get(self.chunk[i], {}), self.able[i],
                                subject.names, subject.share)


def _unit_terms(units: Sequence[str], terms: Sequence[Sequence[str]]) -> dict[str, set[str]]:
    """Every term of a card's or section's sentences."""
    out: dict[str, set[str]] = {}
    for unit, words in zip(units, terms):
        out.setdefault(unit, set()).update(words)
    return out


def _chunk_counts(chunks: Sequence[int], terms: Sequence[Sequence[str]]
                  ) -> dict[int, dict[str, int]]:
    """Per passage, how many of its sentences use each term."""
    out: dict[int, dict[str, int]] = {}
    for chunk, words in zip(chunks, terms):
        counts = out.setdefault(chunk, {})
        for term in set(words):
            counts[term] = counts.get(term, 0) + 1
    return out


def after_antecedent(info: Sequence) -> list[int]:
    """Sentences that open with a pointer back ("This slashes KV-cache memory ...",
    ``needs_antecedent``) and can be shown after the fact just before them in their
    passage, which they then carry with them."""
    return [i for i in range(1, len(info)) if info[i].needs_antecedent and info[i].is_fact
            and info[i - 1].chunk == info[i].chunk and info[i - 1].is_fact
            and not info[i - 1].needs_antecedent]


_ANNOUNCES = re.compile(r"\b(?:two|three|four|five|six|several)\s+(?:[\w-]+\s+)?[\w-]+s\.$",
                       re.I)


def announcing(info: Sequence) -> list[int]:
    """Short facts that announce what the next sentences list ("The architecture makes
    two changes.", "The authors align GPT-3 in three stages."): shown with the next one."""
    return [i for i in range(len(info) - 1) if info[i].is_fact and info[i + 1].is_fact
            and info[i].chunk == info[i + 1].chunk and len(info[i].prose.split()) <= 10
            and _ANNOUNCES.search(info[i].prose)]


# A demonstrative or possessive early in a sentence points at what came before it
# ("Mamba traces this to their inability ..."): it reads badly as a first line.
_ANAPHORA = re.compile(r"^(?:\S+\s+){1,5}?(?:this|these|those|their|such)\b|"
                      r"^the (?:first|second|third|fourth|last|latter|former|other|result)\b|"
                      r"^(?:second|third|fourth|fifth|next|finally|lastly)\b", re.I)


_HYPHENATED = re.compile(r"\b[A-Za-z][A-Za-z0-9]*-[A-Za-z0-9]+\b")


def _hyphens_joined(texts: Sequence[str], tokenize) -> list[list[str]]:
    """Per text, its hyphenated names also as one word, as a question's anchors join them
    ("GPT-4V" is "gpt 4v" and "gpt4v"); one tokenizer call for all texts."""
    names = [_HYPHENATED.findall(text) for text in texts]
    flat = [n.replace("-", "") for found in names for n in found]
    tokens = iter(tokenize(flat) if flat else [])
    return [[t[0] for t in (next(tokens) for _ in found) if len(t) == 1] for found in names]


def _hyphen_joined(text: str, tokenize) -> list[str]:
    """``_hyphens_joined`` of one text."""
    return _hyphens_joined([text], tokenize)[0]


def _joined(name: str) -> str:
    """A multi-word name also written as one word ("Flash Attention" -> "FlashAttention")."""
    words = re.findall(r"[A-Za-z]+", name)
    return "".join(words) if 1 < len(words) <= 3 else ""


_GLOSS = re.compile(r"((?:[A-Z][\w-]*\s+){1,5}[A-Z][\w-]*)\s*\(([A-Za-z][\w-]{1,12})\)")


def spelled_out(info: Sequence, units: Sequence[str]) -> dict[str, str]:
    """Per card or section, the long form of its subject where a sentence spells it out
    ("the Vision Transformer (ViT)" in the ViT card): a question may use either."""
    out: dict[str, str] = {}
    for s, unit in zip(info, units):
        short = flat_key(s.subject)
        for long, acronym in _GLOSS.findall(s.prose):
            if short and flat_key(acronym) == short:
                out.setdefault(unit, long)
    return out


def _unit(chunk) -> str:
    """What a sentence belongs to, for choosing a lead: its paper card, or its section of
    a document."""
    return chunk.doc_id if chunk.doc_id.startswith("arxiv:") else \
        f"{chunk.doc_id}#{chunk.section}"


def _is_card(unit: str) -> bool:
    """Is ``unit`` (``_unit``) a paper card?"""
    return unit.startswith("arxiv:")


def _named_as(info, units: Sequence[str], index, spelled: dict[str, str], tokenize
              ) -> list[frozenset[str]]:
    """What each sentence's card or passage is named ("DeepSeekMoE", not its subtitle's
    "Mixture-of-Experts Language Models"): its subject, its title before the colon, and
    their long form."""
    named = tokenize([normalize(f"{s.subject} {_heading(index.chunks[s.chunk]).split(': ')[0]} "
                                f"{_joined(s.subject)} {spelled.get(u, '')}")
                      for s, u in zip(info, units)])
    return [frozenset(t) for t in named]


def _topic_items(index, info, text: Sequence[str], statement: Sequence[bool]) -> list[bool]:
    """Which sentences are a topic of a syllabus list, not a fact ("VC Dimension for
    neural networks"); so is every line of a list of resources ("Papers: - Hugging Face
    Papers - Daily papers")."""
    topics = {c for c in {s.chunk for s in info} if syllabus_items(index.chunks[c].text)}
    pointers = {c for c in topics if is_resource_heading(index.chunks[c].section)}
    return [s.chunk in pointers or s.chunk in topics and not s.label and ":" not in t
            and " - " not in t and not statement[i] for i, (s, t) in enumerate(zip(info, text))]


def _heading(chunk) -> str:
    """The last heading of a passage (a paper card's title)."""
    return chunk.title if chunk.doc_id.startswith("arxiv:") else chunk.section.rsplit(" › ", 1)[-1]


def answer_text(info) -> str:
    """How a sentence reads in an answer: its prose; a discussion point that carries its own
    short answer reads as question and answer ("Why the square root of d_k? Softmax
    stabilization.")."""
    if info.role == "question" and info.hint:
        hint = info.hint[:1].upper() + info.hint[1:]
        return f"{info.prose} {hint.rstrip('.')}."
    return info.prose


def _dictionary_keys(info, cards: Sequence[bool], tokenize
                     ) -> tuple[list[frozenset[str]], dict[int, set[str]]]:
    """Per sentence, the terms of the code-dictionary key it is listed under ("wanda:",
    "sparsegpt:"; empty elsewhere): what its line is about, not the passage's other keys;
    and per passage, every key of its dictionary."""
    keyed = [frozenset(t) if not card and is_dict_key(s.subject) else frozenset()
             for t, card, s in zip(tokenize([s.subject for s in info]), cards, info)]
    per_chunk: dict[int, set[str]] = {}
    for s, key in zip(info, keyed):
        per_chunk.setdefault(s.chunk, set()).update(key)
    return keyed, per_chunk


def _asks(info, tokenize) -> list[frozenset[str]]:
    """A discussion point's own question in content words ("Why load balancing
    matters?": load, balanc; "SFT": supervised fine-tuning too; two of them joined, as
    "Flash Attention" asks about "FlashAttention"): what it answers, beside its card's
    subject (empty for every other sentence)."""
    hinted = [i for i, s in enumerate(info) if s.hint]
    asks: list[frozenset[str]] = [frozenset()] * len(info)
    for i, words in zip(hinted, tokenize([info[i].prose for i in hinted])):
        own = frozenset(words) - _ASK_WORDS
        found = own | spelled_acronyms(info[i].prose, lambda t: tokenize([t])[0]) \
            if own else own
        asks[i] = found | {a + b for a in found for b in found if a != b}
    return asks


def spelled_acronyms(text: str, stem) -> frozenset[str]:
    """Stems of the glossary's spelled-out forms of the acronyms ``text`` uses."""
    from rag.search.glossary import glossary

    words = set(re.findall(r"\b[A-Za-z][\w-]*\b", text))
    return frozenset(t for acronym, long in glossary().items() if acronym in words
                     for t in stem(long))


# Stems of a discussion point's question that only say how it asks ("Why ... works?").
_ASK_WORDS = frozenset({"whi", "what", "how", "when", "which", "whether", "doe", "can", "work",
                        "matter", "from", "vs", "versus", "specif", "use", "still", "limit",
                        "the", "is", "to", "of", "for", "in", "with"})

# A reading list's entry: "MRCR(5) paper - evaluating long context, used by OpenAI ...":
# a comment on a paper, not an account of it (it leads only when nothing else can).
_LIST_ENTRY = re.compile(r"^[^.]{1,80}?\b(?:paper|papers|report)\s+[-–—]\s", re.I)


def facet_fit(intent: str, facet: str, limiting: bool = False) -> float:
    """1 for the intent's best facet, falling by rank; limitation-like sentences count
    half for the limitations intent.  A card's closing line on its venue and legacy
    ("Published in TMLR, CoALA supplies a shared vocabulary ...") answers no "what",
    "how" or "what kinds" question: it counts against them."""
    order = FACET_FIT.get(intent, ())
    if facet in order:
        return 1.0 - order.index(facet) / (len(order) + 1)
    if intent == "limitations" and limiting and facet not in ("background", "problem"):
        return 0.5  # not the weakness of what came before ("Standard attention is slow")
    if facet == "impact" and intent in _NOT_IMPACT:
        return -0.5
    if facet == "limitations" and intent == "reason":
        return -0.25  # "SWE-Bench ... is expensive/evals agents" says no why
    return 0.0


_NOT_IMPACT = ("definition", "detail", "mechanism")
