"""BENCHMARKS.md: every benchmark owns one marked section and rewrites only that."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

FILE_HEADER = (
    "# Benchmarks\n\n"
    "Written by `briefing bench …`. Each benchmark owns the section between its "
    "`<!-- bench:NAME -->` and `<!-- /bench:NAME -->` markers and rewrites only that.\n"
)


def markers(name: str) -> tuple[str, str]:
    """The start and end markers of benchmark ``name``'s section."""
    return f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"


def replace_section(output: Path, section: str, name: str) -> None:
    """Replace benchmark ``name``'s section of ``output`` (appended, or the file made)."""
    start_marker, end_marker = markers(name)
    text = output.read_text(encoding="utf-8") if output.exists() else FILE_HEADER
    start, end = text.find(start_marker), text.find(end_marker)
    if start != -1 and end > start:
        text = text[:start] + section + text[end + len(end_marker) :]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text, encoding="utf-8")


def worker_entry(
    name: str, worker_main: Callable[[str], int], argv: list[str] | None = None
) -> int:
    """``python -m evals.bench_NAME --worker SPEC``: one measurement in a fresh child process.

    Benchmarks themselves are run with ``briefing bench NAME``; this entry point only serves the
    children they start.
    """
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) == 2 and argv[0] == "--worker":
        return worker_main(argv[1])
    print(f"run this benchmark with: briefing bench {name}", file=sys.stderr)
    return 2
