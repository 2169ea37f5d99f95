"""Feedback on answers: thumbs up or down and an optional comment, kept in SQLite.

Every rating stores what was asked, what was answered, the sources cited and the conversation
before it, so that ``export_cases()`` can turn the ratings into evaluation cases in the schema of
``evals/datasets/questions.jsonl`` (kind ``feedback``): a thumbs-up case takes its gold pages from
the sources the answer cited; a thumbs-down case has no gold until a person adds it.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from assistant.core.errors import BriefingError

SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at REAL NOT NULL,
    question   TEXT NOT NULL,
    answer     TEXT NOT NULL,
    rating     TEXT NOT NULL CHECK (rating IN ('up', 'down')),
    comment    TEXT NOT NULL DEFAULT '',
    citations  TEXT NOT NULL DEFAULT '[]',
    history    TEXT NOT NULL DEFAULT '[]'
);
"""

RATINGS = ("up", "down")
MAX_QUESTION_CHARS = 20_000
MAX_ANSWER_CHARS = 100_000
MAX_COMMENT_CHARS = 2_000
MAX_JSON_CHARS = 500_000


class FeedbackError(BriefingError):
    """A rating or comment that cannot be stored (bad rating, too long, malformed JSON)."""


def _json_list(value: str | list[Any], field: str) -> str:
    """``value`` as JSON text of a list; a string must already be one."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    if len(text) > MAX_JSON_CHARS:
        raise FeedbackError(
            f"{field} is {len(text):,} characters of JSON; the limit is {MAX_JSON_CHARS:,}"
        )
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        raise FeedbackError(f"{field} must be a JSON list") from None
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        raise FeedbackError(f"{field} must be a JSON list of objects")
    return text


def _capped(value: str, field: str, limit: int) -> str:
    if not isinstance(value, str):
        raise FeedbackError(f"{field} must be text")
    if len(value) > limit:
        raise FeedbackError(f"the {field} is {len(value):,} characters; the limit is {limit:,}")
    return value


class FeedbackStore:
    """Ratings of answers in one SQLite file (created on first use)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(
                self.path, timeout=30, isolation_level=None, check_same_thread=False
            )
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(SCHEMA)
            self._db = db
        return self._db

    def record(
        self,
        question: str,
        answer_text: str,
        rating: str,
        comment: str = "",
        citations: str | list[dict[str, Any]] = "[]",
        history: str | list[dict[str, Any]] = "[]",
    ) -> int:
        """Store one rating; returns its id (for a comment added later).

        Raises:
            FeedbackError: naming the field, for a bad rating, text over its limit or bad JSON.
        """
        if rating not in RATINGS:
            raise FeedbackError(f"rating must be 'up' or 'down', not {rating!r}")
        question = _capped(question, "question", MAX_QUESTION_CHARS).strip()
        if not question:
            raise FeedbackError("a rating needs the question it rates")
        answer_text = _capped(answer_text, "answer", MAX_ANSWER_CHARS)
        comment = _capped(comment or "", "comment", MAX_COMMENT_CHARS).strip()
        citations_json = _json_list(citations, "citations")
        history_json = _json_list(history, "history")
        with self._lock:
            cur = self._conn().execute(
                "INSERT INTO feedback (created_at, question, answer, rating, comment, citations, "
                "history)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (time.time(), question, answer_text, rating, comment, citations_json, history_json),
            )
            return int(cur.lastrowid or 0)

    def set_comment(self, feedback_id: int, comment: str) -> None:
        """Attach (or replace) the comment of a stored rating."""
        comment = _capped(comment or "", "comment", MAX_COMMENT_CHARS).strip()
        self._update(
            "UPDATE feedback SET comment = ? WHERE id = ?", (comment, int(feedback_id)), feedback_id
        )

    def set_rating(self, feedback_id: int, rating: str) -> None:
        """Change a stored rating (the user changed their mind)."""
        if rating not in RATINGS:
            raise FeedbackError(f"rating must be 'up' or 'down', not {rating!r}")
        self._update(
            "UPDATE feedback SET rating = ? WHERE id = ?", (rating, int(feedback_id)), feedback_id
        )

    def delete(self, feedback_id: int) -> None:
        """Forget a rating (the user took it back)."""
        self._update("DELETE FROM feedback WHERE id = ?", (int(feedback_id),), feedback_id)

    def _update(self, sql: str, args: tuple[Any, ...], feedback_id: int) -> None:
        with self._lock:
            cur = self._conn().execute(sql, args)
        if cur.rowcount != 1:
            raise FeedbackError(f"no rating with id {feedback_id}")

    def all(self) -> list[dict[str, Any]]:
        """Every stored rating, oldest first, with citations and history decoded."""
        with self._lock:
            cur = self._conn().execute(
                "SELECT id, created_at, question, answer, rating, comment, citations, history "
                "FROM feedback ORDER BY id"
            )
            rows = cur.fetchall()
        keys = (
            "id",
            "created_at",
            "question",
            "answer",
            "rating",
            "comment",
            "citations",
            "history",
        )
        out = []
        for row in rows:
            item = dict(zip(keys, row, strict=True))
            item["citations"] = json.loads(item["citations"])
            item["history"] = json.loads(item["history"])
            out.append(item)
        return out

    def export_cases(self) -> list[dict[str, Any]]:
        """The ratings as evaluation cases (``evals/datasets/README.md`` schema, kind ``feedback``).

        ``gold`` holds the cited pages (file name, page, section) of thumbs-up answers and is
        empty for thumbs-down ones; ``facts`` is left for a reviewer to fill; ``note`` is the
        comment. ``rating`` and ``answer`` are extra fields to help that reviewer.
        """
        cases = []
        for item in self.all():
            gold: list[dict[str, Any]] = []
            if item["rating"] == "up":
                seen: set[tuple[str, int]] = set()
                for c in item["citations"]:
                    source = Path(str(c.get("source", ""))).name
                    page = c.get("page")
                    if not source or not isinstance(page, int) or (source, page) in seen:
                        continue
                    seen.add((source, page))
                    gold.append(
                        {"source": source, "page": page, "section": str(c.get("section", ""))}
                    )
            history = [
                {"role": h.get("role"), "content": h.get("content", "")}
                for h in item["history"]
                if h.get("role") in ("user", "assistant")
            ]
            cases.append(
                {
                    "id": f"fb-{item['id']:04d}",
                    "kind": "feedback",
                    "question": item["question"],
                    "history": history,
                    "gold": gold,
                    "facts": [],
                    "answerable": True,
                    "note": item["comment"],
                    "rating": item["rating"],
                    "answer": item["answer"],
                }
            )
        return cases

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None
