"""What every web handler shares: input checks, error translation, the session and model threads.

A handler is also an HTTP API endpoint, so none trusts what the page would have sent: types,
document ids, document types, lengths and file paths are checked here or in the service. Only
``assistant.web`` imports gradio (``gr.Error``, ``gr.Progress``).
"""

from __future__ import annotations

import contextvars
import functools
import inspect
import logging
import shutil
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

import gradio as gr
from pydantic import ValidationError

from assistant.core.errors import BriefingError
from assistant.core.models import Filters, Message
from assistant.web import format as fmt

if TYPE_CHECKING:
    from assistant.service import BriefingService

log = logging.getLogger(__name__)

UPLOAD_TYPES = (".pdf", ".docx", ".md", ".markdown", ".txt", ".text", ".rst", ".html", ".htm")
DOC_TYPES = tuple(fmt.DOC_TYPE_LABELS)
#: Answers running at once (2 cores: more only adds contention); ingest and critique run alone.
ANSWER_CONCURRENCY = 2
MAX_COMMENT_CHARS = 2000
#: Turns one conversation may hold in the session (the service trims what it sends on anyway).
MAX_TURNS = 100
EXPORT_MAX_AGE_S = 3600
#: What the service's progress stages are called on the page.
STAGES = {"files": "files parsed", "chunks": "passages indexed", "critique": "review steps done"}

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class ChatSession:
    """One browser session's conversation: the history the service needs and the turns shown."""

    history: list[Message] = field(default_factory=list)
    turns: list[fmt.Turn] = field(default_factory=list)
    last_rated: int | None = None


def _translate(fn_name: str, exc: Exception) -> Exception:
    """A domain error as a message a person can act on; anything else is logged, not shown."""
    if isinstance(exc, gr.Error):
        return exc
    if isinstance(exc, BriefingError):
        return gr.Error(str(exc))
    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        where = ".".join(map(str, first["loc"])) or "input"
        return gr.Error(f"invalid {where}: {first['msg']}")
    log.exception("UI handler %s failed", fn_name)
    return gr.Error("Something went wrong on the server; the error has been logged.")


def guarded(fn: F) -> F:
    """Wrap a handler (plain or generator): every exception reaches the page as ``gr.Error``."""
    if inspect.isgeneratorfunction(fn):

        @functools.wraps(fn)
        def gen_wrapper(*args: Any, **kwargs: Any) -> Iterator[Any]:
            try:
                yield from fn(*args, **kwargs)
            except Exception as exc:
                raise _translate(fn.__name__, exc) from None

        return cast(F, gen_wrapper)

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except Exception as exc:
            raise _translate(fn.__name__, exc) from None

    return cast(F, wrapper)


def text_input(value: Any, name: str, limit: int) -> str:
    """``value`` as text of at most ``limit`` characters (``None`` is empty)."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise gr.Error(f"{name} must be text")
    if len(value) > limit:
        raise gr.Error(f"the {name} is {len(value):,} characters; the limit is {limit:,}")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise gr.Error(
            f"the {name} is not valid text (a lone surrogate at character {exc.start + 1}); "
            "retype it"
        ) from None
    return value


def str_list_input(value: Any, name: str) -> list[str]:
    """``value`` as a list of at most 100 strings (one string is a list of one)."""
    if value in (None, "", []):
        return []
    if isinstance(value, str):
        value = [value]
    if (
        not isinstance(value, list | tuple)
        or not all(isinstance(v, str) for v in value)
        or len(value) > 100
    ):
        raise gr.Error(f"{name} must be a list of at most 100 strings")
    return list(value)


def session_input(value: Any) -> ChatSession:
    """The session held in ``gr.State``; anything else (an API call) starts a fresh one."""
    return value if isinstance(value, ChatSession) else ChatSession()


def progress_reporter(progress: Any) -> Callable[[str, int, int], None]:
    """The service's ``progress(stage, done, total)`` shown as Gradio's progress bar."""

    def report(stage: str, done: int, total: int) -> None:
        progress((done, total or None), desc=f"{STAGES.get(stage, stage)}: {done} of {total}")

    return report


class HandlerBase:
    """The service, the export folder, the write lock and the model threads handlers share."""

    def __init__(self, service: BriefingService, exports_dir: Path) -> None:
        self.service = service
        self.exports_dir = Path(exports_dir)
        self._write_lock = threading.Lock()
        # Model work (embedding, answering) runs on a few fixed threads, not on whichever of
        # Gradio's 40 worker threads picks the event: every thread that runs torch keeps its own
        # memory, and 40 of them took a server from 0.6 to 2.8 GB under load (4 threads: 1.6 GB).
        self._pool = ThreadPoolExecutor(
            max_workers=ANSWER_CONCURRENCY + 2, thread_name_prefix="briefing-model"
        )

    def close(self) -> None:
        """Stop the model threads (work in flight is abandoned)."""
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _run(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Call ``fn`` on the model threads, keeping Gradio's context (progress bars) intact."""
        ctx = contextvars.copy_context()
        return self._pool.submit(ctx.run, fn, *args, **kwargs).result()

    def _ready_ids(self) -> set[str]:
        return {r.doc_id for r in self.service.status() if r.status == "ready"}

    def _filters(self, documents: Any, doc_types: Any) -> Filters:
        """Checked search filters: ready documents and known document types only."""
        docs = str_list_input(documents, "documents")
        types = str_list_input(doc_types, "document types")
        ready = self._ready_ids() if docs else set()
        unknown = [d for d in docs if d not in ready]
        if unknown:
            raise gr.Error(f"unknown or not-ready document: {fmt.escape_text(unknown[0][:64])}")
        bad = [t for t in types if t not in DOC_TYPES]
        if bad:
            raise gr.Error(f"unknown document type {bad[0][:40]!r}; known: {', '.join(DOC_TYPES)}")
        return Filters.model_validate({"documents": docs, "doc_types": types})

    def _doc_id(self, value: Any) -> str:
        """The doc_id of a document named by id, source or title (the service resolves it)."""
        ref = text_input(value, "document", 300).strip()
        if not ref:
            raise gr.Error("choose a document first")
        return self.service.document(ref).doc_id

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
