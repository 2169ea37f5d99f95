"""Hybrid retrieval: dense search in Chroma plus BM25, fused by reciprocal rank fusion.

Only documents the manifest marks ``ready`` are searched, so a half-written document is never
cited. The BM25 index lives on disk (``lexical_store``): before a question it catches up with
the manifest's ready documents (indexing only the new ones, masking the gone ones), and texts
are read for the hits only, by id.
One page may fill at most ``max_per_page`` slots, and a passage that stops mid-thought is
extended with the next chunk of the same page and section; one that starts mid-sentence is
widened back to its sentence's start on the page.
"""

from __future__ import annotations

import re
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from assistant.answer.lexical import LexicalView, tokenize
from assistant.answer.lexical_segment import IndexedChunk
from assistant.answer.lexical_store import LexicalStore, ProgressFn, SyncReport
from assistant.answer.titles import TitleIndex
from assistant.core.embeddings import Embedder
from assistant.core.errors import ConfigError
from assistant.core.manifest import Manifest
from assistant.core.models import Filters, Passage
from assistant.core.settings import Settings
from assistant.core.store import StoredChunk, VectorStore

Mode = Literal["hybrid", "dense", "lexical"]
_ENDS_THOUGHT = re.compile(r"[.!?)\]\"'|]\s*$")
_SENTENCE_END = re.compile(r"[.!?]['\")\]”’]*\s+(?=[^\W\d_a-z]|[\d•])|\n\s*\n")
BACK_CHARS = 300  # how far back a passage cut mid-sentence is widened to its sentence's start
NAMED_WEIGHT = 1.0  # of each rank found in the document the question names
TINY_CHUNK_WORDS = 6  # a chunk this short (a page's stray tail) is widened to its sentence too


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
        self.lexical = LexicalStore(settings.data_dir / "lexical", self._fetch)
        self._lock = threading.Lock()
        self._reranker: Any = None
        self.titles = TitleIndex()
        self.timings: dict[str, float] = {}

    # -- the lexical index follows the manifest ---------------------------------------------
    def _fetch(self, doc_ids: list[str]) -> Iterator[IndexedChunk]:
        for c in self.store.chunks_of(doc_ids):
            meta = c.metadata
            tokens = tokenize(f"{meta.get('section', '')}\n{c.text}")
            yield IndexedChunk(c.id, meta["doc_id"], int(meta["chunk_index"]), tokens)

    def lexical_index(self, ready: set[str] | None = None) -> LexicalView:
        """The lexical index, first caught up with the manifest's ready documents if need be.

        A data directory from before the on-disk index builds it here once, with a progress
        bar on stderr.
        """
        ready = self.manifest.ready_ids() if ready is None else ready
        view = self.lexical.view
        if view.live.keys() != ready:
            with self._lock:
                view = self.lexical.view
                missing = len(ready - view.live.keys())
                if view.live.keys() != ready:
                    first = not self.lexical.exists()  # a data dir from before the index
                    bar = _bar(missing) if missing and (first or missing > 200) else None
                    self.lexical.sync(ready, progress=bar)
                view = self.lexical.view
        return view

    def lexical_status(self) -> dict[str, Any]:
        """The lexical index's size and health against the manifest."""
        rows = self.manifest.all("ready")
        return self.lexical.status({r.doc_id for r in rows}, {r.doc_id: r.chunks for r in rows})

    def rebuild_lexical(self, progress: ProgressFn | None = None) -> SyncReport:
        """Build the lexical index again from the store (for ``briefing repair``)."""
        with self._lock:
            return self.lexical.rebuild(self.manifest.ready_ids(), progress)

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
        ready = self.manifest.ready_ids()
        index = self.lexical_index(ready)
        # The lexical index holds only ready documents; the store may also hold pending ones.
        unfiltered = filters.is_empty() and self.manifest.all_settled()
        ranks: dict[str, list[Any]] = {}  # chunk id -> [dense rank, lexical rank, dense score]
        if mode in ("hybrid", "dense"):
            vector = self.embedder.embed([query])[0]
            where = {} if unfiltered else _where(filters, ready)
            nearest = self.store.nearest(vector, self.settings.dense_k, where)
            for rank, (chunk_id, score) in enumerate(nearest if where is not None else []):
                ranks[chunk_id] = [rank, None, score]
        if mode in ("hybrid", "lexical"):
            docs = None if filters.is_empty() else self._allowed(filters, ready)
            for rank, hit in enumerate(index.search(query, self.settings.lexical_k, docs)):
                ranks.setdefault(hit.chunk_id, [None, None, 0.0])[1] = rank
        scoped: dict[str, list[int]] = {}  # chunk id -> its ranks in the named document
        if mode == "hybrid" and filters.is_empty() and self.settings.title_scope > 0:
            self._search_named(query, ready, index, ranks, scoped)
        fused = {
            chunk_id: sum(
                weight / (self.settings.rrf_k + rank + 1)
                for weight, rank in (
                    (self.settings.dense_weight, dense),
                    (self.settings.lexical_weight, lexical),
                    *((NAMED_WEIGHT, r) for r in scoped.get(chunk_id, ())),
                )
                if rank is not None
            )
            for chunk_id, (dense, lexical, _) in ranks.items()
        }
        order = sorted(ranks, key=lambda c: (-fused[c], c))
        if self.settings.reranker_model and order:
            ordered = self._rerank(query, self._candidates(order, ranks, fused))
            chosen = _diversify(ordered, k, self.settings.max_per_page)
        else:  # texts and metadata are read for the passages kept, a few at a time, by id
            chosen, start = [], 0
            used: dict[tuple[str, int], int] = {}
            while len(chosen) < k and start < len(order):
                batch = self._candidates(order[start : start + 2 * k], ranks, fused)
                start += 2 * k
                chosen += _diversify(batch, k - len(chosen), self.settings.max_per_page, used)
        nexts = self._neighbours(chosen, index)
        passages = [self._passage(n, cand, nexts) for n, cand in enumerate(chosen, start=1)]
        self.timings = {"retrieval_ms": (time.perf_counter() - started) * 1000}
        return passages

    def _search_named(
        self,
        query: str,
        ready: set[str],
        index: LexicalView,
        ranks: dict[str, list[Any]],
        scoped: dict[str, list[int]],
    ) -> None:
        """Search once more, by meaning and by BM25, inside the document whose title the
        question names, for the rest of the question: "Which federal programmes does the state
        handbook mention as depending on state IT systems?" finds the handbook's "...federal
        programs such as Medicaid", which passages of other documents on federal IT outranked."""
        named = self.titles.named(query, ready, self.manifest, index.idf, self.settings.title_scope)
        if named is None:
            return
        doc_id, rest = named
        vector = self.embedder.embed([rest])[0]
        dense = self.store.nearest(vector, self.settings.dense_k, {"doc_id": doc_id})
        hits = index.search(rest, self.settings.lexical_k, {doc_id})
        for found in (dense, [(h.chunk_id, 0.0) for h in hits]):
            for rank, (chunk_id, score) in enumerate(found):
                ranks.setdefault(chunk_id, [None, None, score])
                scoped.setdefault(chunk_id, []).append(rank)

    def _candidates(
        self, ids: list[str], ranks: dict[str, list[Any]], fused: dict[str, float]
    ) -> list[Candidate]:
        """Candidates for these chunk ids in order, read by id (chunks gone since are left out)."""
        found = {c.id: c for c in self.store.get(ids)}
        return [
            Candidate(found[i], ranks[i][0], ranks[i][1], ranks[i][2], fused[i])
            for i in ids
            if i in found
        ]

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

    def _allowed(self, filters: Filters, ready: set[str]) -> set[str]:
        """Ready doc_ids within the filters (types and years as the manifest records them)."""
        docs = ready & set(filters.documents) if filters.documents else set(ready)
        if filters.doc_types or filters.years:
            types, years = set(filters.doc_types), set(filters.years)
            docs &= {
                r.doc_id
                for r in self.manifest.all("ready")
                if (not types or r.doc_type in types) and (not years or r.year in years)
            }
        return docs

    def _neighbours(self, chosen: list[Candidate], index: LexicalView) -> dict[str, StoredChunk]:
        """The next chunk of each passage that stops mid-thought (read by id), by chunk id."""
        if not self.settings.expand_neighbours:
            return {}
        wanted: dict[str, str] = {}
        for cand in chosen:
            meta = cand.chunk.metadata
            if not _ENDS_THOUGHT.search(cand.chunk.text):
                nxt = index.neighbour(meta["doc_id"], int(meta["chunk_index"]) + 1)
                if nxt is not None:
                    wanted[cand.chunk.id] = nxt
        found = {c.id: c for c in self.store.get(list(wanted.values()))} if wanted else {}
        return {cid: found[nxt] for cid, nxt in wanted.items() if nxt in found}

    def _passage(self, n: int, cand: Candidate, nexts: dict[str, StoredChunk]) -> Passage:
        meta = cand.chunk.metadata
        start, end, text = meta["start"], meta["end"], cand.chunk.text
        neighbour = nexts[cand.chunk.id].metadata if cand.chunk.id in nexts else {}
        widen_on = (
            bool(neighbour)
            and neighbour["page"] == meta["page"]
            and neighbour["section"] == meta["section"]
            and neighbour["end"] > end
        )
        widen_back = start > 0 and starts_mid_sentence(text)
        page_text = (
            self.manifest.page_text(meta["doc_id"], meta["page"])
            if widen_on or widen_back
            else None
        )
        # widen on only over whitespace or overlap: furniture set aside at ingest may lie between
        if widen_on and page_text is not None and not page_text[end : neighbour["start"]].strip():
            end = neighbour["end"]
            text = page_text[start:end]
        if widen_back and page_text is not None and page_text[start:end] == text:
            start = sentence_start(page_text, start)
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


