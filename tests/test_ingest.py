"""The ingest pipeline end to end: real pypdf, real MiniLM, real Chroma on tmp_path."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from assistant.core.errors import (
    DocumentNotFoundError,
    EmbeddingMismatchError,
    IngestError,
    StoreLockedError,
)
from assistant.core.locking import WriterLock
from assistant.core.text import printed_title
from assistant.service import build_service
from ingest.loaders import Limits, load_file
from ingest.spacing import rejoin_split_words
from tests.conftest import REALDOCS, ROOT, write_pdf

PLAN_PAGES = [
    "1 Introduction\nThe Republic plans a national identity service. The programme runs from 2025 "
    "to 2027.",
    "2 Budget\nThe total budget is 412.8 million. Phase one costs 120 million.\n3 Governance\nA "
    "programme board meets monthly.",
]


@pytest.fixture
def docs(tmp_path):
    root = tmp_path / "docs"
    write_pdf(root / "master_plan" / "plan.pdf", PLAN_PAGES, title="Test Plan 2025")
    (root / "review").mkdir(parents=True)
    (root / "review" / "notes.md").write_text(
        "---\ntitle: Review notes\nyear: 2024\n---\n# Findings\nThe plan lacks a benefits "
        "register.\n",
        encoding="utf-8",
    )
    (root / "lessons.txt").write_text(
        "Lessons\n=======\n\nBig bang roll-outs fail more often.\n", encoding="utf-8"
    )
    return root


def _chunk_ids_by_doc(service):
    out: dict[str, list[str]] = {}
    for chunk in service.store.iter_chunks():
        out.setdefault(chunk.metadata["doc_id"], []).append(chunk.id)
    return out


def test_ingest_records_metadata_types_and_pages(service, docs):
    report = service.ingest([docs])
    assert (report.added, report.failed) == (3, [])
    rows = {r.title: r for r in service.status()}
    assert rows["Test Plan 2025"].doc_type == "master_plan"  # folder name
    assert rows["Test Plan 2025"].pages == 2 and rows["Test Plan 2025"].year == 2025
    assert (
        rows["Review notes"].doc_type == "review" and rows["Review notes"].year == 2024
    )  # front matter
    assert rows["Lessons"].doc_type == "other"
    assert all(r.status == "ready" for r in rows.values())
    chunks = [c for c in service.store.iter_chunks() if c.metadata["title"] == "Test Plan 2025"]
    budget = next(c for c in chunks if "412.8" in c.text)
    assert budget.metadata["page"] == 2 and budget.metadata["section"] == "2 Budget"
    page = service.manifest.page_text(budget.metadata["doc_id"], 2)
    assert page[budget.metadata["start"] : budget.metadata["end"]] == budget.text


def test_rerun_on_unchanged_corpus_embeds_nothing(service, docs):
    first = service.ingest([docs])
    calls = []
    real_embed = service.embeddings.embed
    service.embeddings.embed = lambda texts: calls.append(len(texts)) or real_embed(texts)
    try:
        again = service.ingest([docs])
    finally:
        service.embeddings.embed = real_embed
    assert (again.added, again.updated, again.unchanged, again.chunks_added) == (0, 0, 3, 0)
    assert calls == []
    assert again.chunks_total == first.chunks_total


def test_changed_file_replaces_its_chunks_without_mixing(service, docs):
    service.ingest([docs])
    old = _chunk_ids_by_doc(service)
    plan = docs / "master_plan" / "plan.pdf"
    write_pdf(
        plan,
        ["1 Introduction\nA completely rewritten plan about digital inclusion."],
        title="Test Plan 2025",
    )
    report = service.ingest([docs])
    assert (report.updated, report.added) == (1, 0)
    new = _chunk_ids_by_doc(service)
    assert len(new) == 3
    changed = set(new) - set(old)
    assert len(changed) == 1
    (new_id,) = changed
    texts = " ".join(c.text for c in service.store.iter_chunks() if c.metadata["doc_id"] == new_id)
    assert "digital inclusion" in texts
    assert not any("412.8" in c.text for c in service.store.iter_chunks())
    assert [r.status for r in service.status()] == ["ready"] * 3


def test_remove_and_prune_delete_chunks_and_rows(service, docs):
    service.ingest([docs])
    row = service.remove(str(docs / "lessons.txt"))
    assert row.title == "Lessons"
    assert row.doc_id not in _chunk_ids_by_doc(service)
    with pytest.raises(DocumentNotFoundError):
        service.remove("does-not-exist")
    (docs / "review" / "notes.md").unlink()
    report = service.ingest([docs], prune=True)
    assert (report.removed, report.added) == (1, 1)  # notes.md pruned; lessons.txt is back
    assert sorted(r.title for r in service.status()) == ["Lessons", "Test Plan 2025"]
    assert len(_chunk_ids_by_doc(service)) == 2


def test_same_bytes_twice_is_one_document(service, docs, tmp_path):
    copy = tmp_path / "elsewhere" / "copy.pdf"
    copy.parent.mkdir()
    copy.write_bytes((docs / "master_plan" / "plan.pdf").read_bytes())
    report = service.ingest([docs, copy])
    assert (report.added, report.unchanged) == (3, 1)
    assert len(service.status()) == 3


def test_type_flag_overrides_and_unknown_type_is_refused(service, docs):
    service.ingest([docs / "lessons.txt"], doc_type="lessons_learned")
    assert service.status()[0].doc_type == "lessons_learned"
    with pytest.raises(IngestError, match="unknown document type"):
        service.ingest([docs], doc_type="novel")


def test_second_writer_is_refused_at_once(settings):
    with WriterLock(settings.data_dir):
        with pytest.raises(StoreLockedError, match="another Briefing process"):
            build_service(settings, writer=True)
    build_service(settings, writer=True).close()  # free again


def test_second_writer_process_is_refused_by_the_cli(settings, service, docs):
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "assistant.cli",
            "--data-dir",
            str(settings.data_dir),
            "ingest",
            str(docs),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("briefing: error: another Briefing process")
    assert "Traceback" not in proc.stderr


def test_collection_with_other_model_is_a_clear_error(settings, embedder):
    from assistant.core.store import VectorStore

    VectorStore(settings, embedder.name, embedder.dimension)
    with pytest.raises(
        EmbeddingMismatchError, match="built with 'all-MiniLM-L6-v2' \\(384 dimensions\\)"
    ):
        VectorStore(settings, "other-model", 768)


def test_nearest_searches_broadly_and_keeps_k(settings):
    import numpy as np

    from assistant.core.store import SEARCH_BREADTH, VectorStore

    store = VectorStore(settings, "m", 8)
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(300, 8)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    ids = [f"c{i:03d}" for i in range(300)]
    store.upsert(ids, ["t"] * 300, vectors, [{"doc_id": "d", "chunk_index": i} for i in range(300)])
    asked = []
    search = store._collection.query

    def spy(**kwargs):  # the real Chroma answers; only the breadth asked is recorded
        asked.append(kwargs["n_results"])
        return search(**kwargs)

    store._collection.query = spy
    found = store.nearest(vectors[7], 5)
    assert asked == [SEARCH_BREADTH] and len(found) == 5
    exact = [ids[i] for i in np.argsort(-(vectors @ vectors[7]))[:5]]
    assert [cid for cid, _ in found] == exact and found[0][1] == pytest.approx(1.0, abs=1e-5)
    assert store.nearest(vectors[7], 0) == []


def test_cli_json_report_and_status(tmp_path, docs, capsys):
    from assistant.cli import main

    data_dir = tmp_path / "cli-data"
    assert main(["--data-dir", str(data_dir), "ingest", str(docs), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["documents"] == {
        "added": 3,
        "updated": 0,
        "unchanged": 0,
        "removed": 0,
        "failed": [],
    }
    assert report["chunks_added"] == report["chunks_total"] > 0
    assert isinstance(report["seconds"], float)
    assert main(["--data-dir", str(data_dir), "status", "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert {d["doc_type"] for d in status["documents"]} == {"master_plan", "review", "other"}
    assert all(d["chunks"] > 0 and d["status"] == "ready" for d in status["documents"])


def test_cli_errors_are_one_line(tmp_path, capsys):
    from assistant.cli import main

    assert main(["--data-dir", str(tmp_path), "ingest", str(tmp_path / "missing.pdf")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"briefing: error: no such file or folder: {tmp_path / 'missing.pdf'}"]


def test_settings_from_env_and_yaml(tmp_path, monkeypatch):
    from assistant.core.errors import ConfigError
    from assistant.core.settings import load_settings

    config = tmp_path / "briefing.yaml"
    config.write_text("chunk_tokens: 150\ndata_dir: /from/yaml\n", encoding="utf-8")
    monkeypatch.setenv("BRIEFING_DATA_DIR", str(tmp_path / "env"))
    settings = load_settings(config)
    assert settings.chunk_tokens == 150 and settings.data_dir == tmp_path / "env"
    assert load_settings(config, data_dir=tmp_path / "arg").data_dir == tmp_path / "arg"
    monkeypatch.setenv("BRIEFING_CHUNK_TOKENS", "999")
    with pytest.raises(ConfigError, match="chunk_tokens"):
        load_settings()
    monkeypatch.delenv("BRIEFING_CHUNK_TOKENS")
    monkeypatch.setenv("BRIEFING_CHROMA_URL", "ftp://x")
    with pytest.raises(ConfigError, match="chroma_url"):
        load_settings()


def test_hf_offline_does_not_break_model_loading(tmp_path):
    code = "from assistant.core.embeddings import make_embeddings; from assistant.core.settings import Settings; print(make_embeddings(Settings()).dimension)"
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1", "HOME": str(tmp_path)},
    )
    assert proc.stdout.strip() == "384", proc.stderr


@pytest.mark.parametrize(
    ("title", "pages", "expected"),
    [
        (  # a running header glued on by the publishing tool
            "Digital Services Field GuideGovernment Technology: State Field Guide",
            ["Digital Services\nField Guide\nA guide for agencies"],
            "Digital Services Field Guide",
        ),
        (
            "National Plan 2025",
            ["National Plan 2025\nMinistry of Digital Affairs"],
            "National Plan 2025",
        ),
        ("National Plan 2025", [""], "National Plan 2025"),  # a cover with no text: kept
        (
            "The Plan for Digital Public Services",
            ["The Plan was approved"],
            "The Plan for Digital Public Services",
        ),
    ],
    ids=["glued", "printed", "no-text", "too-short-a-run"],
)
def test_a_pdf_title_is_cut_to_what_its_cover_prints(title, pages, expected):
    assert printed_title(title, pages) == expected


def test_real_pdf_titles_lose_the_glued_running_header():
    path = REALDOCS / "18f-derisking-federal-field-guide.pdf"
    if not path.is_file():
        pytest.skip("../shared/realdocs is not beside the repository")
    # the file's metadata says "...Federal Agency Field GuideGovernment Technology: State Field Guide"
    assert (
        load_file(path, Limits()).title
        == "De-risking Government Technology: Federal Agency Field Guide"
    )


def test_words_split_by_a_stray_space_are_joined_against_the_document():
    pages = [
        "The se curity plan names t he security office. Security matters.",
        "A part of the budget is set apart; apart from that, part one and part two a part.",
        "Fo r each year, for staff, for all.",
        # a piece left over from many breaks is common too: a tenth as often as the whole word
        "sec urity " * 3 + "security " * 30,
    ]
    joined = rejoin_split_words(pages)
    assert joined[0] == "The security plan names the security office. Security matters."
    assert joined[1] == pages[1]  # "a" and "part" are words of their own here
    assert joined[2] == "For each year, for staff, for all."
    assert joined[3] == "security " * 33


def test_a_real_pdf_with_split_words_loads_them_whole():
    path = ROOT.parent / "shared" / "peer-qa" / "Defense_Management.pdf"
    if not path.is_file():
        pytest.skip("../shared/peer-qa is not beside the repository")
    from pypdf import PdfReader

    raw = " ".join(page.extract_text() or "" for page in PdfReader(str(path)).pages)
    loaded = " ".join(load_file(path, Limits()).pages)
    # pypdf reads these words with a space inside; the loader joins them (and most others)
    for split in ("se curity", "e fficient", "obt ain", "distinguis hed"):
        assert split in raw and split not in loaded, split
    assert len(loaded.split()) < len(raw.split()) - 500
