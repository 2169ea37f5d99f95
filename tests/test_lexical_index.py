"""The on-disk lexical index: deltas, masks, merges, kill -9, and migration of an old data dir.

The index's own tests use the real tokenizer, segments and files on tmp_path, with chunks from
a generated corpus (the fetch a store would do); the service tests use real Chroma and MiniLM.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from assistant.answer import lexical_merge, lexical_store
from assistant.answer.lexical import LexicalView
from assistant.answer.lexical_segment import IndexedChunk, build_segment
from assistant.answer.lexical_store import LexicalStore
from assistant.core.text import tokenize
from tests.conftest import ROOT

WORDS = [f"term{i}" for i in range(400)] + ["budget", "customs", "e-customs", "412.8", "tariff"]
QUERIES = ["term1 term2 budget", "e-customs tariff", "term7 term7 term300", "412.8", "term399"]


def corpus(n_docs: int = 40, seed: int = 7) -> dict[str, list[IndexedChunk]]:
    """Documents of 1–15 chunks of Zipf-ish words, each with one word of its own (its id)."""
    rng = random.Random(seed)
    weights = [1 / (r + 1) for r in range(len(WORDS))]
    docs = {}
    for d in range(n_docs):
        doc_id = f"doc{d:03d}"
        docs[doc_id] = [
            IndexedChunk(
                f"{doc_id}-{i:05d}",
                doc_id,
                i,
                tokenize(" ".join(rng.choices(WORDS, weights, k=25)) + f" only{doc_id}"),
            )
            for i in range(rng.randrange(1, 16))
        ]
    return docs


DOCS = corpus()


class Fetch:
    """The store's part: chunks of the asked documents, counting what was asked."""

    def __init__(self, docs: dict[str, list[IndexedChunk]] = DOCS) -> None:
        self.docs, self.asked = docs, []

    def __call__(self, doc_ids: list[str]) -> list[IndexedChunk]:
        self.asked.extend(doc_ids)
        return [c for d in doc_ids for c in self.docs[d]]


def ranked(view: LexicalView, query: str) -> list[tuple[str, float]]:
    return [(h.chunk_id, round(h.score, 4)) for h in view.search(query, 20)]


def assert_like_fresh(view: LexicalView, ready: set[str]) -> None:
    """Same hits and scores as one segment built from scratch over the ready documents."""
    assert view.live.keys() == ready
    fresh = LexicalView([(build_segment("fresh", [c for d in ready for c in DOCS[d]]), ())])
    assert len(view) == len(fresh)
    for query in QUERIES + [f"only{d}" for d in sorted(ready)[:5]]:
        assert ranked(view, query) == ranked(fresh, query), query
    assert view.idf("budget") == pytest.approx(fresh.idf("budget"))


def test_delta_and_mask_score_exactly_as_a_fresh_build(tmp_path):
    store = LexicalStore(tmp_path / "lexical", Fetch(), merge_ratio=1.0)
    ready = set(list(DOCS)[:30])
    store.sync(ready)
    ready = (ready - {"doc003", "doc011"}) | {"doc030", "doc031"}
    report = store.sync(ready)
    assert (report.added, report.masked, report.persisted) == (2, 2, True)
    assert len(store.view.parts) == 2
    assert_like_fresh(store.view, ready)
    assert store.view.search("onlydoc003", 5) == []
    assert [h.doc_id for h in store.view.search("onlydoc030", 5)] == ["doc030"] * min(
        5, len(DOCS["doc030"])
    )


def test_filters_and_neighbours_come_from_the_index(tmp_path):
    store = LexicalStore(tmp_path / "lexical", Fetch())
    store.sync(set(DOCS))
    hits = store.view.search("term1 budget", 30, documents={"doc005", "doc006"})
    assert hits and {h.doc_id for h in hits} <= {"doc005", "doc006"}
    assert store.view.search("term1", 30, documents=set()) == []
    chunks = DOCS["doc005"]
    if len(chunks) > 1:
        assert store.view.neighbour("doc005", 1) == chunks[1].chunk_id
    assert store.view.neighbour("doc005", len(chunks)) is None
    assert store.view.count("doc005") == len(chunks)


def test_a_new_process_opens_the_saved_index_without_reading_the_store(tmp_path):
    ready = set(list(DOCS)[:35])
    LexicalStore(tmp_path / "lexical", Fetch()).sync(ready)
    fetch = Fetch()
    reopened = LexicalStore(tmp_path / "lexical", fetch)
    assert reopened.view.live.keys() == ready
    assert reopened.sync(ready).added == 0
    assert fetch.asked == []
    assert_like_fresh(reopened.view, ready)


