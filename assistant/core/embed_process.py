"""The embedding model in a child process, for a one-shot ``briefing ask``.

A new process pays for torch and the model (about 5 s) and, apart from that, for chromadb,
LangChain and opening the store (about 1.5 s at 100k chunks). Imports hold the GIL, so a thread
cannot overlap the two; a child process on the other core can. :func:`start` launches the child
first, and it loads the model while this process imports the rest and opens the store; only
texts and their vectors cross the pipe. At exit this process does not wait for torch's teardown
in the child (about a second).

The child speaks pickled ``(verb, argument)`` requests on stdin and answers ``("ok", value)``
or ``("error", message)`` on a private copy of its stdout; the real stdout goes to stderr so
that a library's print cannot corrupt the stream. If the child cannot start or dies, the
embedder loads the model in this process and carries on.
"""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

import numpy as np

from assistant.core.embeddings import SentenceTransformerEmbedder, sentence_transformer
from assistant.core.settings import Settings


class ChildEmbedder:
    """An ``Embedder`` whose model runs in a child process (see the module docstring).

    Name, dimension, window, fingerprint and token counts come from the model's files in this
    process, as :class:`SentenceTransformerEmbedder` gives them without loading torch.
    """

    def __init__(self, local: SentenceTransformerEmbedder) -> None:
        self.local = local
        self.name, self.dimension, self.max_tokens = local.name, local.dimension, local.max_tokens
        self._lock = threading.Lock()
        self._child: subprocess.Popen[bytes] | None = None
        spec = {"path": str(local.path), "name": local.name, "batch_size": local.batch_size,
                "threads": local.threads, "precision": local.precision}  # fmt: skip
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
        try:
            self._child = subprocess.Popen(
                [sys.executable, "-m", "assistant.core.embed_process", json.dumps(spec)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env,
            )  # fmt: skip
        except OSError:
            self._child = None  # loaded here on first use instead

    @property
    def fingerprint(self) -> str:
        return self.local.fingerprint

    def adopt_fingerprint(self, recorded: str) -> bool:
        """As :meth:`SentenceTransformerEmbedder.adopt_fingerprint`; the child follows."""
        before = self.local.precision
        adopted = self.local.adopt_fingerprint(recorded)
        if adopted and self.local.precision != before:
            self._call("adopt", recorded)
        return adopted

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self._call("embed", list(texts))
        return self.local.embed(texts) if vectors is None else np.asarray(vectors)

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return self.local.count_tokens(texts)

    def _call(self, verb: str, argument: Any) -> Any:
        """The child's answer, or None once it is gone (the caller then works in-process)."""
        with self._lock:
            child = self._child
            if child is None or child.stdin is None or child.stdout is None:
                return None
            try:
                pickle.dump((verb, argument), child.stdin)
                child.stdin.flush()
                status, value = pickle.load(child.stdout)
            except (OSError, EOFError, pickle.UnpicklingError):
                self._stop()
                return None
            if status != "ok":
                self._stop()
                return None
            return value

    def _stop(self) -> None:
        child, self._child = self._child, None
        if child is None:
            return
        try:
            if child.stdin is not None:
                child.stdin.close()  # the child exits at end of input, without torch's teardown
        except OSError:
            pass
        # Reaped in the background: no zombie is left, and nobody waits for it.
        threading.Thread(target=_reap, args=(child,), name="briefing-reap", daemon=True).start()

    def close(self) -> None:
        with self._lock:
            self._stop()


def _reap(child: subprocess.Popen[bytes]) -> None:
    try:
        child.wait(timeout=120)
    except subprocess.TimeoutExpired:  # stuck: it holds only a model, so end it
        child.kill()
        child.wait()
    if child.stdout is not None:
        child.stdout.close()


def start(settings: Settings) -> ChildEmbedder:
    """Start loading the configured model in a child process now."""
    return ChildEmbedder(sentence_transformer(settings))


def _serve(spec: dict[str, Any], requests: IO[bytes], replies: IO[bytes]) -> None:
    embedder = SentenceTransformerEmbedder(
        Path(spec["path"]), spec["name"], spec["batch_size"], spec["threads"], spec["precision"]
    )
    failure = ""
    try:
        embedder.embed(["warm-up"])  # load now, while the parent opens the store
    except Exception as exc:  # reported on the first request
        failure = f"{type(exc).__name__}: {exc}"
    while True:
        try:
            verb, argument = pickle.load(requests)
        except (EOFError, OSError):
            return
        try:
            if failure:
                raise RuntimeError(failure)
            if verb == "embed":
                value: Any = embedder.embed(argument)
            elif verb == "adopt":  # the store's precision: reloads on next use
                value = embedder.adopt_fingerprint(argument)
            else:
                raise ValueError(f"unknown request {verb!r}")
            reply: tuple[str, Any] = ("ok", value)
        except Exception as exc:
            reply = ("error", f"{type(exc).__name__}: {exc}")
        pickle.dump(reply, replies)
        replies.flush()


if __name__ == "__main__":
    replies = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # whatever a library prints goes to stderr, not into the replies
    _serve(json.loads(sys.argv[1]), sys.stdin.buffer, replies)
    sys.stderr.flush()
    os._exit(0)  # skip torch's teardown: nothing is left to write
