"""Evaluation datasets: question cases, critique gold rows and feedback rows read from JSONL."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assistant.core.errors import ConfigError
from evals import metrics as m


@dataclass
class Datasets:
    questions: list[dict[str, Any]] = field(default_factory=list)
    critique: list[dict[str, Any]] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)


def cases_from_feedback(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Turn feedback rows from the web UI into dataset cases of kind ``feedback``.

    A row is ``{"question", "answer", "rating": "up"|"down", "comment", "citations", "history"}``.
    Whether the corpus answers the question is unknown, so ``answerable`` is None (decline
    metrics skip the case); the comment becomes the note; a thumbs-up makes the cited pages the
    gold (so retrieval metrics check them). The id is a hash of question and history: exporting
    the same feedback twice gives the same case.
    """
    cases = []
    for row in rows:
        question = str(row.get("question") or "").strip()
        if not question:
            continue
        rating = row.get("rating")
        if rating not in ("up", "down"):
            raise ConfigError(f"feedback rating must be 'up' or 'down', got {rating!r}")
        history = [
            {"role": h["role"], "content": str(h["content"])}
            for h in row.get("history") or []
            if isinstance(h, dict) and h.get("role") in ("user", "assistant") and h.get("content")
        ]
        gold: dict[m.PageKey, dict[str, Any]] = {}
        if rating == "up":
            for c in row.get("citations") or []:
                if isinstance(c, dict) and c.get("source") and c.get("page") is not None:
                    key = m.page_key(c["source"], c["page"])
                    gold.setdefault(
                        key, {"source": key[0], "page": key[1], "section": c.get("section", "")}
                    )
        digest = hashlib.sha256(
            json.dumps([question, history], ensure_ascii=False).encode()
        ).hexdigest()[:10]
        cases.append(
            {
                "id": f"fb-{digest}",
                "kind": "feedback",
                "question": question,
                "history": history,
                "gold": list(gold.values()),
                "facts": [],
                "answerable": None,
                "rating": rating,
                "note": str(row.get("comment") or "").strip(),
                "feedback_answer": str(row.get("answer") or ""),
            }
        )
    return cases


def load_datasets(paths: Sequence[Path]) -> Datasets:
    """Read JSONL files of question cases, critique gold rows or feedback rows (mixed is fine)."""
    data = Datasets(files=[Path(p) for p in paths])
    for path in data.files:
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise ConfigError(f"cannot read dataset {path}: {exc.strerror or exc}") from None
        for n, raw in enumerate(lines, 1):
            if not raw.strip():
                continue
            try:
                row = json.loads(raw)
            except json.JSONDecodeError as exc:
                raise ConfigError(f"{path}:{n}: not valid JSON ({exc.msg})") from None
            if not isinstance(row, dict):
                raise ConfigError(f"{path}:{n}: each line must be a JSON object")
            if "cause_id" in row and "plan" in row:
                data.critique.append(row)
            elif row.get("rating") in ("up", "down") and "answer" in row and "id" not in row:
                data.questions += cases_from_feedback([row])
            elif isinstance(row.get("question"), str) and row.get("id"):
                row.setdefault("kind", "other")
                for key in ("history", "gold", "facts"):
                    row.setdefault(key, [])
                row.setdefault("answerable", None)
                data.questions.append(row)
            else:
                raise ConfigError(
                    f"{path}:{n}: not a question case (id, question), a critique row "
                    "(plan, cause_id, rating) or a feedback row (question, answer, rating)"
                )
    ids = [c["id"] for c in data.questions]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise ConfigError(f"duplicate case id(s) across the datasets: {', '.join(duplicates[:5])}")
    return data
