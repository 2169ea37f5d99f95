"""Bad input, case by case (RELIABILITY.md section A, cases 1-11), through the real pipeline,
then what real official PDFs add: page furniture (12) and long files parsed in ranges (13).

Every file is a real file written into ``tmp_path`` by ``fixtures_bad``; parsing runs in the real
parser processes, embeddings come from the real MiniLM and the store is a real Chroma on disk.
Most tests also ingest a good file beside the bad one, because "the others go on" is half of
every promise here.
"""

from __future__ import annotations

import json
import os
import re
import resource
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from assistant import cli
from assistant.core.embeddings import Embedder
from assistant.core.settings import Settings
from assistant.service import BriefingService, build_service
from tests import fixtures_bad as fx

pytestmark = pytest.mark.slow

REAL_HTML_PDF = Path("/work/shared/realdocs/gao-08-1075t-actually-html.pdf")
#: A failure reason is one of these classes of message, never a traceback or a raw exception.
CLASSIFIED = re.compile(
    r"^(unreadable PDF \(|document too complex \(|no extractable text |could not be processed \(|the PDF has no pages)"
)
CHUNK_ID = re.compile(r"^[0-9a-f]{64}-\d{5}$")


# -- fixtures ----------------------------------------------------------------------------------
@pytest.fixture
def make_service(tmp_path: Path, embedder: Embedder) -> Iterator[Callable[..., BriefingService]]:
    """Build a writer service on ``tmp_path/data`` with the given setting overrides."""
    services: list[BriefingService] = []

    def build(**overrides: Any) -> BriefingService:
        settings = Settings(data_dir=tmp_path / "data", **overrides)
        service = build_service(settings, embeddings=embedder, writer=True)
        services.append(service)
        return service

    yield build
    for service in services:
        service.close()


@pytest.fixture
def good_pdf(tmp_path: Path) -> Path:
    return fx.write_text_pdf(
        tmp_path / "good.pdf", [fx.PROSE, "A second page on procurement reform and shared data."]
    )


def _failed(report: Any) -> dict[str, str]:
    return {Path(f["path"]).name: f["reason"] for f in report.failed}


def _row(service: BriefingService, path: Path) -> Any:
    rows = service.manifest.by_source(str(path.resolve()))
    assert len(rows) == 1, rows
    return rows[0]


def _assert_ready(service: BriefingService, path: Path) -> Any:
    """The document is ready and exactly its recorded chunks are in the store."""
    row = _row(service, path)
    assert row.status == "ready", (row.status, row.reason)
    assert row.chunks > 0
    assert service.store.count_document(row.doc_id) == row.chunks
    return row


def _assert_one_line_reason(reason: str, tmp_path: Path) -> None:
    assert reason and "\n" not in reason and "Traceback" not in reason
    assert str(tmp_path) not in reason  # no internal paths in a message meant for a person


def _chunks_of(service: BriefingService, doc_id: str) -> list[Any]:
    return [c for c in service.store.iter_chunks() if c.metadata["doc_id"] == doc_id]


# -- 1. size ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("extra", "too_large"), [(0, False), (1, True)], ids=["at-limit", "one-byte-over"]
)
def test_file_over_max_file_mb_is_skipped_too_large(
    make_service, tmp_path, good_pdf, extra, too_large
):
    service = make_service(max_file_mb=0.001)
    limit = int(0.001 * 1024 * 1024)
    body = (fx.PROSE + " ") * 20
    big = tmp_path / "big.txt"
    big.write_bytes(body.encode()[: limit + extra])
    small = tmp_path / "small.md"
    small.write_text("# Small plan\n\nShort enough to pass the size check.\n")

    report = service.ingest([big, small])

    _assert_ready(service, small)
    if too_large:
        reason = _failed(report)["big.txt"]
        assert reason.startswith("too large (") and reason.endswith("the limit is 0.001 MB)"), (
            reason
        )
        assert _row(service, big).status == "failed"
        assert service.store.count_document(_row(service, big).doc_id) == 0
    else:
        assert _failed(report) == {}
        _assert_ready(service, big)


# -- 2. not a PDF ----------------------------------------------------------------------------------
NOT_A_PDF = [
    ("png", fx.png_bytes(), "not a PDF (a PNG image)"),
    ("zip", fx.zip_bytes(), "not a supported type (a ZIP archive)"),
    (
        "html",
        fx.HTML_PAGE,
        "not a PDF: the file holds an HTML web page (rename it .html to read it as a page)",
    ),
    ("empty", b"", "empty file (0 bytes)"),
    ("header-only", b"%PDF-1.7", "unreadable PDF (Stream has ended unexpectedly)"),
    ("text", b"Just some words, no PDF at all.\n", "not a PDF (no PDF header)"),
]


