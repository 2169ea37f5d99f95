"""Immutable on-disk segments of the lexical index: term postings with term frequencies.

A segment holds the chunks of whole documents, rows grouped by document and ordered by chunk
index. Terms are 64-bit hashes of tokens (sorted, for a binary search), so a segment needs no
vocabulary file and two segments merge without a shared dictionary. Postings keep raw term
frequencies, not scores: BM25 is computed at query time from the statistics of every live
segment together, so a small delta segment scores exactly as if it were part of the base.

Files of a segment directory (``np.save``; opened with ``mmap_mode="r"``):
``terms`` (int64, V), ``indptr`` (int64, V+1), ``rows`` (int32), ``tfs`` (uint16),
``doclen`` (int32, rows), ``chunk_ids`` (bytes, rows), ``chunk_index`` (int32, rows),
``doc_start`` (int64, docs+1) and ``meta.json`` (the documents, in row order).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

FORMAT = 1
_ARRAYS = ("terms", "indptr", "rows", "tfs", "doclen", "chunk_ids", "chunk_index", "doc_start")
_MAP_FROM = 1 << 16
_hash_cache: dict[str, int] = {}


def term_hash(token: str) -> int:
    """A stable signed 64-bit hash of one token (the same in every process)."""
    found = _hash_cache.get(token)
    if found is None:
        digest = hashlib.blake2b(token.encode("utf-8"), digest_size=8).digest()
        found = int.from_bytes(digest, "little", signed=True)
        if len(_hash_cache) < 100_000:
            _hash_cache[token] = found
    return found


@dataclass(frozen=True)
class IndexedChunk:
    """What the index needs of one chunk: its id, document, position and tokens."""

    chunk_id: str
    doc_id: str
    chunk_index: int
    tokens: list[str]


@dataclass
class Segment:
    """One segment's arrays (memory-mapped when loaded from disk) and its documents."""

    name: str
    doc_ids: list[str]
    terms: np.ndarray
    indptr: np.ndarray
    rows: np.ndarray
    tfs: np.ndarray
    doclen: np.ndarray
    chunk_ids: np.ndarray
    chunk_index: np.ndarray
    doc_start: np.ndarray

    def __post_init__(self) -> None:
        self.doc_number = {d: n for n, d in enumerate(self.doc_ids)}

    @property
    def n_rows(self) -> int:
        return int(self.doclen.shape[0])

    def postings(self, term: int) -> tuple[np.ndarray, np.ndarray] | None:
        """Rows and term frequencies of one term hash, or None when the term is absent."""
        pos = int(np.searchsorted(self.terms, term))
        if pos >= self.terms.shape[0] or int(self.terms[pos]) != term:
            return None
        a, b = int(self.indptr[pos]), int(self.indptr[pos + 1])
        return self.rows[a:b], self.tfs[a:b]

    def doc_rows(self, doc_id: str) -> slice:
        n = self.doc_number[doc_id]
        return slice(int(self.doc_start[n]), int(self.doc_start[n + 1]))

    def find_row(self, doc_id: str, chunk_index: int) -> int | None:
        """The row of a document's chunk, by chunk index (rows of a document are ordered)."""
        if doc_id not in self.doc_number:
            return None
        span = self.doc_rows(doc_id)
        found = span.start + int(np.searchsorted(self.chunk_index[span], chunk_index))
        if found < span.stop and int(self.chunk_index[found]) == chunk_index:
            return found
        return None

    def chunk_id(self, row: int) -> str:
        return bytes(self.chunk_ids[row]).decode("utf-8")

    def nbytes(self) -> int:
        return sum(int(getattr(self, a).nbytes) for a in _ARRAYS)


