"""Rebuild the Briefing sample corpus from its Markdown sources.

Reads every source in ``corpus/sources/`` and writes the document the product
ingests into ``corpus/documents/<doc_type>/``:

* PDF via fpdf2 (DejaVu fonts, "Page N" footer, fixed metadata),
* DOCX via python-docx (Word Heading 1-3, List Bullet and table styles),
* Markdown by plain copy (YAML front matter kept).

Only a small Markdown subset is understood: ``#``/``##``/``###`` headings,
paragraphs, ``-`` bullet lists, pipe tables and ``<!-- pagebreak -->`` lines.
The YAML front matter (title, doc_type, year, optional date and author) is
used for metadata and never rendered. Output is deterministic: dates, file ids
and ZIP timestamps are fixed, so re-running yields identical files.

Usage:
    .venv/bin/python corpus/build.py
"""

from __future__ import annotations

import datetime as dt
import io
import re
import shutil
import sys
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from docx import Document
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Pt
from fpdf import FPDF

ROOT = Path(__file__).resolve().parent
SOURCES = ROOT / "sources"
DOCUMENTS = ROOT / "documents"
FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
PAGEBREAK = "<!-- pagebreak -->"
BODY_SIZE, BODY_LINE = 10.0, 5.1  # pt, mm
HEADING_SIZES = {1: 15.0, 2: 12.5, 3: 11.0}  # pt by heading level

# source file -> output path under documents/ (folder = doc_type)
TARGETS: dict[str, str] = {
    "astravia-master-plan.md": "master_plan/astravia-egov-master-plan-2025-2027.pdf",
    "kestrel-digital-strategy.md": "master_plan/kestrel-digital-services-strategy-2026-2028.md",
    "astravia-plan-review.md": "review/astravia-master-plan-expert-review.docx",
    "lessons-learned-compendium.md": "lessons_learned/why-government-it-programmes-fail.pdf",
}

# Revised editions of the sample plans, for follow-up reviews (``briefing critique NEW
# --compare-to OLD``). They live outside documents/ so that ingesting the sample corpus, and the
# evaluation gold built on it, are unchanged.
REVISIONS_DIR = ROOT / "revisions"
REVISIONS: dict[str, str] = {
    "kestrel-digital-strategy-2nd-edition.md": (
        "master_plan/kestrel-digital-services-strategy-2026-2028-2nd-edition.md"
    ),
    "astravia-master-plan-revised.md": (
        "master_plan/astravia-egov-master-plan-2025-2027-revised.pdf"
    ),
}

# Used only when the DejaVu fonts are missing and we fall back to Helvetica.
_LATIN1 = str.maketrans(
    {
        "–": "-",
        "—": "-",
        "‘": "'",
        "’": "'",
        "“": '"',
        "”": '"',
        "•": "-",
        "…": "...",
        "≈": "~",
        "→": "->",
        "≤": "<=",
        "≥": ">=",
    }
)


@dataclass
class Block:
    """One parsed Markdown block.

    Attributes:
        kind: "heading", "para", "bullets", "table" or "pagebreak".
        level: Heading level (1-3); 0 for other kinds.
        text: Heading or paragraph text.
        items: Bullet items, or table rows (each a list of cells).
    """

    kind: str
    level: int = 0
    text: str = ""
    items: list = field(default_factory=list)


def split_front_matter(raw: str) -> tuple[dict, str]:
    """Separate YAML front matter from the Markdown body.

    Args:
        raw: Whole source file.

    Returns:
        The metadata dict (empty if none) and the remaining body.
    """
    match = re.match(r"^---\n(.*?)\n---\n", raw, re.S)
    if not match:
        return {}, raw
    return yaml.safe_load(match.group(1)) or {}, raw[match.end() :]


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def parse_blocks(body: str) -> list[Block]:
    """Parse the supported Markdown subset into blocks.

    Args:
        body: Markdown text without front matter.

    Returns:
        Blocks in document order.
    """
    blocks: list[Block] = []
    para: list[str] = []

    def flush() -> None:
        if para:
            blocks.append(Block("para", text=" ".join(para)))
            para.clear()

    for line in body.splitlines():
        stripped = line.strip()
        heading = re.match(r"^(#{1,3})\s+(.*)$", stripped)
        if not stripped:
            flush()
        elif stripped == PAGEBREAK:
            flush()
            blocks.append(Block("pagebreak"))
        elif heading:
            flush()
            blocks.append(Block("heading", len(heading.group(1)), heading.group(2).strip()))
        elif stripped.startswith("- "):
            flush()
            if not blocks or blocks[-1].kind != "bullets":
                blocks.append(Block("bullets"))
            blocks[-1].items.append(stripped[2:].strip())
        elif stripped.startswith("|"):
            flush()
            if re.fullmatch(r"\|[\s:|-]+\|?", stripped):
                continue  # header separator row
            if not blocks or blocks[-1].kind != "table":
                blocks.append(Block("table"))
            blocks[-1].items.append(_cells(stripped))
        elif line.startswith("  ") and blocks and blocks[-1].kind == "bullets" and not para:
            blocks[-1].items[-1] += " " + stripped  # bullet continuation line
        else:
            para.append(stripped)
    flush()
    return blocks


