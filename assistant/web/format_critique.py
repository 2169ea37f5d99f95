"""Formatting of the Critique tab: the ratings table, the findings with evidence, the JSON.

Quotes, titles and rationales are escaped and the assembled Markdown sanitised, as in
``assistant.web.format``.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from assistant.core.models import RATING_LABELS, Critique, Evidence
from assistant.critique.decisions import STATUS_LABELS
from assistant.web.format import CITATION_QUOTE_CHARS, escape_text, inline, sanitise, short_section

RATING_HEADERS = ["Cause", "Rating", "Evidence (pages)", "Why"]
STANCE_LABELS = {
    "for": "supports",
    "against": "counts against",
    "context": "context",
    "closest": "closest passage",
}


def slug(text: str, limit: int = 40) -> str:
    """A file-name-safe slug of a title."""
    cleaned = re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower()
    return cleaned[:limit].rstrip("-") or "plan"


def _pages(evidence: Sequence[Evidence]) -> str:
    pages = {
        "for": sorted({e.page for e in evidence if e.stance == "for"}),
        "against": sorted({e.page for e in evidence if e.stance == "against"}),
    }
    text = ", ".join(map(str, pages["for"]))
    if pages["against"]:
        text += ("; " if text else "") + "against: " + ", ".join(map(str, pages["against"]))
    return text or "none found"


def _cut(text: str, limit: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def rating_rows(critique: Critique) -> list[list[str]]:
    """One row per cause: name, rating, pages of its evidence, the rationale cut short (plain)."""
    return [
        [
            f"{f.cause_id} {f.cause}",
            RATING_LABELS.get(f.rating, f.rating),
            _pages(f.evidence),
            _cut(f.rationale, 240),
        ]
        for f in critique.findings
    ]


def evidence_html(e: Evidence, title: bool = False) -> str:
    where = [
        f"[{e.ref}]" if e.ref else "",
        (e.title + " · ") if title and e.title else "",
        f"page {e.page}",
    ]
    label = "".join(where[:1]) + (" " if e.ref else "") + where[1] + where[2]
    if e.section:
        label += f" · {short_section(e.section)}"
    label += f" ({STANCE_LABELS.get(e.stance, e.stance)})"
    return (
        "<details><summary>"
        + inline(label, 300)
        + "</summary><blockquote>"
        + inline(e.quote, CITATION_QUOTE_CHARS)
        + "</blockquote></details>"
    )


def findings_markdown(critique: Critique) -> str:
    """The draft for the page: summary, notices, then each finding with its evidence (sanitised)."""
    framework = critique.framework_name or critique.framework
    parts = [f"## {escape_text(critique.plan.title)} — {escape_text(framework)}"]
    if critique.summary:
        parts.append(escape_text(critique.summary))
    parts += [f"_Note: {escape_text(n)}_" for n in critique.notices]
    for f in critique.findings:
        rating = RATING_LABELS.get(f.rating, f.rating)
        parts.append(
            f"### {escape_text(f.cause_id)} · {escape_text(f.cause)} — {escape_text(rating)}"
        )
        parts.append(escape_text(" ".join(f.rationale.split())))
        if f.evidence:
            parts.append("\n\n".join(evidence_html(e) for e in f.evidence))
        if f.context:
            parts.append("_From other documents:_")
            parts.append("\n\n".join(evidence_html(e, title=True) for e in f.context))
        if f.recommendation:
            parts.append(f"**Recommendation:** {escape_text(f.recommendation)}")
    if critique.conclusion:
        parts += ["### Conclusion", escape_text(critique.conclusion)]
    return sanitise("\n\n".join(parts))


def critique_dict(critique: Critique) -> dict[str, Any]:
    """The critique as JSON for the page and the API: the plan's file name, not its server path."""
    data = critique.model_dump(mode="json")
    data["plan"]["source"] = Path(critique.plan.source).name
    return data


# -- review workspace -------------------------------------------------------------------------

REVIEW_HEADERS = ["Cause", "Rating", "Draft rating", "Decision", "By", "When"]
FOLLOWUP_HEADERS = ["Cause", "Before", "After", "Status", "What changed"]