class SegmentBuilder:
    """Collects chunks one at a time as compact integer arrays, then makes a segment.

    Only the token ids are kept (4 bytes a token), so a large batch costs little memory.
    """

    def __init__(self) -> None:
        self._local: dict[str, int] = {}
        self._tokens = array("i")
        self._lengths = array("i")
        self._chunk_index = array("i")
        self._chunk_ids: list[bytes] = []
        self._row_docs: list[str] = []
        self._docs: set[str] = set()

    def __len__(self) -> int:
        return len(self._lengths)

    def add(self, chunk: IndexedChunk) -> None:
        tokens = chunk.tokens or [""]
        local = self._local
        self._tokens.extend([local.setdefault(t, len(local)) for t in tokens])
        self._lengths.append(len(tokens))
        self._chunk_index.append(chunk.chunk_index)
        self._chunk_ids.append(chunk.chunk_id.encode("utf-8"))
        self._row_docs.append(chunk.doc_id)
        self._docs.add(chunk.doc_id)

    def add_document(self, doc_id: str) -> None:
        """Record a document even if it has no chunk (it is then indexed, and empty)."""
        self._docs.add(doc_id)

    def finish(self, name: str) -> Segment:
        """The segment: rows ordered by document and chunk index, postings by term hash."""
        docs = sorted(self._docs)
        n = len(self._lengths)
        doc_of = np.searchsorted(
            np.asarray(docs, dtype=object), np.asarray(self._row_docs, dtype=object)
        )
        chunk_index = np.frombuffer(self._chunk_index, dtype=np.int32)
        order = np.lexsort((chunk_index, doc_of)) if n else np.zeros(0, dtype=np.int64)
        new_row = np.empty(n, dtype=np.int64)
        new_row[order] = np.arange(n)
        lengths = np.frombuffer(self._lengths, dtype=np.int32)
        doc_start = np.zeros(len(docs) + 1, dtype=np.int64)
        np.cumsum(np.bincount(doc_of, minlength=len(docs)), out=doc_start[1:])
        hashes = np.fromiter((term_hash(t) for t in self._local), np.int64, len(self._local))
        by_hash = np.argsort(hashes, kind="stable")
        rank = np.empty_like(by_hash)
        rank[by_hash] = np.arange(by_hash.shape[0])
        keys = rank[np.frombuffer(self._tokens, dtype=np.int32)] * max(n, 1)
        keys += np.repeat(new_row, lengths)
        uniq, tf = np.unique(keys, return_counts=True)
        del keys
        indptr = np.zeros(by_hash.shape[0] + 1, dtype=np.int64)
        np.cumsum(np.bincount(uniq // max(n, 1), minlength=by_hash.shape[0]), out=indptr[1:])
        width = max((len(c) for c in self._chunk_ids), default=1)
        return Segment(
            name=name,
            doc_ids=docs,
            terms=hashes[by_hash],
            indptr=indptr,
            rows=(uniq % max(n, 1)).astype(np.int32),
            tfs=np.minimum(tf, 65535).astype(np.uint16),
            doclen=lengths[order].copy(),
            chunk_ids=np.asarray(self._chunk_ids, dtype=f"S{width}")[order],
            chunk_index=chunk_index[order].copy(),
            doc_start=doc_start,
        )


def build_segment(
    name: str, chunks: Iterable[IndexedChunk], doc_ids: Sequence[str] = ()
) -> Segment:
    """A segment from tokenized chunks; ``doc_ids`` adds documents that have no chunk."""
    builder = SegmentBuilder()
    for chunk in chunks:
        builder.add(chunk)
    for doc_id in doc_ids:
        builder.add_document(doc_id)
    return builder.finish(name)


def write_segment(root: Path, seg: Segment) -> Path:
    """Write a segment under ``root`` atomically (a temporary folder renamed into place)."""
    tmp = root / f"tmp-{uuid.uuid4().hex}"
    tmp.mkdir(parents=True)
    try:
        for attr in _ARRAYS:
            with open(tmp / f"{attr}.npy", "wb") as handle:
                np.save(handle, np.asarray(getattr(seg, attr)))
                handle.flush()
                os.fsync(handle.fileno())
        meta = {"format": FORMAT, "name": seg.name, "doc_ids": seg.doc_ids, "rows": seg.n_rows}
        with open(tmp / "meta.json", "w", encoding="utf-8") as handle:
            json.dump(meta, handle)
            handle.flush()
            os.fsync(handle.fileno())
        final = root / seg.name
        os.rename(tmp, final)
        _fsync_dir(root)
        return final
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def is_complete(path: Path) -> bool:
    """Whether a segment folder holds every file a segment has (a collector may have emptied a
    folder that was still being written, before it was renamed into place)."""
    return (
        all((path / f"{attr}.npy").is_file() for attr in _ARRAYS) and (path / "meta.json").is_file()
    )


def load_segment(path: Path) -> Segment:
    """Open a segment with its arrays memory-mapped (nothing is read until a query needs it)."""
    meta = json.loads((path / "meta.json").read_text(encoding="utf-8"))
    if meta.get("format") != FORMAT:
        raise ValueError(
            f"lexical segment {path} has format {meta.get('format')!r}, expected {FORMAT}"
        )
    arrays = {}
    for attr in _ARRAYS:
        file = path / f"{attr}.npy"
        # Small files are read (an empty one cannot be mapped); large ones are mapped.
        arrays[attr] = np.load(file, mmap_mode="r" if file.stat().st_size > _MAP_FROM else None)
    return Segment(name=meta["name"], doc_ids=list(meta["doc_ids"]), **arrays)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
