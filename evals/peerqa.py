"""External suites: real documents nobody on the team wrote, read from ``../shared`` at run time.

``peerqa``: an outside team's question sets over three public documents (``../shared/peer-qa``
or ``BRIEFING_PEERQA_DIR``; CSV columns ``question, answer, tokens_present, document``). An
answer scores the share of its ``tokens_present`` found in it (case-insensitive substrings; a
decline scores 0). The score rewards length, so the median answer length is reported beside
it, with the same share for the top-1 and top-3 retrieved passages (what retrieval made
available), for the best 120-word stretch of any one retrieved passage (an oracle that knows the
terms: the ceiling for an answer of that length quoted from one place) and the declines (every
question is answerable). Beside them run our own near misses on the same documents
(``evals/datasets/peerqa_near_misses.jsonl``, in our words: a fee in dollars, a telephone
number, a named minister... that the documents do not give), so that declines are also measured
on documents the decline rules were not written on: the share of them declined, and the share
of all declines that were near misses.

``realdocs``: our own development set (``evals/datasets/realdocs.jsonl``, written in our words)
over ``../shared/realdocs`` (or ``BRIEFING_REALDOCS_DIR``): the share of the expected facts in
the answer, and the precision and recall of declines, counted per part for multi-part questions.

Nothing is copied into the project: the documents and the outside questions are read where
they are, and a suite whose folder is missing is reported as skipped.
"""

from __future__ import annotations

import ast
import csv
import json
import os
import random
import re
import statistics
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from assistant.core.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]
DEVSET = Path(__file__).resolve().parent / "datasets" / "realdocs.jsonl"
NEAR_MISSES = Path(__file__).resolve().parent / "datasets" / "peerqa_near_misses.jsonl"
REALDOC_FILES = {  # file -> document type at ingest
    "italy-three-year-ict-plan-2017-2019.txt": "master_plan",
    "italy-three-year-ict-plan-annex-2.pdf": "master_plan",
    "18f-derisking-federal-field-guide.pdf": "lessons_learned",
    "18f-state-software-budgeting-handbook.pdf": "lessons_learned",
    "gao-07-791-it-mobile-devices.pdf": "review",
    "gao-05-927-managing-for-results.pdf": "review",
}
_PART = re.compile(r"^\*\*\d+\. .*\*\*$", re.MULTILINE)  # a part's heading in a briefing
_JUNK = re.compile(r"(?:\.\s?){5,}|\bpage \d+ of \d+\b", re.IGNORECASE)


def shared_dir(name: str, env: str) -> Path | None:
    """``$env`` or ``../shared/<name>`` beside the repository, when it exists."""
    folder = Path(os.environ[env]) if os.environ.get(env) else ROOT.parent / "shared" / name
    return folder if folder.is_dir() else None


def load_peerqa(
    folder: Path, documents: Sequence[str] = (), sample: int | None = None, seed: int = 0
) -> list[dict[str, Any]]:
    """The outside questions, optionally only some documents' and a fixed-seed sample of them."""
    cases = []
    for path in sorted(folder.glob("token_presence_*.csv")):
        with path.open(encoding="utf-8", newline="") as handle:
            for n, row in enumerate(csv.DictReader(handle), 2):
                try:
                    terms = ast.literal_eval(row["tokens_present"])
                except (KeyError, ValueError, SyntaxError) as exc:
                    raise ConfigError(
                        f"{path}:{n}: tokens_present is not a list literal ({exc})"
                    ) from None
                cases.append(
                    {
                        "question": row["question"],
                        "terms": [str(t) for t in terms],
                        "document": row["document"],
                    }
                )
    if documents:
        cases = [c for c in cases if c["document"] in documents]
    if sample is not None and sample < len(cases):
        cases = random.Random(seed).sample(cases, sample)
    return cases


def load_near_misses(
    documents: Sequence[str] = (), path: Path = NEAR_MISSES
) -> list[dict[str, Any]]:
    """Our unanswerable questions on the peer-qa documents, optionally only some documents'."""
    cases = _read_jsonl(path, "the near misses")
    return [c for c in cases if not documents or c["document"] in documents]


def _read_jsonl(path: Path, what: str) -> list[dict[str, Any]]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ConfigError(f"cannot read {what} {path}: {exc.strerror or exc}") from None
    return [json.loads(line) for line in lines if line.strip()]


def presence(text: str, terms: Sequence[str]) -> float:
    """Share of ``terms`` found in ``text`` (case-insensitive substrings, whitespace folded)."""
    body = " ".join(text.split()).lower()
    return sum(" ".join(t.split()).lower() in body for t in terms) / len(terms) if terms else 0.0


def best_window(texts: Sequence[str], terms: Sequence[str], words: int = 120) -> float:
    """The most key terms any ``words``-word stretch of one passage holds (an oracle: it knows
    the terms), the ceiling for an answer of that length quoted from one place."""
    best = 0.0
    for text in texts:
        tokens = text.split()
        for start in range(0, max(len(tokens) - words, 0) + 10, 10):
            best = max(best, presence(" ".join(tokens[start : start + words]), terms))
    return best


def parts_of(text: str) -> list[str]:
    """The bodies of a multi-part answer, one per ``**n. part**`` heading (else the whole text)."""
    heads = list(_PART.finditer(text))
    if not heads:
        return [text]
    ends = [h.start() for h in heads[1:]] + [len(text)]
    return [text[h.end() : end] for h, end in zip(heads, ends, strict=True)]