def test_only_missing_documents_are_fetched_and_a_readded_one_counts_once(tmp_path):
    fetch = Fetch()
    store = LexicalStore(tmp_path / "lexical", fetch, merge_ratio=1.0)
    store.sync(set(list(DOCS)[:20]))
    fetch.asked.clear()
    store.sync(set(list(DOCS)[:21]))
    assert fetch.asked == ["doc020"]
    ready = set(list(DOCS)[:21]) - {"doc004"}
    store.sync(ready)
    store.sync(ready | {"doc004"})  # removed, then ingested again: a delta holds it, once
    assert_like_fresh(store.view, ready | {"doc004"})
    assert store.status(ready | {"doc004"})["healthy"]


def test_status_survives_a_folder_removed_while_it_is_walked(tmp_path, monkeypatch):
    """A merge may remove a segment or temp folder between listing it and reading it."""
    store = LexicalStore(tmp_path / "lexical", Fetch())
    ready = set(list(DOCS)[:10])
    store.sync(ready)
    doomed = tmp_path / "lexical" / "tmp-merging"
    doomed.mkdir()
    (doomed / "postings.bin").write_bytes(b"x" * 64)
    real_scandir = os.scandir

    def scandir_after_a_merge(path="."):
        # the merge finishes between listing the folder and reading it
        if isinstance(path, str | os.PathLike) and Path(path) == doomed:
            shutil.rmtree(doomed)
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir_after_a_merge)
    status = store.status(ready)
    assert not doomed.exists() and status["healthy"] and status["bytes"] > 0


def test_background_merge_keeps_answers_and_drops_the_old_segments(tmp_path):
    root = tmp_path / "lexical"
    store = LexicalStore(root, Fetch(), merge_ratio=0.5)
    ready = set(list(DOCS)[:20])
    store.sync(ready)
    ready = (ready - {"doc001"}) | {"doc020"}
    store.sync(ready)
    assert not store.needs_merge()
    store.merge_ratio = 0.01
    thread = store.maybe_merge()
    assert thread is not None
    thread.join(30)
    assert len(store.view.parts) == 1 and not store.view.parts[0][1]
    assert_like_fresh(store.view, ready)
    named = {e["name"] for e in json.loads((root / "state.json").read_text())["segments"]}
    assert {p.name for p in root.iterdir() if p.is_dir()} == named
    assert_like_fresh(LexicalStore(root, Fetch()).view, ready)


def test_a_question_never_waits_for_a_merge_and_changes_during_it_survive(tmp_path, monkeypatch):
    store = LexicalStore(tmp_path / "lexical", Fetch(), merge_ratio=1.0)
    ready = set(list(DOCS)[:25])
    store.sync(ready)
    store.sync(ready | {"doc025"})
    started, release = threading.Event(), threading.Event()
    real = lexical_merge.merge_segments

    def slow_merge(*args, **kwargs):
        started.set()
        release.wait(30)
        return real(*args, **kwargs)

    monkeypatch.setattr("assistant.answer.lexical_store.merge_segments", slow_merge)
    merging = threading.Thread(target=store.merge)
    merging.start()
    assert started.wait(30)
    ready = (ready | {"doc025", "doc026"}) - {"doc002"}
    t0 = time.perf_counter()
    store.sync(ready)  # while the merge builds: not blocked by it
    store.view.search("term1", 10)
    assert time.perf_counter() - t0 < 5
    release.set()
    merging.join(30)
    assert_like_fresh(store.view, ready)
    assert len(store.view.parts) == 2  # the merged base and the delta written meanwhile


def test_a_merge_whose_folder_a_collector_emptied_is_not_named(tmp_path, monkeypatch):
    # A collector in another thread or process (orphan age 0 here) may empty a merge's temporary
    # folder while it is written; the rename still succeeds, with files missing.
    root = tmp_path / "lexical"
    store = LexicalStore(root, Fetch(), merge_ratio=1.0)
    ready = set(list(DOCS)[:10])
    store.sync(ready)
    store.sync(ready | {"doc010"})
    before = json.loads((root / "state.json").read_text())
    real = lexical_store.write_segment

    def collected_meanwhile(where, seg):
        final = real(where, seg)
        (final / "terms.npy").unlink()
        return final

    monkeypatch.setattr(lexical_store, "write_segment", collected_meanwhile)
    assert store.merge() is False
    assert json.loads((root / "state.json").read_text()) == before
    fresh = LexicalStore(root, Fetch())
    assert_like_fresh(fresh.view, ready | {"doc010"})
    assert fresh.broken == ""
    assert {p.name for p in root.iterdir() if p.is_dir()} == {e["name"] for e in before["segments"]}