@pytest.mark.parametrize(
    ("content", "reason"), [c[1:] for c in NOT_A_PDF], ids=[c[0] for c in NOT_A_PDF]
)
def test_not_a_pdf_is_skipped_with_its_kind(make_service, tmp_path, good_pdf, content, reason):
    bad = tmp_path / "report.pdf"
    bad.write_bytes(content)
    service = make_service()

    report = service.ingest([bad, good_pdf])

    assert _failed(report) == {"report.pdf": reason}
    assert report.added == 1
    _assert_ready(service, good_pdf)


def test_real_html_page_named_pdf_is_skipped(make_service, good_pdf):
    if not REAL_HTML_PDF.is_file():
        pytest.skip(f"{REAL_HTML_PDF} is not on this machine")
    service = make_service()

    report = service.ingest([REAL_HTML_PDF, good_pdf])

    assert _failed(report) == {
        REAL_HTML_PDF.name: "not a PDF: the file holds an HTML web page (rename it .html to read it as a page)"
    }
    _assert_ready(service, good_pdf)


# -- 3. broken structure ---------------------------------------------------------------------------
BROKEN = [
    ("truncated-half", fx.truncated),
    ("byte-flipped", fx.byte_flipped),
    ("bad-xref", fx.bad_xref),
    ("wrong-stream-lengths", fx.wrong_lengths),
]


@pytest.mark.parametrize("damage", [b[1] for b in BROKEN], ids=[b[0] for b in BROKEN])
def test_broken_pdf_is_ingested_or_classified_and_worker_survives(
    make_service, tmp_path, good_pdf, damage
):
    bad = tmp_path / "broken.pdf"
    bad.write_bytes(damage(fx.text_pdf_bytes([fx.PROSE, "Second page about shared platforms."])))
    service = make_service(parse_timeout_s=30)

    started = time.monotonic()
    report = service.ingest([bad, good_pdf])

    assert time.monotonic() - started < 60
    _assert_ready(service, good_pdf)
    row = _row(service, bad)
    if row.status == "ready":
        assert service.store.count_document(row.doc_id) == row.chunks > 0
        assert "national digital strategy" in service.manifest.page_text(row.doc_id, 1)
    else:
        assert row.status == "failed"
        assert CLASSIFIED.match(row.reason), row.reason
        _assert_one_line_reason(row.reason, tmp_path)
        assert _failed(report) == {"broken.pdf": row.reason}
        assert service.store.count_document(row.doc_id) == 0


def test_broken_pdf_truncated_reason_is_unreadable(make_service, tmp_path):
    bad = tmp_path / "cut.pdf"
    bad.write_bytes(fx.truncated(fx.text_pdf_bytes([fx.PROSE])))
    report = make_service().ingest([bad])
    assert _failed(report) == {"cut.pdf": "unreadable PDF (Stream has ended unexpectedly)"}


# -- 4. a parser that hangs ------------------------------------------------------------------------
def test_pdf_that_hangs_the_parser_is_killed_at_the_timeout(make_service, tmp_path, good_pdf):
    slow = fx.write_slow_pdf(tmp_path / "slow.pdf")  # about 25 s of extraction when left alone
    notes = tmp_path / "notes.md"
    notes.write_text("# Notes\n\nThe roadmap names owners for each milestone.\n")
    service = make_service(parse_timeout_s=2, parse_workers=2)

    started = time.monotonic()
    report = service.ingest([slow, good_pdf, notes])
    elapsed = time.monotonic() - started

    assert _failed(report) == {"slow.pdf": "could not be processed (timed out after 2 s)"}
    assert elapsed < 15, elapsed  # the child was killed, not waited for
    assert report.added == 2
    _assert_ready(service, good_pdf)
    _assert_ready(service, notes)
    assert _row(service, slow).status == "failed"


# -- 5. decompression and memory bombs -------------------------------------------------------------
BOMBS = [
    (
        "over-memory-cap",
        60,
        {"parse_memory_mb": 256},
        "document too complex (it needs more than the parser's 256 MB memory limit)",
    ),
    (
        "over-decompression-limit",
        400,
        {},
        "document too complex (a stream expands past the 75 MB limit)",
    ),
]