def doc_date(meta: dict) -> dt.datetime:
    """Return the fixed creation date for a document (front matter date, else 1 Jan of year)."""
    date = meta.get("date") or dt.date(int(meta.get("year", 2025)), 1, 1)
    if isinstance(date, str):
        date = dt.date.fromisoformat(date)
    return dt.datetime(date.year, date.month, date.day, 9, 0, tzinfo=dt.UTC)


class CorpusPDF(FPDF):
    """A4 portrait PDF with a centred "Page N" footer."""

    def __init__(self) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        fonts = [FONT_DIR / "DejaVuSans.ttf", FONT_DIR / "DejaVuSans-Bold.ttf"]
        self.has_unicode_font = all(f.exists() for f in fonts)
        if self.has_unicode_font:
            self.add_font("Body", "", str(fonts[0]))
            self.add_font("Body", "B", str(fonts[1]))
            self.body_font = "Body"
        else:
            self.body_font = "Helvetica"
        self.set_margins(22, 20, 22)
        self.set_auto_page_break(True, margin=20)

    def clean(self, text: str) -> str:
        """Make text printable with the active font (transliterate if no Unicode font)."""
        if self.has_unicode_font:
            return text
        return text.translate(_LATIN1).encode("latin-1", "replace").decode("latin-1")

    def footer(self) -> None:
        self.set_y(-14)
        self.set_font(self.body_font, "", 8.5)
        self.cell(0, 6, f"Page {self.page_no()}", align="C")


def _table_widths(pdf: CorpusPDF, rows: list[list[str]], size: float) -> list[float] | None:
    """Column widths that keep every row on one line at this font size, or None."""
    pdf.set_font(pdf.body_font, "B", size)
    ncols = max(len(r) for r in rows)
    widths = [0.0] * ncols
    for row in rows:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], pdf.get_string_width(pdf.clean(cell)) + 3)
    spare = pdf.epw - sum(widths)
    if spare < 0:
        return None
    return [w + spare * w / sum(widths) for w in widths]


def render_table(pdf: CorpusPDF, rows: list[list[str]]) -> None:
    """Draw a bordered table, one text line per row so text extracts row by row."""
    for size in (9.5, 9.0, 8.5, 8.0, 7.5, 7.0, 6.5):  # shrink until every row fits one line
        widths = _table_widths(pdf, rows, size)
        if widths is not None:
            break
    else:
        sys.exit(f"table too wide for one line per row: {rows[0]}")
    height = size * 0.62
    pdf.ln(1.5)
    for r, row in enumerate(rows):
        if pdf.will_page_break(height):
            pdf.add_page()
        pdf.set_font(pdf.body_font, "B" if r == 0 or row[0].lower() == "total" else "", size)
        pdf.set_fill_color(225, 230, 238)
        for i, width in enumerate(widths):
            text = pdf.clean(row[i] if i < len(row) else "")
            numeric = bool(re.fullmatch(r"[-+]?[\d.,]+%?", text)) and r > 0
            pdf.cell(width, height, text, border=1, align="R" if numeric else "L", fill=r == 0)
        pdf.ln(height)
    pdf.ln(3)


def _write(
    pdf: CorpusPDF,
    text: str,
    size: float = BODY_SIZE,
    line: float = BODY_LINE,
    bold: bool = False,
    width: float = 0,
) -> None:
    """Write left-aligned wrapped text (no justification, so extracted words keep single spaces)."""
    pdf.set_font(pdf.body_font, "B" if bold else "", size)
    pdf.multi_cell(width, line, pdf.clean(text), align="L", new_x="LMARGIN", new_y="NEXT")


