"""Grounded answers: condense the follow-up, retrieve, answer, check every citation.

The extractive answerer is the default and the fallback: if an LLM backend fails, times out or
repeats an instruction planted in a document, the user gets the extractive answer with a
one-line notice, never an error page.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from typing import Any

from assistant.answer.citations import check
from assistant.answer.conversation import condense_deterministic, render_history, trim_history
from assistant.answer.extractive import ExtractiveAnswerer
from assistant.answer.retrieval import Mode, Retriever
from assistant.core.errors import BriefingError
from assistant.core.guard import leaked
from assistant.core.models import (
    Answer,
    AnswerEvent,
    Citation,
    Event,
    Filters,
    Message,
    Passage,
    TokenEvent,
)
from assistant.core.prompts import load_prompt
from assistant.core.settings import Settings
from assistant.core.text import normalise


class QuestionError(BriefingError):
    """The question is empty or too long."""


def format_sources(passages: Sequence[Passage], budget_chars: int) -> str:
    """Numbered, delimited source blocks, trimmed to a character budget."""
    blocks: list[str] = []
    used = 0
    for p in passages:
        head = f"[{p.n}] {p.title} — page {p.page}" + (f" — {p.section}" if p.section else "")
        block = f"{head}\n{p.text.strip()}"
        if used + len(block) > budget_chars and blocks:
            break
        blocks.append(block[: max(budget_chars - used, 200)])
        used += len(block)
    return "\n\n".join(blocks)


class ChatEngine:
    """Answers questions over the store for any front end."""

    def __init__(
        self,
        settings: Settings,
        retriever: Retriever,
        extractive: ExtractiveAnswerer,
        chat_model: Any | None = None,
    ) -> None:
        self.settings = settings
        self.retriever = retriever
        self.extractive = extractive
        self.chat_model = chat_model
        self.backend = settings.answer_backend if chat_model is not None else "extractive"

    def clean_question(self, question: str) -> str:
        if len(question) > self.settings.max_question_chars:
            raise QuestionError(
                f"the question is {len(question):,} characters; the limit is "
                f"{self.settings.max_question_chars:,}"
            )
        text = normalise(question).replace("\n", " ")
        if not text:
            raise QuestionError("ask a question: the text is empty")
        return text

    def condense(self, question: str, history: Sequence[Message]) -> str:
        if not history:
            return question
        if self.chat_model is not None:
            try:
                spec = load_prompt("condense")
                messages = spec.to_template().format_messages(
                    history=render_history(history), question=question
                )
                rewritten = str(self._invoke(messages)).strip().splitlines()
                if rewritten and 3 <= len(rewritten[0]) <= 400:
                    return rewritten[0]
            except Exception:  # a failing model must not stop the question
                pass
        return condense_deterministic(question, history)

    def ask(
        self,
        question: str,
        history: Sequence[Message] = (),
        filters: Filters | None = None,
        mode: Mode = "hybrid",
    ) -> Answer:
        answer = None
        for event in self.stream(question, history, filters, mode):
            if isinstance(event, AnswerEvent):
                answer = event.answer
        assert answer is not None
        return answer

    def stream(
        self,
        question: str,
        history: Sequence[Message] = (),
        filters: Filters | None = None,
        mode: Mode = "hybrid",
    ) -> Iterator[Event]:
        """Yield ``TokenEvent``s while the answer is written, then one ``AnswerEvent``."""
        started = time.perf_counter()
        question = self.clean_question(question)
        history = trim_history(history, self.settings.history_tokens)
        standalone = self.condense(question, history)
        condensed_at = time.perf_counter()
        passages = self.retriever.retrieve(standalone, filters, mode=mode)
        retrieved_at = time.perf_counter()
        index = self.retriever.lexical_index()
        notices: list[str] = []
        answer: Answer | None = None
        if self.chat_model is not None and passages:
            tokens: list[str] = []
            try:
                for piece in self._stream_llm(standalone, passages):
                    tokens.append(piece)
                    yield TokenEvent(text=piece)
                raw = "".join(tokens)
                bad = leaked(raw, [p.text for p in passages], question)
                if bad:
                    notices.append(
                        "The model repeated an instruction found inside a document; showing the "
                        "extractive answer instead."
                    )
                else:
                    answer = self._llm_answer(question, standalone, raw, passages)
                    if answer.answered is False and not _declines(raw):
                        notices.append(
                            f"The {self.backend} model's answer cited no source, so it is not "
                            f"shown; showing the extractive answer."
                        )
                        answer = None
            except Exception as exc:  # timeouts, refused connections, server errors
                notices.append(
                    f"The {self.backend} backend did not answer ({_reason(exc)}); showing the "
                    f"extractive answer instead."
                )
        if answer is None:
            text, answered, quotes = self.extractive.answer(standalone, passages, index)
            citations = [_citation(p, quote) for p, quote in quotes]
            answer = Answer(
                question=question,
                standalone_question=standalone,
                text=text,
                answered=answered,
                citations=_unique(citations),
                passages=passages,
                backend="extractive",
            )
            if self.chat_model is None:
                yield TokenEvent(text=text)
        answer.notices = notices + answer.notices
        done = time.perf_counter()
        answer.timings = {
            "condense_ms": (condensed_at - started) * 1000,
            "retrieval_ms": (retrieved_at - condensed_at) * 1000,
            "answer_ms": (done - retrieved_at) * 1000,
            "total_ms": (done - started) * 1000,
        }
        yield AnswerEvent(answer=answer)

    # -- the LLM path ----------------------------------------------------------------------
    def _stream_llm(self, question: str, passages: list[Passage]) -> Iterator[str]:
        spec = load_prompt("answer")
        budget = max(self.settings.llm_context_tokens - self.settings.llm_max_tokens - 400, 256) * 3
        messages = spec.to_template().format_messages(
            sources=format_sources(passages, budget), question=question
        )
        assert self.chat_model is not None
        deadline = time.monotonic() + self.settings.llm_timeout_s
        for chunk in self.chat_model.stream(messages):
            if time.monotonic() > deadline:
                raise TimeoutError(f"no complete answer within {self.settings.llm_timeout_s:g} s")
            text = getattr(chunk, "content", chunk)
            if text:
                yield str(text)

    def _invoke(self, messages: list[Any]) -> str:
        assert self.chat_model is not None
        result = self.chat_model.invoke(messages)
        return str(getattr(result, "content", result))

    def _llm_answer(
        self, question: str, standalone: str, raw: str, passages: list[Passage]
    ) -> Answer:
        checked = check(raw, passages)
        answered = bool(checked.citations) and not _declines(raw)
        notices = []
        if checked.flagged:
            notices.append(f"{len(checked.flagged)} unsupported citation(s) were removed.")
        return Answer(
            question=question,
            standalone_question=standalone,
            text=checked.text,
            answered=answered,
            citations=checked.citations,
            passages=passages,
            backend=self.backend,
            notices=notices,
            flagged_citations=checked.flagged,
        )


def _declines(text: str) -> bool:
    low = text.lower()
    return "do not answer" in low or "not answer this" in low or "don't answer" in low


def _citation(passage: Passage, quote: str) -> Citation:
    return Citation(
        n=passage.n,
        doc_id=passage.doc_id,
        title=passage.title,
        source=passage.source,
        page=passage.page,
        section=passage.section,
        quote=quote,
        score=passage.score,
    )


def _unique(citations: list[Citation]) -> list[Citation]:
    seen: dict[int, Citation] = {}
    for c in citations:
        seen.setdefault(c.n, c)
    return sorted(seen.values(), key=lambda c: c.n)


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:160]
