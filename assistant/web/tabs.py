"""The components of the Chat, Documents and Critique tabs, stored on one namespace ``ui``.

Each builder is called inside its ``gr.Tab`` by ``assistant.web.layout.build_ui``, which then
wires the components to the handlers; element ids are what the browser tests select.
"""

from __future__ import annotations

from types import SimpleNamespace

import gradio as gr

from assistant.core.models import RATING_LABELS
from assistant.web import format as fmt
from assistant.web import format_critique as fc
from assistant.web import format_library as fl
from assistant.web.base import UPLOAD_TYPES
from assistant.web.handlers import DEFAULT_FRAMEWORK, available_frameworks

TYPE_CHOICES = [(label, key) for key, label in fmt.DOC_TYPE_LABELS.items()]


def chat_tab(ui: SimpleNamespace) -> None:
    """The conversation, the question box, export, comments and the search filters."""
    with gr.Row():
        with gr.Column(scale=3):
            ui.chatbot = gr.Chatbot(
                label="Conversation",
                elem_id="chatbot",
                height=560,
                sanitize_html=True,
                allow_tags=False,
                feedback_options=("Like", "Dislike"),
                buttons=["copy"],
                placeholder="Ask a question about the plans, reviews and lessons-learned reports.",
            )
            with gr.Row():
                ui.question = gr.Textbox(
                    show_label=False,
                    placeholder="e.g. What is the total budget of the plan?",
                    scale=5,
                    max_lines=6,
                    elem_id="question",
                )
                ui.ask_btn = gr.Button("Ask", variant="primary", scale=1, elem_id="ask")
            with gr.Row():
                ui.new_btn = gr.Button("New conversation", size="sm")
                ui.export_btn = gr.Button("Export conversation (Markdown)", size="sm")
                ui.export_file = gr.DownloadButton(
                    "Download conversation", visible=False, size="sm"
                )
            with gr.Row():
                ui.comment = gr.Textbox(
                    show_label=False,
                    scale=5,
                    max_lines=3,
                    placeholder="Optional comment on your last rating "
                    "(rate an answer with the thumbs under it)",
                )
                ui.comment_btn = gr.Button("Save comment", size="sm", scale=1)
            ui.feedback_note = gr.Markdown()
        with gr.Column(scale=1, min_width=260):
            gr.Markdown("### Search in")
            ui.doc_filter = gr.Dropdown(
                label="Documents (empty: all)",
                multiselect=True,
                allow_custom_value=True,
                choices=[],
                elem_id="doc-filter",
            )
            ui.type_filter = gr.CheckboxGroup(
                label="Document types (empty: all)", choices=TYPE_CHOICES
            )
            gr.Markdown(
                "Sources are numbered as the answer cites them; "
                "open one to read the quoted passage."
            )


def documents_tab(ui: SimpleNamespace, limit_mb: float) -> None:
    """Upload and ingest, the library table, changing a type and removing a document."""
    gr.Markdown(
        "Upload a PDF, DOCX, Markdown, reStructuredText, HTML or text file "
        f"(at most **{limit_mb:g} MB**). It is parsed, split along its headings and indexed; "
        "this takes a few seconds per page."
    )
    with gr.Row():
        ui.upload = gr.File(
            label="File", file_types=list(UPLOAD_TYPES), type="filepath", scale=3, elem_id="upload"
        )
        with gr.Column(scale=1):
            ui.upload_type = gr.Dropdown(
                label="Document type",
                choices=[("Auto-detect", "auto"), *TYPE_CHOICES],
                value="auto",
                elem_id="upload-type",
            )
            ui.upload_earlier = gr.Radio(
                label="If an earlier version is in the library",
                choices=[("Ask me", "ask"), ("Replace it", "replace"), ("Keep both", "keep both")],
                value="ask",
                elem_id="upload-earlier",
            )
            ui.ingest_btn = gr.Button("Ingest", variant="primary", elem_id="ingest")
    ui.ingest_note = gr.Markdown(elem_id="ingest-note")
    with gr.Accordion("Ingest report (JSON)", open=False):
        ui.ingest_json = gr.JSON(show_label=False)
    ui.library = gr.Dataframe(
        headers=fl.LIBRARY_HEADERS, label="Library", interactive=False, wrap=True, elem_id="library"
    )
    ui.refresh_btn = gr.Button("Refresh", size="sm")
    with gr.Accordion("Change a document's type, or remove it", open=False):
        with gr.Row():
            ui.manage_doc = gr.Dropdown(
                label="Document", choices=[], allow_custom_value=True, scale=3
            )
            ui.new_type = gr.Dropdown(label="New type", choices=TYPE_CHOICES, scale=1)
            ui.type_btn = gr.Button("Change type", scale=1)
        with gr.Row():
            ui.confirm = gr.Checkbox(label="Confirm removal", value=False)
            ui.remove_btn = gr.Button("Remove document", variant="stop")
        ui.manage_note = gr.Markdown()


