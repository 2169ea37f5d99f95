"""``briefing eval --suite peerqa|realdocs``: ingest the shared documents, score, gate.

Each suite's store is kept under the report folder, so a second run skips the ingest. The
floors and ceilings live in the ``suites:`` section of ``evals/thresholds.yaml`` (``peerqa``:
every outside question; ``peerqa_ci``: the fixed sample tests/test_peerqa.py runs;
``realdocs``: the development set).
"""

from __future__ import annotations

import json
import random
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from assistant.core.errors import ConfigError
from assistant.core.settings import read_yaml_mapping
from evals.peerqa import (
    REALDOC_FILES,
    load_devset,
    load_near_misses,
    load_peerqa,
    score_devset,
    score_peerqa,
    shared_dir,
)

THRESHOLDS = Path(__file__).resolve().parent / "thresholds.yaml"
SUITES = ("peerqa", "realdocs")
Limits = dict[str, dict[str, dict[str, float]]]


def _ingest(settings: Any, embeddings: Any, files: dict[Path, str | None]) -> dict[str, Any]:
    from assistant.service import build_service

    service = build_service(settings, embeddings, writer=True)
    started, failed = time.perf_counter(), []
    try:
        for path, doc_type in files.items():
            report = service.ingest([path], doc_type=doc_type)
            failed += [f"{Path(f['path']).name}: {f['reason']}" for f in report.failed]
    finally:
        service.close()
    return {"seconds": time.perf_counter() - started, "failed": failed}


def run_suite(
    name: str,
    settings: Any,
    embeddings: Any,
    *,
    store_dir: Path,
    documents: Sequence[str] = (),
    sample: int | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """Ingest one suite's documents into ``store_dir`` (kept, so a rerun is quick) and score it.

    Returns ``{"skipped": reason}`` when the suite's folder is missing.
    """
    from assistant.service import build_service

    if name not in SUITES:
        raise ConfigError(f"unknown external suite {name!r}; known: {', '.join(SUITES)}")
    base = settings.model_copy(update={"data_dir": Path(store_dir) / name, "chroma_url": None})
    if name == "peerqa":
        folder = shared_dir("peer-qa", "BRIEFING_PEERQA_DIR")
        if folder is None:
            return {
                "skipped": "../shared/peer-qa is not beside the repository "
                "(set BRIEFING_PEERQA_DIR)"
            }
        cases = load_peerqa(folder, documents, sample, seed)
        files: dict[Path, str | None] = {
            folder / doc: None for doc in dict.fromkeys(c["document"] for c in cases)
        }
    else:
        folder = shared_dir("realdocs", "BRIEFING_REALDOCS_DIR")
        if folder is None:
            return {
                "skipped": "../shared/realdocs is not beside the repository "
                "(set BRIEFING_REALDOCS_DIR)"
            }
        cases = load_devset()
        if sample is not None and sample < len(cases):
            cases = random.Random(seed).sample(cases, sample)
        files = {folder / f: kind for f, kind in REALDOC_FILES.items() if (folder / f).is_file()}
    ingest = _ingest(base, embeddings, files)
    service = build_service(base, embeddings)
    try:
        service.ask("warm-up question")  # loads the index and the models; not measured
        if name == "peerqa":
            misses = load_near_misses([path.name for path in files])
            result = score_peerqa(service, cases, misses)
        else:
            result = score_devset(service, cases)
    finally:
        service.close()
    result["ingest"] = ingest
    return result


def load_limits(path: Path = THRESHOLDS) -> dict[str, dict[str, dict[str, float]]]:
    """The ``suites:`` section of the thresholds file: suite -> {"min": {...}, "max": {...}}."""
    data = read_yaml_mapping(path, "thresholds file").get("suites") or {}
    if not isinstance(data, dict):
        raise ConfigError(f"thresholds file {path}: 'suites' must map suite names to min/max maps")
    return {
        str(k): {
            b: {str(m): float(x) for m, x in (v or {}).get(b, {}).items()} for b in ("min", "max")
        }
        for k, v in data.items()
    }


def check_limits(
    name: str, metrics: dict[str, Any], limits: dict[str, dict[str, dict[str, float]]]
) -> list[str]:
    """The floors and ceilings of ``name`` its metrics miss (an unknown metric name fails too)."""
    failures = []
    for bound, below in (("min", True), ("max", False)):
        for metric, limit in limits.get(name, {}).get(bound, {}).items():
            value = metrics.get(metric, "unknown")
            if value == "unknown":
                failures.append(f"{name}.{metric}: not a metric of the suite")
            elif value is not None and ((below and value < limit) or (not below and value > limit)):
                failures.append(
                    f"{name}.{metric} = {value:.3f} is "
                    f"{'below the floor' if below else 'above the ceiling'} {limit:.3f}"
                )
    return failures


def console_table(results: dict[str, dict[str, Any]]) -> str:
    """One line per suite: key terms (or facts) of the answer, of the top passages and of the best
    120-word stretch of one passage (an oracle's ceiling for an answer that long), length,
    declines, latency."""
    lines = [
        "suite      answer  top-1  top-3  win120  words  declined  decl.P  decl.R  "
        "p50 ms (answer/total)"
    ]
    for name, result in results.items():
        if "skipped" in result:
            lines.append(f"{name:<10} skipped: {result['skipped']}")
            continue
        m = result["metrics"]
        key = "key_terms" if name == "peerqa" else "facts"
        cells = [m.get(key), m.get(f"top1_{key}"), m.get(f"top3_{key}"), m.get(f"window_{key}")]
        declined = m.get("declined", "")
        lines.append(
            f"{name:<10} "
            + "  ".join("  —  " if v is None else f"{v:5.3f}" for v in cells)
            + f"   {m['median_words'] or 0:5.0f}  {declined!s:>8}  "
            + "  ".join(
                "  —   " if m.get(k) is None else f"{m[k]:6.3f}"
                for k in ("decline_precision", "decline_recall")
            )
            + f"  {m['answer_ms_p50'] or 0:.0f}/{m['total_ms_p50'] or 0:.0f}"
        )
    return "\n".join(lines)


def cli_suites(names: Sequence[str], settings: Any, embeddings: Any, output: Path) -> list[str]:
    """Run the named suites (``all``: both), print their table, write ``suites.json``.

    Returns the threshold failures (empty when every suite that ran is within its limits).
    """
    from assistant.core.embeddings import make_embeddings

    wanted = list(SUITES) if "all" in names else list(dict.fromkeys(names))
    if not wanted:
        return []
    embeddings = embeddings or make_embeddings(settings)
    results: dict[str, dict[str, Any]] = {}
    for name in wanted:
        print(f"eval: suite {name}", file=sys.stderr, flush=True)
        results[name] = run_suite(name, settings, embeddings, store_dir=output / "suites-store")
    output.mkdir(parents=True, exist_ok=True)
    (output / "suites.json").write_text(json.dumps(results, ensure_ascii=False, indent=1), "utf-8")
    print("\n" + console_table(results))
    limits = load_limits()
    return [
        f
        for n, r in results.items()
        if "metrics" in r
        for f in check_limits(n, r["metrics"], limits)
    ]
