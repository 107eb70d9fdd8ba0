"""Mock interview question bank, derived from the corpus, never typed in.

The bank is built from the loaded index's chunks:

* ``guide``: the quoted questions of the reading guide's "Typical Interview
  Questions" section (their evidence is found by retrieval);
* ``discussion``: each item of the guide's "Discussion points: ..." lines,
  asked about the paper section it belongs to;
* ``heading``: "What problem does <paper> solve, and what is its key idea?" for the
  guide's paper sections, "Give an overview of <heading>: ..." for other multi-word
  headings that name a known topic and hold enough answer sentences;
* ``paper``: "What problem does <paper> solve, and how?" for every paper card.

Questions that name no known topic (e.g. "What research directions excite
you?") are dropped: nothing in the corpus can grade them.  Key points, merging of
near-duplicates and the stored bank: ``rag.study.stored``; grading: ``rag.study.grade``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence

from rag.corpus.chunk import is_answer_sentence, split_sentences
from rag.records import BankEntry, Chunk
from rag.settings import InterviewSettings
from rag.study.bank_ids import entry_id, first_discussion_wording

# Topic -> regex fragments matched at word starts (case-insensitive).  Order
# breaks ties: the broad "transformers" comes last so a specific topic wins.
TOPIC_RULES: dict[str, tuple[str, ...]] = {
    "alignment": (r"rlhf", r"rlaif", r"align", r"preference", r"dpo\b", r"kto\b", r"orpo\b",
                  r"reward", r"constitution", r"instruction", r"human feedback", r"ppo\b"),
    "efficiency": (r"lora\b", r"qlora", r"fine-?tun", r"quantiz", r"flash", r"mixture of expert",
                   r"moe\b", r"distill", r"efficien", r"compression", r"prun", r"sparse",
                   r"serving", r"low-rank", r"memory", r"io-aware", r"sram", r"hbm\b"),
    "agents": (r"agent", r"tool[- ]us", r"tool call", r"toolformer", r"react\b",
               r"function call", r"planning"),
    "rag": (r"retriev", r"rag\b", r"knowledge (?:base|graph|intensive)", r"vector (?:store|db)",
            r"embedding model", r"hallucinat", r"grounding"),
    "reasoning": (r"reason", r"chain-of-thought", r"chain of thought", r"cot\b", r"tot\b",
                  r"tree of thought", r"test-time", r"math", r"self-consistency", r"r1\b"),
    "evaluation": (r"benchmark", r"evaluat", r"evals?\b", r"metric", r"leaderboard",
                   r"judge"),
    "multimodal": (r"vision", r"image", r"video", r"multimodal", r"clip\b", r"speech",
                   r"voice", r"audio", r"diffusion", r"visual"),
    "safety": (r"safety", r"interpretab", r"monosemantic", r"red team", r"sleeper",
               r"jailbreak", r"autoencoder", r"deceptive"),
    "code": (r"code\b", r"coding", r"programming", r"codex", r"swe-bench", r"software"),
    "transformers": (r"attention", r"transformer", r"positional", r"bert\b", r"gpt",
                     r"language models?\b", r"llms?\b", r"pre-?train", r"scaling law",
                     r"mamba", r"state space", r"ssms?\b", r"llama", r"tokeni[sz]",
                     r"in-context"),
}
_TOPIC_RE = {t: re.compile(r"\b(?:" + "|".join(p) + ")", re.I) for t, p in TOPIC_RULES.items()}
GENERAL = "general"
_QUOTED = re.compile(r"[\"“]([^\"”]{8,300})[\"”]")
_DISCUSSION = re.compile(r"^Discussion points[^:]*:\s*(.+)$", re.I | re.M)
_HEADING_NOISE = re.compile(
    r"^(?:section\s+\d+\s*[:.-]\s*|\d+[.)]\s*)|\s*\((?:[^()]*\d{4}[^()]*)\)\s*$", re.I)
_NON_WORD_LEAD = re.compile(r"^[^\w(]+")
_PAREN = r"\([^()]*(?:\([^()]*\)[^()]*)*\)"  # one level of nesting: "(O(n^2) in memory)"


# --- topics -----------------------------------------------------------------


def topic_scores(weighted_texts: Iterable[tuple[str, float]]) -> dict[str, float]:
    """Keyword hits per topic, each text's hits multiplied by its weight."""
    scores = dict.fromkeys(TOPIC_RULES, 0.0)
    for text, weight in weighted_texts:
        for topic, pattern in _TOPIC_RE.items():
            scores[topic] += weight * len(pattern.findall(text))
    return scores


