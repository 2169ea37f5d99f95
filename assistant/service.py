"""The composition root and the service every front end calls.

``build_service(settings, embeddings=None)`` fills each gap with ``make_x(settings)``; heavy
things (the model, the store) load on first use.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import asdict
from functools import cached_property
from pathlib import Path
from typing import Any

from assistant.backends import make_chat_model
from assistant.chat import ChatEngine, Event
from assistant.embeddings import Embedder, make_embeddings
from assistant.extractive import ExtractiveAnswerer
from assistant.locking import WriterLock
from assistant.models import Answer, Filters, Message
from assistant.retrieval import Mode, Retriever
from assistant.settings import Settings
from assistant.store import VectorStore
from ingest.manifest import Manifest
from ingest.pipeline import Ingestor, IngestReport, ProgressFn


class BriefingService:
    """Ingest, status, removal and grounded answers: one object behind every front end."""

    def __init__(
        self, settings: Settings, embeddings: Embedder | None = None, *, chat_model: Any | None = None, writer: bool = False
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
            self.embeddings, min_score=self.settings.answer_min_score, max_sentences=self.settings.answer_max_sentences
        )
        model = self._chat_model if self._chat_model is not None else make_chat_model(self.settings)
        return ChatEngine(self.settings, self.retriever, extractive, model)

    def ask(
        self, question: str, history: Sequence[Message] = (), filters: Filters | None = None, mode: Mode = "hybrid"
    ) -> Answer:
        """Answer one question (with the session's history for follow-ups)."""
        return self.chat.ask(question, history, filters, mode)

    def stream(self, question: str, history: Sequence[Message] = (), filters: Filters | None = None) -> Iterator[Event]:
        """Token events while the answer is written, then the checked ``Answer``."""
        return self.chat.stream(question, history, filters)

    def ingest(self, paths: Sequence[Path], **options: Any) -> IngestReport:
        return self.ingestor.ingest(paths, **options)

    def remove(self, ref: str) -> dict[str, Any]:
        return asdict(self.ingestor.remove(ref))

    def status(self) -> list[dict[str, Any]]:
        return [asdict(row) for row in self.manifest.all()]

    def close(self) -> None:
        if "manifest" in self.__dict__:
            self.manifest.close()
        if self._lock:
            self._lock.release()


def build_service(
    settings: Settings, embeddings: Embedder | None = None, *, chat_model: Any | None = None, writer: bool = False
) -> BriefingService:
    """Assemble the service; gaps are filled from settings on first use.

    ``writer=True`` takes the data directory's writer lock first.
    """
    return BriefingService(settings, embeddings, chat_model=chat_model, writer=writer)


__all__ = ["BriefingService", "ProgressFn", "build_service"]
