"""Findings: one cause rated from the sweep, quoted, with the record of what was searched.

Also the comparison of a scope question or governance principle with every passage of the plan,
and the small accessors of a finding that the draft and the LLM prose share.
"""

from __future__ import annotations

from assistant.core.models import (
    RATING_LABELS,
    Coverage,
    Evidence,
    Finding,
    QuestionCheck,
    SignalCheck,
)
from assistant.critique.evidence import Plan, leaf, strength
from assistant.critique.frameworks import Cause, Lens
from assistant.critique.rating import Assessment, Hit, rationale

EVIDENCE_PER_SIGNAL = 2

#: A scope question or governance principle with its best similarity and closest passages.
LensResult = tuple[Lens, float, list[Evidence]]


def _pick(hits: list[Hit], n: int) -> list[Hit]:
    """Up to n hits, body sentences first, one per section before a second from the same one."""
    ordered = [h for h in hits if not h.sentence.heading] + [h for h in hits if h.sentence.heading]
    chosen: list[Hit] = []
    for pass_no in (0, 1):
        for hit in ordered:
            if len(chosen) == n:
                return chosen
            same_section = any(c.sentence.path == hit.sentence.path for c in chosen)
            if hit in chosen or (pass_no == 0 and same_section):
                continue
            chosen.append(hit)
    return chosen


def finding(plan: Plan, cause: Cause, a: Assessment) -> Finding:
    """One cause's finding: rating, rationale, quoted evidence and the record of the search."""
    evidence: list[Evidence] = []
    markers: dict[str, str] = {}
    for kind, signals in (("for", cause.signals.addressed), ("against", cause.signals.at_risk)):
        for signal in signals:
            for hit in _pick(a.hits.get(signal.id, []), EVIDENCE_PER_SIGNAL):
                found = plan.cite(hit.sentence, kind, signal.id)
                if found:
                    evidence.append(found)
                    markers[signal.id] = markers.get(signal.id, "") + f"[{found.ref}]"
    checks = [
        SignalCheck(
            id=s.id,
            text=s.text,
            kind=kind,  # type: ignore[arg-type]
            found=bool(a.hits.get(s.id)),
            sentences=len(a.hits.get(s.id, [])),
            sections=list(
                dict.fromkeys(
                    leaf(h.sentence.path) or "(before the first heading)"
                    for h in a.hits.get(s.id, [])
                )
            ),
        )
        for kind, signals in (
            ("addressed", cause.signals.addressed),
            ("at_risk", cause.signals.at_risk),
        )
        for s in signals
    ]
    questions = []
    for question in cause.questions:
        best, closest = plan.closest([question.text, *question.queries])
        questions.append(
            QuestionCheck(
                id=question.id,
                text=question.text,
                best_score=round(best, 3),
                strength=strength(best),  # type: ignore[arg-type]
                closest=closest,
            )
        )
    sweep = plan.sweep
    coverage = Coverage(
        sections=len(sweep.sections),
        passages=len(sweep.sentences),
        pages=sweep.pages,
        rule=a.reason,
        signals=checks,
        questions=questions,
    )
    return Finding(
        cause_id=cause.id,
        cause=cause.name,
        summary=cause.summary,
        rating=a.rating,
        rationale=rationale(cause, a, sweep, markers),
        evidence=evidence,
        searched=coverage,
        recommendation=cause.recommendation.strip(),
    )


def lens(plan: Plan, item: Lens) -> LensResult:
    """A scope question or governance principle compared with every passage of the plan."""
    best, closest = plan.closest([item.text, *item.queries])
    return item, best, closest


def label(f: Finding) -> str:
    """The finding's rating as lower-case words (``"partly addressed"``)."""
    return RATING_LABELS[f.rating].lower()


def found_signals(f: Finding, kind: str, found: bool = True) -> list[SignalCheck]:
    """The finding's signals of one kind (addressed / at_risk) that were found, or not found."""
    return [c for c in f.searched.signals if c.kind == kind and c.found is found]