def _when(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(ts)) if ts else ""


def review_choices(runs: Sequence[Any]) -> list[tuple[str, str]]:
    """Saved runs for a dropdown: ``"20261201-3f2a9c1b · Kestrel … · 2026-12-01 09:41"``."""
    return [
        (
            f"{r.critique_id} · {_cut(r.title, 50)} · {r.kind} · {r.decided}/{r.findings} decided",
            r.critique_id,
        )
        for r in runs
    ]


def review_rows(review: Any) -> list[list[str]]:
    """One row per finding: rating as decided, the draft's, the decision, who and when."""
    return [
        [
            f"{s.cause_id} {s.finding.cause}",
            RATING_LABELS.get(s.finding.rating, s.finding.rating),
            RATING_LABELS.get(s.machine_rating, s.machine_rating),
            STATUS_LABELS[s.status],
            s.who,
            _when(s.at),
        ]
        for s in review.findings
    ]


def review_status(review: Any) -> str:
    """One line: the review's id and how many findings have each status."""
    c = review.counts()
    return escape_text(
        f"Review {review.critique_id}: {c['accepted']} accepted, {c['edited']} edited,"
        f" {c['rejected']} rejected, {c['not_reviewed']} not yet reviewed."
    )


def _quote_block(e: Evidence) -> str:
    where = f"[{e.ref}] {e.title} · page {e.page}" + (
        f" · {short_section(e.section)}" if e.section else ""
    )
    stance = STANCE_LABELS.get(e.stance, e.stance)
    return (
        f"<p><strong>{inline(where, 300)}</strong> ({inline(stance, 40)})</p>"
        f"<blockquote>{inline(e.quote, CITATION_QUOTE_CHARS)}</blockquote>"
    )


def finding_view(state: Any, review: Any) -> str:
    """One finding as decided, with its evidence quoted in full beside the controls."""
    f = state.finding
    rating = RATING_LABELS.get(f.rating, f.rating)
    parts = [f"### {escape_text(f.cause_id)} · {escape_text(f.cause)} — {escape_text(rating)}"]
    decision = STATUS_LABELS[state.status]
    if state.status != "not_reviewed":
        decision += f" by {state.who}, {_when(state.at)}"
    if state.status == "rejected":
        decision += f". Reason: {state.reason}"
    parts.append(f"_{escape_text(decision)}_")
    parts.append(escape_text(" ".join(f.rationale.split())))
    parts.append("\n\n".join(_quote_block(e) for e in f.evidence) or "_No evidence quoted._")
    if f.recommendation:
        parts.append(f"**Recommendation:** {escape_text(f.recommendation)}")
    return sanitise("\n\n".join(parts))


def followup_rows(followup: Any) -> list[list[str]]:
    """One row per cause: before, after, status and the one-line note."""
    return [
        [
            f"{i.cause_id} {i.cause}",
            RATING_LABELS.get(i.before or "", "not rated"),
            RATING_LABELS.get(i.after, i.after),
            i.status,
            i.note,
        ]
        for i in followup.followup
    ]


def followup_view(followup: Any) -> tuple[str, str, str]:
    """The section changes, then the earlier and the revised edition's evidence, cause by cause.

    The two evidence columns are shown side by side; each cause starts with the same heading in
    both, so they line up.
    """
    title = escape_text(f"{followup.previous.title} → {followup.plan.title}")
    changes = "\n".join(f"- {escape_text(s['text'])}" for s in followup.sections)
    summary = f"### {title}\n\n{changes or '- No section differs.'}"
    columns: list[str] = []
    for side in ("evidence_before", "evidence_after"):
        parts = ["#### " + ("Earlier edition" if side == "evidence_before" else "Revised edition")]
        for i in followup.followup:
            parts.append(
                f"**{escape_text(i.cause_id)} · {escape_text(i.status)}**"
                f" — {escape_text(_cut(i.note, 160))}"
            )
            quotes = getattr(i, side)[:3]
            parts.append("\n\n".join(_quote_block(e) for e in quotes) or "_No passage cited._")
        columns.append(sanitise("\n\n".join(parts)))
    return sanitise(summary), columns[0], columns[1]