def test_a_broken_index_is_noticed_and_rebuilt(tmp_path):
    root = tmp_path / "lexical"
    ready = set(list(DOCS)[:10])
    LexicalStore(root, Fetch()).sync(ready)
    segment = next(p for p in root.iterdir() if p.is_dir())
    (segment / "meta.json").write_text("{not json")
    store = LexicalStore(root, Fetch())
    assert store.view.live == {} and store.broken
    assert not store.status(ready)["healthy"]
    store.sync(ready)
    assert store.broken == "" and store.status(ready)["healthy"]
    assert_like_fresh(store.view, ready)
    (root / "state.json").write_text(json.dumps({"format": 999}))
    assert not LexicalStore(root, Fetch()).status(ready)["healthy"]
    store.rebuild(ready)
    assert_like_fresh(LexicalStore(root, Fetch()).view, ready)


def test_a_data_dir_that_cannot_be_written_still_answers_correctly(tmp_path, monkeypatch):
    from contextlib import contextmanager

    @contextmanager
    def read_only(*_args):
        raise PermissionError(13, "Read-only file system")
        yield  # pragma: no cover

    ready = set(list(DOCS)[:12])
    LexicalStore(tmp_path / "lexical", Fetch()).sync(ready)
    monkeypatch.setattr("assistant.answer.lexical_state.writer_lock", read_only)
    store = LexicalStore(tmp_path / "lexical", Fetch())
    ready = (ready - {"doc000"}) | {"doc012"}
    assert store.sync(ready).persisted is False
    assert_like_fresh(store.view, ready)


CHURN = textwrap.dedent(
    """
    import random, sys
    from pathlib import Path
    from assistant.answer.lexical_store import LexicalStore
    from tests.test_lexical_index import DOCS, Fetch
    store = LexicalStore(Path(sys.argv[1]), Fetch(), merge_ratio=0.0, orphan_age_s=0.0)
    rng = random.Random(int(sys.argv[2]))
    names = sorted(DOCS)
    ready = set(names[:20])
    while True:
        ready ^= set(rng.sample(names, 3))
        store.sync(ready)
        store.merge()
    """
)


def _stamp(root: Path) -> int | None:
    try:
        return (root / "state.json").stat().st_mtime_ns
    except FileNotFoundError:
        return None


@pytest.mark.slow
def test_kill_9_during_sync_and_merge_leaves_a_consistent_index(tmp_path):
    root = tmp_path / "lexical"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    rng = random.Random(3)
    for kill in range(8):
        before = _stamp(root)
        child = subprocess.Popen([sys.executable, "-c", CHURN, str(root), str(kill)], env=env)
        deadline = time.monotonic() + 120
        while _stamp(root) == before and time.monotonic() < deadline:  # the child is writing
            time.sleep(0.02)
        time.sleep(rng.uniform(0.0, 1.0))
        child.send_signal(signal.SIGKILL)
        child.wait()
        store = LexicalStore(root, Fetch(), orphan_age_s=0.0)
        assert store.view is not None  # opens the files the kill left
        assert store.broken == "", store.broken
        state = json.loads((root / "state.json").read_text())
        for entry in state["segments"]:
            assert (root / entry["name"] / "meta.json").is_file()
        ready = set(rng.sample(sorted(DOCS), 25))
        store.sync(ready)
        assert_like_fresh(store.view, ready)
        store.wait_for_merge(60)
    store.sync(set(DOCS))  # collects what the kills left
    store.wait_for_merge(60)
    named = {e["name"] for e in json.loads((root / "state.json").read_text())["segments"]}
    assert {p.name for p in root.iterdir() if p.is_dir()} == named


# -- through the service: real Chroma, real MiniLM ------------------------------------------------

NOTES = {
    "alpha": "The alphawort registry opens in 2031 under the customs office.",
    "beta": "The betaquill levy funds 412.8 kilometres of rural roads.",
    "gamma": "The gammafern scheme trains 300 border inspectors a year.",
    "delta": "The deltamoss portal publishes tariff decisions within ten days.",
}


def _write_notes(folder: Path, names) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name in names:
        path = folder / f"{name}.md"
        path.write_text(f"# Note {name}\n\n{NOTES[name]}\n", encoding="utf-8")
        paths.append(path)
    return paths


def _lexical_docs(service, word: str) -> set[str]:
    return {p.doc_id for p in service.retriever.retrieve(word, mode="lexical")}


