"""Grounded answers: condense the follow-up, retrieve, answer, check every citation.

The extractive answerer is the default and the fallback: if an LLM backend fails, times out or
repeats an instruction planted in a document, the user gets the extractive answer with a
one-line notice, never an error page.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from assistant.answer.backends import DeadlineChatModel
from assistant.answer.citations import check
from assistant.answer.conversation import condense_deterministic, render_history, trim_history
from assistant.answer.extractive import ExtractiveAnswerer
from assistant.answer.questions import part_query, split_question
from assistant.answer.retrieval import Retriever
from assistant.core.errors import BriefingError
from assistant.core.guard import fold, instruction_spans, leaked
from assistant.core.models import (
    Answer,
    AnswerEvent,
    Citation,
    Event,
    Message,
    Passage,
    TokenEvent,
)
from assistant.core.prompts import load_prompt
from assistant.core.settings import Settings
from assistant.core.text import normalise


@dataclass
class Part:
    """One part of a question, retrieved on its own."""

    query: str
    passages: list[Passage] = field(default_factory=list)
    label: str = ""  # the part as the user asked it (the query may add the subject it refers to)


@dataclass
class Plan:
    """A question on its way to an answer: standalone text, parts, and when each step ended."""

    question: str
    standalone: str
    parts: list[Part]
    started: float = 0.0
    condensed: float = field(default_factory=time.perf_counter)
    retrieved: float = 0.0
    deadline: float | None = None  # time.monotonic() by which an LLM answer must be complete

    def number(self) -> None:
        """Number every distinct passage 1..n across the parts, in the order they were found."""
        numbers: dict[str, int] = {}
        for part in self.parts:
            part.passages = [
                p.model_copy(update={"n": numbers.setdefault(p.chunk_id, len(numbers) + 1)})
                for p in part.passages
            ]

    def passages(self) -> list[Passage]:
        """Every part's passages once each, in their numbered order."""
        seen: dict[str, Passage] = {}
        for part in self.parts:
            for p in part.passages:
                seen.setdefault(p.chunk_id, p)
        return sorted(seen.values(), key=lambda p: p.n)


