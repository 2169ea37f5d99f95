"""Citation checking: every [n] must name a retrieved passage; every quote must be in it verbatim.

Unsupported markers are removed from the text and reported, never silently kept.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from assistant.core.models import Citation, Passage
from assistant.core.text import sentence_spans, tokenize

_MARKER = re.compile(r"\[(\d{1,3}(?:\s*,\s*\d{1,3})*)\]")
_QUOTE = re.compile(r"[\"“]([^\"”]{12,400})[\"”]")
_WS = re.compile(r"\s+")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
#: Share of a cited sentence's content words that its passages must hold for it to stand.
SUPPORT_MIN_SHARE = 0.5


def squash(text: str) -> str:
    """Whitespace-insensitive form used to compare quotes with source text."""
    return _WS.sub(" ", text).strip().lower()


@dataclass
class CheckedAnswer:
    text: str
    citations: list[Citation]
    flagged: list[str] = field(default_factory=list)


def best_sentence(passage: Passage, claim: str) -> str:
    """The passage sentence that shares most words with a claim: the quote shown for a citation."""
    claim_tokens = set(tokenize(claim))
    best, best_score = passage.text.strip(), -1.0
    for start, end in sentence_spans(passage.text):
        sentence = passage.text[start:end]
        tokens = set(tokenize(sentence))
        score = len(tokens & claim_tokens) / (len(tokens) ** 0.5 + 1)
        if score > best_score:
            best, best_score = sentence, score
    return best


def supported(sentence: str, passages: list[Passage]) -> bool:
    """Whether the passages a sentence cites hold its figures and most of its content words."""
    claim = _MARKER.sub(" ", sentence)
    source = squash(" ".join(p.text for p in passages))
    digits = {_NUMBER.sub(lambda m: m.group(0).replace(",", ""), n) for n in _NUMBER.findall(claim)}
    plain = source.replace(",", "")
    if any(d not in plain for d in digits):
        return False
    words = {t for t in tokenize(claim) if not t.isdigit() and len(t) > 2}
    if not words:
        return True
    found = set(tokenize(source))
    return len(words & found) / len(words) >= SUPPORT_MIN_SHARE


def check(text: str, passages: list[Passage], *, claims: bool = False) -> CheckedAnswer:
    """Remove citations that name no passage or whose quoted words are not in it.

    With ``claims`` (the LLM path), a sentence whose cited passages do not hold its figures and
    most of its words is removed too, and reported.
    """
    by_n = {p.n: p for p in passages}
    flagged: list[str] = []
    cited: dict[int, str] = {}
    pieces: list[str] = []
    for sentence in re.split(r"(?<=[.!?])\s+", text.strip()):
        quotes = [q for q in _QUOTE.findall(sentence)]

        def keep(match: re.Match[str], sentence: str = sentence, quotes: list[str] = quotes) -> str:
            good = []
            for raw in match.group(1).split(","):
                n = int(raw)
                passage = by_n.get(n)
                if passage is None:
                    flagged.append(f"[{n}] names no retrieved passage; removed")
                    continue
                missing = [q for q in quotes if squash(q) not in squash(passage.text)]
                if missing:
                    flagged.append(
                        f'[{n}] does not contain the quoted words "{missing[0][:60]}"; removed'
                    )
                    continue
                good.append(n)
                cited.setdefault(
                    n,
                    quotes[0]
                    if quotes and quotes[0] in passage.text
                    else best_sentence(passage, sentence),
                )
            return "".join(f"[{n}]" for n in good)

        before = set(cited)
        checked = _MARKER.sub(keep, sentence)
        numbers = [int(x) for m in _MARKER.findall(checked) for x in m.split(",")]
        if claims and numbers and not supported(sentence, [by_n[n] for n in numbers]):
            flagged.append(f'unsupported claim removed: "{_MARKER.sub("", sentence).strip()[:80]}"')
            for n in set(cited) - before:
                del cited[n]
            continue
        pieces.append(checked)
    cleaned = re.sub(r"[ \t]+([.,;:])", r"\1", " ".join(pieces)).strip()
    citations = [
        Citation(
            n=n,
            doc_id=p.doc_id,
            title=p.title,
            source=p.source,
            page=p.page,
            section=p.section,
            quote=cited[n],
            score=p.score,
        )
        for n, p in sorted(by_n.items())
        if n in cited
    ]
    return CheckedAnswer(cleaned, citations, flagged)
