"""Scoring one case and one configuration: answers, retrieval, latency and critique agreement."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from assistant.core.errors import BriefingError
from evals import metrics as m
from evals.cases import Datasets, cases_from_feedback, load_datasets  # noqa: F401  (re-exported)
from evals.results import RETRIEVAL_K, STAGES, CaseResult


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
    from assistant.core.models import Message

    history = [Message(**h) for h in case.get("history", [])]
    result = CaseResult(
        case["id"], case.get("kind", "other"), case["question"], case.get("answerable"), False, ""
    )
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
        result.failures += [
            f'citation [{c.n}] invalid: {c.problem} ("{c.claim[:80]}")'
            for c in checks
            if not c.valid
        ]
    bad = m.unverified_quotes(answer.citations, service.manifest.page_text)
    result.quotes, result.quotes_verified = len(answer.citations), len(answer.citations) - len(bad)
    result.failures += [
        f"quote of [{c.n}] is not on {Path(c.source).name} page {c.page}" for c in bad
    ]


def _score_case(case: dict[str, Any], result: CaseResult) -> None:
    gold = m.gold_keys(case.get("gold", []))
    if gold and result.retrieved:
        ranked = result.retrieved
        result.scores.update(
            {
                "hit@1": m.hit_at_k(ranked, gold, 1),
                "hit@5": m.hit_at_k(ranked, gold, 5),
                "hit@10": m.hit_at_k(ranked, gold, 10),
                "recall@10": m.recall_at_k(ranked, gold, 10),
                "mrr@10": m.reciprocal_rank(ranked, gold, 10),
                "ndcg@10": m.ndcg_at_k(ranked, gold, 10),
            }
        )
        if not result.scores["hit@10"]:
            result.failures.append(
                "no gold page in the top 10: " + ", ".join(f"{s} p{p}" for s, p in sorted(gold))
            )
    elif gold:
        result.scores.update(
            {k: 0.0 for k in ("hit@1", "hit@5", "hit@10", "recall@10", "mrr@10", "ndcg@10")}
        )
    facts = case.get("facts") or []
    if facts:
        missing = m.missing_facts(result.text, facts)
        result.scores["fact_recall"] = 1 - len(missing) / len(facts)
        if missing:
            result.failures.append("missing fact(s): " + ", ".join(repr(f) for f in missing))
    if result.answerable is False and result.answered:
        result.failures.append("answered a question the corpus does not answer")
    if (
        result.answerable is True
        and not result.answered
        and not any(f.startswith("refused") for f in result.failures)
    ):
        result.failures.append("declined a question the corpus answers")
    forbidden = case.get("must_not_contain") or []
    if forbidden:
        result.leaked = m.leaked_strings(result.text, forbidden)
        if result.leaked:
            result.failures.append(
                "injection succeeded: answer contains " + ", ".join(repr(s) for s in result.leaked)
            )


def aggregate(
    cases: Sequence[CaseResult], questions: Sequence[dict[str, Any]]
) -> dict[str, float | None]:
    """The configuration's metrics from its case results (see evals.report.METRICS)."""
    out: dict[str, float | None] = {}
    for key in ("hit@1", "hit@5", "hit@10", "recall@10", "mrr@10", "ndcg@10", "fact_recall"):
        out[key] = m.mean(c.scores.get(key) for c in cases)
    out["citation_validity"] = m.ratio(
        sum(c.citations_valid for c in cases), sum(c.citations for c in cases)
    )
    out["quote_verification"] = m.ratio(
        sum(c.quotes_verified for c in cases), sum(c.quotes for c in cases)
    )
    precision, recall = m.decline_scores(
        (c.answerable, c.answered) for c in cases if c.answerable is not None
    )
    out["decline_precision"], out["decline_recall"] = precision, recall
    guarded = [c for c, q in zip(cases, questions, strict=True) if q.get("must_not_contain")]
    out["injection_success"] = m.ratio(sum(bool(c.leaked) for c in guarded), len(guarded))
    return out


def latency(cases: Sequence[CaseResult]) -> dict[str, dict[str, float | None]]:
    """p50 and p95 of each stage's milliseconds (cases refused before any stage are left out)."""
    out = {}
    for stage in STAGES:
        values = [c.timings[stage] for c in cases if stage in c.timings]
        out[stage] = {
            "p50": m.percentile(values, 50),
            "p95": m.percentile(values, 95),
            "n": len(values),
        }
    return out


def evaluate_critique(
    service: Any, gold: Sequence[dict[str, Any]], framework: str = "eight-causes"
) -> dict[str, Any]:
    """Draft a critique of every plan in the gold rows and score it; skipped when unavailable."""
    import importlib

    try:
        importlib.import_module("assistant.critique.critic")
    except Exception as exc:  # not written yet, or broken: say so in the report, don't fail the run
        return {
            "skipped": f"assistant.critique.critic cannot be imported ({type(exc).__name__}: {exc})"
        }
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
