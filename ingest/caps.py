"""Volume caps a loader enforces while it reads: characters per page and per document, and how
far a compressed container (a DOCX is a ZIP) may inflate.

A page over ``max_page_chars`` is cut with a note, except in plain text and Markdown, which have
no real pages: there a long stretch is split into pages at paragraph ends, so nothing is lost. A
document over ``max_document_chars`` is refused with the limit named. A DOCX whose parts would
inflate past ``MAX_INFLATED_BYTES`` (or more than ``MAX_INFLATION`` times its size) is "too
complex" before any XML is parsed.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Protocol

from assistant.core.errors import IngestError

#: A DOCX whose parts together inflate past this is refused unread.
MAX_INFLATED_BYTES = 256 * 1024 * 1024
#: ... as is one that inflates more than this many times its size, beyond 32 MB.
MAX_INFLATION = 100
_SMALL_INFLATED = 32 * 1024 * 1024


class PageLimits(Protocol):
    """The fields of ``ingest.loaders.Limits`` the caps read."""

    max_page_chars: int
    max_document_chars: int


def _split(text: str, limit: int) -> list[str]:
    """``text`` in pieces of at most ``limit`` characters, cut at paragraph, line or word ends."""
    parts: list[str] = []
    while len(text) > limit:
        cut = -1
        for mark in ("\n\n", "\n", " "):
            cut = text.rfind(mark, limit // 2, limit)
            if cut > 0:
                break
        cut = cut if cut > 0 else limit
        parts.append(text[:cut].strip())
        text = text[cut:].strip()
    parts.append(text)
    return [p for p in parts if p]


def cap_pages(
    pages: list[str], limits: PageLimits, notes: list[str], *, split: bool = False
) -> list[str]:
    """Pages within the caps: long pages cut (or split, for text without real pages), and the
    document refused when its text passes ``max_document_chars``.

    Raises:
        IngestError: "too much text (...; the limit is ... per document)".
    """
    out: list[str] = []
    total = 0
    for number, text in enumerate(pages, start=1):
        total += len(text)
        if total > limits.max_document_chars:
            raise IngestError(
                f"too much text (over {limits.max_document_chars:,} characters by page {number}; "
                f"the limit is {limits.max_document_chars:,} per document)"
            )
        if len(text) <= limits.max_page_chars:
            out.append(text)
        elif split:
            pieces = _split(text, limits.max_page_chars)
            notes.append(
                f"page {number} ({len(text):,} characters without page breaks) split into "
                f"{len(pieces)} pages of at most {limits.max_page_chars:,}"
            )
            out += pieces
        else:
            notes.append(
                f"page {number} cut to {limits.max_page_chars:,} of {len(text):,} characters"
            )
            out.append(text[: limits.max_page_chars])
    return out


def check_zip_inflation(path: Path) -> None:
    """Refuse a ZIP container (DOCX) whose parts would inflate beyond the caps.

    The sizes are those the archive declares; Python's ``zipfile`` never inflates a member past
    its declared size, so a lying archive cannot get round the check.

    Raises:
        IngestError: "document too complex (...)".
    """
    try:
        with zipfile.ZipFile(path) as archive:
            inflated = sum(item.file_size for item in archive.infolist())
    except (zipfile.BadZipFile, OSError):
        return  # the DOCX reader reports an unreadable file in its own words
    size = max(path.stat().st_size, 1)
    if inflated > MAX_INFLATED_BYTES or (
        inflated > _SMALL_INFLATED and inflated > MAX_INFLATION * size
    ):
        raise IngestError(
            f"document too complex (its {size / 1024:,.0f} KB inflate to "
            f"{inflated / 1048576:,.0f} MB; the limit is {MAX_INFLATED_BYTES // 1048576} MB)"
        )
