"""Composing a briefing from scored units: the most direct statement first, then key points.

Each piece is a whole unit as the document wrote it: a sentence with the rest of its paragraph
as far as the budget allows, a lead-in with its items, an item or a row with its lead-in (and
the rest of the list when the lead-in names what was asked). An item too long for the room is
quoted without its sub-points, marked "…".
Pieces are quoted verbatim (words broken across lines rejoined) and cited [n]; when several
documents speak, the pieces are grouped under each document's title.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from assistant.answer.junk import leads_in
from assistant.answer.units import Unit, display, item_head
from assistant.core.models import Passage
from assistant.core.text import tokenize

_BULLET_MARK = re.compile(r"^(?:[•●▪■►✓*□☐✔❑➢]\s*|[-–]\s+|o\s+)")
_MID_SENTENCE = re.compile(r"^[a-z][a-z]*[\s,;:)]")  # "security is automatic...", not "iPhone"
# A unit that opens by pointing back ("In these cases, ...", "Such reviews ...") is understood
# only with the unit before it: the cases, the reviews. ("This"/"It" mostly name the document
# or nothing: "This UFC applies...", "It is important to...".)
_POINTS_BACK = re.compile(
    r"^(?:In (?:these|this|such|those) (?:cases?|circumstances?|situations?|instances?)\b"
    r"|(?:These|Those|Such|They|Thus|Hence|Therefore|As such)\b)"
)
MAX_POINTS = 4
PIECE_OVERHEAD = 2  # the [n] marker and the bullet count as words of the answer
RELATIVE_FLOOR = 0.45  # a key point scores at least this share of the best unit's score
LEAD_SHARE = 0.6  # of the word budget the opening statement may take
BARE_LEAD_IN = 8  # words: a lead-in this short without its items says nothing ("The BCO is to:")
LIST_LEAD = 0.5  # an item whose lead-in carries this share of its key terms brings its list


@dataclass
class Scored:
    """A unit with its score and the passage it comes from."""

    unit: Unit
    passage: Passage
    score: float
    lexical: float
    units: list[Unit] = field(default_factory=list)  # every unit of the same passage, in order
    key: float = -1.0  # the score from key terms alone, before any re-ranking by meaning
    own: float = 0.0  # idf share of the key terms in the unit's own words

    def __post_init__(self) -> None:
        if self.key < 0:
            self.key = self.score


@dataclass
class Piece:
    """One cited piece of a briefing: verbatim units of one passage."""

    passage: Passage
    units: list[Unit]
    core: Unit | None = None  # the unit the piece was chosen for

    @property
    def words(self) -> int:
        return sum(u.words for u in self.units)

    def statement(self) -> list[Unit]:
        """What the piece says of the question: an item chosen with its list is read with its
        lead-in alone, not with the list's other items."""
        core = self.core
        if core is None or core.kind != "item":
            return self.units
        return [u for u in self.units if u.kind != "item" or u.order == core.order]

    def render(self, known: Callable[[str], bool]) -> str:
        text = ""
        for unit in self.units:
            piece = _BULLET_MARK.sub("", display(unit.raw, known))
            if unit.cut and unit is not self.units[-1]:  # an item's sub-points or items left out
                piece += " …" if leads_in(piece) else "…"
            if not text:  # a sentence begun on the page before is marked as a continuation
                text = (
                    f"…{piece}" if unit.kind == "sentence" and _MID_SENTENCE.match(piece) else piece
                )
            elif unit.kind in ("item", "row") and not leads_in(text) and text[-1] not in ".;,":
                text += "; " + piece  # items one after another, unless they end themselves
            else:
                text += " " + piece
        return f"{text}…" if self.units[-1].cut else text  # the sentence goes on unquoted


def _expand(
    best: Scored,
    budget: int,
    used: set[tuple[int, int]],
    own: dict[tuple[int, int], float] | None = None,
) -> list[Unit]:
    """The unit with what completes it: its lead-in, its items, or the rest of its paragraph;
    the unit before it when it points back. An item whose lead-in names what was asked ("the
    following eligibility criteria:", ``own``: key-term share per unit) comes with its list."""
    units = best.units
    unit = best.unit
    chosen = [unit]
    words = unit.words
    before = unit.lead  # what the unit needs before it: its lead-in, or what it points back to
    if (
        unit.kind == "item"
        and before is not None
        and (unit.passage_n, before) not in used
        and not units[before].junk
        and (own or {}).get((unit.passage_n, before), 0.0) >= LIST_LEAD * best.lexical
    ):
        return _list_with(units, units[before], unit, budget)
    if before is None and unit.order > 0 and _POINTS_BACK.match(unit.raw.lstrip()):
        before = unit.order - 1
    if (
        before is not None
        and (unit.passage_n, before) not in used
        and not units[before].junk
        and words + units[before].words <= budget * 1.3
    ):
        chosen.insert(0, units[before])
        words += units[before].words
    if leads_in(unit.raw):  # a lead-in: take its items in order while they fit
        return _with_items(units, chosen, words, budget)
    if unit.kind == "sentence":
        # The rest of the paragraph while it fits: what answers a question often follows the
        # sentence that names its subject ("There are two approaches." "The first...").
        for other in units[unit.order + 1 :]:
            if (
                other.segment != unit.segment
                or other.kind != "sentence"
                or other.junk
                or (other.passage_n, other.order) in used
                or words + other.words > budget
            ):
                break
            chosen.append(other)
            words += other.words
        if len(chosen) > 1 and leads_in(chosen[-1].raw):
            # the paragraph ends by introducing a list: its items too, as far as they fit
            return _with_items(units, chosen, words, budget, must_fit=True)
    return chosen