@pytest.mark.slow
def test_ingest_and_remove_update_the_index_without_reading_the_whole_store(
    tmp_path, embedder, monkeypatch
):
    from assistant.core.settings import Settings
    from assistant.service import build_service

    service = build_service(Settings(data_dir=tmp_path / "data"), embeddings=embedder, writer=True)
    try:
        service.ingest(_write_notes(tmp_path / "docs", ["alpha", "beta"]))
        assert (tmp_path / "data" / "lexical" / "state.json").is_file()

        def whole_store(*_args, **_kwargs):
            raise AssertionError("the whole store was read")

        monkeypatch.setattr(type(service.store), "iter_chunks", whole_store)
        [gamma] = _write_notes(tmp_path / "docs", ["gamma"])
        gamma_id = service.ingest([gamma]).doc_ids[0]
        assert _lexical_docs(service, "gammafern") == {gamma_id}
        service.remove(str(tmp_path / "docs" / "alpha.md"))
        assert _lexical_docs(service, "alphawort") == set()
        assert _lexical_docs(service, "betaquill")
        status = service.retriever.lexical_status()
        assert status["healthy"] and status["documents"] == 2 and status["bytes"] > 0
    finally:
        service.close()


@pytest.mark.slow
def test_a_data_dir_without_an_index_is_indexed_once_then_opened(tmp_path, embedder, monkeypatch):
    import shutil

    from assistant.core.settings import Settings
    from assistant.core.store import VectorStore
    from assistant.service import build_service

    settings = Settings(data_dir=tmp_path / "data")
    service = build_service(settings, embeddings=embedder, writer=True)
    service.ingest(_write_notes(tmp_path / "docs", list(NOTES)))
    before = [
        (p.chunk_id, p.lexical_rank) for p in service.retriever.retrieve("tariff customs 412.8")
    ]
    service.close()
    shutil.rmtree(settings.data_dir / "lexical")  # as a data dir from before the index
    migrated = build_service(settings, embeddings=embedder)
    after = [
        (p.chunk_id, p.lexical_rank) for p in migrated.retriever.retrieve("tariff customs 412.8")
    ]
    assert after == before
    assert migrated.retriever.lexical_status()["healthy"]
    migrated.close()

    def no_fetch(*_args):
        raise AssertionError("an indexed data dir read chunks back from the store")

    monkeypatch.setattr(VectorStore, "chunks_of", no_fetch)
    reopened = build_service(settings, embeddings=embedder)
    again = [
        (p.chunk_id, p.lexical_rank) for p in reopened.retriever.retrieve("tariff customs 412.8")
    ]
    assert again == before
    reopened.close()


INGEST_CHURN = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from assistant.core.settings import Settings
    from assistant.service import build_service
    folder = Path(sys.argv[2])
    service = build_service(Settings(data_dir=Path(sys.argv[1])), writer=True)
    while True:
        for path in sorted(folder.glob("*.md")):
            service.ingest([path])
        for path in sorted(folder.glob("*.md")):
            service.remove(str(path))
    """
)


@pytest.mark.slow
def test_kill_9_during_ingest_and_remove_keeps_index_and_manifest_in_step(tmp_path, embedder):
    from assistant.core.settings import Settings
    from assistant.service import build_service

    folder = tmp_path / "docs"
    _write_notes(folder, list(NOTES))
    words = {f"{name}.md": NOTES[name].split()[1] for name in NOTES}
    settings = Settings(data_dir=tmp_path / "data")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}
    rng = random.Random(5)
    for _ in range(4):
        before = _stamp(settings.data_dir / "lexical")
        child = subprocess.Popen(
            [sys.executable, "-c", INGEST_CHURN, str(settings.data_dir), str(folder)], env=env
        )
        deadline = time.monotonic() + 180
        while _stamp(settings.data_dir / "lexical") == before and time.monotonic() < deadline:
            time.sleep(0.05)  # the child has loaded the model and is writing
        time.sleep(rng.uniform(0.0, 2.0))
        child.send_signal(signal.SIGKILL)
        child.wait()
        service = build_service(settings, embeddings=embedder)
        try:
            ready = {r.source: r.doc_id for r in service.manifest.all("ready")}
            assert service.retriever.lexical_index().live.keys() == set(ready.values())
            for path in folder.glob("*.md"):
                expected = {ready[str(path.resolve())]} if str(path.resolve()) in ready else set()
                assert _lexical_docs(service, words[path.name]) == expected, path.name
        finally:
            service.close()
