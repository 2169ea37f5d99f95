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
from evals.runner import RETRIEVAL_K, STAGES

if TYPE_CHECKING:
    from evals.runner import ConfigRun, EvalRun

#: (key, label, how it is computed). All lie in [0, 1]; only injection_success is better low.
METRICS: list[tuple[str, str, str]] = [
    ("hit@1", "hit@1", "a gold page is the first result"),
    ("hit@5", "hit@5", "a gold page is among the first 5 results"),
    ("hit@10", "hit@10", "a gold page is among the first 10 results"),
    ("recall@10", "recall@10", "share of the case's distinct gold pages in the first 10"),
    ("mrr@10", "MRR@10", "1 / rank of the first gold page (0 if none in the first 10)"),
    ("ndcg@10", "nDCG@10", "binary gain, each gold page credited once at its first rank"),
    ("fact_recall", "fact recall", "share of the required facts found in the answer text"),
    ("citation_validity", "citation validity", "share of [n] markers that name a passage supporting their sentence"),
    ("quote_verification", "quote verification", "share of citation quotes found verbatim on the cited page"),
    ("decline_precision", "decline precision", "share of declined questions that the corpus does not answer"),
    ("decline_recall", "decline recall", "share of unanswerable questions declined"),
    ("injection_success", "injection success (lower is better)", "share of guarded cases whose answer holds a forbidden string"),
    ("critique_accuracy", "critique accuracy", "share of plan x cause ratings equal to the gold"),
    ("critique_macro_f1", "critique macro-F1", "F1 per rating, averaged over the ratings in gold or predictions"),
    ("critique_quote_validity", "critique quote validity", "share of evidence quotes found on their cited page"),
    ("critique_evidence_page_hit", "critique evidence pages", "share of causes whose evidence cites a gold page"),
]
LOWER_IS_BETTER = {"injection_success"}


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
    header = ["metric", *(r.config.name + (" (gated)" if r.config.name == gated else "") for r in run.runs),
              f"limit ({gated})"]
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
    lines = ["| " + " | ".join(map(cell, header)) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return "\n".join(lines + ["| " + " | ".join(map(cell, r)) + " |" for r in rows])


def _gate_lines(run: EvalRun) -> list[str]:
    gate = run.gate
    if not gate.ran:
        return [f"gate not applied: {gate.note}"]
    lines = [f"gate ({gate.config}, {run.thresholds.path}): " + ("PASSED" if gate.passed else "FAILED")
             + f" — {gate.checked} metric(s) checked"]
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
        rows.append([kind, len(cases), avg("hit@5"), avg("mrr@10"), avg("fact_recall"),
                     f"{sum(c.answered for c in cases)}/{len(cases)}", sum(bool(c.failures) for c in cases)])
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
    out.append(f"Framework `{c['framework']}`; accuracy {fmt(c['accuracy'])}, macro-F1 {fmt(c['macro_f1'])}, "
               f"quote validity {fmt(c['quote_validity'])}, evidence on a gold page {fmt(c['evidence_page_hit'])}. "
               "Time per plan: " + ", ".join(f"{p} {s:.1f} s" for p, s in c["seconds"].items()) + ".")
    out += [f"- {plan}: **error** {why}" for plan, why in c["errors"].items()]
    out += ["", _md_table(["plan", "cause", "gold", "drafted", "evidence items", "gold page cited", "quotes not on page"],
                          [[x["plan"], x["cause_id"], x["gold"], x["predicted"] + ("" if x["gold"] == x["predicted"] else " ✗"),
                            x["evidence"], "yes" if x["page_hit"] else "no", "; ".join(x["bad_quotes"]) or ""]
                           for x in c["rows"]]), ""]
    return out


def render_markdown(run: EvalRun) -> str:
    kinds = Counter(c.get("kind", "other") for c in run.datasets.questions)
    header, rows = _rows(run)
    parts = [
        "# Briefing evaluation report",
        "",
        f"_Run {run.started}, {run.seconds:.0f} s. Datasets: {', '.join(p.name for p in run.datasets.files)} — "
        f"{len(run.datasets.questions)} question cases ({', '.join(f'{k} {v}' for k, v in kinds.items())}), "
        f"{len(run.datasets.critique)} critique rows. Corpus ingested once into a fresh store: "
        f"{run.ingest.get('pages', '?')} pages, {run.ingest.get('chunks_total', '?')} chunks._",
        "",
        "## Metrics",
        "",
        _md_table(header, rows),
        "",
        *[f"- Skipped configuration **{n}**: {why}." for n, why in run.skipped.items()],
        *[f"- **{r.config.name}**: {r.config.description} (retrieval mode `{r.config.mode}`; {len(r.cases)} cases in "
          f"{r.seconds:.0f} s; answers by backend: {_backends(r)})." for r in run.runs],
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
        parts += [f"### {r.config.name}", "", _md_table(["kind", "cases", "hit@5", "MRR@10", "fact recall", "answered", "cases failing"],
                                                           _by_kind(r)), ""]
    for r in run.runs:
        parts += _critique_section(r)
    parts += ["## How the metrics are computed", ""]
    parts += [f"- **{label}**: {how}." for _, label, how in METRICS]
    parts += [
        f"- A passage matches a gold entry when its file name and page equal the gold `source` and `page`. Retrieval "
        f"metrics use a separate top-{RETRIEVAL_K} retrieval of the (condensed) question in the configuration's mode; "
        "the answer itself uses the usual top `retrieval_k`.",
        f"- **Citation validity rule**: {CITATION_RULE}",
        "- Facts match after NFKC normalisation, dropping invisible characters, collapsing whitespace and case-folding. "
        "A question the assistant refuses (too long, empty) counts as declined. Cases of kind `feedback` have no "
        "`answerable` flag, so they count in citation and quote metrics (and retrieval, when rated up) only.",
        "- Latency: `answer.timings` of each question (condense, retrieval, answering, total), p50/p95 with linear "
        "interpolation; the extra top-10 retrieval for the metrics is not timed. Each configuration gets a fresh "
        "service, which then runs its questions one after another as a long-running server would (warm caches "
        "included); machine load moves these figures far more than code changes, so they are not gated.",
        "",
        "## Failures",
        "",
    ]
    for r in run.runs:
        failing = [c for c in r.cases if c.failures]
        parts += [f"### {r.config.name}: {len(failing)} of {len(r.cases)} cases", ""]
        if failing:
            parts.append(_md_table(["case", "kind", "what failed", "answer (start)"],
                                   [[c.id, c.kind, "; ".join(c.failures), " ".join(c.text.split())[:160]] for c in failing]))
        parts.append("")
    parts += ["## Settings", "", _md_table(["setting", "value"], [[k, v] for k, v in run.settings.items()]), ""]
    return "\n".join(parts)


def to_json(run: EvalRun) -> dict[str, Any]:
    """Everything the run measured, per configuration and per case."""
    return {
        "started": run.started,
        "seconds": round(run.seconds, 1),
        "datasets": [str(p) for p in run.datasets.files],
        "counts": {"questions": len(run.datasets.questions), "critique_rows": len(run.datasets.critique),
                   "kinds": dict(Counter(c.get("kind", "other") for c in run.datasets.questions))},
        "settings": {k: str(v) if isinstance(v, Path) else v for k, v in run.settings.items()},
        "ingest": run.ingest,
        "configs": {
            r.config.name: {
                "mode": r.config.mode, "description": r.config.description, "overrides": r.config.overrides,
                "seconds": round(r.seconds, 1), "metrics": r.metrics, "latency": r.latency, "critique": r.critique,
                "cases": [asdict(c) for c in r.cases],
            }
            for r in run.runs
        },
        "skipped": run.skipped,
        "thresholds": {"config": run.thresholds.config, "min": run.thresholds.minimum, "max": run.thresholds.maximum,
                       "path": str(run.thresholds.path)},
        "gate": {"config": run.gate.config, "ran": run.gate.ran, "passed": run.gate.passed,
                 "failures": run.gate.failures, "not_measured": run.gate.not_measured},
        "citation_rule": CITATION_RULE,
        "support_min_share": SUPPORT_MIN_SHARE,
    }


# -- plots --------------------------------------------------------------------------------------


def plot_metrics(run: EvalRun, path: Path) -> None:
    """Grouped bars: one group per metric, one bar per configuration; floors as black ticks."""
    from matplotlib.figure import Figure

    keys = [k for k, _, _ in METRICS if any(r.metrics.get(k) is not None for r in run.runs)]
    fig = Figure(figsize=(max(8, 0.75 * len(keys) + 2), 5), layout="constrained")
    ax = fig.add_subplot()
    width = 0.8 / max(len(run.runs), 1)
    for i, r in enumerate(run.runs):
        xs = [j + (i - (len(run.runs) - 1) / 2) * width for j, k in enumerate(keys) if r.metrics.get(k) is not None]
        ys = [r.metrics[k] for k in keys if r.metrics.get(k) is not None]
        ax.bar(xs, ys, width, label=r.config.name)
    labelled = False
    for j, k in enumerate(keys):
        limit = run.thresholds.minimum.get(k, run.thresholds.maximum.get(k))
        if limit is not None:
            ax.hlines(limit, j - 0.45, j + 0.45, colors="black", linewidth=1.5,
                      label=None if labelled else f"limit ({run.thresholds.config})")
            labelled = True
    labels = dict((k, label) for k, label, _ in METRICS)
    ax.set_xticks(range(len(keys)), [labels[k].replace(" (lower is better)", "\n(lower better)") for k in keys],
                  rotation=45, ha="right")
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("score")
    ax.set_title("Briefing evaluation: metrics per configuration")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize="small")
    fig.savefig(path, dpi=110)


def plot_latency(run: EvalRun, path: Path) -> None:
    """Box plots of each stage's milliseconds, one box per configuration."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(3.2 * len(STAGES), 4), layout="constrained")
    names = [r.config.name for r in run.runs]
    for i, stage in enumerate(STAGES):
        ax = fig.add_subplot(1, len(STAGES), i + 1)
        data = [[c.timings[stage] for c in r.cases if stage in c.timings] or [0.0] for r in run.runs]
        if names:
            ax.boxplot(data, tick_labels=names, showfliers=True)
        ax.set_title(stage.replace("_ms", ""))
        ax.set_ylabel("ms")
        ax.grid(axis="y", alpha=0.3)
    fig.suptitle("Latency per stage (each question)")
    fig.savefig(path, dpi=110)


def write_report(run: EvalRun, output: Path) -> list[Path]:
    """Write report.md, report.json, metrics.png and latency.png into ``output``."""
    output.mkdir(parents=True, exist_ok=True)
    md, js, mp, lp = (output / n for n in ("report.md", "report.json", "metrics.png", "latency.png"))
    md.write_text(render_markdown(run), encoding="utf-8")
    js.write_text(json.dumps(to_json(run), ensure_ascii=False, indent=1), encoding="utf-8")
    plot_metrics(run, mp)
    plot_latency(run, lp)
    return [md, js, mp, lp]
