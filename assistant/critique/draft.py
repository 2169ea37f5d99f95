"""The deterministic draft: the parts of a review around its findings.

Nothing here calls a model. Strengths, scope questions, governance observations,
recommendations, summary and conclusion are composed from the findings
(``assistant.critique.findings``) and the closest passages of the plan.
"""

from __future__ import annotations

from assistant.core.models import RATING_LABELS, Critique, Finding, Point, Recommendation
from assistant.critique.evidence import STRENGTH, marks
from assistant.critique.findings import LensResult, found_signals, label
from assistant.critique.frameworks import Framework
from assistant.critique.rating import Sweep

MAX_STRENGTHS = 8
_PRIORITY = {"gap": "high", "partly_addressed": "medium", "not_assessable": "check"}


def _strengths(findings: list[Finding]) -> list[Point]:
    points = []
    for f in findings:
        if f.rating == "addressed":
            ev = [e for e in f.evidence if e.stance == "for"][:3]
            signs = "; ".join(c.text for c in found_signals(f, "addressed"))
            text = f"The plan guards against this cause: {signs}. {marks(ev)}".strip()
            points.append(
                Point(id=f.cause_id, title=f.cause, text=text, cause_ids=[f.cause_id], evidence=ev)
            )
    for f in findings:
        if f.rating == "partly_addressed":
            for c in found_signals(f, "addressed"):
                if c.sentences >= 2:
                    ev = [e for e in f.evidence if e.signal == c.id][:2]
                    text = f"{c.text[:1].upper()}{c.text[1:]}. {marks(ev)}".strip()
                    points.append(
                        Point(
                            id=c.id,
                            title=f"{f.cause} (in part)",
                            text=text,
                            cause_ids=[f.cause_id],
                            evidence=ev,
                        )
                    )
    return points[:MAX_STRENGTHS]


def _lens_point(item: LensResult, findings: list[Finding], scope: bool) -> Point:
    """A scope question or governance principle, answered from the sweep's signals where the
    framework names some, else from the closest passage of the plan."""
    lens_, best, closest = item
    related = [f for f in findings if f.cause_id in lens_.related]
    checks = {c.id: (c, f) for f in findings for c in f.searched.signals}
    shown, evidence = closest[:1], list(closest[:1])
    pointer = (
        f"closest passage {shown[0].locator()} {marks(shown)}, similarity {best:.2f}"
        if shown
        else f"similarity {best:.2f}"
    )
    signs = [checks[s] for s in lens_.signals if s in checks]
    found = [(c, [e for e in f.evidence if e.signal == c.id][:2]) for c, f in signs if c.found]
    if found:
        seen = (
            "The plan speaks to this: "
            + "; ".join(f"{c.text} {marks(ev)}".rstrip() for c, ev in found)
            + "."
        )
        evidence = [e for _, ev in found for e in ev]
    elif signs:
        seen = (
            f"The sweep of all {findings[0].searched.sections} sections found no sign that "
            + " or that ".join(c.text for c, _ in signs)
            + f" ({pointer})."
        )
    elif best >= STRENGTH[0][1] and shown:
        seen = f"The plan touches on this ({pointer}); check whether it goes far enough."
    else:
        seen = f"No passage of the plan clearly speaks to this ({pointer})."
    if scope and not found:
        seen += " Is it deliberately out of scope, and if so, where is it handled?"
    text = f"{lens_.text.strip()} {seen}"
    for f in related:
        text += f" Related finding: {f.cause_id} {f.cause} is rated {label(f)}."
        if not scope:
            for c in found_signals(f, "at_risk"):
                ev = [e for e in f.evidence if e.signal == c.id][:2]
                evidence += ev
                text += f" At risk: {c.text} {marks(ev)}".rstrip() + "."
    return Point(
        id=lens_.id,
        title=lens_.name,
        text=text,
        cause_ids=[f.cause_id for f in related],
        evidence=evidence,
    )


