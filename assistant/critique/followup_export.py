"""A follow-up review out: Markdown, DOCX and JSON (status table, both editions' evidence)."""

from __future__ import annotations

import json
from pathlib import Path

from assistant.core.models import RATING_LABELS, Evidence
from assistant.critique.export import Format, _esc, _one_line, _safe, new_docx, write_document
from assistant.critique.followup import FollowUp

STATUS_WORDS = {
    "resolved": "Resolved",
    "improved": "Improved",
    "unchanged": "Unchanged",
    "regressed": "Regressed",
    "new": "New",
}
INTRO = (
    "Each cause of the revised edition was rated again from what the edition contains. Claims"
    " the revision makes about itself (a change log) and instructions addressed to a reviewer"
    " were set aside; every quote was checked against the page it cites."
)


def _r(rating: str | None) -> str:
    return RATING_LABELS.get(rating or "", "not rated")


def _quote(e: Evidence) -> str:
    return f"“{_esc(e.quote)}” — {_esc(e.title)}, {_esc(e.locator())}"


def followup_markdown(f: FollowUp) -> str:
    """The follow-up as Markdown."""
    base = f" (decided review `{f.previous.critique_id}`)" if f.previous.critique_id else ""
    out = [
        f"# Follow-up review: {_esc(f.plan.title)}",
        "",
        f"_Revised edition `{f.plan.doc_id[:12]}` compared with {_esc(f.previous.title)}"
        f" (`{f.previous.doc_id[:12]}`){base}; framework `{f.framework}`;"
        f" follow-up `{f.critique_id}`._",
        "",
        f"> {INTRO}",
        "",
        "## Status by cause",
        "",
        "| Cause | Before | After | Status | What changed |",
        "|---|---|---|---|---|",
    ]
    for i in f.followup:
        out.append(
            f"| {_safe(i.cause_id + ' ' + i.cause)} | {_r(i.before)} | {_r(i.after)} |"
            f" **{STATUS_WORDS[i.status]}** | {_safe(i.note)} |"
        )
    out += ["", "## Changes between the editions", ""]
    out += [f"- {_safe(s['text'])}" for s in f.sections] or ["- No section differs."]
    out += ["", "## Evidence, edition by edition", ""]
    for i in f.followup:
        out += [f"### {_safe(i.cause_id + ' ' + i.cause)} — {STATUS_WORDS[i.status]}", ""]
        out += [_safe(i.note), "", "Earlier edition:", ""]
        out += [f"- {_quote(e)}" for e in i.evidence_before[:4]] or ["- No passage cited."]
        out += ["", "Revised edition:", ""]
        out += [f"- {_quote(e)}" for e in i.evidence_after[:4]] or ["- No passage cited."]
        out.append("")
    if f.notices:
        out += ["## Notices", "", *[f"- {_safe(n)}" for n in f.notices], ""]
    return "\n".join(out).rstrip() + "\n"


def followup_docx(f: FollowUp, path: Path) -> None:
    """The follow-up as a Word document."""
    doc = new_docx(f"Follow-up review: {f.plan.title}")
    doc.add_heading(_one_line(f"Follow-up review: {f.plan.title}"), 0)
    doc.add_paragraph(
        _one_line(
            f"Revised edition {f.plan.doc_id[:12]} compared with {f.previous.title}"
            f" ({f.previous.doc_id[:12]}); framework {f.framework}; follow-up {f.critique_id}."
        )
    )
    doc.add_paragraph(INTRO, style="Intense Quote")
    doc.add_heading("Status by cause", 1)
    table = doc.add_table(rows=1, cols=5)
    table.style = "Table Grid"
    for cell, text in zip(
        table.rows[0].cells, ["Cause", "Before", "After", "Status", "What changed"], strict=True
    ):
        cell.paragraphs[0].add_run(text).bold = True
    for i in f.followup:
        row = [f"{i.cause_id} {i.cause}", _r(i.before), _r(i.after), STATUS_WORDS[i.status], i.note]
        for cell, text in zip(table.add_row().cells, row, strict=True):
            cell.text = _one_line(text)
    doc.add_heading("Changes between the editions", 1)
    for s in f.sections or [{"text": "No section differs."}]:
        doc.add_paragraph(_one_line(s["text"]), style="List Bullet")
    doc.add_heading("Evidence, edition by edition", 1)
    for i in f.followup:
        doc.add_heading(_one_line(f"{i.cause_id} {i.cause} — {STATUS_WORDS[i.status]}"), 2)
        doc.add_paragraph(_one_line(i.note))
        for label, items in (("Earlier edition", i.evidence_before), ("Revised", i.evidence_after)):
            for e in items[:4]:
                p = doc.add_paragraph(style="List Bullet")
                p.add_run(f"{label}: ").bold = True
                p.add_run(_one_line(f"“{e.quote}” — {e.title}, {e.locator()}"))
    if f.notices:
        doc.add_heading("Notices", 1)
        for n in f.notices:
            doc.add_paragraph(_one_line(n), style="List Bullet")
    doc.save(str(path))


def followup_json(f: FollowUp) -> str:
    """The follow-up as JSON: plan, previous, critique_id, followup, findings, sections, notices."""
    data = f.model_dump(mode="json")
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def write_followup(f: FollowUp, fmt: Format, path: Path | None) -> str | None:
    """Render a follow-up; return the text when ``path`` is None (md, json)."""
    return write_document(
        fmt,
        path,
        markdown=lambda: followup_markdown(f),
        json_text=lambda: followup_json(f),
        docx=lambda target: followup_docx(f, target),
    )
