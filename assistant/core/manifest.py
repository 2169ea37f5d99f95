"""The manifest: a SQLite record of every document, its state and its page texts.

A document moves ``pending`` -> ``ready`` (or ``failed`` with a reason). A replaced or removed
document passes through ``deleting`` until its chunks are gone. Page texts are kept so that a
citation's quote can be checked against the page it names.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from assistant.core.storage import open_sqlite, read_only_error, writing

SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    doc_id     TEXT PRIMARY KEY,
    source     TEXT NOT NULL,
    title      TEXT NOT NULL DEFAULT '',
    doc_type   TEXT NOT NULL DEFAULT 'other',
    year       INTEGER,
    pages      INTEGER NOT NULL DEFAULT 0,
    chunks     INTEGER NOT NULL DEFAULT 0,
    status     TEXT NOT NULL CHECK (status IN ('pending', 'ready', 'failed', 'deleting')),
    reason     TEXT NOT NULL DEFAULT '',
    notes      TEXT NOT NULL DEFAULT '',
    bytes      INTEGER NOT NULL DEFAULT 0,
    updated_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS documents_source ON documents(source);
CREATE TABLE IF NOT EXISTS pages (
    doc_id TEXT NOT NULL,
    page   INTEGER NOT NULL,
    text   TEXT NOT NULL,
    PRIMARY KEY (doc_id, page)
);
"""


@dataclass(frozen=True)
class DocumentRow:
    """One manifest row."""

    doc_id: str
    source: str
    title: str
    doc_type: str
    year: int | None
    pages: int
    chunks: int
    status: str
    reason: str
    notes: str
    bytes: int
    updated_at: float


class Manifest:
    """Transactional access to the manifest database."""

    def __init__(self, path: Path) -> None:
        """Open (or create) the manifest; in a read-only folder it opens read-only."""
        self.path = path
        self._db, self.read_only = open_sqlite(path, SCHEMA)

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; a read-only or full disk fails with its one-line error."""
        if self.read_only:
            raise read_only_error(self.path.parent)
        with writing(self.path.parent):
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
                self._db.execute("COMMIT")
            except BaseException:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise

    def _rows(self, sql: str, args: Sequence[object] = ()) -> list[DocumentRow]:
        cur = self._db.execute(
            f"SELECT {', '.join(DocumentRow.__dataclass_fields__)} FROM documents {sql}", args
        )
        return [DocumentRow(*row) for row in cur.fetchall()]

    def get(self, doc_id: str) -> DocumentRow | None:
        rows = self._rows("WHERE doc_id = ?", (doc_id,))
        return rows[0] if rows else None

    def by_source(self, source: str) -> list[DocumentRow]:
        return self._rows("WHERE source = ? ORDER BY updated_at", (source,))

    def all(self, status: str | None = None) -> list[DocumentRow]:
        if status:
            return self._rows("WHERE status = ? ORDER BY source", (status,))
        return self._rows("ORDER BY source")

    def generation(self) -> tuple[int, float]:
        """Changes whenever any document changes state: a cheap staleness check for caches."""
        row = self._db.execute(
            "SELECT count(*), coalesce(max(updated_at), 0) FROM documents"
        ).fetchone()
        return int(row[0]), float(row[1])

    def all_settled(self) -> bool:
        """True when no document is half-written (pending) or being deleted."""
        row = self._db.execute(
            "SELECT count(*) FROM documents WHERE status IN ('pending', 'deleting')"
        ).fetchone()
        return row[0] == 0

    def ready_ids(self) -> set[str]:
        return {
            r[0] for r in self._db.execute("SELECT doc_id FROM documents WHERE status = 'ready'")
        }

    def start(self, doc_id: str, source: str, size: int, doc_type: str) -> None:
        """Record a document as pending before any of its chunks is written."""
        with self.transaction() as db:
            db.execute(
                "INSERT INTO documents (doc_id, source, doc_type, status, bytes, updated_at) "
                "VALUES (?, ?, ?, 'pending', ?, ?) ON CONFLICT(doc_id) DO UPDATE SET "
                "source = excluded.source, doc_type = excluded.doc_type, status = 'pending', "
                "reason = '', bytes = excluded.bytes, updated_at = excluded.updated_at",
                (doc_id, source, doc_type, size, time.time()),
            )

    def finish(
        self,
        doc_id: str,
        *,
        title: str,
        doc_type: str,
        year: int | None,
        pages: Sequence[str],
        chunks: int,
        notes: str,
    ) -> None:
        """Mark a document ready and retire older versions of the same source, atomically."""
        with self.transaction() as db:
            (source,) = db.execute(
                "SELECT source FROM documents WHERE doc_id = ?", (doc_id,)
            ).fetchone()
            db.execute("DELETE FROM pages WHERE doc_id = ?", (doc_id,))
            db.executemany(
                "INSERT INTO pages (doc_id, page, text) VALUES (?, ?, ?)",
                [(doc_id, n, text) for n, text in enumerate(pages, start=1)],
            )
            db.execute(
                "UPDATE documents SET title = ?, doc_type = ?, year = ?, pages = ?, chunks = ?, "
                "status = 'ready', reason = '', notes = ?, updated_at = ? WHERE doc_id = ?",
                (title, doc_type, year, len(pages), chunks, notes, time.time(), doc_id),
            )
            db.execute(
                "UPDATE documents SET status = 'deleting', updated_at = ? "
                "WHERE source = ? AND doc_id != ? AND status != 'failed'",
                (time.time(), source, doc_id),
            )
            db.execute(
                "DELETE FROM documents WHERE source = ? AND doc_id != ? AND status = 'failed'",
                (source, doc_id),
            )

    def fail(self, doc_id: str, source: str, size: int, doc_type: str, reason: str) -> None:
        """Record why a document was skipped; it is retried when its file changes."""
        with self.transaction() as db:
            db.execute(
                "INSERT INTO documents (doc_id, source, doc_type, status, reason, bytes, "
                "updated_at) "
                "VALUES (?, ?, ?, 'failed', ?, ?, ?) ON CONFLICT(doc_id) DO UPDATE SET "
                "source = excluded.source, status = 'failed', reason = excluded.reason, "
                "chunks = 0, updated_at = excluded.updated_at",
                (doc_id, source, doc_type, reason, size, time.time()),
            )
            db.execute("DELETE FROM pages WHERE doc_id = ?", (doc_id,))

    def mark_deleting(self, doc_id: str) -> None:
        with self.transaction() as db:
            db.execute(
                "UPDATE documents SET status = 'deleting', updated_at = ? WHERE doc_id = ?",
                (time.time(), doc_id),
            )

    def drop(self, doc_id: str) -> None:
        """Forget a document whose chunks are already gone."""
        with self.transaction() as db:
            db.execute("DELETE FROM pages WHERE doc_id = ?", (doc_id,))
            db.execute("DELETE FROM documents WHERE doc_id = ?", (doc_id,))

    def set_type(self, doc_id: str, doc_type: str) -> None:
        with self.transaction() as db:
            db.execute(
                "UPDATE documents SET doc_type = ?, updated_at = ? WHERE doc_id = ?",
                (doc_type, time.time(), doc_id),
            )

    def page_text(self, doc_id: str, page: int) -> str | None:
        row = self._db.execute(
            "SELECT text FROM pages WHERE doc_id = ? AND page = ?", (doc_id, page)
        ).fetchone()
        return row[0] if row else None
