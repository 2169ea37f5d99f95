"""Merging lexical segments: the live documents of several segments into one, without a sort."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from assistant.answer.lexical_segment import Segment


def merge_segments(name: str, parts: Sequence[tuple[Segment, set[str]]]) -> Segment:
    """One segment holding the live documents of ``parts`` (each with its removed doc_ids).

    Postings are placed by counting (no sort): a term's rows keep segment order, and the rows
    of each segment stay ordered, so the result is sorted as a built segment is.
    """
    docs: list[tuple[str, Segment]] = []
    for seg, removed in parts:
        docs.extend((d, seg) for d in seg.doc_ids if d not in removed)
    docs.sort(key=lambda pair: pair[0])
    keep_by_seg: dict[str, np.ndarray] = {}
    new_row: dict[str, np.ndarray] = {}
    doc_start = np.zeros(len(docs) + 1, dtype=np.int64)
    # The new row of every kept old row: documents in doc_id order, rows in their old order.
    for seg, _ in parts:
        keep_by_seg[seg.name] = np.zeros(seg.n_rows, dtype=bool)
        new_row[seg.name] = np.full(seg.n_rows, -1, dtype=np.int32)
    offset = 0
    sources: list[tuple[Segment, slice]] = []
    for n, (doc_id, seg) in enumerate(docs):
        span = seg.doc_rows(doc_id)
        size = span.stop - span.start
        keep_by_seg[seg.name][span] = True
        new_row[seg.name][span] = np.arange(offset, offset + size)
        sources.append((seg, span))
        offset += size
        doc_start[n + 1] = offset
    all_terms = (
        np.unique(np.concatenate([seg.terms for seg, _ in parts]))
        if parts
        else np.zeros(0, np.int64)
    )
    filtered = []
    lens = np.zeros(all_terms.shape[0], dtype=np.int64)
    for seg, _ in parts:
        to_merged = np.searchsorted(all_terms, np.asarray(seg.terms)).astype(np.int32)
        term_merged = np.repeat(to_merged, np.diff(seg.indptr))
        rows = np.asarray(seg.rows)
        keep = keep_by_seg[seg.name][rows]
        if not keep.all():
            term_merged, rows = term_merged[keep], rows[keep]
        filtered.append((term_merged, new_row[seg.name][rows], np.asarray(seg.tfs)[keep]))
        del rows, keep
        lens += np.bincount(term_merged, minlength=all_terms.shape[0])
    indptr = np.zeros(all_terms.shape[0] + 1, dtype=np.int64)
    np.cumsum(lens, out=indptr[1:])
    out_rows = np.empty(int(indptr[-1]), dtype=np.int32)
    out_tfs = np.empty(int(indptr[-1]), dtype=np.uint16)
    filled = indptr[:-1].copy()
    while filtered:
        term_merged, rows, tfs = filtered.pop(0)
        counts = np.bincount(term_merged, minlength=all_terms.shape[0])
        # a posting's place: where its term starts in the output, plus its rank within the term
        shift = filled.copy()
        shift[1:] -= np.cumsum(counts[:-1])
        dest = shift[term_merged]
        dest += np.arange(term_merged.shape[0])
        out_rows[dest] = rows
        out_tfs[dest] = tfs
        filled += counts
        del term_merged, rows, tfs, dest
    width = max((seg.chunk_ids.dtype.itemsize for seg, _ in parts), default=1)
    gather = lambda attr, dtype: (  # noqa: E731
        np.concatenate([np.asarray(getattr(seg, attr)[span]) for seg, span in sources]).astype(
            dtype
        )
        if sources
        else np.zeros(0, dtype=dtype)
    )
    return Segment(
        name=name,
        doc_ids=[d for d, _ in docs],
        terms=all_terms,
        indptr=indptr,
        rows=out_rows,
        tfs=out_tfs,
        doclen=gather("doclen", np.int32),
        chunk_ids=gather("chunk_ids", f"S{width}"),
        chunk_index=gather("chunk_index", np.int32),
        doc_start=doc_start,
    )
