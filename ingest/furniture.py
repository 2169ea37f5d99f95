"""Page furniture: text printed on a page that is not the document's content.

Running headers and footers, page numbers, tables of contents, footnote blocks and boilerplate
lines repeated through a document (a slide transcript's "Download Report Transcript", a release
stamp on every page) are found here, per document, from the page texts alone, so the same rules
serve PDF, DOCX, Markdown and plain text. Nothing is removed from the pages: ``find_furniture``
returns character spans per page, the chunker leaves those spans out of every chunk, and the
manifest keeps the full page text, so a quote still verifies against the page it cites.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import pairwise

#: Kinds of furniture, in the order the ingest report lists them.
KINDS = ("running", "toc", "footnote", "boilerplate")
#: Nonblank lines at each end of a page where running headers and footers are looked for.
EDGE_LINES = 4
#: Edge lines on at least this share of the pages are running lines, however far apart.
RUNNING_SHARE = 0.25
MAX_RUNNING_CHARS = 120

_DIGITS = re.compile(r"\d+")
_ROMAN = r"(?=[ivx])x{0,3}(?:ix|iv|v?i{0,3})"  # front-matter page numbers, i to xxxix
_ROMAN_PAGE = re.compile(rf"(?:^|\bpage\s+)({_ROMAN})\b(?=\s|$)")
_PAGE_NUMBER = re.compile(
    rf"^(?:page\s+)?[-–(\[]?\s*(?:#|{_ROMAN})\s*[-–)\]]?(?:\s*(?:of|/)\s*#)?$"
)
_LEADER = re.compile(r"(?:\.\s?){5,}|(?:_\s?){5,}|(?:·\s?){5,}")
_TOC_HEADING = re.compile(
    r"^(?:#{1,6}\s*)?(?:table\s+of\s+contents|contents|list\s+of\s+(?:figures|tables|boxes|charts|annexes))"
    rf"(?:\s+(?:\d{{1,3}}|{_ROMAN}))?$",
    re.IGNORECASE,
)
_LINK_ENTRY = re.compile(
    r"^(?:[-*+]|\d+\.)\s+\[[^\]]+\]\(#[^)\s]*\)$"
)  # Markdown "- [Scope](#scope)"
_ENDS_WITH_PAGE = re.compile(rf"^(?=.*[A-Za-z]{{2}}).*\s(?:\d{{1,4}}|{_ROMAN})$")
_FOOTNOTE_START = re.compile(r"^(\d{1,3})(?:\s+(?=\S)|(?=[A-Z])|$)")
_SENTENCE_END = re.compile(r"[.!?;:,]$")
_BLANK_PAGE = re.compile(
    r"^(?:this\s+page\s+(?:is\s+)?(?:intentionally|deliberately)\s+(?:left\s+)?blank\.?)$",
    re.IGNORECASE,
)
_NUMBER_TOKEN = re.compile(r"(?<!\S)[-+]?\d[\d.,]*%?(?!\S)")
_ENDS_SENTENCE = re.compile(r"[.!?][\"'\u201d\u2019)\]]*$")


@dataclass(frozen=True)
class Span:
    """One piece of furniture: ``page_text[start:end]`` of one page, of one kind."""

    start: int
    end: int
    kind: str


@dataclass
class Furniture:
    """Furniture of one document: ``pages[i]`` lists the spans of page ``i + 1``, in order."""

    pages: list[list[Span]] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        """Spans (lines, or whole blocks for TOC pages and footnotes) set aside, per kind."""
        found = Counter(span.kind for spans in self.pages for span in spans)
        return {kind: found[kind] for kind in KINDS if found[kind]}

    def ranges(self) -> list[list[tuple[int, int]]]:
        """Per page, the (start, end) spans the chunker must leave out."""
        return [[(s.start, s.end) for s in spans] for spans in self.pages]


@dataclass(frozen=True)
class _Line:
    start: int
    end: int
    text: str


def _lines(page: str) -> list[_Line]:
    """Nonblank lines of a page with their offsets (loaders strip every line already)."""
    out, pos = [], 0
    for raw in page.split("\n"):
        stripped = raw.strip()
        if stripped:
            lead = len(raw) - len(raw.lstrip())
            out.append(_Line(pos + lead, pos + lead + len(stripped), stripped))
        pos += len(raw) + 1
    return out


def _key(text: str) -> str:
    """A line with its numbers, and page numbers in roman numerals, as '#'."""
    key = " ".join(_DIGITS.sub("#", text.lower()).split())
    return _ROMAN_PAGE.sub(lambda m: m.group(0)[: m.start(1) - m.start(0)] + "#", key)


def _edges(lines: list[_Line]) -> list[int]:
    count = len(lines)
    return sorted(
        set(range(min(EDGE_LINES, count))) | set(range(max(0, count - EDGE_LINES), count))
    )


def _running_keys(pages: list[list[_Line]]) -> set[str]:
    """Keys of short edge lines that recur as running heads do: on a run of 3+ pages at most
    two apart (every page, or every other page), or anywhere on ``RUNNING_SHARE`` of the pages."""
    seen: dict[str, list[int]] = defaultdict(list)
    for number, lines in enumerate(pages):
        for key in {
            _key(lines[i].text) for i in _edges(lines) if len(lines[i].text) <= MAX_RUNNING_CHARS
        }:
            seen[key].append(number)
    with_text = sum(1 for lines in pages if lines)
    floor = max(3, math.ceil(RUNNING_SHARE * with_text))
    return {key for key, where in seen.items() if len(where) >= floor or _longest_run(where) >= 3}


def _longest_run(numbers: list[int], gap: int = 2) -> int:
    best = run = 1
    for before, after in pairwise(numbers):
        run = run + 1 if after - before <= gap else 1
        best = max(best, run)
    return best


def _prefix_patterns(keys: set[str]) -> list[re.Pattern[str]]:
    """Running lines that may arrive glued to the first or last sentence of a page."""
    patterns = []
    for key in sorted(keys, key=len, reverse=True):
        if len(key.split()) >= 2 and not _PAGE_NUMBER.match(key):
            body = r"\s+".join(
                re.escape(word).replace("\\#", "#").replace("#", r"\d+") for word in key.split()
            )
            patterns.append(re.compile(rf"^{body}(?=\s+\S)", re.IGNORECASE))
    return patterns


def _mark_running(
    lines: list[_Line], keys: set[str], glued: list[re.Pattern[str]], many_pages: bool
) -> dict[int, Span]:
    spans: dict[int, Span] = {}
    edges = _edges(lines)
    for i, line in enumerate(lines):
        key = _key(line.text)
        if i not in edges:
            if key in keys and len(key.split()) >= 2:  # a running head extracted mid-page
                spans[i] = Span(line.start, line.end, "running")
            continue
        outermost = i in (0, len(lines) - 1)
        if key in keys or (many_pages and outermost and _PAGE_NUMBER.match(key)):
            spans[i] = Span(line.start, line.end, "running")
        elif i in (edges[0], edges[-1]):
            for pattern in glued:
                match = pattern.match(line.text)
                if match:
                    spans[i] = Span(line.start, line.start + match.end(), "running")
                    break
    return spans


def _is_entry(text: str) -> bool:
    return bool(_LEADER.search(text) or _ENDS_WITH_PAGE.match(text) or _LINK_ENTRY.match(text))


def _toc_block(lines: list[_Line], after_toc: bool) -> tuple[int, int] | None:
    """(first, last) line indices of a table of contents on this page, or None.

    Contents are a "Contents" heading followed by entries (a few unnumbered lines between them
    for wrapped titles and sub-lists); a page of dot-leader lines; or the page after a contents
    page when its lines are mostly entries.
    """
    heading = next((i for i, ln in enumerate(lines) if _TOC_HEADING.match(ln.text)), None)
    if heading is not None:
        last, found, gap = heading, 0, 0
        for i in range(heading + 1, len(lines)):
            if _is_entry(lines[i].text):
                last, found, gap = i, found + 1, 0
            else:
                gap += 1
                if gap > 3:
                    break
        if found >= 3:
            return heading, last
    entries = [i for i, line in enumerate(lines) if _is_entry(line.text)]
    leaders = sum(1 for i in entries if _LEADER.search(lines[i].text))
    if leaders >= 3 and leaders / len(lines) >= 0.3:
        return entries[0], entries[-1]
    if after_toc and len(entries) >= 3 and _entry_cover(lines, entries) >= 0.6:
        return 0, entries[-1]
    return None


def _entry_cover(lines: list[_Line], entries: list[int]) -> float:
    """Share of a page's lines that are contents entries or their wrapped first lines."""
    covered = set()
    for i in entries:
        covered.add(i)
        for j in range(i - 1, max(i - 4, -1), -1):
            if j in covered or _is_entry(lines[j].text):
                break
            covered.add(j)
    return len(covered) / len(lines)


