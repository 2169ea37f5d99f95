"""A passage cut into the units an answer may quote whole: sentences, list items, table rows.

Lines are read first: furniture (see :mod:`assistant.junk`) and bare headings become
boundaries, never part of a unit. Consecutive prose lines form a paragraph, cut into sentences.
A bullet line with its wrapped continuation and its sub-bullets is one item; short lines after a
lead-in ending with ``:`` are rows. Items and rows remember their lead-in, so an answer can quote
"the lead-in: the item" as the document wrote it. Offsets index the passage text, so every
unit is verbatim.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace

from assistant.answer.junk import is_heading, junk_reason, leads_in
from assistant.core.text import ends_in_dotted_abbreviation, sentence_spans

_TABLE_ROW = re.compile(r"^\s*\|.*\|\s*$")  # "| Lot 2 | South |"
_BULLET = re.compile(r"^(?:[•●▪■►✓*□☐✔❑➢]\s*|[-–]\s+|\(?(?:\d{1,2}|[a-z]|[ivx]{1,4})[.)]\s+|\|)")
_SUB_MARKS = "o|◦|○|▫"  # the marks of a sub-bullet under an item
_SUB_LINE = rf"(?:{_SUB_MARKS}|-|–)"  # a sub-bullet line may also start with a dash
_SUB_BULLET = re.compile(rf"^{_SUB_LINE}\s+")
_TERMINAL = re.compile(r"[.;?!]['\")\]”’]*$")
_HYPHEN_BREAK = re.compile(r"(\w)-\n(\w+)")
# a sub-bullet inside an item ("…Regulations\no In principle…"), and one a passage ends on
_INNER_SUB_BULLET = re.compile(rf"([.;:,]?)[ \t]*\n[ \t]*(?:{_SUB_MARKS})[ \t]+")
_LAST_SUB_BULLET = re.compile(rf"\n[ \t]*(?:{_SUB_MARKS})[ \t]*$")
_SUB_POINT = re.compile(rf"[ \t]*\n[ \t]*{_SUB_LINE}[ \t]+")  # where one begins in an item
SHORT_SUB_POINT = 8  # words: a sub-point this short stays with its item's head ("debts to ...")

ROW_WORDS = 8  # a longer unpunctuated line after a lead-in is wrapped prose, not a table row
LineTest = Callable[[str], bool]


@dataclass
class Unit:
    """One quotable unit of a passage: ``text[start:end]`` of ``passage_n``'s text."""

    passage_n: int
    start: int
    end: int
    kind: str  # sentence | item | row
    segment: int  # paragraph or list the unit belongs to
    order: int  # position in the passage
    raw: str
    lead: int | None = None  # order of the lead-in sentence of an item or row
    junk: bool = False  # not answer material (kept so that orders stay positions)
    heading: str = ""  # the bare heading above the unit inside the passage, if any
    cut: bool = False  # quoted in part: cut off by the passage's end ("...and imple-"), or an
    # item without its sub-points

    @property
    def words(self) -> int:
        return len(self.raw.split())


def _lines(text: str) -> list[tuple[int, int, str]]:
    out, pos = [], 0
    for line in text.split("\n"):
        out.append((pos, pos + len(line), line))
        pos += len(line) + 1
    return out


def _classify(text: str, furniture: LineTest) -> list[tuple[int, int, str]]:
    """(start, end, kind) per non-empty line: skip | heading | item | sub | prose."""
    lines = [x for x in _lines(text) if x[2].strip()]
    out: list[tuple[int, int, str]] = []
    for i, (start, _end, line) in enumerate(lines):
        stripped = line.strip()
        start += len(line) - len(line.lstrip())
        previous = lines[i - 1][2] if i else None
        following = lines[i + 1][2] if i + 1 < len(lines) else None
        wraps_on = bool(following and following.strip()[:1].islower())  # "All 34\ncustoms posts"
        reason = junk_reason(stripped)
        if (reason and not (reason == "toc-entry" and wraps_on)) or furniture(stripped):
            kind = "skip"
        elif _SUB_BULLET.match(stripped) and out and out[-1][2] in ("item", "sub"):
            kind = "sub"
        elif _BULLET.match(stripped):
            kind = "item"
        elif is_heading(stripped, previous, following):
            kind = "heading"
        else:
            kind = "prose"
        out.append((start, start + len(stripped), kind))
    return out


def _closes_open_bracket(text: str, current: tuple[int, int, str], line: str) -> bool:
    """Whether a line that looks like a numbered item ("5) and ...") closes a bracket the open
    item or paragraph left open at its line's end: a wrapped "(line 5)", not item 5."""
    before = text[current[0] : current[1]]
    return (
        before.count("(") > before.count(")") and re.match(r"\w{1,3}\)", line.lstrip()) is not None
    )


