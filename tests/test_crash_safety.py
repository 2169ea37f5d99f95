"""Kill -9 the ingest at random moments, 20+ times: never partial, never doubled, store opens.

Every check runs in a fresh process, like a user restarting after a crash: the invariant is
that each document is either ready with exactly its chunks, or pending and redone next run.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT, write_pdf

pytestmark = pytest.mark.slow

KILLS = 22

CHECK = r"""
import json, sys
from pathlib import Path
from assistant.core.settings import Settings
from assistant.core.store import VectorStore
from assistant.core.manifest import Manifest
settings = Settings(data_dir=Path(sys.argv[1]))
manifest = Manifest(settings.manifest_path)
store = VectorStore(settings, "all-MiniLM-L6-v2", 384)
rows = {r.doc_id: r for r in manifest.all()}
by_doc = {}
for chunk in store.iter_chunks():
    by_doc.setdefault(chunk.metadata["doc_id"], []).append(chunk.metadata["chunk_index"])
problems = []
for doc_id, row in rows.items():
    got = sorted(by_doc.get(doc_id, []))
    if row.status == "ready" and got != list(range(row.chunks)):
        problems.append(f"ready {row.source} has chunks {len(got)} != {row.chunks}")
for doc_id in by_doc:
    if doc_id not in rows:
        problems.append(f"orphan chunks of {doc_id}")
ready_sources = [r.source for r in rows.values() if r.status == "ready"]
if len(ready_sources) != len(set(ready_sources)):
    problems.append("two ready versions of one file")
print(json.dumps({"problems": problems, "status": sorted(r.status for r in rows.values()), "chunks": store.count()}))
"""


def _corpus(root: Path, version: int) -> None:
    rng = random.Random(version)
    for n in range(8):
        pages = []
        for p in range(6):
            body = " ".join(
                f"Section {p} of document {n} version {version} sets target {rng.randint(1, 999)} "
                f"for service line {i}."
                for i in range(25)
            )
            pages.append(f"{p + 1} Chapter {p + 1}\n{body}")
        if n % 2:
            write_pdf(root / f"doc{n}.pdf", pages, title=f"Doc {n}")
        else:
            (root / f"doc{n}.md").write_text(
                "\n\n<!-- pagebreak -->\n\n".join(pages), encoding="utf-8"
            )


def _ingest_cmd(data: Path, docs: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "assistant.cli",
        "--data-dir",
        str(data),
        "ingest",
        str(docs),
        "--json",
    ]


def _check(data: Path) -> dict:
    proc = subprocess.run(
        [sys.executable, "-c", CHECK, str(data)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout)


def test_sigkill_at_random_moments_never_leaves_partial_or_doubled_documents(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    _corpus(docs, 0)
    env = {**os.environ, "BRIEFING_PARSE_WORKERS": "2", "BRIEFING_EMBEDDING_BATCH_SIZE": "8"}

    started = time.monotonic()
    full = subprocess.run(
        _ingest_cmd(tmp_path / "timing", docs),
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        cwd=ROOT,
    )
    assert full.returncode == 0, full.stderr[-2000:]
    duration = time.monotonic() - started

    data = tmp_path / "data"
    rng = random.Random(7)
    kills_mid_ingest = 0
    for attempt in range(KILLS):
        if attempt % 5 == 4:
            _corpus(docs, attempt)  # edited files: replacements must never mix old and new
        proc = subprocess.Popen(
            _ingest_cmd(data, docs),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            cwd=ROOT,
            start_new_session=True,
        )
        time.sleep(rng.uniform(0.3, duration * 1.1))
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)  # the parser children die too
            kills_mid_ingest += 1
        proc.wait(timeout=60)
        state = _check(data)
        assert state["problems"] == [], f"after kill {attempt}: {state['problems']}"

    final = subprocess.run(
        _ingest_cmd(data, docs), capture_output=True, text=True, env=env, timeout=300, cwd=ROOT
    )
    assert final.returncode == 0, final.stderr[-2000:]
    report = json.loads(final.stdout)
    assert report["documents"]["failed"] == []
    state = _check(data)
    assert state["problems"] == []
    assert state["status"] == ["ready"] * 8
    assert kills_mid_ingest >= KILLS // 2, "too few kills landed while ingest was running"
