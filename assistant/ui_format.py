"""Pure formatting for the web UI: answers as sanitised Markdown, citations and documents as rows.

Nothing here imports gradio or touches the store, so every rule about what reaches the page is
testable on its own. Text from a model or a document is never trusted as markup: it is
HTML-escaped, Markdown link and image syntax is disarmed (``[`` and ``]`` escaped, so
``![x](http://…)`` cannot load an external image), and the assembled message is passed through
nh3 with a short allowlist of tags and no attributes or URL schemes at all.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nh3

from assistant.models import RATING_LABELS, Answer, Citation, Critique, Evidence

#: Tags that may reach the page: the expandable sources block and simple text structure.
ALLOWED_TAGS = {"details", "summary", "blockquote", "p", "br", "strong", "em", "code", "small"}
DOC_TYPE_LABELS = {
    "master_plan": "Master plan",
    "review": "Review",
    "lessons_learned": "Lessons learned",
    "other": "Other",
}
LIBRARY_HEADERS = ["Title", "Type", "Pages", "Chunks", "Status", "Failure reason", "Id"]
CITATION_QUOTE_CHARS = 1200


def sanitise(markdown: str) -> str:
    """Strip every tag outside ``ALLOWED_TAGS``, every attribute and every URL."""
    return nh3.clean(
        markdown, tags=ALLOWED_TAGS, attributes={}, url_schemes=set(), strip_comments=True, link_rel=None
    )


def escape_text(text: str) -> str:
    """Untrusted text made inert for Markdown: no HTML, no links, no images."""
    escaped = html.escape(text, quote=False)
    return escaped.replace("\\", "\\\\").replace("[", "\\[").replace("]", "\\]")


def _inline(text: str, limit: int | None = None) -> str:
    """Collapse whitespace (a quote or title shown inside HTML) and cut to ``limit`` characters."""
    flat = " ".join(text.split())
    if limit is not None and len(flat) > limit:
        flat = flat[: limit - 1] + "…"
    return html.escape(flat, quote=False)


def short_section(section: str, parts: int = 2) -> str:
    """The last ``parts`` levels of a section path ("A > B > C" -> "B › C")."""
    levels = [s.strip() for s in section.split(">") if s.strip()]
    return " › ".join(levels[-parts:])


def citation_label(c: Citation) -> str:
    where = [f"[{c.n}] {c.title or Path(c.source).name}", f"page {c.page}"]
    if c.section:
        where.append(short_section(c.section))
    return " · ".join(where)


def sources_html(citations: Sequence[Citation]) -> str:
    """Each source as a collapsed ``<details>``: label in the summary, the quoted passage inside."""
    blocks = []
    for c in citations:
        blocks.append(
            "<details><summary>" + _inline(citation_label(c), 300) + "</summary>"
            "<blockquote>" + _inline(c.quote, CITATION_QUOTE_CHARS) + "</blockquote>"
            "<p><small>" + _inline(Path(c.source).name, 120) + (f" — {_inline(c.section, 300)}" if c.section else "")
            + "</small></p></details>"
        )
    return "\n\n".join(blocks)


def answer_markdown(answer: Answer) -> str:
    """The message shown for a finished answer: text, notices, then its numbered sources."""
    parts = [escape_text(answer.text.strip()) or "_(no answer)_"]
    parts += [f"_Note: {escape_text(n)}_" for n in answer.notices]
    if answer.citations:
        parts.append("**Sources** (open one to read the passage)")
        parts.append(sources_html(answer.citations))
    return sanitise("\n\n".join(parts))


def partial_markdown(text: str) -> str:
    """What the page shows while an answer is being written."""
    return sanitise(escape_text(text) + " ▌")


def user_markdown(question: str) -> str:
    return sanitise(escape_text(question))


def citation_dicts(citations: Iterable[Citation]) -> list[dict[str, Any]]:
    """Citations for the API and the feedback store: the file's name, never a server path."""
    return [
        {
            "n": c.n, "doc_id": c.doc_id, "title": c.title, "source": Path(c.source).name, "page": c.page,
            "section": c.section, "quote": c.quote, "score": round(float(c.score), 4),
        }
        for c in citations
    ]


