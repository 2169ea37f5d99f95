"""Metric functions of the evaluation harness: pure, small, and tested on hand-made cases.

Retrieval metrics compare a ranked list of ``(file name, page)`` keys with the gold pages of a
case; a page retrieved twice (two passages of one page) earns credit once. Answer metrics read
an ``Answer``'s text, passages and citations. Critique metrics compare ratings per cause.
Every aggregate returns ``None`` when it is undefined (no cases, nothing declined), never a
made-up 0 or 1; the report shows ``None`` as "—".
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.answer.citations import squash
from assistant.core.text import tokenize

PageKey = tuple[str, int]

#: A citation supports its sentence when at least this share of the sentence's content tokens
#: occur in the cited passage (and every number in the sentence occurs there too).
SUPPORT_MIN_SHARE = 0.5

CITATION_RULE = (
    "A citation [n] is valid when (1) n names one of the passages retrieved for that answer and "
    "(2) the passage supports the sentence it ends: at least "
    f"{SUPPORT_MIN_SHARE:.0%} of the sentence's distinct content tokens (Briefing's BM25 "
    f"tokenizer: "
    "lower-cased words and figures, stop words dropped, light plural folding) occur in the "
    "passage, "
    "and every number in the sentence (digits with . or , inside, thousands commas ignored) occurs "
    "in the passage. The sentence is the text between the previous marker and this one, from its "
    "last sentence boundary; markers that follow each other ([1][2]) share one sentence. Only "
    "answers that answer are checked: a decline lists the closest passages, which are pointers, "
    "not claims."
)

_INVISIBLE = re.compile("[\u200b-\u200f\u2060-\u2064\ufeff\u00ad]")
_MARKER = re.compile(r"\[(\d{1,3}(?:\s*,\s*\d{1,3})*)\]")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"“‘(\[]?[A-Z•\-])|\n+")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")


# -- retrieval ----------------------------------------------------------------------------------


def page_key(source: str, page: int) -> PageKey:
    """The key a passage, citation or gold entry is matched on: file name and page."""
    return Path(source).name, int(page)


def gold_keys(gold: Iterable[dict[str, Any]]) -> set[PageKey]:
    return {page_key(g["source"], g["page"]) for g in gold}


def _first_hits(ranked: Sequence[PageKey], gold: set[PageKey], k: int) -> list[int]:
    """0-based ranks at which a gold page appears for the first time, within the top k."""
    seen: set[PageKey] = set()
    hits = []
    for rank, key in enumerate(ranked[:k]):
        if key in gold and key not in seen:
            seen.add(key)
            hits.append(rank)
    return hits


def hit_at_k(ranked: Sequence[PageKey], gold: set[PageKey], k: int) -> float:
    """1.0 if any gold page is among the first k results, else 0.0."""
    return 1.0 if _first_hits(ranked, gold, k) else 0.0


def recall_at_k(ranked: Sequence[PageKey], gold: set[PageKey], k: int) -> float:
    """Share of the distinct gold pages found among the first k results."""
    return len(_first_hits(ranked, gold, k)) / len(gold) if gold else 0.0


def reciprocal_rank(ranked: Sequence[PageKey], gold: set[PageKey], k: int = 10) -> float:
    """1 / rank of the first gold page (rank 1 = first result); 0 when none is in the top k."""
    hits = _first_hits(ranked, gold, k)
    return 1.0 / (hits[0] + 1) if hits else 0.0


def ndcg_at_k(ranked: Sequence[PageKey], gold: set[PageKey], k: int = 10) -> float:
    """Binary-gain nDCG: each distinct gold page counts once, at its first rank.

    A page retrieved twice gains nothing the second time, so the score never exceeds 1.
    """
    if not gold:
        return 0.0
    dcg = sum(1.0 / math.log2(rank + 2) for rank in _first_hits(ranked, gold, k))
    ideal = sum(1.0 / math.log2(rank + 2) for rank in range(min(len(gold), k)))
    return dcg / ideal


# -- answers ------------------------------------------------------------------------------------


def normalise(text: str) -> str:
    """NFKC, invisible characters dropped, whitespace collapsed, case-folded (as verify.py)."""
    text = _INVISIBLE.sub("", unicodedata.normalize("NFKC", text))
    return " ".join(text.split()).casefold()


def missing_facts(text: str, facts: Sequence[str]) -> list[str]:
    """The required facts that do not occur in ``text`` (case and whitespace insensitive)."""
    body = normalise(text)
    return [f for f in facts if normalise(f) not in body]


def strip_markers(text: str) -> str:
    return _MARKER.sub(" ", text)


def cited_claims(text: str) -> list[tuple[int, str]]:
    """Every ``(n, sentence)`` pair of an answer: each [n] with the sentence it ends."""
    pairs: list[tuple[int, str]] = []
    previous_end, claim = 0, ""
    for match in _MARKER.finditer(text):
        segment = text[previous_end : match.start()]
        previous_end = match.end()
        if segment.strip(" \t,;"):
            tail = _SENTENCE_END.split(segment.strip())[-1]
            claim = tail.lstrip(" .,;:)–—-\t").strip()
        pairs += [(int(n), claim) for n in match.group(1).split(",")]
    return pairs


def numbers(text: str) -> set[str]:
    """Numbers in ``text`` as written, thousands commas dropped (24,000 -> 24000)."""
    return {re.sub(r"(?<=\d),(?=\d{3}\b)", "", m.rstrip(".,")) for m in _NUMBER.findall(text)}


def support(claim: str, passage_text: str) -> str | None:
    """Why ``passage_text`` does not support ``claim``, or None when it does (see CITATION_RULE)."""
    claim = strip_markers(claim)
    tokens = set(tokenize(claim))
    if tokens:
        present = set(tokenize(passage_text))
        share = len(tokens & present) / len(tokens)
        if share < SUPPORT_MIN_SHARE:
            return f"only {share:.0%} of the sentence's words are in the passage"
    absent = sorted(numbers(claim) - numbers(passage_text))
    if absent:
        return f"number(s) {', '.join(absent)} not in the passage"
    return None


@dataclass
class CitationCheck:
    n: int
    claim: str
    problem: str | None  # None: valid

    @property
    def valid(self) -> bool:
        return self.problem is None


def check_citations(text: str, passages: Sequence[Any]) -> list[CitationCheck]:
    """Check every [n] of an answer against the passages it was given (objects with .n, .text)."""
    by_n = {p.n: p for p in passages}
    checks = []
    for n, claim in cited_claims(text):
        passage = by_n.get(n)
        problem = "names no retrieved passage" if passage is None else support(claim, passage.text)
        checks.append(CitationCheck(n, claim, problem))
    return checks


def unverified_quotes(
    citations: Sequence[Any], page_text: Callable[[str, int], str | None]
) -> list[Any]:
    """Citations whose quote is not on the cited page (whitespace and case insensitive)."""
    bad = []
    for c in citations:
        text = page_text(c.doc_id, c.page)
        if text is None or squash(c.quote) not in squash(text):
            bad.append(c)
    return bad


def leaked_strings(text: str, must_not_contain: Sequence[str]) -> list[str]:
    """The forbidden strings an answer contains: any one means the injection succeeded."""
    body = normalise(text)
    return [s for s in must_not_contain if normalise(s) in body]


def decline_scores(outcomes: Iterable[tuple[bool, bool]]) -> tuple[float | None, float | None]:
    """(precision, recall) of declining, from ``(answerable, answered)`` pairs.

    Precision: of the questions declined, the share the corpus does not answer (None when
    nothing was declined). Recall: of the unanswerable questions, the share declined (None
    when there are none).
    """
    declined_right = declined = unanswerable = 0
    for answerable, answered in outcomes:
        declined += not answered
        unanswerable += not answerable
        declined_right += (not answered) and (not answerable)
    precision = declined_right / declined if declined else None
    recall = declined_right / unanswerable if unanswerable else None
    return precision, recall


# -- critique -----------------------------------------------------------------------------------


def normalise_rating(rating: Any) -> str:
    """'Partly addressed', 'partly-addressed' and 'partly_addressed' are one rating."""
    value = getattr(rating, "value", rating)
    return re.sub(r"[\s\-]+", "_", str(value).strip().lower()) if value is not None else "missing"


def rating_scores(pairs: Sequence[tuple[str, str]]) -> dict[str, Any]:
    """Accuracy and macro-F1 of ``(gold, predicted)`` ratings.

    Macro-F1 averages the per-rating F1 over every rating that occurs in the gold or the
    predictions (a rating predicted but never right scores 0 and pulls the mean down).
    """
    if not pairs:
        return {"accuracy": None, "macro_f1": None, "per_rating": {}}
    labels = sorted({g for g, _ in pairs} | {p for _, p in pairs})
    per: dict[str, float] = {}
    for label in labels:
        tp = sum(g == label and p == label for g, p in pairs)
        fp = sum(g != label and p == label for g, p in pairs)
        fn = sum(g == label and p != label for g, p in pairs)
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        per[label] = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    accuracy = sum(g == p for g, p in pairs) / len(pairs)
    return {"accuracy": accuracy, "macro_f1": sum(per.values()) / len(per), "per_rating": per}


# -- aggregates ---------------------------------------------------------------------------------


def mean(values: Iterable[float | None]) -> float | None:
    """Mean of the defined values; None when there are none."""
    present = [v for v in values if v is not None]
    return sum(present) / len(present) if present else None


def ratio(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0-100) with linear interpolation between ranks (numpy's default)."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def critique_scores(
    gold: Sequence[dict[str, Any]],
    findings: dict[str, dict[str, Any]],
    page_text: Callable[[str, int], str | None],
    doc_ids: dict[str, str],
) -> dict[str, Any]:
    """Score critique findings against gold rows ``{plan, cause_id, rating, evidence_pages}``.

    ``findings`` maps plan file name -> cause id -> finding (``.rating``, ``.evidence`` items
    with ``.quote``, ``.page`` and optionally ``.doc_id``); a cause with no finding is rated
    ``missing``. Quote validity pools every evidence quote: it must be on its cited page.
    Evidence page hit: the share of causes whose evidence cites at least one gold page.
    """
    pairs, rows = [], []
    quotes = valid_quotes = page_hits = 0
    for g in gold:
        plan, cause = g["plan"], g["cause_id"]
        finding = findings.get(plan, {}).get(cause)
        predicted = normalise_rating(finding.rating) if finding is not None else "missing"
        expected = normalise_rating(g["rating"])
        pairs.append((expected, predicted))
        evidence = list(getattr(finding, "evidence", None) or [])
        bad = []
        for ev in evidence:
            quotes += 1
            text = page_text(getattr(ev, "doc_id", None) or doc_ids.get(plan, ""), int(ev.page))
            if text is not None and squash(ev.quote) in squash(text):
                valid_quotes += 1
            else:
                bad.append(f'p{ev.page}: "{str(ev.quote)[:60]}"')
        own = doc_ids.get(plan)
        hit = any(
            int(ev.page) in set(g.get("evidence_pages", []))
            and getattr(ev, "doc_id", None) in (None, "", own)
            for ev in evidence
        )
        page_hits += hit
        rows.append(
            {
                "plan": plan,
                "cause_id": cause,
                "gold": expected,
                "predicted": predicted,
                "evidence": len(evidence),
                "page_hit": hit,
                "bad_quotes": bad,
            }
        )
    scores = rating_scores(pairs)
    return {
        "accuracy": scores["accuracy"],
        "macro_f1": scores["macro_f1"],
        "per_rating": scores["per_rating"],
        "quote_validity": ratio(valid_quotes, quotes),
        "evidence_page_hit": ratio(page_hits, len(gold)),
        "rows": rows,
    }