@pytest.mark.parametrize(
    ("inflated_mb", "overrides", "reason"), [b[1:] for b in BOMBS], ids=[b[0] for b in BOMBS]
)
def test_decompression_bomb_is_too_complex_and_test_process_unaffected(
    make_service, tmp_path, good_pdf, inflated_mb, overrides, reason
):
    bomb = fx.write_bomb_pdf(tmp_path / "bomb.pdf", inflated_mb)
    assert bomb.stat().st_size < 1_000_000  # small on disk, huge inflated
    service = make_service(**overrides)
    service.store  # noqa: B018 - open the store before measuring this process
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    report = service.ingest([bomb, good_pdf])

    peak_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    assert _failed(report) == {"bomb.pdf": reason}
    _assert_ready(service, good_pdf)
    assert (peak_after - peak_before) * 1024 < 50 * 1024 * 1024  # ru_maxrss is in KiB on Linux


# -- 6. volume -------------------------------------------------------------------------------------
def test_more_pages_than_max_pages_is_refused(make_service, tmp_path, good_pdf):
    six = fx.write_many_pages_pdf(tmp_path / "six.pdf", 6)
    five = fx.write_many_pages_pdf(tmp_path / "five.pdf", 5, text="Exactly at the page limit.")
    service = make_service(max_pages=5)

    report = service.ingest([six, five, good_pdf])

    assert _failed(report) == {"six.pdf": "too many pages (6; the limit is 5)"}
    assert _assert_ready(service, five).pages == 5
    _assert_ready(service, good_pdf)


def test_page_with_millions_of_characters_is_cut_with_a_note(make_service, tmp_path):
    long = fx.write_raw_content_pdf(
        tmp_path / "long.pdf", b"BT /F1 12 Tf 10 800 Td (" + b"word " * 400_000 + b") Tj ET"
    )
    service = make_service(max_page_chars=5000)

    report = service.ingest([long])

    assert report.failed == []
    assert report.notes == [
        {"path": str(long), "note": "page 1 cut to 5,000 of 1,999,999 characters"}
    ]
    row = _assert_ready(service, long)
    assert len(service.manifest.page_text(row.doc_id, 1)) == 5000
    assert "page 1 cut to 5,000" in row.notes
    chunks = _chunks_of(service, row.doc_id)
    assert (
        sum(len(c.text) for c in chunks) <= 5000 * 2
    )  # overlap repeats some text, never the cut-off part
    assert all(c.metadata["end"] <= 5000 for c in chunks)


# -- 7. encryption ---------------------------------------------------------------------------------
def test_pdfs_with_a_user_password_are_refused_for_every_algorithm(
    make_service, tmp_path, good_pdf
):
    locked = [
        fx.write_encrypted_pdf(tmp_path / f"locked-{alg}.pdf", "s3cret", algorithm=alg)
        for alg in fx.ENCRYPTIONS
    ]
    service = make_service()

    report = service.ingest([*locked, good_pdf])

    assert _failed(report) == {p.name: "password-protected PDFs are not supported" for p in locked}
    assert all(_row(service, p).status == "failed" for p in locked)
    _assert_ready(service, good_pdf)


def test_pdfs_with_only_an_owner_password_ingest_for_every_algorithm(make_service, tmp_path):
    # copy- and print-restricted official PDFs: no password is needed to open them
    opened = [
        fx.write_encrypted_pdf(tmp_path / f"owner-only-{alg}.pdf", "", algorithm=alg)
        for alg in fx.ENCRYPTIONS
    ]
    service = make_service()

    report = service.ingest(opened)

    assert report.failed == [] and report.added == len(fx.ENCRYPTIONS)
    for path in opened:
        row = _assert_ready(service, path)
        assert "national digital strategy" in service.manifest.page_text(row.doc_id, 1)


# -- 8. scanned and blank --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("pages", "reason"),
    [
        (3, "no extractable text on 3 of 3 pages (scanned? no OCR is done)"),
        (0, "the PDF has no pages"),
    ],
    ids=["three-blank-pages", "zero-pages"],
)
def test_pdf_without_text_is_skipped_with_page_count(
    make_service, tmp_path, good_pdf, pages, reason
):
    scan = fx.write_blank_pdf(tmp_path / "scan.pdf", pages)
    service = make_service()

    report = service.ingest([scan, good_pdf])

    assert _failed(report) == {"scan.pdf": reason}
    assert service.store.count_document(_row(service, scan).doc_id) == 0
    _assert_ready(service, good_pdf)


