"""Sentence roles and facets, decided once at build time (pure functions).

Every answer sentence of a chunk gets a *role*:

* ``fact``: a statement an answer may lead with or list as a key point;
* ``context``: link lists, "See also" pointers, headings used as lists
  ("Research Directions: - ... - ..."), bare titles ("paper: QLoRA ..."),
  references ("Llama 2: ... (Meta, 2023)"), table rows, code, navigation, the reading
  list speaking to its reader and how a paper is laid out (``rag.corpus.context``).
  Retrievable and shown in the evidence, never an answer line;
* ``question``: one item of a "Discussion points:" list, kept as a question for
  the interview bank (its parenthesised answer, if any, is the ``hint``).

and, when the reading guide labels it, a *facet* (``problem``, ``key_idea``,
``method``, ``results``, ``limitations``, ``advantages``, ``usage``,
``discussion``) with the label removed from the ``prose``.  A sentence that
opens with a pronoun gets its subject back when that is safe ("It quickly
became ..." in the FlashAttention-2 card -> "FlashAttention-2 quickly
became ...") and is otherwise marked ``needs_antecedent``: usable only right
after the sentence before it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from rag.corpus.antecedents import name_the_work, restore_subject
from rag.corpus.context import CONTEXT_LABELS, REFERENCE, context_reason
from rag.corpus.linking import key as flat_key
from rag.records import SentenceInfo

ROLES = ("fact", "context", "question")
FACETS = ("problem", "key_idea", "method", "results", "limitations", "advantages", "usage",
          "discussion", "impact", "overview", "background")

# Label (lower case) -> facet.  Labels are the reading guide's fields and the same
# fields in other documents' lists and code dictionaries.
FACET_LABELS: dict[str, str] = {
    **dict.fromkeys(("problem", "problem statement", "motivation", "challenge addressed",
                     "problem solved"),
                    "problem"),
    **dict.fromkeys(("key idea", "key ideas", "key insight", "key innovation", "main idea",
                     "core idea", "idea", "innovation", "insight", "central idea",
                     # "contribution: LLM-powered agent that continuously learns in Minecraft"
                     "contribution", "contributions"), "key_idea"),
    **dict.fromkeys(("approach", "method", "methodology", "architecture", "pipeline",
                     "format", "mathematical formulation", "key components", "technical approach",
                     "mechanism", "algorithm", "how it works", "selective ssm", "two modes",
                     "implementation", "training", "objective", "process", "solution",
                     "solutions", "technical details",
                     "control network", "connection", "cross attention", "q former",
                     "consistency function", "consistency loss", "data generation",
                     "network architecture", "training objectives", "sampling"), "method"),
    **dict.fromkeys(("results", "result", "key results", "performance", "key finding",
                     "key findings", "finding", "findings", "scale", "impact",
                     "main findings", "observation", "implication",
                     "implications", "practical impact"), "results"),
    **dict.fromkeys(("limitations", "limitation", "drawbacks", "drawback", "disadvantages",
                     "weaknesses", "cons", "challenges", "open problems", "risks",
                     "trade-off", "trade-offs", "tradeoffs", "concerns"), "limitations"),
    **dict.fromkeys(("advantages", "advantage", "benefits", "benefit", "pros", "strengths",
                     "why it matters"), "advantages"),
    **dict.fromkeys(("use cases", "use case", "applications", "application", "when to use",
                     "usage"), "usage"),
    **dict.fromkeys(("discussion points", "discussion points for anthropic interviews",
                     "discussion"), "discussion"),
}

_LABEL = re.compile(r"^(?P<label>[A-Za-z][\w/&+'’ .()-]{0,48}?)\s*:\s+(?P<rest>\S.*)$")

def split_label(text: str) -> tuple[str, str]:
    """``("Key idea", "replace recurrence ...")`` for a labelled line, else ``("", text)``.

    A label is one to six words before the first colon, not a clause of its own.
    """
    match = _LABEL.match(text.strip())
    if not match:
        return "", text.strip()
    label = match.group("label").strip()
    words = label.split()
    if len(words) > 6 or label.endswith((".", ")")) and "(" not in label:
        return "", text.strip()
    if any(w.lower() in ("is", "are", "was", "were", "we", "you", "i") for w in words):
        return "", text.strip()
    return label, match.group("rest").strip()


def facet_of(label: str) -> str:
    """The facet a label names ('' for labels that are not a reading-guide field)."""
    key = re.sub(r"\s+", " ", label.replace("_", " ")).strip().lower()
    key = re.sub(r"\s*\([^()]*\)$", "", key)  # "Key Papers (2025-2026)"
    return FACET_LABELS.get(key, "")




# --- discussion points --------------------------------------------------------------

_PAREN_TAIL = re.compile(r"\s*\((?P<hint>[^()]*(?:\([^()]*\)[^()]*)*)\)\s*$")


def split_items(text: str) -> list[str]:
    """Comma-separated items, commas inside parentheses kept."""
    items, depth, current = [], 0, []
    for ch in text:
        depth += (ch == "(") - (ch == ")")
        if ch == "," and depth == 0:
            items.append("".join(current).strip())
            current = []
        else:
            current.append(ch)
    items.append("".join(current).strip())
    return [i.rstrip(".").strip() for i in items if i.strip(" .")]


def discussion_items(rest: str) -> list[tuple[str, str]]:
    """``[(item, hint)]`` of a discussion-point list: "why the square root of d_k
    (softmax stabilization)" -> ("why the square root of d_k ...", "softmax stabilization")."""
    out = []
    for item in split_items(rest):
        match = _PAREN_TAIL.search(item)
        hint = match.group("hint").strip() if match else ""
        out.append((item, hint))
    return out


