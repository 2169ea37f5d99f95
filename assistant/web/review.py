"""The Critique tab's review workspace: decide on each finding, export, compare editions.

Every decision goes straight to the review store (SQLite in the data directory) and the page
is redrawn from it, so the state survives a reload and two reviewers on two pages see each
other's decisions; nothing is kept in the page or on the server between events. The reviewer
is the basic-auth user when the page has a password, else "local".
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gradio as gr

from assistant.web import format_critique as fc
from assistant.web.base import HandlerBase, guarded, progress_reporter, text_input

ACTIONS = ("accept", "reject", "edit")
MAX_FIELD = 5000


def who(request: gr.Request | None) -> str:
    """The signed-in user (basic auth), else "local"."""
    name = getattr(request, "username", None) if request is not None else None
    return str(name) if name else "local"


def _refs(value: Any) -> list[int]:
    text = text_input(value, "evidence to drop", 200)
    out = []
    for part in text.replace(";", ",").replace(" ", ",").split(","):
        part = part.strip().strip("[]")
        if not part:
            continue
        if not part.isdigit():
            raise gr.Error(f"evidence to drop: {part[:20]!r} is not a reference number")
        out.append(int(part))
    return out


class ReviewHandlers(HandlerBase):
    """Handlers of the review workspace (mixed into ``assistant.web.handlers.Handlers``)."""

    def _review_id(self, value: Any) -> str:
        ref = text_input(value, "review", 64).strip()
        if not ref:
            raise gr.Error("generate a critique or choose a saved review first")
        return ref

    @guarded
    def saved_reviews(self, chosen: Any = None) -> Any:
        """The saved-review dropdown: every run, newest first, the chosen (or newest) selected."""
        runs = self.service.reviews()
        choices = fc.review_choices(runs)
        ids = [r.critique_id for r in runs]
        value = chosen if isinstance(chosen, str) and chosen in ids else (ids[0] if ids else None)
        return gr.Dropdown(choices=choices, value=value)

    def _draw(self, critique_id: str, cause: str | None, message: str) -> tuple[Any, ...]:
        review = self.service.review(critique_id)
        causes = [s.cause_id for s in review.findings]
        chosen = cause if cause in causes else (causes[0] if causes else None)
        state = review.state(chosen) if chosen else None
        md, docx = self._write_review(review)
        return (
            fc.review_rows(review),
            gr.Dropdown(choices=causes, value=chosen),
            fc.finding_view(state, review) if state else "",
            gr.update(value=state.finding.rating if state else None),
            state.finding.rationale if state else "",
            state.finding.recommendation if state else "",
            gr.DownloadButton(value=md, visible=True),
            gr.DownloadButton(value=docx, visible=True),
            message or fc.review_status(review),
        )

    def _write_review(self, review: Any) -> tuple[str, str]:
        from assistant.critique.review_export import write_review

        folder = self._export_folder()
        stem = f"review-{fc.slug(review.draft.plan.title)}-{review.critique_id}"
        md, docx = folder / f"{stem}.md", folder / f"{stem}.docx"
        write_review(review, "md", md)
        write_review(review, "docx", docx)
        return str(md), str(docx)

    @guarded
    def load_review(self, review_id: Any, cause: Any = None) -> tuple[Any, ...]:
        """Draw a saved review: decisions table, finding chooser, the finding, downloads."""
        if not review_id:
            return (
                [],
                gr.Dropdown(choices=[]),
                "",
                gr.update(value=None),
                "",
                "",
                gr.DownloadButton(visible=False),
                gr.DownloadButton(visible=False),
                "",
            )
        chosen = text_input(cause, "finding", 16) or None
        return self._draw(self._review_id(review_id), chosen, "")

    @guarded
    def decide(
        self,
        review_id: Any,
        cause: Any,
        action: Any,
        rating: Any,
        rationale: Any,
        recommendation: Any,
        drop: Any,
        add_doc: Any,
        add_page: Any,
        add_quote: Any,
        reason: Any,
        request: gr.Request = None,  # type: ignore[assignment]
    ) -> tuple[Any, ...]:
        """Record one decision on the chosen finding, then redraw the review from the store."""
        critique_id = self._review_id(review_id)
        cause_id = text_input(cause, "finding", 16).strip()
        if not cause_id:
            raise gr.Error("choose a finding first")
        if action not in ACTIONS:
            raise gr.Error(f"the decision must be one of {', '.join(ACTIONS)}")
        note = text_input(reason, "reason", 2000).strip()
        options: dict[str, Any] = {}
        if action == "edit":
            options = {
                "rating": text_input(rating, "rating", 40) or None,
                "rationale": text_input(rationale, "rationale", MAX_FIELD) or None,
                "recommendation": text_input(recommendation, "recommendation", MAX_FIELD) or None,
                "drop": _refs(drop) or None,
            }
            quote = text_input(add_quote, "quote", 2000).strip()
            if quote:
                doc = self._doc_id(add_doc)
                try:
                    page = int(add_page or 0)
                except (TypeError, ValueError):
                    raise gr.Error("the page of the added evidence must be a number") from None
                options["add"] = [(doc, page, quote)]
        d = self.service.decide(
            critique_id, cause_id, action, note=note, who=who(request), **options
        )
        from assistant.critique.decisions import describe

        return self._draw(
            critique_id, d.cause_id, f"Saved: {d.cause_id} {d.action} — {describe(d)}"
        )

    @guarded
    def add_note(
        self,
        review_id: Any,
        text: Any,
        request: gr.Request = None,  # type: ignore[assignment]
    ) -> tuple[str, str]:
        """A reviewer note on the whole draft."""
        critique_id = self._review_id(review_id)
        note = text_input(text, "note", 2000).strip()
        self.service.decide(critique_id, "", "note", note=note, who=who(request))
        return "Note saved.", ""

    @guarded
    def compare(
        self, plan: Any, earlier: Any, framework: Any, progress: gr.Progress = gr.Progress()
    ) -> tuple[Any, ...]:
        """Rate the chosen plan again and set it against an earlier edition or saved review."""
        from assistant.critique.followup_export import write_followup

        new = self._doc_id(plan)
        old = text_input(earlier, "earlier edition", 300).strip()
        if not old:
            raise gr.Error("choose the earlier edition (a plan or a saved review)")
        name = text_input(framework, "framework", 64) or None
        progress(0, desc="reading both editions")
        result = self._run(self.service.followup, new, old, name, progress_reporter(progress))
        folder = self._export_folder()
        stem = f"followup-{fc.slug(result.plan.title)}-{result.critique_id}"
        md, docx = folder / f"{stem}.md", folder / f"{stem}.docx"
        write_followup(result, "md", md)
        write_followup(result, "docx", docx)
        return (
            fc.followup_rows(result),
            *fc.followup_view(result),
            gr.DownloadButton(value=str(md), visible=True),
            gr.DownloadButton(value=str(docx), visible=True),
        )

    @guarded
    def earlier_choices(self, with_reviews: bool = True) -> Any:
        """Ready documents (and saved reviews): what an edition can be compared with."""
        rows = [r for r in self.service.status() if r.status == "ready"]
        docs = [(f"{r.title or Path(r.source).name} ({r.doc_id[:8]})", r.doc_id) for r in rows]
        runs = self.service.reviews() if with_reviews is True else []
        saved = [(f"review {label}", cid) for label, cid in fc.review_choices(runs)]
        return gr.Dropdown(choices=docs + saved)
