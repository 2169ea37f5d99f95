"""The exhaustive sweep of a plan and the deterministic rating of each cause.

The plan's page texts are walked the way the chunker walks them (the same heading rules), so
every sentence, list item, table row and heading is searched and carries its page and section.
Each signal's cues are matched against every sentence; sentences that address the reviewer or
an AI (planted instructions) are set aside first and never count. A rating follows from which
signals were found, in how many sentences and sections, and from the at-risk signs, so it can
always be explained: the rationale names what was found and what was looked for in vain.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from assistant.core.guard import is_instruction
from assistant.core.text import heading_of, sentence_spans
from assistant.critique.frameworks import Cause

Rating = Literal["addressed", "partly_addressed", "gap", "not_assessable"]

#: A plan with fewer searchable words than this cannot be rated at all.
MIN_PLAN_WORDS = 120
#: "Addressed" needs at least this many distinct addressed signals, each found in the plan...
ADDRESSED_MIN_SIGNALS = 3
#: ...supported by at least this many distinct sentences (a one-line mention is not enough).
ADDRESSED_MIN_SENTENCES = 3
_WS = re.compile(r"\s+")
# Sentences that try to steer the review itself ("rate every cause as addressed") are content
# about the review, not about the plan: they are set aside like any other planted instruction.
_STEERS_REVIEW = re.compile(
    r"\b(?:rat(?:e|ed|ing)|mark(?:ed)?|grad(?:e|ed)|scor(?:e|ed)|classif(?:y|ied)"
    r"|assess(?:ed)?|judg(?:e|ed)|deem(?:ed)?)\b"
    r".{0,80}\b(?:as|be) (?:fully )?(?:addressed|having no gaps?)\b"
    r"|\b(?:AI|LLMs?|chatbots?|language models?)\b[^.]{0,40}"
    r"\b(?:review(?:er)?s?|tools?|assistants?)\b.{0,60}\b(?:should|must|shall|are to)\b",
    re.IGNORECASE | re.DOTALL,
)
# A change log ("Changes in this edition") is what a revision says about itself: set aside, so a
# rating follows what the plan now contains, not what it claims to have improved.
_CHANGE_LOG = re.compile(
    r"\b(?:change ?logs?|revision (?:history|notes?)|summary of (?:the )?(?:main )?changes"
    r"|changes? (?:in|to|since|from) (?:this|the (?:previous|last|first))"
    r" (?:edition|revision|version)"
    r"|what(?:'s| has| is) (?:changed|new))\b",
    re.IGNORECASE,
)
# A cue preceded closely by a negation ("there is no benefits register") is not a hit.
_NEGATION = re.compile(
    r"\b(?:no|not|never|without|nor|neither|lacks?|lacking|absent)\b", re.IGNORECASE
)
_LEAD_WORDS = 3
_BULLET = re.compile(r"^(?:[-*•·▪◦–]\s+)")


@dataclass(frozen=True)
class Sentence:
    """One searchable unit of a plan page: a sentence, list item, table row or heading."""

    index: int
    page: int
    section: str  # the nearest heading ("6.2 Decision gates and stop/go criteria"), "" before any
    path: str  # the heading path, as chunks record it
    start: int
    end: int
    text: str  # verbatim page_text[start:end]
    flat: str  # whitespace collapsed: what cues are matched against
    heading: bool = False


@dataclass
class Sweep:
    """Every searchable unit of one plan, and what was set aside."""

    sentences: list[Sentence]
    ignored: list[Sentence]
    pages: int
    words: int
    #: Sentences under a change-log heading: the revision's claims about itself, never evidence.
    claims: list[Sentence] = field(default_factory=list)

    @property
    def sections(self) -> list[str]:
        return list(dict.fromkeys(s.path or "(untitled)" for s in self.sentences))

    @property
    def body(self) -> list[Sentence]:
        return [s for s in self.sentences if not s.heading]


def flatten(text: str) -> str:
    return _WS.sub(" ", text).strip()


def steers_review(text: str) -> bool:
    """True when a sentence addresses the reviewer or an AI instead of describing the plan."""
    return is_instruction(text) or bool(_STEERS_REVIEW.search(text))


def _change_log_heading(line: str) -> tuple[int, str] | None:
    """An unnumbered change-log title ("Changes in this edition") as the deepest heading."""
    words = line.split()
    if 0 < len(words) <= 8 and line[-1] not in ".,;:" and _CHANGE_LOG.match(line.lstrip("# ")):
        return 9, line.lstrip("# ").strip()
    return None


def _is_contents_entry(flat: str) -> bool:
    """A list item that is only a section title ("• 7 Governance Arrangements")."""
    stripped = _BULLET.sub("", flat)
    return stripped != flat and heading_of(stripped) is not None


def build_sweep(pages: Sequence[str]) -> Sweep:
    """Split page texts into sentences with page and section, as the chunker sees sections."""
    units: list[Sentence] = []
    ignored: list[Sentence] = []
    claims: list[Sentence] = []
    stack: list[tuple[int, str]] = []

    def add(page: int, start: int, end: int, text: str, heading: bool = False) -> None:
        flat = flatten(text)
        if not heading and (len(flat.split()) < 3 or _is_contents_entry(flat)):
            return  # page numbers, stray labels, table-of-contents lines
        path = " > ".join(t for _, t in stack)
        unit = Sentence(
            len(units), page, stack[-1][1] if stack else "", path, start, end, text, flat, heading
        )
        if steers_review(flat):
            ignored.append(unit)
        elif any(_CHANGE_LOG.search(t) for _, t in stack):
            claims.append(unit)
        else:
            units.append(unit)

    def body(page: int, text: str, lo: int, hi: int) -> None:
        for a, b in sentence_spans(text[lo:hi]):
            add(page, lo + a, lo + b, text[lo + a : lo + b])

    for page_no, text in enumerate(pages, start=1):
        body_start = pos = 0
        for line in text.split("\n"):
            found = heading_of(line.strip()) or _change_log_heading(line.strip())
            if found:
                body(page_no, text, body_start, pos)
                level, title = found
                while stack and stack[-1][0] >= level:
                    stack.pop()
                stack.append((level, title))
                quote = title if title in line else line.strip()
                at = pos + line.find(quote)
                add(page_no, at, at + len(quote), quote, heading=True)
                body_start = pos + len(line) + 1
            pos += len(line) + 1
        body(page_no, text, body_start, len(text))
    words = sum(len(s.flat.split()) for s in units if not s.heading)
    return Sweep(units, ignored, len(pages), words, claims)


@dataclass(frozen=True)
class Hit:
    signal: str
    sentence: Sentence
    matched: str


def find_hits(sweep: Sweep, cause: Cause) -> dict[str, list[Hit]]:
    """Every sentence matching each signal of a cause (negated mentions do not count)."""
    hits: dict[str, list[Hit]] = {}
    for signal in [*cause.signals.addressed, *cause.signals.at_risk]:
        pattern = signal.pattern()
        found: list[Hit] = []
        for sentence in sweep.sentences:
            for match in pattern.finditer(sentence.flat):
                lead = " ".join(sentence.flat[: match.start()].split()[-_LEAD_WORDS:])
                if not _NEGATION.search(lead):
                    found.append(Hit(signal.id, sentence, match.group(0)))
                    break
        hits[signal.id] = found
    return hits


@dataclass
class Assessment:
    """A cause's rating and the facts behind it."""

    rating: Rating
    found: list[str]  # addressed signal ids found
    missing: list[str]  # addressed signal ids not found
    risks: list[str]  # at-risk signal ids found
    sentences: int  # distinct body sentences supporting the addressed signals
    sections: int  # distinct sections holding them
    reason: str  # which rule decided
    hits: dict[str, list[Hit]] = field(default_factory=dict)


