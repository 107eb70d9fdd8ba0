"""Papers and methods a question names, resolved to their passages.

"How does LoRA work?" should bring the LoRA card and the reading guide's LoRA
section into the candidates even when the phrasing is far from theirs.  Names
come from the index itself: each paper card's title, short name and the name its
sentences were given at build time (``SentenceInfo.subject``: "DPO", "GPT-3"),
and each document section's subject ("LoRA", "Flash Attention").
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from difflib import SequenceMatcher
from functools import cached_property

from rag.corpus.linking import key as flat_key
from rag.corpus.linking import name_parts, short_name
from rag.search.query import GREEK, stem_tokens

_COMMON = frozenset("""the this that with from into what when which model models paper
papers attention transformer transformers language learning training data agents agent
tools memory evaluation overview introduction section reasoning scaling""".split())


def name_key(text: str) -> str:
    """Letters and digits, lower case, a plural "s" dropped ("Switch Transformers" and
    "Switch Transformer" are one name); a Greek letter spelled out ("τ-bench" is the
    "tau-bench" of a normalised question)."""
    text = "".join(GREEK.get(ch, ch) for ch in text)
    key = re.sub(r"[\W_]+", "", text).lower()
    return key[:-1] if len(key) > 4 and key.endswith("s") and not key.endswith("ss") else key


class QuestionNames:
    """Finds known names in a question; ``pinned`` gives their passages' positions."""

    rare_df = 4  # a term in at most this many chunks is as specific as a name
    common_words = 10  # a common word is a name only in a question this short

    def __init__(self, index, per_name: int = 2, limit: int = 6):
        self.limit = limit
        groups: dict[str, list[int]] = {}
        for name, chunk in _names(index):
            key = name_key(name)
            # a common word is a name only as what a paper card introduced ("This paper
            # introduced the Transformer"): its card, not every passage titled with it
            if len(key) < 3 or key in _COMMON and not (
                    index.chunks[chunk].doc_id.startswith("arxiv:")
                    and name_key(index.chunks[chunk].title) != key):
                continue
            found = groups.setdefault(key, [])
            if chunk not in found and len(found) < 2 * per_name:
                found.append(chunk)
        self.groups = groups
        self.common_names = frozenset(k for k in groups if k in _COMMON)
        names = sorted({n for n, _ in _names(index) if name_key(n) in groups}, key=len,
                       reverse=True)
        pattern = "|".join(_loose(n) for n in names)
        self.pattern = re.compile(rf"(?<![\w-])(?:{pattern})(?![\w-])", re.I) if names else None
        self.rare, self.common = rare_terms(index, self.rare_df)
        self.spellings = spellings(f"{c.title}\n{c.section}\n{c.text}" for c in index.chunks)

    def unknown_names(self, question: str) -> list[tuple[str, ...]]:
        """Stems of the names a question writes as one word (mixed case, hyphenated
        with a one-letter part, or letters around a digit) that the material never
        writes, in any spacing ("B-tree": the material has "Tree of Thoughts", not a
        B-tree; "k-means", "word2vec").  Descriptive compounds ("RNN-based",
        "thumbs-up") are not names."""
        return [stems for _, stems in self.unknown_words(question)]

    def unknown_words(self, question: str) -> list[tuple[str, tuple[str, ...]]]:
        """``unknown_names`` with each name's word as the question writes it."""
        out = []
        found = list(re.finditer(r"[\w-]+", question))
        for n, m in enumerate(found):
            word = m.group(0)
            parts = [p for p in word.split("-") if p]
            single = len(parts) > 1 and any(len(p) == 1 and p.isalpha() for p in parts)
            infix = re.fullmatch(r"[A-Za-z]{2,}\d+[A-Za-z]{2,}", word) is not None
            # "the Krebs cycle": a capitalised word inside the question names the next one
            proper = n > 0 and re.fullmatch(r"[A-Z][a-z]{3,}", word) is not None \
                and question[:m.start()].rstrip()[-1:] not in (".", "?", "!", ":", ";")
            if re.search(r"[a-z][A-Z]", word) or single or infix or proper:
                if not self.knows_word(word) and not self.misspelt(flat_key(word)):
                    name = word.replace("-", " ")
                    if proper and n + 1 < len(found):
                        name += " " + found[n + 1].group(0)
                    out.append((word, tuple(stem_tokens(name))))
        return out

    def knows_word(self, word: str) -> bool:
        """Does the material write ``word`` (any case, any spacing), or is it one of the
        question words an acronym pattern catches ("I", "OK")?"""
        flat = flat_key(word)
        forms = {flat, flat.rstrip("s"), flat + "s", flat + "es"}
        return not flat or len(flat) < 2 or bool(forms & self.spellings)

    def misspelt(self, flat: str) -> bool:
        """Is ``flat`` one slip from a word the material writes ("capflit": "CapFilt"),
        at least six letters long: a typo, not a name it lacks?"""
        if len(flat) < 6:
            return False
        return any(abs(len(w) - len(flat)) <= 1
                   and SequenceMatcher(None, w, flat).ratio() >= 0.85
                   for w in self._by_start.get(flat[:2], ()))

    @cached_property
    def _by_start(self) -> dict[str, list[str]]:
        """The material's spellings by their first two letters (built on the first typo
        check, once per index)."""
        out: dict[str, list[str]] = {}
        for w in self.spellings:
            out.setdefault(w[:2], []).append(w)
        return out

    def knows(self, stems: Sequence[str]) -> bool:
        """Does the material use every part of a name ("Black-Scholes": it never says
        "Scholes", so the name is unknown, whatever "black" finds)?"""
        return all(t in self.rare or t in self.common or len(t) < 4 for t in stems)

    def plain_stems(self, question: str) -> list[str]:
        """Stems of the question's words, leaving out other spellings of common words
        ("optimisation" of "optimization")."""
        out = []
        for word in re.findall(r"\w+", question.lower()):
            variants = [word.replace(a, b) for a, b in _SPELLINGS if a in word]
            if not any(set(stem_tokens(v)) & self.common for v in variants):
                out.extend(stem_tokens(word))
        return out

    def found(self, question: str) -> list[str]:
        """Keys of the names in ``question``, in order, unique."""
        return list(dict.fromkeys(name_key(m.group(0)) for m in self.matches(question)))

    def matches(self, question: str) -> list[re.Match]:
        """Where ``question`` writes a known name."""
        if self.pattern is None:
            return []
        return [m for m in self.pattern.finditer(question) if self._names_it(question, m)]

    def _names_it(self, question: str, found: re.Match) -> bool:
        """A common word ("transformer") names its paper only in a short question about it,
        not inside another name ("Decision Transformer") nor beside other names ("RWKV
        ... like a Transformer")."""
        if name_key(found.group(0)) not in self.common_names:
            return True
        before = question[:found.start()].split()
        return len(question.split()) <= self.common_words and not any(
            re.search(r"[A-Z]", w) for w in before[1:]) and not re.search(
                r"[A-Z]", question[found.end():])

    def named(self, question: str, names: int | None = 1) -> list[int]:
        """The chunks of the first ``names`` (None: all) paper or method names ``question``
        writes (their guide section and card): passages a search must return."""
        out: list[int] = []
        for key in self.found(question)[:names]:
            out.extend(c for c in self.groups.get(key, ()) if c not in out)
        return out

    def pinned(self, question: str) -> list[int]:
        """Chunk positions of the passages of every name in ``question`` (at most
        ``limit``), in order of mention, then of the few passages that use a rare term
        it writes as a name ("RoPE", "ELBO", "classifier-free": a concept the reading
        list names in a syllabus line; not "optimisation", a rare spelling)."""
        out = self.named(question, names=None)
        words = named_words(question)
        known = [t for stems in words if self.knows(stems) for t in stems]
        unknown = {t for stems in words if not self.knows(stems) for t in stems}
        for term in dict.fromkeys([*known, *self.plain_stems(question)]):
            if term not in unknown:
                out.extend(c for c in self.rare.get(term, ()) if c not in out)
        return out[: self.limit]


