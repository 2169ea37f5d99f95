"""The chunker: structure first, verbatim spans, and nothing beyond the model's window."""

from __future__ import annotations

import pytest

from assistant.core.text import heading_of
from ingest.chunking import Chunker
from tests.conftest import CORPUS, realdoc

PLAN = """# Astra plan
1 Introduction
The plan covers three years. It builds on the previous programme.
2 Governance
2.1 Programme board
The board meets monthly. It is chaired by the minister.
| Year | Budget |
| 2025 | 10.5 |
| 2026 | 12.0 |
2.2 Assurance
- Stage reviews before each release.
- Independent assurance of the largest projects.
"""


@pytest.fixture(scope="module")
def chunker(embedder):
    return Chunker(embedder.count_tokens, chunk_tokens=200, overlap_tokens=32)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("2.1 Programme board", (2, "2.1 Programme board")),
        ("# Title", (1, "Title")),
        ("### Deep", (3, "Deep")),
        ("5 Governance", (1, "5 Governance")),
        ("2025 budget was 10.5 million.", None),
        ("1 e-Customs 12.5 14.0 16.0 42.5", None),
        ("3 the minister chairs the board", None),
        ("11 The guide for accessing e-procurement is at https://example.org", None),
        ("1 NATO-EAPC stands for North Atlantic Treaty Organisation – Euro Atlantic Coun-", None),
        ("7 NATO-Russia Council Working Group Programme 2004, Annex 1, Conclusions of the", None),
        ("10 See United States Department of Defense Directive", None),
        ("11 Collective defence.39", None),
        ("3 Risks and their owners", (1, "3 Risks and their owners")),
        ("15 Most government purchases are commercial, whether they are", None),
        ("2 Who We Are", (1, "2 Who We Are")),
    ],
    ids=[
        "numbered",
        "markdown",
        "md-level3",
        "top-level",
        "year-sentence",
        "table-row",
        "lowercase",
        "footnote-url",
        "footnote-wrapped",
        "footnote-ends-on-the",
        "footnote-see",
        "footnote-mark",
        "heading-with-and",
        "footnote-ends-on-are",
        "title-case-are",
    ],
)
def test_heading_of_classifies_lines(line, expected):
    assert heading_of(line) == expected


def test_split_gives_section_paths_and_verbatim_offsets(chunker):
    chunks = chunker.split([PLAN])
    sections = [c.section for c in chunks]
    # a numbered "1" is a top-level heading like "#", so it replaces the title in the path
    assert sections == [
        "1 Introduction",
        "2 Governance > 2.1 Programme board",
        "2 Governance > 2.2 Assurance",
    ]
    for chunk in chunks:
        assert PLAN[chunk.start : chunk.end] == chunk.text
        assert chunk.text.strip()
    board = next(c for c in chunks if c.section.endswith("2.1 Programme board"))
    assert "| 2026 | 12.0 |" in board.text
    assert "Stage reviews" not in board.text  # never crosses a heading


def test_split_never_crosses_pages_and_counts_pages(chunker):
    chunks = chunker.split(
        ["1 Intro\nFirst page text here.", "More text on page two.\n2 Next\nPage two body."]
    )
    assert [c.page for c in chunks] == [1, 2, 2]
    assert chunks[1].section == "1 Intro"  # the heading path carries across the page break
    assert [c.index for c in chunks] == [0, 1, 2]


def test_long_section_splits_at_sentences_with_overlap(chunker, embedder):
    sentences = [
        f"Sentence number {i} describes the phased roll-out of service {i} in region {i % 7}."
        for i in range(120)
    ]
    text = "3 Phasing\n" + " ".join(sentences)
    chunks = chunker.split([text])
    assert len(chunks) > 3
    for chunk in chunks:
        assert chunk.text.startswith("Sentence number") and chunk.text.endswith(".")
    # consecutive chunks share a trailing sentence (the overlap)
    assert chunks[1].start < chunks[0].end


def test_no_chunk_exceeds_model_window_on_hostile_text(chunker, embedder):
    monster_word = "x" * 5000
    no_punctuation = " ".join(f"word{i}" for i in range(3000))
    long_heading = "1 " + "Very long heading " * 40
    rows = "\n".join(
        "| " + " | ".join(f"cell {r}.{c} 12,345.67" for c in range(40)) + " |" for r in range(5)
    )
    chunks = chunker.split(
        [monster_word, no_punctuation, long_heading + "\nBody text follows.", rows]
    )
    sizes = embedder.count_tokens([c.embed_text for c in chunks])
    assert max(sizes) + 2 <= embedder.max_tokens
    assert all(c.text.strip() for c in chunks)


def _all_documents():
    docs = sorted(p for p in CORPUS.rglob("*") if p.is_file()) if CORPUS.exists() else []
    return docs


