"""The lexical index on disk: segments that follow the manifest, merged in the background.

Under ``<data_dir>/lexical/``: one folder per immutable segment, ``state.json`` naming the live
segments and the doc_ids masked out of each, and ``lock`` for writers (``lexical_state``).
The manifest's ``ready`` documents decide what is searchable: ``sync(ready)`` masks indexed
documents that are no longer ready and indexes missing ones as a new small segment, fetching
only their chunks. A change is a new segment folder renamed into place, then ``state.json``
replaced, so a kill -9 at any moment leaves the old state or the new one. Deltas and masks are
merged by a background thread that holds no lock while it builds and swaps when done.
"""

from __future__ import annotations

import logging
import shutil
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.answer import lexical_state as files
from assistant.answer.lexical import LexicalView
from assistant.answer.lexical_merge import merge_segments
from assistant.answer.lexical_segment import (
    IndexedChunk,
    Segment,
    SegmentBuilder,
    is_complete,
    load_segment,
    write_segment,
)
from assistant.core.storage import bytes_under

#: fetch(doc_ids) -> the chunks of those documents, tokenized.
FetchFn = Callable[[list[str]], Iterable[IndexedChunk]]
#: progress(done_documents, total_documents)
ProgressFn = Callable[[int, int], None]
_BATCH_CHUNKS = 20_000
_FETCH_CHUNKS = 2_000
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SyncReport:
    """What one catch-up did: documents indexed and masked, and whether it reached the disk."""

    added: int
    masked: int
    persisted: bool