def build_pdf(meta: dict, blocks: list[Block], out: Path) -> None:
    """Render blocks to a PDF file with fixed metadata.

    Args:
        meta: Front matter (title, doc_type, year, ...).
        blocks: Parsed Markdown blocks.
        out: Destination path.
    """
    pdf = CorpusPDF()
    pdf.set_title(meta["title"])
    pdf.set_author(meta.get("author", "Briefing sample corpus (fictional)"))
    pdf.set_subject(f"{meta.get('doc_type', '')} ({meta.get('year', '')})")
    pdf.set_keywords(
        f"doc_type={meta.get('doc_type', '')}; year={meta.get('year', '')}; fictional sample"
    )
    pdf.set_creator("corpus/build.py")
    pdf.set_creation_date(doc_date(meta))
    pdf.set_lang("en")
    pdf.add_page()
    for index, block in enumerate(blocks):
        following = blocks[index + 1] if index + 1 < len(blocks) else None
        if block.kind == "pagebreak":
            pdf.add_page()
        elif block.kind == "heading":
            needed = 60 if following is not None and following.kind == "heading" else 45
            if pdf.get_y() > pdf.h - needed:
                pdf.add_page()  # keep headings with the text that follows
            pdf.ln(4 if block.level > 1 else 2)
            size = HEADING_SIZES[block.level]
            _write(pdf, block.text, size=size, line=size * 0.5, bold=True)
            pdf.ln(1.5)
        elif block.kind == "para":
            _write(pdf, block.text)
            pdf.ln(2.2)
        elif block.kind == "bullets":
            for item in block.items:
                pdf.set_x(pdf.l_margin + 3)
                pdf.set_font(pdf.body_font, "", BODY_SIZE)
                pdf.cell(5, BODY_LINE, pdf.clean("•"))
                _write(pdf, item, width=pdf.epw - 8)
                pdf.ln(0.8)
            pdf.ln(1.5)
        elif block.kind == "table":
            render_table(pdf, block.items)
    pdf.output(str(out))


def _add_page_number_field(paragraph) -> None:
    """Append a Word PAGE field to a paragraph."""
    run = paragraph.add_run("Page ")
    field_xml = OxmlElement("w:fldSimple")
    field_xml.set(qn("w:instr"), "PAGE")
    inner = OxmlElement("w:r")
    text = OxmlElement("w:t")
    text.text = "1"
    inner.append(text)
    field_xml.append(inner)
    run._r.addnext(field_xml)


def build_docx(meta: dict, blocks: list[Block], out: Path) -> None:
    """Render blocks to a DOCX file using Word's built-in styles.

    Args:
        meta: Front matter (title, doc_type, year, ...).
        blocks: Parsed Markdown blocks.
        out: Destination path.
    """
    doc = Document()
    doc.styles["Normal"].font.size = Pt(10.5)
    props = doc.core_properties
    props.title = meta["title"]
    props.author = meta.get("author", "Briefing sample corpus (fictional)")
    props.subject = f"{meta.get('doc_type', '')} ({meta.get('year', '')})"
    props.keywords = (
        f"doc_type={meta.get('doc_type', '')}; year={meta.get('year', '')}; fictional sample"
    )
    props.created = props.modified = doc_date(meta).replace(tzinfo=None)
    props.last_modified_by = "corpus/build.py"
    props.revision = 1
    footer = doc.sections[0].footer.paragraphs[0]
    footer.alignment = 1  # centre
    _add_page_number_field(footer)
    for block in blocks:
        if block.kind == "pagebreak":
            doc.add_page_break()
        elif block.kind == "heading":
            doc.add_heading(block.text, level=block.level)
        elif block.kind == "para":
            doc.add_paragraph(block.text)
        elif block.kind == "bullets":
            for item in block.items:
                doc.add_paragraph(item, style="List Bullet")
        elif block.kind == "table":
            ncols = max(len(r) for r in block.items)
            table = doc.add_table(rows=len(block.items), cols=ncols)
            table.style = "Table Grid"
            for r, row in enumerate(block.items):
                for c in range(ncols):
                    cell = table.cell(r, c)
                    cell.text = row[c] if c < len(row) else ""
                    if r == 0:
                        for run in cell.paragraphs[0].runs:
                            run.bold = True
    buffer = io.BytesIO()
    doc.save(buffer)
    _write_fixed_zip(buffer.getvalue(), out, doc_date(meta))


def _write_fixed_zip(data: bytes, out: Path, when: dt.datetime) -> None:
    """Rewrite a ZIP (DOCX) with fixed entry timestamps so builds are byte-identical."""
    stamp = when.timetuple()[:6]
    with (
        zipfile.ZipFile(io.BytesIO(data)) as src,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst,
    ):
        for info in src.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=stamp)
            fixed.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(fixed, src.read(info.filename))


def build(source: Path, out: Path) -> None:
    """Build one output document from one source file."""
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix == ".md":
        shutil.copyfile(source, out)
        return
    meta, body = split_front_matter(source.read_text(encoding="utf-8"))
    blocks = parse_blocks(body)
    if out.suffix == ".pdf":
        build_pdf(meta, blocks, out)
    elif out.suffix == ".docx":
        build_docx(meta, blocks, out)
    else:
        raise ValueError(f"unsupported output type: {out}")


def main() -> None:
    """Build every target listed in TARGETS, then the revised editions in REVISIONS."""
    for folder, targets in ((DOCUMENTS, TARGETS), (REVISIONS_DIR, REVISIONS)):
        for name, rel in targets.items():
            out = folder / rel
            build(SOURCES / name, out)
            print(f"built {out.relative_to(ROOT.parent)}")


if __name__ == "__main__":
    main()
