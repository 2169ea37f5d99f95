"""Critique drafts out: Markdown, DOCX (python-docx) and JSON.

Both documents have the same shape: summary, ratings table, key strengths, questions about
scope, findings by cause (rationale, evidence, what was searched, context from other
documents), governance observations, recommendations, conclusion, notices, numbered
references (document, page, section, quote) and an evidence appendix listing every signal
searched for. Text taken from documents is escaped, so a quote can never become a link, an
image or markup in the output.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from assistant.core.errors import BriefingError
from assistant.core.models import RATING_LABELS, Critique, Evidence, Finding

Format = Literal["md", "docx", "json"]
_WS = re.compile(r"\s+")
_MD_SPECIAL = re.compile(r"([\\`*_\[\]|#])")
_XML_BAD = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_STANCE = {"for": "for", "against": "at risk", "context": "context", "closest": "closest match"}
DISCLAIMER = (
    "Draft produced by Briefing for a reviewer to start from. Ratings come from a full search"
    " of the plan for the framework's signals; every quote has been checked against the page it"
    " cites. Read the cited passages before relying on any finding."
)


def _one_line(text: str) -> str:
    return _WS.sub(" ", _XML_BAD.sub("", text)).strip()


def _esc(text: str) -> str:
    """Document text for Markdown: one line, specials escaped, no raw HTML."""
    text = _one_line(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MD_SPECIAL.sub(r"\\\1", text)


def _safe(text: str) -> str:
    """Our own prose (which may carry a document title): no raw HTML, links or images."""
    text = _one_line(text).replace("<", "&lt;").replace(">", "&gt;")
    return text.replace("![", "!\\[").replace("](", "]\\(").replace("|", "\\|")


def _cause_line(f: Finding) -> str:
    return f"{f.cause_id} {f.cause}"


def _counts(f: Finding) -> tuple[str, int]:
    addressed = [s for s in f.searched.signals if s.kind == "addressed"]
    risks = sum(s.found for s in f.searched.signals if s.kind == "at_risk")
    return f"{sum(s.found for s in addressed)} of {len(addressed)}", risks


def _ref_line(e: Evidence) -> str:
    return f"{e.title}, {e.locator()}"


# -- Markdown -------------------------------------------------------------------------------


def critique_markdown(critique: Critique) -> str:
    """The draft as a Markdown document."""
    c = critique
    out = [f"# Review draft: {_esc(c.plan.title)}", ""]
    prose = (
        "deterministic (from the evidence)"
        if c.backend == "deterministic"
        else f"written by the {c.backend} model from the evidence"
    )
    out += [
        f"_Framework: {_esc(c.framework_name)} (`{c.framework}` v{c.framework_version})."
        f" Plan: {c.plan.pages} page(s), document `{c.plan.doc_id[:12]}`. Prose: {prose}._",
        "",
        f"> {DISCLAIMER}",
        "",
    ]
    out += ["## Summary", "", _safe(c.summary), ""]
    out += [
        "## Ratings",
        "",
        "| Cause | Rating | Signs found | At-risk signs | Evidence |",
        "|---|---|---|---|---|",
    ]
    for f in c.findings:
        found, risks = _counts(f)
        refs = "".join(f"[{n}]" for n in list(dict.fromkeys(e.ref for e in f.evidence))[:6]) or "—"
        rating = RATING_LABELS[f.rating]
        out.append(f"| {_safe(_cause_line(f))} | **{rating}** | {found} | {risks} | {refs} |")
    out += ["", "## Key strengths", ""]
    out += [f"- **{_safe(p.title)}.** {_safe(p.text)}" for p in c.strengths] or [
        "- No cause is clearly addressed."
    ]
    out += ["", "## Questions about scope", ""]
    out += [f"- **{p.id} {_safe(p.title)}.** {_safe(p.text)}" for p in c.scope_questions] or [
        "- The framework sets no scope questions."
    ]
    out += ["", "## Findings by cause", ""]
    for f in c.findings:
        out += _md_finding(f)
    out += ["## Governance observations", ""]
    out += [
        f"- **{p.id} {_safe(p.title)}.** {_safe(p.text)}" for p in c.governance_observations
    ] or ["- The framework sets no governance principles."]
    out += ["", "## Recommendations", ""]
    names = {f.cause_id: f.cause for f in c.findings}
    out += [
        f"{i}. **{r.priority.capitalize()} — {r.cause_id} {_safe(names.get(r.cause_id, ''))}.**"
        f" {_safe(r.text)}"
        for i, r in enumerate(c.recommendations, 1)
    ]
    out += ["", "## Conclusion", "", _safe(c.conclusion), ""]
    if c.notices:
        out += ["## Notices", "", *[f"- {_safe(n)}" for n in c.notices], ""]
    out += ["## References", ""]
    out += [f"{e.ref}. {_esc(_ref_line(e))}: “{_esc(e.quote)}”" for e in c.references()]
    out += ["", "## Appendix: evidence by cause", ""]
    for f in c.findings:
        out += [
            f"### {_safe(_cause_line(f))}",
            "",
            "| Signal | Kind | Found | Passages | Sections |",
            "|---|---|---|---|---|",
        ]
        for s in f.searched.signals:
            sections = _esc("; ".join(s.sections[:6])) or "—"
            kind, found = s.kind.replace("_", "-"), "yes" if s.found else "no"
            out.append(
                f"| {s.id} {_safe(s.text)} | {kind} | {found} | {s.sentences} | {sections} |"
            )
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def _md_finding(f: Finding) -> list[str]:
    out = [f"### {_safe(_cause_line(f))} — {RATING_LABELS[f.rating]}", ""]
    if f.summary:
        out += [f"_{_safe(f.summary)}_", ""]
    out += [_safe(f.rationale), ""]
    if f.evidence:
        out += (
            ["Evidence:", ""]
            + [
                f"- [{e.ref}] ({_STANCE[e.stance]}) “{_esc(e.quote)}” — {_esc(e.locator())}"
                for e in f.evidence
            ]
            + [""]
        )
    s = f.searched
    out += [
        f"What was searched: all {s.sections} sections ({s.passages} passages, {s.pages} page(s)); "
        f"{len(s.signals)} signals; each diagnostic question compared with every passage:",
        "",
    ]
    for q in s.questions:
        best = "".join(f"[{e.ref}]" for e in q.closest[:1])
        match = f"{q.strength} match (similarity {q.best_score:.2f})"
        out.append(f"- {_safe(q.text)} — {match} {best}".rstrip())
    out.append("")
    if f.context:
        out += ["Supporting context from other documents:", ""]
        out += [f"- [{e.ref}] “{_esc(e.quote)}” — {_esc(_ref_line(e))}" for e in f.context] + [""]
    if f.recommendation and f.rating != "addressed":
        out += [f"Recommendation: {_safe(f.recommendation)}", ""]
    return out


# -- DOCX -----------------------------------------------------------------------------------


def new_docx(title: str, subject: str = "") -> Any:
    """An empty Word document with its properties set (one line each, bounded)."""
    from docx import Document
    from docx.shared import Pt

    doc = Document()
    doc.core_properties.title = _one_line(title)[:250]
    if subject:
        doc.core_properties.subject = _one_line(subject)[:250]
    doc.core_properties.author = "Briefing"
    doc.styles["Normal"].font.size = Pt(10.5)
    return doc


def add_para(doc: Any, text: str, style: str | None = None, lead: str = "") -> None:
    """A paragraph of one line, after an optional bold lead."""
    p = doc.add_paragraph(style=style)
    if lead:
        p.add_run(_one_line(lead) + " ").bold = True
    p.add_run(_one_line(text))


def critique_docx(critique: Critique, path: Path) -> None:
    """Write the draft as a Word document (headings, ratings table, numbered references)."""
    c = critique
    doc = new_docx(f"Review draft: {c.plan.title}", c.framework_name)

    def para(text: str, style: str | None = None, bold_lead: str = "") -> None:
        add_para(doc, text, style, bold_lead)

    doc.add_heading(_one_line(f"Review draft: {c.plan.title}"), 0)
    para(
        f"Framework: {c.framework_name} ({c.framework} v{c.framework_version})."
        f" Plan: {c.plan.pages} page(s), document {c.plan.doc_id[:12]}. Prose: {c.backend}."
    )
    para(DISCLAIMER, "Intense Quote")
    doc.add_heading("Summary", 1)
    para(c.summary)
    doc.add_heading("Ratings", 1)
    table = doc.add_table(rows=1, cols=4)
    table.style = "Table Grid"
    for cell, text in zip(
        table.rows[0].cells, ["Cause", "Rating", "Signs found", "At-risk signs"], strict=True
    ):
        cell.paragraphs[0].add_run(text).bold = True
    for f in c.findings:
        found, risks = _counts(f)
        cells = table.add_row().cells
        for cell, text in zip(
            cells, [_cause_line(f), RATING_LABELS[f.rating], found, str(risks)], strict=True
        ):
            cell.text = _one_line(text)
    doc.add_heading("Key strengths", 1)
    for p in c.strengths or []:
        para(p.text, "List Bullet", f"{p.title}.")
    doc.add_heading("Questions about scope", 1)
    for p in c.scope_questions:
        para(p.text, "List Bullet", f"{p.id} {p.title}.")
    doc.add_heading("Findings by cause", 1)
    for f in c.findings:
        doc.add_heading(_one_line(f"{_cause_line(f)} — {RATING_LABELS[f.rating]}"), 2)
        para(f.rationale)
        for e in f.evidence:
            para(
                f"[{e.ref}] ({_STANCE[e.stance]}) “{_one_line(e.quote)}” — {e.locator()}",
                "List Bullet",
            )
        for e in f.context:
            para(f"[{e.ref}] (context) “{_one_line(e.quote)}” — {_ref_line(e)}", "List Bullet")
        s = f.searched
        para(
            f"Searched all {s.sections} sections ({s.passages} passages)"
            f" for {len(s.signals)} signals; "
            + "; ".join(f"{q.id} {q.strength} match ({q.best_score:.2f})" for q in s.questions)
            + "."
        )
        if f.recommendation and f.rating != "addressed":
            para(f.recommendation, bold_lead="Recommendation:")
    doc.add_heading("Governance observations", 1)
    for p in c.governance_observations:
        para(p.text, "List Bullet", f"{p.id} {p.title}.")
    doc.add_heading("Recommendations", 1)
    names = {f.cause_id: f.cause for f in c.findings}
    for r in c.recommendations:
        para(
            r.text,
            "List Number",
            f"{r.priority.capitalize()} — {r.cause_id} {names.get(r.cause_id, '')}.",
        )
    doc.add_heading("Conclusion", 1)
    para(c.conclusion)
    if c.notices:
        doc.add_heading("Notices", 1)
        for n in c.notices:
            para(n, "List Bullet")
    doc.add_heading("References", 1)
    for e in c.references():
        para(f"“{_one_line(e.quote)}”", bold_lead=f"[{e.ref}] {_ref_line(e)}:")
    doc.add_heading("Appendix: evidence by cause", 1)
    for f in c.findings:
        doc.add_heading(_one_line(_cause_line(f)), 2)
        grid = doc.add_table(rows=1, cols=4)
        grid.style = "Table Grid"
        for cell, text in zip(
            grid.rows[0].cells, ["Signal", "Kind", "Found", "Sections"], strict=True
        ):
            cell.paragraphs[0].add_run(text).bold = True
        for check in f.searched.signals:
            cells = grid.add_row().cells
            values = [
                f"{check.id} {check.text}",
                check.kind.replace("_", "-"),
                f"yes ({check.sentences})" if check.found else "no",
                "; ".join(check.sections[:6]),
            ]
            for cell, text in zip(cells, values, strict=True):
                cell.text = _one_line(text)
    doc.save(str(path))


# -- one entry point ------------------------------------------------------------------------


def write_document(
    fmt: Format,
    path: Path | None,
    *,
    markdown: Callable[[], str],
    json_text: Callable[[], str],
    docx: Callable[[Path], None],
) -> str | None:
    """Render in ``fmt``; return the text when ``path`` is None (md, json), else write the file.

    The one writer behind drafts, decided reviews and follow-ups.

    Raises:
        BriefingError: an unknown format, DOCX without a path, or a file that cannot be written.
    """
    if fmt not in ("md", "docx", "json"):
        raise BriefingError(f"unknown format {fmt!r}; use md, docx or json")
    if fmt == "docx" and path is None:
        raise BriefingError("DOCX output needs a file path (-o FILE.docx)")
    try:
        if fmt == "docx":
            docx(Path(path))  # type: ignore[arg-type]
            return None
        text = markdown() if fmt == "md" else json_text()
        if path is None:
            return text
        Path(path).write_text(text, encoding="utf-8")
        return None
    except OSError as exc:
        raise BriefingError(f"cannot write {path}: {exc.strerror or exc}") from None


def write_critique(critique: Critique, fmt: Format, path: Path | None) -> str | None:
    """Render a draft; return the text when ``path`` is None (md, json), else write the file."""
    return write_document(
        fmt,
        path,
        markdown=lambda: critique_markdown(critique),
        json_text=lambda: critique.model_dump_json(indent=2) + "\n",
        docx=lambda target: critique_docx(critique, target),
    )