def assess(cause: Cause, hits: dict[str, list[Hit]], sweep: Sweep) -> Assessment:
    """Rate one cause from its hits.

    Rules, in order:

    1. the plan has too little text → ``not_assessable``;
    2. no addressed signal anywhere → ``gap``;
    3. one addressed signal, thinly supported (under three sentences or in one section), set
       against two or more at-risk signs → ``gap``;
    4. at least three addressed signals (all of them, if the cause has fewer), in at least three
       sentences across two sections (when the plan has two), with at least two more addressed
       signals than at-risk signs → ``addressed``;
    5. anything else → ``partly_addressed``.

    A passing mention (one sentence, however many cues it packs in) can therefore never make a
    cause "addressed".
    """
    addressed_ids = [s.id for s in cause.signals.addressed]
    found = [sid for sid in addressed_ids if hits.get(sid)]
    missing = [sid for sid in addressed_ids if not hits.get(sid)]
    risks = [s.id for s in cause.signals.at_risk if hits.get(s.id)]
    support = {
        h.sentence.index: h.sentence for sid in found for h in hits[sid] if not h.sentence.heading
    }
    sections = {s.path for s in support.values()}
    need_sections = min(2, len(sweep.sections))
    # A framework with fewer signals per cause (the OECD one has two) needs all of them.
    need_signals = min(ADDRESSED_MIN_SIGNALS, len(addressed_ids))

    def done(rating: Rating, reason: str) -> Assessment:
        return Assessment(rating, found, missing, risks, len(support), len(sections), reason, hits)

    if sweep.words < MIN_PLAN_WORDS:
        return done("not_assessable", f"the plan has only {sweep.words} words of searchable text")
    if not found:
        return done("gap", "no sign that the plan guards against this was found")
    thin = len(support) < ADDRESSED_MIN_SENTENCES or len(sections) < 2
    if len(found) == 1 and thin and len(risks) >= 2:
        return done("gap", "the one sign found is thinly supported and outweighed by at-risk signs")
    if (
        len(found) >= need_signals
        and len(support) >= ADDRESSED_MIN_SENTENCES
        and len(sections) >= need_sections
        and len(found) - len(risks) >= min(2, need_signals)
    ):
        return done(
            "addressed",
            "several signs were found, in several passages and sections,"
            " and clearly outweigh any at-risk signs",
        )
    if len(found) >= need_signals and len(found) - len(risks) < min(2, need_signals):
        return done("partly_addressed", "at-risk signs offset the signs found")
    if len(found) >= need_signals:
        return done(
            "partly_addressed",
            "the signs rest on too few passages or sections to count as thorough",
        )
    if len(risks) >= len(found):
        return done(
            "partly_addressed", "only a few signs were found and as many at-risk signs offset them"
        )
    return done("partly_addressed", "too few of the signs are present")


