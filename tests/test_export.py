"""Critique export: Markdown, DOCX and JSON from one draft; hostile document text stays inert."""

from __future__ import annotations

import json

import pytest

from assistant.core.errors import BriefingError
from assistant.core.models import (
    Coverage,
    Critique,
    Evidence,
    Finding,
    PlanRef,
    Point,
    QuestionCheck,
    Recommendation,
    SignalCheck,
)
from assistant.critique.export import critique_docx, critique_markdown, write_critique

HOSTILE = "Click <script>alert(1)</script> ![x](http://evil.example/t.png) [link](javascript:alert(1)) | pipe"


def _evidence(
    ref: int, page: int, quote: str, stance: str = "for", signal: str = "F1.a1"
) -> Evidence:
    return Evidence(
        ref=ref,
        doc_id="d" * 64,
        title="Plan of Testland",
        page=page,
        section="6.2 Decision gates",
        quote=quote,
        stance=stance,
        signal=signal,
    )


@pytest.fixture
def critique() -> Critique:
    coverage = Coverage(
        sections=12,
        passages=80,
        pages=5,
        rule="too few of the signs are present",
        signals=[
            SignalCheck(
                id="F1.a1",
                text="a phased roadmap exists",
                kind="addressed",
                found=True,
                sentences=2,
                sections=["6.2 Decision gates"],
            ),
            SignalCheck(id="F1.a2", text="pilots are planned", kind="addressed", found=False),
            SignalCheck(
                id="F1.r1",
                text="everything at once",
                kind="at_risk",
                found=True,
                sentences=1,
                sections=["8 Launch"],
            ),
        ],
        questions=[
            QuestionCheck(
                id="F1.q1",
                text="In what order?",
                best_score=0.61,
                strength="strong",
                closest=[_evidence(1, 3, "Phase 1 delivers the registers.", "closest", "")],
            )
        ],
    )
    first = Finding(
        cause_id="F1",
        cause="Phasing",
        rating="partly_addressed",
        rationale="Partly addressed: a phased roadmap exists [1].",
        evidence=[
            _evidence(1, 3, "Phase 1 delivers the registers."),
            _evidence(2, 4, HOSTILE, "against", "F1.r1"),
        ],
        searched=coverage,
        context=[_evidence(3, 9, "Big launches concentrate risk.", "context", "")],
        recommendation="Split the launch into releases.",
    )
    second = first.model_copy(
        update={
            "cause_id": "F2",
            "cause": "Benefits",
            "rating": "gap",
            "evidence": [],
            "rationale": "Gap: Searched 12 sections for 6 signs; none was found.",
            "context": [],
        }
    )
    return Critique(
        plan=PlanRef(doc_id="d" * 64, title="Plan of Testland <b>", pages=5),
        framework="eight-causes",
        framework_name="Eight causes",
        framework_version=1,
        summary="A summary of the draft.",
        strengths=[
            Point(
                id="F1.a1",
                title="Phasing (in part)",
                text="A phased roadmap exists. [1]",
                evidence=[first.evidence[0]],
            )
        ],
        scope_questions=[
            Point(id="S1", title="Digital inclusion", text="Does the plan reach people offline?")
        ],
        findings=[first, second],
        governance_observations=[
            Point(id="P1", title="Two programmes", text="Separate owners are needed.")
        ],
        recommendations=[
            Recommendation(cause_id="F2", priority="high", text="Set up a benefits register.")
        ],
        conclusion="The main concern is F2.",
        notices=["One notice."],
    )


def test_markdown_has_the_review_shape_table_and_numbered_references(critique):
    text = critique_markdown(critique)
    for heading in (
        "## Summary",
        "## Ratings",
        "## Key strengths",
        "## Questions about scope",
        "## Findings by cause",
        "### F1 Phasing — Partly addressed",
        "## Governance observations",
        "## Recommendations",
        "## Conclusion",
        "## Notices",
        "## References",
        "## Appendix: evidence by cause",
    ):
        assert heading in text
    assert "| F1 Phasing | **Partly addressed** | 1 of 2 | 1 | [1][2] |" in text
    assert "| F2 Benefits | **Gap** | 1 of 2 | 1 | — |" in text
    assert (
        "1. Plan of Testland, p. 3, §6.2 Decision gates: “Phase 1 delivers the registers.”" in text
    )
    assert (
        "3. Plan of Testland, p. 9, §6.2 Decision gates: “Big launches concentrate risk.”" in text
    )
    assert "1. **High — F2 Benefits.** Set up a benefits register." in text


def test_markdown_keeps_document_text_inert(critique):
    from markdown_it import MarkdownIt  # what Gradio renders Markdown with

    text = critique_markdown(critique)
    html = MarkdownIt("commonmark", {"html": True}).enable("table").render(text)
    assert "<script" not in html and "<b>" not in html and "<img" not in html and "<a " not in html
    assert "&lt;script&gt;" in html and "evil.example" in html  # shown as text, not fetched


def test_docx_opens_with_headings_ratings_table_and_references(critique, tmp_path):
    from docx import Document

    path = tmp_path / "draft.docx"
    critique_docx(critique, path)
    doc = Document(str(path))
    headings = [p.text for p in doc.paragraphs if p.style.name.startswith("Heading")]
    assert {
        "Summary",
        "Ratings",
        "Findings by cause",
        "References",
        "Appendix: evidence by cause",
    } <= set(headings)
    assert "F2 Benefits — Gap" in headings
    table = doc.tables[0]
    assert [[c.text for c in row.cells] for row in table.rows] == [
        ["Cause", "Rating", "Signs found", "At-risk signs"],
        ["F1 Phasing", "Partly addressed", "1 of 2", "1"],
        ["F2 Benefits", "Gap", "1 of 2", "1"],
    ]
    texts = [p.text for p in doc.paragraphs]
    references = texts[texts.index("References") + 1 : texts.index("Appendix: evidence by cause")]
    assert (
        references[0]
        == "[1] Plan of Testland, p. 3, §6.2 Decision gates: “Phase 1 delivers the registers.”"
    )
    assert len(references) == 3
    assert doc.core_properties.title.startswith("Review draft: Plan of Testland")


def test_json_round_trips_the_critique_model(critique, tmp_path):
    text = write_critique(critique, "json", None)
    data = json.loads(text)
    assert data["plan"] == critique.plan.model_dump()
    assert data["findings"][0]["evidence"][0] == {**critique.findings[0].evidence[0].model_dump()}
    assert Critique.model_validate(data) == critique
    assert write_critique(critique, "json", tmp_path / "c.json") is None
    assert json.loads((tmp_path / "c.json").read_text(encoding="utf-8")) == data


def test_write_critique_returns_or_writes_and_refuses_bad_requests(critique, tmp_path):
    markdown = write_critique(critique, "md", None)
    assert markdown == critique_markdown(critique)
    assert write_critique(critique, "md", tmp_path / "c.md") is None
    assert (tmp_path / "c.md").read_text(encoding="utf-8") == markdown
    with pytest.raises(BriefingError, match="needs a file path"):
        write_critique(critique, "docx", None)
    with pytest.raises(BriefingError, match="unknown format"):
        write_critique(critique, "pdf", None)  # type: ignore[arg-type]
    with pytest.raises(BriefingError, match="cannot write"):
        write_critique(critique, "md", tmp_path / "missing" / "c.md")
