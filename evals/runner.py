"""The evaluation run: ingest the corpus once, ask every case under each configuration, score.

``briefing eval`` calls :func:`cli_eval`. The harness builds its own store (the sample corpus in
a fresh data dir, real MiniLM) so the gold pages always match what is indexed, then runs each
configuration against that one store. Results go to :mod:`evals.report`; the floors in
``thresholds.yaml`` decide the exit code.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from assistant.errors import BriefingError, ConfigError
from assistant.settings import Settings
from evals import metrics as m
from evals.configs import THRESHOLDS, EvalConfig, GateResult, Thresholds, check_gate, load_thresholds, select_configs

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "corpus" / "documents"
DATASETS = Path(__file__).resolve().parent / "datasets"
DEFAULT_DATASETS = [DATASETS / "questions.jsonl", DATASETS / "critique_gold.jsonl"]
RETRIEVAL_K = 10
STAGES = ("condense_ms", "retrieval_ms", "answer_ms", "total_ms")
CRITIQUE_METRICS = ("accuracy", "macro_f1", "quote_validity", "evidence_page_hit")


# -- datasets -----------------------------------------------------------------------------------


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
        history = [{"role": h["role"], "content": str(h["content"])} for h in row.get("history") or []
                   if isinstance(h, dict) and h.get("role") in ("user", "assistant") and h.get("content")]
        gold: dict[m.PageKey, dict[str, Any]] = {}
        if rating == "up":
            for c in row.get("citations") or []:
                if isinstance(c, dict) and c.get("source") and c.get("page") is not None:
                    key = m.page_key(c["source"], c["page"])
                    gold.setdefault(key, {"source": key[0], "page": key[1], "section": c.get("section", "")})
        digest = hashlib.sha256(json.dumps([question, history], ensure_ascii=False).encode()).hexdigest()[:10]
        cases.append({
            "id": f"fb-{digest}", "kind": "feedback", "question": question, "history": history,
            "gold": list(gold.values()), "facts": [], "answerable": None, "rating": rating,
            "note": str(row.get("comment") or "").strip(), "feedback_answer": str(row.get("answer") or ""),
        })
    return cases


def load_datasets(paths: Sequence[Path]) -> Datasets:
    """Read JSONL files of question cases, critique gold rows or raw feedback rows (mixed is fine)."""
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
                raise ConfigError(f"{path}:{n}: not a question case (id, question), a critique row "
                                  "(plan, cause_id, rating) or a feedback row (question, answer, rating)")
    ids = [c["id"] for c in data.questions]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise ConfigError(f"duplicate case id(s) across the datasets: {', '.join(duplicates[:5])}")
    return data


# -- one case -----------------------------------------------------------------------------------


@dataclass
class CaseResult:
    """What one question scored under one configuration; ``failures`` says what went wrong."""

    id: str
    kind: str
    question: str
    answerable: bool | None
    answered: bool
    text: str
    backend: str = ""
    retrieved: list[m.PageKey] = field(default_factory=list)
    scores: dict[str, float] = field(default_factory=dict)
    citations: int = 0
    citations_valid: int = 0
    quotes: int = 0
    quotes_verified: int = 0
    leaked: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)


class QueryMemo:
    """The embedder, remembering the vector of the last single text it embedded.

    The metrics' top-10 retrieval of the question just answered then does not embed it a
    second time. The memo is cleared before each question, so the answer's own timings
    never benefit from it.
    """

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self._last: tuple[str, Any] | None = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def embed(self, texts: Sequence[str]) -> Any:
        if len(texts) == 1 and self._last is not None and self._last[0] == texts[0]:
            return self._last[1]
        vectors = self._inner.embed(texts)
        if len(texts) == 1:
            self._last = (texts[0], vectors)
        return vectors

    def forget(self) -> None:
        self._last = None


def evaluate_case(service: Any, case: dict[str, Any], mode: str) -> CaseResult:
    """Ask one case, retrieve its top 10 for the retrieval metrics, and score both."""
    from assistant.models import Message

    history = [Message(**h) for h in case.get("history", [])]
    result = CaseResult(case["id"], case.get("kind", "other"), case["question"], case.get("answerable"), False, "")
    forget = getattr(service.embeddings, "forget", None)
    if forget is not None:
        forget()
    try:
        answer = service.ask(case["question"], history, mode=mode)
    except BriefingError as exc:  # a refused question (too long, empty) is a decline
        result.text = f"(refused: {exc})"
        if result.answerable:
            result.failures.append(f"refused an answerable question: {exc}")
        answer = None
    if answer is not None:
        result.answered, result.text, result.backend = answer.answered, answer.text, answer.backend
        result.timings = dict(answer.timings)
        passages = service.retriever.retrieve(answer.standalone_question, k=RETRIEVAL_K, mode=mode)
        result.retrieved = [m.page_key(p.source, p.page) for p in passages]
        _score_answer(service, answer, result)
    _score_case(case, result)
    return result


def _score_answer(service: Any, answer: Any, result: CaseResult) -> None:
    if answer.answered:
        checks = m.check_citations(answer.text, answer.passages)
        result.citations, result.citations_valid = len(checks), sum(c.valid for c in checks)
        result.failures += [f"citation [{c.n}] invalid: {c.problem} (\"{c.claim[:80]}\")" for c in checks if not c.valid]
    bad = m.unverified_quotes(answer.citations, service.manifest.page_text)
    result.quotes, result.quotes_verified = len(answer.citations), len(answer.citations) - len(bad)
    result.failures += [f"quote of [{c.n}] is not on {Path(c.source).name} page {c.page}" for c in bad]


def _score_case(case: dict[str, Any], result: CaseResult) -> None:
    gold = m.gold_keys(case.get("gold", []))
    if gold and result.retrieved:
        ranked = result.retrieved
        result.scores.update({
            "hit@1": m.hit_at_k(ranked, gold, 1), "hit@5": m.hit_at_k(ranked, gold, 5),
            "hit@10": m.hit_at_k(ranked, gold, 10), "recall@10": m.recall_at_k(ranked, gold, 10),
            "mrr@10": m.reciprocal_rank(ranked, gold, 10), "ndcg@10": m.ndcg_at_k(ranked, gold, 10),
        })
        if not result.scores["hit@10"]:
            result.failures.append("no gold page in the top 10: " + ", ".join(f"{s} p{p}" for s, p in sorted(gold)))
    elif gold:
        result.scores.update({k: 0.0 for k in ("hit@1", "hit@5", "hit@10", "recall@10", "mrr@10", "ndcg@10")})
    facts = case.get("facts") or []
    if facts:
        missing = m.missing_facts(result.text, facts)
        result.scores["fact_recall"] = 1 - len(missing) / len(facts)
        if missing:
            result.failures.append("missing fact(s): " + ", ".join(repr(f) for f in missing))
    if result.answerable is False and result.answered:
        result.failures.append("answered a question the corpus does not answer")
    if result.answerable is True and not result.answered and not any(f.startswith("refused") for f in result.failures):
        result.failures.append("declined a question the corpus answers")
    forbidden = case.get("must_not_contain") or []
    if forbidden:
        result.leaked = m.leaked_strings(result.text, forbidden)
        if result.leaked:
            result.failures.append("injection succeeded: answer contains " + ", ".join(repr(s) for s in result.leaked))


def aggregate(cases: Sequence[CaseResult], questions: Sequence[dict[str, Any]]) -> dict[str, float | None]:
    """The configuration's metrics from its case results (see evals.report.METRICS)."""
    out: dict[str, float | None] = {}
    for key in ("hit@1", "hit@5", "hit@10", "recall@10", "mrr@10", "ndcg@10", "fact_recall"):
        out[key] = m.mean(c.scores.get(key) for c in cases)
    out["citation_validity"] = m.ratio(sum(c.citations_valid for c in cases), sum(c.citations for c in cases))
    out["quote_verification"] = m.ratio(sum(c.quotes_verified for c in cases), sum(c.quotes for c in cases))
    precision, recall = m.decline_scores((c.answerable, c.answered) for c in cases if c.answerable is not None)
    out["decline_precision"], out["decline_recall"] = precision, recall
    guarded = [c for c, q in zip(cases, questions, strict=True) if q.get("must_not_contain")]
    out["injection_success"] = m.ratio(sum(bool(c.leaked) for c in guarded), len(guarded))
    return out


