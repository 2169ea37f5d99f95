"""Formatting of the Documents and About tabs: library rows, choices, ingest reports, sizes.

Titles, reasons and notes come from documents and are shown as plain text or escaped Markdown;
reports name files, never server paths.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from assistant.core.manifest import DocumentRow
from assistant.web.format import DOC_TYPE_LABELS, escape_text, sanitise

LIBRARY_HEADERS = ["Title", "Type", "Pages", "Chunks", "Status", "Failure reason", "Id"]


def library_rows(rows: Iterable[DocumentRow]) -> list[list[Any]]:
    """Documents as table rows (titles and reasons are plain text cells, never markup)."""
    out = []
    for r in rows:
        title = r.title or Path(r.source).name
        out.append(
            [
                title,
                DOC_TYPE_LABELS.get(r.doc_type, r.doc_type),
                r.pages,
                r.chunks,
                r.status,
                r.reason,
                r.doc_id[:12],
            ]
        )
    return out


def document_choices(
    rows: Iterable[DocumentRow], *, ready_only: bool = True, first_type: str | None = None
) -> list[tuple[str, str]]:
    """(label, doc_id) pairs for dropdowns, by title; documents of ``first_type`` first."""
    keyed = []
    for r in rows:
        if ready_only and r.status != "ready":
            continue
        title = r.title or Path(r.source).name
        label = f"{title} ({DOC_TYPE_LABELS.get(r.doc_type, r.doc_type)})"
        keyed.append((r.doc_type != first_type, label, r.doc_id))
    return [(label, doc_id) for _, label, doc_id in sorted(keyed)]


def public_report(report: dict[str, Any], document: DocumentRow | None) -> dict[str, Any]:
    """An ingest report without server paths: file names only, plus the document it produced."""
    docs = dict(report["documents"])
    docs["failed"] = [
        {"file": Path(f["path"]).name, "reason": f["reason"]} for f in docs.get("failed", [])
    ]
    out = {
        "documents": docs,
        "notes": [
            {"file": Path(n["path"]).name, "note": n["note"]} for n in report.get("notes", [])
        ],
        "chunks_added": report.get("chunks_added", 0),
        "chunks_total": report.get("chunks_total", 0),
        "pages": report.get("pages", 0),
        "seconds": report.get("seconds", 0.0),
    }
    if document is not None:
        out["document"] = {
            k: getattr(document, k)
            for k in ("doc_id", "title", "doc_type", "pages", "chunks", "status", "reason")
        }
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
        pages = doc.get("pages", report["pages"])
        chunks = doc.get("chunks", report["chunks_added"])
        text = (
            f"**{name}** is ready: {pages} page(s), "
            f"{chunks} passage(s) indexed in {report['seconds']:.1f} s."
        )
    notes = [f"_Note: {escape_text(n['note'])}_" for n in report.get("notes", [])]
    return sanitise("\n\n".join([text, *notes]))


def about_markdown(info: dict[str, Any]) -> str:  # About fields plus the store's kind and size
    """What is running, as a small table."""
    backend = info.get("answer_backend", "")
    model = info.get("llm_model") or (
        "none: answers quote the documents" if backend == "extractive" else ""
    )
    precision = info.get("embedding_precision", "") or "default"
    rows = [
        ("Briefing version", info.get("version", "")),
        ("Answer backend", backend),
        ("Answer model", model),
        ("Embedding model", f"{info.get('embedding_model', '')} ({precision})"),
        ("Documents", f"{info.get('documents', 0)} ({info.get('ready', 0)} ready)"),
        ("Indexed passages", info.get("chunks", 0)),
        ("Store", info.get("store_kind", "")),
        ("Store size on disk", info.get("store_size", "")),
    ]
    body = "\n".join(
        f"| {escape_text(str(k))} | {escape_text(str(v))} |" for k, v in rows if v != ""
    )
    return sanitise("| Setting | Value |\n|---|---|\n" + body)


def human_size(n_bytes: int) -> str:
    size = float(n_bytes)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"
