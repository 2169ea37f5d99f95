"""Formatting of the Critique tab: the ratings table, the findings with evidence, the JSON.

Quotes, titles and rationales are escaped and the assembled Markdown sanitised, as in
``assistant.web.format``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from assistant.core.models import RATING_LABELS, Critique, Evidence
from assistant.web.format import CITATION_QUOTE_CHARS, escape_text, inline, sanitise, short_section

RATING_HEADERS = ["Cause", "Rating", "Evidence (pages)", "Why"]
STANCE_LABELS = {
    "for": "supports",
    "against": "counts against",
    "context": "context",
    "closest": "closest passage",
}


def slug(text: str, limit: int = 40) -> str:
    """A file-name-safe slug of a title."""
    cleaned = re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower()
    return cleaned[:limit].rstrip("-") or "plan"


def _pages(evidence: Sequence[Evidence]) -> str:
    pages = {
        "for": sorted({e.page for e in evidence if e.stance == "for"}),
        "against": sorted({e.page for e in evidence if e.stance == "against"}),
    }
    text = ", ".join(map(str, pages["for"]))
    if pages["against"]:
        text += ("; " if text else "") + "against: " + ", ".join(map(str, pages["against"]))
    return text or "none found"


def _cut(text: str, limit: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def rating_rows(critique: Critique) -> list[list[str]]:
    """One row per cause: name, rating, pages of its evidence, the rationale cut short (plain)."""
    return [
        [
            f"{f.cause_id} {f.cause}",
            RATING_LABELS.get(f.rating, f.rating),
            _pages(f.evidence),
            _cut(f.rationale, 240),
        ]
        for f in critique.findings
    ]


def evidence_html(e: Evidence, title: bool = False) -> str:
    where = [
        f"[{e.ref}]" if e.ref else "",
        (e.title + " · ") if title and e.title else "",
        f"page {e.page}",
    ]
    label = "".join(where[:1]) + (" " if e.ref else "") + where[1] + where[2]
    if e.section:
        label += f" · {short_section(e.section)}"
    label += f" ({STANCE_LABELS.get(e.stance, e.stance)})"
    return (
        "<details><summary>"
        + inline(label, 300)
        + "</summary><blockquote>"
        + inline(e.quote, CITATION_QUOTE_CHARS)
        + "</blockquote></details>"
    )


def findings_markdown(critique: Critique) -> str:
    """The draft for the page: summary, notices, then each finding with its evidence (sanitised)."""
    framework = critique.framework_name or critique.framework
    parts = [f"## {escape_text(critique.plan.title)} — {escape_text(framework)}"]
    if critique.summary:
        parts.append(escape_text(critique.summary))
    parts += [f"_Note: {escape_text(n)}_" for n in critique.notices]
    for f in critique.findings:
        rating = RATING_LABELS.get(f.rating, f.rating)
        parts.append(
            f"### {escape_text(f.cause_id)} · {escape_text(f.cause)} — {escape_text(rating)}"
        )
        parts.append(escape_text(" ".join(f.rationale.split())))
        if f.evidence:
            parts.append("\n\n".join(evidence_html(e) for e in f.evidence))
        if f.context:
            parts.append("_From other documents:_")
            parts.append("\n\n".join(evidence_html(e, title=True) for e in f.context))
        if f.recommendation:
            parts.append(f"**Recommendation:** {escape_text(f.recommendation)}")
    if critique.conclusion:
        parts += ["### Conclusion", escape_text(critique.conclusion)]
    return sanitise("\n\n".join(parts))


def critique_dict(critique: Critique) -> dict[str, Any]:
    """The critique as JSON for the page and the API: the plan's file name, not its server path."""
    data = critique.model_dump(mode="json")
    data["plan"]["source"] = Path(critique.plan.source).name
    return data