@dataclass
class Turn:
    """One question and its answer in a session, as the page and the feedback store need it."""

    question: str
    answer_text: str
    answer_md: str
    citations: list[dict[str, Any]]
    history: list[dict[str, str]] = field(default_factory=list)
    feedback_id: int | None = None


def chat_messages(turns: Sequence[Turn]) -> list[dict[str, str]]:
    """The Chatbot's value: user and assistant messages, both already sanitised."""
    messages = []
    for t in turns:
        messages.append({"role": "user", "content": user_markdown(t.question)})
        messages.append({"role": "assistant", "content": t.answer_md})
    return messages


def conversation_markdown(turns: Sequence[Turn], now: dt.datetime | None = None) -> str:
    """A downloadable record of the conversation with every source quoted (HTML escaped)."""
    now = now or dt.datetime.now(dt.UTC)
    lines = ["# Briefing conversation", "", f"_Exported {now:%Y-%m-%d %H:%M} UTC._", ""]
    for i, t in enumerate(turns, start=1):
        lines += [f"## {i}. {escape_text(t.question)}", "", escape_text(t.answer_text), ""]
        if t.citations:
            lines += ["Sources:", ""]
            for c in t.citations:
                where = f"{c['title'] or c['source']}, page {c['page']}" + (f", {c['section']}" if c["section"] else "")
                quote = " ".join(str(c["quote"]).split())
                lines.append(f"{c['n']}. {escape_text(where)} ({escape_text(c['source'])})")
                lines.append(f"   > {escape_text(quote)}")
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"


# -- the library -------------------------------------------------------------------------------

def library_rows(rows: Iterable[dict[str, Any]]) -> list[list[Any]]:
    """Documents as table rows (titles and reasons are plain text cells, never markup)."""
    out = []
    for r in rows:
        title = r.get("title") or Path(str(r.get("source", ""))).name
        out.append([
            title, DOC_TYPE_LABELS.get(r.get("doc_type", ""), r.get("doc_type", "")), r.get("pages", 0),
            r.get("chunks", 0), r.get("status", ""), r.get("reason", ""), str(r.get("doc_id", ""))[:12],
        ])
    return out


def document_choices(
    rows: Iterable[dict[str, Any]], *, ready_only: bool = True, first_type: str | None = None
) -> list[tuple[str, str]]:
    """(label, doc_id) pairs for dropdowns, by title; documents of ``first_type`` first."""
    keyed = []
    for r in rows:
        if ready_only and r.get("status") != "ready":
            continue
        title = r.get("title") or Path(str(r.get("source", ""))).name
        label = f"{title} ({DOC_TYPE_LABELS.get(r.get('doc_type', ''), r.get('doc_type', ''))})"
        keyed.append((r.get("doc_type") != first_type, label, str(r["doc_id"])))
    return [(label, doc_id) for _, label, doc_id in sorted(keyed)]


def public_report(report: dict[str, Any], document: dict[str, Any] | None) -> dict[str, Any]:
    """An ingest report without server paths: file names only, plus the document it produced."""
    docs = dict(report["documents"])
    docs["failed"] = [{"file": Path(f["path"]).name, "reason": f["reason"]} for f in docs.get("failed", [])]
    out = {
        "documents": docs,
        "notes": [{"file": Path(n["path"]).name, "note": n["note"]} for n in report.get("notes", [])],
        "chunks_added": report.get("chunks_added", 0),
        "chunks_total": report.get("chunks_total", 0),
        "pages": report.get("pages", 0),
        "seconds": report.get("seconds", 0.0),
    }
    if document is not None:
        out["document"] = {k: document.get(k) for k in ("doc_id", "title", "doc_type", "pages", "chunks", "status", "reason")}
    return out