def _recommendations(findings: list[Finding]) -> list[Recommendation]:
    out = []
    pending = sorted(
        (f for f in findings if f.rating in _PRIORITY),
        key=lambda f: list(_PRIORITY).index(f.rating),
    )
    for f in pending:
        text = f.recommendation
        missing = [c.text for c in found_signals(f, "addressed", found=False)][:3]
        if f.rating == "partly_addressed" and missing:
            text += " In particular, the plan should show that " + "; that ".join(missing) + "."
        if f.rating == "not_assessable":
            text = "Obtain the full text of the plan so that this cause can be assessed. " + text
        out.append(
            Recommendation(
                cause_id=f.cause_id,
                priority=_PRIORITY[f.rating],  # type: ignore[arg-type]
                text=text,
            )
        )
    return out


def _group(findings: list[Finding], rating: str) -> str:
    return ", ".join(f"{f.cause_id} {f.cause}" for f in findings if f.rating == rating)


_VERBS = {
    "addressed": ("is addressed", "are addressed"),
    "partly_addressed": ("is partly addressed", "are partly addressed"),
    "gap": ("is a gap", "are gaps"),
    "not_assessable": ("cannot be assessed", "cannot be assessed"),
}


def _summary(c: Critique, spec: Framework, sweep: Sweep) -> str:
    counts = {r: sum(f.rating == r for f in c.findings) for r in RATING_LABELS}
    parts = [f"{n} {_VERBS[r][n != 1]} ({_group(c.findings, r)})" for r, n in counts.items() if n]
    text = (
        f"This draft reviews “{c.plan.title}” ({c.plan.pages} page(s)) against “{spec.name}”. "
        f"All {len(sweep.sections)} sections ({len(sweep.sentences)} passages) were searched for "
        f"the signs of each cause. Of the {len(c.findings)} causes, " + ", ".join(parts) + "."
    )
    if c.strengths:
        text += " Clearest strengths: " + "; ".join(p.title for p in c.strengths[:3]) + "."
    if counts["gap"]:
        text += f" Main concerns: {_group(c.findings, 'gap')}."
    return text


_CAVEAT = (
    " This draft was produced by a mechanical sweep of the whole plan. Every quote has been checked"
    " against its page, but the ratings are a starting point: read the cited passages and the"
    " evidence appendix before relying on them."
)


def _conclusion(c: Critique) -> str:
    concerns = [f for f in c.findings if f.rating == "gap"]
    concerns += [f for f in c.findings if f.rating == "partly_addressed"]
    if concerns:
        lines = []
        for f in concerns:
            missing = [s.text for s in found_signals(f, "addressed", found=False)]
            detail = f": nothing shows that {missing[0]}" if missing else ""
            lines.append(f"{f.cause_id} {f.cause} ({label(f)}){detail}")
        text = (
            "The main concerns are "
            + "; ".join(lines)
            + ". The recommendations are ordered by priority."
        )
    else:
        text = "The plan shows signs of guarding against every cause in the framework."
    return text + _CAVEAT


def assemble(
    c: Critique, spec: Framework, sweep: Sweep, lenses: dict[str, list[LensResult]]
) -> None:
    """Fill in the parts of the draft around the findings, deterministically.

    Args:
        c: The draft, with its findings set; its other parts are overwritten.
        spec: The framework the plan is reviewed against.
        sweep: The sweep of the plan.
        lenses: ``"scope_questions"`` and ``"governance_principles"``, each a list of
            :func:`lens` results in framework order.
    """
    c.strengths = _strengths(c.findings)
    c.scope_questions = [
        _lens_point(item, c.findings, scope=True) for item in lenses["scope_questions"]
    ]
    c.governance_observations = [
        _lens_point(item, c.findings, scope=False) for item in lenses["governance_principles"]
    ]
    c.recommendations = _recommendations(c.findings)
    c.summary = _summary(c, spec, sweep)
    c.conclusion = _conclusion(c)
