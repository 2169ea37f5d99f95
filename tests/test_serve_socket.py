"""`briefing ask` hands its question to a running `briefing serve` over the data dir's socket.

A real server process (Gradio page, MiniLM, Chroma) on a small ingested library. The asking
process is given an embedding model that does not exist: it can only answer through the server,
and when there is none (a stale socket file) it fails the way a local answer fails.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import CORPUS, ROOT

QUESTION = "What does the Kestrel strategy say about digital identity?"
KESTREL = CORPUS / "master_plan" / "kestrel-digital-services-strategy-2026-2028.md"


@pytest.fixture
def library(tmp_path, embedder):
    from assistant.core.settings import Settings
    from assistant.service import build_service

    data = tmp_path / "data"
    service = build_service(Settings(data_dir=data), embeddings=embedder, writer=True)
    try:
        report = service.ingest(
            [CORPUS / "master_plan" / "kestrel-digital-services-strategy-2026-2028.md"]
        )
        assert report.doc_ids
    finally:
        service.close()
    return data


def _env(data: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BRIEFING_")}
    return {**env, "BRIEFING_DATA_DIR": str(data), "HF_HUB_OFFLINE": "1", **extra}


def _ask(
    data: Path, *args: str, cwd: Path | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "assistant.cli", "ask", *args],
        env={**_env(data, **env), "PYTHONPATH": str(ROOT)},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _stale_socket(path: Path) -> None:
    """A socket file whose server is gone (as after kill -9)."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(str(path))
    sock.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


NO_MODEL = {"BRIEFING_EMBEDDING_MODEL": "/no/such/model"}


def test_ask_is_answered_by_a_running_server(library, tmp_path):
    path = library / "serve.sock"
    _stale_socket(path)
    local = _ask(library, QUESTION, "--json")
    assert local.returncode == 0, local.stderr[-2000:]
    stale = _ask(library, QUESTION, **NO_MODEL)  # nobody behind the socket: answered here
    assert stale.returncode == 2 and "not available offline" in stale.stderr

    log = (tmp_path / "serve.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "assistant.cli", "serve", "--port", str(_free_port())],
        env=_env(library),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 240
        while not _listening(path):
            assert server.poll() is None, (tmp_path / "serve.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "the server never listened on its socket"
            time.sleep(0.5)
        assert stat.S_IMODE(path.stat().st_mode) == 0o600

        remote = _ask(library, QUESTION, "--json", **NO_MODEL)
        assert remote.returncode == 0, remote.stderr[-2000:]
        mine, theirs = json.loads(local.stdout), json.loads(remote.stdout)
        mine.pop("timings"), theirs.pop("timings")
        assert theirs == mine
        assert theirs["passages"] and theirs["citations"]

        text = _ask(library, QUESTION, **NO_MODEL)
        plain = _ask(library, QUESTION, "--local")
        assert text.returncode == 0 and text.stdout == plain.stdout

        # a document named by a path relative to the asking process, not to the server
        here, name = KESTREL.parent, KESTREL.name
        by_path = _ask(library, QUESTION, "--document", name, cwd=here, **NO_MODEL)
        by_path_here = _ask(library, QUESTION, "--document", name, "--local", cwd=here)
        assert by_path.returncode == 0, by_path.stderr[-2000:]
        assert by_path.stdout == by_path_here.stdout

        wrong = _ask(library, QUESTION, "--document", "no-such-document", **NO_MODEL)
        assert wrong.returncode == 2
        lines = wrong.stderr.strip().splitlines()
        assert len(lines) == 1 and "no-such-document" in lines[0], wrong.stderr

        forced = _ask(library, QUESTION, "--local", **NO_MODEL)
        assert forced.returncode == 2 and "not available offline" in forced.stderr
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)
        log.close()
    assert not path.exists(), "the server left its socket behind"


def _listening(path: Path) -> bool:
    if not path.is_socket():
        return False
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        return probe.connect_ex(str(path)) == 0


def test_a_stale_socket_means_a_local_answer(library):
    from assistant.cli.remote import ask_served
    from assistant.core.settings import Settings

    settings = Settings(data_dir=library)
    assert ask_served(settings, QUESTION) is None  # no socket at all
    _stale_socket(library / "serve.sock")
    assert ask_served(settings, QUESTION) is None  # a file nobody listens on
    assert ask_served(settings.model_copy(update={"serve_socket": ""}), QUESTION) is None
