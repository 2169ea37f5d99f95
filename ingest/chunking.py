"""Structure-first chunking with a token budget measured by the embedding model's tokenizer.

A document is cut at headings and numbered sections first; inside a section, page by page, at
sentence boundaries, keeping list items and table rows whole. Each chunk is a verbatim span of
its page's text (``start``/``end`` offsets), labelled with the heading path above it. Chunks never
cross pages, so every chunk cites exactly one page, and never cross page furniture (spans given
to ``split`` by ``ingest.furniture``), so no chunk holds a running header or a contents entry.
The text that is embedded is the heading path, the column headers of a table whose rows the
chunk holds without its header row, and the span; it never exceeds the model's window, so
nothing is silently truncated.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from assistant.core.text import heading_of, unit_spans
from ingest.furniture import Furniture, find_furniture

TokenCounter = Callable[[Sequence[str]], list[int]]

MAX_SECTION_DEPTH = 6
_TABLE_RULE = re.compile(r"^\|?\s*:?-{3,}:?\s*(?:\|\s*:?-{3,}:?\s*)*\|?$")


@dataclass(frozen=True)
class Chunk:
    """A verbatim span of one page, with where it sits in the document."""

    index: int
    page: int
    section: str
    start: int
    end: int
    text: str
    #: the header row of the table whose rows this chunk holds without it, else ""
    table_header: str = ""

    @property
    def embed_text(self) -> str:
        """What the embedding model reads: heading path, table header, then the passage."""
        return "\n".join(part for part in (self.section, self.table_header, self.text) if part)


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

    def split(
        self, pages: Sequence[str], skip: Sequence[Sequence[tuple[int, int]]] | None = None
    ) -> list[Chunk]:
        """Chunk page texts; ``skip[i]`` lists (start, end) spans of page ``i + 1`` to leave out."""
        chunks: list[Chunk] = []
        stack: list[tuple[int, str]] = []
        for page_no, text in enumerate(pages, start=1):
            spans = skip[page_no - 1] if skip and page_no <= len(skip) else ()
            for lo, hi in _regions(len(text), spans):
                body_start = pos = lo
                for line in text[lo:hi].split("\n"):
                    heading = heading_of(line.strip())
                    if heading:
                        self._pack(text, body_start, pos, page_no, stack, chunks)
                        level, title = heading
                        while stack and stack[-1][0] >= level:
                            stack.pop()
                        stack.append((level, title))
                        del stack[:-MAX_SECTION_DEPTH]
                        body_start = min(pos + len(line) + 1, hi)
                    pos += len(line) + 1
                self._pack(text, body_start, hi, page_no, stack, chunks)
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
        headers = _table_headers(text, units)
        cost = dict(zip(set(headers), self.count([h for h in set(headers)]), strict=True))
        cost = {h: (n + 1 if h else 0) for h, n in cost.items()}
        for i, h in enumerate(headers):
            if cost[h] > budget // 3:  # a header too wide to repeat is left out
                headers[i] = ""
        cost[""] = 0
        sized: list[tuple[int, int, int, str]] = []
        for span, size, header in zip(
            units, self.count([text[a:b] for a, b in units]), headers, strict=True
        ):
            room = budget - cost[header]
            if size > room:
                pieces = _split_long(text, span, room, self.count)
                sizes = self.count([text[a:b] for a, b in pieces])
                sized.extend((a, b, n, header) for (a, b), n in zip(pieces, sizes, strict=True))
            else:
                sized.append((*span, size, header))
        current: list[tuple[int, int, int, str]] = []
        used = 0
        for unit in sized:
            if current and used + unit[2] > budget:
                self._emit(text, page, section, current, out)
                carry: list[tuple[int, int, int, str]] = []
                kept = 0
                for prev in reversed(current):
                    if (
                        kept + prev[2] > self.overlap_tokens
                        or kept + prev[2] + unit[2] + cost[prev[3]] > budget
                    ):
                        break
                    carry.insert(0, prev)
                    kept += prev[2]
                current, used = carry, kept + (cost[carry[0][3]] if carry else 0)
            if not current:
                used = cost[unit[3]]
            current.append(unit)
            used += unit[2]
        if current:
            self._emit(text, page, section, current, out)

    @staticmethod
    def _emit(
        text: str, page: int, section: str, units: list[tuple[int, int, int, str]], out: list[Chunk]
    ) -> None:
        start, end = units[0][0], units[-1][1]
        out.append(Chunk(len(out), page, section, start, end, text[start:end], units[0][3]))


def _regions(length: int, spans: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """The parts of ``[0, length)`` outside the given spans."""
    regions, pos = [], 0
    for start, end in sorted(spans):
        if start > pos:
            regions.append((pos, start))
        pos = max(pos, end)
    if pos < length:
        regions.append((pos, length))
    return regions


def _table_headers(text: str, units: list[tuple[int, int]]) -> list[str]:
    """For each unit, the header row of the table it is a body row of, else "".

    A table is a run of '|' rows (blank lines between rows allowed, as DOCX pages have them); its
    header is its first row. Units that are a header row, or not a row, get "".
    """
    headers: list[str] = []
    header = ""
    in_table = False
    for start, end in units:
        row = text[start:end].strip()
        if not row.startswith("|"):
            in_table, header = False, ""
            headers.append("")
            continue
        if not in_table:
            in_table, header = True, row
            headers.append("")
            continue
        headers.append("" if _TABLE_RULE.match(row) else header)
    return headers


def split_document(chunker: Chunker, pages: Sequence[str]) -> tuple[list[Chunk], Furniture]:
    """Chunks of one document with its page furniture left out, and that furniture.

    A document that would yield no chunk without its furniture is chunked whole instead.
    """
    furniture = find_furniture(pages)
    chunks = chunker.split(pages, furniture.ranges())
    if not chunks and furniture.counts():
        return chunker.split(pages), Furniture([[] for _ in pages])
    return chunks, furniture
