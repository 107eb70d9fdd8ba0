"""What a question asks for (pure functions): its intent and its subject.

Intents: ``definition`` ("what is"), ``mechanism`` ("how does ... work"),
``reason`` ("why"), ``comparison`` ("X vs Y", "compare", "difference between"),
``usage`` ("when would you use"), ``limitations`` (drawbacks, downsides) and
``results`` (numbers, benchmarks); a yes/no question ("Is X still worth it?", "Can
X compete with Y?") asks for a ``verdict``, which findings answer; "What problem does
X solve?" asks for the ``problem`` (a card's background).  A question may
carry several ("What is MoE and why do you need load balancing?"); the first is the
lead's.  Each intent
prefers sentences of certain facets (``FACET_FIT``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

INTENTS = ("definition", "detail", "mechanism", "reason", "comparison", "usage", "limitations",
           "results", "verdict", "problem")
_PATTERNS: dict[str, str] = {
    "comparison": r"\b(?:vs\.?|versus|compared? (?:to|with)|compare|contrast|comparison|"
                  r"distinguish(?:es)?|differen(?:ce|t)s?"
                  r"\b(?: between| from)?|differs?\b|better than|trade-?offs? between)|"
                  r"\bor\b[^?]*\bwhich\b|\bwhich\b[^?]*\bor\b",
    "limitations": r"\b(?:limitations?|drawbacks?|downsides?|disadvantages?|weakness(?:es)?|cons\b|"
                   r"weak (?:spots?|points?)|shortcomings?|caveats?|gotchas?|headaches?|"
                   r"pain points?|"
                   r"pitfalls?|fail(?:s|ure modes?)?\b|criticisms?|problems? with|issues? with|"
                   r"(?:does|do)(?:n'?t| not) (?:really |actually |always )?help|"
                   r"not (?:really |actually |always )?help|fall(?:s)? short|go wrong|"
                   r"engineering issues|risks? (?:of|with|in)|challenges? (?:of|with|in)|"
                   r"(?:can'?t|cannot) .{1,30}\bdo well)",
    "usage": r"\b(?:when (?:would|should|do|to|can) (?:you |we |i |one )?(?:use|choose|pick|"
             r"prefer)|how (?:would|should|do) (?:you|we|i|one) (?:pick|choose|select|decide)|"
             r"when to use|use cases?|which (?:one )?should|should (?:you|i|we) use|"
             r"(?:what|which) (?:\w+ ){1,2}to (?:choose|pick|use|adapt)\b|"
             r"in practice|makes? (?:that|it) possible)",
    "results": r"\b(?:results?|how (?:well|much|fast|many|good|accurate|close)|"
               r"(?<!attention )(?<!similarity )(?<!relevance )(?<!confidence )score[sd]?|"
               r"how did .{1,40} (?:show|establish|prove|demonstrate|verify|validate) that|"
               r"numbers?\b(?!\s+of\b)|(?:on|which|what|across) (?:\w+ )?benchmarks?|"
               r"benchmarks? (?:results?|numbers?|scores?|performance)|speed-?up|accuracy|"
               r"bleu|gsm8k|how (?:big|large)|"
               r"what did .* (?:get|reach|find|show|demonstrate|reveal|prove|achieve|accomplish)|"
               r"findings?|percentile|\branked\b|"
               r"(?:how|where) did .{1,40} (?:do|fare|perform|rank|place|land)\b)",
    "problem": r"\b(?:what|which) (?:problems?|gaps?|issues?|weakness(?:es)?|bottlenecks?|"
               r"limitations?|shortcomings?|drawbacks?|flaws?)\b[^?]*\b"
               r"(?:solve|address|tackle|target|fix|overcome|remove|fill|eliminat|get rid of|"
               r"do away with)|\bmotivation\b|"
               r"\bwhat (?:was|is) (?:wrong|missing)\b",
    "reason": r"(?:^|\b)(?:why|what for|(?:the|a|main) reasons?|reasons? (?:for|why)|purpose|"
              r"what(?:'?s| is) the (?:point|idea behind|rationale|motivation) (?:of|for|behind)|"
              r"what makes|what (?:does|do) .{1,40} do)\b",
    "mechanism": r"\b(?:how (?:exactly |precisely |actually )?(?:does|do|is|are|did|can|was|were|"
                 r"could|will)(?!.{1,40} (?:show|establish|prove|demonstrate|verify|validate) "
                 r"that)|how .* works?\b|"
                 r"^how$|walk (?:me )?through|mechanism|architectur(?:e|al)\b|derive|"
                 r"(?:the|what|which) (?:\w+ )?(?:steps|pipeline|process(?:es)?)\b|"
                 r"what are the (?:\w+ ){0,2}(?:components|parts|pieces|building blocks|"
                 r"ingredients|tricks|modules|stages)\b|"
                 r"what (?:\w+ )?(?:choices|components|design|ingredients|tricks|techniques)|"
                 r"what does .* (?:add|change)|how .* (?:encode|handle|achieve|avoid|reduce|save|"
                 r"learn|control))",
    "verdict": r"^(?:is|are|was|were|can|could|does|do|did|should|will|would|has|have)\b",
    "definition": r"^(?:what(?:'s| is| are)|define|explain|describe|eli5|explain simply|"
                  r"tell me about)\b|\bwhat (?:is|are)\b",
}
_COMPILED = {k: re.compile(v, re.I) for k, v in _PATTERNS.items()}
# "What image tokenizer does LlamaGen use?", "What does OLMo's release include?": a detail
# of the subject, not what it is (its overview sentence does not answer it).
_DETAIL = re.compile(r"^\s*(?:what|which)\s+(?:[\w'-]+\s+){0,3}?(?:does|did|do)\s+"
                     r"(?!.*\b(?:mean|stand for)\b)", re.I)
# Facets that answer each intent, best first (rag.corpus.roles facet names; "" = a plain
# statement; "hint" = a discussion point's own answer).
FACET_FIT: dict[str, tuple[str, ...]] = {
    "definition": ("key_idea", "overview", "", "method", "problem"),
    "detail": ("", "method", "key_idea", "results"),
    "mechanism": ("method", "key_idea", "", "overview"),
    "reason": ("hint", "problem", "advantages", "key_idea", "", "background"),
    "comparison": ("key_idea", "advantages", "limitations", "hint", "overview", "", "method",
                   "results"),
    "usage": ("advantages", "usage", "problem", "hint", "key_idea", "limitations"),
    "limitations": ("limitations", "hint"),
    "results": ("results", "", "impact"),
    "verdict": ("hint", "results", "", "limitations", "key_idea"),
    "problem": ("problem", "background", "hint", "limitations"),
}
_COMPARATIVE = (r"(?:better|worse|faster|slower|cheaper|simpler|stronger|weaker|larger|smaller|"
                r"bigger|(?:more|less)\s+\w+)")
_SPLITS = (r"\bvs\.?|\bversus\b|,|\bor\b|\band\b|/|\bover\b|\bcompared? (?:to|with)\b|"
           r"\bdiffers? from\b|\bdifferent from\b")
_SPLIT_ITEMS = re.compile(rf"\s*(?:{_SPLITS})\s*", re.I)
# "is DPO actually better than RLHF?": DPO and RLHF ("why is X better than Y?" asks why)
_SPLIT_RANKED = re.compile(rf"\s*(?:{_SPLITS}|\b{_COMPARATIVE}\s+than\b)\s*", re.I)
# "is DPO actually better than RLHF or just simpler?": "just simpler" is no item
_LONE_COMPARATIVE = re.compile(rf"^(?:just\s+|simply\s+|only\s+)?{_COMPARATIVE}$", re.I)
_ITEM_NOISE = re.compile(
    r"^(?:compare|comparison of|what'?s|what is|what are|the|a|an|difference|differences|"
    r"between|how (?:is|does|do)|is|which|when|would|you|use|to|it|can|could|please|"
    r"briefly|quickly|explain|describe|discuss|contrast|tell me(?: about)?|talk about|"
    r"walk me through|actually|really|so special about|special about|so (?:great|good|"
    r"different) about|the (?:big )?deal with)\b\s*|"
    r"\s+\b(?:actually|really|just)$|"
    r"\s*\b(?:differ|different|from each other|trade-?offs?|which is (?:simpler|better)|"
    r"what'?s the difference|what changed|what'?s new|for|in|on|when is each better)\b.*$",
    re.I)


@dataclass(frozen=True)
class Intent:
    """The intents of a question, in order of appearance, and its comparison items."""

    kinds: tuple[str, ...]
    items: tuple[str, ...] = ()
    clauses: tuple[tuple[str, str], ...] = ()  # (intent, clause text) in order

    @property
    def primary(self) -> str:
        return self.kinds[0] if self.kinds else "definition"

    def clause_for(self, kind: str) -> str:
        """The clause that asks for ``kind`` ('' when none does)."""
        return next((text for k, text in self.clauses if k == kind), "")

    @property
    def is_comparison(self) -> bool:
        return "comparison" in self.kinds and len(self.items) >= 2


# "When would you use LoRA versus full fine-tuning?" asks when to choose the first; the
# second is the alternative, not an item to describe.
_USE_X_VS_Y = re.compile(r"^\s*when (?:would|should|do|to|can) (?:you |we |i |one )?"
                         r"(?:use|choose|pick|prefer)\b", re.I)
_CLAUSES = re.compile(r"\?\s*|\s+and\s+(?=why|how|what|when|which|does|is|are)\b|;\s*", re.I)
# "What is gradient accumulation, how does it emulate ..., and ...?": questions in a row
# (not a setting before its question: "In the SWE-bench paper, how is a patch judged?")
_COMMA_ASKS = re.compile(r",\s+(?=(?:how|why|what|when)\s+(?:is|are|does|do|did|should|can|"
                         r"would|could|was|were)\b)", re.I)
_ASKING = re.compile(r"^\s*(?:what|how|why|when|which|explain|describe|define)\b", re.I)
# "Explain the reparameterization trick in VAEs: why can't you ...": a request, then its
# questions (not a label, "BIG-bench: how many tasks ...?")
_ASKED_THEN = re.compile(r"^(\s*(?:explain|describe|define|what (?:is|are))(?:\s+[^\s:?]+){3,}):\s+"
                         r"(?=(?:why|how|what|when|which)\b)", re.I)
_SPECIFIC = frozenset({"limitations", "results", "usage", "reason", "comparison", "verdict",
                       "problem"})


def clause_intents(clause: str) -> list[str]:
    """Intents of one clause; "definition" only when nothing more specific is asked."""
    found = sorted((m.start(), kind not in _SPECIFIC, kind) for kind, pattern
                   in _COMPILED.items() if (m := pattern.search(clause)))
    kinds = [k for _, _, k in found]  # at one place the specific kind first ("how did X
    # fare": results, not how it works)
    if _SPECIFIC & set(kinds):
        kinds = [k for k in kinds if k != "definition"]
    if not kinds and _DETAIL.search(clause):
        kinds = ["detail"]
    if "problem" in kinds:  # "what limitation did X remove" asks what X solved
        kinds = ["problem"] + [k for k in kinds if k not in ("problem", "limitations")]
    return kinds


# "How did human experts compare with the best models?": how an experiment came out (its
# numbers), not a side-by-side description of two things.
# So is how people fared against models ("How do PhD-level experts compare with ...?").
_HOW_DID_COMPARE = re.compile(r"\bhow did\b[^?]{1,80}?\bcompare\b|\bhow (?:do|does)\s+"
                              r"(?:[\w-]+\s+){0,4}?(?:humans?|(?:non-)?experts?|annotators?|"
                              r"raters?|people|labell?ers?|crowd-?workers?)\s+compare\b", re.I)


# "Why was BABILong important?", "why does LoRA matter?": asks what it achieved or
# changed (its results, its impact), not a reason inside it.
_IMPORTANCE = re.compile(r"^\s*why (?:is|was|are|were|does|do|did)\b[^?,]{1,60}?\b(?:(?:so |"
                         r"such an? |that )?(?:important|significant|influential|impactful|"
                         r"popular|famous|big deal)|matters?|mattered)\s*\??\s*$", re.I)


# A polite request ("Could you explain ...", "Can you briefly describe ...") asks what
# its verb asks; it is no yes/no question.
_REQUEST = re.compile(r"^\s*(?:(?:can|could|would|will) (?:you|u)\s+|please\s+)(?:please\s+)?"
                      r"(?:briefly\s+|quickly\s+|just\s+)?(?=(?:explain|describe|tell|walk|"
                      r"give|summari[sz]e|compare|contrast|define|list|talk|outline|go over|"
                      r"break down)\b)", re.I)


def detect_intent(question: str) -> Intent:
    """Intents found in ``question`` (``definition`` when none), comparison items."""
    question = _ASKED_THEN.sub(r"\1? ", _REQUEST.sub("", question))
    if _ASKING.match(question):
        question = _COMMA_ASKS.sub("? ", question)
    clauses = [(k, clause) for clause in _CLAUSES.split(question) if clause.strip()
               for k in clause_intents(clause)[:1] or ["definition"]]
    kinds = [k for clause in _CLAUSES.split(question) if clause.strip()
             for k in clause_intents(clause)]
    if "comparison" in kinds and _USE_X_VS_Y.match(question):
        kinds = [k for k in kinds if k != "comparison"]  # when to use X (versus Y): usage
    if "reason" in kinds and _IMPORTANCE.search(question):  # what it achieved / changed
        kinds = ["results"] + [k for k in kinds if k not in ("reason", "results")]
        clauses = [("results" if k == "reason" else k, c) for k, c in clauses]
    if "comparison" in kinds and _HOW_DID_COMPARE.search(question):
        kinds = ["results"] + [k for k in kinds if k not in ("comparison", "results")]
    if "comparison" in kinds:  # "what's the difference" is a comparison, not a definition
        kinds = ["comparison"] + [k for k in kinds if k not in ("comparison", "definition")]
    if not kinds:
        kinds = ["definition"]
    items = comparison_items(question, ranked="reason" not in kinds) \
        if "comparison" in kinds else ()
    if "comparison" in kinds and len(items) < 2 and "reason" in kinds:
        # "Why do Transformers handle long-range dependencies better than RNNs?": one
        # thing named, with a comparative: asks the other kind (why), not for a table
        kinds, items = [k for k in kinds if k != "comparison"], ()
    return Intent(tuple(dict.fromkeys(kinds)), items, tuple(clauses))


def comparison_items(question: str, ranked: bool = True) -> tuple[str, ...]:
    """The things compared: "DPO vs RLHF?" -> ("DPO", "RLHF"); "Compare CoT, ToT and
    ReAct" -> ("CoT", "ToT", "ReAct"); with ``ranked``, the two sides of a comparative
    ("is DPO actually better than RLHF?" -> ("DPO", "RLHF"))."""
    text = re.split(r"\s[—-]\s|:|\?|, which\b|\bwhich (?:is|one)\b", question)[0]
    text = re.sub(r"!+|\.+(?!\d)|(?<!\d)\.+", " ", text)  # not "GPT-3.5"
    named = re.search(r"\b(?:between|contrast|comparison of)\b|\bcompare\b(?!s?\s+(?:to|with)\b)",
                      text, re.I)  # not "How does DPO compare to RLHF?" (unless a clause
    if named is None and "," in text:  # before it asks something else)
        named = re.search(r"\bcompare\b", text, re.I)
    if named and text[named.end():].strip():
        text = text[named.end():]
        if named.group().lower() == "compare" and not re.match(r"\s*(?:how|in what)\b", text,
                                                                re.I):  # "compare DPO to RLHF"
            text = re.sub(r"\s(?:to|with|against)\s", " vs ", text, count=1)
    elif named:  # "How do LoRA and QLoRA compare?"
        text = re.sub(r"^\s*how (?:do|does|would|did)\s+", "", text[:named.start()], flags=re.I)
    asks_how = named and re.match(r"\s*(?:how|in what ways?)\s+(?!(?:is|are|do|does)\b)",
                                  text, re.I)
    if asks_how:  # "Compare how Flamingo, BLIP-2 and LLaVA connect a vision encoder ..."
        text = text[asks_how.end():]
    parts = [_clean_item(p) for p in (_SPLIT_RANKED if ranked else _SPLIT_ITEMS).split(text)]
    if asks_how:
        parts = [_name_only(p) for p in parts]
    elif parts and (wh := _WH_AUX.match(parts[0])):  # "What did GLaM show about ... compared
        parts[0] = _name_only(parts[0][wh.end():])  # to GPT-3?": GLaM
    # a clause, not a name ("but Chinchilla later came to a different conclusion"): the
    # name it opens with
    parts = [_name_only(_CONJUNCTION.sub("", p)) if len(p.split()) > 5 else p for p in parts]
    parts = [re.sub(r"['’]s$", "", p) for p in parts]  # "Kaplan's" -> "Kaplan"
    return tuple(dict.fromkeys(p for p in parts if p and len(p) <= 60  # "how strong is it",
                               and not _QUESTION_WORD.match(p)  # "train them": no name
                               and not _SUBORDINATE.match(p)  # "If an interviewer asks
                               and not _LONE_COMPARATIVE.match(p)
                               and not _PRONOUN_ITEM.search(p)))


_QUESTION_WORD = re.compile(r"^(?:how|what|why|which|when|where|who|is|are|does|do|did)\b",
                            re.I)
# "If an interviewer asks about ..., what ... versus ...?": a clause, no compared item
_SUBORDINATE = re.compile(r"^(?:if|when|whenever|suppose|supposing|assuming|given|say|since|"
                          r"because|although|though|once|unless)\b", re.I)
_PRONOUN_ITEM = re.compile(r"\b(?:it|its|they|them|their|this|these|those)\b", re.I)
_CONJUNCTION = re.compile(r"^(?:but|while|whereas|and|or|yet|then|so)\s+", re.I)


_WH_AUX = re.compile(r"^(?:what|how|why|where|which)\s+(?:did|does|do|was|were|has|have|can|"
                     r"could|would|will)\s+", re.I)
_JOINING = frozenset({"of", "the", "and", "for", "a", "an", "in", "with", "to"})


def _name_only(item: str) -> str:
    """A named item without the predicate that follows it ("LLaVA connect a vision
    encoder" -> "LLaVA"): a name opens with a capital and runs to the first lower-case
    word that does not join a name ("Tree of Thoughts")."""
    words = item.split()
    if not words or not words[0][:1].isupper():
        return item
    for k, word in enumerate(words[1:], 1):
        if word[:1].islower() and word.lower() not in _JOINING:
            return " ".join(words[:k]).strip()
    return item


_USUAL = frozenset("traditional standard classic classical vanilla conventional plain naive "
                   "regular normal usual ordinary".split())


def item_name(item: str) -> str:
    """The name a compared item opens with, without the words around it ("earlier Kaplan
    et al scaling-law recommendation" -> "Kaplan", "Chinchilla compute-optimal recipe" ->
    "Chinchilla") or its owner ("DeepMind's RETRO" -> "RETRO"); the item itself when it
    names nothing with a capital, or is the usual way of doing a thing ("traditional
    retrieve-then-generate RAG pipeline": the guide's "Traditional RAG", not RAG)."""
    words = re.sub(r"^(?:[\w-]+['’]s\s+)+", "", item).split()
    if words and words[0].lower() in _USUAL:
        return item
    while words and not words[0][:1].isupper():
        words.pop(0)
    return _name_only(" ".join(words)) if words else item


_EXAMPLE = re.compile(r"\b(?:like|such as|e\.g\.?,?)\s+([A-Z][\w.-]*(?:[ -][A-Z0-9][\w.-]*)*)\s*$")


def _clean_item(part: str) -> str:
    """An item without the question's words around it; "a late-fusion model like LLaVA"
    is LLaVA (the named example is what the material describes)."""
    previous = None
    part = part.strip(" -—,;\"'")
    while previous != part:
        previous, part = part, _ITEM_NOISE.sub("", part).strip(" -—,;\"'")
    example = _EXAMPLE.search(part)
    return example.group(1) if example else part


# The alternative a question sets its subject against ("KTO instead of DPO")
ALTERNATIVE = re.compile(r"\b(?i:instead of|rather than|(?:buys?|gets?|gives?)\s+(?:you|us|me)\s+"
                         r"over|(?:advantages?|benefits?|gains?|improvements?|adds?)\s+over|"
                         r"(?:use|choose|pick|prefer)\s+(?:it|them|one|this)\s+over)\s+"
                         r"(?i:the\s+|an?\s+|just\s+)?"
                         r"([A-Z][\w-]*(?:\s+[A-Z0-9][\w-]*){0,2}"  # a name
                         r"|(?!being\b|having\b|doing\b)[a-z][\w-]*(?:\s+[a-z][\w-]*){0,2}"
                         r"(?=\s*(?:[?.!,;]|$)))")  # its words ("a single head")


def without_alternative(key: tuple[str, ...], question: str,
                        stem: Callable[[str], Sequence[str]]) -> tuple[str, ...]:
    """``key`` without the alternative's terms (all of ``key`` if nothing else is left)."""
    other = alternative_terms(question, stem)
    return tuple(t for t in key if t not in other) or key


# Where the subject is used, not the subject: "test-time compute scaling, as used by o1"
SETTING = re.compile(r"\bas (?:used|exemplified|popularized|popularised|introduced|proposed|"
                     r"described|seen|done|implemented|applied) (?:by|in)\s+(?:the\s+)?"
                     r"([^,?.;]+)", re.I)


def alternative_terms(question: str, stem: Callable[[str], Sequence[str]]) -> frozenset[str]:
    """Stems of the alternative a question sets its subject against ("when would you use
    KTO instead of DPO": DPO and its spelled-out name), which are no key terms of it."""
    from rag.search.glossary import expand_acronyms

    found = ALTERNATIVE.search(question)
    if not found:
        return frozenset()
    # "multi-head attention instead of a single head": "head" stays the subject's
    own = set(stem(question[:found.start()]))
    words = found.group(1)  # "fine-tuning" is also the one word "finetun"
    return frozenset([*stem(expand_acronyms(words)), *stem(words.replace("-", ""))]) - own


def setting_terms(question: str, stem: Callable[[str], Sequence[str]]) -> frozenset[str]:
    """Stems of the setting a question places its subject in ("as used by OpenAI's o1"),
    which the question is not about."""
    found = SETTING.search(question)
    return frozenset(stem(found.group(0))) - set(stem(question[:found.start()])) \
        if found else frozenset()


_HOW_MANY = re.compile(r"\b(?:how (?:many|much)(?:\s+and\s+what\s+(?:kinds?|sorts?|types?)\s+of)?|"
                       r"what (?:proportion|percentage|fraction|share|portion|number|amount) of)"
                       r"\s+((?:[a-z][\w-]*\s*){1,3})", re.I)
NOT_COUNTED = frozenset("are is was were do does did can could will would should have has "
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
            if word in NOT_COUNTED:
                break
            phrase.append(word)
        if phrase:  # the head noun: "text-based prompting techniques" counts techniques
            out.append(phrase[-1][:5] if len(phrase[-1]) > 5 else phrase[-1].rstrip("s"))
    return tuple(dict.fromkeys(out))
