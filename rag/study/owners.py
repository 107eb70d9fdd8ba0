"""Which paper or code-dictionary entry a key point belongs to ("sparsegpt":
{"methodology": "Layer-wise reconstruction with Hessian approximation"}; the ReAct card),
so that the grader can tell a point stated of another entry or compared paper ("Wanda
needs a Hessian ...", "Tree of Thoughts interleaves thoughts with actions") from one
stated of its own (``rag.study.attribution.owner_problem``)."""

from __future__ import annotations

from dataclasses import replace

from rag.corpus.roles import is_dict_key
from rag.records import BankEntry
from rag.study import attribution, terms


def point_owners(assistant, study, entry: BankEntry) -> dict[str, str]:
    """Point text -> the code-dictionary key its sentence is listed under ("sparsegpt"),
    for keys rare enough to be names (SparseGPT, Wanda; not "efficiency"), or the name
    of the paper card it comes from ("react", "tree thought"), when the points come from
    more than one such owner ("Compare CoT, ToT, and ReAct")."""
    keyed, carded = _owner_names(assistant.index)
    owners = {}
    for p in (*entry.key_points, *entry.support):
        if p.text in keyed and study.stem_df.get(keyed[p.text], 0) <= _NAME_DF:
            owners[p.text] = keyed[p.text]
        elif p.text in carded:  # a card is about one paper, called by its name
            owners[p.text] = carded[p.text]
    return owners if len(set(owners.values())) > 1 else {}


def owners_other(owners: dict[str, str], point: str) -> set[str]:
    """The owners of an entry's points a sentence may wrongly credit with ``point``: all
    but those the point itself names ("keeps BERT-base's hidden size", NeoBERT's point,
    also speaks of BERT)."""
    said = terms.content_stems(point)
    return {o for o in owners.values() if not set(o.split()) <= said}


def owned(judged, owner: str, siblings: set[str], prep):
    """A point's judgement (``rag.study.grade.Judgement``) with no credit when the answer's
    sentence (``prep``: its units and their sentences) states a point of one dictionary
    entry or paper of another (a contradiction when it carried the point's terms)."""
    if not owner or judged.contradicted or judged.credit <= 0:
        return judged
    k = prep.sentence[judged.unit] if prep.sentence else -1
    sentence = " ".join(u for u, n in zip(prep.units, prep.sentence) if n == k) \
        if prep.sentence else prep.units[judged.unit]
    why = attribution.owner_problem(sentence, owner, siblings)
    return replace(judged, credit=0.0, contradicted=judged.credit >= 1.0, why=why) \
        if why else judged


def _owner_names(index) -> tuple[dict[str, str], dict[str, str]]:
    """A guide sentence's text -> the stem of the one-word dictionary key it is listed
    under, and a paper card's sentence text -> the stems of the card's name ("ReAct":
    "react"; "Tree of Thoughts": "tree thought"); one pass, cached per index."""
    if _OWNER_NAMES[0] is not index.chunks:
        keyed, carded = {}, {}
        for s in index.sentence_info:
            if index.chunks[s.chunk].doc_id.startswith("arxiv:"):
                words = [terms.stem(w) for w in terms.words(s.subject)
                         if w not in terms.FUNCTION_WORDS]
                if words:
                    carded[s.prose] = " ".join(words)
            elif is_dict_key(s.subject) and " " not in s.subject:
                keyed[s.prose] = terms.stem(s.subject)
        _OWNER_NAMES[:] = [index.chunks, (keyed, carded)]
    return _OWNER_NAMES[1]


_OWNER_NAMES: list = [None, ({}, {})]
_NAME_DF = 5  # passages using a key's stem, at most, for the key to be a name
