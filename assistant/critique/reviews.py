"""Saved critique runs and the reviewers' decisions on them: SQLite in the data directory.

Every run is saved once with a ``critique_id`` and never changed: the plan's doc_id and content
digest, the framework and its version, and the machine draft as JSON. Decisions are appended,
never updated, in ``BEGIN IMMEDIATE`` transactions (one writer at a time; the "from" side of a
change is read inside the same transaction, so two reviewers never lose each other's decisions).
WAL and ``synchronous=FULL`` make a decision durable once the call returns, as the manifest is.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from assistant.core.errors import BriefingError
from assistant.core.models import Critique
from assistant.core.storage import open_sqlite
from assistant.critique.decisions import Action, DecidedReview, Decision, decided

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    critique_id       TEXT PRIMARY KEY,
    kind              TEXT NOT NULL CHECK (kind IN ('critique', 'followup')),
    doc_id            TEXT NOT NULL,
    digest            TEXT NOT NULL,
    title             TEXT NOT NULL,
    framework         TEXT NOT NULL,
    framework_version INTEGER NOT NULL,
    created_by        TEXT NOT NULL,
    created_at        REAL NOT NULL,
    draft             TEXT NOT NULL,
    extra             TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE IF NOT EXISTS decisions (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    critique_id TEXT NOT NULL REFERENCES runs(critique_id),
    cause_id    TEXT NOT NULL,
    action      TEXT NOT NULL CHECK (action IN ('accept', 'reject', 'edit', 'note')),
    changes     TEXT NOT NULL,
    note        TEXT NOT NULL DEFAULT '',
    who         TEXT NOT NULL,
    at          REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS decisions_run ON decisions(critique_id, seq);
"""
MAX_NOTE = 2000
MAX_WHO = 120


class ReviewNotFoundError(BriefingError):
    """No saved run has that id (or the prefix is ambiguous)."""


class SavedRun(BaseModel):
    """One saved run, as ``briefing review list`` shows it."""

    critique_id: str
    kind: str
    doc_id: str
    digest: str
    title: str
    framework: str
    framework_version: int
    created_by: str
    created_at: float
    decided: int = 0
    findings: int = 0


def plan_digest(pages: list[str]) -> str:
    """The content digest of a plan: sha256 of its page texts (what the critique read)."""
    h = hashlib.sha256()
    for text in pages:
        h.update(text.encode("utf-8", "replace") + b"\x0c")
    return h.hexdigest()


def _who(who: str) -> str:
    who = " ".join((who or "").split())[:MAX_WHO]
    return who or "local"


