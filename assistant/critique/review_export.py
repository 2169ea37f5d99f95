"""A decided review out: Markdown, DOCX and JSON that reflect the reviewer's decisions.

Edited text replaces the machine text; rejected findings leave the findings and go to an annex
with their reasons; undecided findings are marked "not yet reviewed"; the decision log (who,
when, what changed from what) closes the document. Document text is escaped as in
``assistant.critique.export``.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from assistant.core.models import RATING_LABELS
from assistant.critique.decisions import STATUS_LABELS, DecidedReview, FindingState, describe
from assistant.critique.export import (
    _STANCE,
    Format,
    _esc,
    _one_line,
    _safe,
    add_para,
    new_docx,
    write_document,
)

HEAD = (
    "Review of a Briefing draft. Findings marked “not yet reviewed” are the machine's and have not"
    " been checked by a reviewer; every quote was checked against the page it cites."
)


def when(ts: float) -> str:
    """A timestamp as ``2026-12-01 09:41 UTC``."""
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(ts))


def _rating(s: FindingState) -> str:
    label = RATING_LABELS.get(s.finding.rating, s.finding.rating)
    if s.finding.rating != s.machine_rating:
        label += f" (draft: {RATING_LABELS.get(s.machine_rating, s.machine_rating)})"
    return label


def _decision(s: FindingState) -> str:
    if s.status == "not_reviewed":
        return "Not yet reviewed"
    label = STATUS_LABELS[s.status] + (" with edits" if s.edited and s.status == "accepted" else "")
    return f"{label} by {s.who}, {when(s.at)}"


def review_markdown(review: DecidedReview) -> str:
    """The decided review as Markdown."""
    c = review.draft
    counts = review.counts()
    kept = [s for s in review.findings if s.status != "rejected"]
    rejected = [s for s in review.findings if s.status == "rejected"]
    out = [f"# Review: {_esc(c.plan.title)}", ""]
    out += [
        f"_Review `{review.critique_id}` of document `{c.plan.doc_id[:12]}`. Framework:"
        f" {_esc(c.framework_name)} (`{c.framework}` v{c.framework_version})."
        f" {counts['accepted']} accepted, {counts['edited']} edited, {counts['rejected']}"
        f" rejected, {counts['not_reviewed']} not yet reviewed._",
        "",
        f"> {HEAD}",
        "",
        "## Summary of the draft",
        "",
        _safe(c.summary),
        "",
        "## Ratings",
        "",
        "| Cause | Rating | Decision |",
        "|---|---|---|",
    ]
    for s in kept:
        f = s.finding
        out.append(f"| {_safe(f.cause_id + ' ' + f.cause)} | **{_rating(s)}** | {_decision(s)} |")
    out += ["", "## Findings", ""]
    for s in kept:
        f = s.finding
        out += [f"### {_safe(f.cause_id + ' ' + f.cause)} — {_rating(s)}", ""]
        out += [f"_{_safe(_decision(s))}._", "", _safe(f.rationale), ""]
        if f.evidence:
            out += ["Evidence:", ""]
            out += [
                f"- [{e.ref}] ({_STANCE[e.stance]}) “{_esc(e.quote)}” — {_esc(e.title)},"
                f" {_esc(e.locator())}"
                for e in f.evidence
            ]
            out.append("")
        if f.recommendation and f.rating != "addressed":
            out += [f"Recommendation: {_safe(f.recommendation)}", ""]
    if review.notes:
        out += ["## Reviewer notes", ""]
        out += [f"- {_safe(n.note)} ({_safe(n.who)}, {when(n.at)})" for n in review.notes]
        out.append("")
    out += ["## Annex: rejected findings", ""]
    out += [
        f"- **{_safe(s.finding.cause_id + ' ' + s.finding.cause)}** (draft rating"
        f" {RATING_LABELS.get(s.machine_rating, s.machine_rating)}): rejected by {_safe(s.who)},"
        f" {when(s.at)}. Reason: {_safe(s.reason)}"
        for s in rejected
    ] or ["- None."]
    out += ["", "## Decision log", ""]
    if review.log:
        out += ["| # | When | Who | Finding | Action | What changed |", "|---|---|---|---|---|---|"]
        out += [
            f"| {i} | {when(d.at)} | {_safe(d.who)} | {d.cause_id or '(draft)'} |"
            f" {d.action} | {_safe(describe(d))} |"
            for i, d in enumerate(review.log, 1)
        ]
    else:
        out.append("No decision has been made yet.")
    return "\n".join(out).rstrip() + "\n"


def review_docx(review: DecidedReview, path: Path) -> None:
    """The decided review as a Word document."""
    c = review.draft
    doc = new_docx(f"Review: {c.plan.title}")

    def para(text: str, style: str | None = None, lead: str = "") -> None:
        add_para(doc, text, style, lead)

    def grid(header: list[str], rows: list[list[str]]) -> None:
        table = doc.add_table(rows=1, cols=len(header))
        table.style = "Table Grid"
        for cell, text in zip(table.rows[0].cells, header, strict=True):
            cell.paragraphs[0].add_run(text).bold = True
        for row in rows:
            for cell, text in zip(table.add_row().cells, row, strict=True):
                cell.text = _one_line(text)

    counts = review.counts()
    doc.add_heading(_one_line(f"Review: {c.plan.title}"), 0)
    para(
        f"Review {review.critique_id} of document {c.plan.doc_id[:12]}. Framework:"
        f" {c.framework_name} ({c.framework} v{c.framework_version}). {counts['accepted']}"
        f" accepted, {counts['edited']} edited, {counts['rejected']} rejected,"
        f" {counts['not_reviewed']} not yet reviewed."
    )
    para(HEAD, "Intense Quote")
    doc.add_heading("Summary of the draft", 1)
    para(c.summary)
    kept = [s for s in review.findings if s.status != "rejected"]
    doc.add_heading("Ratings", 1)
    grid(
        ["Cause", "Rating", "Decision"],
        [[f"{s.cause_id} {s.finding.cause}", _rating(s), _decision(s)] for s in kept],
    )
    doc.add_heading("Findings", 1)
    for s in kept:
        f = s.finding
        doc.add_heading(_one_line(f"{f.cause_id} {f.cause} — {_rating(s)}"), 2)
        para(_decision(s) + ".", lead="Decision:")
        para(f.rationale)
        for e in f.evidence:
            para(
                f"[{e.ref}] ({_STANCE[e.stance]}) “{_one_line(e.quote)}”"
                f" — {e.title}, {e.locator()}",
                "List Bullet",
            )
        if f.recommendation and f.rating != "addressed":
            para(f.recommendation, lead="Recommendation:")
    if review.notes:
        doc.add_heading("Reviewer notes", 1)
        for n in review.notes:
            para(f"{n.note} ({n.who}, {when(n.at)})", "List Bullet")
    doc.add_heading("Annex: rejected findings", 1)
    rejected = [s for s in review.findings if s.status == "rejected"]
    for s in rejected:
        para(
            f"Draft rating {RATING_LABELS.get(s.machine_rating, s.machine_rating)}; rejected by"
            f" {s.who}, {when(s.at)}. Reason: {s.reason}",
            "List Bullet",
            f"{s.cause_id} {s.finding.cause}:",
        )
    if not rejected:
        para("None.")
    doc.add_heading("Decision log", 1)
    grid(
        ["#", "When", "Who", "Finding", "Action", "What changed"],
        [
            [str(i), when(d.at), d.who, d.cause_id or "(draft)", d.action, describe(d)]
            for i, d in enumerate(review.log, 1)
        ],
    )
    doc.save(str(path))


def review_json(review: DecidedReview) -> str:
    """The decided review as JSON: the decided findings, the annex, the notes and the log."""
    data = {
        "critique_id": review.critique_id,
        "plan": review.draft.plan.model_dump(mode="json"),
        "framework": review.draft.framework,
        "framework_version": review.draft.framework_version,
        "counts": review.counts(),
        "findings": [
            {
                "status": s.status,
                "machine_rating": s.machine_rating,
                **s.finding.model_dump(mode="json", exclude={"searched"}),
            }
            for s in review.findings
            if s.status != "rejected"
        ],
        "rejected": [
            {"cause_id": s.cause_id, "machine_rating": s.machine_rating, "reason": s.reason}
            for s in review.findings
            if s.status == "rejected"
        ],
        "notes": [n.model_dump(mode="json") for n in review.notes],
        "log": [{**d.model_dump(mode="json"), "summary": describe(d)} for d in review.log],
        "draft": review.draft.model_dump(mode="json"),
    }
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def write_review(review: DecidedReview, fmt: Format, path: Path | None) -> str | None:
    """Render a decided review; return the text when ``path`` is None (md, json)."""
    return write_document(
        fmt,
        path,
        markdown=lambda: review_markdown(review),
        json_text=lambda: review_json(review),
        docx=lambda target: review_docx(review, target),
    )
