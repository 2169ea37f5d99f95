"""A new process's first question: the store opens in a thread while the model loads."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from assistant.core.errors import EmbeddingMismatchError
from assistant.service import build_service


class _Renamed:
    """The real MiniLM under another name: a store built with MiniLM must refuse it."""

    def __init__(self, inner, name: str) -> None:
        self._inner = inner
        self.name = name
        self.dimension = inner.dimension
        self.max_tokens = inner.max_tokens
        self.embedded: list[str] = []

    def embed(self, texts):
        self.embedded += list(texts)
        return self._inner.embed(texts)

    def count_tokens(self, texts):
        return self._inner.count_tokens(texts)


def _wait_for(condition, seconds: float = 60.0) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def test_warm_up_loads_the_model_and_opens_the_store_once(settings, embedder):
    seed = build_service(settings, embeddings=embedder, writer=True)
    vector = embedder.embed(["zebrafish quota"])
    meta = {"doc_id": "d", "chunk_index": 0, "page": 1}
    seed.store.upsert(["d-00000"], ["zebrafish quota"], vector, [meta])
    seed.close()

    model = _Renamed(embedder, embedder.name)
    service = build_service(settings, embeddings=model)
    try:
        service.warm_up()
        assert model.embedded == ["warm-up"]  # the model is loaded before the first question
        assert _wait_for(lambda: service._store is not None), "the store never opened"
        store = service.store
        assert store is service.store  # opened once, by the background thread
        assert [c.id for c in store.query(vector[0], 1)] == ["d-00000"]
    finally:
        service.close()


def test_a_store_that_cannot_open_fails_where_it_is_used(settings, embedder):
    seed = build_service(settings, embeddings=embedder, writer=True)
    seed.store.upsert(
        ["d-00000"], ["text"], np.asarray(embedder.embed(["text"])), [{"doc_id": "d"}]
    )
    seed.close()

    service = build_service(settings, embeddings=_Renamed(embedder, "another-model"))
    try:
        service.warm_up()  # the background thread meets the mismatch and keeps quiet
        assert _wait_for(
            lambda: not any(t.name == "briefing-open-store" for t in threading.enumerate())
        )
        with pytest.raises(EmbeddingMismatchError, match="another-model"):
            service.store  # noqa: B018
    finally:
        service.close()
