"""Pure formatting for the web page: sanitising, answers as Markdown, citations, conversations.

Nothing here imports gradio or touches the store, so every rule about what reaches the page is
testable on its own. Text from a model or a document is never trusted as markup: it is
HTML-escaped, Markdown link and image syntax is disarmed (``[`` and ``]`` escaped, so
``![x](http://…)`` cannot load an external image), and the assembled message is passed through
nh3 with a short allowlist of tags and no attributes or URL schemes at all. The library and the
critique are rendered by ``format_library`` and ``format_critique`` with the same helpers.
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nh3

from assistant.core.models import Answer, Citation, Message

#: Tags that may reach the page: the expandable sources block and simple text structure.
ALLOWED_TAGS = {"details", "summary", "blockquote", "p", "br", "strong", "em", "code", "small"}
DOC_TYPE_LABELS = {
    "master_plan": "Master plan",
    "review": "Review",
    "lessons_learned": "Lessons learned",
    "other": "Other",
}
CITATION_QUOTE_CHARS = 1200


def sanitise(markdown: str) -> str:
    """Strip every tag outside ``ALLOWED_TAGS``, every attribute and every URL."""
    return nh3.clean(
        markdown,
        tags=ALLOWED_TAGS,
        attributes={},
        url_schemes=set(),
        strip_comments=True,
        link_rel=None,
    )


def escape_text(text: str) -> str:
    """Untrusted text made inert for Markdown: no HTML, no links, no images."""
    escaped = html.escape(text, quote=False)
    return escaped.replace("\\", "\\\\").replace("[", "\\[").replace("]", "\\]")


def inline(text: str, limit: int | None = None) -> str:
    """Collapse whitespace (a quote or title shown inside HTML) and cut to ``limit`` characters."""
    flat = " ".join(text.split())
    if limit is not None and len(flat) > limit:
        flat = flat[: limit - 1] + "…"
    return html.escape(flat, quote=False)


def short_section(section: str, parts: int = 2) -> str:
    """The last ``parts`` levels of a section path ("A > B > C" -> "B › C")."""
    levels = [s.strip() for s in section.split(">") if s.strip()]
    return " › ".join(levels[-parts:])


def citation_label(c: Citation) -> str:
    where = [f"[{c.n}] {c.title or Path(c.source).name}", f"page {c.page}"]
    if c.section:
        where.append(short_section(c.section))
    return " · ".join(where)


def sources_html(citations: Sequence[Citation]) -> str:
    """Each source as a collapsed ``<details>``: label in the summary, the quoted passage inside."""
    blocks = []
    for c in citations:
        blocks.append(
            "<details><summary>" + inline(citation_label(c), 300) + "</summary>"
            "<blockquote>" + inline(c.quote, CITATION_QUOTE_CHARS) + "</blockquote>"
            "<p><small>"
            + inline(Path(c.source).name, 120)
            + (f" — {inline(c.section, 300)}" if c.section else "")
            + "</small></p></details>"
        )
    return "\n\n".join(blocks)


def answer_markdown(answer: Answer) -> str:
    """The message shown for a finished answer: text, notices, then its numbered sources."""
    parts = [escape_text(answer.text.strip()) or "_(no answer)_"]
    parts += [f"_Note: {escape_text(n)}_" for n in answer.notices]
    if answer.citations:
        parts.append("**Sources** (open one to read the passage)")
        groups: dict[str, list[Citation]] = {}
        for c in answer.citations:
            groups.setdefault(c.doc_id, []).append(c)
        if len(groups) == 1:
            parts.append(sources_html(answer.citations))
        for cited in groups.values() if len(groups) > 1 else ():
            title = cited[0].title or Path(cited[0].source).name
            parts.append(f"<p><strong>{inline(title, 200)}</strong></p>")
            parts.append(sources_html(cited))
    return sanitise("\n\n".join(parts))


def partial_markdown(text: str) -> str:
    """What the page shows while an answer is being written."""
    return sanitise(escape_text(text) + " ▌")


def user_markdown(question: str) -> str:
    return sanitise(escape_text(question))


def citation_dicts(citations: Iterable[Citation]) -> list[dict[str, Any]]:
    """Citations for the API and the feedback store: the file's name, never a server path."""
    return [
        {
            "n": c.n,
            "doc_id": c.doc_id,
            "title": c.title,
            "source": Path(c.source).name,
            "page": c.page,
            "section": c.section,
            "quote": c.quote,
            "score": round(float(c.score), 4),
        }
        for c in citations
    ]


@dataclass
class Turn:
    """One question and its answer in a session, as the page and the feedback store need it."""

    question: str
    answer_text: str
    answer_md: str
    citations: list[Citation]
    history: list[Message] = field(default_factory=list)
    feedback_id: int | None = None


def chat_messages(turns: Sequence[Turn]) -> list[dict[str, str]]:
    """The Chatbot's value: user and assistant messages, both already sanitised."""
    messages = []
    for t in turns:
        messages.append({"role": "user", "content": user_markdown(t.question)})
        messages.append({"role": "assistant", "content": t.answer_md})
    return messages


def conversation_markdown(turns: Sequence[Turn], now: dt.datetime | None = None) -> str:
    """A downloadable record of the conversation with every source quoted (HTML escaped)."""
    now = now or dt.datetime.now(dt.UTC)
    lines = ["# Briefing conversation", "", f"_Exported {now:%Y-%m-%d %H:%M} UTC._", ""]
    for i, t in enumerate(turns, start=1):
        lines += [f"## {i}. {escape_text(t.question)}", "", escape_text(t.answer_text), ""]
        if t.citations:
            lines += ["Sources:", ""]
            for c in t.citations:
                file_name = Path(c.source).name
                section = f", {c.section}" if c.section else ""
                where = f"{c.title or file_name}, page {c.page}{section}"
                quote = " ".join(c.quote.split())
                lines.append(f"{c.n}. {escape_text(where)} ({escape_text(file_name)})")
                lines.append(f"   > {escape_text(quote)}")
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"