def critique_tab(ui: SimpleNamespace) -> None:
    """Plan and framework choice, the ratings table, the findings and the downloads."""
    gr.Markdown(
        "Draft a review of a plan against a framework. Each rating shows the evidence found "
        "(document, page, passage) and what was looked for in vain."
    )
    with gr.Row():
        ui.plan = gr.Dropdown(
            label="Plan", choices=[], allow_custom_value=True, scale=3, elem_id="plan"
        )
        ui.framework = gr.Dropdown(
            label="Framework", choices=available_frameworks(), value=DEFAULT_FRAMEWORK, scale=2
        )
        ui.critique_btn = gr.Button(
            "Generate critique", variant="primary", scale=1, elem_id="generate"
        )
    with gr.Row():
        ui.docx_btn = gr.DownloadButton("Download DOCX", visible=False, elem_id="download-docx")
        ui.md_btn = gr.DownloadButton("Download Markdown", visible=False, elem_id="download-md")
    ui.ratings = gr.Dataframe(
        headers=fc.RATING_HEADERS,
        label="Ratings (details and evidence below)",
        interactive=False,
        wrap=True,
        max_height=720,
        column_widths=["20%", "12%", "12%", "56%"],
        elem_id="ratings",
    )
    ui.findings = gr.Markdown(elem_id="findings")
    with gr.Accordion("Critique (JSON)", open=False):
        ui.critique_json = gr.JSON(show_label=False)
    review_panel(ui)
    compare_panel(ui)


def review_panel(ui: SimpleNamespace) -> None:
    """Decide on each finding of a saved draft (accept / reject / edit), notes, downloads."""
    gr.Markdown(
        "### Review\nDecide on each finding: accept it, reject it with a reason, or edit it. "
        "Decisions are saved at once, with who and when; the machine draft is kept as it was."
    )
    with gr.Row():
        ui.review_id = gr.Dropdown(
            label="Saved review", choices=[], allow_custom_value=True, scale=4, elem_id="review-id"
        )
        ui.review_refresh = gr.Button("Refresh", size="sm", scale=1)
    ui.review_note = gr.Markdown(elem_id="review-note")
    ui.review_table = gr.Dataframe(
        headers=fc.REVIEW_HEADERS, interactive=False, wrap=True, elem_id="review-table"
    )
    with gr.Row():
        with gr.Column(scale=2):
            ui.finding_choice = gr.Dropdown(label="Finding", choices=[], elem_id="finding-choice")
            ui.decision = gr.Radio(
                ["accept", "reject", "edit"], value="accept", label="Decision", elem_id="decision"
            )
            ui.reason = gr.Textbox(
                label="Reason (required to reject) or note", max_lines=3, elem_id="reason"
            )
            with gr.Accordion("Edit the finding", open=False):
                ui.edit_rating = gr.Dropdown(
                    label="Rating",
                    choices=[(label, key) for key, label in RATING_LABELS.items()],
                    elem_id="edit-rating",
                )
                ui.edit_rationale = gr.Textbox(label="Rationale", lines=4, elem_id="edit-rationale")
                ui.edit_recommendation = gr.Textbox(label="Recommendation", lines=2)
                ui.drop_refs = gr.Textbox(label="Drop evidence (reference numbers, e.g. 3, 7)")
                gr.Markdown("Add evidence: a passage copied verbatim from a page of a document.")
                with gr.Row():
                    ui.add_doc = gr.Dropdown(
                        label="Document", choices=[], allow_custom_value=True, scale=3
                    )
                    ui.add_page = gr.Number(label="Page", value=1, precision=0, scale=1)
                ui.add_quote = gr.Textbox(label="Passage", lines=2)
            ui.decide_btn = gr.Button("Save decision", variant="primary", elem_id="decide")
        with gr.Column(scale=3):
            ui.finding_view = gr.Markdown(elem_id="finding-view")
    with gr.Row():
        ui.draft_note = gr.Textbox(label="Note on the whole draft", max_lines=3, scale=4)
        ui.note_btn = gr.Button("Save note", scale=1)
    with gr.Row():
        ui.review_md = gr.DownloadButton(
            "Download decided review (Markdown)", visible=False, elem_id="download-review-md"
        )
        ui.review_docx = gr.DownloadButton(
            "Download decided review (DOCX)", visible=False, elem_id="download-review-docx"
        )


def compare_panel(ui: SimpleNamespace) -> None:
    """Compare the chosen plan with an earlier edition or a saved review (a follow-up)."""
    with gr.Accordion("Compare with an earlier edition", open=False, elem_id="compare-panel"):
        gr.Markdown(
            "The plan chosen above is rated again and set against an earlier edition (or a saved"
            " review, whose decided ratings are the baseline). What a revision says about itself"
            " is not evidence: the status follows the content."
        )
        with gr.Row():
            ui.earlier = gr.Dropdown(
                label="Earlier edition or saved review",
                choices=[],
                allow_custom_value=True,
                scale=4,
                elem_id="earlier",
            )
            ui.compare_btn = gr.Button("Compare", variant="primary", scale=1, elem_id="compare")
        ui.followup_table = gr.Dataframe(
            headers=fc.FOLLOWUP_HEADERS, interactive=False, wrap=True, elem_id="followup-table"
        )
        ui.followup_changes = gr.Markdown(elem_id="followup-changes")
        with gr.Row():
            ui.followup_before = gr.Markdown(elem_id="followup-before")
            ui.followup_after = gr.Markdown(elem_id="followup-after")
        with gr.Row():
            ui.followup_md = gr.DownloadButton(
                "Download follow-up (Markdown)", visible=False, elem_id="download-followup-md"
            )
            ui.followup_docx = gr.DownloadButton(
                "Download follow-up (DOCX)", visible=False, elem_id="download-followup-docx"
            )
