"""Whether a passage gives the count a "how many" question asks for.

A count is a figure or number word beside the thing counted. Numbers that name things are not
counts ("section 501", "BC-2470", an item label "(3)", a year), and the counted word inside a name
("the Telephone Interpreters Service") is not the thing counted.
"""

from __future__ import annotations

import re

from assistant.answer.questions import FIGURE_WORDS

COUNTED = re.compile(
    rf"\d[\d,.]*|{FIGURE_WORDS}|hundreds?|dozens?|thousands?|millions?|several|both|single|all|no"
)

_ONE = frozenset({"a", "an", "each", "every", "per"})
_CAPITALISED = re.compile(r"[A-Z][a-z]+")
#: words before a number that make it a reference, not a count ("subclass 773", "page 12")
_REFERENCE_WORDS = frozenset(
    "act annex appendix article articles chapter clause clauses fig figure form item line no "
    "p page pages para paragraph part phase pp regulation rule schedule section sections step "
    "sub-clause sub-clauses subclass subclause table version".split()
)
YEAR = re.compile(r"(?:19|20)\d\d")  # a year, which is no count


def counted(focus: list[str], text: str, reach: int = 10) -> bool:
    """Whether a figure or number word stands within ``reach`` words of the counted thing
    (matched by its first letters: lots, Lot 1; organisations, organizations), or "a", "an" or
    "each" just before it ("a standard work area outlet ... for each elevator"). The thing inside
    a name ("the Telephone Interpreters Service") is not the thing counted."""
    raw = text.split()
    words = [w.strip(".,;:()\"'") for w in text.lower().split()]
    found = figures(text)
    stems = [t[: max(3, min(len(t) - 1, 5))] for t in focus]
    for i, word in enumerate(words):
        if any(word.startswith(stem) for stem in stems) and not _inside_name(raw, i):
            if found & set(range(i - reach, i + reach + 1)) or (i and words[i - 1] in _ONE):
                return True
    return False


def figures(text: str, loose: bool = False) -> set[int]:
    """The positions of the words of ``text`` that may give a count: figures and number words
    (``loose``: "each" and "every" too), not references ("section 501", "BC-2470", an item
    label "(3)") nor years."""
    raw = text.split()
    found = set()
    for i, word in enumerate(raw):
        bare = word.strip(".,;:()\"'").lower()
        if not COUNTED.fullmatch(bare) and not (loose and bare in ("each", "every")):
            continue
        before = raw[i - 1].strip(".,;:()\"'").lower() if i else ""
        label = word.rstrip(".,;:").startswith("(") and word.rstrip(".,;:").endswith(")")
        if before in _REFERENCE_WORDS or (label and bare.isdigit()) or YEAR.fullmatch(bare):
            continue
        found.add(i)
    return found


def _inside_name(raw: list[str], i: int) -> bool:
    """Whether word ``i`` is a capitalised word between two others ("Telephone Interpreters
    Service")."""
    return 0 < i < len(raw) - 1 and all(
        _CAPITALISED.fullmatch(raw[j].strip(".,;:()\"'")) for j in (i - 1, i, i + 1)
    )
