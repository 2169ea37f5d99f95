"""The default answerer, no model needed: a short briefing quoted from the retrieved passages.

Passages are cut into whole units (sentences, list items with their lead-in, table rows; page
furniture and bare headings left out, see :mod:`assistant.answer.units`). Each unit is scored by
the share of the question's key terms it carries (BM25 idf weights; a term elsewhere in its
paragraph counts half) and by its passage's rank and meaning. Whether the documents answer at
all is decided from several signals (see :class:`Evidence`), not from one similarity threshold.
A closed question ("Can X be Y?") gets the yes or no its lead statement says outright (see
:mod:`assistant.answer.polarity`).
A multi-part question ("X, and Y?", "How does A compare with B on Z?") arrives already split and
retrieved part by part; each part is briefed under its own heading, and a part without evidence
is declined alone.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from assistant.answer.briefing import Piece, Scored, compose, render
from assistant.answer.evidence import Evidence, check_kind, mentions, rank_units
from assistant.answer.junk import FurnitureIndex, unit_junk_reason
from assistant.answer.lexical import LexicalIndex
from assistant.answer.polarity import verdict
from assistant.answer.questions import (
    NAMES_SOMEONE,
    asks_contact,
    asks_who,
    gives_contact,
    key_terms,
    names_in,
    unit_asked,
)
from assistant.answer.units import Unit, split_units
from assistant.core.embeddings import Embedder
from assistant.core.guard import is_instruction
from assistant.core.models import Passage
from assistant.core.text import acronyms, tokenize

NOT_ANSWERED = "The documents do not appear to answer this; the closest passages are:"
PART_NOT_ANSWERED = "The documents do not appear to answer this part."
DEFAULT_MIN_EVIDENCE = 0.2
WHO_BONUS = 0.1  # added to a unit naming a lead body when the question asks who
OFF_SUBJECT = 0.6  # weight of a passage that names none of the question's names or codes
MEANING_SHARE = 0.4  # of a re-scored unit's score that comes from its meaning (cosine)
MEANING_WORDS = 40  # words of a passage embedded to check its meaning (short inputs stay fast)
UNIT_MEANING_WORDS = 80  # words of a unit, its lead-in first, embedded to re-score it (40 words
# without the lead-in: peer-qa key terms 0.702; 80 with it: 0.710)
DENSE_CHECKED = 2  # top passages found by BM25 alone whose meaning is checked
MAX_PAGES_READ = 3000  # pages of a document read to find its running headers
LOWER_CASE_DOCS = 200  # documents whose lower-case words are kept (read for name questions)
PART_WORDS = 50  # at least this many words for each part of a multi-part answer
CUT_MIN_WORDS = 6  # a cut-off sentence shorter than this is a fragment, never quoted
_CUT_OFF = re.compile(r"(?:^|\s)[a-z][a-z'’]*[-,]?\s*$")  # on a lower-case word ("imple-"), not
# on an address ("fraudnet@gao.gov") or a figure
_LOWER_WORD = re.compile(r"(?<![\w.@/])[a-z]{3,}(?![\w@/]|\.[a-z])")  # not www.astravia.gov
_VARIANTS = ("", "s", "e", "es", "ed", "ing", "ion", "ions", "al", "ly", "er", "ers")

Quotes = list[tuple[Passage, str]]


@dataclass
class Briefing:
    """An extractive answer: text with [n] markers, whether it answers, and the quotes cited."""

    text: str
    answered: bool
    quotes: Quotes
    evidence: list[Evidence] = field(default_factory=list)


class ExtractiveAnswerer:
    """Composes briefings from retrieved passages.

    Args:
        embedder: checks the meaning of passages found by BM25 alone (and of units, optionally).
        min_score: evidence log-odds below which the documents "do not appear to answer".
        max_sentences: key points after the opening statement.
        answer_words: about how many words of quoted text an answer has.
        dense_units: best units per question re-scored by meaning, one batch of short texts
            (0: off). 20 raised the peer-qa key terms from 0.656 to 0.675; 12 scores as 20 did on
            the real-document suites at two thirds of the time, 8 loses a realdocs fact.
    """

    name = "extractive"

    def __init__(
        self,
        embedder: Embedder,
        min_score: float = DEFAULT_MIN_EVIDENCE,
        max_sentences: int = 4,
        answer_words: int = 120,
        dense_units: int = 12,
    ) -> None:
        if answer_words < 20:
            raise ValueError(f"answer_words must be at least 20, got {answer_words}")
        if max_sentences < 1:
            raise ValueError(f"max_sentences must be at least 1, got {max_sentences}")
        self.embedder = embedder
        self.min_score = min_score
        self.max_points = max_sentences
        self.answer_words = answer_words
        self.dense_units = dense_units
        self._vectors: dict[str, np.ndarray] = {}
        #: ``page_text(doc_id, page)`` of the manifest: pages to find running headers on
        self.page_text: Callable[[str, int], str | None] | None = None
        self._furniture: dict[str, FurnitureIndex] = {}  # doc_id -> its running headers
        self._lower_case: dict[str, frozenset[str]] = {}  # doc_id -> words it writes in lower case

    # -- reading passages ------------------------------------------------------------------
    def furniture(self, index: LexicalIndex, doc_id: str) -> FurnitureIndex:
        """Running headers and footers of one document, read from its pages once (cached)."""
        if doc_id not in self._furniture:
            if len(self._furniture) > 1000:
                self._furniture.clear()
            self._furniture[doc_id] = FurnitureIndex(self._pages(doc_id, index))
        return self._furniture[doc_id]

    def in_lower_case(self, word: str, doc_ids: set[str], index: LexicalIndex) -> bool:
        """Whether one of the documents writes the word in lower case: "border" is, "steinhardt"
        is not. A document's words are read the first time a question asks for a person or a name
        ("which company...?")."""
        for doc_id in sorted(doc_ids):
            if doc_id not in self._lower_case:
                if len(self._lower_case) >= LOWER_CASE_DOCS:
                    self._lower_case.clear()
                self._lower_case[doc_id] = frozenset(
                    w for *_, text in self._pages(doc_id, index) for w in _LOWER_WORD.findall(text)
                )
            if word in self._lower_case[doc_id]:
                return True
        return False

    def _pages(self, doc_id: str, index: LexicalIndex) -> list[tuple[str, int, int, str]]:
        if self.page_text is None:  # an in-memory index that holds its chunks
            chunks = getattr(index, "chunks", [])
            return [
                (doc_id, int(c.metadata["page"]), int(c.metadata.get("start", 0)), c.text)
                for c in chunks
                if c.metadata.get("doc_id") == doc_id
            ]
        pages = []
        for page in range(1, MAX_PAGES_READ + 1):
            text = self.page_text(doc_id, page)
            if text is None:
                break
            pages.append((doc_id, page, 0, text))
        return pages

    def units(self, passage: Passage, index: LexicalIndex) -> list[Unit]:
        """The passage's units; furniture, glossaries, captions and instructions marked junk."""
        furniture = self.furniture(index, passage.doc_id)
        found = split_units(
            passage.n, passage.text, lambda line: furniture.is_furniture(passage.doc_id, line)
        )
        for unit in found:
            unit.junk = not_answer_material(unit.raw, unit.kind)
        last = found[-1] if found else None
        if last is not None and last.kind == "sentence" and _CUT_OFF.search(last.raw):
            last.cut = True  # the sentence goes on past the chunk (often over the page)
            last.junk = last.junk or last.words < CUT_MIN_WORDS  # "If the key"
        return found

    @staticmethod
    def known(term: str, index: LexicalIndex) -> bool:
        """Whether the corpus has the term in some form (interconnect: interconnecting)."""
        ceiling = index.idf("\x00")
        stems = {term, term[:-1], term[:-2], term[:-3]} if len(term) > 5 else {term}
        return any(index.idf(s + v) < ceiling - 1e-9 for s in stems for v in _VARIANTS)

    # -- scoring -------------------------------------------------------------------------------
    def score(
        self, question: str, passages: list[Passage], index: LexicalIndex
    ) -> tuple[list[Scored], Evidence]:
        """Units ranked best first, and the evidence that the passages answer the question."""
        terms = key_terms(question)
        weights = {t: index.idf(t) for t in terms}
        total = sum(weights.values()) or 1.0
        unknown = sum(not self.known(t, index) for t in terms)
        evidence = Evidence(unknown_terms=unknown / max(len(terms), 1))
        names = names_in(question)
        top_dense = max((p.score for p in passages), default=0.0) or 1.0
        ranked: list[Scored] = []
        seen: set[str] = set()
        defined = {  # what the question spells out, where a unit abbreviates it
            short: long
            for short, long in acronyms("\n".join(p.text for p in passages)).items()
            if short not in weights
        }
        for rank, passage in enumerate(passages):
            units = self.units(passage, index)
            context = set(tokenize(f"{passage.title} {passage.section}"))
            if rank < 3:
                seen |= context | set(tokenize(passage.text))
            where = f"{passage.title} {passage.section} {passage.text}".lower()
            subject = OFF_SUBJECT if names and not any(mentions(n, where) for n in names) else 1.0
            prior = 0.5 / (1.0 + 0.3 * rank) + 0.5 * passage.score / top_dense
            ranked += rank_units(
                units,
                passage,
                context,
                weights,
                total,
                subject * 0.25 * prior,
                subject * 0.75,
                defined,
            )
        evidence.coverage = sum(w for t, w in weights.items() if t in seen) / total
        evidence.dense = self._meaning(question, passages)
        _favour_what_is_asked(question, ranked, names)
        ranked.sort(key=lambda s: -s.score)
        if ranked:
            evidence.best_lexical = ranked[0].lexical
        # on the key-term order it was fitted on
        docs = {p.doc_id for p in passages}
        check_kind(
            question,
            passages,
            ranked,
            evidence,
            lambda t: self.known(t, index),
            index.idf,
            lambda word: self.in_lower_case(word, docs, index),
        )
        for scored in ranked:
            scored.key = scored.score  # what a key point must reach (see ``compose``)
        if self.dense_units and ranked:
            self._add_meaning(question, ranked)
        return ranked, evidence

    def _meaning(self, question: str, passages: list[Passage]) -> float:
        """The best question-passage cosine; the top passages BM25 alone found are embedded."""
        best = max((p.score for p in passages), default=0.0)
        unscored = [p for p in passages[:DENSE_CHECKED] if p.dense_rank is None]
        if not unscored:
            return best
        texts = [" ".join(p.text.split()[:MEANING_WORDS]) for p in unscored]
        vectors = self._embed([question, *texts])
        return max(best, *(float(vectors[t] @ vectors[question]) for t in texts))

    def _embed(self, texts: list[str]) -> dict[str, np.ndarray]:
        missing = [t for t in dict.fromkeys(texts) if t not in self._vectors]
        if missing:
            if len(self._vectors) > 50_000:
                self._vectors.clear()
            self._vectors.update(zip(missing, self.embedder.embed(missing), strict=True))
        return {t: self._vectors[t] for t in texts}

    def _add_meaning(self, question: str, ranked: list[Scored]) -> None:
        head = ranked[: self.dense_units]
        texts = [_meant(s) for s in head]
        vectors = self._embed([question, *texts])
        for scored, text in zip(head, texts, strict=True):
            cosine = float(vectors[text] @ vectors[question])
            scored.score = (1 - MEANING_SHARE) * scored.score + MEANING_SHARE * cosine
        ranked[: len(head)] = sorted(head, key=lambda s: -s.score)

    # -- answers -------------------------------------------------------------------------------
    def answer(
        self, question: str, passages: list[Passage], index: LexicalIndex
    ) -> tuple[str, bool, Quotes]:
        """Return (text with [n] markers, answered, [(passage, quoted text)]) for one question."""
        result = self.brief(question, passages, index)
        return result.text, result.answered, result.quotes

    def brief(
        self, question: str, passages: list[Passage], index: LexicalIndex, words: int | None = None
    ) -> Briefing:
        """A briefing of about ``words`` words (default ``answer_words``), or a plain decline."""
        pieces, evidence = self._part(question, passages, index, words or self.answer_words)
        if pieces is None:
            text, quotes = self._closest(passages, index)
            return Briefing(text, False, quotes, [evidence])
        text = render(pieces, self._joiner(index))
        said = verdict(question, [u.raw for u in pieces[0].statement()])
        if said:  # a closed question: the lead's own yes or no first
            grouped = len({p.passage.doc_id for p in pieces}) > 1  # starts with a title line
            text = f"{said}.\n{text}" if grouped else f"{said}. {text}"
        return Briefing(text, True, _quotes(pieces), [evidence])

    def brief_parts(
        self,
        parts: Sequence[tuple[str, str, list[Passage]]],
        index: LexicalIndex,
        words: int | None = None,
    ) -> Briefing:
        """A briefing per part ``(heading, query, passages)``, each under its own heading.

        A part without evidence says so by itself; the answer answers when any part does.
        """
        budget = max(PART_WORDS, (words or self.answer_words) // max(len(parts), 1) + 20)
        blocks, quotes, evidence = [], [], []
        for i, (heading, query, passages) in enumerate(parts, 1):
            pieces, found = self._part(query, passages, index, budget)
            evidence.append(found)
            body = render(pieces, self._joiner(index)) if pieces else PART_NOT_ANSWERED
            blocks.append(f"**{i}. {heading[:1].upper()}{heading[1:]}**\n{body}")
            quotes += _quotes(pieces or [])
        return Briefing("\n\n".join(blocks), bool(quotes), quotes, evidence)

    def _part(
        self, question: str, passages: list[Passage], index: LexicalIndex, budget: int
    ) -> tuple[list[Piece] | None, Evidence]:
        ranked, evidence = self.score(question, passages, index)
        if not ranked or not evidence.answers(self.min_score):
            return None, evidence
        return compose(ranked, budget, floor=0.2, max_pieces=self.max_points + 1) or None, evidence

    @staticmethod
    def _joiner(index: LexicalIndex) -> Callable[[str], bool]:
        ceiling = index.idf("\x00")
        return lambda word: bool(tokenize(word)) and index.idf(tokenize(word)[0]) < ceiling - 1e-9

    def _closest(self, passages: list[Passage], index: LexicalIndex) -> tuple[str, Quotes]:
        if not passages:
            return "The documents do not appear to answer this, and no passage came close.", []
        lines, quotes = [NOT_ANSWERED], []
        for passage in passages[:3]:
            where = f"{passage.title}, page {passage.page}"
            lines.append(
                f"- {where}"
                + (f", {passage.section}" if passage.section else "")
                + f" [{passage.n}]"
            )
            units = [u for u in self.units(passage, index) if not u.junk]
            quotes.append((passage, units[0].raw if units else passage.text))
        return "\n".join(lines), quotes


def _meant(scored: Scored) -> str:
    """The text a unit's meaning is read from: an item or row with its lead-in ("The following
    travellers are ineligible: protection claimants..."), a sentence alone."""
    unit = scored.unit
    lead = scored.units[unit.lead].raw if unit.lead is not None else ""
    return " ".join(f"{lead} {unit.raw}".split()[:UNIT_MEANING_WORDS])


def _favour_what_is_asked(question: str, ranked: list[Scored], names: list[str]) -> None:
    """Lift the units that give what the question asks for: a lead body ("which body...?"), a
    figure in the unit asked ("within how many days", in proportion to the unit's key terms),
    an e-mail address or telephone number beside whom the question names."""
    if asks_who(question):
        for scored in ranked:
            if NAMES_SOMEONE.search(scored.unit.raw):
                scored.score += WHO_BONUS
    if unit := unit_asked(question):
        top = max((s.lexical for s in ranked), default=0.0) or 1.0
        for scored in ranked:
            if unit[1].search(scored.unit.raw):
                scored.score += WHO_BONUS * scored.lexical / top
    if contact := asks_contact(question):
        for scored in ranked:
            raw = scored.unit.raw
            named = any(mentions(n, raw.lower()) for n in names) if names else scored.lexical > 0
            if named and gives_contact(raw, contact):
                scored.score += WHO_BONUS


def not_answer_material(text: str, kind: str = "sentence") -> bool:
    """A unit never quoted: under three words (unless an e-mail address or telephone number:
    "E-mail: fraudnet@gao.gov"), a glossary, caption or contents line, or a planted instruction."""
    return (
        len(text.split()) < 3
        and not gives_contact(text)
        or bool(unit_junk_reason(text, kind))
        or is_instruction(text)
    )


def _quotes(pieces: list[Piece]) -> Quotes:
    """One verbatim quote per piece: the whole piece as the page has it, else its longest unit."""
    return [(p.passage, _quote(p)) for p in pieces]


def _quote(piece: Piece, limit: int = 700) -> str:
    text = piece.passage.text
    first, last = piece.units[0].raw, piece.units[-1].raw
    start = text.find(first)
    end = text.find(last, max(start, 0)) + len(last) if start >= 0 else -1
    if start >= 0 and end > start and end - start <= limit:
        return text[start:end]
    return max(piece.units, key=lambda u: u.words).raw