def assign_topic(weighted_texts: Iterable[tuple[str, float]]) -> str:
    """The topic with the most weighted keyword hits, ``general`` when none hit."""
    scores = topic_scores(weighted_texts)
    best = max(scores, key=lambda t: scores[t])  # first topic wins ties
    return best if scores[best] > 0 else GENERAL


def names_topic(text: str) -> bool:
    """Does ``text`` mention any known topic?"""
    return any(p.search(text) for p in _TOPIC_RE.values())


def topics_in(bank: Sequence[BankEntry]) -> list[str]:
    """The bank's topics, alphabetical (``general`` last)."""
    present = {e.topic for e in bank}
    return sorted(present - {GENERAL}) + ([GENERAL] if GENERAL in present else [])


# --- question bank ------------------------------------------------------------


def clean_heading(heading: str) -> str:
    """``"Section 2: Benchmarks and Evals"`` -> ``"Benchmarks and Evals"``; drops
    numbering, a trailing "(2017)"-style note and leading emoji."""
    text = _NON_WORD_LEAD.sub("", heading.strip())
    previous = None
    while previous != text:
        previous, text = text, _HEADING_NOISE.sub("", text).strip()
    return text


def quoted_questions(text: str) -> list[str]:
    """Quoted strings that read as questions or prompts ("Explain ...", "... ?")."""
    out = []
    for match in _QUOTED.finditer(text):
        q = " ".join(match.group(1).split())
        if q.endswith("?") or re.match(r"(?:explain|compare|describe|when|how|why|what)\b",
                                       q, re.I):
            out.append(q)
    return out


def split_top_level(text: str, sep: str = ",") -> list[str]:
    """Split at ``sep`` outside parentheses."""
    parts, depth, current = [], 0, []
    for ch in text:
        depth += (ch == "(") - (ch == ")")
        if ch == sep and depth <= 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return [p.strip() for p in parts if p.strip()]


def discussion_items(text: str) -> list[tuple[str, str]]:
    """``(item, hint)`` for "Discussion points: a (hint), b (hint), c." lines;
    items of one word are dropped, a missing hint is ""."""
    items = []
    for line in _DISCUSSION.findall(text):
        for part in split_top_level(line.rstrip(". ")):
            hints = re.findall(_PAREN, part)
            item = re.sub(r"\s*" + _PAREN, "", part).strip(" .;")
            if len(item.split()) >= 2:
                items.append((item, "; ".join(h[1:-1].strip() for h in hints)))
    return items


def _sections(chunks: Iterable[Chunk]) -> dict[tuple[str, str], list[Chunk]]:
    groups: dict[tuple[str, str], list[Chunk]] = {}
    for chunk in chunks:
        groups.setdefault((chunk.doc_id, chunk.section), []).append(chunk)
    return groups


def _entry(origin: str, question: str, topic_texts: list[tuple[str, float]],
           sources: Sequence[str], origin_chunk: str = "", first_wording: str = "") -> BankEntry:
    """``first_wording``: the question's first wording, whose hash stays its id."""
    return BankEntry(entry_id=entry_id(origin, first_wording or question), question=question,
                     topic=assign_topic(topic_texts), origin=origin,
                     source_chunk_ids=tuple(sources), origin_chunk_id=origin_chunk)


def guide_entries(chunks: Sequence[Chunk], guide_doc: str,
                  search: Callable[[str], list[str]] | None = None) -> list[BankEntry]:
    """Quoted questions of the guide's question sections, sources found by ``search``."""
    out = []
    for chunk in chunks:
        if chunk.doc_id != guide_doc or "question" not in chunk.section.lower():
            continue
        for q in quoted_questions(chunk.text):
            if not names_topic(q):
                continue
            sources = [c for c in (search(q) if search else []) if c != chunk.chunk_id]
            out.append(_entry("guide", q, [(q, 3.0)], sources, chunk.chunk_id))
    return out