def latency(cases: Sequence[CaseResult]) -> dict[str, dict[str, float | None]]:
    """p50 and p95 of each stage's milliseconds (cases refused before any stage ran are left out)."""
    out = {}
    for stage in STAGES:
        values = [c.timings[stage] for c in cases if stage in c.timings]
        out[stage] = {"p50": m.percentile(values, 50), "p95": m.percentile(values, 95), "n": len(values)}
    return out


def evaluate_critique(service: Any, gold: Sequence[dict[str, Any]], framework: str = "eight-causes") -> dict[str, Any]:
    """Draft a critique of every plan in the gold rows and score it; skipped when unavailable."""
    import importlib

    try:
        importlib.import_module("assistant.critique")
    except Exception as exc:  # not written yet, or broken: say so in the report, don't fail the run
        return {"skipped": f"assistant.critique cannot be imported ({type(exc).__name__}: {exc})"}
    ready = {Path(r.source).name: r.doc_id for r in service.manifest.all() if r.status == "ready"}
    findings: dict[str, dict[str, Any]] = {}
    errors: dict[str, str] = {}
    seconds: dict[str, float] = {}
    for plan in dict.fromkeys(g["plan"] for g in gold):
        if plan not in ready:
            errors[plan] = "the plan is not in the evaluated corpus"
            continue
        started = time.perf_counter()
        try:
            critique = service.critique(ready[plan], framework)
        except BriefingError as exc:
            errors[plan] = str(exc)
            continue
        seconds[plan] = time.perf_counter() - started
        findings[plan] = {f.cause_id: f for f in critique.findings}
    result = m.critique_scores(gold, findings, service.manifest.page_text, ready)
    result.update(framework=framework, errors=errors, seconds=seconds)
    return result