def test_partly_scanned_pdf_indexes_text_pages_and_names_the_blank_one(make_service, tmp_path):
    partial = fx.write_text_pdf(
        tmp_path / "partial.pdf", [fx.PROSE, "", "Annex: indicators and targets for 2030."]
    )
    service = make_service()

    report = service.ingest([partial])

    assert report.notes == [
        {"path": str(partial), "note": "no extractable text on 1 of 3 pages (2; scanned?)"}
    ]
    row = _assert_ready(service, partial)
    assert row.pages == 3
    chunks = _chunks_of(service, row.doc_id)
    assert all(c.text.strip() for c in chunks)  # no empty chunk was embedded
    assert {c.metadata["page"] for c in chunks} == {1, 3}


# -- 9. non-English text ---------------------------------------------------------------------------
#: page number -> (text as written, a phrase that must be found on that page after NFKC).
MULTILINGUAL = {
    1: (
        "# Стратегия\n\nҚазақстан Республикасының цифрлық үкіметі азаматтарға қызмет көрсетеді.",
        "цифрлық үкіметі",
    ),
    2: (
        "الاستراتيجية الوطنية للحكومة الرقمية تخدم جميع المواطنين في المدن والقرى.",
        "للحكومة الرقمية",
    ),
    3: ("国家数字政府战略为所有公民提供在线公共服务。", "数字政府战略"),
    # decomposed accents, a ligature, full-width digits and a zero-width space: NFKC and clean-up
    4: (
        "La strate\u0301gie nationale ﬁnance la re\u0301forme d'ici ２０３０ et\u200b au-delà.",
        "stratégie nationale finance la réforme d'ici 2030",
    ),
}


def test_non_english_text_is_normalised_retrievable_and_cited_by_page(
    make_service, tmp_path, embedder
):
    doc = tmp_path / "multilingual.md"
    doc.write_text(
        "\n\n<!-- pagebreak -->\n\n".join(text for text, _ in MULTILINGUAL.values()),
        encoding="utf-8",
    )
    pdf = fx.write_text_pdf(
        tmp_path / "kazakh.pdf",
        [
            "Қазақстан цифрлық стратегиясы: Café, naïve, résumé, ﬁnance.",
            "Екінші бет: ашық деректер.",
        ],
        font=fx.DEJAVU,
    )
    service = make_service()

    report = service.ingest([doc, pdf])

    assert report.failed == [] and report.added == 2
    row = _assert_ready(service, doc)
    for page, (_, phrase) in MULTILINGUAL.items():
        text = service.manifest.page_text(row.doc_id, page)
        assert phrase in text, (page, text)
        assert (
            "\u0301" not in text and "ﬁ" not in text and "\u200b" not in text and "２" not in text
        )
        hits = service.store.query(embedder.embed([phrase])[0], k=1, where={"doc_id": row.doc_id})
        assert hits[0].metadata["page"] == page, (phrase, hits[0].text)
        assert (
            hits[0].text in text
        )  # the citation resolves: the chunk is a span of the page it names
    pdf_row = _assert_ready(service, pdf)
    assert (
        service.manifest.page_text(pdf_row.doc_id, 1)
        == "Қазақстан цифрлық стратегиясы: Café, naïve, résumé, finance."
    )
    hits = service.store.query(
        embedder.embed(["ашық деректер"])[0], k=1, where={"doc_id": pdf_row.doc_id}
    )
    assert hits[0].metadata["page"] == 2


# -- 10. hostile file names ------------------------------------------------------------------------
HOSTILE_NAMES = {
    "url-encoded-traversal": "..%2F..%2Fx.pdf",
    "backslash-traversal": "..\\..\\windows.pdf",
    "script-tag": "<script>alert(1)<script>.pdf",  # "/" cannot be in a Linux file name
    "rtl-override": "invoice\u202egnp.pdf",
    "zero-width": "pl\u200ban\u200d.pdf",
    "terminal-escape-and-newline": "red\x1b[31m\nline\ttab\x07.pdf",
    "250-chars": "A" * 246 + ".pdf",
}
FORBIDDEN = re.compile("[<>\u202a-\u202e\u2066-\u2069\u200b-\u200f\x00-\x1f\x7f]")


