"""The vector store: the only module that imports chromadb.

Embedded (``PersistentClient`` under the data directory) by default; a Chroma server through
the HTTP client when ``chroma_url`` is set. Both take the same code path from here on. The
collection records the embedding model and dimension it was built with, and refuses to be
opened with another: the model is known by a fingerprint of its files, not by its folder name.

A read-only data directory is opened from a private snapshot in a temporary folder (Chroma
cannot open a database it may not write), so asking, status and reviews keep working; every
write then fails with one line. A full disk fails with one line naming the free space.
"""

from __future__ import annotations

import shutil
import tempfile
import weakref
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np

from assistant.core.errors import EmbeddingMismatchError, StoreError
from assistant.core.settings import Settings
from assistant.core.storage import is_writable, read_only_error, writing


@dataclass(frozen=True)
class StoredChunk:
    """One chunk as the store holds it."""

    id: str
    text: str
    metadata: dict[str, Any]
    score: float = 0.0


#: results asked of Chroma's HNSW search, of which ``nearest`` keeps k (see there)
SEARCH_BREADTH = 200


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
    path = settings.chroma_path
    with writing(settings.data_dir, "open its store"):
        path.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(path), settings=chroma_settings)


def read_only_snapshot(chroma_path: Path) -> Path:
    """A private, writable copy of a read-only Chroma folder (empty when there is none)."""
    target = Path(tempfile.mkdtemp(prefix="briefing-readonly-")) / "chroma"
    if chroma_path.is_dir():
        shutil.copytree(chroma_path, target)
    else:
        target.mkdir()
    return target


