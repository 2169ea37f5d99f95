"""Plots of an evaluation run: metrics per configuration and latency per stage (matplotlib)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from evals.results import METRICS, STAGES

if TYPE_CHECKING:
    from evals.results import EvalRun


def plot_metrics(run: EvalRun, path: Path) -> None:
    """Grouped bars: one group per metric, one bar per configuration; floors as black ticks."""
    from matplotlib.figure import Figure

    keys = [k for k, _, _ in METRICS if any(r.metrics.get(k) is not None for r in run.runs)]
    fig = Figure(figsize=(max(8, 0.75 * len(keys) + 2), 5), layout="constrained")
    ax = fig.add_subplot()
    width = 0.8 / max(len(run.runs), 1)
    for i, r in enumerate(run.runs):
        xs = [
            j + (i - (len(run.runs) - 1) / 2) * width
            for j, k in enumerate(keys)
            if r.metrics.get(k) is not None
        ]
        ys = [r.metrics[k] for k in keys if r.metrics.get(k) is not None]
        ax.bar(xs, ys, width, label=r.config.name)
    labelled = False
    for j, k in enumerate(keys):
        limit = run.thresholds.minimum.get(k, run.thresholds.maximum.get(k))
        if limit is not None:
            ax.hlines(
                limit,
                j - 0.45,
                j + 0.45,
                colors="black",
                linewidth=1.5,
                label=None if labelled else f"limit ({run.thresholds.config})",
            )
            labelled = True
    labels = dict((k, label) for k, label, _ in METRICS)
    ax.set_xticks(
        range(len(keys)),
        [labels[k].replace(" (lower is better)", "\n(lower better)") for k in keys],
        rotation=45,
        ha="right",
    )
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
        data = [
            [c.timings[stage] for c in r.cases if stage in c.timings] or [0.0] for r in run.runs
        ]
        if names:
            ax.boxplot(data, tick_labels=names, showfliers=True)
        ax.set_title(stage.replace("_ms", ""))
        ax.set_ylabel("ms")
        ax.grid(axis="y", alpha=0.3)
    fig.suptitle("Latency per stage (each question)")
    fig.savefig(path, dpi=110)
