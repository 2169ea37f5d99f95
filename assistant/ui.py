"""The web UI: chat with checkable sources, the document library, critiques, about.

``build_ui(service)`` builds the Blocks; ``serve(settings, host, port)`` runs it on one writer
service. Handlers (``Handlers``) validate their inputs, call one service method and format the
result with ``assistant.ui_format``. Every handler is also an HTTP API endpoint, so none trusts
what the page would have sent: types, document ids, document types, frameworks, file paths and
lengths are all checked here or in the service. Per-session state (the conversation) lives in
``gr.State``; nothing is kept on module globals or the service.

The handlers live here rather than in a module of their own because ``gradio`` (``gr.Error``,
``gr.Progress``, ``gr.LikeData``) may be imported in this module only; everything that can be
written without it (rendering, sanitising, rows) is in ``assistant.ui_format``.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import inspect
import logging
import os
import shutil
import signal
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gradio as gr
from pydantic import ValidationError

from assistant import ui_format as fmt
from assistant.errors import BriefingError, ConfigError
from assistant.models import Filters, Message

log = logging.getLogger(__name__)

UPLOAD_TYPES = (".pdf", ".docx", ".md", ".markdown", ".txt")
DOC_TYPES = tuple(fmt.DOC_TYPE_LABELS)
#: Answers running at once (2 cores: more only adds contention); ingest and critique run alone.
ANSWER_CONCURRENCY = 2
#: Events waiting in the queue before new ones get "the queue is full, try again".
QUEUE_MAX_SIZE = 64
MAX_COMMENT_CHARS = 2000
#: Turns one conversation may hold in the session (the service trims what it sends on anyway).
MAX_TURNS = 100
EXPORT_MAX_AGE_S = 3600
SESSION_TTL_S = 8 * 3600
CSS = """
.gradio-container {max-width: 1400px !important}
#chatbot details {margin: .25em 0; border-left: 3px solid var(--color-accent); padding-left: .5em}
#chatbot summary {cursor: pointer; font-weight: 600}
#chatbot blockquote {margin: .3em 0; font-style: italic}
#library *, #ratings * {font-family: var(--font) !important}
"""


@dataclass
class ChatSession:
    """One browser session's conversation: the history the service needs and the turns shown."""

    history: list[Message] = field(default_factory=list)
    turns: list[fmt.Turn] = field(default_factory=list)
    last_rated: int | None = None


