"""Embedding precision: int8 vectors against fp32 on real chunks, and stores never mixing the two.

Real MiniLM throughout; the texts are the chunks our chunker makes from the sample corpus.
"""

from __future__ import annotations

import numpy as np
import pytest

from assistant.core.embeddings import (
    cpu_has_bf16,
    make_embeddings,
    model_fingerprint,
    precision_fingerprint,
    resolve_precision,
)
from assistant.core.errors import ConfigError
from assistant.core.settings import Settings
from assistant.service import build_service
from ingest.chunking import Chunker, split_document
from ingest.loaders import Limits, load_file
from tests.conftest import CORPUS

KESTREL = CORPUS / "master_plan" / "kestrel-digital-services-strategy-2026-2028.md"


@pytest.fixture(scope="module")
def fp32():
    return make_embeddings(Settings(embedding_precision="fp32"))


@pytest.fixture(scope="module")
def int8():
    return make_embeddings(Settings(embedding_precision="int8"))


@pytest.fixture(scope="module")
def chunks(fp32):
    chunker = Chunker(fp32.count_tokens, 200, 32)
    texts: list[str] = []
    for path in sorted(CORPUS.rglob("*.pdf")) + sorted(CORPUS.rglob("*.md")):
        doc = load_file(path, Limits(500, 200_000))
        texts += [c.embed_text for c in split_document(chunker, doc.pages)[0]]
    assert len(texts) >= 40
    return texts[:: max(1, len(texts) // 60)][:60]


def test_int8_vectors_stay_close_to_fp32_on_real_chunks(fp32, int8, chunks):
    a, b = fp32.embed(chunks), int8.embed(chunks)
    assert a.shape == b.shape == (len(chunks), 384) and b.dtype == np.float32
    assert np.allclose(np.linalg.norm(b, axis=1), 1.0, atol=1e-4)
    cosine = (a * b).sum(axis=1)
    assert cosine.mean() > 0.98, cosine.mean()
    assert cosine.min() > 0.95, cosine.min()
    assert not np.allclose(a, b, atol=1e-3)  # int8 really ran: its vectors are not fp32's


def test_int8_keeps_the_nearest_chunk_of_each_query(fp32, int8, chunks):
    queries = [c.split(".")[0][:120] for c in chunks[:20]]
    top = {
        name: (e.embed(queries) @ e.embed(chunks).T).argmax(axis=1)
        for name, e in (("fp32", fp32), ("int8", int8))
    }
    assert (top["fp32"] == top["int8"]).mean() >= 0.9


def test_only_int8_changes_the_fingerprint(fp32, int8):
    files = model_fingerprint(fp32.path)
    assert fp32.fingerprint == files == precision_fingerprint(files, "bf16")
    assert int8.fingerprint == precision_fingerprint(files, "int8") != files


def test_precision_is_validated_and_auto_never_picks_int8(monkeypatch):
    with pytest.raises(ConfigError, match="int8"):
        resolve_precision("int4")
    assert resolve_precision("auto") in ("fp32", "bf16")
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX512_CORE_BF16")  # AMX switched off
    assert not cpu_has_bf16() and resolve_precision("auto") == "fp32"


def test_an_int8_store_answers_int8_queries(tmp_path, int8):
    settings = Settings(data_dir=tmp_path / "data", parse_workers=1)
    service = build_service(settings, embeddings=int8, writer=True)
    try:
        report = service.ingest([KESTREL])
        assert report.chunks_added > 0 and service.store.fingerprint == int8.fingerprint
    finally:
        service.close()
    reader = make_embeddings(Settings(embedding_precision="int8"))
    service = build_service(settings, embeddings=reader)
    try:
        hits = service.retriever.retrieve("digital services strategy priorities")
        assert hits and reader.precision == "int8"
    finally:
        service.close()


def test_an_fp32_store_never_gets_int8_query_vectors(tmp_path, fp32):
    settings = Settings(data_dir=tmp_path / "data", parse_workers=1)
    service = build_service(settings, embeddings=fp32, writer=True)
    try:
        service.ingest([KESTREL])
    finally:
        service.close()
    reader = make_embeddings(Settings(embedding_precision="int8"))
    service = build_service(settings, embeddings=reader)
    try:
        service.warm_up()  # the store opens in a thread while the int8 model loads
        answer = service.ask("When do all Kestrel services go live?")
        # the embedder went back to the store's precision before any query was embedded
        assert reader.precision in ("fp32", "bf16")
        assert reader.fingerprint == service.store.fingerprint == fp32.fingerprint
        assert answer.answered and "2027" in answer.text
    finally:
        service.close()


def test_adopting_a_stores_fingerprint_switches_precision(fp32, chunks):
    reader = make_embeddings(Settings(embedding_precision="int8"))
    reader.embed(["loads the quantised model"])
    assert reader.adopt_fingerprint(fp32.fingerprint)
    assert reader.precision in ("fp32", "bf16") and reader.fingerprint == fp32.fingerprint
    cosine = (reader.embed(chunks[:10]) * fp32.embed(chunks[:10])).sum(axis=1)
    assert cosine.min() > 0.999  # the quantised model was dropped, not reused
    assert not reader.adopt_fingerprint("0" * 64)  # another model: nothing to adopt
    assert reader.adopt_fingerprint(precision_fingerprint(model_fingerprint(reader.path), "int8"))
    assert reader.precision == "int8"
