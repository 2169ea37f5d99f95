"""A follow-up review: a revised plan rated again and set against the last review, cause by cause.

The revised edition is critiqued like any plan, so its ratings follow what it now contains:
sentences under a change-log heading are the revision's claims about itself and are set aside
by the sweep, as planted instructions are. Each cause gets ``before`` (the earlier edition's
rating, or the reviewer's decided rating when the baseline is a saved review), ``after``, a
status, the evidence from each edition and a one-line note built from the signals gained and
lost and the section-level diff of the two editions.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from assistant.core.models import RATING_LABELS, Critique, Evidence, Finding, PlanRef
from assistant.critique.decisions import DecidedReview
from assistant.critique.diff import section_diff, touching
from assistant.critique.frameworks import load_framework
from assistant.critique.rating import build_sweep

FollowStatus = Literal["resolved", "improved", "unchanged", "regressed", "new"]
_RANK = {"gap": 0, "partly_addressed": 1, "addressed": 2}
NOTE_CHARS = 300


class Baseline(BaseModel):
    """The earlier edition's view of one cause: its rating, evidence, and any reviewer remark."""

    rating: str | None
    evidence: list[Evidence] = Field(default_factory=list)
    remark: str = ""
    signals: list[str] = Field(default_factory=list)


class FollowUpItem(BaseModel):
    """One cause, before and after."""

    cause_id: str
    cause: str = ""
    before: str | None
    after: str
    status: FollowStatus
    evidence_before: list[Evidence] = Field(default_factory=list)
    evidence_after: list[Evidence] = Field(default_factory=list)
    note: str = ""


class Previous(BaseModel):
    doc_id: str
    title: str
    critique_id: str = Field(
        default="", description="the saved review used as the baseline, if any"
    )


class FollowUp(BaseModel):
    """A follow-up review of a revised plan against the previous edition's review."""

    plan: PlanRef
    previous: Previous
    critique_id: str = ""
    framework: str
    followup: list[FollowUpItem]
    findings: list[Finding]
    sections: list[dict[str, str]] = Field(default_factory=list)
    notices: list[str] = Field(default_factory=list)


def status(before: str | None, after: str) -> FollowStatus:
    """resolved | improved | unchanged | regressed | new, from two ratings."""
    if before not in _RANK:
        return "new"
    if after not in _RANK:
        return "regressed"
    b, a = _RANK[str(before)], _RANK[after]
    if a == b:
        return "unchanged"
    if a < b:
        return "regressed"
    return "resolved" if after == "addressed" else "improved"


def baseline_of(critique: Critique) -> dict[str, Baseline]:
    """The baseline of a machine draft: each finding's rating, evidence and signals found."""
    return {
        f.cause_id: Baseline(
            rating=f.rating if f.rating != "not_assessable" else None,
            evidence=f.evidence,
            signals=[s.id for s in f.searched.signals if s.kind == "addressed" and s.found],
        )
        for f in critique.findings
    }


def _label(rating: str | None) -> str:
    return RATING_LABELS.get(rating or "", "not rated").lower()


def _signal_names(f: Finding, ids: list[str]) -> str:
    texts = {s.id: s.text for s in f.searched.signals}
    names = [texts.get(i, i).rstrip(".") for i in ids[:1]]
    more = f" (+{len(ids) - 1} more)" if len(ids) > 1 else ""
    return "; ".join(names) + more


def _claims_about(framework: str, pages: list[str]) -> dict[str, list[str]]:
    """Change-log sentences of the revision, each given to the cause it is most about.

    A sentence scores two for each of a cause's addressed signals it matches and one for each
    word of the cause's name it contains; the best-scoring cause (or causes, on a tie) gets it.
    """
    spec = load_framework(framework)
    out: dict[str, list[str]] = {}
    for claim in build_sweep(pages).claims:
        if claim.heading:
            continue
        text = claim.flat.lower()
        scores = {
            cause.id: 2 * sum(bool(s.pattern().search(claim.flat)) for s in cause.signals.addressed)
            + sum(w[:-1] in text for w in cause.name.lower().split() if len(w) > 4)
            for cause in spec.causes
        }
        best = max(scores.values(), default=0)
        for cause_id, score in scores.items():
            if best and score == best:
                out.setdefault(cause_id, []).append(claim.flat)
    return out


def compare(
    old: Critique,
    new: Critique,
    old_pages: list[str],
    new_pages: list[str],
    baseline: dict[str, Baseline] | None = None,
    previous_id: str = "",
) -> FollowUp:
    """Set the new edition's draft against the old edition's (or a decided review's) ratings."""
    base = baseline if baseline is not None else baseline_of(old)
    changes = section_diff(old_pages, new_pages)
    claims = _claims_about(new.framework, new_pages)
    items = []
    for f in new.findings:
        b = base.get(f.cause_id, Baseline(rating=None))
        after_signals = [s.id for s in f.searched.signals if s.kind == "addressed" and s.found]
        st = status(b.rating, f.rating)
        parts = [f"{_label(b.rating)} → {_label(f.rating)}"] if b.rating != f.rating else []
        gained = [s for s in after_signals if s not in b.signals]
        lost = [s for s in b.signals if s not in after_signals]
        if gained:
            parts.append("now found: " + _signal_names(f, gained))
        if lost:
            parts.append("no longer found: " + _signal_names(f, lost))
        titles = [e.section for e in [*b.evidence, *f.evidence]]
        titles += [sec for s in f.searched.signals if s.id in gained for sec in s.sections]
        old_f = next((x for x in old.findings if x.cause_id == f.cause_id), None)
        if old_f is not None:
            titles += [sec for s in old_f.searched.signals if s.id in lost for sec in s.sections]
        touched = sorted(touching(changes, titles), key=lambda c: c.kind == "rewritten")
        parts += [c.describe() for c in touched[:3]]
        if claims.get(f.cause_id) and st in ("unchanged", "regressed"):
            parts.append("the change log claims an improvement the content does not show")
        if b.remark:
            parts.append(b.remark)
        note = "; ".join(parts) or "no change in the signals found"
        if len(note) > NOTE_CHARS:
            note = note[: NOTE_CHARS - 1].rstrip() + "…"
        items.append(
            FollowUpItem(
                cause_id=f.cause_id,
                cause=f.cause,
                before=b.rating,
                after=f.rating,
                status=st,
                evidence_before=b.evidence,
                evidence_after=f.evidence,
                note=note[:1].upper() + note[1:],
            )
        )
    notices = list(new.notices)
    if old.framework != new.framework:
        notices.append(f"the editions were rated against {old.framework} and {new.framework}")
    return FollowUp(
        plan=new.plan,
        previous=Previous(doc_id=old.plan.doc_id, title=old.plan.title, critique_id=previous_id),
        critique_id=new.critique_id,
        framework=new.framework,
        followup=items,
        findings=new.findings,
        sections=[
            {"kind": c.kind, "title": c.title, "before": c.before, "text": c.describe()}
            for c in changes
        ],
        notices=notices,
    )


def baseline_of_review(review: DecidedReview) -> dict[str, Baseline]:
    """The baseline of a decided review: the reviewer's ratings, evidence and rejections."""
    base = baseline_of(review.draft)
    for s in review.findings:
        b = base[s.cause_id]
        b.rating = s.finding.rating if s.finding.rating != "not_assessable" else None
        b.evidence = s.finding.evidence
        if s.status == "rejected":
            b.remark = f"the earlier review rejected this finding ({s.reason})"
    return base