def short_label(label: str) -> str:
    """What an interviewer calls a paper section: "LoRA: Low-Rank Adaptation" -> "LoRA",
    "Mixture of Experts — Switch Transformer" -> "Mixture of Experts"."""
    head = re.split(r"\s+[—–-]\s+|:\s+", label, maxsplit=1)[0].strip()
    return head if len(head.split()) <= 6 else label


_WH = re.compile(r"^(why|how|when|what|which|where|can|could|is|are|does|do)\b\s*(.*)$", re.I)
_WHETHER = re.compile(r"^whether\s+(.+?)\s+(is|are|will|can|does|do)\s+(.+)$", re.I)
_VERSUS = re.compile(r"^(trade-offs?\s+)?(.+?)\s+(?:vs\.?|versus)\s+(.+?)(\s+trade-offs?)?$", re.I)
_RELATION = re.compile(r"^(comparison|connection|relation)\s+(?:with|to)\s+(.+)$", re.I)
_THIRD_PERSON = re.compile(r"^(.+?)\s+(matters|works|helps|fails|holds|scales)\b(.*)$", re.I)
_ADJECTIVE = re.compile(r"^[a-z-]+(?:al|ive|ous|ic)$")  # "bidirectional" -> "being bidirectional"
_DETERMINER = re.compile(r"^(?:the|a|an|this|these|its|their)\s", re.I)
_PREPOSITION = re.compile(r"\s(?:of|between|for|from|in|on|to|at|with|across)\s")


def _about(text: str, short: str, joiner: str = "in") -> str:
    """" in <short>" unless the text already names it ("for" when it has an "in")."""
    if short.lower() in text.lower():
        return ""
    return f" {'for' if joiner == 'in' and ' in ' in text else joiner} {short}"


def _noun_phrase(item: str) -> tuple[str, str]:
    """("is"|"are", the phrase with "the" where English wants one): "cost of training
    SAEs" -> "the cost of training SAEs"; "inference challenges" -> "the inference
    challenges"; "reward hacking", "zero-shot CoT" stay bare."""
    head = _PREPOSITION.split(f" {item} ", maxsplit=1)[0].split()
    last = head[-1] if head else item
    plural = (len(head) > 1 or not last[:1].isupper()) and re.fullmatch(
        r"[a-z-]+[^s]s", last) is not None
    of_phrase = re.match(r"^[a-z-]+(?:\s[a-z-]+){0,2}\s(?:of|between)\s", item) is not None
    if _DETERMINER.match(item) or not (plural or of_phrase):
        return ("are" if plural else "is"), item
    return ("are" if plural else "is"), f"the {item}"


def _why(rest: str, short: str, item: str) -> str:
    """"why X matters" -> "Why does X matter"; "why the KL penalty" -> "Why use the KL
    penalty"."""
    rest = re.sub(r"\bthis\b", short, rest, count=1)
    suffix = "" if short in rest else _about(item, short)
    if m := _THIRD_PERSON.match(rest):
        subject = f"being {m.group(1)}" if _ADJECTIVE.match(m.group(1)) else m.group(1)
        return f"Why does {subject} {m.group(2)[:-1]}{m.group(3)}{suffix}?"
    rest = re.sub(r"^specifically\s+", "", rest)
    return f"Why use {rest}{suffix}?"


_WHEN_RULES = [(re.compile(p), t) for p, t in (
    (r"^to\s+(.+)$", "When would you {1}{suffix}?"),  # "when to choose X"
    (r"^(.+?)\s+(does|do)\s+not\s+(.+)$", "When {2} {1} not {3}{suffix}?"),
    (r"^(.+?)\s+(is|are)\s+(.+)$", "When {2} {1} {3}{suffix}?"),  # "when X is preferred"
    (r"^(.+\s(?:vs\.?|versus)\s.+)$", "When would you use {1}{suffix}?"),
    (r"^(\S+)$", "When is {short} {1}?"),  # "when justified"
)]