class VectorStore:
    """Chunks with their vectors and metadata in one Chroma collection."""

    def __init__(
        self,
        settings: Settings,
        model_name: str,
        dimension: int,
        fingerprint: str = "",
        adopt: Callable[[str], bool] | None = None,
    ) -> None:
        """Open (or create) the collection for this embedding model.

        ``adopt(recorded)`` lets the embedder switch to the precision the collection was built
        with (int8 or fp32/bf16) when that is all that differs; else a mismatch is refused.
        """
        self.data_dir = settings.data_dir
        self.location = settings.chroma_url or str(settings.chroma_path)
        self.read_only = not settings.chroma_url and not is_writable(settings.chroma_path)
        if self.read_only:
            snapshot = read_only_snapshot(settings.chroma_path)
            weakref.finalize(self, shutil.rmtree, snapshot.parent, True)
            settings = settings.model_copy(update={"data_dir": snapshot.parent})
        self._client = _client(settings)
        wanted: dict[str, Any] = {"embedding_model": model_name, "dimension": dimension}
        if fingerprint:
            wanted["embedding_fingerprint"] = fingerprint
        with writing(self.data_dir, "open its store"):
            self._collection = self._client.get_or_create_collection(
                name=settings.collection,
                metadata=wanted,
                configuration={"hnsw": {"space": "cosine"}},
                embedding_function=None,
            )
        found = self._collection.metadata or {}
        recorded = found.get("embedding_fingerprint")
        if adopt and fingerprint and recorded and recorded != fingerprint and adopt(str(recorded)):
            fingerprint = str(recorded)  # query vectors now come in the store's own precision
        if (found.get("embedding_model"), found.get("dimension")) != (model_name, dimension) or (
            fingerprint and recorded and recorded != fingerprint
        ):
            was = f", fingerprint {str(recorded)[:12]}" if recorded else ""
            now = f", fingerprint {fingerprint[:12]}" if fingerprint and recorded else ""
            raise EmbeddingMismatchError(
                f"collection {settings.collection!r} at {self.location} was built with "
                f"{found.get('embedding_model')!r} ({found.get('dimension')} dimensions{was}), "
                f"not {model_name!r} ({dimension}{now}); use the model it was built with, or "
                "another collection or data directory"
            )
        if fingerprint and not recorded and not self.read_only:
            with writing(self.data_dir, "record the embedding model"):
                self._collection.modify(metadata={**found, "embedding_fingerprint": fingerprint})
        self.dimension = dimension
        self.fingerprint = fingerprint

    def _write(self, action: str = "change documents") -> Any:
        """The seam every write passes: read-only and disk-full become one-line errors."""
        if self.read_only:
            raise read_only_error(self.data_dir, action)
        return writing(self.data_dir, action)

    def count(self) -> int:
        return int(self._collection.count())

    def warm(self) -> None:
        """Load the vector index into memory now (Chroma loads it on first use: 0.7 s at 100k)."""
        if self.count():
            probe = np.zeros((1, self.dimension), dtype=np.float32)
            probe[0, 0] = 1.0
            self._collection.query(query_embeddings=probe, n_results=1, include=[])

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
        with self._write("add documents"):
            self._collection.upsert(
                ids=list(ids), documents=list(texts), embeddings=vectors, metadatas=list(metadatas)
            )

    def update_document(self, doc_id: str, changes: dict[str, Any]) -> None:
        """Change metadata fields on every chunk of one document."""
        got = self._collection.get(where={"doc_id": doc_id}, include=["metadatas"])
        if got["ids"]:
            metadatas = [{**meta, **changes} for meta in got["metadatas"]]
            with self._write():
                self._collection.update(ids=got["ids"], metadatas=metadatas)

    def delete_document(self, doc_id: str) -> None:
        with self._write("remove documents"):
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

    def chunks_of(self, doc_ids: Sequence[str]) -> list[StoredChunk]:
        """Every chunk of the given documents, with text and metadata (read by doc_id)."""
        if not doc_ids:
            return []
        ids = list(doc_ids)
        where = {"doc_id": ids[0]} if len(ids) == 1 else {"doc_id": {"$in": ids}}
        got = self._collection.get(where=where, include=["documents", "metadatas"])
        return [
            StoredChunk(cid, text, dict(meta))
            for cid, text, meta in zip(got["ids"], got["documents"], got["metadatas"], strict=True)
        ]

    def get(self, ids: Sequence[str]) -> list[StoredChunk]:
        got = self._collection.get(ids=list(ids), include=["documents", "metadatas"])
        by_id = {
            cid: StoredChunk(cid, text, dict(meta))
            for cid, text, meta in zip(got["ids"], got["documents"], got["metadatas"], strict=True)
        }
        return [by_id[i] for i in ids if i in by_id]

    def _search(
        self, vector: np.ndarray, k: int, where: dict[str, Any] | None, include: list[str]
    ) -> dict[str, Any]:
        """Chroma's answer for the k nearest chunks (empty lists when k is 0)."""
        if k <= 0:
            return {name: [[]] for name in ("ids", *include)}
        return dict(
            self._collection.query(
                query_embeddings=vector.reshape(1, -1),
                n_results=k,
                where=where or None,
                include=include,
            )
        )

    def nearest(
        self, vector: np.ndarray, k: int, where: dict[str, Any] | None = None
    ) -> list[tuple[str, float]]:
        """The ids of the k nearest chunks with their cosine similarity, nothing else read.

        Chroma searches its HNSW graph as broadly as the results asked for (at least its
        ``ef_search``, 100). The graph of recent additions is rebuilt on every open, and at
        that breadth a neighbour was found in one process and missed in the next (3 of 6 runs
        of one real question); asking for ``SEARCH_BREADTH`` and keeping k found it every time.

        The search itself is 1.5-4 ms at 100k chunks; reading the 30 hits' texts and metadata
        with it costs 5-6 ms more, so a caller that keeps only a few reads those by id (``get``).
        """
        got = self._search(vector, max(k, SEARCH_BREADTH) if k > 0 else 0, where, ["distances"])
        return [
            (cid, 1.0 - float(dist))
            for cid, dist in zip(got["ids"][0][:k], got["distances"][0][:k], strict=True)
        ]

    def query(
        self, vector: np.ndarray, k: int, where: dict[str, Any] | None = None
    ) -> list[StoredChunk]:
        """The k nearest chunks; score is cosine similarity."""
        got = self._search(vector, k, where, ["documents", "metadatas", "distances"])
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
