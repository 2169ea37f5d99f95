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


#: Every encryption algorithm pypdf writes; official PDFs use all of them.
ENCRYPTIONS = ("RC4-40", "RC4-128", "AES-128", "AES-256")


def write_encrypted_pdf(
    path: Path, user_password: str, text: str = PROSE, algorithm: str = "RC4-128"
) -> Path:
    """A text PDF encrypted with ``algorithm``; an empty ``user_password`` opens without asking
    (an owner password only restricts copying and printing)."""
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(text_pdf_bytes([text]))))
    writer.encrypt(user_password=user_password, owner_password="owner-secret", algorithm=algorithm)
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


def write_long_pdf_with_slow_page(path: Path, pages: int, slow_at: int) -> Path:
    """A ``pages``-page text PDF whose page ``slow_at`` (1-based) takes long to extract."""
    writer = PdfWriter(
        clone_from=PdfReader(
            io.BytesIO(text_pdf_bytes([f"Page {n}. {PROSE}" for n in range(1, pages)]))
        )
    )
    slow = path.with_name(path.stem + "-slow-page.pdf")
    write_slow_pdf(slow)
    writer.insert_page(PdfReader(slow).pages[0], index=slow_at - 1)
    slow.unlink()
    with path.open("wb") as handle:
        writer.write(handle)
    return path


# -- page furniture ----------------------------------------------------------------------------
#: Body paragraphs of the furnished PDF, one per body page; page 3 cites footnote 1.
FURNISHED_BODY = [
    (
        "The clearance officer checks the passport before anything else. Travellers without a valid "
        "visa are referred to a supervisor for a second interview.1"
    ),
    (
        "Referred travellers wait in a separate area. The supervisor records the outcome of every "
        "interview in the case system within one hour."
    ),
    (
        "A traveller refused entry may ask for the decision in writing. The written notice names the "
        "power that was used and the officer who used it."
    ),
    (
        "Airlines are told of every refusal before departure. Each refusal is reviewed by a second "
        "officer the next working day."
    ),
    (
        "Records of referrals are kept for seven years. The unit reports the number of referrals to "
        "the regional director every quarter."
    ),
    (
        "Officers complete refresher training every year. New officers shadow an experienced "
        "colleague for their first month at the counter."
    ),
]
FURNISHED_FOOTNOTE = "1 The referral rules are set out in the border instructions, part four."
FURNISHED_TOC = [
    ("Purpose", 3),
    ("Referrals", 4),
    ("Written notices", 5),
    ("Airlines", 6),
    ("Records", 7),
    ("Training", 8),
]


def write_furnished_pdf(path: Path) -> Path:
    """An eight-page procedure with a running header ("OFFICIAL: Sensitive" and "Page N of 8"),
    a running footer, a contents page with dot leaders and a footnote, as official PDFs have."""

    class Furnished(FPDF):
        def header(self) -> None:
            self.set_font("Helvetica", size=8)
            self.cell(0, 5, "OFFICIAL: Sensitive", align="C", new_x="LMARGIN", new_y="NEXT")
            self.cell(
                0,
                5,
                f"Page {self.page_no()} of 8  Border clearance procedure",
                new_x="LMARGIN",
                new_y="NEXT",
            )
            self.ln(4)

        def footer(self) -> None:
            self.set_y(-15)
            self.set_font("Helvetica", size=8)
            self.cell(0, 5, "Released under the Freedom of Information Act", align="C")

    pdf = Furnished()
    pdf.set_auto_page_break(auto=False)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 16)
    pdf.multi_cell(0, 9, "Border clearance procedure", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=11)
    pdf.multi_cell(
        0,
        6,
        "Instruction for clearance officers at international airports.",
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 12)
    pdf.cell(0, 8, "Contents", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=11)
    for number, (title, page) in enumerate(FURNISHED_TOC, start=1):
        pdf.cell(
            0,
            7,
            f"{number}. {title} " + "." * (70 - len(title)) + f" {page}",
            new_x="LMARGIN",
            new_y="NEXT",
        )
    for number, body in enumerate(FURNISHED_BODY, start=1):
        pdf.add_page()
        pdf.set_font("Helvetica", "B", 12)
        pdf.cell(0, 8, f"{number}. {FURNISHED_TOC[number - 1][0]}", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", size=11)
        pdf.multi_cell(0, 6, body, new_x="LMARGIN", new_y="NEXT")
        if number == 1:
            pdf.set_y(-40)
            pdf.set_font("Helvetica", size=8)
            pdf.multi_cell(0, 4, FURNISHED_FOOTNOTE, new_x="LMARGIN", new_y="NEXT")
    path.write_bytes(bytes(pdf.output()))
    return path


TRANSCRIPT_BOILERPLATE = "Download Report Transcript"


def write_slide_transcript(path: Path) -> Path:
    """A slide deck saved as text: every slide ends with the same download link's label."""
    slides = [
        ("Why we changed the grants portal", "Applicants abandoned the old form halfway through."),
        ("What users told us", "Most applicants wanted to save a draft and come back later."),
        ("What we built", "A shorter form that saves every answer as it is typed."),
        ("Results after six months", "Completed applications rose by a third."),
        ("Next steps", "The same pattern will be used for licence renewals."),
    ]
    parts = [
        f"Slide {n}: {title}\n{body}\n{TRANSCRIPT_BOILERPLATE}"
        for n, (title, body) in enumerate(slides, start=1)
    ]
    path.write_text("\n\n".join(parts) + "\n", encoding="utf-8")
    return path