def _by_rule(text: str, rules, **names: str) -> str | None:
    """The first rule's template filled with its match's groups ({1}, {2} ...) and
    ``names``; None when no rule matches."""
    for pattern, template in rules:
        if m := pattern.match(text):
            return template.format(m.group(0), *m.groups(), **names)
    return None


def _when(rest: str, short: str, item: str) -> str:
    """"when to choose X" -> "When would you choose X"; "when X does not help" ->
    "When does X not help"; "when X is Y" -> "When is X Y"; "when justified" -> "When is
    <short> justified"."""
    suffix = _about(item, short)
    return _by_rule(rest, _WHEN_RULES, short=short, suffix=suffix) or f"When {rest}{suffix}?"


def _wh(word: str, rest: str, short: str, item: str) -> str:
    if word == "why":
        return _why(rest, short, item)
    if word == "when":
        return _when(rest, short, item)
    if word in ("what", "which") and (m := re.match(r"^(\w+(?:\s\w+)?)\s+to\s+(.+)$", rest)):
        return f"{word.capitalize()} {m.group(1)} should you {m.group(2)}{_about(item, short)}?"
    if word == "how" and (m := re.match(r"^to\s+(.+)$", rest)):
        return f"How do you {m.group(1)}{_about(item, short)}?"
    replaced = re.sub(r"\bthis\b", short, rest, count=1)
    suffix = "" if replaced != rest else _about(item, short)
    return f"{word.capitalize()} {replaced}{suffix}?"


_STATEMENT_RULES = [(re.compile(p, f), t) for p, f, t in (
    (r"^implications?\s+(?:for|on)\s+(.+)$", re.I, "What {verb} {short} imply for {1}?"),
    (r"^alternatives?\s+(?:to\s+)?([A-Z].*)$", 0, "What are the alternatives to {short}, "
     "such as {1}?"),
    (r"^(.+?)\s+as\s+(an?|the)\s+(.+)$", 0, "Why is {1} {2} {3}{suffix}?"),
    (r"^(.+?)\s+(competitive|comparable|compatible)\s+with\s+(.+)$", 0,
     "Is {1} {2} with {3}{suffix}?"),
)]


def _statement(item: str, short: str) -> str:
    """A noun-phrase discussion point as a question: "implications for X" -> "What does
    <short> imply for X?"; "alternatives DPO" -> "What are the alternatives to <short>,
    such as DPO?"; "X as a path to Y" -> "Why is X a path to Y?"; else "What is X?"."""
    verb = "do" if re.search(r"\sand\s|s$", short) and not short.endswith("ss") else "does"
    suffix = _about(item, short)
    if found := _by_rule(item, _STATEMENT_RULES, verb=verb, short=short, suffix=suffix):
        return found
    be, phrase = _noun_phrase(item)
    return f"What {be} {phrase}{suffix}?"


def discussion_question(item: str, label: str) -> str:
    """A discussion point phrased as an interviewer asks it, e.g. "why the square root
    of d_k" under "Attention Is All You Need" -> "Why use the square root of d_k in
    Attention Is All You Need?"."""
    short = short_label(label)
    item = item.strip().rstrip("?.")
    if m := _WHETHER.match(item):
        subject, verb, rest = m.groups()
        return f"{verb.capitalize()} {subject} {rest}{_about(item, short)}?"
    if m := _RELATION.match(item):
        verb = "compare with" if m.group(1).lower() == "comparison" else "connect to"
        return f"How does {short} {verb} {m.group(2)}?"
    if m := _WH.match(item):
        return _wh(m.group(1).lower(), m.group(2), short, item)
    if m := _VERSUS.match(item):
        if m.group(1) or m.group(4):
            return (f"What is the trade-off between {m.group(2)} and {m.group(3)}"
                    f"{_about(item, short)}?")
        return (f"What are the differences between {m.group(2)} and {m.group(3)}"
                f"{_about(item, short)}?")
    return _statement(item, short)


