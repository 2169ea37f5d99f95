"""Page furniture: the rules on small page lists, then every chunk of the long real documents.

The real documents are read in place from ../shared (peer-qa and realdocs); those tests skip
with the reason when the folder is absent. They parse with the real parser processes (long
files in page ranges) and chunk with the embedding model's own tokenizer, exactly as ingest
does, without paying for embeddings; one smaller real ingest checks cited quotes end to end.
"""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

import pytest

from ingest.furniture import find_furniture
from tests.conftest import CORPUS, REALDOCS

PEER_QA = REALDOCS.parent / "peer-qa"
#: A dot-leader contents entry: five or more leader dots, then (usually) a page number.
LEADER = re.compile(r"(?:\.\s?){5,}\s*(?:\d+|[ivxlc]+)?\s*$")


def _kinds(pages: list[str]) -> dict[tuple[int, str], str]:
    """{(page number, furniture text): kind} for a list of page texts."""
    found = find_furniture(pages)
    return {
        (n, pages[n - 1][s.start : s.end]): s.kind
        for n, spans in enumerate(found.pages, start=1)
        for s in spans
    }


# -- the rules ---------------------------------------------------------------------------------
_WORDS = [
    "budget",
    "staff",
    "roads",
    "schools",
    "clinics",
    "ports",
    "courts",
    "water",
    "power",
    "transit",
]


def _body(n: int) -> str:
    """Two lines of content that differ from page to page in their words, not just numbers."""
    a, b = _WORDS[n % len(_WORDS)], _WORDS[(3 * n + 1) % len(_WORDS)]
    return f"The agency reviews its {a} plan before spending on {b}.\nFunding for {b} follows the {a} review."


def test_running_lines_with_varying_page_numbers_are_furniture():
    pages = [
        f"OFFICIAL: Sensitive\nPage {n} of 6 Arrivals\n{_body(n)}\nReleased by the Department"
        for n in range(1, 7)
    ]
    kinds = _kinds(pages)
    assert kinds[(4, "Page 4 of 6 Arrivals")] == "running"
    assert kinds[(4, "OFFICIAL: Sensitive")] == "running"
    assert kinds[(6, "Released by the Department")] == "running"
    assert not any("Paragraph" in text for _, text in kinds)


def test_running_head_on_every_other_page_and_bare_page_numbers():
    pages = [
        ("Jane Author\n" if n % 2 else "Chapter Title\n") + f"{n + 10}\n{_body(n)}"
        for n in range(1, 9)
    ]
    kinds = _kinds(pages)
    assert kinds[(3, "Jane Author")] == kinds[(4, "Chapter Title")] == kinds[(4, "14")] == "running"


def test_running_line_glued_to_the_first_sentence_is_cut_off_it():
    pages = [f"Page {n} of 5 Border manual\n{_body(n)}" for n in range(1, 5)]
    pages.append("Page 5 of 5 Border manual Officers must record every referral.\nThat is all.")
    kinds = _kinds(pages)
    assert kinds[(5, "Page 5 of 5 Border manual")] == "running"