def report_markdown(report: dict[str, Any], file_name: str) -> str:
    """One or two sentences a person can act on, from a ``public_report``."""
    name = escape_text(file_name)
    doc = report.get("document") or {}
    failed = report["documents"]["failed"]
    if failed:
        return sanitise(f"**{name} was not ingested:** {escape_text(failed[0]['reason'])}")
    if report["documents"]["unchanged"] and not report["documents"]["added"]:
        text = f"**{name}** is already in the library ({escape_text(str(doc.get('title', '')))})."
    else:
        text = (
            f"**{name}** is ready: {doc.get('pages', report['pages'])} page(s), "
            f"{doc.get('chunks', report['chunks_added'])} passage(s) indexed in {report['seconds']:.1f} s."
        )
    notes = [f"_Note: {escape_text(n['note'])}_" for n in report.get("notes", [])]
    return sanitise("\n\n".join([text, *notes]))


def about_markdown(info: dict[str, Any]) -> str:
    """What is running, as a small table."""
    backend = info.get("answer_backend", "")
    model = info.get("llm_model") or ("none: answers quote the documents" if backend == "extractive" else "")
    rows = [
        ("Briefing version", info.get("version", "")),
        ("Answer backend", backend),
        ("Answer model", model),
        ("Embedding model", f"{info.get('embedding_model', '')} ({info.get('embedding_precision', '') or 'default'})"),
        ("Documents", f"{info.get('documents', 0)} ({info.get('ready', 0)} ready)"),
        ("Indexed passages", info.get("chunks", 0)),
        ("Store", info.get("store_kind", "")),
        ("Store size on disk", info.get("store_size", "")),
    ]
    body = "\n".join(f"| {escape_text(str(k))} | {escape_text(str(v))} |" for k, v in rows if v != "")
    return sanitise("| Setting | Value |\n|---|---|\n" + body)


def human_size(n_bytes: int) -> str:
    size = float(n_bytes)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"


def to_json_text(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2)


# -- critiques ---------------------------------------------------------------------------------

RATING_HEADERS = ["Cause", "Rating", "Evidence (pages)", "Why"]
STANCE_LABELS = {"for": "supports", "against": "counts against", "context": "context", "closest": "closest passage"}


def slug(text: str, limit: int = 40) -> str:
    """A file-name-safe slug of a title."""
    cleaned = re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower()
    return cleaned[:limit].rstrip("-") or "plan"


def _pages(evidence: Sequence[Evidence]) -> str:
    pages = {"for": sorted({e.page for e in evidence if e.stance == "for"}),
             "against": sorted({e.page for e in evidence if e.stance == "against"})}
    text = ", ".join(map(str, pages["for"]))
    if pages["against"]:
        text += ("; " if text else "") + "against: " + ", ".join(map(str, pages["against"]))
    return text or "none found"


def _cut(text: str, limit: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def rating_rows(critique: Critique) -> list[list[str]]:
    """One row per cause: name, rating, the pages of its evidence, the rationale cut short (plain text)."""
    return [
        [f"{f.cause_id} {f.cause}", RATING_LABELS.get(f.rating, f.rating), _pages(f.evidence), _cut(f.rationale, 240)]
        for f in critique.findings
    ]


def evidence_html(e: Evidence, title: bool = False) -> str:
    where = [f"[{e.ref}]" if e.ref else "", (e.title + " · ") if title and e.title else "", f"page {e.page}"]
    label = "".join(where[:1]) + (" " if e.ref else "") + where[1] + where[2]
    if e.section:
        label += f" · {short_section(e.section)}"
    label += f" ({STANCE_LABELS.get(e.stance, e.stance)})"
    return ("<details><summary>" + _inline(label, 300) + "</summary><blockquote>"
            + _inline(e.quote, CITATION_QUOTE_CHARS) + "</blockquote></details>")


def findings_markdown(critique: Critique) -> str:
    """The draft for the page: summary, notices, then each finding with its evidence (sanitised)."""
    parts = [f"## {escape_text(critique.plan.title)} — {escape_text(critique.framework_name or critique.framework)}"]
    if critique.summary:
        parts.append(escape_text(critique.summary))
    parts += [f"_Note: {escape_text(n)}_" for n in critique.notices]
    for f in critique.findings:
        parts.append(f"### {escape_text(f.cause_id)} · {escape_text(f.cause)} — {escape_text(RATING_LABELS.get(f.rating, f.rating))}")
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