def discussion_entries(chunks: Sequence[Chunk], guide_doc: str) -> list[BankEntry]:
    """One question per discussion item, about the paper section it closes."""
    out = []
    for (doc, section), group in _sections(chunks).items():
        if doc != guide_doc:
            continue
        label = clean_heading(section.split(" › ")[-1])
        ids = [c.chunk_id for c in group]
        body = " ".join(c.text for c in group)
        for chunk in group:
            for item, hint in discussion_items(chunk.text):
                q = discussion_question(item, label)
                texts = [(label, 3.0), (item, 2.0), (body, 1.0)]
                first = first_discussion_wording(item, short_label(label))
                entry = _entry("discussion", q, texts, ids, chunk.chunk_id, first)
                if hint and "?" not in hint:  # a question is no key point
                    point = f"{item[0].upper()}{item[1:]}: {hint}."
                    entry = entry.model_copy(update={"hint": point})
                out.append(entry)
    return out


def is_bare_heading(label: str) -> bool:
    """One-word headings ("Vision", "Agents", "Finetuning") are topics, not questions."""
    return len(re.findall(r"[A-Za-z0-9]+", label)) < 2


def heading_question(label: str, doc: str, guide_doc: str) -> str:
    """A paper section of the reading guide asks what the paper solves; any other
    section asks for an overview of its subject."""
    short = short_label(label)
    if doc == guide_doc and len(short.split()) <= 5 and not re.search(r"\band\b|papers",
                                                                     short, re.I):
        return f"What problem does {short} solve, and what is its key idea?"
    return f"Give an overview of {label}: the main ideas and trade-offs."


def heading_entries(chunks: Sequence[Chunk], min_sentences: int,
                    guide_doc: str = "") -> list[BankEntry]:
    """A question for every document section that names a topic and says enough."""
    cards: dict[str, list[str]] = {}
    for chunk in chunks:
        if chunk.doc_id.startswith("arxiv:"):
            cards.setdefault(chunk.doc_id.removeprefix("arxiv:"), []).append(chunk.chunk_id)
    out = []
    for (doc, section), group in _sections(chunks).items():
        if doc.startswith("arxiv:") or not section:
            continue
        label = clean_heading(section.split(" › ")[-1])
        sentences = [s for c in group for s in split_sentences(c.text) if is_answer_sentence(s)]
        if (len(sentences) < min_sentences or not names_topic(label)
                or is_bare_heading(label)):
            continue
        texts = [(label, 3.0), (section, 2.0), (" ".join(sentences), 0.5)]
        question = heading_question(label, doc, guide_doc)
        own = [c.chunk_id for c in group]
        if doc == guide_doc and question.startswith("What problem") and group[0].arxiv_ids:
            # the guide's section on a paper links that paper first: its card is the
            # section's own material too ("GPT-3 ... 300 billion tokens of Common Crawl")
            own += cards.get(group[0].arxiv_ids[0], [])
        out.append(_entry("heading", question, texts, own))
    return out


def paper_name(title: str) -> str:
    """A paper's short name when its title has one ("LLaMA: Open and ..." -> "LLaMA"),
    else the quoted title."""
    head = title.split(":", 1)[0].strip()
    if ":" in title and len(head.split()) <= 4:
        return head
    return f"“{title}”"


_NAME_TOKEN = re.compile(r"^(?:\S*\d\S*|\S*[a-z]\S*[A-Z]\S*|[A-Z]{2,}\S*|\S+-\S+)$")


def question_name(title: str) -> str:
    """How a question names a paper: a short name ("LLaMA", "wav2vec 2.0", "Gemma 2",
    "DeepSeek LLM") bare; a head or title that reads as a phrase ("Transformers are SSMs",
    "From Local to Global", "Direct Preference Optimization") in quotes."""
    name = paper_name(title).strip("“”")
    tokens = name.split()
    versioned = 1 < len(tokens) <= 3 and re.search(r"\d", tokens[-1]) is not None and all(
        t[:1].isupper() or _NAME_TOKEN.match(t) for t in tokens[:-1])
    if len(tokens) == 1 or versioned or len(tokens) <= 3 and all(
            _NAME_TOKEN.match(t) for t in tokens):
        return name
    return f"“{name}”"