def as_question(item: str) -> str:
    """A discussion item as a question: "why bidirectional matters (...)" ->
    "Why bidirectional matters?"."""
    body = _PAREN_TAIL.sub("", item).strip().rstrip("?.")
    return body[:1].upper() + body[1:] + "?" if body else ""


# --- pronouns ---------------------------------------------------------------------


# Facets of unlabelled statements, read from what they say.
_CONTENT_FACETS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("impact", re.compile(r"\b(?:became|becomes|has become|is now (?:standard|the|a)|remains|"
                          r"laid the groundwork|won an?|award|appeared at|(?:was )?presented at|"
                          r"published at|key reference|standard counterpoint|influential|"
                          r"precursor|template for|inspired(?!\s+by)|launched|spawned|"
                          r"helped (?:launch|start|establish|populari[sz]e)|"
                          r"influenced (?:many|later|most|subsequent)|"
                          r"made [\w-]+(?: [\w-]+)? the (?:default|standard)|"
                          r"is maintained|(?:most|an?|the)\s+popular|popularity|de facto|"
                          r"widely used|most notable|underl(?:ies|ie|ay)|underpins?|"
                          r"main significance|narrowed the gap)\b", re.I)),
    # What the paper itself calls its central idea.
    ("key_idea", re.compile(r"\b(?:headline contribution|(?:central|core|key|main|big) "
                            r"(?:idea|insight|innovation|contribution|trick))\b", re.I)),
    ("limitations", re.compile(r"\b(?:struggles?|cannot|can't|fails? to|limitations?|"
                               r"weakness(?:es)?|weak spots?|shortcomings?|although|"
                               r"less (?:precise|accurate|reliabl|robust)\w*|lags? behind|"
                               r"drawbacks?|downsides?|however|at the cost of|trails?|"
                               r"is (?:slow|costly|expensive|unstable)|hard to)\b", re.I)),
    ("results", re.compile(r"\b(?:reach(?:es|ed)?|achiev(?:es|ed)|scor(?:es|ed)|"
                           r"outperform(?:s|ed)?|beat(?:s|ing)?|match(?:es|ing)|rais(?:es|ed)|"
                           r"equal(?:s|led)|exceed(?:s|ed)?|surpass(?:es|ed)?|competitive with|"
                           r"improv(?:es|ed)|gave|gives|speedup|state of the art)\b[^.;]{0,80}?"
                           r"\d|\b(?:outperform(?:s|ed|ing)?|outscor(?:es|ed|ing)|"
                           r"surpass(?:es|ed|ing)?|"
                           r"beat (?:other|all|"
                           r"prior|previous|the)|state-of-the-art (?:results|performance)|"
                           r"on par with|far fewer errors|ahead of (?:prior|previous|earlier|"
                           r"other|all|existing|leading)|(?:strongly )?preferred (?:the|its)|"
                           r"favou?red (?:responses|its|the)|(?:judged|rated|found) (?:it |them )?"
                           r"(?:better|more)|was (?:also )?more (?:truthful|accurate|helpful))\b|"
                           # "cuts trainable parameters by about 10,000 times"
                           r"\b(?:cuts?|reduc(?:es|ed)|lower(?:s|ed)|shrinks?|shrank) [^.;]{0,60}?"
                           r"\bby (?:about |roughly |around |up to |over |more than )?\d",
                           re.I)),
    # How the thing works or was built: its parts, training and data flow.
    ("method", re.compile(r"\b(?:uses?|using|relies on|is (?:then )?(?:trained|pretrained|"
                          r"fine-tuned|built|made)|are (?:then )?(?:trained|pretrained|"
                          r"fine-tuned|built|made)|was (?:then )?(?:trained|pretrained|"
                          r"fine-tuned|built)|were (?:then )?(?:trained|pretrained|fine-tuned|"
                          r"collected)|train(?:s|ed)? (?:on|with)|consists? of|(?:is|are) "
                          r"composed of|combin(?:e|es)|stacks? of|replac(?:e|es)|"
                          r"feeds?|projects?|routes?|sends? (?:every|each)|(?:learns?|predicts?|"
                          r"generates?|maps?|encodes?|decodes?|computes?|optimi[sz]es|"
                          r"minimi[sz]es) (?:a|an|the|"
                          r"each|every|its|their|text|tokens?|images?|audio)|collected|"
                          r"pipeline|architecture)\b|^(?:First|Second|Third|Finally),", re.I)),
)


