"""Prose written by an LLM for a deterministic draft, validated section by section.

The model sees the facts of one section and its numbered, delimited sources, and replies with a
JSON object. A reply is used only if it keeps the rating, cites only its sources, quotes them
exactly, carries no markup and repeats no instruction planted in a document; otherwise the
section keeps its deterministic text and the draft gets a notice. Ratings never change.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from typing import Any, Protocol

from assistant.answer.citations import squash
from assistant.core.guard import leaked
from assistant.core.models import Critique, Evidence, Finding
from assistant.core.prompts import load_prompt
from assistant.core.settings import Settings
from assistant.critique.evidence import marks
from assistant.critique.findings import found_signals

_CITE = re.compile(r"\[(\d{1,3}(?:\s*,\s*\d{1,3})*)\]")
_QUOTE = re.compile(r"[\"“]([^\"”]{12,400})[\"”]")
_MARKUP = re.compile(r"!\[|\]\(|<\s*/?\s*[a-zA-Z]|javascript:|\{\{|\}\}", re.IGNORECASE)
_STANCE = {
    "for": "the plan addresses the cause",
    "against": "an at-risk sign",
    "context": "another document, for context",
    "closest": "the closest passage found",
}


class ChatModel(Protocol):
    """What the critique needs from a chat model: a blocking call on a list of messages.

    A LangChain ``BaseChatModel`` fits; so does any object with such an ``invoke``.
    """

    def invoke(self, input: Any, /) -> Any:
        """Reply to the messages (an object with ``content``, or a string)."""


def _sources(items: list[Evidence], budget: int) -> tuple[str, list[Evidence]]:
    """Numbered, delimited passages within a character budget, and the ones that fit."""
    blocks: list[str] = []
    shown: list[Evidence] = []
    used = 0
    for e in {e.ref: e for e in items}.values():
        block = (
            f"[{e.ref}] {e.title}, {e.locator()} ({_STANCE[e.stance]})\n{' '.join(e.quote.split())}"
        )
        if shown and used + len(block) > budget:
            break
        blocks.append(block)
        shown.append(e)
        used += len(block) + 2
    return "\n\n".join(blocks) or "(no passages)", shown


def _json_object(raw: str) -> dict[str, Any]:
    start, end = raw.find("{"), raw.rfind("}")
    if start < 0 or end <= start:
        raise ValueError("the reply is not a JSON object")
    try:
        data = json.loads(raw[start : end + 1])
    except json.JSONDecodeError as exc:
        raise ValueError(f"the reply is not valid JSON ({exc.msg})") from None
    if not isinstance(data, dict):
        raise ValueError("the reply is not a JSON object")
    return data


def _checked(text: Any, sources: list[Evidence], require_citation: bool) -> str:
    """The model's text, if it cites only its sources, quotes them exactly and carries no markup."""
    if not isinstance(text, str) or not 20 <= len(text.strip()) <= 3000:
        raise ValueError("the text is missing, too short or too long")
    if _MARKUP.search(text):
        raise ValueError("it contains links, images or markup")
    allowed = {e.ref for e in sources}
    cited = {int(n) for group in _CITE.findall(text) for n in re.findall(r"\d+", group)}
    if cited - allowed:
        raise ValueError(f"it cites [{min(cited - allowed)}], which is not one of its sources")
    if require_citation and not cited:
        raise ValueError("it cites no source")
    for quoted in _QUOTE.findall(text):
        if not any(squash(quoted) in squash(e.quote) for e in sources):
            raise ValueError(f'the quoted words "{quoted[:40]}" are in none of its sources')
    if leaked(text, [e.quote for e in sources], ""):
        raise ValueError("it repeated an instruction planted in a document")
    return text.strip()


def _facts(f: Finding) -> str:
    def refs(signal: str) -> str:
        found = marks([e for e in f.evidence if e.signal == signal])
        return f" (sources {found})" if found else ""

    lines = [
        f"Cause {f.cause_id}: {f.cause}. {f.summary}",
        f"Rating (final): {f.rating} — because {f.searched.rule}.",
    ]
    lines += [f"Sign found: {c.text}{refs(c.id)}" for c in found_signals(f, "addressed")]
    lines += [
        f"Sign searched for in all {f.searched.sections} sections and not found: {c.text}"
        for c in found_signals(f, "addressed", False)
    ]
    lines += [f"At-risk sign found: {c.text}{refs(c.id)}" for c in found_signals(f, "at_risk")]
    if f.context:
        lines.append(f"Sources {marks(f.context)} come from other documents and give context only.")
    return "\n".join(lines)