def paper_entries(chunks: Sequence[Chunk]) -> list[BankEntry]:
    """"What problem does <paper> solve, and how?" for every paper card."""
    cards: dict[str, list[Chunk]] = {}
    for chunk in chunks:
        if chunk.doc_id.startswith("arxiv:"):
            cards.setdefault(chunk.doc_id, []).append(chunk)
    out = []
    for group in cards.values():
        title = group[0].title
        texts = [(title, 3.0), (" ".join(c.text for c in group), 1.0)]
        out.append(_entry("paper", f"What problem does {question_name(title)} solve, and how?",
                          texts, [c.chunk_id for c in group], first_wording=(
                              f"What problem does {paper_name(title)} solve, and how?")))
    return out


USER_DOCUMENT = "user:"  # doc_id prefix of the documents the user added (rag add)
_SECTION_NUMBER = re.compile(r"^(?:\d+(?:\.\d+)*|[A-Z](?:\.\d+)*)\.?\s+")
_GENERIC_SECTIONS = frozenset("abstract introduction conclusion conclusions background "
                              "acknowledgments acknowledgements appendix discussion "
                              "overview summary takeaways".split() + ["related work",
                                                                      "future work"])
_RESULT_SECTIONS = frozenset(["results", "evaluation", "experiments", "experimental results"])


def user_document_entries(chunks: Sequence[Chunk], min_sentences: int) -> list[BankEntry]:
    """Questions from the documents the user added, marked ``from_user_documents``:
    "What problem does <title> address?" per document (answered by its first passages),
    "Explain <section> (<title>)" for each section that says enough, and "What results
    does <title> report?" for its results section."""
    out = []
    by_doc: dict[str, list[Chunk]] = {}
    for chunk in chunks:
        if chunk.doc_id.startswith(USER_DOCUMENT):
            by_doc.setdefault(chunk.doc_id, []).append(chunk)
    for doc_chunks in by_doc.values():
        title = doc_chunks[0].title
        short = title.split(":")[0].strip() if len(title) > 60 else title
        doc_topic = assign_topic([(title, 3.0), (" ".join(c.text for c in doc_chunks[:12]),
                                                 1.0)])
        out.append(_entry("document", f"What problem does “{short}” address?",
                          [(title, 3.0), (" ".join(c.text for c in doc_chunks[:3]), 1.0)],
                          [c.chunk_id for c in doc_chunks[:3]]))
        for (_, section), group in _sections(doc_chunks).items():
            label = _SECTION_NUMBER.sub("", section.split(" › ")[-1]).strip()
            sentences = [s for c in group for s in split_sentences(c.text)
                         if is_answer_sentence(s)]
            if not label or len(sentences) < min_sentences or label.lower() in \
                    _GENERIC_SECTIONS:
                continue
            question = (f"What results does “{short}” report?"
                        if label.lower() in _RESULT_SECTIONS else f"Explain {label} ({short})")
            texts = [(label, 3.0), (title, 1.0), (" ".join(sentences), 0.5)]
            entry = _entry("document", question, texts, [c.chunk_id for c in group])
            if entry.topic == GENERAL:  # the section names no topic: the document's
                entry = entry.model_copy(update={"topic": doc_topic})
            out.append(entry)
    return [e.model_copy(update={"from_user_documents": True}) for e in out]


def build_bank(chunks: Sequence[Chunk], settings: InterviewSettings,
               search: Callable[[str], list[str]] | None = None) -> list[BankEntry]:
    """Every candidate question, duplicates (by question text) removed.  Key points,
    near-duplicate merging and dropping of ungradable entries happen at build time
    (``rag.study.stored``)."""
    shipped = [c for c in chunks if not c.doc_id.startswith(USER_DOCUMENT)]
    entries = [*guide_entries(shipped, settings.guide_doc_id, search),
               *discussion_entries(shipped, settings.guide_doc_id),
               *heading_entries(shipped, settings.min_section_sentences, settings.guide_doc_id),
               *paper_entries(shipped),
               *user_document_entries(chunks, settings.min_section_sentences)]
    seen: set[str] = set()
    unique = []
    for entry in entries:
        key = entry.question.lower()
        if key not in seen:
            seen.add(key)
            unique.append(entry)
    return unique