class ReviewStore:
    """The runs and decisions database (``<data_dir>/reviews.sqlite3``)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        # a read-only data dir (a mounted archive) opens read-only: drafts still run, unsaved
        self._db, self.read_only = open_sqlite(path, SCHEMA)
        self._lock = threading.RLock()

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        # One connection serves every thread of a server: a lock keeps one transaction on it at
        # a time; BEGIN IMMEDIATE does the same between processes (the CLI beside the server).
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _read(self, sql: str, args: tuple[Any, ...] = ()) -> list[Any]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    # -- runs ---------------------------------------------------------------------------------

    def save(
        self,
        critique: Critique,
        digest: str,
        who: str = "local",
        *,
        kind: str = "critique",
        extra: dict[str, Any] | None = None,
    ) -> str:
        """Save a run under a new ``critique_id`` (set on ``critique`` too) and return the id."""
        critique_id = time.strftime("%Y%m%d") + "-" + uuid.uuid4().hex[:8]
        critique.critique_id = critique_id
        with self._transaction() as db:
            db.execute(
                "INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    critique_id,
                    kind,
                    critique.plan.doc_id,
                    digest,
                    critique.plan.title,
                    critique.framework,
                    critique.framework_version,
                    _who(who),
                    time.time(),
                    critique.model_dump_json(),
                    json.dumps(extra or {}),
                ),
            )
        return critique_id

    def resolve(self, ref: str) -> str:
        """The full id of a run from the id or a unique prefix of it."""
        ref = (ref or "").strip()
        if not ref:
            raise ReviewNotFoundError("no critique_id given")
        rows = self._read(
            "SELECT critique_id FROM runs WHERE critique_id = ? OR critique_id LIKE ? LIMIT 3",
            (ref, ref.replace("%", "").replace("_", "") + "%"),
        )
        exact = [r[0] for r in rows if r[0] == ref]
        if exact or len(rows) == 1:
            return exact[0] if exact else rows[0][0]
        if not rows:
            raise ReviewNotFoundError(f"no saved critique {ref!r}; see `briefing review list`")
        raise ReviewNotFoundError(f"critique_id prefix {ref!r} is ambiguous; give more of it")

    def runs(self) -> list[SavedRun]:
        """Every saved run, newest first, with how many of its findings have a decision."""
        rows = self._read(
            "SELECT critique_id, kind, doc_id, digest, title, framework, framework_version,"
            " created_by, created_at, draft FROM runs ORDER BY created_at DESC"
        )
        decided_counts = dict(
            self._read(
                "SELECT critique_id, COUNT(DISTINCT cause_id) FROM decisions"
                " WHERE action != 'note' GROUP BY critique_id"
            )
        )
        out = []
        for r in rows:
            findings = len(json.loads(r[9]).get("findings", []))
            out.append(
                SavedRun(
                    critique_id=r[0],
                    kind=r[1],
                    doc_id=r[2],
                    digest=r[3],
                    title=r[4],
                    framework=r[5],
                    framework_version=r[6],
                    created_by=r[7],
                    created_at=r[8],
                    decided=decided_counts.get(r[0], 0),
                    findings=findings,
                )
            )
        return out

    def run(self, ref: str) -> SavedRun:
        """One saved run's row."""
        critique_id = self.resolve(ref)
        return next(r for r in self.runs() if r.critique_id == critique_id)

    def draft(self, ref: str) -> Critique:
        """The machine draft as it was saved."""
        critique_id = self.resolve(ref)
        ((text,),) = self._read("SELECT draft FROM runs WHERE critique_id = ?", (critique_id,))
        return Critique.model_validate_json(text)

    def extra(self, ref: str) -> dict[str, Any]:
        """What a run saved beside its draft (a follow-up's comparison)."""
        critique_id = self.resolve(ref)
        ((text,),) = self._read("SELECT extra FROM runs WHERE critique_id = ?", (critique_id,))
        return dict(json.loads(text))

    # -- decisions ----------------------------------------------------------------------------

    def _log(self, critique_id: str) -> list[Decision]:
        rows = self._read(
            "SELECT seq, cause_id, action, changes, note, who, at FROM decisions"
            " WHERE critique_id = ? ORDER BY seq",
            (critique_id,),
        )
        return [
            Decision(
                seq=r[0],
                critique_id=critique_id,
                cause_id=r[1],
                action=r[2],
                changes=json.loads(r[3]),
                note=r[4],
                who=r[5],
                at=r[6],
            )
            for r in rows
        ]

    def review(self, ref: str) -> DecidedReview:
        """The draft with every decision applied, and the decision log."""
        critique_id = self.resolve(ref)
        return decided(self.draft(critique_id), self._log(critique_id))

    def decide(
        self,
        ref: str,
        cause_id: str,
        action: Action,
        changes: Callable[[DecidedReview], dict[str, Any]],
        *,
        note: str = "",
        who: str = "local",
    ) -> Decision:
        """Append one decision; ``changes`` computes what it changes from the current review.

        The current review is read inside the write transaction, so "from" is always what the
        last committed decision left, whoever made it.
        """
        critique_id = self.resolve(ref)
        note = " ".join((note or "").split())
        if len(note) > MAX_NOTE:
            raise BriefingError(f"the note is {len(note):,} characters; the limit is {MAX_NOTE:,}")
        if action == "reject" and not note:
            raise BriefingError("a rejection needs a reason (--note TEXT)")
        if action == "note" and not note:
            raise BriefingError("the note is empty")
        draft = self.draft(critique_id)
        with self._transaction() as db:
            current = decided(draft, self._log(critique_id))
            canonical = current.state(cause_id).cause_id if action != "note" else ""
            made = changes(current)
            at = time.time()
            cursor = db.execute(
                "INSERT INTO decisions (critique_id, cause_id, action, changes, note, who, at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (critique_id, canonical, action, json.dumps(made), note, _who(who), at),
            )
            seq = int(cursor.lastrowid or 0)
        return Decision(
            seq=seq,
            critique_id=critique_id,
            cause_id=canonical,
            action=action,
            changes=made,
            note=note,
            who=_who(who),
            at=at,
        )
