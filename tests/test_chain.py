"""The answer flow as LangChain runnables: a BaseRetriever and a Runnable that callbacks can watch."""

from __future__ import annotations

import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables import Runnable

from assistant.core.errors import BriefingError
from assistant.core.models import Answer, AnswerEvent, TokenEvent

PLAN = """---
title: Orlan Digital Plan
doc_type: master_plan
year: 2026
---
# 1 Budget

The plan will cost 58.4 million crowns over four years, paid from the national budget.

# 2 Governance

A digital delivery board chaired by the Minister of Finance meets every month.
"""

REVIEW = """---
title: Review of the Orlan plan
doc_type: review
---
# Findings

The reviewers found that the governance board has no independent member.
"""


class StepLog(BaseCallbackHandler):
    """Records the runs a chain starts, by name."""

    def __init__(self) -> None:
        self.chains: list[str] = []
        self.queries: list[str] = []
        self.documents: list[int] = []

    def on_chain_start(self, serialized, inputs, **kwargs):
        self.chains.append(kwargs.get("name") or "")

    def on_retriever_start(self, serialized, query, **kwargs):
        self.queries.append(query)

    def on_retriever_end(self, documents, **kwargs):
        self.documents.append(len(documents))


@pytest.fixture(scope="module")
def orlan(tmp_path_factory, embedder):
    from assistant import Settings, build_service

    root = tmp_path_factory.mktemp("chain")
    (root / "docs").mkdir()
    (root / "docs" / "plan.md").write_text(PLAN, encoding="utf-8")
    (root / "docs" / "review.md").write_text(REVIEW, encoding="utf-8")
    service = build_service(Settings(data_dir=root / "data"), embeddings=embedder, writer=True)
    assert service.ingest([root / "docs"]).failed == []
    yield service
    service.close()


def test_as_retriever_is_a_langchain_retriever_with_citation_metadata(orlan):
    retriever = orlan.as_retriever()
    assert isinstance(retriever, BaseRetriever)
    documents = retriever.invoke("How much will the plan cost?")
    assert documents and all(isinstance(d, Document) for d in documents)
    top = documents[0]
    assert "58.4 million" in top.page_content
    assert top.metadata["title"] == "Orlan Digital Plan" and top.metadata["page"] == 1
    assert top.metadata["section"].startswith("1 Budget")
    assert {"doc_id", "source", "n"} <= set(top.metadata)


def test_as_chain_invoke_returns_the_checked_answer_and_callbacks_see_each_step(orlan):
    chain = orlan.as_chain()
    assert isinstance(chain, Runnable)
    log = StepLog()
    answer = chain.invoke(
        {"question": "How much will the plan cost?", "history": []}, config={"callbacks": [log]}
    )
    assert isinstance(answer, Answer) and answer.answered
    assert "58.4 million" in answer.text and answer.citations[0].page == 1
    assert {"condense", "write"} <= set(log.chains)
    assert log.queries == ["How much will the plan cost?"] and log.documents[0] > 0


def test_as_chain_stream_yields_pieces_then_one_answer(orlan):
    events = list(orlan.as_chain().stream({"question": "Who chairs the digital delivery board?"}))
    assert events and all(isinstance(e, TokenEvent) for e in events[:-1])
    assert isinstance(events[-1], AnswerEvent)
    assert "".join(e.text for e in events[:-1]) == events[-1].answer.text
    assert "Minister of Finance" in events[-1].answer.text


def test_as_chain_batch_and_history_make_follow_ups_standalone(orlan):
    first, second = orlan.as_chain().batch(
        [
            {"question": "Who chairs the digital delivery board?"},
            {
                "question": "How often does it meet?",
                "history": [
                    {"role": "user", "content": "Who chairs the digital delivery board?"},
                    {"role": "assistant", "content": "The Minister of Finance."},
                ],
            },
        ]
    )
    assert "Minister of Finance" in first.text
    assert "board" in second.standalone_question.lower() and "every month" in second.text


@pytest.mark.parametrize(
    "bad",
    [{"history": []}, {"question": 42}, "just a string"],
    ids=["no-question", "not-text", "str"],
)
def test_as_chain_rejects_malformed_input_with_a_domain_error(orlan, bad):
    with pytest.raises(BriefingError):
        orlan.as_chain().invoke(bad)