def _footnote_blocks(lines: list[_Line], page: str, taken: set[int]) -> list[int]:
    """Indices of the lines of footnotes on a page.

    A footnote starts with a number whose marker appears earlier on the page, glued to a word or
    after punctuation ("results.12", "manner.\u201d 19"). It runs on while its lines do not end a
    sentence, and into the next footnote; a page may hold two blocks (a two-page spread).
    """
    found: list[int] = []
    i = max(1, len(lines) // 4)
    while i < len(lines):
        if i in taken or not _is_footnote(lines[i], page):
            i += 1
            continue
        while i < len(lines) and i not in taken:
            found.append(i)
            ends = _ENDS_SENTENCE.search(lines[i].text)
            i += 1
            if ends and (i >= len(lines) or not _FOOTNOTE_START.match(lines[i].text)):
                break
    return found


def _is_footnote(line: _Line, page: str) -> bool:
    match = _FOOTNOTE_START.match(line.text)
    if not match or int(match.group(1)) == 0:
        return False
    n = match.group(1)
    if len(_NUMBER_TOKEN.findall(line.text)) >= 3:
        return False  # a table row
    marker = re.compile(
        rf"(?:[a-z]{{3}}{n}|[)\]]{n}|(?<!\d)[.,;:\"'\u201d\u2019]\s?{n}|^{n})(?=\s|$)", re.MULTILINE
    )
    return marker.search(page, 0, line.start) is not None


def _boilerplate(pages: list[list[_Line]], taken: list[set[int]]) -> set[str]:
    """Label-like lines (a few words, no sentence punctuation) repeated verbatim through the
    document: on a fifth of its pages, or 3+ times in a document of one or two pages."""
    where: dict[str, set[int]] = defaultdict(set)
    times: Counter[str] = Counter()
    for number, lines in enumerate(pages):
        for i, line in enumerate(lines):
            text = line.text
            if (
                i in taken[number]
                or len(text) > 80
                or _SENTENCE_END.search(text)
                or text[0] in "#-*•|>"
            ):
                continue
            words = text.split()
            if len(words) >= 3 or (len(words) >= 2 and any(c.isdigit() for c in text)):
                where[text].add(number)
                times[text] += 1
    with_text = sum(1 for lines in pages if lines)
    if with_text < 3:
        return {text for text, n in times.items() if n >= 3}
    floor = max(3, math.ceil(0.2 * with_text))
    return {text for text, found in where.items() if len(found) >= floor}


def find_furniture(pages: Sequence[str]) -> Furniture:
    """Find the furniture of one document from its page texts (see the module docstring)."""
    lined = [_lines(page) for page in pages]
    many_pages = sum(1 for lines in lined if lines) >= 2
    keys = _running_keys(lined) if sum(1 for lines in lined if lines) >= 3 else set()
    glued = _prefix_patterns(keys)
    found: list[dict[int, Span]] = []
    taken: list[set[int]] = []
    after_toc = False
    for page, lines in zip(pages, lined, strict=True):
        spans = _mark_running(lines, keys, glued, many_pages)
        block = _toc_block(lines, after_toc)
        after_toc = block is not None
        if block:
            for i in range(block[0], block[1] + 1):
                spans.setdefault(i, Span(lines[i].start, lines[i].end, "toc"))
        for i, line in enumerate(lines):
            if i not in spans and _LEADER.search(line.text) and _is_entry(line.text):
                spans[i] = Span(line.start, line.end, "toc")
        for i in _footnote_blocks(lines, page, set(spans)):
            spans[i] = Span(lines[i].start, lines[i].end, "footnote")
        found.append(spans)
        taken.append(set(spans))
    boiler = _boilerplate(lined, taken)
    for lines, spans in zip(lined, found, strict=True):
        for i, line in enumerate(lines):
            if i not in spans and (line.text in boiler or _BLANK_PAGE.match(line.text)):
                spans[i] = Span(line.start, line.end, "boilerplate")
    result = Furniture([sorted(spans.values(), key=lambda s: s.start) for spans in found])
    if not _leaves_content(lined, result):
        return Furniture([[] for _ in pages])  # a document of nothing but repeats is all content
    return result


def _leaves_content(lined: list[list[_Line]], furniture: Furniture) -> bool:
    for lines, spans in zip(lined, furniture.pages, strict=True):
        covered = {(s.start, s.end) for s in spans}
        if any((ln.start, ln.end) not in covered for ln in lines):
            return True
    return False
