"""The composition root and the service every front end calls.

``build_service(settings, embeddings=None)`` fills each gap with ``make_x(settings)``; heavy
things (the model, the store) load on first use.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from functools import cached_property
from pathlib import Path
from typing import Any

from assistant.embeddings import Embedder, make_embeddings
from assistant.locking import WriterLock
from assistant.settings import Settings
from assistant.store import VectorStore
from ingest.manifest import Manifest
from ingest.pipeline import Ingestor, IngestReport, ProgressFn


class BriefingService:
    """Ingest, status and removal today; answers and critiques build on the same objects."""

    def __init__(self, settings: Settings, embeddings: Embedder | None = None, *, writer: bool = False) -> None:
        self.settings = settings
        self._embeddings = embeddings
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


def build_service(settings: Settings, embeddings: Embedder | None = None, *, writer: bool = False) -> BriefingService:
    """Assemble the service; ``writer=True`` takes the data directory's writer lock first."""
    return BriefingService(settings, embeddings, writer=writer)


__all__ = ["BriefingService", "ProgressFn", "build_service"]
