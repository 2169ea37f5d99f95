"""A plain yes or no to a closed question, when the quoted lead statement says it outright.

"Can equipment cabinets be wall-mounted?" is answered by a lead that says "equipment cabinets
may be wall-mounted with the approval of the manager": the verdict is "Yes, with conditions".
The verdict is only given when a modal or passive verb of the lead ("may be wall-mounted",
"must not finalise", "is not required") carries a verb of the question; a lead that says both,
or neither, gets no verdict, and the quote speaks for itself. Nothing is inferred beyond the
words quoted under it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

_CLOSED = re.compile(
    r"^(?:can|could|may|might|must|shall|should|will|would|is|are|was|were|does|do|did|"
    r"has|have)\b",
    re.IGNORECASE,
)
_MODAL = re.compile(
    r"\b(?:can|could|may|might|must|shall|should|will|would)\s+(not\s+|never\s+)?"
    r"(?:(?:only|also|still|generally|normally|usually)\s+)?(?:be\s+|have\s+been\s+)?([a-z][\w-]*)"
)
_DENIAL = re.compile(
    r"\b(?:cannot|can't|won't|mustn't|shouldn't|needn't|need\s+not)\s+(?:be\s+)?([a-z][\w-]*)"
)
_PASSIVE = re.compile(r"\b(?:is|are)\s+(not\s+)?([a-z][\w-]*(?:ed|en))\b")
_CONDITION = re.compile(
    r"\b(?:if|unless|only|provided|subject to|with the approval|where|when|except)\b"
)
_NEGATIVE_QUESTION = re.compile(r"\b(?:not|never|cannot|n't)\b", re.IGNORECASE)
_SKIP = frozenset({"be", "been", "have", "the", "a", "an", "to", "also", "only"})


def closed(question: str) -> bool:
    """Whether the question asks for a yes or a no ("Can a TR suffice...?")."""
    return bool(_CLOSED.match(question.strip())) and not _NEGATIVE_QUESTION.search(question)


def _stem(word: str) -> str:
    word = word.lower()
    return word[:5] if len(word) > 5 else word


def verdict(question: str, lead: Sequence[str]) -> str | None:
    """ "Yes", "Yes, with conditions", "No" or None, from the lead statement's sentences."""
    if not closed(question):
        return None
    asked = {_stem(w) for w in re.findall(r"[A-Za-z][\w-]*", question)[1:]} - {
        _stem(w) for w in _SKIP
    }
    said: set[bool] = set()
    conditional = False
    for sentence in lead:
        text = " ".join(sentence.lower().split())
        found = [
            (not m.group(1), m.group(2)) for m in _MODAL.finditer(text) if m.group(2) not in _SKIP
        ]
        found += [(False, m.group(1)) for m in _DENIAL.finditer(text)]
        found += [(not m.group(1), m.group(2)) for m in _PASSIVE.finditer(text)]
        hits = [yes for yes, verb in found if _stem(verb) in asked]
        said.update(hits)
        if any(hits) and _CONDITION.search(text):
            conditional = True
    if said == {True}:
        return "Yes, with conditions" if conditional else "Yes"
    if said == {False}:
        return "No"
    return None