def split_parts(question: str) -> list[Part]:
    """The parts of a question to retrieve separately ("X, and Y?", "compare A with B on Z")."""
    labels = split_question(question)
    return [Part(query=part_query(label, labels[0]), label=label) for label in labels]


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
        self.extractive.page_text = retriever.manifest.page_text  # to find running headers
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

    def condense(
        self, question: str, history: Sequence[Message], deadline: float | None = None
    ) -> str:
        if not history:
            return question
        if self.chat_model is not None:
            try:
                spec = load_prompt("condense")
                messages = spec.to_template().format_messages(
                    history=render_history(history), question=question
                )
                rewritten = str(self._invoke(messages, deadline)).strip().splitlines()
                if rewritten and 3 <= len(rewritten[0]) <= 400:
                    return rewritten[0]
            except Exception:  # a failing model must not stop the question
                pass
        return condense_deterministic(question, history)

    def prepare(self, question: str, history: Sequence[Message] = ()) -> Plan:
        """Check the question, make a follow-up standalone, and cut it into parts to retrieve."""
        started = time.perf_counter()
        # one budget for the whole answer: condensing, retries and a trickling stream included
        deadline = time.monotonic() + self.settings.llm_timeout_s
        question = self.clean_question(question)
        history = trim_history(history, self.settings.history_tokens)
        standalone = self.condense(question, history, deadline)
        parts = split_parts(standalone)
        return Plan(question, standalone, parts, started=started, deadline=deadline)

    def write(self, plan: Plan, config: Any = None) -> Iterator[Event]:
        """Write the answer from the retrieved parts: the LLM if configured, else extractive."""
        question, standalone = plan.question, plan.standalone
        passages = plan.passages()
        retrieved_at = plan.retrieved or time.perf_counter()
        index = self.retriever.lexical_index()
        notices: list[str] = []
        flagged: list[str] = []
        answer: Answer | None = None
        if self.chat_model is not None and passages:
            tokens: list[str] = []
            try:
                pieces = self._stream_llm(_llm_question(plan), passages, config, plan.deadline)
                for piece in pieces:
                    tokens.append(piece)
                    yield TokenEvent(text=piece)
                raw = "".join(tokens)
                bad = leaked(raw, [p.text for p in passages], question)
                unsafe = _unsafe_output(raw, passages)
                if unsafe:
                    notices.append(f"{unsafe}; showing the extractive answer instead.")
                elif bad:
                    notices.append(
                        "The model repeated an instruction found inside a document; showing the "
                        "extractive answer instead."
                    )
                else:
                    answer = self._llm_answer(question, standalone, raw, passages)
                    if answer.answered is False and not _declines(raw):
                        removed = len(answer.flagged_citations)
                        why = (
                            f"kept no supported citation ({removed} removed)"
                            if removed
                            else ("cited no source")
                        )
                        notices.append(
                            f"The {self.backend} model's answer {why}, so it is not shown; "
                            "showing the extractive answer."
                        )
                        flagged = answer.flagged_citations
                        answer = None
            except Exception as exc:  # timeouts, refused connections, server errors
                notices.append(
                    f"The {self.backend} backend did not answer ({_reason(exc)}); showing the "
                    f"extractive answer instead."
                )
        if answer is None:
            answer = self._extractive(plan, passages, index)
            answer.flagged_citations = flagged
            if self.chat_model is None:
                yield TokenEvent(text=answer.text)
        answer.notices = notices + answer.notices
        done = time.perf_counter()
        answer.timings = {
            "condense_ms": (plan.condensed - plan.started) * 1000,
            "retrieval_ms": (retrieved_at - plan.condensed) * 1000,
            "answer_ms": (done - retrieved_at) * 1000,
            "total_ms": (done - plan.started) * 1000,
        }
        yield AnswerEvent(answer=answer)

    def _extractive(self, plan: Plan, passages: list[Passage], index: Any) -> Answer:
        words = self.settings.answer_words
        if len(plan.parts) > 1:
            parts = [(p.label or p.query, p.query, p.passages) for p in plan.parts]
            brief = self.extractive.brief_parts(parts, index, words)
        else:
            brief = self.extractive.brief(plan.standalone, passages, index, words)
        text, answered, quotes = brief.text, brief.answered, brief.quotes
        return Answer(
            question=plan.question,
            standalone_question=plan.standalone,
            text=text,
            answered=answered,
            citations=_unique([_citation(p, quote) for p, quote in quotes]),
            passages=passages,
            backend="extractive",
        )

    # -- the LLM path ----------------------------------------------------------------------
    def _stream_llm(
        self,
        question: str,
        passages: list[Passage],
        config: Any = None,
        deadline: float | None = None,
    ) -> Iterator[str]:
        spec = load_prompt("answer")
        budget = max(self.settings.llm_context_tokens - self.settings.llm_max_tokens - 400, 256) * 3
        messages = spec.to_template().format_messages(
            sources=format_sources(passages, budget), question=question
        )
        assert self.chat_model is not None
        deadline = deadline or time.monotonic() + self.settings.llm_timeout_s
        extra = {"deadline": deadline} if isinstance(self.chat_model, DeadlineChatModel) else {}
        for chunk in self.chat_model.stream(messages, config, **extra):
            if time.monotonic() > deadline:
                raise TimeoutError(f"no complete answer within {self.settings.llm_timeout_s:g} s")
            text = getattr(chunk, "content", chunk)
            if text:
                yield str(text)

    def _invoke(self, messages: list[Any], deadline: float | None = None) -> str:
        assert self.chat_model is not None
        extra = {"deadline": deadline} if isinstance(self.chat_model, DeadlineChatModel) else {}
        result = self.chat_model.invoke(messages, **extra)
        return str(getattr(result, "content", result))

    def _llm_answer(
        self, question: str, standalone: str, raw: str, passages: list[Passage]
    ) -> Answer:
        checked = check(raw, passages, claims=True)
        answered = bool(checked.citations) and not _declines(raw)
        notices = []
        if checked.flagged:
            notices.append(
                f"{len(checked.flagged)} unsupported citation(s) or claim(s) were removed."
            )
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


def _unsafe_output(raw: str, passages: list[Passage]) -> str:
    """Why a model's answer must not be shown (it repeats the system prompt or an instruction)."""
    said = fold(raw).lower()
    system = fold(load_prompt("answer").system).lower()
    words = system.split()
    if any(" ".join(words[i : i + 12]) in said for i in range(0, max(len(words) - 11, 0), 4)):
        return "The model repeated its instructions"
    for p in passages:
        for start, end in instruction_spans(p.text):
            planted = fold(p.text[start:end]).lower().split()
            if any(
                " ".join(planted[i : i + 8]) in said for i in range(0, max(len(planted) - 7, 0))
            ):
                return "The model repeated an instruction found inside a document"
    return ""


def _llm_question(plan: Plan) -> str:
    """The question for the model; a multi-part question lists its parts to answer in turn."""
    if len(plan.parts) < 2:
        return plan.standalone
    listed = "\n".join(f"{i}. {part.label or part.query}" for i, part in enumerate(plan.parts, 1))
    return f"{plan.standalone}\n\nAnswer each part under its own heading:\n{listed}"


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
