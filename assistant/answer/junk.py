"""Page furniture and other text that is never answer material.

Real documents carry tables of contents (dot leaders, page-number columns), running headers and
footers (``Page 3 of 16``, an author's name and a page number, a classification marking), bare
headings and web boilerplate (``Download``, ``Share``, ``Skip to content``). Retrieval may still
find the passages around them; the answerer must not quote them. Checks work line by line, so a
furniture line between two sentences becomes a boundary instead of being glued to either.

Running headers are found per document: a line (digits folded) that recurs on several pages of
the same document is furniture wherever it appears.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable

from assistant.core.text import ends_in_dotted_abbreviation

# A lead-in ends with a colon, sometimes with a footnote number after it ("...human rights:8")
_LEAD_IN_END = re.compile(r"(?::|(?<=[A-Za-z)”’\"]):\s?\d{1,2})\s*$")
_DOT_LEADER = re.compile(r"(?:\.\s?){4,}|…{2,}|_{5,}|(?:-\s?){6,}")
_PAGE_MARK = re.compile(
    r"^(?:page\s+\d+(?:\s+of\s+\d+)?|\d+\s*/\s*\d+|-\s*\d+\s*-|\d{1,4}|[ivxlc]{1,6})$",
    re.IGNORECASE,
)
_PAGE_IN_LINE = re.compile(  # "Page 3 of 16 Arrivals...", "Page 115 GAO-07-791" (a report code)
    r"\bpage\s+\d+\s+of\s+\d+\b|^page\s+\d+\s+[A-Z]+-[\d-]+\b", re.IGNORECASE
)
_MARKING = re.compile(
    r"^(?:official(?::\s*sensitive)?|unclassified|(?:for\s+)?official\s+use\s+only|fouo|"
    r"confidential|draft|restricted|sensitive|protected|released under (?:the )?foi.*|"
    r"s\.?\s*\d+[a-z]?(?:\(\w\))*)$",
    re.IGNORECASE,
)
_BOILERPLATE = re.compile(
    r"^(?:download(?: report)?|report|transcript|share|print|email|menu|home|search|"
    r"skip to (?:main )?content|"
    r"back to top|next|previous|read more|click here.*|sign in|log ?in|subscribe.*|cookie.*|"
    r"all rights reserved.*|©.*|copyright\b.*|joining the .{1,40} team|table of contents|contents|"
    r"www\.\S+|https?://\S+|\S+@\S+\.\w+|(?:tel|fax|phone)[.:]?\s*[\d +()-]{6,})$",
    re.IGNORECASE,
)
_TOC_ENTRY = re.compile(r"^(?:[A-Z]?[\d.\-]*\d\.?\s+)?[A-Z]\S*(?:\s+[^\s.!?]+){1,14}?\s+\d{1,4}$")
_NUMBERED_HEADING = re.compile(
    r"^(?:\d+(?:[.\-]\d+)*\.?|[A-Z]-\d+(?:\.\d+)*|[A-Z]\.|annex\s+\w+|chapter\s+\w+|section\s+\w+)\s+\S",
    re.I,
)
_TERMINAL = re.compile(r"[.:;?!,]['\")\]]*$")
_DIGITS = re.compile(r"\d+")
_BULLETS = "•●▪■►✓□☐✔❑➢"
_JOINERS = frozenset(
    "a an and as at by for from in into of on or the to with than that which per via".split()
)


def fold(line: str) -> str:
    """The form a running header keeps from page to page: case, spacing and digits folded."""
    return _DIGITS.sub("#", " ".join(line.lower().split()))


def junk_reason(line: str) -> str | None:
    """Why a line is furniture (``dot-leader``, ``page-number``...), or None when it is content."""
    text = line.strip()
    if not text:
        return None
    if _DOT_LEADER.search(text):
        return "dot-leader"
    if _PAGE_MARK.match(text) or _PAGE_IN_LINE.search(text) and len(text.split()) <= 12:
        return "page-number"
    if _MARKING.match(text):
        return "marking"
    if _BOILERPLATE.match(text):
        return "boilerplate"
    if _TOC_ENTRY.match(text) and not _TERMINAL.search(text) and len(text.split()) <= 14:
        return "toc-entry"
    return None


def is_heading(line: str, previous: str | None, following: str | None) -> bool:
    """A bare heading line: short, unpunctuated, standing between complete lines.

    Args:
        line: the line judged.
        previous: the line before (None at the start of a passage).
        following: the line after (None at the end).
    """
    text = line.strip()
    words = text.split()
    if not words or len(words) > 12 or _TERMINAL.search(text) or words[-1].lower() in _JOINERS:
        return False
    starts_clean = (
        previous is None
        or not previous.strip()
        or bool(_TERMINAL.search(previous.strip()))
        and not previous.rstrip().endswith(",")  # "Sincerely yours," / "Bernice Steinhardt"
        and not ends_in_dotted_abbreviation(previous)
    )
    next_upper = (
        following is None
        or not following.strip()
        or following.strip()[0].isupper()
        or following.strip()[0].isdigit()
        or following.strip()[0] in _BULLETS  # "Visa grant notification" above its bullets
    )
    if _NUMBERED_HEADING.match(text) and next_upper and len(words) <= 10:
        return True
    if previous is not None and leads_in(previous):
        return False  # the first row or item after a lead-in
    return (
        starts_clean
        and next_upper
        and len(words) <= 8
        and (words[0][0].isupper() or words[0][0].isdigit())
    )


class FurnitureIndex:
    """Lines that recur on many pages of one document: running headers and footers.

    Built from ``(doc_id, page, start, text)`` of the stored chunks. A folded line is furniture
    in its document when it opens or closes at least ``min_pages`` pages (a chapter's running
    header), or appears anywhere on ``share`` of the document's pages (and ``min_pages``).
    """

    def __init__(
        self, pieces: Iterable[tuple[str, int, int, str]], min_pages: int = 3, share: float = 0.2
    ) -> None:
        pages: dict[str, set[int]] = defaultdict(set)
        anywhere: dict[tuple[str, str], set[int]] = defaultdict(set)
        edges: dict[tuple[str, str], set[int]] = defaultdict(set)
        last: dict[tuple[str, int], tuple[int, list[str]]] = {}
        for doc_id, page, start, text in pieces:
            pages[doc_id].add(page)
            lines = [fold(line) for line in text.split("\n") if line.strip()]
            for folded in lines:
                if len(folded) <= 120:
                    anywhere[(doc_id, folded)].add(page)
            if start == 0:
                for folded in lines[:2]:
                    edges[(doc_id, folded)].add(page)
            if start >= last.get((doc_id, page), (-1, []))[0]:
                last[(doc_id, page)] = (start, lines[-2:])
        for (doc_id, page), (_, tail) in last.items():
            for folded in tail:
                edges[(doc_id, folded)].add(page)
        self._lines: dict[str, set[str]] = defaultdict(set)
        for (doc_id, folded), where in anywhere.items():
            if len(where) >= max(min_pages, share * len(pages[doc_id])):
                self._lines[doc_id].add(folded)
        for (doc_id, folded), where in edges.items():
            if len(where) >= min_pages and len(folded.split()) <= 12:
                self._lines[doc_id].add(folded)

    def is_furniture(self, doc_id: str, line: str) -> bool:
        """True when ``line`` recurs across the pages of ``doc_id``."""
        return fold(line) in self._lines.get(doc_id, ())

    def lines(self, doc_id: str) -> set[str]:
        return set(self._lines.get(doc_id, ()))


_CAPTION = re.compile(
    r"^(?:figure|fig\.|table|exhibit|chart|box|graph|map)\s+[\w.\-–]+\s*[-–:.]?\s", re.IGNORECASE
)
_LABELLED = re.compile(
    r"^(?:figure|fig\.|table|exhibit|chart|box|graph|map)\s+[\w.\-–]+\s*[:–—]\s", re.IGNORECASE
)
_ACRONYM = re.compile(r"^[A-Z][A-Z0-9&/\-]{1,9}s?$")


def unit_junk_reason(text: str, kind: str = "sentence") -> str | None:
    """Why a whole unit (sentence, item, row) is not answer material, or None.

    Catches what single lines do not show: a glossary or acronym list run together, a figure or
    table caption, a run of bare numbers.
    """
    words = text.split()
    if not words or not re.sub(r"[|\s]", "", text):
        return "empty"  # nothing, or a table row of empty cells
    acronyms = sum(bool(_ACRONYM.match(w.strip("(),;:"))) for w in words)
    stops = len(re.findall(r"[.;!?](?:\s|$)", text))
    if len(words) >= 12 and acronyms / len(words) >= 0.2 and stops * 25 < len(words):
        return "glossary"
    if (_CAPTION.match(text) and not _TERMINAL.search(text.strip())) or _LABELLED.match(text):
        return "caption"  # "Figure 2: Example of..." (a footnote glued on may end it with a stop)
    digits = sum(any(ch.isdigit() for ch in w) for w in words)
    if len(words) >= 6 and digits / len(words) > 0.6:
        return "numbers"
    if (
        kind != "row"  # a table row may well start with a number
        and _NUMBERED_TITLE.match(text)
        and len(words) <= 12
        and not _TERMINAL.search(text.strip())
    ):
        return "section-title"  # "2 Where the eight causes come from", "4 to 11 The causes"
    cells = [c.strip() for c in text.strip().strip("|").split("|")]
    if (
        text.lstrip().startswith("|")
        and len(cells) >= 2
        and all(c and len(c.split()) <= 6 and not re.search(r"[\d.;!?]", c) for c in cells)
    ):
        return "table-header"  # "| Cause | Our assessment | Main evidence |" without its rows
    if _POINTER.match(text.strip()):
        return "pointer"  # "(See fig. 1.)": where to look, nothing said
    return None


_POINTER = re.compile(
    r"^\(?(?:see|cf\.?|compare)\s+(?:also\s+)?(?:the\s+)?(?:fig(?:ure)?s?|tables?|appendix|appendices|"
    r"annex(?:es)?|sections?|chapters?|pages?|pp?|box|attachment)\.?\s+[\w.,–-]+(?:\s+and\s+[\w.–-]+)?"
    r"\.?\)?\.?$",
    re.IGNORECASE,
)


_NUMBERED_TITLE = re.compile(  # a contents entry or a section title: "• 2 Where the causes..."
    r"^(?:[•●▪■►*-]\s*)?\d{1,2}(?:\.\d{1,2})*\s+(?:to\s+\d{1,2}\s+)?[A-Z]"
)


def leads_in(text: str) -> bool:
    """Whether a line or unit introduces what follows: it ends with a colon, or with a colon and
    a footnote number ("...on international law and human rights:8")."""
    return bool(_LEAD_IN_END.search(text))
