"""BM25 over the stored chunks, for exact terms that dense search misses (codes, names, figures).

``LexicalView`` is one consistent snapshot of the on-disk index (``lexical_store``): its
segments, the documents masked out of each, and the statistics of all live rows. Scores
follow bm25s's default (Lucene) variant, computed at query time over every live segment, so
a document scores the same whether it sits in the base segment or in a fresh delta.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

import numpy as np

from assistant.answer.lexical_segment import Segment, term_hash
from assistant.core.text import tokenize

K1, B = 1.5, 0.75


@dataclass(frozen=True)
class LexicalHit:
    """One lexical match: the chunk (by id), its document and its BM25 score."""

    chunk_id: str
    doc_id: str
    score: float


class LexicalView:
    """Segments with their removed documents; searchable, never changed once made.

    Args:
        parts: each segment with the doc_ids masked out of it.
    """

    def __init__(self, parts: Sequence[tuple[Segment, Collection[str]]] = ()) -> None:
        self.parts = [(seg, frozenset(removed)) for seg, removed in parts]
        self.live: dict[str, int] = {}
        self._alive: list[np.ndarray | None] = []
        rows, length = 0, 0.0
        for n, (seg, removed) in enumerate(self.parts):
            alive = None
            gone = [d for d in removed if d in seg.doc_number]
            if gone:
                alive = np.ones(seg.n_rows, dtype=bool)
                for doc_id in gone:
                    alive[seg.doc_rows(doc_id)] = False
            self._alive.append(alive)
            self.live.update((d, n) for d in seg.doc_ids if d not in removed)
            doclen = np.asarray(seg.doclen, dtype=np.float64)
            rows += int(alive.sum()) if alive is not None else seg.n_rows
            length += float(doclen[alive].sum() if alive is not None else doclen.sum())
        self.rows = rows
        self._idf: dict[str, float] = {}
        avgdl = length / rows if rows else 1.0
        self._norm = [
            (K1 * (1 - B + B * np.asarray(seg.doclen, dtype=np.float32) / avgdl)).astype(np.float32)
            for seg, _ in self.parts
        ]

    def __len__(self) -> int:
        return self.rows

    def df(self, term: int) -> int:
        """Live rows that contain a term hash."""
        total = 0
        for (seg, _), alive in zip(self.parts, self._alive, strict=True):
            found = seg.postings(term)
            if found is not None:
                total += int(alive[found[0]].sum()) if alive is not None else found[0].shape[0]
        return total

    def idf(self, token: str) -> float:
        """BM25 idf of a token over the live rows (0 rows in the index count as 1)."""
        found = self._idf.get(token)
        if found is None:
            df, n = self.df(term_hash(token)), max(self.rows, 1)
            found = float(np.log(1 + (n - df + 0.5) / (df + 0.5)))
            if len(self._idf) < 100_000:  # the view never changes, so neither does an idf
                self._idf[token] = found
        return found

    def search(
        self, query: str, k: int, documents: Collection[str] | None = None
    ) -> list[LexicalHit]:
        """Top-k chunks by BM25; ``documents`` (doc_ids), when given, restricts the candidates."""
        idf: dict[int, float] = {}
        terms: dict[int, float] = {}
        for token in tokenize(query):  # a repeated query word counts again, as in bm25s
            h = term_hash(token)
            if h not in idf:
                df = self.df(h)
                idf[h] = float(np.log(1 + (self.rows - df + 0.5) / (df + 0.5))) if df else 0.0
            if idf[h] > 0:
                terms[h] = terms.get(h, 0.0) + idf[h]
        return self._top(terms, k, documents) if terms and self.rows and k > 0 else []

    def _top(
        self, terms: dict[int, float], k: int, documents: Collection[str] | None
    ) -> list[LexicalHit]:
        found: list[tuple[float, str, str]] = []
        for (seg, _), alive, norm in zip(self.parts, self._alive, self._norm, strict=True):
            allowed = alive if documents is None else self._allowed(seg, alive, documents)
            if allowed is not None and not allowed.any():
                continue
            scores = np.zeros(seg.n_rows, dtype=np.float32)
            for term, weight in terms.items():
                hit = seg.postings(term)
                if hit is not None:
                    rows, tfs = np.asarray(hit[0]), np.asarray(hit[1], dtype=np.float32)
                    scores[rows] += weight * tfs / (tfs + norm[rows])
            if allowed is not None:
                scores[~allowed] = 0.0
            if seg.n_rows > k:  # the k best, and every row tied with the k-th (ties go by chunk id)
                kth = -np.partition(-scores, k - 1)[k - 1]
                top = np.flatnonzero(scores >= max(kth, np.float32(1e-12)))[: k * 20]
            else:
                top = np.flatnonzero(scores > 0)
            for row in top:
                row = int(row)
                doc = seg.doc_ids[int(np.searchsorted(seg.doc_start, row, side="right")) - 1]
                found.append((float(scores[row]), seg.chunk_id(row), doc))
        found.sort(key=lambda f: (-f[0], f[1]))
        return [LexicalHit(chunk_id, doc, score) for score, chunk_id, doc in found[:k]]

    @staticmethod
    def _allowed(seg: Segment, alive: np.ndarray | None, documents: Collection[str]) -> np.ndarray:
        allowed = np.zeros(seg.n_rows, dtype=bool)
        for doc_id in documents:
            if doc_id in seg.doc_number:
                allowed[seg.doc_rows(doc_id)] = True
        return allowed if alive is None else allowed & alive

    def count(self, doc_id: str) -> int:
        """Rows (chunks) of a live document; 0 when it is not searchable."""
        n = self.live.get(doc_id)
        if n is None:
            return 0
        span = self.parts[n][0].doc_rows(doc_id)
        return span.stop - span.start

    def neighbour(self, doc_id: str, chunk_index: int) -> str | None:
        """The chunk id of a live document's chunk by its index, or None."""
        n = self.live.get(doc_id)
        if n is None:
            return None
        seg = self.parts[n][0]
        row = seg.find_row(doc_id, chunk_index)
        return None if row is None else seg.chunk_id(row)


#: The name callers used for the in-memory index; the view answers the same questions.
LexicalIndex = LexicalView

__all__ = ["LexicalHit", "LexicalIndex", "LexicalView", "tokenize"]