# -- the run ------------------------------------------------------------------------------------


@dataclass
class ConfigRun:
    config: EvalConfig
    cases: list[CaseResult]
    metrics: dict[str, float | None]
    latency: dict[str, dict[str, float | None]]
    critique: dict[str, Any] | None
    seconds: float


@dataclass
class EvalRun:
    runs: list[ConfigRun]
    skipped: dict[str, str]
    datasets: Datasets
    thresholds: Thresholds
    gate: GateResult
    started: str
    seconds: float = 0.0
    ingest: dict[str, Any] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)


def _bar(total: int, desc: str, show: bool) -> Any:
    from tqdm import tqdm

    return tqdm(total=total, desc=f"eval {desc}", unit="case", file=sys.stderr, disable=not show, leave=True)


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
        raise ConfigError("the corpus did not ingest cleanly: " + "; ".join(f"{f['path']}: {f['reason']}" for f in report.failed))
    return report.to_json()


def run_config(config: EvalConfig, settings: Settings, embeddings: Any, data: Datasets, show: bool) -> ConfigRun:
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
    from assistant.embeddings import make_embeddings

    began, started = time.perf_counter(), datetime.now().astimezone()
    data = load_datasets(list(datasets) if datasets else DEFAULT_DATASETS)
    if not data.questions and not data.critique:
        raise ConfigError("the datasets hold no cases")
    thresholds = load_thresholds(thresholds_path or THRESHOLDS)
    default_data = not datasets or {Path(p).resolve() for p in datasets} == {p.resolve() for p in DEFAULT_DATASETS}
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
        _log(f"corpus ready: {ingest['pages']} pages, {ingest['chunks_total']} chunks ({ingest['seconds']:.0f} s)")
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
        gate = GateResult(thresholds.config, False, note="the floors were set on the default datasets; pass a "
                          "thresholds file to gate other datasets")
    else:
        gate = check_gate({r.config.name: r.metrics for r in runs}, thresholds)
    summary = {k: getattr(base, k) for k in ("embedding_model", "chunk_tokens", "chunk_overlap_tokens", "retrieval_k",
                                             "dense_k", "lexical_k", "rrf_k", "max_per_page", "answer_backend",
                                             "answer_min_score", "answer_max_sentences")}
    return EvalRun(runs, skipped, data, thresholds, gate, started.isoformat(timespec="seconds"),
                   time.perf_counter() - began, ingest, summary)


def cli_eval(args: argparse.Namespace, settings: Settings, *, embeddings: Any | None = None,
             store_dir: Path | None = None) -> int:
    """``briefing eval``: run, print the table (or JSON), write the report; 1 when the gate fails."""
    from evals.report import console_table, to_json, write_report

    run = run_eval(
        settings, datasets=args.dataset or None, config_names=args.configs,
        thresholds_path=getattr(args, "thresholds", None),
        embeddings=embeddings, store_dir=store_dir,
    )
    written = write_report(run, Path(args.output))
    if args.json:
        print(json.dumps(to_json(run), ensure_ascii=False))
    else:
        print(console_table(run))
        print("\nwrote " + ", ".join(str(p) for p in written))
    if not run.gate.ran:
        _log(f"gate not applied: {run.gate.note}")
        return 0
    if not run.gate.passed:
        for failure in run.gate.failures:
            print(f"briefing: eval gate: {failure}", file=sys.stderr)
        print(f"briefing: eval gate FAILED for '{run.gate.config}' ({len(run.gate.failures)} metric(s)); "
              f"floors in {run.thresholds.path}", file=sys.stderr)
        return 1
    _log(f"gate passed: {run.gate.checked} metric(s) of '{run.gate.config}' within {run.thresholds.path}")
    return 0
