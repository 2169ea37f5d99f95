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


# -- streaming and status ------------------------------------------------------------------


class TokenEvent(BaseModel):
    """A piece of the answer as it is written."""

    type: Literal["token"] = "token"
    text: str


class AnswerEvent(BaseModel):
    """The checked answer, always the last event of a stream."""

    type: Literal["answer"] = "answer"
    answer: Answer


#: What ``stream()`` yields: tokens, then one answer.
Event = TokenEvent | AnswerEvent


class About(BaseModel):
    """What is running: version, answer backend and model, store location and size."""

    version: str
    answer_backend: str
    llm_model: str
    embedding_model: str
    embedding_precision: str
    store: str
    chunks: int
    documents: int
    ready: int


# -- critique drafts ------------------------------------------------------------------------


CauseRating = Literal["addressed", "partly_addressed", "gap", "not_assessable"]
RATING_LABELS: dict[str, str] = {
    "addressed": "Addressed",
    "partly_addressed": "Partly addressed",
    "gap": "Gap",
    "not_assessable": "Not assessable",
}


class Evidence(BaseModel):
    """A verbatim quote from one page of one document, cited in a draft by its number ``ref``."""

    ref: int = 0
    doc_id: str
    title: str = ""
    page: int
    section: str = Field(
        "", description="nearest heading above the quote ('' before the first one)"
    )
    quote: str = Field(description="verbatim text of the cited page")
    stance: Literal["for", "against", "context", "closest"] = Field(
        "for",
        description="for/against a cause, context from another document, or the closest passage",
    )
    signal: str = Field("", description="id of the framework signal the quote matched, if any")
    score: float | None = Field(None, description="similarity to the question, for dense matches")

    def locator(self) -> str:
        """Where the quote is: ``p. 11, §6.2 Decision gates and stop/go criteria``."""
        section = f"§{self.section}" if self.section[:1].isdigit() else self.section
        return f"p. {self.page}" + (f", {section}" if section else "")


class SignalCheck(BaseModel):
    """One signal searched for in every sentence of a plan, and what was found."""

    id: str
    text: str
    kind: Literal["addressed", "at_risk"]
    found: bool
    sentences: int = 0
    sections: list[str] = Field(default_factory=list)


class QuestionCheck(BaseModel):
    """One diagnostic question compared with every passage of a plan: the closest ones."""

    id: str
    text: str
    best_score: float
    strength: Literal["strong", "moderate", "weak", "none"]
    closest: list[Evidence] = Field(default_factory=list)


class Coverage(BaseModel):
    """What the sweep searched for one cause: sections, passages, signals, questions."""

    sections: int
    passages: int
    pages: int
    rule: str = Field("", description="which rating rule decided")
    signals: list[SignalCheck] = Field(default_factory=list)
    questions: list[QuestionCheck] = Field(default_factory=list)


class Finding(BaseModel):
    """The rating of one cause, why, the evidence, and context from other documents."""

    cause_id: str
    cause: str
    summary: str = ""
    rating: CauseRating
    rationale: str
    evidence: list[Evidence] = Field(default_factory=list)
    searched: Coverage
    context: list[Evidence] = Field(
        default_factory=list, description="supporting passages from other documents"
    )
    recommendation: str = ""
    prose: Literal["deterministic", "llm"] = "deterministic"


class Point(BaseModel):
    """A strength, a scope question or a governance observation, with its evidence."""

    id: str = ""
    title: str
    text: str
    cause_ids: list[str] = Field(default_factory=list)
    evidence: list[Evidence] = Field(default_factory=list)


class Recommendation(BaseModel):
    cause_id: str
    priority: Literal["high", "medium", "check"]
    text: str


class PlanRef(BaseModel):
    doc_id: str
    title: str
    source: str = ""
    doc_type: str = ""
    pages: int = 0


class Critique(BaseModel):
    """A review draft of one plan against one framework, in the shape of an expert review."""

    plan: PlanRef
    critique_id: str = Field(default="", description="id of the saved run ('' until it is saved)")
    framework: str
    framework_name: str = ""
    framework_version: int = 0
    backend: str = "deterministic"
    summary: str = ""
    strengths: list[Point] = Field(default_factory=list)
    scope_questions: list[Point] = Field(default_factory=list)
    findings: list[Finding] = Field(default_factory=list)
    governance_observations: list[Point] = Field(default_factory=list)
    recommendations: list[Recommendation] = Field(default_factory=list)
    conclusion: str = ""
    notices: list[str] = Field(default_factory=list)
    checks: dict[str, int] = Field(
        default_factory=dict, description="quotes checked against their pages, dropped"
    )
    timings: dict[str, float] = Field(default_factory=dict)

    def all_evidence(self) -> list[Evidence]:
        """Every quote in the draft (duplicates included), for checking."""
        items: list[Evidence] = []
        for finding in self.findings:
            items += finding.evidence + finding.context
            for question in finding.searched.questions:
                items += question.closest
        for point in [*self.strengths, *self.scope_questions, *self.governance_observations]:
            items += point.evidence
        return items

    def references(self) -> list[Evidence]:
        """The numbered references of the draft, one per ``ref``, in order."""
        seen: dict[int, Evidence] = {}
        for item in self.all_evidence():
            if item.ref and item.ref not in seen:
                seen[item.ref] = item
        return [seen[n] for n in sorted(seen)]
