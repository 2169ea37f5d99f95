"""Generators of real bad input files for ``test_bad_inputs.py``: every file is written fresh.

PDFs with text come from fpdf2 (core Helvetica, or DejaVu Sans for non-Latin scripts); blank,
encrypted and hand-built PDFs come from pypdf. Nothing here is mocked: the files are what a user
could hand the ingest pipeline.
"""

from __future__ import annotations

import io
import zipfile
import zlib
from collections.abc import Sequence
from pathlib import Path

from fpdf import FPDF
from pypdf import PdfReader, PdfWriter
from pypdf.generic import DictionaryObject, NameObject, StreamObject

DEJAVU = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")

#: A paragraph of plain prose; varied enough that chunks are real sentences.
PROSE = (
    "The national digital strategy sets out how public services move online by 2030. "
    "Each ministry publishes a roadmap with milestones, budgets and named owners. "
    "Progress is reviewed every year against indicators agreed with the treasury."
)


def text_pdf_bytes(pages: Sequence[str], *, font: Path | None = None) -> bytes:
    """A PDF with one page of text per entry; an empty entry is a blank page."""
    pdf = FPDF()
    pdf.set_auto_page_break(auto=False)
    if font:
        pdf.add_font("Body", fname=str(font))
        pdf.set_font("Body", size=11)
    else:
        pdf.set_font("Helvetica", size=11)
    for text in pages:
        pdf.add_page()
        if text:
            pdf.multi_cell(0, 6, text)
    return bytes(pdf.output())


def write_text_pdf(path: Path, pages: Sequence[str], *, font: Path | None = None) -> Path:
    path.write_bytes(text_pdf_bytes(pages, font=font))
    return path


def write_blank_pdf(path: Path, pages: int) -> Path:
    """A PDF whose pages have no content at all, as a scan without a text layer reads."""
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=595, height=842)
    with path.open("wb") as handle:
        writer.write(handle)
    return path


def write_encrypted_pdf(path: Path, user_password: str, text: str = PROSE) -> Path:
    """A text PDF encrypted with ``user_password`` (an empty one opens without asking)."""
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(text_pdf_bytes([text]))))
    writer.encrypt(user_password=user_password, owner_password="owner-secret", algorithm="RC4-128")
    with path.open("wb") as handle:
        writer.write(handle)
    return path


def _one_page_pdf(path: Path, data: bytes, *, flate: bool) -> Path:
    """One page with a Helvetica font resource whose content stream holds ``data`` as given."""
    writer = PdfWriter()
    page = writer.add_blank_page(width=595, height=842)
    font = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Font"),
            NameObject("/Subtype"): NameObject("/Type1"),
            NameObject("/BaseFont"): NameObject("/Helvetica"),
        }
    )
    page[NameObject("/Resources")] = DictionaryObject(
        {
            NameObject("/Font"): DictionaryObject({NameObject("/F1"): writer._add_object(font)}),
        }
    )
    stream = StreamObject()
    stream._data = data
    if flate:
        stream[NameObject("/Filter")] = NameObject("/FlateDecode")
    page[NameObject("/Contents")] = writer._add_object(stream)
    with path.open("wb") as handle:
        writer.write(handle)
    return path


def write_raw_content_pdf(path: Path, content: bytes) -> Path:
    """One page whose (uncompressed) content stream is ``content`` verbatim."""
    return _one_page_pdf(path, content, flate=False)


def write_bomb_pdf(path: Path, inflated_mb: int = 400) -> Path:
    """A small file whose page content inflates to ``inflated_mb`` MB: one text show of spaces."""
    compressor = zlib.compressobj(9)
    block = b" " * (1 << 20)
    parts = [compressor.compress(b"BT /F1 12 Tf 10 800 Td (")]
    parts += [compressor.compress(block) for _ in range(inflated_mb)]
    parts += [compressor.compress(b") Tj ET"), compressor.flush()]
    return _one_page_pdf(path, b"".join(parts), flate=True)


def write_many_pages_pdf(path: Path, pages: int, text: str = PROSE) -> Path:
    return write_text_pdf(path, [f"Page {n}. {text}" for n in range(1, pages + 1)])


def png_bytes() -> bytes:
    """A valid 1x1 PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            len(data).to_bytes(4, "big") + kind + data + zlib.crc32(kind + data).to_bytes(4, "big")
        )

    header = (1).to_bytes(4, "big") * 2 + bytes([8, 2, 0, 0, 0])
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00"))
        + chunk(b"IEND", b"")
    )


def zip_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("plan.txt", PROSE)
    return buffer.getvalue()


HTML_PAGE = (
    b"<!DOCTYPE html>\n<html><head><title>Plan</title></head><body><p>"
    + PROSE.encode()
    + b"</p></body></html>"
)


def truncated(data: bytes) -> bytes:
    return data[: len(data) // 2]


def byte_flipped(data: bytes, span: int = 64) -> bytes:
    middle = len(data) // 2
    return (
        data[:middle]
        + bytes(b ^ 0xFF for b in data[middle : middle + span])
        + data[middle + span :]
    )


def bad_xref(data: bytes) -> bytes:
    """Every xref offset points at the wrong place and startxref at garbage."""
    head, sep, tail = data.rpartition(b"startxref")
    xref_at = head.rfind(b"xref")
    body = head[:xref_at] + head[xref_at:].replace(b" 00000 n", b" 00000 X").replace(b"0", b"9")
    return body + sep + b"\n999999999\n%%EOF\n"


def wrong_lengths(data: bytes) -> bytes:
    """Every declared stream /Length is off by a lot."""
    import re

    return re.sub(
        rb"/Length (\d+)", lambda m: b"/Length " + str(int(m.group(1)) * 7 + 13).encode(), data
    )


def write_slow_pdf(path: Path, operations: int = 1_000_000) -> Path:
    """A ~30 KB file whose one page holds ``operations`` text-show operators: slow to extract."""
    content = b"BT /F1 12 Tf " + b"1 0 Td (x) Tj " * operations + b"ET"
    return _one_page_pdf(path, zlib.compress(content, 9), flate=True)
