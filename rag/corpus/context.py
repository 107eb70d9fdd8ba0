"""Context sentences, decided at build time (pure functions): link lists, "See also"
pointers, headings used as lists, bare titles and references, syllabus topic lines, table
rows, code, the reading list speaking to its reader and how a paper is laid out.  They are
retrievable and shown in the evidence, never an answer line (``rag.corpus.roles``).
"""

from __future__ import annotations

import re

# Labels whose value is a bare title, a pointer or navigation: context.
CONTEXT_LABELS = frozenset({
    "paper", "papers", "title", "titles", "author", "authors", "link", "links", "url",
    "see also", "module", "previous", "next", "source", "sources", "reference", "references",
    "example", "examples", "key papers", "papers to read", "further reading", "read more",
    "resources", "venue", "conference", "where to read papers", "paper discussions",
    "reading groups"})

# Sections that point the reader elsewhere: "Further Reading › Papers: - Hugging Face Papers -
# Daily papers", "Blogs", "Courses".
RESOURCE_HEADINGS = frozenset({
    "papers", "blogs", "courses", "resources", "related resources", "further reading",
    "references", "see also", "links", "tools and resources"})


def is_resource_heading(section: str) -> bool:
    """Is a section (its heading path's last part) a list of resources to look up?"""
    return section.rsplit(" › ", 1)[-1].strip().lower() in RESOURCE_HEADINGS


_DASH_ITEMS = re.compile(r"(?:^|\s)-\s+\S")
# "See also ...", and "See Ideogram, Recraft, ..." (names to look up), not "see how ..."
_SEE_ALSO = re.compile(r"^\(?\s*(?:(?i:see (?:also|more|the))\b|[Ss]ee [A-Z])")
REFERENCE = re.compile(r"^[^()]{3,160}\((?:[^()]*?,\s*)?(?:[^()]*\bet al\.?\s*,?\s*)?"
                        r"(?:19|20)\d{2}\)\s*[.,;]?$")
# Reading advice rather than content: "You should also know ...", "We recommend ...".
_POINTER = re.compile(r"^(?:\(?\d+(?:\.\d+)?\s*hr video\)|\(\d+\)\s*)?\s*(?:you (?:should|can|may|"
                      r"could)|we (?:also )?(?:highly |do )?recommend|we covered|if time allows|"
                      r"check out|bonus picks|honou?rable mentions|note that we|more survey papers|"
                      r"choose from|pick your poison)\b|\bis also strongly recommended\b|"
                      r"\bto understand the leading\b|\bsee (?:section|chapter|part)\s+\w+\s+"
                      r"(?:above|below)\b|"
                      r"^(?:read|review|attend|follow|join|subscribe)\s", re.I)
_TABLE_ROW = re.compile(r"^\|.*\|$")
_CODE = re.compile(r"\{[^{}]*\}|^\s*(?:def|return|import|class|print)\b|^\s*from \S+ import\b"
                   r"|\w\.\w+\(|^\s*[\w.\[\]'\"]+(?:\s*,\s*[\w.\[\]'\"]+)*\s*=\s|==|[;{}]\s*$|^\s*[#@]|^f[\"']")
_WORDS = re.compile(r"[A-Za-z][A-Za-z'’-]*|\d[\w.%]*")
_NAME_GLUE = frozenset("and or & vs the of for on in to a an with paper papers esp via its "
                       "from by at".split())
# Lowercase words that make a phrase a statement rather than a list of names.
_VERBISH = re.compile(r"^(?:is|are|was|were|be|been|has|have|had|can|could|will|would|may|"
                      r"might|should|must|does|do|did|uses?|used|shows?|showed|makes?|made|"
                      r"takes?|gives?|introduces?d?|proposes?d?|[a-z]{3,}(?:es|ed|ing|s))$")


def is_heading_list(rest: str) -> bool:
    """Label text that is a list of dash items: "- Larger expert counts - Dynamic ..."."""
    return rest.lstrip().startswith("- ") or len(_DASH_ITEMS.findall(" " + rest)) >= 2 \
        and " - " in rest and rest.count(" - ") >= 2


