"""Prompt-injection guard: document text that tries to instruct the assistant is content only.

Sentences that read as instructions to an AI are never quoted as answers, and an LLM answer that
repeats such a sentence's payload (a canary word, a demanded reply) is discarded for the
extractive answer with a notice.
"""

from __future__ import annotations

import re

_INSTRUCTION = re.compile(
    r"\b(?:ignore|disregard|forget|override)\b.{0,40}\b(?:instructions?|prompts?|rules?|guidelines?|above|previous)\b"
    r"|\b(?:system prompt|you are now|new instructions?|as an ai|language model|assistant "
    r"must|reviewers? must)\b"
    r"|\b(?:reply|respond|answer|say|output|print)\b.{0,20}\b(?:only|exactly|with|the "
    r"word)\b.{0,40}[A-Z][A-Z0-9_-]{3,}",
    re.IGNORECASE | re.DOTALL,
)
_PAYLOAD = re.compile(r"\b[A-Z][A-Z0-9]*(?:[-_][A-Z0-9]+)+\b|\b[A-Z]{5,}\b")


def is_instruction(sentence: str) -> bool:
    """True when a sentence addresses the assistant rather than informs the reader."""
    return bool(_INSTRUCTION.search(sentence))


def payloads(text: str) -> set[str]:
    """Distinctive tokens demanded by instruction-like sentences in ``text``."""
    found: set[str] = set()
    for sentence in re.split(r"(?<=[.!?])\s+|\n", text):
        if is_instruction(sentence):
            found.update(_PAYLOAD.findall(sentence))
    return found


def leaked(answer: str, sources: list[str], question: str) -> set[str]:
    """Payload tokens of injected instructions that an answer repeats (the user did not ask)."""
    demanded = set().union(*(payloads(s) for s in sources)) if sources else set()
    return {p for p in demanded if p in answer and p not in question}
