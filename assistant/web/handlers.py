"""The page's event handlers: each checks its inputs, calls one service method, formats the result.

``Handlers`` gathers the Chat tab (``assistant.web.chat``), the Documents tab
(``assistant.web.library``) and, here, the Critique and About tabs. The handlers are callable
directly (tests) and through Gradio's API; per-session state (the conversation) lives in
``gr.State`` and nothing is kept on module globals or the service.
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from assistant.core.models import Critique
from assistant.core.storage import bytes_under
from assistant.web import format_critique as fc
from assistant.web import format_library as fl
from assistant.web.base import ChatSession, guarded, progress_reporter, text_input
from assistant.web.chat import ChatHandlers
from assistant.web.library import LibraryHandlers
from assistant.web.review import ReviewHandlers

__all__ = ["ChatSession", "Handlers", "available_frameworks"]

DEFAULT_FRAMEWORK = "eight-causes"


def available_frameworks() -> list[str]:
    """The critique frameworks a plan can be reviewed against."""
    from assistant.critique.frameworks import available_frameworks as names

    return names()


class Handlers(ChatHandlers, LibraryHandlers, ReviewHandlers):
    """Every handler of the page, on one service and one export folder."""

    @guarded
    def critique(
        self, document: Any, framework: Any, progress: gr.Progress = gr.Progress()
    ) -> tuple[dict[str, Any], str, str, list[list[str]], str]:
        """Draft a review of a plan: JSON, DOCX and Markdown files, the ratings and findings."""
        from assistant.critique.export import critique_markdown, write_critique

        doc_id = self._doc_id(document)
        name = text_input(framework, "framework", 64) or DEFAULT_FRAMEWORK
        known = available_frameworks()
        if name not in known:
            raise gr.Error(f"unknown framework {name!r}; known: {', '.join(known)}")
        progress(0, desc="reading the plan")
        result: Critique = self._run(
            self.service.critique, doc_id, name, progress_reporter(progress)
        )
        folder = self._export_folder()
        stem = f"critique-{fc.slug(result.plan.title)}-{name}"
        docx, md = folder / f"{stem}.docx", folder / f"{stem}.md"
        write_critique(result, "docx", docx)
        md.write_text(critique_markdown(result), encoding="utf-8")
        return (
            fc.critique_dict(result),
            str(docx),
            str(md),
            fc.rating_rows(result),
            fc.findings_markdown(result),
        )

    @guarded
    def select_review(self, critique_json: Any) -> Any:
        """After a draft: the saved-review dropdown with that draft's review chosen."""
        chosen = critique_json.get("critique_id") if isinstance(critique_json, dict) else None
        return self.saved_reviews(chosen)

    @guarded
    def about(self) -> str:
        """What is running: version, backend, models, library and store size."""
        info = self.service.about().model_dump()
        settings = self.service.settings
        if settings.chroma_url:
            info["store_kind"] = f"Chroma server ({settings.chroma_url})"
            info["store_size"] = ""
        else:
            info["store_kind"] = "embedded Chroma in the data directory"
            size = bytes_under(settings.chroma_path) + bytes_under(settings.manifest_path)
            info["store_size"] = fl.human_size(size)
        return fl.about_markdown(info)
