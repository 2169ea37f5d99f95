"""The evaluation run: ingest the corpus once, ask every case under each configuration, score.

``briefing eval`` calls :func:`cli_eval`. The harness builds its own store (the sample corpus in
a fresh data dir, real MiniLM) so the gold pages always match what is indexed, then runs each
configuration against that one store. Results go to :mod:`evals.report`; the floors in
``thresholds.yaml`` decide the exit code.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from assistant.core.errors import ConfigError
from assistant.core.settings import Settings
from evals.cases import Datasets, cases_from_feedback, load_datasets  # noqa: F401  (re-exported)
from evals.configs import (
    THRESHOLDS,
    EvalConfig,
    GateResult,
    check_gate,
    load_thresholds,
    select_configs,
)
from evals.results import ConfigRun, EvalRun
from evals.scoring import (  # noqa: F401  (re-exported)
    QueryMemo,
    aggregate,
    evaluate_case,
    evaluate_critique,
    latency,
)

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "corpus" / "documents"
DATASETS = Path(__file__).resolve().parent / "datasets"
DEFAULT_DATASETS = [DATASETS / "questions.jsonl", DATASETS / "critique_gold.jsonl"]
CRITIQUE_METRICS = ("accuracy", "macro_f1", "quote_validity", "evidence_page_hit")


# -- one case -----------------------------------------------------------------------------------


def _bar(total: int, desc: str, show: bool) -> Any:
    from tqdm import tqdm

    return tqdm(
        total=total, desc=f"eval {desc}", unit="case", file=sys.stderr, disable=not show, leave=True
    )


def _log(message: str) -> None:
    print(f"eval: {message}", file=sys.stderr, flush=True)


def ingest_corpus(settings: Settings, embeddings: Any, corpus: Path = CORPUS) -> dict[str, Any]:
    """Ingest the corpus into ``settings.data_dir`` (a no-op when it is already there)."""
    from assistant.service import build_service

    service = build_service(settings, embeddings, writer=True)
    try:
        report = service.ingest([corpus])
    finally:
        service.close()
    if report.failed:
        raise ConfigError(
            "the corpus did not ingest cleanly: "
            + "; ".join(f"{f['path']}: {f['reason']}" for f in report.failed)
        )
    return report.to_json()


def run_config(
    config: EvalConfig, settings: Settings, embeddings: Any, data: Datasets, show: bool
) -> ConfigRun:
    """Every question (and, for a critique configuration, every plan) under one configuration."""
    from assistant.service import build_service

    started = time.perf_counter()
    service = build_service(config.settings(settings), embeddings)
    try:
        _ = service.chat  # builds the chat model now: a broken LLM setup is a skip, not 90 failures
        cases = []
        with _bar(len(data.questions), config.name, show) as bar:
            for case in data.questions:
                cases.append(evaluate_case(service, case, config.mode))
                bar.update()
        metrics = aggregate(cases, data.questions)
        critique = None
        if config.critique and data.critique:
            critique = evaluate_critique(service, data.critique)
        for key in CRITIQUE_METRICS:
            metrics[f"critique_{key}"] = (critique or {}).get(key)
    finally:
        service.close()
    seconds = time.perf_counter() - started
    if not show:
        _log(f"{config.name}: {len(cases)} case(s) in {seconds:.0f} s")
    return ConfigRun(config, cases, metrics, latency(cases), critique, seconds)


def run_eval(
    settings: Settings,
    *,
    datasets: Sequence[Path] | None = None,
    config_names: Sequence[str] = (),
    thresholds_path: Path | None = None,
    embeddings: Any | None = None,
    store_dir: Path | None = None,
    corpus: Path = CORPUS,
    show_progress: bool | None = None,
) -> EvalRun:
    """Run the harness and return its results (nothing written; see evals.report.write_report).

    ``store_dir`` keeps the ingested corpus there (re-used when it is already ingested);
    without it the store lives in a temporary directory removed at the end. The floors were
    set on the default datasets, so with other datasets the gate applies only when
    ``thresholds_path`` is given.
    """
    from assistant.core.embeddings import make_embeddings

    began, started = time.perf_counter(), datetime.now().astimezone()
    data = load_datasets(list(datasets) if datasets else DEFAULT_DATASETS)
    if not data.questions and not data.critique:
        raise ConfigError("the datasets hold no cases")
    thresholds = load_thresholds(thresholds_path or THRESHOLDS)
    default_data = not datasets or {Path(p).resolve() for p in datasets} == {
        p.resolve() for p in DEFAULT_DATASETS
    }
    configs, skipped = select_configs(list(config_names), settings)
    show = sys.stderr.isatty() if show_progress is None else show_progress
    temporary = store_dir is None
    store = Path(tempfile.mkdtemp(prefix="briefing-eval-")) if temporary else Path(store_dir)
    base = settings.model_copy(update={"data_dir": store, "chroma_url": None})
    runs: list[ConfigRun] = []
    try:
        embeddings = QueryMemo(embeddings or make_embeddings(base))
        _log(f"ingesting {corpus} into {store}")
        ingest = ingest_corpus(base, embeddings, corpus)
        _log(
            f"corpus ready: {ingest['pages']} pages, {ingest['chunks_total']} chunks "
            f"({ingest['seconds']:.0f} s)"
        )
        for config in configs:
            try:
                runs.append(run_config(config, base, embeddings, data, show))
            except ConfigError as exc:  # e.g. the LLM backend's package or model is missing
                skipped[config.name] = str(exc)
                _log(f"{config.name}: skipped ({exc})")
    finally:
        if temporary:
            shutil.rmtree(store, ignore_errors=True)
    if thresholds_path is None and not default_data:
        gate = GateResult(
            thresholds.config,
            False,
            note="the floors were set on the default datasets; pass a "
            "thresholds file to gate other datasets",
        )
    else:
        gate = check_gate({r.config.name: r.metrics for r in runs}, thresholds)
    summary = {
        k: getattr(base, k)
        for k in (
            "embedding_model",
            "chunk_tokens",
            "chunk_overlap_tokens",
            "retrieval_k",
            "dense_k",
            "lexical_k",
            "rrf_k",
            "max_per_page",
            "answer_backend",
            "answer_min_score",
            "answer_max_sentences",
        )
    }
    return EvalRun(
        runs,
        skipped,
        data,
        thresholds,
        gate,
        started.isoformat(timespec="seconds"),
        time.perf_counter() - began,
        ingest,
        summary,
    )


def cli_eval(
    args: argparse.Namespace,
    settings: Settings,
    *,
    embeddings: Any | None = None,
    store_dir: Path | None = None,
) -> int:
    """``briefing eval``: run, print the table (or JSON), write the report; 1 if the gate fails."""
    from evals.report import console_table, to_json, write_report

    run = run_eval(
        settings,
        datasets=args.dataset or None,
        config_names=args.configs,
        thresholds_path=getattr(args, "thresholds", None),
        embeddings=embeddings,
        store_dir=store_dir,
    )
    written = write_report(run, Path(args.output))
    if args.json:
        print(json.dumps(to_json(run), ensure_ascii=False))
    else:
        print(console_table(run))
        print("\nwrote " + ", ".join(str(p) for p in written))
    suite_failures = []
    if getattr(args, "suites", None):  # the external suites over ../shared (evals.suites)
        from evals.suites import cli_suites

        suite_failures = cli_suites(args.suites, settings, embeddings, Path(args.output))
        for failure in suite_failures:
            print(f"briefing: eval suite gate: {failure}", file=sys.stderr)
    if not run.gate.ran:
        _log(f"gate not applied: {run.gate.note}")
        return 1 if suite_failures else 0
    if not run.gate.passed:
        for failure in run.gate.failures:
            print(f"briefing: eval gate: {failure}", file=sys.stderr)
        print(
            f"briefing: eval gate FAILED for '{run.gate.config}' ({len(run.gate.failures)} "
            f"metric(s)); "
            f"floors in {run.thresholds.path}",
            file=sys.stderr,
        )
        return 1
    _log(
        f"gate passed: {run.gate.checked} metric(s) of '{run.gate.config}' within "
        f"{run.thresholds.path}"
    )
    return 1 if suite_failures else 0