# A paper card opens with its framing: the question the paper asks or the gap it fills
# ("DeepMind revisits how ...", "MemGPT addresses the limited context window ...") or
# the state of the art that motivates it ("Diffusion models need many network
# evaluations ...", which does not name the paper's own subject): background, which
# answers neither "what is X" nor "how" nor "how well".  Otherwise it introduces the
# paper (an overview).
_FRAMING = re.compile(r"\b(?:asks?|asking) (?:whether|why|how|if)\b|\b(?:revisits?|"
                      r"question(?:s)? the claim|looks? (?:for|at)|address(?:es)?|"
                      r"targets? an? (?:weakness|problem|gap|limitation)|tackles?|set out to)\b",
                      re.I)


def card_opening_facet(text: str, subject: str, title: str = "") -> str:
    """The facet of a paper card's first sentence: ``background`` (the question the paper
    asks, or the state of the art before it, naming neither the paper nor what it
    introduces) or ``overview`` (what the paper introduces: "X is a ...", "The paper ...
    introduces X")."""
    if _IS_A.match(text):
        return "overview"
    if _FRAMING.search(text):
        return "background"
    flat = flat_key(text)
    names = [n for n in (subject, title, title.split(":")[0]) if len(flat_key(n)) >= 3]
    first = re.findall(r"[A-Za-z][\w]+", subject)[:1]
    if first and re.fullmatch(r"[\s-]*v?\d[\w.]*", subject[subject.find(first[0])
                                                        + len(first[0]):]):
        first = []  # "FlashAttention-2" is not named by "FlashAttention"
    named = any(flat_key(n) in flat for n in names) or bool(
        first and first[0].lower() in {w.lower() for w in re.findall(r"[A-Za-z][\w]+", text)})
    return "overview" if named or not names else "background"


_IS_A = re.compile(r"^[^,;:]{1,60}?\b(?:is|are) (?:a|an|the)\b")




def content_facet(text: str, is_card: bool = False) -> str:
    """The facet an unlabelled statement has by what it says ('' when none).  Only a
    paper card's prose is read for its ``method``: the guides' unlabelled lines are
    lists and pointers, not descriptions."""
    return next((facet for facet, pattern in _CONTENT_FACETS if pattern.search(text)
                 and (is_card or facet != "method")), "")


# --- one chunk ----------------------------------------------------------------------


def classify(text: str, subject: str = "", title: str = "", is_card: bool = False,
             chunk: int = 0) -> list[SentenceInfo]:
    """The record(s) of one sentence: one, or one per item of a discussion-point list."""
    text = text.strip()
    label, rest = split_label(text)
    facet = facet_of(label) if label else ""
    if facet == "discussion":
        return [SentenceInfo(chunk=chunk, text=item, prose=as_question(item), role="question",
                             facet="discussion", label=label, subject=subject, hint=hint)
                for item, hint in discussion_items(rest) if len(item.split()) >= 2]
    reason = context_reason(text, label, rest)
    if reason:
        return [SentenceInfo(chunk=chunk, text=text, prose=text, role="context", facet=facet,
                             label=label, subject=subject, context=reason)]
    prose = _capitalise(rest) if facet or _DICT_KEY.match(label) else text
    if prose.rstrip().endswith("?") and facet != "problem":
        return [SentenceInfo(chunk=chunk, text=text, prose=prose, role="question", facet=facet,
                             label=label, subject=subject)]
    if is_card and subject:  # "Three techniques make this work": the paper's method
        prose = name_the_work(prose, subject)
    prose, needs = restore_subject(prose, subject, title, is_card)
    named = named_subject(text)
    subject = named or subject
    facet = facet or ("impact" if named else content_facet(prose, is_card))
    return [SentenceInfo(chunk=chunk, text=text, prose=prose, role="fact", facet=facet,
                         label=label, subject=subject, needs_antecedent=needs)]