def _guard(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Domain errors become a message a person can act on; anything else is logged, not shown."""

    def translate(exc: Exception) -> Exception:
        if isinstance(exc, gr.Error):
            return exc
        if isinstance(exc, BriefingError):
            return gr.Error(str(exc))
        if isinstance(exc, ValidationError):
            first = exc.errors()[0]
            return gr.Error(f"invalid {'.'.join(map(str, first['loc'])) or 'input'}: {first['msg']}")
        log.exception("UI handler %s failed", fn.__name__)
        return gr.Error("Something went wrong on the server; the error has been logged.")

    if inspect.isgeneratorfunction(fn):
        @functools.wraps(fn)
        def gen_wrapper(*args: Any, **kwargs: Any) -> Iterator[Any]:
            try:
                yield from fn(*args, **kwargs)
            except Exception as exc:
                raise translate(exc) from None

        return gen_wrapper

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except Exception as exc:
            raise translate(exc) from None

    return wrapper


def _text(value: Any, name: str, limit: int) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise gr.Error(f"{name} must be text")
    if len(value) > limit:
        raise gr.Error(f"the {name} is {len(value):,} characters; the limit is {limit:,}")
    return value


def _str_list(value: Any, name: str) -> list[str]:
    if value in (None, "", []):
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value) or len(value) > 100:
        raise gr.Error(f"{name} must be a list of at most 100 strings")
    return list(value)


def _session(value: Any) -> ChatSession:
    return value if isinstance(value, ChatSession) else ChatSession()


class Handlers:
    """The UI's event handlers, callable directly (tests) and through Gradio's API."""

    def __init__(self, service: Any, exports_dir: Path) -> None:
        self.service = service
        self.exports_dir = Path(exports_dir)
        self._write_lock = threading.Lock()
        # Model work (embedding, answering) runs on a few fixed threads, not on whichever of
        # Gradio's 40 worker threads picks the event: every thread that runs torch keeps its own
        # memory, and 40 of them took a server from 0.6 to 2.8 GB under load (4 threads: 1.6 GB).
        self._pool = ThreadPoolExecutor(max_workers=ANSWER_CONCURRENCY + 2, thread_name_prefix="briefing-model")

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _run(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Call ``fn`` on the model threads, keeping Gradio's context (progress bars) intact."""
        return self._pool.submit(contextvars.copy_context().run, fn, *args, **kwargs).result()

    # -- shared checks -------------------------------------------------------------------------
    def _ready_ids(self) -> set[str]:
        return {r["doc_id"] for r in self.service.status() if r["status"] == "ready"}

    def _filters(self, documents: Any, doc_types: Any) -> Filters:
        docs, types = _str_list(documents, "documents"), _str_list(doc_types, "document types")
        ready = self._ready_ids() if docs else set()
        unknown = [d for d in docs if d not in ready]
        if unknown:
            raise gr.Error(f"unknown or not-ready document: {fmt.escape_text(unknown[0][:64])}")
        bad = [t for t in types if t not in DOC_TYPES]
        if bad:
            raise gr.Error(f"unknown document type {bad[0][:40]!r}; known: {', '.join(DOC_TYPES)}")
        return Filters(documents=docs, doc_types=types)

    def _doc_id(self, value: Any) -> str:
        ref = _text(value, "document", 300).strip()
        if not ref:
            raise gr.Error("choose a document first")
        return str(self.service.document(ref)["doc_id"])

    def _export_folder(self) -> Path:
        """A fresh folder for one download; folders older than an hour are deleted first."""
        self.exports_dir.mkdir(parents=True, exist_ok=True)
        cutoff = time.time() - EXPORT_MAX_AGE_S
        for old in self.exports_dir.iterdir():
            if old.is_dir() and old.stat().st_mtime < cutoff:
                shutil.rmtree(old, ignore_errors=True)
        folder = self.exports_dir / uuid.uuid4().hex
        folder.mkdir()
        return folder

    # -- chat ----------------------------------------------------------------------------------
    @_guard
    def chat(self, question: Any, documents: Any, doc_types: Any, session: Any) -> Iterator[tuple[Any, ...]]:
        """Stream an answer into the conversation; the final message has its sources."""
        session = _session(session)
        question = _text(question, "question", 100_000)
        filters = self._filters(documents, doc_types)
        if len(session.turns) >= MAX_TURNS:
            raise gr.Error(f"this conversation has {MAX_TURNS} questions; export it and start a new conversation")
        done = fmt.chat_messages(session.turns)
        pending = [{"role": "user", "content": fmt.user_markdown(question)},
                   {"role": "assistant", "content": "_Searching the documents…_"}]
        yield done + pending, session, ""
        text, answer = "", None
        try:
            events = self.service.stream(question, list(session.history), filters)
            while (event := self._run(next, events, None)) is not None:
                if event["type"] == "token":
                    text += event["text"]
                    pending[1] = {"role": "assistant", "content": fmt.partial_markdown(text)}
                    yield done + pending, session, ""
                elif event["type"] == "answer":
                    answer = event["answer"]
        except BriefingError as exc:
            yield done, session, question  # the question goes back into the box
            raise gr.Error(str(exc)) from None
        assert answer is not None
        session.turns.append(fmt.Turn(
            question=question, answer_text=answer.text, answer_md=fmt.answer_markdown(answer),
            citations=fmt.citation_dicts(answer.citations), history=[m.model_dump() for m in session.history],
        ))
        session.history += [Message(role="user", content=question), Message(role="assistant", content=answer.text)]
        yield fmt.chat_messages(session.turns), session, ""

    @_guard
    def ask(self, question: Any, documents: Any = None, doc_types: Any = None) -> tuple[str, list[dict[str, Any]]]:
        """API only: one question (no history) -> the answer as sanitised Markdown and its citations."""
        question = _text(question, "question", 100_000)
        answer = self._run(self.service.ask, question, (), self._filters(documents, doc_types))
        return fmt.answer_markdown(answer), fmt.citation_dicts(answer.citations)

    @_guard
    def new_conversation(self) -> tuple[Any, ...]:
        return [], ChatSession(), "", gr.DownloadButton(value=None, visible=False)

    @_guard
    def export_conversation(self, session: Any) -> Any:
        session = _session(session)
        if not session.turns:
            raise gr.Error("nothing to export yet: ask a question first")
        path = self._export_folder() / f"briefing-conversation-{time.strftime('%Y%m%d-%H%M')}.md"
        path.write_text(fmt.conversation_markdown(session.turns), encoding="utf-8")
        return str(path)

    @_guard
    def rate(self, session: Any, like: gr.LikeData) -> tuple[ChatSession, str]:
        """A thumbs up or down on an answer: stored with the question, answer and sources."""
        session = _session(session)
        index = like.index[0] if isinstance(like.index, list | tuple) else like.index
        if not isinstance(index, int) or index % 2 != 1 or not 0 <= index // 2 < len(session.turns):
            raise gr.Error("that message is not an answer in this conversation")
        turn_no = index // 2
        turn = session.turns[turn_no]
        liked = like.liked if isinstance(like.liked, bool | str) else None
        rating = {True: "up", "Like": "up", False: "down", "Dislike": "down"}.get(liked)  # type: ignore[call-overload]
        store = self.service.feedback
        if rating is None:  # the rating was taken back
            if turn.feedback_id is not None:
                store.delete(turn.feedback_id)
                turn.feedback_id = None
            return session, "Rating removed."
        if turn.feedback_id is None:
            turn.feedback_id = store.record(turn.question, turn.answer_text, rating, "", turn.citations, turn.history)
        else:
            store.set_rating(turn.feedback_id, rating)
        session.last_rated = turn_no
        return session, f"Thank you: rated {'helpful' if rating == 'up' else 'not helpful'}. Add a comment below if you wish."

    @_guard
    def comment(self, text: Any, session: Any) -> tuple[ChatSession, str, str]:
        session = _session(session)
        text = _text(text, "comment", MAX_COMMENT_CHARS).strip()
        if not text:
            raise gr.Error("write a comment first")
        turn = session.turns[session.last_rated] if session.last_rated is not None else None
        if turn is None or turn.feedback_id is None:
            raise gr.Error("rate an answer first (thumbs up or down); the comment is saved with that rating")
        self.service.feedback.set_comment(turn.feedback_id, text)
        return session, "Comment saved with your rating.", ""

    # -- documents -----------------------------------------------------------------------------
    @_guard
    def library(self, select_plan: bool = False) -> tuple[Any, ...]:
        """The library table and the document choices of every dropdown (on load: a plan chosen)."""
        rows = self.service.status()
        ready = fmt.document_choices(rows)
        everything = fmt.document_choices(rows, ready_only=False)
        plans = fmt.document_choices(rows, first_type="master_plan")
        return (
            fmt.library_rows(rows),
            gr.Dropdown(choices=ready),
            gr.Dropdown(choices=everything),
            gr.Dropdown(choices=plans, value=plans[0][1]) if select_plan is True and plans else gr.Dropdown(choices=plans),
        )

    @_guard
    def ingest(self, file: Any, doc_type: Any, progress: gr.Progress = gr.Progress()) -> tuple[Any, ...]:
        """Move an upload out of Gradio's cache into the data dir and ingest it."""
        path = self._upload(file)
        name = path.name
        try:
            if path.suffix.lower() not in UPLOAD_TYPES:
                raise gr.Error(f"{fmt.escape_text(name[:100])}: not a supported type; upload PDF, DOCX, Markdown or text")
            wanted = _text(doc_type, "document type", 40) or "auto"
            if wanted != "auto" and wanted not in DOC_TYPES:
                raise gr.Error(f"unknown document type {wanted!r}; known: auto, {', '.join(DOC_TYPES)}")

            progress(0, desc="reading the file")
            with self._write_lock:
                report = self._run(
                    self.service.ingest_upload, path, name, None if wanted == "auto" else wanted, progress=_reporter(progress)
                )
        finally:  # moved, or refused: either way nothing of it stays in the cache
            path.unlink(missing_ok=True)
            with contextlib.suppress(OSError):
                path.parent.rmdir()
        document = None
        if report.doc_ids:
            with contextlib.suppress(BriefingError):
                document = self.service.document(report.doc_ids[0])
        public = fmt.public_report(report.to_json(), document)
        return public, fmt.report_markdown(public, name), None

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

    @_guard
    def set_type(self, document: Any, doc_type: Any) -> str:
        doc_id = self._doc_id(document)
        wanted = _text(doc_type, "document type", 40)
        if wanted not in DOC_TYPES:
            raise gr.Error(f"choose a document type: {', '.join(DOC_TYPES)}")
        with self._write_lock:
            row = self.service.set_doc_type(doc_id, wanted)
        return fmt.sanitise(f"**{fmt.escape_text(row['title'] or doc_id[:12])}** is now a {fmt.DOC_TYPE_LABELS[wanted].lower()}.")

    @_guard
    def remove(self, document: Any, confirm: Any) -> tuple[str, bool]:
        doc_id = self._doc_id(document)
        if confirm is not True:
            raise gr.Error("tick 'confirm removal' first")
        with self._write_lock:
            row = self.service.remove(doc_id)
        return fmt.sanitise(f"Removed **{fmt.escape_text(row['title'] or doc_id[:12])}**."), False

    # -- critique ------------------------------------------------------------------------------
    @_guard
    def critique(self, document: Any, framework: Any, progress: gr.Progress = gr.Progress()) -> tuple[Any, ...]:
        """Draft a review of a plan; the ratings, the findings and DOCX and Markdown downloads."""
        from assistant.export import critique_markdown, write_critique
        from assistant.frameworks import available_frameworks

        doc_id = self._doc_id(document)
        name = _text(framework, "framework", 64) or "eight-causes"
        known = available_frameworks()
        if name not in known:
            raise gr.Error(f"unknown framework {name!r}; known: {', '.join(known)}")
        progress(0, desc="reading the plan")
        result = self._run(self.service.critique, doc_id, name, _reporter(progress))
        folder = self._export_folder()
        stem = f"critique-{fmt.slug(result.plan.title)}-{name}"
        docx, md = folder / f"{stem}.docx", folder / f"{stem}.md"
        write_critique(result, "docx", docx)
        md.write_text(critique_markdown(result), encoding="utf-8")
        return (
            fmt.critique_dict(result),
            str(docx),
            str(md),
            fmt.rating_rows(result),
            fmt.findings_markdown(result),
        )

    # -- about ---------------------------------------------------------------------------------
    @_guard
    def about(self) -> str:
        info = dict(self.service.about())
        settings = self.service.settings
        if settings.chroma_url:
            info["store_kind"], info["store_size"] = f"Chroma server ({settings.chroma_url})", ""
        else:
            info["store_kind"] = "embedded Chroma in the data directory"
            info["store_size"] = fmt.human_size(_du(settings.chroma_path) + _du(settings.manifest_path))
        return fmt.about_markdown(info)


STAGES = {"files": "files parsed", "chunks": "passages indexed", "critique": "review steps done"}


def _reporter(progress: gr.Progress) -> Callable[[str, int, int], None]:
    """The service's ``progress(stage, done, total)`` shown as Gradio's progress bar."""
    def report(stage: str, done: int, total: int) -> None:
        progress((done, total or None), desc=f"{STAGES.get(stage, stage)}: {done} of {total}")

    return report


def _du(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.is_dir() else 0


# -- the page ----------------------------------------------------------------------------------

def build_ui(service: Any, *, exports_dir: Path | None = None) -> gr.Blocks:
    """The Blocks for one service (queue configured); launch with ``launch_options(settings)``."""
    # Downloads are written straight into Gradio's cache (no second copy), cleaned after an hour.
    h = Handlers(service, exports_dir or Path(gr.utils.get_upload_folder()) / "briefing-exports")
    limit_mb = service.settings.max_file_mb
    type_choices = [(label, key) for key, label in fmt.DOC_TYPE_LABELS.items()]
    with gr.Blocks(title="Briefing", analytics_enabled=False, delete_cache=(900, EXPORT_MAX_AGE_S)) as demo:
        gr.Markdown("# Briefing\nAsk about the strategy documents; every answer cites document, page and passage.")
        session = gr.State(ChatSession(), time_to_live=SESSION_TTL_S)
        with gr.Tabs():
            with gr.Tab("Chat", id="chat"):
                with gr.Row():
                    with gr.Column(scale=3):
                        chatbot = gr.Chatbot(
                            label="Conversation", elem_id="chatbot", height=560, sanitize_html=True, allow_tags=False,
                            feedback_options=("Like", "Dislike"), buttons=["copy"],
                            placeholder="Ask a question about the plans, reviews and lessons-learned reports.",
                        )
                        with gr.Row():
                            question = gr.Textbox(show_label=False, placeholder="e.g. What is the total budget of the plan?",
                                                  scale=5, max_lines=6, elem_id="question")
                            ask_btn = gr.Button("Ask", variant="primary", scale=1, elem_id="ask")
                        with gr.Row():
                            new_btn = gr.Button("New conversation", size="sm")
                            export_btn = gr.Button("Export conversation (Markdown)", size="sm")
                            export_file = gr.DownloadButton("Download conversation", visible=False, size="sm")
                        with gr.Row():
                            comment = gr.Textbox(show_label=False, scale=5, max_lines=3,
                                                 placeholder="Optional comment on your last rating (rate an answer with the thumbs under it)")
                            comment_btn = gr.Button("Save comment", size="sm", scale=1)
                        feedback_note = gr.Markdown()
                    with gr.Column(scale=1, min_width=260):
                        gr.Markdown("### Search in")
                        doc_filter = gr.Dropdown(label="Documents (empty: all)", multiselect=True, allow_custom_value=True,
                                                 choices=[], elem_id="doc-filter")
                        type_filter = gr.CheckboxGroup(label="Document types (empty: all)", choices=type_choices)
                        gr.Markdown("Sources are numbered as the answer cites them; open one to read the quoted passage.")
            with gr.Tab("Documents", id="documents"):
                gr.Markdown(f"Upload a PDF, DOCX, Markdown or text file (at most **{limit_mb:g} MB**). "
                            "It is parsed, split along its headings and indexed; this takes a few seconds per page.")
                with gr.Row():
                    upload = gr.File(label="File", file_types=list(UPLOAD_TYPES), type="filepath", scale=3, elem_id="upload")
                    with gr.Column(scale=1):
                        upload_type = gr.Dropdown(label="Document type", choices=[("Auto-detect", "auto"), *type_choices],
                                                  value="auto", elem_id="upload-type")
                        ingest_btn = gr.Button("Ingest", variant="primary", elem_id="ingest")
                ingest_note = gr.Markdown(elem_id="ingest-note")
                with gr.Accordion("Ingest report (JSON)", open=False):
                    ingest_json = gr.JSON(show_label=False)
                library = gr.Dataframe(headers=fmt.LIBRARY_HEADERS, label="Library", interactive=False, wrap=True,
                                       elem_id="library")
                refresh_btn = gr.Button("Refresh", size="sm")
                with gr.Accordion("Change a document's type, or remove it", open=False):
                    with gr.Row():
                        manage_doc = gr.Dropdown(label="Document", choices=[], allow_custom_value=True, scale=3)
                        new_type = gr.Dropdown(label="New type", choices=type_choices, scale=1)
                        type_btn = gr.Button("Change type", scale=1)
                    with gr.Row():
                        confirm = gr.Checkbox(label="Confirm removal", value=False)
                        remove_btn = gr.Button("Remove document", variant="stop")
                    manage_note = gr.Markdown()
            with gr.Tab("Critique", id="critique"):
                gr.Markdown("Draft a review of a plan against a framework. Each rating shows the evidence found "
                            "(document, page, passage) and what was looked for in vain.")
                with gr.Row():
                    plan = gr.Dropdown(label="Plan", choices=[], allow_custom_value=True, scale=3, elem_id="plan")
                    framework = gr.Dropdown(label="Framework", choices=_frameworks(), value="eight-causes", scale=2)
                    critique_btn = gr.Button("Generate critique", variant="primary", scale=1, elem_id="generate")
                with gr.Row():
                    docx_btn = gr.DownloadButton("Download DOCX", visible=False, elem_id="download-docx")
                    md_btn = gr.DownloadButton("Download Markdown", visible=False, elem_id="download-md")
                ratings = gr.Dataframe(headers=fmt.RATING_HEADERS, label="Ratings (details and evidence below)",
                                       interactive=False, wrap=True, max_height=720,
                                       column_widths=["20%", "12%", "12%", "56%"], elem_id="ratings")
                findings = gr.Markdown(elem_id="findings")
                with gr.Accordion("Critique (JSON)", open=False):
                    critique_json = gr.JSON(show_label=False)
            with gr.Tab("About", id="about") as about_tab:
                about = gr.Markdown(elem_id="about")
                about_btn = gr.Button("Refresh", size="sm")
                gr.Markdown("Runs offline on this machine. For production, serve it behind the ministry's "
                            "single sign-on proxy; the optional built-in password is for a single team.")

        lib_outputs = [library, doc_filter, manage_doc, plan]
        answer = {"concurrency_id": "answer", "concurrency_limit": ANSWER_CONCURRENCY}
        write = {"concurrency_id": "write", "concurrency_limit": 1}
        refresh_btn.click(h.library, None, lib_outputs, api_name="library")
        about_btn.click(h.about, None, [about], api_name="about")
        about_tab.select(h.about, None, [about], api_name="about_on_select", api_visibility="private")
        gr.on([question.submit, ask_btn.click], h.chat, [question, doc_filter, type_filter, session],
              [chatbot, session, question], api_name="chat", **answer)
        gr.api(_ask_endpoint(h), api_name="ask", **answer)
        chatbot.clear(h.new_conversation, None, [chatbot, session, question, export_file], api_name="clear_conversation",
                      api_visibility="private")
        new_btn.click(h.new_conversation, None, [chatbot, session, question, export_file], api_name="new_conversation")
        export_btn.click(h.export_conversation, [session], [export_file], api_name="export_conversation"
                         ).success(_show(1), None, [export_file], api_name="show_export", api_visibility="private")
        chatbot.like(h.rate, [session], [session, feedback_note], api_name="rate")
        comment_btn.click(h.comment, [comment, session], [session, feedback_note, comment], api_name="comment")
        ingest_btn.click(h.ingest, [upload, upload_type], [ingest_json, ingest_note, upload], api_name="ingest", **write
                         ).then(h.library, None, lib_outputs, api_name="library_after_ingest", api_visibility="private")
        type_btn.click(h.set_type, [manage_doc, new_type], [manage_note], api_name="set_type", **write
                       ).then(h.library, None, lib_outputs, api_name="library_after_set_type", api_visibility="private")
        remove_btn.click(h.remove, [manage_doc, confirm], [manage_note, confirm], api_name="remove", **write
                         ).then(h.library, None, lib_outputs, api_name="library_after_remove", api_visibility="private")
        critique_btn.click(h.critique, [plan, framework], [critique_json, docx_btn, md_btn, ratings, findings],
                           api_name="critique", concurrency_id="critique", concurrency_limit=1
                           ).success(_show(2), None, [docx_btn, md_btn], api_name="show_downloads", api_visibility="private")
        demo.load(functools.partial(h.library, True), None, lib_outputs, api_name="load_library",
                  api_visibility="private")
        demo.load(h.about, None, [about], api_name="load_about", api_visibility="private")
    demo.queue(max_size=QUEUE_MAX_SIZE, default_concurrency_limit=4)
    demo.handlers = h  # type: ignore[attr-defined]  # for tests
    return demo


def _show(n: int) -> Callable[[], Any]:
    """Reveal ``n`` download buttons once they hold a file (a separate step keeps the API output a file)."""
    def show() -> Any:
        return gr.DownloadButton(visible=True) if n == 1 else tuple(gr.DownloadButton(visible=True) for _ in range(n))

    return show


def _ask_endpoint(h: Handlers) -> Callable[..., Any]:
    def ask(question, documents=None, doc_types=None):  # type: ignore[no-untyped-def]
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
    ask.__annotations__ = {"question": str, "documents": list[str] | None, "doc_types": list[str] | None,
                           "return": tuple[str, list[dict]]}
    return ask


def _frameworks() -> list[str]:
    from assistant.frameworks import available_frameworks

    return available_frameworks()


def auth_from(settings: Any) -> list[tuple[str, str]] | None:
    """Basic auth for a single-team deployment: ``ui_user``/``ui_password`` settings if Settings has
    them, else the BRIEFING_UI_USER / BRIEFING_UI_PASSWORD environment variables; both or neither."""
    user = getattr(settings, "ui_user", None) or os.environ.get("BRIEFING_UI_USER", "")
    secret = getattr(settings, "ui_password", None)
    password = secret.get_secret_value() if hasattr(secret, "get_secret_value") else (secret or "")
    password = password or os.environ.get("BRIEFING_UI_PASSWORD", "")
    if bool(user) != bool(password):
        raise ConfigError("set both BRIEFING_UI_USER and BRIEFING_UI_PASSWORD, or neither")
    return [(user, password)] if user else None


def launch_options(settings: Any) -> dict[str, Any]:
    """The safety-relevant ``launch()`` arguments, shared by ``serve`` and the tests."""
    root = Path(__file__).resolve().parents[1]
    return {
        "share": False,
        "max_file_size": int(settings.max_file_mb * 1024 * 1024),
        "allowed_paths": [],
        "blocked_paths": [str(settings.data_dir.resolve()), str(root / ".env"), str(Path.cwd() / ".env")],
        "show_error": False,
        "ssr_mode": False,
        "mcp_server": False,
        "pwa": False,
        "enable_monitoring": False,
        "theme": gr.themes.Default(primary_hue="blue", font=["system-ui", "sans-serif"],
                                   font_mono=["ui-monospace", "monospace"]),
        "css": CSS,
        "footer_links": ["api"],
    }


def ensure_library(service: Any) -> None:
    """An empty store gets the sample corpus, so a new user has something to ask about."""
    if service.status():
        return
    corpus = Path(__file__).resolve().parents[1] / "corpus" / "documents"
    if corpus.is_dir():
        print(f"The library is empty: ingesting {corpus} (about a minute)…", flush=True)
        service.ingest([corpus])


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM (systemd, docker stop) ends the server like Ctrl-C, so the cleanup below runs."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def serve(settings: Any, host: str = "127.0.0.1", port: int = 7860) -> None:
    """Run the web UI until interrupted, on one writer service and a private Gradio cache."""
    from assistant.service import build_service

    auth = auth_from(settings)
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    cache = Path(tempfile.mkdtemp(prefix="briefing-gradio-"))
    os.environ["GRADIO_TEMP_DIR"] = str(cache)  # uploads and downloads live here, nowhere shared
    service = demo = None
    try:
        service = build_service(settings, writer=True)
        ensure_library(service)
        demo = build_ui(service)
        if auth is None and host not in ("127.0.0.1", "localhost", "::1"):
            print("warning: serving beyond this machine without a password; put it behind the SSO proxy", flush=True)
        with _sigterm_as_interrupt():
            demo.launch(server_name=host, server_port=port, auth=auth, **launch_options(settings))
    finally:
        with contextlib.suppress(Exception):
            if demo is not None:
                demo.close()
        if service is not None:
            service.close()
        shutil.rmtree(cache, ignore_errors=True)