def split_units(passage_n: int, text: str, furniture: LineTest = lambda _line: False) -> list[Unit]:
    """The passage's quotable units in order (see the module docstring)."""
    units: list[Unit] = []
    segment = 0
    lead: int | None = None
    current: tuple[int, int, str] | None = None  # an open item or prose run: (start, end, kind)
    heading = ""  # the last bare heading: context for the units under it
    previous = ""  # the kind of the line before

    def close() -> None:
        nonlocal current, lead
        if current is None:
            return
        start, end, kind = current
        current = None
        if kind == "item" or kind == "row":
            units.append(
                Unit(passage_n, start, end, kind, segment, len(units), text[start:end], lead)
            )
            units[-1].heading = heading
            return
        for a, b in sentence_spans(text[start:end]):
            piece = text[start + a : start + b]
            if piece.strip():
                units.append(
                    Unit(passage_n, start + a, start + b, "sentence", segment, len(units), piece)
                )
                units[-1].heading = heading
        last = units[-1] if units else None
        lead = last.order if last is not None and leads_in(last.raw) else None

    for start, end, kind in _classify(text, furniture):
        raw = text[start:end]
        stacked, previous = previous == "heading", kind
        if kind in ("skip", "heading"):
            close()
            if kind == "heading":  # headings in a row ("2.1 Cabling", "2.1.1 Copper") add up
                heading = f"{heading}\n{raw}" if stacked else raw
            segment += 1
            lead = None
            continue
        if kind == "item" and current is not None and _closes_open_bracket(text, current, raw):
            current = (current[0], end, current[2])  # "(line\n5) and e-Customs": no item 5
            continue
        if kind == "sub" and current is not None and current[2] == "item":
            current = (current[0], end, "item")
            continue
        if kind in ("item", "sub"):
            close()
            current = (start, end, "item")
            continue
        # prose: continues an open item or paragraph, or is a row after a lead-in
        if current is not None and current[2] == "item":
            before = text[current[0] : current[1]]
            if (
                not _TABLE_ROW.match(before)
                and (  # a row is whole on its line ("| a | b |")
                    raw[:1].islower()
                    or not _TERMINAL.search(before)
                    or ends_in_dotted_abbreviation(before)
                )
            ):
                current = (current[0], end, "item")
                continue
            close()
        if current is not None:  # an open paragraph
            if not leads_in(text[current[0] : current[1]]):
                current = (current[0], end, "prose")
                continue
            close()  # a lead-in: what follows are its rows
        if lead is not None and len(raw.split()) <= ROW_WORDS and not _TERMINAL.search(raw):
            current = (start, end, "row")
            close()
            continue
        if lead is not None:
            segment += 1
            lead = None
        current = (start, end, "prose")
    close()
    return units


def item_head(unit: Unit) -> Unit | None:
    """An item without its sub-points, marked ``cut``: its first line or lines, and the short
    sub-points that follow them in a row ("Schedule 4 considerations: health, character or
    security concerns; debts to the Commonwealth"). None when the item has no long sub-point."""
    marks = list(_SUB_POINT.finditer(unit.raw)) if unit.kind == "item" else []
    if not marks:
        return None
    end = marks[0].start()
    for mark, after in zip(marks, [*marks[1:], None], strict=True):
        stop = after.start() if after else len(unit.raw)
        if len(unit.raw[mark.end() : stop].split()) > SHORT_SUB_POINT:
            raw = unit.raw[:end].rstrip()
            return replace(unit, end=unit.start + len(raw), raw=raw, cut=True)
        end = stop
    return None


def display(raw: str, known: Callable[[str], bool] = lambda _w: False) -> str:
    """A unit as shown in an answer: one line, words broken across lines by a hyphen rejoined,
    the sub-bullets inside an item ("o", "◦") shown as "; ", a table row without its bars (a
    label and its value as "label: value").

    ``known(word)`` says whether the joined word exists in the corpus (``man-``/``agement``
    becomes ``management``); otherwise the hyphen stays (``decision-making``).
    """

    def join(match: re.Match[str]) -> str:
        head = (
            match.string[: match.start(1) + 1].split()[-1]
            if match.string[: match.start(1) + 1].split()
            else ""
        )
        word = re.sub(r"\W", "", head) + match.group(2)
        return (
            f"{match.group(1)}{match.group(2)}"
            if known(word.lower())
            else f"{match.group(1)}-{match.group(2)}"
        )

    cells = [c.strip() for c in raw.strip()[1:-1].split("|")] if _TABLE_ROW.match(raw) else []
    cells = [c for c in cells if c]
    if cells:  # "| Result | ANPR populated… |" reads "Result: ANPR populated…"
        raw = f"{cells[0]}: {cells[1]}" if len(cells) == 2 else " | ".join(cells)
    text = _HYPHEN_BREAK.sub(join, raw)
    # an item's sub-bullets read as its parts, not as a stray "o" in the sentence
    text = _LAST_SUB_BULLET.sub("", text)
    text = _INNER_SUB_BULLET.sub(lambda m: f"{m.group(1)} " if m.group(1) else "; ", text)
    return " ".join(text.split())
