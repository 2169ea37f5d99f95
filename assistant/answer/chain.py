"""The answer flow as LangChain runnables, so any callback (tracing, logging) sees every step.

``PassageRetriever`` is a ``BaseRetriever``: ``invoke(question)`` gives ``Document``s whose
metadata carries ``doc_id``, ``page``, ``section``, ``title`` and ``source``. ``AnswerChain`` is a
``Runnable`` taking ``{"question": str, "history": [...]}`` (optionally ``"filters"`` and
``"mode"``) and returning the checked ``Answer``; ``stream`` yields ``TokenEvent`` pieces as they
are written and ends with one ``AnswerEvent``. Its steps run as child runs named ``condense``,
``retrieve`` (the retriever), ``write`` and ``check``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from langchain_core.callbacks import CallbackManagerForChainRun, CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables import (
    Runnable,
    RunnableConfig,
    RunnableGenerator,
    RunnableLambda,
    ensure_config,
)
from pydantic import ConfigDict

from assistant.core.errors import BriefingError
from assistant.core.models import AnswerEvent, Event, Filters, Message, Passage

if TYPE_CHECKING:
    from assistant.answer.chat import ChatEngine, Plan
    from assistant.answer.retrieval import Retriever

#: Passage fields carried in a Document's metadata (the text is its page_content).
_META = (
    "n", "chunk_id", "doc_id", "title", "source", "doc_type", "page", "section", "start", "end",
    "score", "dense_rank", "lexical_rank",
)  # fmt: skip


def to_document(passage: Passage) -> Document:
    """A passage as a LangChain ``Document`` (text as content, the rest as metadata)."""
    return Document(page_content=passage.text, metadata={k: getattr(passage, k) for k in _META})


def to_passage(document: Document) -> Passage:
    """The passage a ``Document`` from :func:`to_document` came from."""
    return Passage(text=document.page_content, **{k: document.metadata[k] for k in _META})


class PassageRetriever(BaseRetriever):
    """Hybrid retrieval (dense + lexical, fused; ready documents only) as a LangChain retriever."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    retriever: Any
    filters: Filters | None = None
    mode: str = "hybrid"

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        engine: Retriever = self.retriever
        passages = engine.retrieve(query, self.filters, mode=self.mode)  # type: ignore[arg-type]
        return [to_document(p) for p in passages]


def _history(raw: Any) -> list[Message]:
    if raw is None:
        return []
    if not isinstance(raw, Sequence) or isinstance(raw, str):
        raise BriefingError("history must be a list of {role, content} messages")
    return [m if isinstance(m, Message) else Message.model_validate(m) for m in raw]


def _filters(raw: Any) -> Filters | None:
    if raw is None or isinstance(raw, Filters):
        return raw
    return Filters.model_validate(raw)


class AnswerChain(Runnable[dict[str, Any], Any]):
    """Question (and history) in, checked ``Answer`` out; a LangChain ``Runnable``."""

    name = "briefing_answer"

    def __init__(self, engine: ChatEngine) -> None:
        self.engine = engine

    def invoke(
        self, input: dict[str, Any], config: RunnableConfig | None = None, **kwargs: Any
    ) -> Any:
        answer = None
        for event in self.stream(input, config, **kwargs):
            if isinstance(event, AnswerEvent):
                answer = event.answer
        if answer is None:  # pragma: no cover - stream always ends with an answer
            raise BriefingError("the answer chain ended without an answer")
        return answer

    def stream(
        self, input: dict[str, Any], config: RunnableConfig | None = None, **kwargs: Any
    ) -> Iterator[Event]:
        yield from self._transform_stream_with_config(iter([input]), self._run, config)

    def _run(
        self,
        inputs: Iterator[dict[str, Any]],
        run_manager: CallbackManagerForChainRun,
        config: RunnableConfig,
    ) -> Iterator[Event]:
        for raw in inputs:
            if not isinstance(raw, dict) or not isinstance(raw.get("question"), str):
                raise BriefingError('the chain takes {"question": str, "history": [...]}')
            yield from self._answer(raw, config)

    def _answer(self, raw: dict[str, Any], config: RunnableConfig) -> Iterator[Event]:
        engine = self.engine
        history = _history(raw.get("history"))
        filters = _filters(raw.get("filters"))
        mode = raw.get("mode", "hybrid")
        condense: RunnableLambda[str, Plan] = RunnableLambda(
            lambda q: engine.prepare(q, history), name="condense"
        )
        plan: Plan = condense.invoke(raw["question"], config)
        retriever = PassageRetriever(retriever=engine.retriever, filters=filters, mode=mode)
        for part in plan.parts:
            documents = retriever.invoke(part.query, {**config, "run_name": "retrieve"})
            part.passages = [to_passage(d) for d in documents]
        plan.number()
        plan.retrieved = time.perf_counter()

        def write(inputs: Iterator[Plan]) -> Iterator[Event]:
            for item in inputs:  # the model's calls run as children of this step
                yield from engine.write(item, ensure_config())

        writer: RunnableGenerator[Plan, Event] = RunnableGenerator(write, name="write")
        yield from writer.stream(plan, config)
