"""The composition root and the service every front end calls.

``build_service(settings, embeddings=None)`` fills each gap with ``make_x(settings)``; heavy
things (the model, the store) load on first use.
"""

from __future__ import annotations

import shutil
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

from assistant.answer.backends import make_chat_model
from assistant.answer.chain import AnswerChain, PassageRetriever
from assistant.answer.chat import ChatEngine
from assistant.answer.extractive import ExtractiveAnswerer
from assistant.answer.retrieval import Mode, Retriever
from assistant.core.embeddings import Embedder, make_embeddings
from assistant.core.errors import BriefingError, EarlierVersionError, IngestError
from assistant.core.locking import WriterLock
from assistant.core.manifest import DocumentRow, Manifest
from assistant.core.models import About, Answer, Critique, Event, Filters, Message
from assistant.core.settings import Settings
from assistant.core.storage import ensure_writable, writing
from assistant.core.store import VectorStore
from assistant.core.text import safe_file_name
from ingest.pipeline import (
    DOC_TYPES,
    Ingestor,
    IngestReport,
    ProgressFn,
    file_digest,
    normalise_doc_type,
)


class BriefingService:
    """Ingest, status, removal and grounded answers: one object behind every front end."""

    def __init__(
        self,
        settings: Settings,
        embeddings: Embedder | None = None,
        *,
        chat_model: Any | None = None,
        writer: bool = False,
    ) -> None:
        self.settings = settings
        self._embeddings = embeddings
        self._chat_model = chat_model
        self._lock = WriterLock(settings.data_dir).acquire() if writer else None
        self._store: VectorStore | None = None
        self._store_lock = threading.Lock()
        self._warming: threading.Thread | None = None

    @cached_property
    def embeddings(self) -> Embedder:
        return self._embeddings or make_embeddings(self.settings)

    @property
    def store(self) -> VectorStore:
        """The vector store, opened once (a thread started by ``warm_up`` may be opening it)."""
        with self._store_lock:
            if self._store is None:
                self._store = VectorStore(
                    self.settings,
                    self.embeddings.name,
                    self.embeddings.dimension,
                    fingerprint=str(getattr(self.embeddings, "fingerprint", "") or ""),
                    adopt=getattr(self.embeddings, "adopt_fingerprint", None),
                )
            return self._store

    def warm_up(self) -> None:
        """Load the embedding model while the store opens in a background thread.

        A new process's first question pays for both: torch and the model weights; chromadb's
        import, the model's fingerprint and the HNSW index. Imports hold the GIL, so with the
        model in this process they barely overlap (0.2 s of 9 s at 100k chunks, measured).
        ``briefing ask`` passes an embedder whose model loads in a child process
        (:mod:`assistant.core.embed_process`): this thread then waits on a pipe and the store
        opens meanwhile. An error opening the store is raised where the store is next used.
        """
        embeddings = self.embeddings  # built here: the thread only reads it

        def open_store() -> None:
            try:
                self.store.warm()
            except Exception:  # raised again, in the caller's thread, on the next use
                pass

        self._warming = threading.Thread(target=open_store, name="briefing-open-store", daemon=True)
        self._warming.start()
        embeddings.embed(["warm-up"])

    def require_ready(self) -> None:
        """Raise when no document is ready to be asked about."""
        if not self.manifest.ready_ids():
            raise BriefingError(
                f"no documents are ready in {self.settings.data_dir}; "
                "run: briefing ingest corpus/documents"
            )

    @cached_property
    def manifest(self) -> Manifest:
        return Manifest(self.settings.manifest_path)

    @cached_property
    def ingestor(self) -> Ingestor:
        return Ingestor(self.settings, self.embeddings, self.store, self.manifest)

    @cached_property
    def retriever(self) -> Retriever:
        return Retriever(self.settings, self.store, self.embeddings, self.manifest)

    @cached_property
    def chat(self) -> ChatEngine:
        extractive = ExtractiveAnswerer(
            self.embeddings,
            min_score=self.settings.answer_min_score,
            max_sentences=self.settings.answer_max_sentences,
        )
        model = self._chat_model if self._chat_model is not None else make_chat_model(self.settings)
        return ChatEngine(self.settings, self.retriever, extractive, model)

    def ask(
        self,
        question: str,
        history: Sequence[Message] = (),
        filters: Filters | None = None,
        mode: Mode = "hybrid",
    ) -> Answer:
        """Answer one question (with the session's history for follow-ups)."""
        return self.as_chain().invoke(_chain_input(question, history, filters, mode))

    def stream(
        self, question: str, history: Sequence[Message] = (), filters: Filters | None = None
    ) -> Iterator[Event]:
        """Token events while the answer is written, then the checked ``Answer``."""
        return self.as_chain().stream(_chain_input(question, history, filters))

    def as_chain(self) -> AnswerChain:
        """The answer flow as a LangChain ``Runnable``: question and history in, ``Answer`` out.

        ``invoke``, ``batch`` and ``stream`` work as for any runnable; pass
        ``config={"callbacks": [...]}`` to see each step (condense, retrieve, write).
        """
        return AnswerChain(self.chat)

    def as_retriever(
        self, filters: Filters | None = None, mode: Mode = "hybrid"
    ) -> PassageRetriever:
        """Hybrid retrieval as a LangChain ``BaseRetriever`` giving ``Document``s with metadata."""
        return PassageRetriever(retriever=self.retriever, filters=filters, mode=mode)

    def ingest(self, paths: Sequence[Path], **options: Any) -> IngestReport:
        report = self.ingestor.ingest(paths, **options)
        self.retriever.lexical_index()  # index the new documents now, not on the next question
        return report

    def remove(self, ref: str) -> DocumentRow:
        """Delete a document (chunks and manifest row); returns the row it had."""
        row = self.ingestor.remove(ref)
        self.retriever.lexical_index()  # mask it in the lexical index now
        return row

    def lexical_status(self) -> dict[str, Any]:
        """The lexical index's size on disk and its agreement with the manifest."""
        return self.retriever.lexical_status()

    def repair_lexical(self, progress: Callable[[int, int], None] | None = None) -> dict[str, Any]:
        """Rebuild the lexical index from the store; returns its status afterwards."""
        self.retriever.rebuild_lexical(progress)
        return self.retriever.lexical_status()

    def status(self) -> list[DocumentRow]:
        """Every document in the manifest, with its state and failure reason."""
        return self.manifest.all()

    def document(self, ref: str) -> DocumentRow:
        """One document's manifest row, by doc_id, unique prefix or path."""
        return self.ingestor.find(ref)

    def set_doc_type(self, ref: str, doc_type: str) -> DocumentRow:
        """Change a document's type in the manifest and on every one of its chunks."""
        wanted = normalise_doc_type(doc_type)
        if wanted is None:
            raise IngestError(f"unknown document type {doc_type!r}; known: {', '.join(DOC_TYPES)}")
        row = self.ingestor.find(ref)
        self.store.update_document(row.doc_id, {"doc_type": wanted})
        self.manifest.set_type(row.doc_id, wanted)
        return self.document(row.doc_id)

    def ingest_upload(
        self,
        path: Path,
        original_name: str,
        doc_type: str | None = None,
        *,
        replace: bool | None = None,
        **options: Any,
    ) -> IngestReport:
        """Ingest an uploaded file, moved first under a server-made id in the data dir.

        The size limit is checked before anything is copied; the original name survives only
        as a cleaned file name inside the id's folder. When a different document with the same
        file name is already in the library, ``replace`` decides: None asks (raises
        ``EarlierVersionError``), True replaces it (and any earlier one with the new document's
        title), False keeps both.
        """
        ensure_writable(self.settings.data_dir, "add documents")
        size = path.stat().st_size
        limit = self.settings.max_file_mb * 1024 * 1024
        if size > limit:
            raise IngestError(
                f"the file is too large ({size / 1048576:.2f} MB; the limit is "
                f"{self.settings.max_file_mb:g} MB)"
            )
        name = safe_file_name(original_name)
        digest = file_digest(path)
        earlier = [
            r
            for r in self.manifest.all("ready")
            if Path(r.source).name == name and r.doc_id != digest
        ]
        if earlier and replace is None:
            row = earlier[-1]
            raise EarlierVersionError(
                f"the library already has a different {name!r} ({row.title or row.doc_id[:12]}); "
                "choose to replace it or to keep both",
                [r.doc_id for r in earlier],
            )
        folder = self.settings.data_dir / "uploads" / uuid.uuid4().hex
        target = folder / name
        try:
            with writing(self.settings.data_dir, "add documents"):
                folder.mkdir(parents=True)
                shutil.move(str(path), target)
        except BriefingError:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        report = self.ingest([target], doc_type=doc_type, **options)
        if not (report.added or report.updated):  # a duplicate or a failure: keep no copy
            shutil.rmtree(folder, ignore_errors=True)
        if report.doc_ids:
            self._settle_earlier(report, earlier, replace)
        return report

    def _settle_earlier(
        self, report: IngestReport, earlier: list[DocumentRow], replace: bool | None
    ) -> None:
        """Replace earlier documents of the same name or title, or note that they remain."""
        new = set(report.doc_ids)
        titles = {row.title for d in new if (row := self.manifest.get(d)) and row.title}
        same_title = [
            r for r in self.manifest.all("ready") if r.title in titles and r.doc_id not in new
        ]
        targets = {r.doc_id: r for r in [*earlier, *same_title] if r.doc_id not in new}
        if replace:
            for doc_id in targets:
                self.remove(doc_id)
            report.removed += len(targets)
        elif replace is None and same_title:
            report.notes.append(
                {
                    "path": same_title[0].source,
                    "note": f"an earlier document has the same title ({same_title[0].title}); "
                    "upload again with 'replace' to retire it, or keep both",
                }
            )

    @cached_property
    def workspace(self) -> Any:
        """Saved critique runs, reviewers' decisions and follow-ups (``assistant.critique``)."""
        from assistant.critique.critic import Critic
        from assistant.critique.reviews import ReviewStore
        from assistant.critique.workspace import Workspace

        def critic() -> Critic:
            return Critic(
                manifest=self.manifest,
                store=self.store,
                embedder=self.embeddings,
                chat_model=self.chat.chat_model,
                settings=self.settings,
            )

        reviews = ReviewStore(self.settings.data_dir / "reviews.sqlite3")
        return Workspace(critic, self.manifest, reviews, self._find_document)

    def _find_document(self, ref: str) -> DocumentRow:
        return self.ingestor.find(ref)

    def critique(
        self,
        ref: str,
        framework: str = "eight-causes",
        progress: ProgressFn | None = None,
        who: str = "local",
    ) -> Critique:
        """A framework-driven review draft of one plan, saved with its ``critique_id``."""
        return self.workspace.critique(ref, framework, progress, who)

    def reviews(self) -> list[Any]:
        """Every saved critique run, newest first (``SavedRun``)."""
        return self.workspace.runs()

    def review(self, critique_id: str) -> Any:
        """A saved draft with the reviewers' decisions applied (``DecidedReview``)."""
        return self.workspace.review(critique_id)

    def decide(self, critique_id: str, cause_id: str, action: str, **options: Any) -> Any:
        """Record a reviewer's decision on a finding (``Workspace.decide``); returns it."""
        return self.workspace.decide(critique_id, cause_id, action, **options)

    def followup(
        self,
        new_ref: str,
        old_ref: str,
        framework: str | None = None,
        progress: ProgressFn | None = None,
        who: str = "local",
    ) -> Any:
        """A revised plan rated against an earlier edition or a saved review (``FollowUp``)."""
        return self.workspace.followup(new_ref, old_ref, framework, progress, who)

    @cached_property
    def feedback(self) -> Any:
        from assistant.feedback import FeedbackStore

        return FeedbackStore(self.settings.data_dir / "feedback.sqlite3")

    def about(self) -> About:
        """What is running: version, answer backend and model, store location and size."""
        from assistant import __version__

        rows = self.manifest.all()
        return About(
            version=__version__,
            answer_backend=self.chat.backend,
            llm_model=self.settings.llm_model if self.chat.backend != "extractive" else "",
            embedding_model=self.embeddings.name,
            embedding_precision=str(getattr(self.embeddings, "precision", "")),
            store=self.store.location,
            chunks=self.store.count(),
            documents=len(rows),
            ready=sum(r.status == "ready" for r in rows),
        )

    def close(self) -> None:
        if self._warming is not None:  # never leave the store half-opened at exit
            self._warming.join(timeout=60)
        if self._lock and "retriever" in self.__dict__:
            self.retriever.lexical.wait_for_merge()  # a writer finishes its index merge
        if "manifest" in self.__dict__:
            self.manifest.close()
        if "feedback" in self.__dict__:
            self.feedback.close()
        if "workspace" in self.__dict__:
            self.workspace.reviews.close()
        if self._lock:
            self._lock.release()


def _chain_input(
    question: str, history: Sequence[Message], filters: Filters | None, mode: Mode = "hybrid"
) -> dict[str, Any]:
    return {"question": question, "history": list(history), "filters": filters, "mode": mode}


def build_service(
    settings: Settings,
    embeddings: Embedder | None = None,
    *,
    chat_model: Any | None = None,
    writer: bool = False,
) -> BriefingService:
    """Assemble the service; gaps are filled from settings on first use.

    ``writer=True`` takes the data directory's writer lock first.
    """
    return BriefingService(settings, embeddings, chat_model=chat_model, writer=writer)


__all__ = ["BriefingService", "ProgressFn", "build_service"]
