"""The page: four tabs (Chat, Documents, Critique, About) in gr.Blocks, wired to the handlers.

``build_ui(service)`` returns the Blocks with its queue configured; ``assistant.web.server``
launches it. Every event is also an API endpoint (named by ``api_name``); the ones only the page
needs are private.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import gradio as gr

from assistant.web import tabs
from assistant.web.base import ANSWER_CONCURRENCY, EXPORT_MAX_AGE_S, ChatSession
from assistant.web.handlers import Handlers

if TYPE_CHECKING:
    from assistant.service import BriefingService

#: Events waiting in the queue before new ones get "the queue is full, try again".
QUEUE_MAX_SIZE = 64
SESSION_TTL_S = 8 * 3600
CSS = """
.gradio-container {max-width: 1400px !important}
#chatbot details {margin: .25em 0; border-left: 3px solid var(--color-accent); padding-left: .5em}
#chatbot summary {cursor: pointer; font-weight: 600}
#chatbot blockquote {margin: .3em 0; font-style: italic}
#library *, #ratings * {font-family: var(--font) !important}
"""


def theme() -> gr.themes.Base:
    """System fonts only: the page loads nothing from beyond the server."""
    return gr.themes.Default(
        primary_hue="blue",
        font=["system-ui", "sans-serif"],
        font_mono=["ui-monospace", "monospace"],
    )


def _wire(demo: gr.Blocks, ui: SimpleNamespace, h: Handlers) -> None:
    """Connect every event of the page to its handler (and its API name)."""
    lib_outputs = [ui.library, ui.doc_filter, ui.manage_doc, ui.plan]
    answer: dict[str, Any] = {"concurrency_id": "answer", "concurrency_limit": ANSWER_CONCURRENCY}
    write: dict[str, Any] = {"concurrency_id": "write", "concurrency_limit": 1}
    private: dict[str, Any] = {"api_visibility": "private"}
    cleared = [ui.chatbot, ui.session, ui.question, ui.export_file]

    ui.refresh_btn.click(h.library, None, lib_outputs, api_name="library")
    ui.about_btn.click(h.about, None, [ui.about], api_name="about")
    ui.about_tab.select(h.about, None, [ui.about], api_name="about_on_select", **private)
    gr.on(
        [ui.question.submit, ui.ask_btn.click],
        h.chat,
        [ui.question, ui.doc_filter, ui.type_filter, ui.session],
        [ui.chatbot, ui.session, ui.question],
        api_name="chat",
        **answer,
    )
    gr.api(_ask_endpoint(h), api_name="ask", **answer)
    ui.chatbot.clear(h.new_conversation, None, cleared, api_name="clear_conversation", **private)
    ui.new_btn.click(h.new_conversation, None, cleared, api_name="new_conversation")
    ui.export_btn.click(
        h.export_conversation, [ui.session], [ui.export_file], api_name="export_conversation"
    ).success(_show(1), None, [ui.export_file], api_name="show_export", **private)
    ui.chatbot.like(h.rate, [ui.session], [ui.session, ui.feedback_note], api_name="rate")
    ui.comment_btn.click(
        h.comment,
        [ui.comment, ui.session],
        [ui.session, ui.feedback_note, ui.comment],
        api_name="comment",
    )
    ui.ingest_btn.click(
        h.ingest,
        [ui.upload, ui.upload_type, ui.upload_earlier],
        [ui.ingest_json, ui.ingest_note, ui.upload],
        api_name="ingest",
        **write,
    ).then(h.library, None, lib_outputs, api_name="library_after_ingest", **private)
    ui.type_btn.click(
        h.set_type, [ui.manage_doc, ui.new_type], [ui.manage_note], api_name="set_type", **write
    ).then(h.library, None, lib_outputs, api_name="library_after_set_type", **private)
    ui.remove_btn.click(
        h.remove,
        [ui.manage_doc, ui.confirm],
        [ui.manage_note, ui.confirm],
        api_name="remove",
        **write,
    ).then(h.library, None, lib_outputs, api_name="library_after_remove", **private)
    ui.critique_btn.click(
        h.critique,
        [ui.plan, ui.framework],
        [ui.critique_json, ui.docx_btn, ui.md_btn, ui.ratings, ui.findings],
        api_name="critique",
        concurrency_id="critique",
        concurrency_limit=1,
    ).success(_show(2), None, [ui.docx_btn, ui.md_btn], api_name="show_downloads", **private).then(
        h.select_review, [ui.critique_json], [ui.review_id], api_name="select_review", **private
    )
    demo.load(
        functools.partial(h.library, True), None, lib_outputs, api_name="load_library", **private
    )
    demo.load(h.about, None, [ui.about], api_name="load_about", **private)
    _wire_review(demo, ui, h)


def _wire_review(demo: gr.Blocks, ui: SimpleNamespace, h: Handlers) -> None:
    """The review workspace and the follow-up on the Critique tab."""
    private: dict[str, Any] = {"api_visibility": "private"}
    drawn = [
        ui.review_table,
        ui.finding_choice,
        ui.finding_view,
        ui.edit_rating,
        ui.edit_rationale,
        ui.edit_recommendation,
        ui.review_md,
        ui.review_docx,
        ui.review_note,
    ]
    ui.review_id.change(h.load_review, [ui.review_id], drawn, api_name="load_review")
    ui.finding_choice.input(
        h.load_review, [ui.review_id, ui.finding_choice], drawn, api_name="show_finding", **private
    )
    ui.review_refresh.click(h.saved_reviews, [ui.review_id], [ui.review_id], api_name="reviews")
    ui.decide_btn.click(
        h.decide,
        [
            ui.review_id,
            ui.finding_choice,
            ui.decision,
            ui.edit_rating,
            ui.edit_rationale,
            ui.edit_recommendation,
            ui.drop_refs,
            ui.add_doc,
            ui.add_page,
            ui.add_quote,
            ui.reason,
        ],
        drawn,
        api_name="decide",
    )
    ui.note_btn.click(
        h.add_note, [ui.review_id, ui.draft_note], [ui.review_note, ui.draft_note], api_name="note"
    )
    ui.compare_btn.click(
        h.compare,
        [ui.plan, ui.earlier, ui.framework],
        [
            ui.followup_table,
            ui.followup_changes,
            ui.followup_before,
            ui.followup_after,
            ui.followup_md,
            ui.followup_docx,
        ],
        api_name="compare",
        concurrency_id="critique",
        concurrency_limit=1,
    )
    demo.load(h.saved_reviews, None, [ui.review_id], api_name="load_reviews", **private)
    demo.load(h.earlier_choices, None, [ui.earlier], api_name="load_earlier", **private)
    docs_only = functools.partial(h.earlier_choices, False)
    demo.load(docs_only, None, [ui.add_doc], api_name="load_add_doc", **private)


def build_ui(service: BriefingService, *, exports_dir: Path | None = None) -> gr.Blocks:
    """The Blocks for one service, queue configured; launch with ``server.launch_options``."""
    # Downloads are written straight into Gradio's cache (no second copy), cleaned after an hour.
    exports = exports_dir or Path(gr.utils.get_upload_folder()) / "briefing-exports"
    h = Handlers(service, exports)
    ui = SimpleNamespace()
    with gr.Blocks(
        title="Briefing", analytics_enabled=False, delete_cache=(900, EXPORT_MAX_AGE_S)
    ) as demo:
        gr.Markdown(
            "# Briefing\nAsk about the strategy documents; "
            "every answer cites document, page and passage."
        )
        ui.session = gr.State(ChatSession(), time_to_live=SESSION_TTL_S)
        with gr.Tabs():
            with gr.Tab("Chat", id="chat"):
                tabs.chat_tab(ui)
            with gr.Tab("Documents", id="documents"):
                tabs.documents_tab(ui, service.settings.max_file_mb)
            with gr.Tab("Critique", id="critique"):
                tabs.critique_tab(ui)
            with gr.Tab("About", id="about") as ui.about_tab:
                ui.about = gr.Markdown(elem_id="about")
                ui.about_btn = gr.Button("Refresh", size="sm")
                gr.Markdown(
                    "Runs offline on this machine. For production, serve it behind the ministry's "
                    "single sign-on proxy; the optional built-in password is for a single team."
                )
        _wire(demo, ui, h)
    demo.queue(max_size=QUEUE_MAX_SIZE, default_concurrency_limit=4)
    return demo


def _show(n: int) -> Callable[[], Any]:
    """Reveal ``n`` download buttons once they hold a file (separately: the API returns a file)."""

    def show() -> Any:
        if n == 1:
            return gr.DownloadButton(visible=True)
        return tuple(gr.DownloadButton(visible=True) for _ in range(n))

    return show


def _ask_endpoint(h: Handlers) -> Callable[..., Any]:
    def ask(question, documents=None, doc_types=None):  # annotated below, with real types
        """Answer one question from the documents.

        Args:
            question: the question (no conversation history).
            documents: doc_ids to search (empty: all).
            doc_types: master_plan, review, lessons_learned, other (empty: all).

        Returns:
            The answer as sanitised Markdown with its sources, and the citations as a list.
        """
        return h.ask(question, documents, doc_types)

    # Real types (not strings): gr.api reads them to describe and count the endpoint's values.
    ask.__annotations__ = {
        "question": str,
        "documents": list[str] | None,
        "doc_types": list[str] | None,
        "return": tuple[str, list[dict]],
    }
    return ask