def is_name_list(text: str) -> bool:
    """A list of names or links with no statement: "GPT1, GPT2, GPT3, Codex papers."."""
    words = _WORDS.findall(text)
    separators = len(re.findall(r",|/|\s(?:and|or|&)\s", _strip_parens(text)))
    if len(words) < 3 or separators < 2:
        return False
    lower = [w for w in words if w[0].islower() and w.lower() not in _NAME_GLUE]
    if any(_VERBISH.match(w) for w in lower):
        return False
    return len(lower) <= max(1, len(words) // 5)


def _strip_parens(text: str) -> str:
    return re.sub(r"\([^()]*\)", "", text)


def is_code(text: str) -> bool:
    """Code, templates and formulas written as code."""
    stripped = text.strip()
    if _CODE.search(stripped):
        return True
    symbols = sum(not (ch.isalnum() or ch.isspace() or ch in ".,;:'’\"()-%") for ch in stripped)
    return symbols / max(len(stripped), 1) > 0.12


_TOPIC_LINE = re.compile(r"^[\w][\w/&+.' -]{1,60}\([^()]{2,60}\)(?:\s+[\w-]+){0,2}$")


def is_topic_line(text: str) -> bool:
    """A bare topic name from a syllabus list: "RLHF (Reinforcement Learning from Human
    Feedback)", "Neural Tangent Kernel (NTK) regime" - it names, it does not explain."""
    words = _WORDS.findall(text)
    if len(words) > 9 or not _TOPIC_LINE.match(text.strip()):
        return False
    lower = [w for w in _WORDS.findall(_strip_parens(text)) if w[0].islower()
             and w.lower() not in _NAME_GLUE]
    return not any(_VERBISH.match(w) for w in lower)


def context_reason(text: str, label: str, rest: str) -> str:
    """Why a sentence is context ('' when it is not)."""
    stripped = text.strip()
    if not label and is_topic_line(stripped):
        return "title"
    if _SEE_ALSO.match(stripped) or re.match(r"^(?:see also|of historical interest)\b",
                                             stripped, re.I):
        return "see_also"
    if _TABLE_ROW.match(stripped):
        return "table"
    if _POINTER.search(stripped) or label and _POINTER.search(rest):
        return "pointer"
    if label and label.lower() in CONTEXT_LABELS:
        return "title"
    if label and is_heading_list(rest):
        return "heading_list"
    if REFERENCE.match(stripped) and not _VERBISH_IN(stripped):
        return "title"
    return _body_reason(stripped, label, rest)


def _body_reason(stripped: str, label: str, rest: str) -> str:
    """Context by what the sentence's body is: code, a list of names, or the reading
    list speaking to its reader."""
    if is_code(stripped):
        return "code"
    if is_name_list(rest if label else stripped):
        return "link_list"
    if is_editorial(stripped):
        return "editorial"
    if _OUTLINE.search(stripped):
        return "outline"
    if _RELEASE.match(stripped):
        return "release"
    return ""


# How a paper is laid out, not what it says: "It is organized around three research
# questions."
_OUTLINE = re.compile(r"\b(?:is|are) (?:organi[sz]ed|structured|divided) (?:around|into)\b|"
                      r"\bconsists of (?:two|three|four|five|\d+) (?:parts|sections|chapters)\b",
                      re.I)


# What was released, and nothing more: "Model, data and code are open.", "Code, data,
# checkpoints and training scripts are released." (not "Weights were released openly,
# making it a widely used base model": that says more).
_RELEASE = re.compile(r"^(?:[\w-]+(?:,\s*|\s+and\s+|\s+)){1,7}?(?:are|is|were|was)\s+"
                      r"(?:all\s+|also\s+|now\s+)?(?:open|open-sourced?|available|released|"
                      r"public(?:ly available)?)(?:\s+(?:openly|publicly|too|as well))?\s*\.?$",
                      re.I)


# The reading list talking to its reader ("you will be expected to ...", "we recommend
# ...", "our pod"): advice about what to read, not a fact about the topic.  Quoted text
# and titles ("Attention Is All You Need", "You Only Look Once") do not count.
_QUOTED = re.compile(r"“[^”]*”|\"[^\"]*\"|'[^']*'(?!\w)")
_READER = re.compile(r"(?:^|(?<=[\s(,;:]))(?:you|your|we|our)\b|^(?:You|We|Our)\b")


def is_editorial(text: str) -> bool:
    """Does the sentence address the reader or speak for the reading list's authors?"""
    return bool(_READER.search(_QUOTED.sub(" ", text)))


def _VERBISH_IN(text: str) -> bool:  # noqa: N802 - reads as a predicate in context_reason
    head = re.sub(r"\([^()]*\)\s*[.,;]?$", "", text)
    return any(_VERBISH.match(w) for w in _WORDS.findall(head) if w[0].islower())
