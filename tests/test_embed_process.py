"""The embedding model in a child process (``briefing ask``): real MiniLM on both sides."""

from __future__ import annotations

import time

import numpy as np

from assistant.core.embed_process import start
from assistant.core.embeddings import make_embeddings
from assistant.core.settings import Settings

TEXTS = ["What is the total budget of the plan?", "The launch date has been fixed by Cabinet."]


def test_the_child_gives_the_same_vectors_as_this_process(embedder):
    child = start(Settings())
    try:
        assert (child.name, child.dimension) == (embedder.name, embedder.dimension)
        assert child.fingerprint == embedder.fingerprint
        np.testing.assert_allclose(child.embed(TEXTS), embedder.embed(TEXTS), atol=1e-6)
        assert child.embed([]).shape == (0, embedder.dimension)
        assert child.count_tokens(TEXTS) == embedder.count_tokens(TEXTS)
        # the child served them: it is alive, and no model was loaded in this process
        assert child._child is not None and child._child.poll() is None
        assert child.local._model is None
    finally:
        child.close()


def test_a_dead_child_is_replaced_by_the_model_in_this_process(embedder):
    child = start(Settings())
    try:
        first = child.embed(TEXTS)
        process = child._child
        assert process is not None
        process.kill()
        process.wait(timeout=30)
        np.testing.assert_allclose(child.embed(TEXTS), first, atol=1e-6)  # loaded here now
        assert child._child is None
    finally:
        child.close()


def test_close_ends_the_child():
    child = start(Settings())
    process = child._child
    assert process is not None
    child.embed(["warm-up"])
    child.close()
    assert child._child is None
    deadline = time.monotonic() + 60
    while process.returncode is None and time.monotonic() < deadline:
        time.sleep(0.1)  # reaped by close()'s background thread, not by this test: no zombie
    assert process.returncode == 0


def test_the_child_follows_the_precision_the_store_was_built_with():
    child = start(Settings(embedding_precision="fp32"))
    int8 = make_embeddings(Settings(embedding_precision="int8"))
    try:
        assert child.adopt_fingerprint(int8.fingerprint)  # what an int8-built collection records
        assert child.local.precision == "int8"
        np.testing.assert_allclose(child.embed(TEXTS), int8.embed(TEXTS), atol=1e-5)
        assert child._child is not None and child.local._model is None  # served by the child
    finally:
        child.close()
