"""The ingest pipeline: discover → hash → parse (child processes) → chunk → embed → upsert.

Crash safety rests on one ordering. A document is recorded ``pending`` before any chunk of it is
written and ``ready`` only after all of them are, in the same transaction that retires older
versions of its file (``deleting``). Chunk ids are deterministic and writes are upserts, so a
re-run after a crash rewrites the same ids. ``recover()`` finishes what a crash interrupted:
leftover chunks of pending documents and retired versions are deleted, and pending documents
are parsed again.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assistant.core.embeddings import Embedder
from assistant.core.errors import DocumentNotFoundError, IngestError
from assistant.core.manifest import DocumentRow, Manifest
from assistant.core.settings import Settings
from assistant.core.store import VectorStore
from ingest.chunking import Chunk, Chunker, split_document
from ingest.furniture import KINDS
from ingest.loaders import Limits, LoadedDocument
from ingest.worker import parse_files

DOC_TYPES = ("master_plan", "review", "lessons_learned", "other")
_TYPE_ALIASES = {
    "master_plan": "master_plan", "master_plans": "master_plan",
    "plan": "master_plan", "plans": "master_plan",
    "review": "review", "reviews": "review",
    "lessons_learned": "lessons_learned", "lessons": "lessons_learned",
    "other": "other",
}  # fmt: skip

#: progress(stage, done, total): stage "files" counts parsed files, "chunks" embedded chunks
#: of one file.
ProgressFn = Callable[[str, int, int], None]


@dataclass
class IngestReport:
    """What one ingest run did; ``to_json()`` is the documented machine format."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    failed: list[dict[str, str]] = field(default_factory=list)
    notes: list[dict[str, str]] = field(default_factory=list)
    #: doc_ids of the files this run saw that are now ready (added, updated or unchanged)
    doc_ids: list[str] = field(default_factory=list)
    chunks_added: int = 0
    chunks_total: int = 0
    pages: int = 0
    seconds: float = 0.0
    #: page furniture kept out of chunks in this run's documents, by kind (``ingest.furniture``)
    set_aside: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "documents": {
                "added": self.added,
                "updated": self.updated,
                "unchanged": self.unchanged,
                "removed": self.removed,
                "failed": self.failed,
            },
            "notes": self.notes,
            "chunks_added": self.chunks_added,
            "chunks_total": self.chunks_total,
            "pages": self.pages,
            "set_aside": dict(self.set_aside),
            "seconds": round(self.seconds, 3),
        }


def normalise_doc_type(value: str | None) -> str | None:
    """Map a type name or folder name to one of DOC_TYPES, or None."""
    if not value:
        return None
    return _TYPE_ALIASES.get(value.strip().lower().replace("-", "_").replace(" ", "_"))


