"""Loaders: turn one file into page texts plus title, year and type hints.

These run inside a parser process (see ``ingest.worker``) because pypdf parses hostile input:
a crafted file may hang or blow up memory, and that must cost only the child. Every failure a
person should understand is raised as ``IngestError`` with the reason to record.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from assistant.core.errors import IngestError
from assistant.core.guard import looks_like_instruction_title
from assistant.core.text import display_name, normalise, printed_title
from ingest.caps import cap_pages as _cap_pages
from ingest.caps import check_zip_inflation
from ingest.markup import is_restructured, plain_html, plain_markdown, plain_rst, section_titles
from ingest.spacing import rejoin_split_words

PDF_EXTS = {".pdf"}
DOCX_EXTS = {".docx"}
MARKDOWN_EXTS = {".md", ".markdown"}
TEXT_EXTS = {".txt", ".text", ".rst"}
HTML_EXTS = {".html", ".htm"}
SUPPORTED_EXTS = PDF_EXTS | DOCX_EXTS | MARKDOWN_EXTS | TEXT_EXTS | HTML_EXTS
PAGE_BREAK = re.compile(r"^\s*(?:<!--\s*pagebreak\s*-->|\f)\s*$", re.MULTILINE | re.IGNORECASE)
PASSWORD_REASON = "password-protected PDFs are not supported"
_YEAR = re.compile(r"\b(19[5-9]\d|20[0-9]\d)\b")


@dataclass
class Limits:
    """Caps a loader enforces."""

    max_pages: int = 3000
    max_page_chars: int = 200_000
    max_document_chars: int = 30_000_000


@dataclass
class LoadedDocument:
    """What a loader read from one file."""

    pages: list[str]
    title: str
    kind: str
    year: int | None = None
    doc_type: str | None = None
    notes: list[str] = field(default_factory=list)


def sniff(path: Path, head: bytes) -> str:
    """Decide how to read a file from its first bytes, then its extension.

    Raises:
        IngestError: for empty files and types Briefing does not read.
    """
    ext = path.suffix.lower()
    if not head:
        raise IngestError("empty file (0 bytes)")
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if b"%PDF-" in head[:1024]:
        return "pdf"
    if stripped.startswith((b"<!doctype html", b"<html", b"<?xml")) or ext in HTML_EXTS:
        if ext in PDF_EXTS:
            return "html-named-pdf"
        return "html"
    if head.startswith(b"PK\x03\x04"):
        if ext in DOCX_EXTS:
            return "docx"
        raise IngestError("not a supported type (a ZIP archive)")
    if ext in PDF_EXTS:
        kind = "a PNG image" if head.startswith(b"\x89PNG") else "no PDF header"
        raise IngestError(f"not a PDF ({kind})")
    if ext in DOCX_EXTS:
        raise IngestError("not a DOCX file (no ZIP container)")
    if ext in MARKDOWN_EXTS:
        return "markdown"
    if ext in TEXT_EXTS:
        return "text"
    raise IngestError(
        f"not a supported type ({ext or 'no extension'}); supported: "
        f"{', '.join(sorted(SUPPORTED_EXTS))}"
    )


def _first_heading(pages: list[str]) -> str | None:
    for page in pages:
        for line in page.splitlines():
            match = re.match(r"#{1,3}\s+(.+)", line)
            if match:
                return match.group(1).strip()
    return None


def _year_of(*candidates: str | None) -> int | None:
    for text in candidates:
        if text:
            match = _YEAR.search(text)
            if match:
                return int(match.group(1))
    return None


@dataclass
class PdfInfo:
    """What opening a PDF tells before any page is read: its page count and metadata."""

    pages: int
    title: str = ""
    created: str = ""


@contextmanager
def _pdf_errors() -> Iterator[None]:
    """Turn whatever pypdf raises on a hostile or broken file into an IngestError reason."""
    from pypdf.errors import DependencyError, FileNotDecryptedError, LimitReachedError, PdfReadError
    from pypdf.filters import ZLIB_MAX_OUTPUT_LENGTH

    try:
        yield
    except IngestError:
        raise
    except FileNotDecryptedError:
        raise IngestError(PASSWORD_REASON) from None
    except DependencyError as exc:
        raise IngestError(f"encrypted PDF needs pypdf's crypto extra ({_one_line(exc)})") from None
    except LimitReachedError as exc:
        what = f"over a pypdf safety limit: {_one_line(exc)}"
        if "decompress" in str(exc).lower():  # pypdf's cap, the same for every filter
            what = f"a stream expands past the {ZLIB_MAX_OUTPUT_LENGTH / 1e6:g} MB limit"
        raise IngestError(f"document too complex ({what})") from None
    except MemoryError:
        raise  # the parser process names its memory limit
    except RecursionError:
        raise IngestError("document too complex (its structure nests too deeply)") from None
    except PdfReadError as exc:
        raise IngestError(f"unreadable PDF ({_one_line(exc)})") from None
    except Exception as exc:  # pypdf raises many ad-hoc errors on broken files
        raise IngestError(f"unreadable PDF ({type(exc).__name__}: {_one_line(exc)})") from None


def _open_pdf(path: Path, limits: Limits) -> tuple[Any, PdfInfo]:
    """Open a PDF, decrypting an owner-password-only file; check its page count."""
    from pypdf import PasswordType, PdfReader

    reader = PdfReader(path)
    if reader.is_encrypted and reader.decrypt("") == PasswordType.NOT_DECRYPTED:
        raise IngestError(PASSWORD_REASON)  # opening needs a user password
    count = len(reader.pages)
    if count == 0:
        raise IngestError("the PDF has no pages")
    if count > limits.max_pages:
        raise IngestError(f"too many pages ({count:,}; the limit is {limits.max_pages:,})")
    meta: Any = reader.metadata or {}
    title, created = str(meta.get("/Title") or "").strip(), str(meta.get("/CreationDate") or "")
    return reader, PdfInfo(count, title, created)


def _read_pages(reader: Any, first: int, last: int) -> tuple[list[str], list[int]]:
    """Texts of pages ``first`` to ``last`` - 1 (0-based) and the 1-based numbers that failed."""
    from pypdf.errors import LimitReachedError

    pages, failed = [], []
    for number in range(first, last):
        try:
            pages.append(normalise(reader.pages[number].extract_text() or ""))
        except (LimitReachedError, MemoryError):
            raise
        except Exception:
            pages.append("")
            failed.append(number + 1)
    return pages, failed


def read_pdf_pages(
    path: Path, limits: Limits, first: int, last: int
) -> tuple[list[str], list[int]]:
    """Read pages ``first`` to ``last`` - 1 (0-based) of a PDF: one part of a split parse."""
    with _pdf_errors():
        reader, info = _open_pdf(path, limits)
        return _read_pages(reader, first, min(last, info.pages))


def load_pdf(path: Path, limits: Limits, split_at: int = 0) -> LoadedDocument | PdfInfo:
    """Read a PDF page by page with pypdf.

    With ``split_at`` > 0, a PDF of at least that many pages is not read here: its ``PdfInfo``
    is returned so that the caller can read page ranges in parallel (``read_pdf_pages``) and
    join them with ``assemble_pdf``.
    """
    with _pdf_errors():
        reader, info = _open_pdf(path, limits)
        if 0 < split_at <= info.pages:
            return info
        pages, failed = _read_pages(reader, 0, info.pages)
    return assemble_pdf(path, info, pages, failed, limits)


def assemble_pdf(
    path: Path, info: PdfInfo, pages: list[str], failed: list[int], limits: Limits
) -> LoadedDocument:
    """Turn the page texts of a PDF into a document: notes on unread pages, caps, title, year."""
    notes: list[str] = []
    if failed:
        notes.append(f"text could not be read on page(s) {_page_list(sorted(failed))}")
    empty = [n for n, text in enumerate(pages, start=1) if not text.strip()]
    if len(empty) == len(pages):
        raise IngestError(
            f"no extractable text on {len(pages)} of {len(pages)} pages (scanned? no OCR is done)"
        )
    if empty:
        notes.append(
            f"no extractable text on {len(empty)} of {len(pages)} pages ({_page_list(empty)}; "
            f"scanned?)"
        )
    pages = rejoin_split_words(_cap_pages(pages, limits, notes))  # "se curity": "security"
    meta_title = "" if info.title.lower().startswith("untitled") else info.title
    meta_title = printed_title(meta_title, pages[:2])
    title = _title(path, meta_title, _first_heading(pages))
    year = _year_of(title, info.created[2:6] if info.created.startswith("D:") else None)
    return LoadedDocument(pages, title, "pdf", year, notes=notes)


def _one_line(exc: BaseException, limit: int = 160) -> str:
    text = " ".join(str(exc).split()).rstrip(".") or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _title(path: Path, *candidates: str | None) -> str:
    """The first usable title. Metadata, headings and file names are all untrusted: one line,
    no control or bidi characters, no markup brackets, bounded length."""
    for candidate in candidates:
        cleaned = re.sub(r"[<>]", "", " ".join(normalise(candidate or "").split()))
        if cleaned and not looks_like_instruction_title(cleaned):  # planted: use the file name
            return cleaned if len(cleaned) <= 200 else cleaned[:199] + "…"
    return display_name(" ".join(path.stem.split()))


def _page_list(numbers: list[int], shown: int = 12) -> str:
    text = ", ".join(str(n) for n in numbers[:shown])
    return text + (f" and {len(numbers) - shown} more" if len(numbers) > shown else "")


def _front_matter(text: str) -> tuple[dict, str]:
    match = re.match(r"\A---\s*\n(.*?)\n---\s*\n", text, re.DOTALL)
    if not match:
        return {}, text
    try:
        data = yaml.safe_load(match.group(1)) or {}
    except yaml.YAMLError:
        return {}, text
    return (data if isinstance(data, dict) else {}), text[match.end() :]


def load_text(path: Path, limits: Limits, markdown: bool) -> LoadedDocument:
    """Plain text, reStructuredText or Markdown (marks dropped, see :mod:`ingest.markup`), with
    optional YAML front matter; pages split at page-break marks."""
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    meta, body = _front_matter(text)
    if markdown:
        body = plain_markdown(body)
    elif path.suffix.lower() == ".rst" or is_restructured(body):
        body = plain_rst(body)
    else:
        body = section_titles(body)  # titles over underlines in plain text too
    pages = [normalise(part) for part in PAGE_BREAK.split(body)]
    pages = [p for p in pages if p] or [""]
    if not any(pages):
        raise IngestError("no extractable text (the file is blank)")
    notes: list[str] = []
    pages = _cap_pages(pages, limits, notes, split=True)
    if len(pages) > limits.max_pages:
        raise IngestError(f"too many pages ({len(pages):,}; the limit is {limits.max_pages:,})")
    title = _title(path, str(meta.get("title") or ""), _first_heading(pages))
    year = meta.get("year")
    year = (
        int(year)
        if isinstance(year, int) or (isinstance(year, str) and year.isdigit())
        else _year_of(title)
    )
    doc_type = str(meta["doc_type"]) if meta.get("doc_type") else None
    return LoadedDocument(pages, title, "markdown" if markdown else "text", year, doc_type, notes)


def load_docx(path: Path, limits: Limits) -> LoadedDocument:
    """Word documents: headings become '#' lines, tables '|' rows; page breaks split pages."""
    import docx
    from docx.oxml.ns import qn
    from docx.text.paragraph import Paragraph

    check_zip_inflation(path)
    try:
        document = docx.Document(str(path))
    except MemoryError:
        raise IngestError("document too complex (it needs more memory than allowed)") from None
    except Exception as exc:
        raise IngestError(f"unreadable DOCX ({type(exc).__name__})") from None
    pages: list[list[str]] = [[]]
    body = document.element.body
    for element in body.iterchildren():
        if element.tag == qn("w:p"):
            para = Paragraph(element, document)
            style = (para.style.name if para.style is not None else "") or ""
            text = para.text.strip()
            if text:
                level = re.match(r"Heading (\d)", style)
                if level:
                    text = "#" * int(level.group(1)) + " " + text
                elif style.startswith("Title"):
                    text = "# " + text
                elif style.startswith("List"):
                    text = "- " + text
                pages[-1].append(text)
            if element.findall(".//" + qn("w:br")) and any(
                br.get(qn("w:type")) == "page" for br in element.iter(qn("w:br"))
            ):
                pages.append([])
        elif element.tag == qn("w:tbl"):
            table = docx.table.Table(element, document)
            for row in table.rows:
                cells = [cell.text.strip().replace("\n", " ") for cell in row.cells]
                pages[-1].append("| " + " | ".join(cells) + " |")
    texts = [normalise("\n\n".join(lines)) for lines in pages]
    texts = [t for t in texts if t]
    if not texts:
        raise IngestError("no extractable text (the document is blank)")
    notes: list[str] = []
    texts = _cap_pages(texts, limits, notes)
    core = document.core_properties
    title = _title(path, core.title, _first_heading(texts))
    year = core.created.year if core.created else None
    return LoadedDocument(texts, title, "docx", _year_of(title) or year, notes=notes)


def load_html(path: Path, limits: Limits) -> LoadedDocument:
    """Text of an HTML page (see :func:`ingest.markup.plain_html`)."""
    html_title, text = plain_html(path.read_bytes())
    text = normalise(text)
    if not text:
        raise IngestError("no extractable text in the HTML page")
    notes: list[str] = []
    pages = _cap_pages([text], limits, notes)
    title = _title(path, html_title, _first_heading(pages))
    return LoadedDocument(pages, title, "html", _year_of(title), notes=notes)


def load_file(path: Path, limits: Limits, split_at: int = 0) -> LoadedDocument | PdfInfo:
    """Read any supported file. Raises IngestError with a reason for anything else.

    ``split_at`` > 0 asks for a ``PdfInfo`` instead of a document for PDFs of that many pages
    or more (see ``load_pdf``); other files are always read whole.
    """
    with path.open("rb") as handle:
        head = handle.read(2048)
    kind = sniff(path, head)
    if kind == "pdf":
        return load_pdf(path, limits, split_at)
    if kind == "docx":
        return load_docx(path, limits)
    if kind == "html-named-pdf":
        raise IngestError(
            "not a PDF: the file holds an HTML web page (rename it .html to read it as a page)"
        )
    if kind == "html":
        return load_html(path, limits)
    return load_text(path, limits, markdown=kind == "markdown")
