"""Shared fixtures: one real MiniLM embedder per session, settings on tmp_path, PDF writers."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus" / "documents"
REALDOCS = ROOT.parent / "shared" / "realdocs"


@pytest.fixture(scope="session")
def embedder():
    from assistant.core.embeddings import make_embeddings
    from assistant.core.settings import Settings

    return make_embeddings(Settings())


@pytest.fixture
def settings(tmp_path):
    from assistant.core.settings import Settings

    return Settings(data_dir=tmp_path / "data", parse_workers=2)


@pytest.fixture
def service(settings, embedder):
    from assistant.service import build_service

    svc = build_service(settings, embeddings=embedder, writer=True)
    yield svc
    svc.close()


def write_pdf(path: Path, pages: list[str], title: str | None = None) -> Path:
    """A real text PDF, one string per page (lines split on newlines)."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_auto_page_break(auto=True, margin=15)
    if title:
        pdf.set_title(title)
    pdf.set_creation_date(
        __import__("datetime").datetime(2025, 1, 1, tzinfo=__import__("datetime").timezone.utc)
    )
    for text in pages:
        pdf.add_page()
        pdf.set_font("Helvetica", size=11)
        for line in text.split("\n"):
            pdf.multi_cell(0, 6, line, new_x="LMARGIN", new_y="NEXT")
    path.parent.mkdir(parents=True, exist_ok=True)
    pdf.output(str(path))
    return path


def realdoc(name: str) -> Path:
    path = REALDOCS / name
    if not path.exists():
        pytest.skip(
            f"{path} is not present (real documents live beside the repo, in ../shared/realdocs)"
        )
    return path