def _with_items(
    units: list[Unit], chosen: list[Unit], words: int, budget: int, must_fit: bool = False
) -> list[Unit]:
    """``chosen`` (ending with a lead-in), extended with the lead-in's items in order while they
    fit; the first item comes even over the budget unless ``must_fit``."""
    lead = chosen[-1].order
    for other in units[lead + 1 :]:
        if other.lead != lead or other.junk:
            break
        if words + other.words > budget and (len(chosen) > 1 or must_fit):
            short = _fitted(other, budget - words)
            if short is None:
                break
            other = short
        chosen.append(other)
        words += other.words
    return chosen


def _fitted(unit: Unit, room: int) -> Unit | None:
    """The unit whole if it fits the room, else its head if that does (see ``item_head``)."""
    if unit.words <= room:
        return unit
    short = item_head(unit)
    return short if short is not None and short.words <= room else None


def _list_with(units: list[Unit], lead: Unit, item: Unit, budget: int) -> list[Unit]:
    """A lead-in with its items in order, ``item`` among them: items too long to fit whole are
    quoted without their sub-points; the list stops where no more fit."""
    must = _fitted(item, int(budget * 1.3) - lead.words) or item
    room = budget - lead.words - must.words
    chosen = [lead]
    for other in units[lead.order + 1 :]:
        if other.lead != lead.order or other.junk:
            break
        if other.order == item.order:
            chosen.append(must)
            continue
        fitted = _fitted(other, room)
        if fitted is None:
            if other.order > item.order:
                break
            chosen[-1] = replace(chosen[-1], cut=True)  # an item left out: "…"
            continue
        chosen.append(fitted)
        room -= fitted.words
    return chosen


def _says_nothing(units: list[Unit]) -> bool:
    """A short lead-in none of whose items fit ("In these instances, the officer is to:")."""
    last = units[-1]
    return (
        last.kind == "sentence"
        and leads_in(last.raw)
        and sum(u.words for u in units) <= BARE_LEAD_IN
    )


def _said(unit: Unit) -> str:
    return " ".join(unit.raw.lower().split())


def _overlaps(tokens: set[str], taken: list[set[str]]) -> bool:
    return any(len(tokens & t) / max(len(tokens | t), 1) > 0.6 for t in taken)


def compose(
    ranked: list[Scored], budget: int, floor: float, max_pieces: int = MAX_POINTS + 1
) -> list[Piece]:
    """Pick the opening statement and up to ``max_pieces - 1`` key points, best units first."""
    if not ranked:
        return []
    pieces: list[Piece] = []
    used: set[tuple[int, int]] = set()
    said: set[str] = set()
    taken: list[set[str]] = []
    total = 0
    own = {(r.unit.passage_n, r.unit.order): r.own for r in ranked}
    top = max(r.key for r in ranked)  # key points must carry the question's terms, not only
    # its meaning: re-ranking by meaning narrows the scores' spread and let filler through
    for item in ranked:
        if len(pieces) >= max_pieces or total >= budget:
            break
        if pieces and item.key < max(floor, top * RELATIVE_FLOOR):
            continue
        key = (item.unit.passage_n, item.unit.order)
        if key in used:
            continue
        room = int(budget * LEAD_SHARE) if not pieces else budget - total - PIECE_OVERHEAD
        units = _expand(item, room, used, own)
        units = [u for u in units if (u.passage_n, u.order) not in used] or units
        units = [u for u in units if _said(u) not in said]  # overlapping chunks repeat text
        if not units or _says_nothing(units):
            continue
        tokens = set(tokenize(" ".join(u.raw for u in units)))
        if _overlaps(tokens, taken):
            continue
        words = sum(u.words for u in units) + PIECE_OVERHEAD
        if pieces and total + words > budget:
            continue
        pieces.append(Piece(item.passage, units, item.unit))
        used.update((u.passage_n, u.order) for u in units)
        said.update(_said(u) for u in units)
        taken.append(tokens)
        total += words
    return pieces


def render(pieces: list[Piece], known: Callable[[str], bool]) -> str:
    """The briefing text: grouped by document when several speak, each piece cited [n]."""
    groups: dict[str, list[Piece]] = {}
    for piece in pieces:
        groups.setdefault(piece.passage.doc_id, []).append(piece)
    if len(groups) <= 1:
        lines = [f"{p.render(known)} [{p.passage.n}]" for p in pieces]
        return "\n".join(lines[:1] + [f"- {line}" for line in lines[1:]])
    blocks = []  # a blank line between groups: a title line must not join the list above it
    for group in groups.values():
        lines = [f"{group[0].passage.title}:"]
        lines += [f"- {p.render(known)} [{p.passage.n}]" for p in group]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)
