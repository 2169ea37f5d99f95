"""Document handlers: the library table, uploads, changing a document's type, removing it."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import gradio as gr

from assistant.core.errors import BriefingError, EarlierVersionError
from assistant.web import format as fmt
from assistant.web import format_library as fl
from assistant.web.base import (
    DOC_TYPES,
    UPLOAD_TYPES,
    HandlerBase,
    guarded,
    progress_reporter,
    text_input,
)

#: What an upload does when a different file of the same name is in the library.
EARLIER_CHOICES: dict[str, bool | None] = {"ask": None, "replace": True, "keep both": False}


class LibraryHandlers(HandlerBase):
    """The Documents tab, and the document choices of every dropdown on the page."""

    @guarded
    def library(self, select_plan: bool = False) -> tuple[Any, ...]:
        """The library table and every dropdown's documents (on load: a plan chosen)."""
        rows = self.service.status()
        ready = fl.document_choices(rows)
        everything = fl.document_choices(rows, ready_only=False)
        plans = fl.document_choices(rows, first_type="master_plan")
        chosen = plans[0][1] if select_plan is True and plans else None
        plan_dropdown = (
            gr.Dropdown(choices=plans, value=chosen) if chosen else gr.Dropdown(choices=plans)
        )
        return (
            fl.library_rows(rows),
            gr.Dropdown(choices=ready),
            gr.Dropdown(choices=everything),
            plan_dropdown,
        )

    @guarded
    def ingest(
        self,
        file: Any,
        doc_type: Any,
        earlier: Any = "ask",
        progress: gr.Progress = gr.Progress(),
    ) -> tuple[dict[str, Any], str, None]:
        """Move an upload out of Gradio's cache into the data dir and ingest it.

        ``earlier`` says what to do when a different file of the same name is in the library:
        "ask" (refuse, keeping the upload so it can be sent again with a choice), "replace" or
        "keep both".
        """
        path = self._upload(file)
        name = path.name
        choice = text_input(earlier, "choice for an earlier version", 20) or "ask"
        if choice not in EARLIER_CHOICES:
            raise gr.Error(f"unknown choice {choice!r}; known: {', '.join(EARLIER_CHOICES)}")
        keep_upload = False
        try:
            if path.suffix.lower() not in UPLOAD_TYPES:
                raise gr.Error(
                    f"{fmt.escape_text(name[:100])}: not a supported type; "
                    "upload PDF, DOCX, Markdown, reStructuredText, HTML or text"
                )
            wanted = text_input(doc_type, "document type", 40) or "auto"
            if wanted != "auto" and wanted not in DOC_TYPES:
                raise gr.Error(
                    f"unknown document type {wanted!r}; known: auto, {', '.join(DOC_TYPES)}"
                )
            progress(0, desc="reading the file")
            with self._write_lock:
                report = self._run(
                    self.service.ingest_upload,
                    path,
                    name,
                    None if wanted == "auto" else wanted,
                    replace=EARLIER_CHOICES[choice],
                    progress=progress_reporter(progress),
                )
        except EarlierVersionError as exc:
            keep_upload = True  # the same upload may come back with "replace" or "keep both"
            raise gr.Error(
                f"{fmt.escape_text(str(exc))}: choose 'replace' or 'keep both' and ingest again"
            ) from None
        finally:  # moved, or refused: either way nothing of it stays in the cache
            if not keep_upload:
                path.unlink(missing_ok=True)
                with contextlib.suppress(OSError):
                    path.parent.rmdir()
        document = None
        if report.doc_ids:
            with contextlib.suppress(BriefingError):
                document = self.service.document(report.doc_ids[0])
        public = fl.public_report(report.to_json(), document)
        return public, fl.report_markdown(public, name), None

    def _upload(self, file: Any) -> Path:
        """The uploaded file's path, which must lie in Gradio's upload folder."""
        if isinstance(file, dict):
            file = file.get("path")
        if not isinstance(file, str) or not file:
            raise gr.Error("choose a file to upload first")
        path = Path(file).resolve()
        cache = Path(gr.utils.get_upload_folder()).resolve()
        if not path.is_relative_to(cache) or not path.is_file():
            raise gr.Error("the upload was not found; upload the file again")
        return path

    @guarded
    def set_type(self, document: Any, doc_type: Any) -> str:
        """Change a document's type (a confirmation as sanitised Markdown)."""
        doc_id = self._doc_id(document)
        wanted = text_input(doc_type, "document type", 40)
        if wanted not in DOC_TYPES:
            raise gr.Error(f"choose a document type: {', '.join(DOC_TYPES)}")
        with self._write_lock:
            row = self.service.set_doc_type(doc_id, wanted)
        title = fmt.escape_text(row.title or doc_id[:12])
        kind = fmt.DOC_TYPE_LABELS[wanted].lower()
        return fmt.sanitise(f"**{title}** is now a {kind}.")

    @guarded
    def remove(self, document: Any, confirm: Any) -> tuple[str, bool]:
        """Remove a document once the removal is confirmed; the box is unticked again."""
        doc_id = self._doc_id(document)
        if confirm is not True:
            raise gr.Error("tick 'confirm removal' first")
        with self._write_lock:
            row = self.service.remove(doc_id)
        title = fmt.escape_text(row.title or doc_id[:12])
        return fmt.sanitise(f"Removed **{title}**."), False
