"""``llm_timeout_s`` is the total for one answer: retries share it, trickles and hangs end at it."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from assistant.answer.backends import DeadlineChatModel, attempt_timeout, make_chat_model
from assistant.core.settings import Settings


class Scripted:
    """A chat model whose attempts follow a script: "hang", "fail", "trickle" or "ok"."""

    def __init__(self, *attempts: str) -> None:
        self.attempts = list(attempts)
        self.calls = 0
        self.release = threading.Event()

    def _next(self) -> str:
        self.calls += 1
        return self.attempts.pop(0) if self.attempts else "ok"

    def stream(self, messages: Any, config: Any = None, **kwargs: Any) -> Any:
        kind = self._next()
        if kind == "hang":
            self.release.wait(30)
        if kind == "fail":
            raise ConnectionError("refused")
        if kind == "trickle":
            while not self.release.is_set():
                yield "tok "
                time.sleep(0.2)
            return
        if kind == "fail-after-token":
            yield "partial "
            raise ConnectionError("dropped")
        yield "done"

    def invoke(self, messages: Any, config: Any = None, **kwargs: Any) -> Any:
        return "".join(self.stream(messages))


def _timed(fn: Any) -> tuple[Any, float]:
    started = time.monotonic()
    try:
        return fn(), time.monotonic() - started
    except Exception as exc:  # noqa: BLE001 - returned for the asserts
        return exc, time.monotonic() - started


@pytest.mark.parametrize("kind", ["hang", "trickle"])
def test_a_hung_or_trickling_stream_ends_at_the_total_budget(kind):
    inner = Scripted(kind, kind)
    model = DeadlineChatModel(inner, timeout_s=1.0, retries=1)
    got, took = _timed(lambda: list(model.stream("q")))
    inner.release.set()
    assert isinstance(got, TimeoutError) and "1 s" in str(got)
    assert 0.9 < took < 1.6


def test_a_hung_invoke_ends_at_the_budget():
    inner = Scripted("hang")
    got, took = _timed(lambda: DeadlineChatModel(inner, 0.8).invoke("q"))
    inner.release.set()
    assert isinstance(got, TimeoutError) and took < 1.4


def test_a_failed_attempt_is_retried_within_the_budget():
    inner = Scripted("fail")
    assert list(DeadlineChatModel(inner, 5, retries=1).stream("q")) == ["done"]
    assert inner.calls == 2
    inner = Scripted("fail", "fail")
    got, _ = _timed(lambda: list(DeadlineChatModel(inner, 5, retries=1).stream("q")))
    assert isinstance(got, ConnectionError) and inner.calls == 2


def test_no_retry_once_tokens_were_shown():
    inner = Scripted("fail-after-token")
    got, _ = _timed(lambda: list(DeadlineChatModel(inner, 5, retries=2).stream("q")))
    assert isinstance(got, ConnectionError) and inner.calls == 1


def test_a_shared_deadline_bounds_several_calls():
    inner = Scripted("trickle")
    model = DeadlineChatModel(inner, timeout_s=30)
    got, took = _timed(lambda: list(model.stream("q", deadline=time.monotonic() + 0.6)))
    inner.release.set()
    assert isinstance(got, TimeoutError) and took < 1.2


def test_clients_get_a_share_of_the_budget_per_attempt():
    settings = Settings(
        answer_backend="openai",
        llm_base_url="http://127.0.0.1:9/v1",
        llm_timeout_s=9,
        llm_max_retries=2,
    )
    model = make_chat_model(settings)
    assert isinstance(model, DeadlineChatModel) and model.timeout_s == 9 and model.retries == 2
    assert attempt_timeout(settings) == 3
    assert model.model.max_retries == 0  # the wrapper retries, within the total
    assert model.model.request_timeout.read == 3