def test_nul_in_a_file_name_is_impossible_on_linux(tmp_path):
    # Linux refuses NUL in a path before any file exists, so the NUL case cannot reach ingest.
    with pytest.raises(ValueError, match="null"):
        os.open(tmp_path / "evil\x00.pdf", os.O_CREAT | os.O_WRONLY)
    assert list(tmp_path.iterdir()) == []


def test_hostile_file_names_ingest_with_safe_titles_and_nothing_outside_data_dir(
    make_service, tmp_path
):
    incoming = tmp_path / "incoming"
    incoming.mkdir()
    paths = []
    for n, name in enumerate(HOSTILE_NAMES.values()):
        paths.append(fx.write_text_pdf(incoming / name, [f"{fx.PROSE} Copy number {n}."]))
    meta = incoming / "meta.pdf"  # a hostile title inside the file, not in its name
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_title("<img src=x onerror=alert(1)>\u202eevil\nsecond line\x07")
    pdf.add_page()
    pdf.set_font("Helvetica", size=11)
    pdf.multi_cell(0, 6, fx.PROSE + " Metadata copy.")
    meta.write_bytes(bytes(pdf.output()))
    paths.append(meta)
    data_dir = tmp_path / "data"

    def listing() -> set[str]:
        return {
            str(p.relative_to(tmp_path.parent))
            for p in tmp_path.parent.rglob("*")
            if data_dir not in p.parents and p != data_dir
        }

    service = make_service()
    before = listing()
    report = service.ingest(
        paths
    )  # named one by one: in a folder, names starting "." count as hidden
    after = listing()

    assert report.failed == [] and report.added == len(paths)
    assert after == before  # nothing was written beside the inputs or above tmp_path
    rows = [_assert_ready(service, p) for p in paths]
    for row in rows:
        assert not FORBIDDEN.search(row.title), repr(row.title)
        assert 0 < len(row.title) <= 200
    titles = {Path(r.source).name: r.title for r in rows}
    assert titles["meta.pdf"] == "img src=x onerror=alert(1)evil second line"
    assert titles[HOSTILE_NAMES["script-tag"]] == "scriptalert(1)script"
    assert titles[HOSTILE_NAMES["rtl-override"]] == "invoicegnp"
    assert titles[HOSTILE_NAMES["terminal-escape-and-newline"]] == "red[31m line tab"
    assert titles[HOSTILE_NAMES["250-chars"]] == "A" * 119 + "…"
    for chunk in service.store.iter_chunks():
        assert CHUNK_ID.match(chunk.id), chunk.id  # stored under server-made ids, never the name
        assert not FORBIDDEN.search(chunk.metadata["title"])


# -- 11. the same file twice, and an edited file ---------------------------------------------------
def test_same_bytes_under_two_paths_is_one_document(make_service, tmp_path, good_pdf):
    copy = tmp_path / "copy" / "same.pdf"
    copy.parent.mkdir()
    shutil.copyfile(good_pdf, copy)
    service = make_service()

    report = service.ingest([good_pdf, copy])

    assert (report.added, report.unchanged, report.failed) == (1, 1, [])
    assert len(service.manifest.all()) == 1
    doc_id = service.manifest.all()[0].doc_id
    assert service.store.doc_ids() == {doc_id}

    again = service.ingest([good_pdf, copy])
    assert (again.added, again.updated, again.unchanged, again.chunks_added) == (0, 0, 2, 0)
    assert service.store.count() == report.chunks_total


def test_edited_file_replaces_old_chunks_without_a_mix(make_service, tmp_path):
    plan = tmp_path / "plan.md"
    plan.write_text("# Plan\n\n" + "The old budget line funds paper forms. " * 40)
    service = make_service()
    service.ingest([plan])
    old = _assert_ready(service, plan)

    plan.write_text("# Plan\n\n" + "The new budget line funds digital identity. " * 30)
    report = service.ingest([plan])

    assert (report.added, report.updated, report.unchanged) == (0, 1, 0)
    new = _assert_ready(service, plan)  # exactly one manifest row for the path
    assert new.doc_id != old.doc_id
    assert service.store.count_document(old.doc_id) == 0
    assert service.store.doc_ids() == {new.doc_id}
    texts = [c.text for c in service.store.iter_chunks()]
    assert len(texts) == new.chunks == service.store.count()
    assert not any("paper forms" in t for t in texts)
    assert all("digital identity" in t for t in texts)


