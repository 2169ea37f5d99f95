"""Section-level diff of two editions of a plan: sections added, removed and rewritten.

Sections are read the way the sweep reads them (``assistant.critique.rating.build_sweep``), so a
section is a heading and the sentences under it. Sections are matched by their title without its
number ("3.2 Governance" and "4.1 Governance" are the same section, moved); an unmatched pair
with nearly the same text is a renamed section. Matched sections whose text differs are
"rewritten".
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Literal

from assistant.critique.rating import build_sweep

_NUMBER = re.compile(r"^(?:annex\s+)?[\dA-Z]{1,3}(?:\.\d+)*\.?\s+", re.IGNORECASE)
#: Below this similarity of their words, a matched section counts as rewritten.
SAME_TEXT = 0.97
#: At or above this similarity an unmatched removed/added pair is one section renamed.
RENAMED = 0.8


@dataclass(frozen=True)
class SectionChange:
    """One section that differs between the editions."""

    kind: Literal["added", "removed", "rewritten"]
    title: str  # as the newer edition has it (the older one for a removed section)
    before: str = ""  # the older edition's title of a rewritten section
    similarity: float = 0.0

    def describe(self) -> str:
        """``"new section 7.1 Pilot regions"``, ``"section 3.2 Governance removed"``..."""
        if self.kind == "added":
            return f"new section {self.title}"
        if self.kind == "removed":
            return f"section {self.title} removed"
        renamed = f" (was {self.before})" if self.before and self.before != self.title else ""
        return f"section {self.title}{renamed} rewritten"


def _key(title: str) -> str:
    return " ".join(_NUMBER.sub("", title.strip()).lower().split())


def sections(pages: list[str]) -> dict[str, tuple[str, str]]:
    """The sections of an edition: key -> (title, text of its sentences), in order."""
    sweep = build_sweep(pages)
    out: dict[str, tuple[str, list[str]]] = {}
    for s in sorted([*sweep.sentences, *sweep.claims], key=lambda x: (x.page, x.start)):
        title = s.text.strip() if s.heading else s.section
        if not title:
            continue
        entry = out.setdefault(_key(title), (title, []))
        if not s.heading:
            entry[1].append(s.flat)
    return {k: (t, " ".join(words)) for k, (t, words) in out.items()}


def _similarity(a: str, b: str) -> float:
    return difflib.SequenceMatcher(None, a.split(), b.split(), autojunk=False).ratio()


def _alike(old: tuple[str, str], new: tuple[str, str]) -> float:
    """How alike two sections are (0 when not alike enough to be one section renamed)."""
    if old[1] and new[1]:
        sim = _similarity(old[1], new[1])
    elif not old[1] and not new[1]:  # headings only (a chapter title): compare the titles
        sim = _similarity(_key(old[0]), _key(new[0])) * RENAMED / 0.6
    else:
        sim = 0.0
    return sim if sim >= RENAMED else 0.0


def section_diff(old_pages: list[str], new_pages: list[str]) -> list[SectionChange]:
    """What changed between two editions, section by section, in the newer edition's order."""
    old, new = sections(old_pages), sections(new_pages)
    removed = [k for k in old if k not in new]
    added = [k for k in new if k not in old]
    renamed: dict[str, str] = {}
    for a in added:
        best = max(removed, key=lambda r: _alike(old[r], new[a]), default=None)
        if best is not None and best not in renamed.values() and _alike(old[best], new[a]):
            renamed[a] = best
    changes: list[SectionChange] = []
    for key, (title, text) in new.items():
        if key in renamed:
            before = old[renamed[key]]
            sim = _similarity(before[1], text)
            changes.append(SectionChange("rewritten", title, before[0], round(sim, 3)))
        elif key not in old:
            changes.append(SectionChange("added", title))
        else:
            sim = _similarity(old[key][1], text)
            if sim < SAME_TEXT:
                changes.append(SectionChange("rewritten", title, old[key][0], round(sim, 3)))
    for key in removed:
        if key not in renamed.values():
            changes.append(SectionChange("removed", old[key][0]))
    return changes


def touching(changes: list[SectionChange], titles: list[str]) -> list[SectionChange]:
    """The changes to any of the given sections (matched by title without its number)."""
    keys = {_key(t) for t in titles if t}
    return [c for c in changes if _key(c.title) in keys or (c.before and _key(c.before) in keys)]
