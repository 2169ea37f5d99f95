"""The default answerer, no model needed: the retrieved sentences that best answer the question.

Each candidate sentence is scored by meaning (cosine similarity with the question, MiniLM) and by
the share of the question's rarer words it contains (BM25 idf weights); the best few, de-duplicated
and in document order, form the answer, each followed by its citation. When even the best
sentence is weak, the answer says so plainly and lists the closest passages instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from assistant.answer.lexical import LexicalIndex
from assistant.core.embeddings import Embedder
from assistant.core.guard import is_instruction
from assistant.core.models import Passage
from assistant.core.text import sentence_spans, tokenize

NOT_ANSWERED = "The documents do not appear to answer this; the closest passages are:"
_HEADINGISH = re.compile(r"^(?:#+\s|\d+(?:\.\d+)*\s+\S+(?:\s+\S+){0,6}$|page \d+$)", re.IGNORECASE)


# What kind of answer a question wants, and what a sentence must contain to give it.
_WANTS = [
    (
        "money",
        re.compile(
            r"\bhow much\b|\b(?:budget|cost|funding|spend|spent|allocat\w*|price)\b.*\?$|\bhow "
            r"expensive\b",
            re.I,
        ),
        re.compile(
            r"\d[\d.,]*\s*(?:%|per ?cent|million|billion|bn|m\b|thousand|[A-Z]{3}\b)|[$€£]\s?\d",
            re.I,
        ),
    ),
    (
        "share",
        re.compile(
            r"\b(?:what|which)\s+(?:percentage|share|proportion|fraction|rate)\b|\bwhat per ?cent",
            re.I,
        ),
        re.compile(
            r"\d\s*(?:%|per ?cent)|\b\d+ (?:in|of|out of) \d+\b|\bhalf\b|\bthird\b|\bquarter\b",
            re.I,
        ),
    ),
    (
        "count",
        re.compile(r"\bhow many\b", re.I),
        re.compile(
            r"\b\d[\d,.]*\b|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|dozen)\b",
            re.I,
        ),
    ),
    (
        "date",
        re.compile(
            r"^\s*when\b|\bwhat (?:date|year|month)\b|\bby when\b|\bwhich (?:date|year)\b|\bon "
            r"what date\b",
            re.I,
        ),
        re.compile(
            r"\b(?:19|20)\d\d\b|\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\b|\bq[1-4]\b",
            re.I,
        ),
    ),
]


_ASKS_WHO = re.compile(
    r"^\s*who\b|\bwhich "
    r"(?:body|agency|institution|ministry|organi[sz]ation|office|unit|committee|department|minister)\b"
    r"|\bwho (?:is|are|will)\b",
    re.I,
)
_NAMES_SOMEONE = re.compile(
    r"\b(?:lead body|led by|responsible|chair(?:ed|s)?|owner|headed by|run by|operated "
    r"by)\b|(?:\b[A-Z][a-z]+\s+){2,}",
    re.UNICODE,
)
WHO_BONUS = 0.08


def answer_kind(question: str) -> tuple[str, re.Pattern[str]] | None:
    """The kind of fact a question asks for (money, share, count, date), if it is that specific."""
    for kind, asks, gives in _WANTS:
        if asks.search(question):
            return kind, gives
    return None


@dataclass
class Scored:
    passage: Passage
    start: int
    end: int
    text: str
    score: float
    dense: float
    lexical: float


def _candidates(passages: list[Passage]) -> list[tuple[Passage, int, int, str]]:
    out = []
    for passage in passages:
        for start, end in sentence_spans(passage.text):
            sentence = passage.text[start:end].strip()
            words = sentence.split()
            if len(words) < 4 or _HEADINGISH.match(sentence) or is_instruction(sentence):
                continue
            out.append((passage, start, end, sentence))
    return out


def _overlap(
    query_tokens: list[str], sentence: str, index: LexicalIndex, context: str = ""
) -> float:
    """Share of the question's idf weight in the sentence or its document's title and section."""
    if not query_tokens:
        return 0.0
    weights = {t: index.idf(t) for t in set(query_tokens)}
    present = set(tokenize(sentence)) | set(tokenize(context))
    total = sum(weights.values()) or 1.0
    return sum(w for t, w in weights.items() if t in present) / total


class ExtractiveAnswerer:
    """Composes an answer from retrieved sentences.

    Args:
        embedder: scores sentences by meaning.
        min_score: below this best-sentence score the documents "do not appear to answer".
        max_sentences: sentences in an answer.
        lexical_weight: share of the score from word overlap (the rest is cosine similarity).
    """

    name = "extractive"

    def __init__(
        self,
        embedder: Embedder,
        min_score: float = 0.45,
        max_sentences: int = 3,
        lexical_weight: float = 0.35,
    ) -> None:
        if not 0 <= lexical_weight <= 1:
            raise ValueError(f"lexical_weight must be in [0, 1], got {lexical_weight}")
        self.embedder = embedder
        self._vectors: dict[
            str, np.ndarray
        ] = {}  # sentence -> vector; passages recur across questions
        self.min_score = min_score
        self.max_sentences = max_sentences
        self.lexical_weight = lexical_weight

    def score(self, question: str, passages: list[Passage], index: LexicalIndex) -> list[Scored]:
        candidates = _candidates(passages)
        if not candidates:
            return []
        dense = self._similarities(question, [c[3] for c in candidates])
        query_tokens = tokenize(question)
        asks_who = bool(_ASKS_WHO.search(question))
        scored = []
        for (passage, start, end, sentence), cos in zip(candidates, dense, strict=True):
            lex = _overlap(query_tokens, sentence, index, f"{passage.title} {passage.section}")
            total = (1 - self.lexical_weight) * float(cos) + self.lexical_weight * lex
            if asks_who and _NAMES_SOMEONE.search(sentence):
                total += WHO_BONUS  # "which body…?" is answered by a sentence that names one
            scored.append(Scored(passage, start, end, sentence, total, float(cos), lex))
        scored.sort(key=lambda s: -s.score)
        return scored

    def _similarities(self, question: str, sentences: list[str]) -> np.ndarray:
        missing = list(dict.fromkeys(s for s in sentences if s not in self._vectors))
        vectors = self.embedder.embed([question] + missing)
        if len(self._vectors) > 50_000:
            self._vectors.clear()
        self._vectors.update(zip(missing, vectors[1:], strict=True))
        return np.stack([self._vectors[s] for s in sentences]) @ vectors[0]

    def answer(
        self, question: str, passages: list[Passage], index: LexicalIndex
    ) -> tuple[str, bool, list[tuple[Passage, str]]]:
        """Return (text with [n] markers, answered, [(passage, quoted sentence)])."""
        scored = self.score(question, passages, index)
        wanted = answer_kind(question)
        if wanted:  # a question for a figure or a date is answered only by a sentence that has one
            scored = [s for s in scored if wanted[1].search(s.text)]
        if not scored or scored[0].score < self.min_score:
            return self._closest(passages)
        chosen: list[Scored] = []
        for item in scored:
            if len(chosen) == self.max_sentences or item.score < max(
                self.min_score, scored[0].score - 0.15
            ):
                break
            tokens = set(tokenize(item.text))
            if any(_jaccard(tokens, set(tokenize(c.text))) > 0.6 for c in chosen):
                continue
            chosen.append(item)
        chosen.sort(key=lambda s: (s.passage.n, s.start))
        text = " ".join(f"{_one_line(s.text)} [{s.passage.n}]" for s in chosen)
        return text, True, [(s.passage, s.text) for s in chosen]

    @staticmethod
    def _closest(passages: list[Passage]) -> tuple[str, bool, list[tuple[Passage, str]]]:
        if not passages:
            return (
                "The documents do not appear to answer this, and no passage came close.",
                False,
                [],
            )
        lines = [NOT_ANSWERED]
        quotes = []
        for passage in passages[:3]:
            where = f"{passage.title}, page {passage.page}" + (
                f", {passage.section}" if passage.section else ""
            )
            lines.append(f"- {where} [{passage.n}]")
            spans = sentence_spans(passage.text)
            quotes.append(
                (passage, passage.text[spans[0][0] : spans[0][1]] if spans else passage.text)
            )
        return "\n".join(lines), False, quotes


def _one_line(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / max(len(a | b), 1)