_KEY = re.compile(r"^(?P<key>[A-Za-z][\w .+/-]{0,40}):$")
# A code dictionary's key ("adapters: LoRA adapters on ..."): lower case, one to three words.
_DICT_KEY = re.compile(r"^[a-z][a-z0-9_]*(?: [a-z0-9_]+){0,2}$")


def is_dict_key(text: str) -> bool:
    """Is ``text`` a code dictionary's key ("sparsegpt", "control network")?"""
    return bool(_DICT_KEY.match(text))


_CODE_LINE = re.compile(r"^(?:for|if|elif|else|while|with|try|except|def|class|return)\b")
_GENERIC_KEY = frozenset("""key main technical insights details contributions recent advances
papers paper approach stages training process improvements notes overview summary for in
response revised""".split())


def classify_chunk(sentences: Sequence[str], subject: str = "", title: str = "",
                   is_card: bool = False, chunk: int = 0,
                   keep: Callable[[str], bool] | None = None,
                   state: dict[str, str] | None = None) -> list[SentenceInfo]:
    """Records of a chunk's sentences that ``keep`` accepts, in order (discussion lists
    become several); ``state["subject"]`` gets the subject in force at the chunk's end
    (a code dictionary's key, for the next chunk of the same section).

    In documents a title line ("paper: QLoRA: ...", "Llama 2: ... (Meta, 2023)") or a
    bare dictionary key ("wanda:") makes what it names the subject of the sentences
    after it; a key that is a field ("advantages:") gives its facet to the unlabelled
    lines under it."""
    out: list[SentenceInfo] = []
    inherited, keyed = "", False  # the facet of a field key; a name key set the subject
    for sentence in sentences:
        key = _KEY.match(sentence.strip()) if not is_card and not _CODE_LINE.match(
            sentence.strip()) else None
        if key:
            name = key.group("key").strip()
            inherited = facet_of(name)
            if not inherited and not set(name.lower().split()) <= _GENERIC_KEY | CONTEXT_LABELS:
                subject, keyed = name, True
            continue
        if keep is not None and not keep(sentence):
            continue
        dated = _DATED.match(sentence.strip()) if not is_card else None
        if dated:  # "Sleeper Agents (2024): whether a model ..." is about Sleeper Agents
            subject, keyed = dated.group("name"), True
        infos = classify(sentence, subject, title, is_card, chunk)
        if inherited:
            infos = [i.model_copy(update={"facet": inherited}) if i.role == "fact"
                     and not i.label else i for i in infos]
        out.extend(infos)
        if not is_card and infos and infos[0].context == "title" and not keyed:
            subject = title_subject(sentence) or subject
    if state is not None:  # a code dictionary's key ("edm:") holds on into the next chunk
        state["subject"] = subject if keyed and _DICT_KEY.match(subject) else ""
    return out


_DATED = re.compile(r"^(?P<name>[A-Z][\w.+/ -]{1,50}?) \((?:19|20)\d\d\):\s+\S")


def title_subject(line: str) -> str:
    """The paper a title line names, by its short name: "paper: QLoRA: Efficient ..." ->
    "QLoRA"; "Consistency Models (Song et al. 2023)" -> "Consistency Models"."""
    from rag.corpus.linking import name_parts

    label, rest = split_label(line)
    if label and label.lower() not in ("paper", "title"):
        if not REFERENCE.match(line.strip()):
            return ""
        rest = line
    parts = name_parts(re.sub(r"\s*\([^()]*\)\s*[.,;]?$", "", rest.strip()))
    short = [p for p in parts[1:] if 1 <= len(p.split()) <= 4]
    return short[0] if short and ":" in parts[0] else parts[0] if len(parts[0].split()) <= 6 \
        else ""


_NAMED = re.compile(r"^(?P<name>[A-Z][\w./+ -]{1,60}?) (?:papers?|report|survey|benchmark)"
                    r"\s+[-–—:]\s+\S")


def named_subject(text: str) -> str:
    """The paper a reading-list line is about: "GraphRAG paper - Microsoft's take ..." ->
    "GraphRAG"."""
    match = _NAMED.match(text.strip())
    return match.group("name").strip() if match else ""


