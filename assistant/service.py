"""The composition root and the service every front end calls.

``build_service(settings, embeddings=None)`` fills each gap with ``make_x(settings)``; heavy
things (the model, the store) load on first use.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator, Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

from assistant.answer.backends import make_chat_model
from assistant.answer.chat import ChatEngine
from assistant.answer.extractive import ExtractiveAnswerer
from assistant.answer.retrieval import Mode, Retriever
from assistant.core.embeddings import Embedder, make_embeddings
from assistant.core.errors import IngestError
from assistant.core.locking import WriterLock
from assistant.core.manifest import DocumentRow, Manifest
from assistant.core.models import About, Answer, Critique, Event, Filters, Message
from assistant.core.settings import Settings
from assistant.core.store import VectorStore
from assistant.core.text import safe_file_name
from ingest.pipeline import DOC_TYPES, Ingestor, IngestReport, ProgressFn, normalise_doc_type


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

    @cached_property
    def embeddings(self) -> Embedder:
        return self._embeddings or make_embeddings(self.settings)

    @cached_property
    def store(self) -> VectorStore:
        return VectorStore(self.settings, self.embeddings.name, self.embeddings.dimension)

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
        return self.chat.ask(question, history, filters, mode)

    def stream(
        self, question: str, history: Sequence[Message] = (), filters: Filters | None = None
    ) -> Iterator[Event]:
        """Token events while the answer is written, then the checked ``Answer``."""
        return self.chat.stream(question, history, filters)

    def ingest(self, paths: Sequence[Path], **options: Any) -> IngestReport:
        return self.ingestor.ingest(paths, **options)

    def remove(self, ref: str) -> DocumentRow:
        """Delete a document (chunks and manifest row); returns the row it had."""
        return self.ingestor.remove(ref)

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
        self, path: Path, original_name: str, doc_type: str | None = None, **options: Any
    ) -> IngestReport:
        """Ingest an uploaded file, moved first under a server-made id in the data dir.

        The size limit is checked before anything is copied; the original name survives only
        as a cleaned file name inside the id's folder.
        """
        size = path.stat().st_size
        limit = self.settings.max_file_mb * 1024 * 1024
        if size > limit:
            raise IngestError(
                f"the file is too large ({size / 1048576:.2f} MB; the limit is "
                f"{self.settings.max_file_mb:g} MB)"
            )
        folder = self.settings.data_dir / "uploads" / uuid.uuid4().hex
        folder.mkdir(parents=True)
        target = folder / safe_file_name(original_name)
        shutil.move(str(path), target)
        report = self.ingest([target], doc_type=doc_type, **options)
        if not (report.added or report.updated):  # a duplicate or a failure: keep no copy
            shutil.rmtree(folder, ignore_errors=True)
        return report

    def critique(
        self, ref: str, framework: str = "eight-causes", progress: ProgressFn | None = None
    ) -> Critique:
        """A framework-driven review draft of one plan (see ``assistant.critique.critic``)."""
        from assistant.critique.critic import Critic

        row = self.ingestor.find(ref)
        critic = Critic(
            manifest=self.manifest,
            store=self.store,
            embedder=self.embeddings,
            chat_model=self.chat.chat_model,
            settings=self.settings,
        )
        return critic.run(row.doc_id, framework, progress)

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
        if "manifest" in self.__dict__:
            self.manifest.close()
        if "feedback" in self.__dict__:
            self.feedback.close()
        if self._lock:
            self._lock.release()


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