def named_words(question: str) -> list[tuple[str, ...]]:
    """Stems of each word a question writes as a name: acronyms and mixed case ("RoPE",
    "ELBO", "GQA") and hyphenated terms ("classifier-free" -> ("classifi", "free"))."""
    words = [w for w in re.findall(r"[\w-]+", question)
             if re.search(r"[A-Z][^A-Z]*[A-Z]|[a-z][A-Z]", w) or "-" in w.strip("-")]
    return [stems for w in words if (stems := stem_tokens(w.replace("-", " ")))]


def named_stems(question: str) -> list[str]:
    """The stems of ``named_words``, in order."""
    return [t for stems in named_words(question) for t in stems]


def spellings(texts) -> frozenset[str]:
    """Every word of ``texts`` and every run of two or three adjacent words, flattened
    ("Llama 3", "Llama-3" and "LLaMA3" all read "llama3"; "Tree of Thoughts" reads
    "treeofthoughts")."""
    out: set[str] = set()
    for text in texts:
        words = [flat_key(w) for w in re.findall(r"[\w-]+", text)]
        out.update(words)
        out.update(a + b for a, b in zip(words, words[1:]))
        out.update(a + b + c for a, b, c in zip(words, words[1:], words[2:]))
    return frozenset(out)


_SPELLINGS = (("is", "iz"), ("our", "or"), ("tre", "ter"), ("ys", "yz"))


