"""The ``briefing eval`` and ``briefing bench`` subcommands, registered as plugins.

``assistant`` imports nothing from ``evals``: ``pyproject.toml`` registers these two objects in the
``briefing.commands`` entry-point group, and ``assistant.cli`` adds every command it finds there.
A command is an object with ``name``, ``help``, ``add_arguments(parser)`` and
``run(args, settings)``.
"""

from __future__ import annotations

import argparse
import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: bench target -> module under evals/ with ``run_<target>_benchmark``.
BENCH_TARGETS = {
    "ingest": "evals.bench_ingest",
    "query": "evals.bench_query",
    "critique": "evals.bench_critique",
    "ui": "evals.bench_ui",
    "scale": "evals.bench_scale",
}


@dataclass(frozen=True)
class EvalCommand:
    """``briefing eval``: score answers, retrieval and critiques against the datasets."""

    name: str = "eval"
    help: str = "score answers, retrieval and critiques against the datasets"

    def add_arguments(self, p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--dataset", action="append", default=[], type=Path, help="a JSONL file (repeatable)"
        )
        p.add_argument(
            "--config",
            dest="configs",
            action="append",
            default=[],
            metavar="NAME",
            help="a configuration to run (repeatable)",
        )
        p.add_argument("--json", action="store_true")
        p.add_argument(
            "-o", "--output", type=Path, default=Path("eval-report"), help="report folder"
        )
        p.add_argument(
            "--thresholds",
            type=Path,
            help="floors file (default evals/thresholds.yaml; needed to gate other datasets)",
        )
        p.add_argument(
            "--suite",
            dest="suites",
            action="append",
            default=[],
            choices=["peerqa", "realdocs", "all"],
            help="also run an external suite over ../shared (repeatable; see evals/suites.py)",
        )

    def run(self, args: argparse.Namespace, settings: Any) -> int:
        from evals.runner import cli_eval

        return cli_eval(args, settings)


@dataclass(frozen=True)
class BenchCommand:
    """``briefing bench TARGET``: run one benchmark and write its section of BENCHMARKS.md."""

    name: str = "bench"
    help: str = "run a benchmark and write BENCHMARKS.md"

    def add_arguments(self, p: argparse.ArgumentParser) -> None:
        p.add_argument("target", choices=sorted(BENCH_TARGETS))
        p.add_argument(
            "--pages", type=int, default=500, help="pages of the generated large plan (ingest)"
        )
        p.add_argument(
            "--repeat", type=int, default=3, help="runs per measurement (median reported)"
        )
        p.add_argument("--output", type=Path, default=Path("BENCHMARKS.md"))
        p.add_argument(
            "--only",
            action="append",
            default=[],
            metavar="INPUT",
            help="ingest: just these inputs (corpus, plan, realdocs, longreal; repeatable)",
        )

    def run(self, args: argparse.Namespace, settings: Any) -> int:
        module = importlib.import_module(BENCH_TARGETS[args.target])
        run = getattr(module, f"run_{args.target}_benchmark")
        if args.target == "ingest":
            print(
                run(
                    settings,
                    pages=args.pages,
                    repeat=args.repeat,
                    output=args.output,
                    only=tuple(args.only),
                )
            )
        else:
            print(run(settings, repeat=args.repeat, output=args.output))
        return 0


EVAL = EvalCommand()
BENCH = BenchCommand()
