"""Structure-first chunking with a token budget measured by the embedding model's tokenizer.

A document is cut at headings and numbered sections first; inside a section, page by page, at
sentence boundaries, keeping list items and table rows whole. Each chunk is a verbatim span of
its page's text (``start``/``end`` offsets), labelled with the heading path above it. Chunks never
cross pages, so every chunk cites exactly one page. The text that is embedded is the heading
path plus the span, and it never exceeds the model's window, so nothing is silently truncated.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from assistant.core.text import heading_of, unit_spans

TokenCounter = Callable[[Sequence[str]], list[int]]

MAX_SECTION_DEPTH = 6


@dataclass(frozen=True)
class Chunk:
    """A verbatim span of one page, with where it sits in the document."""

    index: int
    page: int
    section: str
    start: int
    end: int
    text: str

    @property
    def embed_text(self) -> str:
        """What the embedding model reads: the heading path, then the passage."""
        return f"{self.section}\n{self.text}" if self.section else self.text


def _split_long(
    text: str, span: tuple[int, int], budget: int, count: TokenCounter
) -> list[tuple[int, int]]:
    """Cut one over-long span at word boundaries so each piece fits the budget."""
    words = [(m.start(), m.end()) for m in re.finditer(r"\S+", text[span[0] : span[1]])]
    sizes = count([text[span[0] + a : span[0] + b] for a, b in words])
    pieces, first, used = [], 0, 0
    for i, size in enumerate(sizes):
        if used + size > budget and i > first:
            pieces.append((span[0] + words[first][0], span[0] + words[i - 1][1]))
            first, used = i, 0
        used += size
    pieces.append((span[0] + words[first][0], span[0] + words[-1][1]))
    return pieces


class Chunker:
    """Splits page texts into chunks that fit the embedding model's window.

    Args:
        count_tokens: the embedding model's token counter (no special tokens).
        chunk_tokens: budget for heading path plus passage.
        overlap_tokens: trailing units repeated at the start of the next chunk, up to this size.
    """

    def __init__(
        self, count_tokens: TokenCounter, chunk_tokens: int = 200, overlap_tokens: int = 32
    ) -> None:
        if chunk_tokens <= 0:
            raise ValueError(f"chunk_tokens must be positive, got {chunk_tokens}")
        if not 0 <= overlap_tokens < chunk_tokens // 2:
            raise ValueError(
                f"overlap_tokens must be in [0, {chunk_tokens // 2}), got {overlap_tokens}"
            )
        self.count = count_tokens
        self.chunk_tokens = chunk_tokens
        self.overlap_tokens = overlap_tokens

    def split(self, pages: Sequence[str]) -> list[Chunk]:
        chunks: list[Chunk] = []
        stack: list[tuple[int, str]] = []
        for page_no, text in enumerate(pages, start=1):
            body_start = 0
            pos = 0
            lines: list[str | None] = [*text.split("\n"), None]
            for line in lines:
                if line is None:
                    self._pack(text, body_start, len(text), page_no, stack, chunks)
                    break
                heading = heading_of(line.strip())
                if heading:
                    self._pack(text, body_start, pos, page_no, stack, chunks)
                    level, title = heading
                    while stack and stack[-1][0] >= level:
                        stack.pop()
                    stack.append((level, title))
                    del stack[:-MAX_SECTION_DEPTH]
                    body_start = pos + len(line) + 1
                pos += len(line) + 1
        return chunks

    def _pack(
        self, text: str, lo: int, hi: int, page: int, stack: list[tuple[int, str]], out: list[Chunk]
    ) -> None:
        units = unit_spans(text, lo, min(hi, len(text)))
        if not units:
            return
        section = " > ".join(title for _, title in stack)
        prefix = (self.count([section])[0] + 1) if section else 0
        if prefix > self.chunk_tokens // 2:  # an absurd heading path must not crowd out the text
            section = section[-200:]
            prefix = self.count([section])[0] + 1
        budget = self.chunk_tokens - prefix
        sized: list[tuple[int, int, int]] = []
        for span, size in zip(units, self.count([text[a:b] for a, b in units]), strict=True):
            if size > budget:
                pieces = _split_long(text, span, budget, self.count)
                sized.extend(
                    (a, b, n)
                    for (a, b), n in zip(
                        pieces, self.count([text[a:b] for a, b in pieces]), strict=True
                    )
                )
            else:
                sized.append((*span, size))
        current: list[tuple[int, int, int]] = []
        used = 0
        for unit in sized:
            if current and used + unit[2] > budget:
                self._emit(text, page, section, current, out)
                carry: list[tuple[int, int, int]] = []
                kept = 0
                for prev in reversed(current):
                    if kept + prev[2] > self.overlap_tokens or kept + prev[2] + unit[2] > budget:
                        break
                    carry.insert(0, prev)
                    kept += prev[2]
                current, used = carry, kept
            current.append(unit)
            used += unit[2]
        if current:
            self._emit(text, page, section, current, out)

    @staticmethod
    def _emit(
        text: str, page: int, section: str, units: list[tuple[int, int, int]], out: list[Chunk]
    ) -> None:
        start, end = units[0][0], units[-1][1]
        out.append(Chunk(len(out), page, section, start, end, text[start:end]))
