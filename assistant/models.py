"""Data passed between the core and every front end (CLI, web UI, evaluation)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

DocType = Literal["master_plan", "review", "lessons_learned", "other"]


class Filters(BaseModel):
    """What a question may search: documents, document types, years (all optional)."""

    documents: list[str] = Field(default_factory=list, description="doc_ids to search (empty: all)")
    doc_types: list[DocType] = Field(default_factory=list)
    years: list[int] = Field(default_factory=list)

    def is_empty(self) -> bool:
        return not (self.documents or self.doc_types or self.years)


class Passage(BaseModel):
    """A retrieved span of one page, numbered as the answer cites it."""

    n: int
    chunk_id: str
    doc_id: str
    title: str
    source: str
    doc_type: str
    page: int
    section: str
    start: int
    end: int
    text: str
    score: float = 0.0
    dense_rank: int | None = None
    lexical_rank: int | None = None


class Citation(BaseModel):
    """One source an answer cites: document, page, section and the passage quoted."""

    n: int
    doc_id: str
    title: str
    source: str
    page: int
    section: str
    quote: str
    score: float


class Message(BaseModel):
    role: Literal["user", "assistant"]
    content: str


class Answer(BaseModel):
    """A grounded answer: text with [n] markers, whether the documents answer it, its sources."""

    question: str
    standalone_question: str
    text: str
    answered: bool
    citations: list[Citation] = Field(default_factory=list)
    passages: list[Passage] = Field(default_factory=list)
    backend: str
    notices: list[str] = Field(default_factory=list)
    flagged_citations: list[str] = Field(default_factory=list)
    timings: dict[str, float] = Field(default_factory=dict)