def discover(paths: Iterable[Path]) -> list[Path]:
    """Files under the given paths, sorted; hidden files and folders are passed over."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            for root, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                found.extend(Path(root) / f for f in sorted(files) if not f.startswith("."))
        elif path.exists():
            found.append(path)
        else:
            raise IngestError(f"no such file or folder: {path}")
    return found


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _folder_type(path: Path) -> str | None:
    for parent in path.parents:
        found = normalise_doc_type(parent.name)
        if found:
            return found
    return None


@dataclass
class _Job:
    path: Path
    source: str
    doc_id: str
    size: int
    doc_type: str | None
    is_update: bool


class Ingestor:
    """Loads documents into the store and keeps the manifest true to it."""

    def __init__(
        self, settings: Settings, embedder: Embedder, store: VectorStore, manifest: Manifest
    ) -> None:
        self.settings = settings
        self.embedder = embedder
        self.store = store
        self.manifest = manifest
        budget = min(settings.chunk_tokens, embedder.max_tokens - 2)
        self.chunker = Chunker(embedder.count_tokens, budget, settings.chunk_overlap_tokens)

    # -- maintenance -----------------------------------------------------------------
    def recover(self) -> list[DocumentRow]:
        """Finish what an interrupted run left; return the pending documents to redo."""
        for row in self.manifest.all("deleting"):
            self.store.delete_document(row.doc_id)
            self.manifest.drop(row.doc_id)
        pending = self.manifest.all("pending")
        for row in pending:
            self.store.delete_document(row.doc_id)  # partial chunks from the interrupted run
        return pending

    def remove(self, ref: str) -> DocumentRow:
        """Delete a document's chunks and manifest row, by doc_id (or unique prefix) or path."""
        row = self.find(ref)
        self.manifest.mark_deleting(row.doc_id)
        self.store.delete_document(row.doc_id)
        self.manifest.drop(row.doc_id)
        return row

    def find(self, ref: str) -> DocumentRow:
        rows = self.manifest.all()
        source = str(Path(ref).resolve()) if ref else ""
        exact = [r for r in rows if r.doc_id == ref or r.source == source]
        matches = exact or [r for r in rows if len(ref) >= 6 and r.doc_id.startswith(ref)]
        if len(matches) != 1:
            why = "no document" if not matches else f"{len(matches)} documents"
            raise DocumentNotFoundError(f"{why} match {ref!r}; see `briefing status`")
        return matches[0]

    # -- ingest ----------------------------------------------------------------------
    def ingest(
        self,
        paths: Sequence[Path],
        *,
        doc_type: str | None = None,
        prune: bool = False,
        retry_failed: bool = False,
        progress: ProgressFn | None = None,
    ) -> IngestReport:
        """Bring the store in line with the given files and folders."""
        started = time.perf_counter()
        report = IngestReport()
        forced_type = normalise_doc_type(doc_type) if doc_type else None
        if doc_type and not forced_type:
            raise IngestError(f"unknown document type {doc_type!r}; known: {', '.join(DOC_TYPES)}")
        pending = self.recover()
        files = discover(paths)
        redo = [Path(r.source) for r in pending if Path(r.source).is_file()]
        seen_sources = {str(f.resolve()) for f in files}
        files += [p for p in redo if str(p.resolve()) not in seen_sources]
        jobs = self._plan(files, forced_type, retry_failed, report)
        self._run(jobs, report, progress)
        if prune:
            report.removed = self._prune(paths, seen_sources)
        report.chunks_total = self.store.count()
        report.seconds = time.perf_counter() - started
        return report

    def _plan(
        self, files: list[Path], forced_type: str | None, retry_failed: bool, report: IngestReport
    ) -> list[_Job]:
        jobs: list[_Job] = []
        claimed: set[str] = set()
        limit = int(self.settings.max_file_mb * 1024 * 1024)
        for path in files:
            source = str(path.resolve())
            try:
                size = path.stat().st_size
                doc_id = (
                    hashlib.sha256(f"oversize:{source}:{size}".encode()).hexdigest()
                    if size > limit
                    else file_digest(path)
                )
            except OSError as exc:
                report.failed.append(
                    {"path": str(path), "reason": f"unreadable ({exc.strerror or exc})"}
                )
                continue
            doc_type = forced_type or _folder_type(path)
            if doc_id in claimed:
                report.unchanged += 1
                continue
            claimed.add(doc_id)
            row = self.manifest.get(doc_id)
            if row and row.status == "ready":
                if forced_type and forced_type != row.doc_type:
                    self.manifest.set_type(doc_id, forced_type)
                report.unchanged += 1
                report.doc_ids.append(doc_id)
                continue
            if row and row.status == "failed" and not retry_failed:
                report.failed.append({"path": str(path), "reason": row.reason})
                continue
            if size > limit:
                max_mb = self.settings.max_file_mb
                reason = f"too large ({size / 1048576:.2f} MB; the limit is {max_mb:g} MB)"
                self.manifest.fail(doc_id, source, size, doc_type or "other", reason)
                report.failed.append({"path": str(path), "reason": reason})
                continue
            is_update = any(r.status == "ready" for r in self.manifest.by_source(source))
            jobs.append(_Job(path, source, doc_id, size, doc_type, is_update))
        return jobs

    def _run(self, jobs: list[_Job], report: IngestReport, progress: ProgressFn | None) -> None:
        by_path = {job.path: job for job in jobs}
        limits = Limits(
            self.settings.max_pages, self.settings.max_page_chars, self.settings.max_document_chars
        )
        results = parse_files(
            list(by_path),
            limits,
            workers=self.settings.parse_workers,
            timeout_s=self.settings.parse_timeout_s,
            memory_mb=self.settings.parse_memory_mb,
        )
        for done, result in enumerate(results, start=1):
            job = by_path[result.path]
            if progress:
                progress("files", done, len(jobs))
            if result.document is None:
                self.manifest.fail(
                    job.doc_id, job.source, job.size, job.doc_type or "other", result.reason
                )
                report.failed.append({"path": str(job.path), "reason": result.reason})
                continue
            try:
                chunks = self._store_document(job, result.document, progress, report.set_aside)
            except IngestError as exc:
                self.store.delete_document(job.doc_id)
                self.manifest.fail(
                    job.doc_id, job.source, job.size, job.doc_type or "other", str(exc)
                )
                report.failed.append({"path": str(job.path), "reason": str(exc)})
                continue
            report.chunks_added += chunks
            report.doc_ids.append(job.doc_id)
            report.pages += len(result.document.pages)
            for note in result.document.notes:
                report.notes.append({"path": str(job.path), "note": note})
            if job.is_update:
                report.updated += 1
            else:
                report.added += 1

    def _store_document(
        self,
        job: _Job,
        doc: LoadedDocument,
        progress: ProgressFn | None = None,
        set_aside: dict[str, int] | None = None,
    ) -> int:
        doc_type = job.doc_type or normalise_doc_type(doc.doc_type) or "other"
        self.manifest.start(job.doc_id, job.source, job.size, doc_type)
        self.store.delete_document(job.doc_id)  # leftovers of an interrupted attempt
        # page furniture stays out of the chunks; the manifest keeps whole pages
        chunks, furniture = split_document(self.chunker, doc.pages)
        if not chunks:
            raise IngestError("no text to index after splitting")
        if len(chunks) > self.settings.max_document_chunks:
            raise IngestError(
                f"too many passages ({len(chunks):,}; the limit is "
                f"{self.settings.max_document_chunks:,} per document)"
            )
        base: dict[str, Any] = {
            "doc_id": job.doc_id,
            "source": job.source,
            "title": doc.title,
            "doc_type": doc_type,
        }
        if doc.year:
            base["year"] = doc.year
        batch = max(self.settings.embedding_batch_size, 1) * 4
        for first in range(0, len(chunks), batch):
            part = chunks[first : first + batch]
            vectors = self.embedder.embed([c.embed_text for c in part])
            self.store.upsert(
                [chunk_id(job.doc_id, c) for c in part],
                [c.text for c in part],
                vectors,
                [_chunk_metadata(base, c) for c in part],
            )
            if progress:
                progress("chunks", first + len(part), len(chunks))
        self.manifest.finish(
            job.doc_id,
            title=doc.title,
            doc_type=doc_type,
            year=doc.year,
            pages=doc.pages,
            chunks=len(chunks),
            notes="; ".join(doc.notes),
        )
        for row in self.manifest.all("deleting"):
            self.store.delete_document(row.doc_id)
            self.manifest.drop(row.doc_id)
        if set_aside is not None:
            counts = furniture.counts()
            merged = {
                k: set_aside.get(k, 0) + counts.get(k, 0)
                for k in KINDS
                if k in set_aside or k in counts
            }
            set_aside.clear()
            set_aside.update(merged)
        return len(chunks)

    def _prune(self, roots: Sequence[Path], present: set[str]) -> int:
        """Remove documents whose file under one of ``roots`` no longer exists."""
        prefixes = [str(r.resolve()) for r in roots]
        removed = 0
        for row in self.manifest.all():
            inside = any(
                row.source == p or row.source.startswith(p.rstrip(os.sep) + os.sep)
                for p in prefixes
            )
            if inside and row.source not in present:
                self.manifest.mark_deleting(row.doc_id)
                self.store.delete_document(row.doc_id)
                self.manifest.drop(row.doc_id)
                removed += 1
        return removed


def chunk_id(doc_id: str, chunk: Chunk) -> str:
    """Deterministic: the same document always yields the same ids, so writes are upserts."""
    return f"{doc_id}-{chunk.index:05d}"


def _chunk_metadata(base: dict[str, Any], chunk: Chunk) -> dict[str, Any]:
    meta = {
        **base,
        "page": chunk.page,
        "section": chunk.section,
        "chunk_index": chunk.index,
        "start": chunk.start,
        "end": chunk.end,
    }
    if chunk.table_header:
        meta["table_header"] = chunk.table_header
    return meta