# -- 12. page furniture ---------------------------------------------------------------------------
FURNITURE_LINES = re.compile(
    r"OFFICIAL: Sensitive|Page \d of 8|Released under the Freedom|\.{5}|border instructions, part four|"
    + fx.TRANSCRIPT_BOILERPLATE
)


def test_page_furniture_is_set_aside_counted_and_kept_in_the_page_text(make_service, tmp_path):
    pdf = fx.write_furnished_pdf(tmp_path / "procedure.pdf")
    transcript = fx.write_slide_transcript(tmp_path / "slides.txt")
    service = make_service()

    report = service.ingest([pdf, transcript])

    assert report.failed == [] and report.added == 2
    # 8 pages x (2 header lines + 1 footer); "Contents" and 6 entries; 1 footnote; 5 slide links
    assert report.set_aside == {"running": 24, "toc": 7, "footnote": 1, "boilerplate": 5}
    assert report.to_json()["set_aside"] == report.set_aside
    for path in (pdf, transcript):
        row = _assert_ready(service, path)
        for chunk in _chunks_of(service, row.doc_id):
            page = service.manifest.page_text(row.doc_id, chunk.metadata["page"])
            assert (
                page[chunk.metadata["start"] : chunk.metadata["end"]] == chunk.text
            )  # quotes still verify
            assert not FURNITURE_LINES.search(chunk.text), chunk.text
    row = _row(service, pdf)
    assert service.manifest.page_text(row.doc_id, 3).startswith("OFFICIAL: Sensitive\nPage 3 of 8")
    assert fx.FURNISHED_FOOTNOTE in service.manifest.page_text(row.doc_id, 3)
    texts = " ".join(c.text for c in _chunks_of(service, row.doc_id))
    assert all(
        " ".join(body.split()[:6]) in texts for body in fx.FURNISHED_BODY
    )  # the content is all there
    slides = " ".join(c.text for c in _chunks_of(service, _row(service, transcript).doc_id))
    assert "Completed applications rose by a third." in slides


# -- 13. long PDFs, parsed in page ranges ----------------------------------------------------------
def test_long_pdf_is_parsed_in_page_ranges_with_the_same_pages(make_service, tmp_path):
    from ingest.loaders import Limits, load_file
    from ingest.worker import parse_files

    long = fx.write_many_pages_pdf(tmp_path / "long.pdf", 90)
    whole = load_file(long, Limits())

    results = list(parse_files([long], Limits(), workers=3, timeout_s=60))

    assert [(r.reason, r.parts) for r in results] == [("", 3)]  # three children read 30 pages each
    assert results[0].document == whole
    service = make_service(parse_workers=2)
    report = service.ingest([long])
    assert report.failed == [] and report.pages == 90
    assert service.manifest.page_text(_row(service, long).doc_id, 90) == whole.pages[89]


def test_long_pdf_with_a_page_that_hangs_fails_whole_and_others_go_on(
    make_service, tmp_path, good_pdf
):
    slow = fx.write_long_pdf_with_slow_page(tmp_path / "slow-long.pdf", pages=60, slow_at=50)
    service = make_service(parse_timeout_s=2, parse_workers=2)

    started = time.monotonic()
    report = service.ingest([slow, good_pdf])

    assert time.monotonic() - started < 20
    assert _failed(report) == {"slow-long.pdf": "could not be processed (timed out after 2 s)"}
    assert service.store.count_document(_row(service, slow).doc_id) == 0
    _assert_ready(service, good_pdf)


# -- the command line ------------------------------------------------------------------------------
def test_cli_exits_zero_with_skips_nonzero_with_strict_and_json_lists_failures(
    tmp_path, good_pdf, capsys
):
    bad = tmp_path / "image.pdf"
    bad.write_bytes(fx.png_bytes())
    data_dir = tmp_path / "cli-data"
    base = ["--data-dir", str(data_dir), "ingest", str(good_pdf), str(bad)]

    assert cli.main([*base, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["documents"]["added"] == 1
    assert out["documents"]["failed"] == [{"path": str(bad), "reason": "not a PDF (a PNG image)"}]

    assert cli.main([*base, "--strict"]) == 3
    captured = capsys.readouterr()
    assert "briefing: 1 file(s) skipped (--strict)" in captured.err
    assert "not a PDF (a PNG image)" in captured.out

    bad.unlink()
    assert cli.main(["--data-dir", str(data_dir), "ingest", str(good_pdf), "--strict"]) == 0
