"""BM25 over the stored chunks, for exact terms that dense search misses (codes, names, figures)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from assistant.core.store import StoredChunk
from assistant.core.text import tokenize  # noqa: F401  (re-exported for callers)


class LexicalIndex:
    """An in-memory BM25 index (bm25s) with the chunks' metadata for filtering."""

    def __init__(self, chunks: Iterable[StoredChunk]) -> None:
        import bm25s

        self.chunks: list[StoredChunk] = list(chunks)
        self.position = {c.id: i for i, c in enumerate(self.chunks)}
        self.by_doc_index = {
            (c.metadata["doc_id"], c.metadata["chunk_index"]): i for i, c in enumerate(self.chunks)
        }
        corpus = [
            tokenize(f"{c.metadata.get('section', '')}\n{c.text}") or [""] for c in self.chunks
        ]
        self._bm25 = bm25s.BM25()
        if self.chunks:
            self._bm25.index(corpus, show_progress=False)
        self._df: dict[str, int] = {}
        for tokens in corpus:
            for token in set(tokens):
                self._df[token] = self._df.get(token, 0) + 1

    def __len__(self) -> int:
        return len(self.chunks)

    def idf(self, token: str) -> float:
        n = max(len(self.chunks), 1)
        return float(
            np.log(1 + (n - self._df.get(token, 0) + 0.5) / (self._df.get(token, 0) + 0.5))
        )

    def mask(self, allowed: Sequence[bool]) -> np.ndarray:
        return np.asarray(allowed, dtype=np.float32)

    def search(
        self, query: str, k: int, mask: np.ndarray | None = None
    ) -> list[tuple[StoredChunk, float]]:
        """Top-k chunks by BM25; ``mask`` (1 allowed, 0 not) restricts the candidates."""
        tokens = [t for t in tokenize(query) if t in self._df]
        if not tokens or not self.chunks:
            return []
        scores = self._bm25.get_scores(tokens)
        if mask is not None:
            scores = scores * mask
        k = min(k, len(scores))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(self.chunks[i], float(scores[i])) for i in top if scores[i] > 0]
