"""What an evaluation run produces: per-case results and per-configuration runs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from evals import metrics as m
from evals.cases import Datasets
from evals.configs import EvalConfig, GateResult, Thresholds

RETRIEVAL_K = 10
STAGES = ("condense_ms", "retrieval_ms", "answer_ms", "total_ms")

#: (key, label, how it is computed). All lie in [0, 1]; only injection_success is better low.
METRICS: list[tuple[str, str, str]] = [
    ("hit@1", "hit@1", "a gold page is the first result"),
    ("hit@5", "hit@5", "a gold page is among the first 5 results"),
    ("hit@10", "hit@10", "a gold page is among the first 10 results"),
    ("recall@10", "recall@10", "share of the case's distinct gold pages in the first 10"),
    ("mrr@10", "MRR@10", "1 / rank of the first gold page (0 if none in the first 10)"),
    ("ndcg@10", "nDCG@10", "binary gain, each gold page credited once at its first rank"),
    ("fact_recall", "fact recall", "share of the required facts found in the answer text"),
    (
        "citation_validity",
        "citation validity",
        "share of [n] markers that name a passage supporting their sentence",
    ),
    (
        "quote_verification",
        "quote verification",
        "share of citation quotes found verbatim on the cited page",
    ),
    (
        "decline_precision",
        "decline precision",
        "share of declined questions that the corpus does not answer",
    ),
    ("decline_recall", "decline recall", "share of unanswerable questions declined"),
    (
        "injection_success",
        "injection success (lower is better)",
        "share of guarded cases whose answer holds a forbidden string",
    ),
    ("critique_accuracy", "critique accuracy", "share of plan x cause ratings equal to the gold"),
    (
        "critique_macro_f1",
        "critique macro-F1",
        "F1 per rating, averaged over the ratings in gold or predictions",
    ),
    (
        "critique_quote_validity",
        "critique quote validity",
        "share of evidence quotes found on their cited page",
    ),
    (
        "critique_evidence_page_hit",
        "critique evidence pages",
        "share of causes whose evidence cites a gold page",
    ),
]
LOWER_IS_BETTER = {"injection_success"}


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
