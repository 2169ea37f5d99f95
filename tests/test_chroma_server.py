"""Server mode: the same code path against a real `chroma run` server on loopback."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from assistant.core.errors import StoreError
from assistant.core.settings import Settings
from assistant.service import build_service
from tests.conftest import write_pdf

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def chroma_server(tmp_path):
    exe = shutil.which("chroma") or str(Path(sys.executable).parent / "chroma")
    port = _free_port()
    proc = subprocess.Popen(
        [
            exe,
            "run",
            "--path",
            str(tmp_path / "server"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            time.sleep(0.2)
    else:
        proc.kill()
        pytest.fail("chroma server did not start within 60 s")
    yield f"http://127.0.0.1:{port}"
    proc.terminate()
    proc.wait(timeout=30)


def test_ingest_and_query_through_a_chroma_server(tmp_path, chroma_server, embedder):
    docs = tmp_path / "docs"
    write_pdf(
        docs / "plan.pdf",
        ["1 Budget\nThe e-Customs line receives 48.5 million over three years."],
        title="Server plan",
    )
    (docs / "lessons.md").write_text(
        "# Lessons\nPilots in two regions came before national roll-out.\n", encoding="utf-8"
    )
    settings = Settings(data_dir=tmp_path / "data", chroma_url=chroma_server)
    service = build_service(settings, embeddings=embedder, writer=True)
    try:
        report = service.ingest([docs])
        assert (report.added, report.failed) == (2, [])
        assert service.store.location == chroma_server
        assert not (settings.data_dir / "chroma").exists()  # nothing embedded on disk
        hits = service.store.query(embedder.embed(["How much money does e-Customs get?"])[0], k=1)
        assert "48.5 million" in hits[0].text and hits[0].metadata["page"] == 1
        again = service.ingest([docs])
        assert (again.unchanged, again.chunks_added) == (2, 0)
    finally:
        service.close()


def test_unreachable_server_is_a_clear_error(tmp_path, embedder):
    settings = Settings(data_dir=tmp_path / "data", chroma_url=f"http://127.0.0.1:{_free_port()}")
    service = build_service(settings, embeddings=embedder)
    with pytest.raises(StoreError, match="cannot reach the Chroma server at http://127.0.0.1"):
        service.store.count()