def _overview(c: Critique) -> str:
    """The facts behind the summary and conclusion: each rating, strength and recommendation."""
    lines = []
    for f in c.findings:
        signals = f.searched.signals
        found = sum(s.found for s in signals if s.kind == "addressed")
        searched = sum(s.kind == "addressed" for s in signals)
        at_risk = len(found_signals(f, "at_risk"))
        lines.append(
            f"{f.cause_id} {f.cause}: {f.rating} ({found} of {searched} signs found; "
            f"{at_risk} at-risk signs)"
        )
    lines += [f"Strength: {p.title}" for p in c.strengths]
    lines += [f"Recommendation ({r.priority}): {r.cause_id}" for r in c.recommendations]
    return "\n".join(lines)


def write_prose(
    model: ChatModel, c: Critique, settings: Settings, tick: Callable[[], None]
) -> None:
    """Let the model rewrite each finding's rationale, then the summary and conclusion.

    A part whose reply fails validation (not JSON, another rating, a citation or quote that is
    not among its sources, markup, a planted instruction repeated) keeps its deterministic text
    and the draft gets a notice; so does every part once the backend has failed twice in a row or
    the time budget (three times ``llm_timeout_s``) is spent. Ratings never change.

    Args:
        model: The chat model.
        c: The deterministic draft, changed in place.
        settings: Supplies the context size, the reply size and the timeout of the backend.
        tick: Called once per part, after it is done.
    """
    template = load_prompt("critique").to_template()
    # ~3 characters a token
    budget = max(settings.llm_context_tokens - settings.llm_max_tokens - 600, 400) * 3
    deadline = time.monotonic() + 3 * settings.llm_timeout_s
    failures = 0

    def ask(
        section: str, facts: str, items: list[Evidence]
    ) -> tuple[dict[str, Any], list[Evidence]]:
        nonlocal failures
        if failures >= 2 or time.monotonic() > deadline:
            raise RuntimeError("skipped: the backend failed twice or the time budget is spent")
        text, shown = _sources(items, budget - len(facts))
        try:
            result = model.invoke(
                template.format_messages(section=section, facts=facts, sources=text)
            )
        except Exception:
            failures += 1
            raise
        failures = 0
        return _json_object(str(getattr(result, "content", result))), shown

    for f in c.findings:
        section = (
            f"the finding on cause {f.cause_id} ({f.cause}). Reply with one JSON object: "
            f'{{"rating": "{f.rating}", "text": "<the rationale, citing sources as [n]>"}}'
        )
        try:
            data, shown = ask(section, _facts(f), f.evidence + f.context)
            if data.get("rating") != f.rating:
                raise ValueError(f"it changed the rating to {data.get('rating')!r}")
            f.rationale = _checked(data.get("text"), shown, require_citation=bool(f.evidence))
            f.prose = "llm"
        except Exception as exc:  # a failing or misbehaving model must not stop the draft
            c.notices.append(
                f"{f.cause_id}: the {c.backend} model's text was not used ({_why(exc)}); "
                "the deterministic rationale is shown."
            )
        tick()
    section = (
        "the summary and the conclusion of the draft. Reply with one JSON object: "
        '{"summary": "<one paragraph>", "conclusion": "<one paragraph on the main concerns>"}'
    )
    try:
        data, shown = ask(section, _overview(c), [f.evidence[0] for f in c.findings if f.evidence])
        summary = _checked(data.get("summary"), shown, False)
        conclusion = _checked(data.get("conclusion"), shown, False)
        c.summary, c.conclusion = summary, conclusion
    except Exception as exc:  # as above
        c.notices.append(
            f"Summary and conclusion: the {c.backend} model's text was not used ({_why(exc)}); "
            "the deterministic text is shown."
        )
    tick()


def _why(exc: Exception) -> str:
    if isinstance(exc, (ValueError, RuntimeError)) and not isinstance(exc, json.JSONDecodeError):
        return str(exc)
    return f"{type(exc).__name__}: {str(exc)[:120]}"