class LexicalStore:
    """The persistent, incremental lexical index of one data directory.

    Args:
        root: the index folder (``<data_dir>/lexical``).
        fetch: reads the chunks of given documents from the vector store.
        merge_ratio: merge once delta rows plus masked rows pass this share of all rows.
        max_segments: merge once there are more segments than this.
        lock_timeout_s: how long a catch-up waits for another writer; past it, the change is
            kept in memory and written by a later catch-up.
        orphan_age_s: unnamed segment folders older than this are deleted.
    """

    def __init__(
        self,
        root: Path,
        fetch: FetchFn,
        *,
        merge_ratio: float = 0.05,
        max_segments: int = 8,
        lock_timeout_s: float = 30.0,
        orphan_age_s: float = 3600.0,
    ) -> None:
        self.root = root
        self.fetch = fetch
        self.merge_ratio = merge_ratio
        self.max_segments = max_segments
        self.lock_timeout_s = lock_timeout_s
        self.orphan_age_s = orphan_age_s
        self.broken = ""  # why the files on disk could not be opened, if they could not
        self._segments: dict[str, Segment] = {}
        self._view = LexicalView()
        self._stamp: tuple[int, int] | None = None
        self._mutex = threading.RLock()
        self._one_merge = threading.Lock()
        self._merging: threading.Thread | None = None

    # -- reading ------------------------------------------------------------------------------
    @property
    def view(self) -> LexicalView:
        """The current snapshot, reopened when another process replaced the state file."""
        if files.state_stamp(self.root) != self._stamp:
            with self._mutex:
                if files.state_stamp(self.root) != self._stamp:
                    self._open()
        return self._view

    def exists(self) -> bool:
        """True once an index has been written to the data dir."""
        return files.state_stamp(self.root) is not None

    def _open(self) -> dict[str, Any]:
        """Open the state's segments (memory-mapped); a broken index opens empty."""
        try:
            return self._load()
        except (OSError, ValueError, KeyError, TypeError) as exc:
            self.broken = f"{type(exc).__name__}: {exc}"
            log.warning("lexical index at %s cannot be opened (%s); rebuilding", self.root, exc)
            self._segments, self._view = {}, LexicalView()
            self._stamp = files.state_stamp(self.root)
            return files.empty_state()

    def _load(self) -> dict[str, Any]:
        for attempt in range(3):  # a merge may delete a segment between two reads
            stamp = files.state_stamp(self.root)
            state = files.read_state(self.root)
            try:
                segs = {
                    e["name"]: self._segments.get(e["name"]) or load_segment(self.root / e["name"])
                    for e in state["segments"]
                }
            except FileNotFoundError:
                if attempt == 2:
                    raise
                time.sleep(0.05)
                continue
            self._segments = segs
            self._view = LexicalView([(segs[e["name"]], e["removed"]) for e in state["segments"]])
            self._stamp, self.broken = stamp, ""
            return state
        raise AssertionError("unreachable")

    # -- catching up with the manifest --------------------------------------------------------
    def sync(self, ready: set[str], progress: ProgressFn | None = None) -> SyncReport:
        """Make the searchable documents exactly the ``ready`` ones; persist when possible.

        A data dir that cannot be written (read-only, full) still gets a correct index, kept
        in memory.
        """
        with self._mutex:
            try:
                with files.writer_lock(self.root, self.lock_timeout_s) as held:
                    report = self._sync(ready, progress, held)
            except OSError as exc:
                log.warning("lexical index at %s not written (%s); kept in memory", self.root, exc)
                report = self._sync(ready, progress, False)
        if report.persisted:
            self.maybe_merge()
        return report

    def _sync(self, ready: set[str], progress: ProgressFn | None, held: bool) -> SyncReport:
        state = self._open()
        if self.broken and held:
            files.clear(self.root)
            state = self._open()
        entries = [dict(e, removed=list(e["removed"])) for e in state["segments"]]
        live = self._view.live
        extra = set(live) - ready
        missing = sorted(ready - set(live))
        for doc_id in extra:
            entries[live[doc_id]]["removed"].append(doc_id)
        if not extra and not missing:
            return SyncReport(0, 0, held)
        name = f"seg-{state['generation'] + 1:06d}-{uuid.uuid4().hex[:8]}"
        if missing:
            seg = self._build(name, missing, progress)
            if held:
                write_segment(self.root, seg)
                seg = load_segment(self.root / name)
            self._segments[name] = seg
            entries.append({"name": name, "removed": []})
        if held:
            files.write_state(self.root, entries, state["generation"] + 1)
            self._open()
            files.collect_garbage(self.root, {e["name"] for e in entries}, self.orphan_age_s)
        else:  # another writer holds the index, or none can: answer from memory
            self._view = LexicalView([(self._segments[e["name"]], e["removed"]) for e in entries])
        return SyncReport(len(missing), len(extra), held)

    def _build(self, name: str, doc_ids: list[str], progress: ProgressFn | None) -> Segment:
        """A segment of the given documents, fetched about ``_FETCH_CHUNKS`` chunks at a time.

        Small reads keep the store client's memory low; batches of ``_BATCH_CHUNKS`` rows are
        built separately and merged at the end.
        """
        parts: list[Segment] = []
        builder = SegmentBuilder()
        done, group = 0, 4
        while done < len(doc_ids):
            docs = doc_ids[done : done + group]
            fetched = 0
            for chunk in self.fetch(docs):
                builder.add(chunk)
                fetched += 1
            for doc_id in docs:
                builder.add_document(doc_id)
            done += len(docs)
            group = max(1, min(256, round(_FETCH_CHUNKS * len(docs) / max(fetched, 1))))
            if len(builder) >= _BATCH_CHUNKS or done >= len(doc_ids):
                parts.append(builder.finish(f"{name}-{len(parts)}"))
                builder = SegmentBuilder()
            if progress:
                progress(done, len(doc_ids))
        if len(parts) == 1:
            parts[0].name = name
            return parts[0]
        return merge_segments(name, [(p, set()) for p in parts])

    # -- merging ------------------------------------------------------------------------------
    def needs_merge(self) -> bool:
        """True when deltas and masked rows together pass ``merge_ratio`` of all rows."""
        parts = self._view.parts
        if len(parts) > self.max_segments:
            return True
        sizes = sorted((seg.n_rows for seg, _ in parts), reverse=True)
        masked = sum(sizes) - self._view.rows
        return bool(sizes) and (sum(sizes[1:]) + masked) / max(sum(sizes), 1) > self.merge_ratio

    def maybe_merge(self, background: bool = True) -> threading.Thread | None:
        """Start a merge when ``needs_merge()``; no question waits for it."""
        if not self.needs_merge() or (self._merging and self._merging.is_alive()):
            return None
        self._merging = threading.Thread(target=self.merge, name="lexical-merge", daemon=True)
        if background:
            self._merging.start()
        else:
            self._merging.run()
        return self._merging

    def merge(self) -> bool:
        """Merge every segment into one; False when another merge or a writer got there first."""
        if not self._one_merge.acquire(blocking=False):
            return False
        try:
            return self._merge()
        except OSError as exc:  # e.g. its folder collected by another process: try next time
            log.warning("lexical index merge at %s gave up: %s", self.root, exc)
            return False
        finally:
            self._one_merge.release()

    def wait_for_merge(self, timeout_s: float | None = None) -> None:
        """Block until a background merge started by this object has finished."""
        if self._merging is not None and self._merging.is_alive():
            self._merging.join(timeout_s)

    def _merge(self) -> bool:
        with self._mutex:
            before = self._open()
            parts = [(self._segments[e["name"]], set(e["removed"])) for e in before["segments"]]
        if len(parts) < 2 and not any(removed for _, removed in parts):
            return False
        name = f"seg-{before['generation'] + 1:06d}-{uuid.uuid4().hex[:8]}-m"
        merged = merge_segments(name, parts)  # the slow part: no lock held
        write_segment(self.root, merged)
        old = {e["name"]: set(e["removed"]) for e in before["segments"]}
        with self._mutex, files.writer_lock(self.root, 0.0) as held:
            now = {e["name"]: e for e in files.read_state(self.root)["segments"]} if held else {}
            kept = is_complete(self.root / name)  # not collected, wholly or in part, as an orphan
            if not held or not kept or not set(old) <= set(now):
                shutil.rmtree(self.root / name, ignore_errors=True)
                return False
            generation = files.read_state(self.root)["generation"] + 1
            since = set().union(*(set(now[n]["removed"]) - old[n] for n in old))
            entries = [{"name": name, "removed": sorted(since & set(merged.doc_ids))}]
            entries += [e for n, e in now.items() if n not in old]
            files.write_state(self.root, entries, generation)
            for dropped in old:  # open maps of these stay valid until their views go
                shutil.rmtree(self.root / dropped, ignore_errors=True)
            self._open()
        return True

    # -- upkeep -------------------------------------------------------------------------------
    def rebuild(self, ready: set[str], progress: ProgressFn | None = None) -> SyncReport:
        """Drop the index and build it again from the store (``briefing repair``)."""
        with self._mutex, files.writer_lock(self.root, self.lock_timeout_s):
            files.clear(self.root)
            self._segments, self._view, self._stamp = {}, LexicalView(), None
        return self.sync(ready, progress)

    def status(self, ready: set[str], chunks: dict[str, int] | None = None) -> dict[str, Any]:
        """Size and health against the manifest (``chunks``: doc_id -> its chunk count)."""
        view = self.view
        missing, extra = ready - view.live.keys(), view.live.keys() - ready
        short = sorted(
            d for d, n in (chunks or {}).items() if d in view.live and view.count(d) != n
        )
        return {
            "path": str(self.root),
            "bytes": bytes_under(self.root),
            "segments": len(view.parts),
            "rows": view.rows,
            "documents": len(view.live),
            "masked_documents": sum(len(removed) for _, removed in view.parts),
            "missing": len(missing),
            "extra": len(extra),
            "chunk_count_mismatch": short[:20],
            "broken": self.broken,
            "healthy": not (missing or extra or short or self.broken),
        }
