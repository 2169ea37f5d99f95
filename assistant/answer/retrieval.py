"""Hybrid retrieval: dense search in Chroma plus BM25, fused by reciprocal rank fusion.

Only documents the manifest marks ``ready`` are searched, so a half-written document is never
cited. The BM25 index is rebuilt whenever the manifest changes (after an ingest or a removal).
One page may fill at most ``max_per_page`` slots, and a passage that stops mid-thought is
extended with the next chunk of the same page and section.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from assistant.answer.lexical import LexicalIndex
from assistant.core.embeddings import Embedder
from assistant.core.errors import ConfigError
from assistant.core.manifest import Manifest
from assistant.core.models import Filters, Passage
from assistant.core.settings import Settings
from assistant.core.store import StoredChunk, VectorStore

Mode = Literal["hybrid", "dense", "lexical"]
_ENDS_THOUGHT = re.compile(r"[.!?)\]\"'|]\s*$")


@dataclass
class Candidate:
    chunk: StoredChunk
    dense_rank: int | None = None
    lexical_rank: int | None = None
    dense_score: float = 0.0
    fused: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)


class Retriever:
    """Finds the passages that answer a query, within optional filters."""

    def __init__(
        self, settings: Settings, store: VectorStore, embedder: Embedder, manifest: Manifest
    ) -> None:
        self.settings = settings
        self.store = store
        self.embedder = embedder
        self.manifest = manifest
        self._index: LexicalIndex | None = None
        self._generation: tuple[int, float] | None = None
        self._lock = threading.Lock()
        self._reranker: Any = None
        self.timings: dict[str, float] = {}

    # -- the lexical index follows the store -------------------------------------------------
    def lexical_index(self) -> LexicalIndex:
        generation = self.manifest.generation()
        with self._lock:
            if self._index is None or generation != self._generation:
                ready = self.manifest.ready_ids()
                self._index = LexicalIndex(
                    c for c in self.store.iter_chunks() if c.metadata["doc_id"] in ready
                )
                self._generation = generation
            return self._index

    # -- search -----------------------------------------------------------------------------
    def retrieve(
        self,
        query: str,
        filters: Filters | None = None,
        k: int | None = None,
        mode: Mode = "hybrid",
    ) -> list[Passage]:
        filters = filters or Filters()
        k = k or self.settings.retrieval_k
        started = time.perf_counter()
        index = self.lexical_index()
        ready = self.manifest.ready_ids()
        # The lexical index holds only ready documents; the store may also hold pending ones.
        unfiltered = filters.is_empty() and self.manifest.all_settled()
        candidates: dict[str, Candidate] = {}
        if mode in ("hybrid", "dense"):
            vector = self.embedder.embed([query])[0]
            where = {} if unfiltered else _where(filters, ready)
            for rank, chunk in enumerate(
                self.store.query(vector, self.settings.dense_k, where) if where is not None else []
            ):
                candidates[chunk.id] = Candidate(chunk, dense_rank=rank, dense_score=chunk.score)
        if mode in ("hybrid", "lexical"):
            mask = None if filters.is_empty() else _mask(index, filters, ready)
            for rank, (chunk, _score) in enumerate(
                index.search(query, self.settings.lexical_k, mask)
            ):
                found = candidates.setdefault(chunk.id, Candidate(chunk))
                found.lexical_rank = rank
        for cand in candidates.values():
            cand.fused = sum(
                weight / (self.settings.rrf_k + rank + 1)
                for weight, rank in (
                    (self.settings.dense_weight, cand.dense_rank),
                    (self.settings.lexical_weight, cand.lexical_rank),
                )
                if rank is not None
            )
        ordered = sorted(candidates.values(), key=lambda c: (-c.fused, c.chunk.id))
        if self.settings.reranker_model and ordered:
            ordered = self._rerank(query, ordered)
        chosen = _diversify(ordered, k, self.settings.max_per_page)
        passages = [self._passage(n, cand, index) for n, cand in enumerate(chosen, start=1)]
        self.timings = {"retrieval_ms": (time.perf_counter() - started) * 1000}
        return passages

    def _rerank(self, query: str, ordered: list[Candidate]) -> list[Candidate]:
        if self._reranker is None:
            path = Path(str(self.settings.reranker_model)).expanduser()
            if not (path / "config.json").is_file():
                raise ConfigError(
                    f"reranker_model {str(path)!r} is not a local cross-encoder directory (no "
                    f"config.json)"
                )
            from sentence_transformers import CrossEncoder

            self._reranker = CrossEncoder(
                str(path), device="cpu", local_files_only=True, num_labels=1
            )
        head = ordered[: max(self.settings.retrieval_k * 3, 10)]
        scores = self._reranker.predict(
            [(query, c.chunk.text) for c in head], show_progress_bar=False
        )
        for cand, score in zip(head, scores, strict=True):
            cand.extra["rerank"] = float(score)
        head.sort(key=lambda c: -c.extra["rerank"])
        return head + ordered[len(head) :]

    def _passage(self, n: int, cand: Candidate, index: LexicalIndex) -> Passage:
        meta = cand.chunk.metadata
        start, end, text = meta["start"], meta["end"], cand.chunk.text
        if self.settings.expand_neighbours and not _ENDS_THOUGHT.search(text):
            nxt = index.by_doc_index.get((meta["doc_id"], meta["chunk_index"] + 1))
            if nxt is not None:
                neighbour = index.chunks[nxt].metadata
                if (
                    neighbour["page"] == meta["page"]
                    and neighbour["section"] == meta["section"]
                    and neighbour["end"] > end
                ):
                    page_text = self.manifest.page_text(meta["doc_id"], meta["page"])
                    if page_text is not None:
                        end = neighbour["end"]
                        text = page_text[start:end]
        return Passage(
            n=n,
            chunk_id=cand.chunk.id,
            doc_id=meta["doc_id"],
            title=meta.get("title", ""),
            source=meta.get("source", ""),
            doc_type=meta.get("doc_type", "other"),
            page=int(meta["page"]),
            section=meta.get("section", ""),
            start=int(start),
            end=int(end),
            text=text,
            score=cand.dense_score,
            dense_rank=cand.dense_rank,
            lexical_rank=cand.lexical_rank,
        )


def _where(filters: Filters, ready: set[str]) -> dict[str, Any] | None:
    """Chroma filter for ready documents within the filters; None when nothing can match."""
    docs = ready & set(filters.documents) if filters.documents else ready
    if not docs:
        return None
    clauses: list[dict[str, Any]] = [{"doc_id": {"$in": sorted(docs)}}]
    if filters.doc_types:
        clauses.append({"doc_type": {"$in": list(filters.doc_types)}})
    if filters.years:
        clauses.append({"year": {"$in": list(filters.years)}})
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


def _mask(index: LexicalIndex, filters: Filters, ready: set[str]) -> np.ndarray:
    docs = ready & set(filters.documents) if filters.documents else ready
    types, years = set(filters.doc_types), set(filters.years)
    return index.mask(
        [
            c.metadata["doc_id"] in docs
            and (not types or c.metadata.get("doc_type") in types)
            and (not years or c.metadata.get("year") in years)
            for c in index.chunks
        ]
    )


def _diversify(ordered: list[Candidate], k: int, per_page: int) -> list[Candidate]:
    chosen: list[Candidate] = []
    used: dict[tuple[str, int], int] = {}
    for cand in ordered:
        key = (cand.chunk.metadata["doc_id"], cand.chunk.metadata["page"])
        if used.get(key, 0) >= per_page:
            continue
        used[key] = used.get(key, 0) + 1
        chosen.append(cand)
        if len(chosen) == k:
            break
    return chosen