def test_no_chunk_exceeds_model_window_on_real_documents(chunker, embedder):
    from ingest.loaders import Limits, load_file

    paths = _all_documents() + [
        realdoc("gao-05-927-managing-for-results.pdf"),
        realdoc("italy-three-year-ict-plan-annex-2.pdf"),
    ]
    total = 0
    for path in paths:
        doc = load_file(path, Limits())
        chunks = chunker.split(doc.pages)
        assert chunks, path
        sizes = embedder.count_tokens([c.embed_text for c in chunks])
        assert max(sizes) + 2 <= embedder.max_tokens, path
        for chunk in chunks:
            assert doc.pages[chunk.page - 1][chunk.start : chunk.end] == chunk.text
        total += len(chunks)
    assert total > 50


def test_chunker_rejects_bad_budgets(embedder):
    with pytest.raises(ValueError, match="chunk_tokens"):
        Chunker(embedder.count_tokens, chunk_tokens=0)
    with pytest.raises(ValueError, match="overlap_tokens"):
        Chunker(embedder.count_tokens, chunk_tokens=100, overlap_tokens=60)


# -- tables and furniture ----------------------------------------------------------------------
TABLE_HEADER = "| Action | Lead agency | Budget (EUR m) | Due |"


def _docx_with_table(path, rows: int):
    import docx

    document = docx.Document()
    document.add_heading("Annex B: Action plan", level=1)
    document.add_paragraph("The actions below are funded from the national recovery budget.")
    table = document.add_table(rows=rows + 1, cols=4)
    for cell, text in zip(
        table.rows[0].cells, ["Action", "Lead agency", "Budget (EUR m)", "Due"], strict=True
    ):
        cell.text = text
    agencies = ["Digital Agency", "Ministry of Finance", "Statistics Office", "Tax Administration"]
    for r in range(1, rows + 1):
        values = [
            f"Move service {r} to the shared cloud platform",
            agencies[r % 4],
            f"{r * 1.5:.1f}",
            f"Q{r % 4 + 1} {2026 + r % 3}",
        ]
        for cell, text in zip(table.rows[r].cells, values, strict=True):
            cell.text = text
    document.save(str(path))
    return path


def test_table_rows_stay_whole_and_carry_their_column_headers(chunker, embedder, tmp_path):
    from ingest.loaders import Limits, load_file

    doc = load_file(_docx_with_table(tmp_path / "plan.docx", rows=40), Limits())
    page = doc.pages[0]
    chunks = chunker.split(doc.pages)
    rows = [line for line in page.split("\n") if line.startswith("| Move service")]
    assert len(rows) == 40 and TABLE_HEADER in page
    assert len(chunks) >= 4  # the table spans several chunks
    for row in rows:
        assert any(row in c.text for c in chunks), row  # never cut between two chunks
    later = [c for c in chunks if c.text.startswith("| Move service")]
    assert later, [c.text[:40] for c in chunks]
    for chunk in later:
        assert chunk.table_header == TABLE_HEADER
        assert chunk.embed_text == f"{chunk.section}\n{TABLE_HEADER}\n{chunk.text}"
        assert page[chunk.start : chunk.end] == chunk.text  # the quote itself stays verbatim
    first = next(c for c in chunks if TABLE_HEADER in c.text)
    assert first.table_header == ""  # the header row is in the chunk already
    sizes = embedder.count_tokens([c.embed_text for c in chunks])
    assert max(sizes) + 2 <= embedder.max_tokens


def test_markdown_table_header_skips_the_rule_row(embedder):
    small = Chunker(embedder.count_tokens, chunk_tokens=60, overlap_tokens=0)
    rows = "\n".join(
        f"| {2020 + n} | {10 + n}.5 | roads and bridges in region {n} |" for n in range(12)
    )
    text = "## Budget\n| Year | EUR m | Purpose |\n|---|---:|---|\n" + rows
    chunks = small.split([text])
    assert len(chunks) > 2
    assert chunks[0].table_header == "" and chunks[0].text.startswith("| Year |")
    assert all(c.table_header == "| Year | EUR m | Purpose |" for c in chunks[1:])


def test_skipped_spans_never_reach_a_chunk(chunker):
    page = "OFFICIAL\n1 Scope\nThe plan covers roads. It also covers bridges.\nPage 2 of 9\nMore on bridges follows."
    skip = [[(0, 8), (page.index("Page 2"), page.index("Page 2") + 11)]]
    chunks = chunker.split([page], skip)
    assert [c.text for c in chunks] == [
        "The plan covers roads. It also covers bridges.",
        "More on bridges follows.",
    ]
    assert all(c.section == "1 Scope" for c in chunks)
    assert all(page[c.start : c.end] == c.text for c in chunks)