def _capitalise(text: str) -> str:
    return text[:1].upper() + text[1:] if text[:1].islower() else text


def embed_form(info: SentenceInfo) -> str:
    """What the embedding model sees of a sentence (before its heading context): the
    prose, with the facet label kept as a cue ("Limitations: ..."), a discussion item
    with its hint."""
    if info.role == "question":
        return info.text
    if info.label and info.facet and info.role == "fact":
        return f"{info.label}: {info.prose}"
    return info.prose


# --- subjects and the whole corpus ----------------------------------------------------

_REPORT_TAIL = re.compile(r"\s+(?:Technical Report|Report)$")


def card_subject(title: str, names: Sequence[str] = ()) -> str:
    """How to call a paper in running text: its shortest short name or alias ("DPO",
    "GPT-3"), else a short title without "Technical Report" ("GPT-4"), else ''.  A short
    title with a version number wins over an alias without one ("Phi-4"); a long title
    without an alias is called by the name it coins ("PagedAttention")."""
    short = sorted((n for n in names if n and len(n.split()) <= 4), key=len)
    bare = _REPORT_TAIL.sub("", title.strip())
    titled = bool(bare) and len(bare.split()) <= 3
    if short and not (titled and re.search(r"\d", bare) and not re.search(r"\d", short[0])):
        return short[0]  # but "Phi-4", not the alias "Microsoft Phi": its version matters
    if titled:
        return bare
    coined = re.findall(r"\b[A-Z][a-z]+[A-Z]\w*\b", title)  # "... Serving with PagedAttention"
    return coined[-1] if coined else ""


def section_subject(section: str) -> str:
    """The topic of a document section from its heading path: "... › 6. LoRA: Low-Rank
    Adaptation (2021)" -> "LoRA"."""
    from rag.corpus.linking import name_parts

    heading = section.rsplit(" › ", 1)[-1].strip()
    if not heading:
        return ""
    parts = name_parts(heading)
    short = [p for p in parts[1:] if 1 <= len(p.split()) <= 4]
    return short[0] if short and ":" in parts[0] else parts[0]


def keep_sentence(text: str, is_answer: bool) -> bool:
    """Answer-worthy sentences, plus labelled guide fields phrased as questions
    ("Problem: how to use unlabeled text for pre-training?")."""
    if is_answer:
        return True
    label, rest = split_label(text)
    return bool(label) and facet_of(label) in FACETS and len(rest.split()) >= 4


def annotate_chunks(chunks: Sequence, sources: Sequence) -> list[SentenceInfo]:
    """Role records of every kept sentence of every chunk, in index order."""
    from rag.corpus.chunk import is_answer_sentence, split_sentences
    from rag.corpus.linking import short_names_by_paper
    from rag.corpus.outline import fact_list, tagline

    names = short_names_by_paper(chunks, sources)
    out: list[SentenceInfo] = []
    carried: tuple[str, str] = ("", "")  # (section, subject a title line set there)
    opened: set[str] = set()  # cards whose first sentence has been seen, sections too
    for i, chunk in enumerate(chunks):
        is_card = chunk.doc_id.startswith("arxiv:")
        arxiv_id = chunk.doc_id.removeprefix("arxiv:")
        subject = card_subject(chunk.title, names.get(arxiv_id, ())) if is_card \
            else section_subject(chunk.section)
        where = f"{chunk.doc_id}#{chunk.section}"
        if not is_card and where not in opened:  # a section's first chunk: its tagline
            opened.add(where)
            out.extend(tagline(chunk, i, subject))
        if carried[0] == where and carried[1]:
            subject = carried[1]
        state: dict[str, str] = {}
        infos = classify_chunk(split_sentences(chunk.text), subject,
                               chunk.title if is_card else "", is_card, i,
                               keep=lambda s: keep_sentence(s, is_answer_sentence(s)),
                               state=state)
        if is_card and chunk.doc_id not in opened and infos:
            opened.add(chunk.doc_id)
            first = infos[0]
            if first.role == "fact" and not first.label:
                infos[0] = first.model_copy(update={"facet": card_opening_facet(
                    first.prose, subject, chunk.title)})
        out.extend(fact_list(x) for x in infos)
        titled = [x for x in infos if x.context == "title"]  # a dictionary key ("edm:")
        carried = (where, (title_subject(titled[-1].text) if titled else "") or  # holds
                   state.get("subject") or (carried[1] if carried[0] == where else ""))
    return out
