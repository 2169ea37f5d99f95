"""Terminal output of the ``briefing`` command: progress bars, tables and answers."""

from __future__ import annotations

import sys
from typing import Any


class Progress:
    """Two bars on stderr: files parsed, chunks embedded for the current file."""

    def __init__(self) -> None:
        from tqdm import tqdm

        self._tqdm = tqdm
        self._bars: dict[str, Any] = {}
        self.enabled = sys.stderr.isatty()

    def __call__(self, stage: str, done: int, total: int) -> None:
        if not self.enabled:
            return
        bar = self._bars.get(stage)
        if bar is None or bar.total != total or done < bar.n:
            if bar is not None:
                bar.close()
            unit = {"files": "file", "chunks": "chunk"}.get(stage, "step")
            bar = self._bars[stage] = self._tqdm(
                total=total, desc=stage, unit=unit, leave=stage == "files", file=sys.stderr
            )
        bar.update(done - bar.n)

    def close(self) -> None:
        for bar in self._bars.values():
            bar.close()


def table(rows: list[list[Any]], header: list[str]) -> str:
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows, strict=False)]
    line = lambda r: "  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=False)).rstrip()  # noqa: E731
    return "\n".join([line(header), line(["-" * w for w in widths]), *map(line, rows)])


def render_answer(answer: Any) -> str:
    """An answer for the terminal: text, notices, then numbered sources with their passages."""
    lines = [answer.text]
    lines += [f"note: {n}" for n in answer.notices]
    if answer.citations:
        lines.append("")
        lines.append("sources:")
    for c in answer.citations:
        where = f"{c.title}, page {c.page}" + (f", {c.section}" if c.section else "")
        quote = " ".join(c.quote.split())
        lines.append(f"  [{c.n}] {where}")
        lines.append(f'      "{quote[:300]}{"…" if len(quote) > 300 else ""}"')
    return "\n".join(lines)
