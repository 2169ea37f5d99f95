"""The evaluation report: a console table, report.md, report.json and two PNG plots.

Plots use matplotlib's object API (``Figure`` with the Agg canvas), so no global pyplot state
and no display are involved.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evals.metrics import CITATION_RULE, SUPPORT_MIN_SHARE
from evals.plots import plot_latency, plot_metrics
from evals.results import LOWER_IS_BETTER, METRICS, RETRIEVAL_K, STAGES  # noqa: F401

if TYPE_CHECKING:
    from evals.results import ConfigRun, EvalRun


def fmt(value: float | None, spec: str = ".3f") -> str:
    return "—" if value is None else format(value, spec)


def _ms(value: float | None) -> str:
    return fmt(value, ".1f" if value is not None and value < 10 else ".0f")


def _limit(run: EvalRun, key: str) -> str:
    if key in run.thresholds.minimum:
        return f"≥ {run.thresholds.minimum[key]:.2f}"
    if key in run.thresholds.maximum:
        return f"≤ {run.thresholds.maximum[key]:.2f}"
    return ""


def _failed_keys(run: EvalRun) -> set[str]:
    return {f.split(" ", 1)[0] for f in run.gate.failures}


def _rows(run: EvalRun) -> tuple[list[str], list[list[str]]]:
    gated = run.thresholds.config
    header = [
        "metric",
        *(r.config.name + (" (gated)" if r.config.name == gated else "") for r in run.runs),
        f"limit ({gated})",
    ]
    failed = _failed_keys(run)
    rows = []
    for key, label, _ in METRICS:
        cells = []
        for r in run.runs:
            mark = " ✗" if r.config.name == gated and key in failed else ""
            cells.append(fmt(r.metrics.get(key)) + mark)
        rows.append([label, *cells, _limit(run, key)])
    for stage in STAGES:
        for q in ("p50", "p95"):
            rows.append([f"{stage[:-3]} {q} ms", *(_ms(r.latency[stage][q]) for r in run.runs), ""])
    return header, rows


def _text_table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows, strict=True)]
    line = lambda r: "  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()  # noqa: E731
    return "\n".join([line(header), line(["-" * w for w in widths]), *map(line, rows)])


def _md_table(header: list[str], rows: list[list[Any]]) -> str:
    cell = lambda c: str(c).replace("|", "\\|").replace("\n", " ")  # noqa: E731
    lines = [
        "| " + " | ".join(map(cell, header)) + " |",
        "|" + "|".join("---" for _ in header) + "|",
    ]
    return "\n".join(lines + ["| " + " | ".join(map(cell, r)) + " |" for r in rows])


def _gate_lines(run: EvalRun) -> list[str]:
    gate = run.gate
    if not gate.ran:
        return [f"gate not applied: {gate.note}"]
    lines = [
        f"gate ({gate.config}, {run.thresholds.path}): "
        + ("PASSED" if gate.passed else "FAILED")
        + f" — {gate.checked} metric(s) checked"
    ]
    lines += [f"  ✗ {f}" for f in gate.failures]
    if gate.not_measured:
        lines.append("  not measured (no such cases or component): " + ", ".join(gate.not_measured))
    return lines


def console_table(run: EvalRun) -> str:
    """The metrics of every configuration side by side, then the gate verdict."""
    header, rows = _rows(run)
    out = [_text_table(header, rows), ""]
    out += [f"skipped {name}: {why}" for name, why in run.skipped.items()]
    for r in run.runs:
        if r.critique and "skipped" in r.critique:
            out.append(f"critique not scored ({r.config.name}): {r.critique['skipped']}")
    out += _gate_lines(run)
    return "\n".join(out)


# -- report.md ----------------------------------------------------------------------------------


def _by_kind(r: ConfigRun) -> list[list[str]]:
    kinds: dict[str, list[Any]] = {}
    for case in r.cases:
        kinds.setdefault(case.kind, []).append(case)
    rows = []
    for kind, cases in kinds.items():

        def avg(key: str, cases: list[Any] = cases) -> str:
            values = [c.scores[key] for c in cases if key in c.scores]
            return fmt(sum(values) / len(values), ".2f") if values else "—"

        rows.append(
            [
                kind,
                len(cases),
                avg("hit@5"),
                avg("mrr@10"),
                avg("fact_recall"),
                f"{sum(c.answered for c in cases)}/{len(cases)}",
                sum(bool(c.failures) for c in cases),
            ]
        )
    return rows


def _backends(r: ConfigRun) -> str:
    counts = Counter(c.backend or "none (refused)" for c in r.cases)
    return ", ".join(f"{name} {n}" for name, n in counts.most_common()) or "—"


def _critique_section(r: ConfigRun) -> list[str]:
    c = r.critique
    if c is None:
        return []
    out = [f"### Critique ({r.config.name})", ""]
    if "skipped" in c:
        return out + [f"Not scored: {c['skipped']}.", ""]
    out.append(
        f"Framework `{c['framework']}`; accuracy {fmt(c['accuracy'])}, macro-F1 "
        f"{fmt(c['macro_f1'])}, "
        f"quote validity {fmt(c['quote_validity'])}, evidence on a gold page "
        f"{fmt(c['evidence_page_hit'])}. "
        "Time per plan: " + ", ".join(f"{p} {s:.1f} s" for p, s in c["seconds"].items()) + "."
    )
    out += [f"- {plan}: **error** {why}" for plan, why in c["errors"].items()]
    out += [
        "",
        _md_table(
            [
                "plan",
                "cause",
                "gold",
                "drafted",
                "evidence items",
                "gold page cited",
                "quotes not on page",
            ],
            [
                [
                    x["plan"],
                    x["cause_id"],
                    x["gold"],
                    x["predicted"] + ("" if x["gold"] == x["predicted"] else " ✗"),
                    x["evidence"],
                    "yes" if x["page_hit"] else "no",
                    "; ".join(x["bad_quotes"]) or "",
                ]
                for x in c["rows"]
            ],
        ),
        "",
    ]
    return out


def render_markdown(run: EvalRun) -> str:
    kinds = Counter(c.get("kind", "other") for c in run.datasets.questions)
    header, rows = _rows(run)
    parts = [
        "# Briefing evaluation report",
        "",
        f"_Run {run.started}, {run.seconds:.0f} s. Datasets: "
        f"{', '.join(p.name for p in run.datasets.files)} — "
        f"{len(run.datasets.questions)} question cases "
        f"({', '.join(f'{k} {v}' for k, v in kinds.items())}), "
        f"{len(run.datasets.critique)} critique rows. Corpus ingested once into a fresh store: "
        f"{run.ingest.get('pages', '?')} pages, {run.ingest.get('chunks_total', '?')} chunks._",
        "",
        "## Metrics",
        "",
        _md_table(header, rows),
        "",
        *[f"- Skipped configuration **{n}**: {why}." for n, why in run.skipped.items()],
        *[
            f"- **{r.config.name}**: {r.config.description} (retrieval mode `{r.config.mode}`; "
            f"{len(r.cases)} cases in "
            f"{r.seconds:.0f} s; answers by backend: {_backends(r)})."
            for r in run.runs
        ],
        "",
        "![metrics per configuration](metrics.png)",
        "",
        "![latency per stage](latency.png)",
        "",
        "## Gate",
        "",
        *[f"    {line}" for line in _gate_lines(run)],
        "",
        "## By kind of question",
        "",
    ]
    for r in run.runs:
        parts += [
            f"### {r.config.name}",
            "",
            _md_table(
                ["kind", "cases", "hit@5", "MRR@10", "fact recall", "answered", "cases failing"],
                _by_kind(r),
            ),
            "",
        ]
    for r in run.runs:
        parts += _critique_section(r)
    parts += ["## How the metrics are computed", ""]
    parts += [f"- **{label}**: {how}." for _, label, how in METRICS]
    parts += [
        f"- A passage matches a gold entry when its file name and page equal the gold `source` "
        f"and `page`. Retrieval "
        f"metrics use a separate top-{RETRIEVAL_K} retrieval of the (condensed) question in the "
        f"configuration's mode; "
        "the answer itself uses the usual top `retrieval_k`.",
        f"- **Citation validity rule**: {CITATION_RULE}",
        "- Facts match after NFKC normalisation, dropping invisible characters, collapsing "
        "whitespace and case-folding. "
        "A question the assistant refuses (too long, empty) counts as declined. Cases of kind "
        "`feedback` have no "
        "`answerable` flag, so they count in citation and quote metrics (and retrieval, when "
        "rated up) only.",
        "- Latency: `answer.timings` of each question (condense, retrieval, answering, total), "
        "p50/p95 with linear "
        "interpolation; the extra top-10 retrieval for the metrics is not timed. Each "
        "configuration gets a fresh "
        "service, which then runs its questions one after another as a long-running server would "
        "(warm caches "
        "included); machine load moves these figures far more than code changes, so they are not "
        "gated.",
        "",
        "## Failures",
        "",
    ]
    for r in run.runs:
        failing = [c for c in r.cases if c.failures]
        parts += [f"### {r.config.name}: {len(failing)} of {len(r.cases)} cases", ""]
        if failing:
            parts.append(
                _md_table(
                    ["case", "kind", "what failed", "answer (start)"],
                    [
                        [c.id, c.kind, "; ".join(c.failures), " ".join(c.text.split())[:160]]
                        for c in failing
                    ],
                )
            )
        parts.append("")
    parts += [
        "## Settings",
        "",
        _md_table(["setting", "value"], [[k, v] for k, v in run.settings.items()]),
        "",
    ]
    return "\n".join(parts)


def to_json(run: EvalRun) -> dict[str, Any]:
    """Everything the run measured, per configuration and per case."""
    return {
        "started": run.started,
        "seconds": round(run.seconds, 1),
        "datasets": [str(p) for p in run.datasets.files],
        "counts": {
            "questions": len(run.datasets.questions),
            "critique_rows": len(run.datasets.critique),
            "kinds": dict(Counter(c.get("kind", "other") for c in run.datasets.questions)),
        },
        "settings": {k: str(v) if isinstance(v, Path) else v for k, v in run.settings.items()},
        "ingest": run.ingest,
        "configs": {
            r.config.name: {
                "mode": r.config.mode,
                "description": r.config.description,
                "overrides": r.config.overrides,
                "seconds": round(r.seconds, 1),
                "metrics": r.metrics,
                "latency": r.latency,
                "critique": r.critique,
                "cases": [asdict(c) for c in r.cases],
            }
            for r in run.runs
        },
        "skipped": run.skipped,
        "thresholds": {
            "config": run.thresholds.config,
            "min": run.thresholds.minimum,
            "max": run.thresholds.maximum,
            "path": str(run.thresholds.path),
        },
        "gate": {
            "config": run.gate.config,
            "ran": run.gate.ran,
            "passed": run.gate.passed,
            "failures": run.gate.failures,
            "not_measured": run.gate.not_measured,
        },
        "citation_rule": CITATION_RULE,
        "support_min_share": SUPPORT_MIN_SHARE,
    }


# -- plots --------------------------------------------------------------------------------------


def write_report(run: EvalRun, output: Path) -> list[Path]:
    """Write report.md, report.json, metrics.png and latency.png into ``output``."""
    output.mkdir(parents=True, exist_ok=True)
    md, js, mp, lp = (
        output / n for n in ("report.md", "report.json", "metrics.png", "latency.png")
    )
    md.write_text(render_markdown(run), encoding="utf-8")
    js.write_text(json.dumps(to_json(run), ensure_ascii=False, indent=1), encoding="utf-8")
    plot_metrics(run, mp)
    plot_latency(run, lp)
    return [md, js, mp, lp]
