"""Follow-up questions made standalone, and per-session history bounded by a token budget.

"And what about its budget?" means nothing to a search engine. Before retrieval the question is
rewritten from the session's history: by the configured LLM when there is one, else by a
deterministic rule that carries the previous question's subject terms forward.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from assistant.core.models import Message
from assistant.core.text import STOPWORDS

_FOLLOW_UP = re.compile(
    r"^\s*(?:and|but|also|so|then|what about|how about|and what|same for)\b"
    r"|\b(?:it|its|it's|they|them|their|theirs|this|that|these|those|he|him|his|she|her|there|former|latter)\b",
    re.IGNORECASE,
)
_WORD = re.compile(r"[\w][\w.\-/]*\w|\w")
_QUESTION_WORDS = {
    "what",
    "which",
    "who",
    "whom",
    "whose",
    "how",
    "why",
    "when",
    "where",
    "does",
    "did",
    "do",
    "tell",
    "say",
    "says",
    "much",
    "many",
    "according",
    "document",
    "documents",
    "plan",
}


def approx_tokens(text: str) -> int:
    """A cheap token estimate (about four characters a token) for history budgets."""
    return len(text) // 4 + 1


def trim_history(history: Sequence[Message], budget: int) -> list[Message]:
    """The most recent messages that fit the budget, oldest first."""
    kept: list[Message] = []
    used = 0
    for message in reversed(history):
        cost = approx_tokens(message.content)
        if used + cost > budget:
            break
        kept.append(message)
        used += cost
    return list(reversed(kept))


def _subject_terms(text: str) -> list[str]:
    terms, seen = [], set()
    for word in _WORD.findall(text):
        low = word.lower()
        if low in STOPWORDS or low in _QUESTION_WORDS or low in seen or len(low) < 2:
            continue
        seen.add(low)
        terms.append(word)
    return terms


def is_follow_up(question: str) -> bool:
    return bool(_FOLLOW_UP.search(question)) or len(_subject_terms(question)) <= 1


def condense_deterministic(question: str, history: Sequence[Message]) -> str:
    """Carry the last user question's subject terms into a follow-up; leave others alone."""
    previous = [m.content for m in history if m.role == "user"]
    if not previous or not is_follow_up(question):
        return question
    present = {t.lower() for t in _subject_terms(question)}
    carried = [t for t in _subject_terms(previous[-1]) if t.lower() not in present]
    if not carried:
        return question
    return f"{question.strip().rstrip('?')} ({' '.join(carried)})?"


def render_history(history: Sequence[Message]) -> str:
    return "\n".join(f"{m.role}: {m.content}" for m in history)