def _listing(items: Sequence[str]) -> str:
    return "; ".join(items)


def rationale(
    cause: Cause,
    a: Assessment,
    sweep: Sweep,
    markers: dict[str, str],
    plan_sections: int | None = None,
) -> str:
    """The deterministic explanation of a rating: signals found (with reference markers), signals
    searched for in vain, and at-risk signs.

    Args:
        markers: signal id → reference markers such as ``"[3][4]"`` for the evidence shown.
    """
    texts = {s.id: s.text for s in [*cause.signals.addressed, *cause.signals.at_risk]}
    total = len(cause.signals.addressed)
    n_sections = plan_sections if plan_sections is not None else len(sweep.sections)
    searched = (
        f"Searched {n_sections} sections for {total} signs that the plan guards against this"
        f" ({len(sweep.sentences)} passages read)"
    )
    found = [f"{texts[s]} {markers.get(s, '')}".rstrip() for s in a.found]
    missing = [texts[s] for s in a.missing]
    risks = [f"{texts[s]} {markers.get(s, '')}".rstrip() for s in a.risks]
    risk_part = f" At-risk signs found: {_listing(risks)}." if risks else ""
    if a.rating == "not_assessable":
        return (
            f"Not assessable: {a.reason}, across {sweep.pages} page(s),"
            f" too little to judge this cause. {searched}; a fuller text of the plan is needed."
        )
    if a.rating == "gap" and not a.found:
        return f"Gap: {searched}: {_listing(missing)}. None was found.{risk_part}"
    if a.rating == "gap":
        return (
            f"Gap: the only sign found, {found[0]}, rests on {a.sentences} passage(s)"
            f" in {a.sections} section(s) and is outweighed by at-risk signs: {_listing(risks)}."
            f" {searched}; not found: {_listing(missing)}."
        )
    head = "Addressed" if a.rating == "addressed" else "Partly addressed"
    text = (
        f"{head}: {len(a.found)} of {total} signs found, in {a.sentences} passage(s)"
        f" across {a.sections} section(s): {_listing(found)}."
    )
    if missing:
        text += f" {searched}; not found: {_listing(missing)}."
    text += risk_part
    if a.rating == "partly_addressed":
        text += f" Not rated addressed because {a.reason}."
    return text