def test_a_heading_seen_on_three_distant_pages_is_not_a_running_line():
    pages = [
        ("Chapter " + str(n // 10 + 1) + "\n" if n % 10 == 0 else "") + _body(n) for n in range(40)
    ]
    assert not any(
        kind == "running" and text.startswith("Chapter")
        for (_, text), kind in _kinds(pages).items()
    )


def test_contents_page_with_and_without_leaders_and_its_continuation():
    toc = "Table of Contents\n1. Purpose 3\n1.1. Background 3\n2. Scope 4\nAttachment A – Definitions 10"
    toc += "\n" + _body(9)  # content after the last entry stays content
    more = "Appendix IV Department of Labor Retrospective\nReviews 71\nAppendix V Transport\nReviews 77\nTables\nTable 1: Impetus 16"
    leaders = "Preface ........................ 1\nIntroduction ..................... 3\nChapter 1 Governance .......... 15"
    pages = [toc, more, _body(1), _body(2), leaders, _body(3)]
    kinds = _kinds(pages)
    assert kinds[(1, "Table of Contents")] == kinds[(1, "Attachment A – Definitions 10")] == "toc"
    assert not any(n == 1 and "agency" in text for n, text in kinds)
    assert kinds[(2, "Appendix V Transport")] == kinds[(2, "Table 1: Impetus 16")] == "toc"
    assert kinds[(5, "Chapter 1 Governance .......... 15")] == "toc"
    assert not any(n in (3, 4, 6) for n, _ in kinds)


def test_markdown_contents_of_links_later_in_a_single_page_is_contents():
    page = (
        "# Plan\n\nA short preface on why the plan exists.\n\n## Contents\n\n- [Scope](#scope)\n"
        "- [Budget](#budget)\n- [Risks](#risks)\n\n## Scope\n\nThe plan covers roads and bridges."
    )
    kinds = _kinds([page])
    assert sorted(text for _, text in kinds) == [
        "## Contents",
        "- [Budget](#budget)",
        "- [Risks](#risks)",
        "- [Scope](#scope)",
    ]
    assert set(kinds.values()) == {"toc"}


def test_numbers_at_line_ends_in_a_body_page_are_not_contents():
    table = "Budget by year\nPersonnel costs 2019 120\nOperations 2019 80\nInvestment 2019 45\nTotal 2019 245"
    assert _kinds([_body(1), table, _body(2)]) == {}


def test_footnotes_need_their_marker_in_the_text_above():
    page = (
        "The board met twice last year.4 Its minutes are public.\nThe second meeting approved the plan.\n"
        "More text follows here.\n4 Minutes of the board, March 2023, item\nseven.\nBody text resumes here."
    )
    kinds = _kinds([page])
    assert (
        kinds[(1, "4 Minutes of the board, March 2023, item")] == kinds[(1, "seven.")] == "footnote"
    )
    assert (1, "Body text resumes here.") not in kinds
    numbered = "Steps to follow.\nRead the form.\nCheck the stamp.\nAsk a question.\n2 Officers sign the form.\n3 Officers file it."
    assert _kinds([numbered]) == {}  # a numbered list with no markers above is content


def test_boilerplate_repeated_through_a_transcript_is_furniture_but_short_labels_are_not():
    slides = "\n\n".join(
        f"Slide {n}: {_WORDS[n]}\n{_body(n)}\nDownload Report Transcript" for n in range(1, 5)
    )
    found = find_furniture([slides])
    assert [(slides[s.start : s.end], s.kind) for s in found.pages[0]] == [
        ("Download Report Transcript", "boilerplate")
    ] * 4
    labels = "\n".join("Yes\nNot applicable\nAgency view" for _ in range(4))
    assert _kinds([labels]) == {}


def test_a_document_of_nothing_but_repeats_keeps_everything():
    assert _kinds(["Released by the Department\nunder the Act"] * 5) == {}
    assert find_furniture([]).counts() == {}


#: Project documents whose only furniture is a "Page N" footer; their tables, numbered
#: sections and notes are content and must stay in the chunks.
CORPUS_FILES = (
    "why-government-it-programmes-fail.pdf",
    "astravia-egov-master-plan-2025-2027.pdf",
    "kestrel-digital-services-strategy-2026-2028.md",
    "astravia-master-plan-expert-review.docx",
)


@pytest.mark.parametrize("name", CORPUS_FILES)
def test_the_project_corpus_loses_only_its_page_numbers(name):
    from ingest.loaders import Limits, load_file

    found = sorted(CORPUS.rglob(name)) if CORPUS.is_dir() else []
    if not found:
        pytest.skip(f"{name} is not in {CORPUS}")
    kinds = _kinds(load_file(found[0], Limits()).pages)
    for (_, text), kind in kinds.items():
        assert kind == "running" and re.fullmatch(r"Page \d+", text), (name, text, kind)


# -- every chunk of the long real documents ----------------------------------------------------
def _real_pdfs() -> list[Path]:
    found = sorted(PEER_QA.glob("*.pdf")) + sorted(
        p for p in REALDOCS.glob("*.pdf") if "actually-html" not in p.name
    )
    if not PEER_QA.is_dir() or not REALDOCS.is_dir() or not found:
        pytest.skip(
            f"{PEER_QA} or {REALDOCS} is not present (real documents live beside the repo, in ../shared)"
        )
    return found


@pytest.fixture(scope="module")
def real_chunks(embedder):
    """{file name: (pages, chunks)} for every long real PDF, parsed and chunked as ingest does."""
    from ingest.chunking import Chunker, split_document
    from ingest.loaders import Limits
    from ingest.worker import parse_files

    paths = _real_pdfs()
    chunker = Chunker(embedder.count_tokens, min(200, embedder.max_tokens - 2), 32)
    out = {}
    for result in parse_files(paths, Limits(), workers=2, timeout_s=300):
        assert result.document is not None, (result.path.name, result.reason)
        out[result.path.name] = (
            result.document.pages,
            split_document(chunker, result.document.pages)[0],
        )
    assert len(out) == len(paths)
    return out


def _edge_repeats(pages: list[str]) -> set[str]:
    """Lines (numbers as '#') among the first or last two of a page on at least a tenth of the
    pages and 3+ pages: the running headers and footers a reader sees, found independently."""
    seen: dict[str, set[int]] = defaultdict(set)
    for n, page in enumerate(pages):
        lines = [ln.strip() for ln in page.split("\n") if ln.strip()]
        for line in lines[:2] + lines[-2:]:
            if len(line) <= 100:
                seen[_key(line)].add(n)
    floor = max(3, len([p for p in pages if p.strip()]) / 10)
    return {
        key for key, where in seen.items() if len(where) >= floor and re.search("[a-z]{3}", key)
    }


def _key(line: str) -> str:
    return " ".join(re.sub(r"\d+", "#", line.lower()).split())


def test_no_real_chunk_embeds_a_contents_entry_or_a_running_line(real_chunks):
    total = 0
    for name, (pages, chunks) in real_chunks.items():
        running = _edge_repeats(pages)
        assert chunks, name
        for chunk in chunks:
            for line in chunk.embed_text.split("\n"):
                assert not LEADER.search(line), (name, chunk.page, line)
                assert _key(line.strip()) not in running, (name, chunk.page, line)
        total += len(chunks)
    assert total > 1500


def test_every_real_chunk_is_a_verbatim_span_of_its_page(real_chunks):
    for name, (pages, chunks) in real_chunks.items():
        for chunk in chunks:
            assert pages[chunk.page - 1][chunk.start : chunk.end] == chunk.text, (name, chunk.page)


def test_real_ingest_counts_furniture_and_cited_quotes_verify(service):
    home = PEER_QA / "Home_Affairs.pdf"
    if not home.is_file():
        pytest.skip(
            f"{home} is not present (real documents live beside the repo, in ../shared/peer-qa)"
        )

    report = service.ingest([home])

    assert report.failed == [] and report.pages == 39
    assert report.set_aside["running"] >= 100 and report.set_aside["toc"] >= 40
    row = service.manifest.all()[0]
    assert "OFFICIAL: Sensitive" in service.manifest.page_text(row.doc_id, 2)  # pages stay whole
    for chunk in service.store.iter_chunks():
        assert "OFFICIAL" not in chunk.text and "Table of Contents" not in chunk.text, chunk.text
    for question in (
        "What must a traveller arriving without a visa do?",
        "Who can grant a border visa?",
    ):
        answer = service.ask(question)
        assert answer.citations, question
        for citation in answer.citations:
            page = " ".join(service.manifest.page_text(citation.doc_id, citation.page).split())
            assert " ".join(citation.quote.split()) in page, citation