def _ask(service: Any, question: str) -> tuple[Any, float]:
    started = time.perf_counter()
    answer = service.ask(question)
    return answer, (time.perf_counter() - started) * 1000


def _summary(rows: list[dict[str, Any]]) -> dict[str, float | int | None]:
    return {
        "median_words": statistics.median(r["words"] for r in rows) if rows else None,
        "answer_ms_p50": statistics.median(r["answer_ms"] for r in rows) if rows else None,
        "total_ms_p50": statistics.median(r["ms"] for r in rows) if rows else None,
        "junk_answers": sum(r["junk"] for r in rows),
    }


def score_peerqa(
    service: Any, cases: Sequence[dict[str, Any]], near_misses: Sequence[dict[str, Any]] = ()
) -> dict[str, Any]:
    """Ask every outside question and every near miss; the metrics and one row per case."""
    rows = []
    for case in cases:
        answer, ms = _ask(service, case["question"])
        top = [p.text for p in answer.passages]
        rows.append(
            {
                "question": case["question"],
                "document": case["document"],
                "answered": answer.answered,
                "presence": presence(answer.text, case["terms"]) if answer.answered else 0.0,
                "top1": presence(top[0], case["terms"]) if top else 0.0,
                "top3": presence(" ".join(top[:3]), case["terms"]) if top else 0.0,
                "window": best_window(top, case["terms"]),
                "words": len(answer.text.split()),
                "ms": ms,
                "answer_ms": answer.timings.get("answer_ms", 0.0),
                "junk": bool(_JUNK.search(answer.text)),
                "text": answer.text,
            }
        )
    misses = []
    for case in near_misses:
        answer, ms = _ask(service, case["question"])
        misses.append(
            {
                "id": case["id"],
                "question": case["question"],
                "document": case["document"],
                "answered": answer.answered,
                "junk": bool(_JUNK.search(answer.text)),
                "text": answer.text,
            }
        )
    caught = sum(not m["answered"] for m in misses)
    declined = sum(not r["answered"] for r in rows) + caught
    metrics = {
        "cases": len(rows),
        "near_misses": len(misses),
        "decline_recall": caught / len(misses) if misses else None,
        "decline_precision": caught / declined if misses and declined else None,
        "key_terms": statistics.mean(r["presence"] for r in rows) if rows else None,
        "top1_key_terms": statistics.mean(r["top1"] for r in rows) if rows else None,
        "top3_key_terms": statistics.mean(r["top3"] for r in rows) if rows else None,
        "window_key_terms": statistics.mean(r["window"] for r in rows) if rows else None,
        "declined": sum(not r["answered"] for r in rows),
        "declined_share": sum(not r["answered"] for r in rows) / len(rows) if rows else None,
        **_summary(rows),
    }
    return {"metrics": metrics, "cases": rows, "near_misses": misses}


def load_devset(path: Path = DEVSET) -> list[dict[str, Any]]:
    return _read_jsonl(path, "the development set")


def score_devset(service: Any, cases: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Ask every development question; facts found, and declines per question or per part."""
    rows, decisions = [], []
    for case in cases:
        answer, ms = _ask(service, case["question"])
        row = {
            "id": case["id"],
            "kind": case.get("kind", ""),
            "answerable": case["answerable"],
            "answered": answer.answered,
            "words": len(answer.text.split()),
            "ms": ms,
            "answer_ms": answer.timings.get("answer_ms", 0.0),
            "junk": bool(_JUNK.search(answer.text)),
            "text": answer.text,
        }
        if case["answerable"] and case.get("facts"):
            top = [p.text for p in answer.passages]
            row["facts"] = presence(answer.text, case["facts"]) if answer.answered else 0.0
            row["top1"] = presence(top[0], case["facts"]) if top else 0.0
            row["top3"] = presence(" ".join(top[:3]), case["facts"]) if top else 0.0
        parts = case.get("parts") or []
        bodies = parts_of(answer.text)
        if parts and len(bodies) == len(parts):
            row["split"] = True
            for part, body in zip(parts, bodies, strict=True):
                decisions.append((part["answerable"], "do not appear to answer" not in body))
        else:
            row["split"] = False
            decisions += [(p["answerable"], answer.answered) for p in parts] or [
                (case["answerable"], answer.answered)
            ]
        rows.append(row)
    declined = [a for a, answered in decisions if not answered]
    unanswerable = sum(not a for a, _ in decisions)
    with_facts = [r for r in rows if "facts" in r]
    metrics = {
        "cases": len(rows),
        "facts": statistics.mean(r["facts"] for r in with_facts) if with_facts else None,
        "top1_facts": statistics.mean(r["top1"] for r in with_facts) if with_facts else None,
        "top3_facts": statistics.mean(r["top3"] for r in with_facts) if with_facts else None,
        "decline_precision": sum(not a for a in declined) / len(declined) if declined else None,
        "decline_recall": sum(not a for a in declined) / unanswerable if unanswerable else None,
        "answerable_declined_share": sum(a for a in declined)
        / max(sum(a for a, _ in decisions), 1),
        "multi_part_split": sum(r["split"] for r in rows if r["kind"] == "multi_part"),
        **_summary(rows),
    }
    return {"metrics": metrics, "cases": rows}