def rare_terms(index, max_df: int) -> tuple[dict[str, tuple[int, ...]], frozenset[str]]:
    """Stemmed terms (four letters or more, not numbers) that at most ``max_df`` chunks
    use, with those chunks; and the other (common) terms."""
    where: dict[str, list[int]] = {}
    for i, chunk in enumerate(index.chunks):
        for term in set(stem_tokens(chunk.text)):
            if len(term) >= 4 and term.isalpha():
                where.setdefault(term, []).append(i)
    rare = {t: tuple(c) for t, c in where.items() if len(c) <= max_df}
    return rare, frozenset(t for t in where if t not in rare)


def _loose(name: str) -> str:
    """A regex for ``name`` tolerant of spaces, hyphens and points ("Flash Attention" ~
    "FlashAttention" ~ "flash-attention", "wav2vec 2.0")."""
    name = "".join(GREEK.get(ch, ch) for ch in name)
    parts = [re.escape(p) for p in re.findall(r"[A-Za-z0-9]+", name)]
    if len(parts[-1]) > 3 and parts[-1].endswith("s") and not parts[-1].endswith("ss"):
        parts[-1] = parts[-1][:-1]
    return r"[\s.-]?".join(parts) + "(?:e?s)?"  # "wav2vec 2.0", "Qwen2.5"


_ARTIFACT_NAME = r"(?:[A-Z][\w.-]*[A-Z0-9][\w-]*|[A-Z][a-z]+[A-Z][\w-]*)"
_ARTIFACT = re.compile(
    rf"\b(?P<a>{_ARTIFACT_NAME}),\s+(?:a|an)\s+new\s+(?:[\w-]+\s+){{0,2}}"
    r"(?:benchmark|dataset|suite|corpus|metric|model|framework|method)\b|"
    r"\b(?:introduces?|introduced|proposes?|proposed|presents?|releases?|released)\s+"
    rf"(?:the\s+|a\s+|an\s+)?(?:(?P<b>{_ARTIFACT_NAME})|"
    r"(?P<c>[A-Z][a-z]+(?:[\s-][A-Z][\w-]*){1,3})\s+\((?P<d>[A-Za-z][\w-]*)\))")


def introduced_artifacts(text: str) -> list[str]:
    """Names a paper card says the paper introduced besides itself: "HumanEval, a new
    benchmark of 164 ...", "introduces PagedAttention" (mixed-case or acronym names),
    "introduces the Vision Transformer (ViT)" (both), so a question about HumanEval
    finds the Codex card that defines it."""
    found = [n for m in _ARTIFACT.finditer(text)
             for n in (m.group("a") or m.group("b"), m.group("c"), m.group("d")) if n]
    return list(dict.fromkeys(found))


def _names(index) -> list[tuple[str, int]]:
    """(name, chunk position) pairs: card titles and short names, sentence subjects."""
    out: list[tuple[str, int]] = []
    first_subject: dict[int, str] = {}
    for info in index.sentence_info:
        first_subject.setdefault(info.chunk, info.subject)
    for i, chunk in enumerate(index.chunks):
        subject = first_subject.get(i, "")
        if chunk.doc_id.startswith("arxiv:"):
            out += [(n, i) for n in (chunk.title, short_name(chunk.title), subject) if n]
            out += [(n, i) for n in introduced_artifacts(chunk.text)]
        elif subject and not subject.lower().startswith("section"):
            heading = chunk.section.rsplit(" › ", 1)[-1]
            parts = name_parts(heading) if heading else []
            out += [(n, i) for n in dict.fromkeys([subject, *parts[1:]])
                    if n and len(n.split()) <= 4]
    return out


def names_in(question: str, names: QuestionNames) -> Sequence[str]:
    return names.found(question)
