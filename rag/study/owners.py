"""Which entry of a guide's code dictionary a key point belongs to ("sparsegpt":
{"methodology": "Layer-wise reconstruction with Hessian approximation"}), so that the
grader can tell a point stated of another entry ("Wanda needs a Hessian ...") from one
stated of its own (``rag.study.attribution.owner_problem``)."""

from __future__ import annotations

from dataclasses import replace

from rag.corpus.roles import is_dict_key
from rag.records import BankEntry
from rag.study import attribution, terms


def point_owners(assistant, study, entry: BankEntry) -> dict[str, str]:
    """Point text -> the code-dictionary key its sentence is listed under ("sparsegpt"),
    for keys rare enough to be names (SparseGPT, Wanda; not "efficiency")."""
    keyed = _keyed(assistant.index)
    owners = {p.text: keyed[p.text] for p in (*entry.key_points, *entry.support)
              if p.text in keyed and study.stem_df.get(keyed[p.text], 0) <= _NAME_DF}
    return owners if len(set(owners.values())) > 1 else {}


def owned(judged, owner: str, siblings: set[str], prep):
    """A point's judgement (``rag.study.grade.Judgement``) with no credit when the answer's
    sentence (``prep``: its units and their sentences) states a point of one dictionary
    entry of another (a contradiction when it carried the point's terms)."""
    if not owner or judged.contradicted or judged.credit <= 0:
        return judged
    k = prep.sentence[judged.unit] if prep.sentence else -1
    sentence = " ".join(u for u, n in zip(prep.units, prep.sentence) if n == k) \
        if prep.sentence else prep.units[judged.unit]
    why = attribution.owner_problem(sentence, owner, siblings)
    return replace(judged, credit=0.0, contradicted=judged.credit >= 1.0, why=why) \
        if why else judged


def _keyed(index) -> dict[str, str]:
    """A guide sentence's text -> the stem of the one-word dictionary key it is listed
    under (cached per index)."""
    if _KEYED[0] is not index.chunks:
        found = {}
        for s in index.sentence_info:
            if is_dict_key(s.subject) and " " not in s.subject \
                    and not index.chunks[s.chunk].doc_id.startswith("arxiv:"):
                found[s.prose] = terms.stem(s.subject)
        _KEYED[:] = [index.chunks, found]
    return _KEYED[1]


_KEYED: list = [None, {}]
_NAME_DF = 5  # passages using a key's stem, at most, for the key to be a name