def starts_mid_sentence(text: str) -> bool:
    """Whether a chunk opens inside a sentence: in lower case ("ministries and agencies..."), or
    so short that it is the tail of one ("Card – PI (BC-639).", left over when a long item was
    split)."""
    return text[:1].islower() or len(text.split()) < TINY_CHUNK_WORDS


def sentence_start(page_text: str, start: int) -> int:
    """Where the sentence around offset ``start`` of a page begins: after the last sentence end
    or blank line within ``BACK_CHARS`` before it, or the page's start; ``start`` itself when
    neither lies that close."""
    head = page_text[max(0, start - BACK_CHARS) : start]
    ends = [m.end() for m in _SENTENCE_END.finditer(head)]
    if ends:
        return start - len(head) + ends[-1]
    return 0 if start <= BACK_CHARS else start


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


def _diversify(
    ordered: list[Candidate],
    k: int,
    per_page: int,
    used: dict[tuple[str, int], int] | None = None,
) -> list[Candidate]:
    """The first k candidates, at most ``per_page`` a page (``used``: earlier picks per page)."""
    chosen: list[Candidate] = []
    used = {} if used is None else used
    if k <= 0:
        return chosen
    for cand in ordered:
        key = (cand.chunk.metadata["doc_id"], cand.chunk.metadata["page"])
        if used.get(key, 0) >= per_page:
            continue
        used[key] = used.get(key, 0) + 1
        chosen.append(cand)
        if len(chosen) == k:
            break
    return chosen


def _bar(total: int) -> ProgressFn:
    """A progress callback drawing a bar on stderr while the index is first built."""
    from tqdm import tqdm

    bar = tqdm(total=total, desc="lexical index", unit="doc", file=sys.stderr, leave=False)

    def update(done: int, whole: int) -> None:
        bar.update(done - bar.n)
        if done >= whole:
            bar.close()

    return update
