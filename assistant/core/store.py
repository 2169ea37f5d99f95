"""The vector store: the only module that imports chromadb.

Embedded (``PersistentClient`` under the data directory) by default; a Chroma server through
the HTTP client when ``chroma_url`` is set. Both take the same code path from here on. The
collection records the embedding model and dimension it was built with, and refuses to be
opened with another.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

import numpy as np

from assistant.core.errors import EmbeddingMismatchError, StoreError
from assistant.core.settings import Settings


@dataclass(frozen=True)
class StoredChunk:
    """One chunk as the store holds it."""

    id: str
    text: str
    metadata: dict[str, Any]
    score: float = 0.0


def _client(settings: Settings) -> Any:
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    if settings.chroma_url:
        url = urlparse(settings.chroma_url)
        try:
            client = chromadb.HttpClient(
                host=url.hostname or "127.0.0.1",
                port=url.port or (443 if url.scheme == "https" else 8000),
                ssl=url.scheme == "https",
                settings=chroma_settings,
            )
            client.heartbeat()
        except Exception as exc:  # chromadb raises a variety of transport errors
            raise StoreError(
                f"cannot reach the Chroma server at {settings.chroma_url}: {exc}"
            ) from None
        return client
    settings.chroma_path.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(settings.chroma_path), settings=chroma_settings)


class VectorStore:
    """Chunks with their vectors and metadata in one Chroma collection."""

    def __init__(self, settings: Settings, model_name: str, dimension: int) -> None:
        self._client = _client(settings)
        self.location = settings.chroma_url or str(settings.chroma_path)
        wanted = {"embedding_model": model_name, "dimension": dimension}
        self._collection = self._client.get_or_create_collection(
            name=settings.collection,
            metadata=wanted,
            configuration={"hnsw": {"space": "cosine"}},
            embedding_function=None,
        )
        found = self._collection.metadata or {}
        if (found.get("embedding_model"), found.get("dimension")) != (model_name, dimension):
            raise EmbeddingMismatchError(
                f"collection {settings.collection!r} at {self.location} was built with "
                f"{found.get('embedding_model')!r} ({found.get('dimension')} dimensions), not "
                f"{model_name!r} ({dimension}); use another collection or data directory"
            )
        self.dimension = dimension

    def count(self) -> int:
        return int(self._collection.count())

    def upsert(
        self,
        ids: Sequence[str],
        texts: Sequence[str],
        vectors: np.ndarray,
        metadatas: Sequence[dict[str, Any]],
    ) -> None:
        if not ids:
            return
        if vectors.shape != (len(ids), self.dimension):
            raise StoreError(f"vectors of shape {vectors.shape} for {len(ids)} chunks")
        self._collection.upsert(
            ids=list(ids), documents=list(texts), embeddings=vectors, metadatas=list(metadatas)
        )

    def update_document(self, doc_id: str, changes: dict[str, Any]) -> None:
        """Change metadata fields on every chunk of one document."""
        got = self._collection.get(where={"doc_id": doc_id}, include=["metadatas"])
        if got["ids"]:
            metadatas = [{**meta, **changes} for meta in got["metadatas"]]
            self._collection.update(ids=got["ids"], metadatas=metadatas)

    def delete_document(self, doc_id: str) -> None:
        self._collection.delete(where={"doc_id": doc_id})

    def count_document(self, doc_id: str) -> int:
        return len(self._collection.get(where={"doc_id": doc_id}, include=[])["ids"])

    def doc_ids(self) -> set[str]:
        """Every doc_id that has at least one chunk in the store."""
        return {m["doc_id"] for m in self._iter_metadata()}

    def _iter_metadata(self, page: int = 5000) -> Iterator[dict[str, Any]]:
        offset = 0
        while True:
            got = self._collection.get(include=["metadatas"], limit=page, offset=offset)
            if not got["ids"]:
                return
            yield from got["metadatas"]
            offset += len(got["ids"])

    def iter_chunks(self, page: int = 5000) -> Iterator[StoredChunk]:
        """All chunks with text and metadata, in pages (for the lexical index)."""
        offset = 0
        while True:
            got = self._collection.get(
                include=["documents", "metadatas"], limit=page, offset=offset
            )
            if not got["ids"]:
                return
            for cid, text, meta in zip(got["ids"], got["documents"], got["metadatas"], strict=True):
                yield StoredChunk(cid, text, dict(meta))
            offset += len(got["ids"])

    def get(self, ids: Sequence[str]) -> list[StoredChunk]:
        got = self._collection.get(ids=list(ids), include=["documents", "metadatas"])
        by_id = {
            cid: StoredChunk(cid, text, dict(meta))
            for cid, text, meta in zip(got["ids"], got["documents"], got["metadatas"], strict=True)
        }
        return [by_id[i] for i in ids if i in by_id]

    def query(
        self, vector: np.ndarray, k: int, where: dict[str, Any] | None = None
    ) -> list[StoredChunk]:
        """The k nearest chunks; score is cosine similarity."""
        if k <= 0:
            return []
        got = self._collection.query(
            query_embeddings=vector.reshape(1, -1),
            n_results=k,
            where=where or None,
            include=["documents", "metadatas", "distances"],
        )
        return [
            StoredChunk(cid, text, dict(meta), 1.0 - float(dist))
            for cid, text, meta, dist in zip(
                got["ids"][0],
                got["documents"][0],
                got["metadatas"][0],
                got["distances"][0],
                strict=True,
            )
        ]
