"""Storage faults: a read-only data dir, a full disk, and the embedding model's fingerprint.

Where the test may mount (root with CAP_SYS_ADMIN), the faults are real: a read-only bind mount
and a small tmpfs. Elsewhere those tests skip, and the same paths run with the OS errors
simulated at the storage seam.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.cli import main
from assistant.core import locking, storage, store
from assistant.core.embeddings import make_embeddings, model_fingerprint, resolve_model_path
from assistant.core.errors import (
    ConfigError,
    DiskFullError,
    EmbeddingMismatchError,
    ReadOnlyStoreError,
)
from assistant.core.settings import Settings
from assistant.service import build_service
from tests.conftest import ROOT

PLAN = "# Budget\nThe total budget of the programme is EUR 412.8 million over five years.\n"


def _mount(*args: str) -> bool:
    if os.geteuid() != 0 or not shutil.which("mount"):
        return False
    return subprocess.run(["mount", *args], capture_output=True).returncode == 0


def _umount(path: Path) -> None:
    subprocess.run(["umount", "-l", str(path)], capture_output=True)


def _built(tmp_path: Path, embedder, data: Path) -> Path:
    doc = tmp_path / "docs" / "plan.md"
    doc.parent.mkdir(parents=True, exist_ok=True)
    doc.write_text(PLAN, encoding="utf-8")
    service = build_service(Settings(data_dir=data), embeddings=embedder, writer=True)
    service.ingest([doc])
    service.close()
    return doc


@pytest.fixture
def read_only_dir(tmp_path, embedder, monkeypatch):
    """A data dir holding one ready document, then made read-only (a bind mount, or simulated)."""
    src = tmp_path / "src"
    _built(tmp_path, embedder, src / "data")
    ro = tmp_path / "ro"
    ro.mkdir()
    if _mount("--bind", str(src), str(ro)) and _mount("-o", "remount,ro,bind", str(ro)):
        yield ro / "data"
        _umount(ro)
        return
    _umount(ro)
    monkeypatch.setattr(storage, "is_writable", lambda path: False)
    monkeypatch.setattr(store, "is_writable", lambda path: False)
    monkeypatch.setattr(locking, "is_writable", lambda path: False)
    yield src / "data"


def _snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    return {
        str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in folder.rglob("*")
        if p.is_file()
    }


def test_read_only_data_dir_reads_and_refuses_writes_in_one_line(
    read_only_dir, embedder, tmp_path, capsys
):
    before = _snapshot(read_only_dir)
    service = build_service(Settings(data_dir=read_only_dir), embeddings=embedder, writer=True)
    try:
        assert [r.status for r in service.status()] == ["ready"]
        assert service.about().chunks >= 1
        doc_id = service.status()[0].doc_id
        for write in (
            lambda: service.remove(doc_id),
            lambda: service.set_doc_type(doc_id, "review"),
        ):
            with pytest.raises(ReadOnlyStoreError, match="is read-only") as caught:
                write()
            assert "\n" not in str(caught.value) and str(read_only_dir) in str(caught.value)
        upload = tmp_path / "upload.md"
        upload.write_text(PLAN + "More.\n", encoding="utf-8")
        with pytest.raises(ReadOnlyStoreError, match="cannot add documents"):
            service.ingest_upload(upload, "plan.md")
    finally:
        service.close()
    capsys.readouterr()
    doc = tmp_path / "docs" / "plan.md"
    assert main(["--data-dir", str(read_only_dir), "ingest", str(doc)]) == 2
    assert main(["--data-dir", str(read_only_dir), "remove", doc_id]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and all("is read-only" in line for line in err)
    assert main(["--data-dir", str(read_only_dir), "status"]) == 0
    assert _snapshot(read_only_dir) == before


def test_read_only_data_dir_still_answers(read_only_dir, embedder):
    service = build_service(Settings(data_dir=read_only_dir), embeddings=embedder)
    try:
        assert "412.8" in service.ask("What is the total budget?").text
    finally:
        service.close()


def test_read_only_data_dir_without_a_lexical_index_still_answers(tmp_path, embedder):
    src = tmp_path / "src"
    _built(tmp_path, embedder, src / "data")
    shutil.rmtree(src / "data" / "lexical", ignore_errors=True)
    ro = tmp_path / "ro"
    ro.mkdir()
    if not (_mount("--bind", str(src), str(ro)) and _mount("-o", "remount,ro,bind", str(ro))):
        _umount(ro)
        pytest.skip("cannot make a read-only bind mount here")
    try:
        service = build_service(Settings(data_dir=ro / "data"), embeddings=embedder)
        try:
            assert "412.8" in service.ask("What is the total budget?").text
        finally:
            service.close()
    finally:
        _umount(ro)


# -- a full disk ------------------------------------------------------------------------------
def _big_plan(path: Path, sections: int) -> Path:
    path.write_text(
        "\n\n".join(
            f"## Section {i}\n"
            + f"Agency {i} modernises service {i} with EUR {i} million and reports on milestone "
            f"{i} to parliament every quarter. " * 3
            for i in range(sections)
        ),
        encoding="utf-8",
    )
    return path


def _rerun_in_a_new_process(data: Path, folder: Path) -> None:
    """The re-run after a full disk, as a user makes it: a new ``briefing ingest`` process.

    (Chroma keeps one client per path for the life of a process; after a real ENOSPC that
    client can block, so recovery is what a fresh process does.)
    """
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    run = [sys.executable, "-m", "assistant.cli", "--data-dir", str(data)]
    done = subprocess.run([*run, "ingest", str(folder)], env=env, capture_output=True, text=True,
                          timeout=600)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    status = subprocess.run([*run, "status", "--json"], env=env, capture_output=True, text=True,
                            timeout=300)  # fmt: skip
    assert {d["status"] for d in json.loads(status.stdout)["documents"]} == {"ready"}


def _disk_full_then_recovers(
    data: Path, tmp_path, embedder, make_room, *, new_process: bool = False
) -> None:
    doc = _built(tmp_path, embedder, data)
    big = _big_plan(tmp_path / "docs" / "big.md", 150)
    service = build_service(Settings(data_dir=data), embeddings=embedder, writer=True)
    try:
        with pytest.raises(DiskFullError) as caught:
            service.ingest([doc.parent])
        message = str(caught.value)
        assert "\n" not in message and str(data) in message and "free" in message
        rows = {Path(r.source).name: r.status for r in service.status()}
        assert rows["plan.md"] == "ready" and rows.get("big.md") in (None, "pending")
        ready = [r for r in service.status() if r.status == "ready"]
        assert service.store.count_document(ready[0].doc_id) >= 1
    finally:
        service.close()
    make_room()
    if new_process:
        _rerun_in_a_new_process(data, big.parent)
        return
    service = build_service(Settings(data_dir=data), embeddings=embedder, writer=True)
    try:
        report = service.ingest([big.parent])
        assert not report.failed
        assert {r.status for r in service.status()} == {"ready"}
    finally:
        service.close()


@pytest.mark.slow
def test_full_tmpfs_gives_one_line_and_the_document_is_retried(tmp_path, embedder):
    mnt = tmp_path / "small"
    mnt.mkdir()
    if not _mount("-t", "tmpfs", "-o", "size=1200k", "tmpfs", str(mnt)):
        pytest.skip("cannot mount a tmpfs here (needs root); the simulated test covers the seam")
    try:
        _disk_full_then_recovers(
            mnt / "data",
            tmp_path,
            embedder,
            lambda: _mount("-o", "remount,size=64m", str(mnt)),
            new_process=True,
        )
    finally:
        _umount(mnt)


def test_simulated_full_disk_at_the_store_seam(tmp_path, embedder, monkeypatch):
    from chromadb.api.models.Collection import Collection

    real = Collection.upsert
    calls = {"n": 0}

    def upsert(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] > 1 and not calls.get("healed"):
            raise sqlite3.OperationalError("database or disk is full")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Collection, "upsert", upsert)
    _disk_full_then_recovers(
        tmp_path / "data", tmp_path, embedder, lambda: calls.update(healed=True)
    )


@pytest.mark.parametrize(
    ("exc", "kind"),
    [
        (OSError(errno.ENOSPC, "No space left on device"), DiskFullError),
        (sqlite3.OperationalError("database or disk is full"), DiskFullError),
        (
            RuntimeError("error returned from database: (code: 13) database or disk is full"),
            DiskFullError,
        ),
        (OSError(errno.EROFS, "Read-only file system"), ReadOnlyStoreError),
        (RuntimeError("attempt to write a readonly database"), ReadOnlyStoreError),
        (ValueError("something else"), None),
    ],
)
def test_storage_errors_are_translated(tmp_path, exc, kind):
    got = storage.translate(exc, tmp_path, "add documents")
    assert (type(got) if got else None) is kind


def test_permission_denied_counts_only_inside_the_data_dir(tmp_path):
    inside = PermissionError(errno.EACCES, "Permission denied", str(tmp_path / "x"))
    outside = PermissionError(errno.EACCES, "Permission denied", "/etc/shadow")
    assert isinstance(storage.translate(inside, tmp_path, "x"), ReadOnlyStoreError)
    assert storage.translate(outside, tmp_path, "x") is None


# -- the embedding model's fingerprint ---------------------------------------------------------
def test_a_different_model_in_a_folder_of_the_same_name_is_refused(tmp_path, embedder):
    _built(tmp_path, embedder, tmp_path / "data")
    packaged, _ = resolve_model_path("all-MiniLM-L6-v2")
    copy = tmp_path / "models" / "all-MiniLM-L6-v2"
    shutil.copytree(packaged, copy)
    with (copy / "model.safetensors").open("r+b") as weights:  # another model's weights
        weights.seek(-64, os.SEEK_END)
        weights.write(os.urandom(64))
    impostor = make_embeddings(Settings(embedding_model=str(copy)))
    assert impostor.name == embedder.name and impostor.dimension == embedder.dimension
    assert model_fingerprint(copy) != model_fingerprint(packaged)
    service = build_service(Settings(data_dir=tmp_path / "data"), embeddings=impostor)
    try:
        with pytest.raises(EmbeddingMismatchError, match="fingerprint"):
            service.store  # noqa: B018
    finally:
        service.close()


def test_serve_refuses_to_start_without_its_embedding_model(tmp_path):
    env = {
        **os.environ,
        "BRIEFING_EMBEDDING_MODEL": str(tmp_path / "no-such-model"),
        "BRIEFING_DATA_DIR": str(tmp_path / "data"),
    }
    done = subprocess.run(
        [sys.executable, "-m", "assistant.cli", "serve", "--port", "0"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr[-2000:]
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "embedding model" in lines[0] and "not available" in lines[0]


def test_missing_model_is_a_config_error():
    with pytest.raises(ConfigError, match="not available offline"):
        make_embeddings(Settings(embedding_model="/no/such/model"))
