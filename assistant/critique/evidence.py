"""Evidence for a critique: checked quotes, the plan's closest passages and library context.

Every quote that reaches a draft goes through :class:`Refs`, which checks it against its page and
numbers it the first time it is cited. :class:`Plan` holds the plan under review: the sweep of all
its sentences and the dense comparison of a question with every one of its chunks.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any

import numpy as np

from assistant.core.embeddings import Embedder
from assistant.core.manifest import DocumentRow
from assistant.core.models import Critique, Evidence
from assistant.core.store import VectorStore
from assistant.core.text import sentence_spans, tokenize
from assistant.critique.frameworks import Cause
from assistant.critique.rating import Sentence, Sweep, build_sweep, steers_review

#: Document types whose passages may give a finding supporting context.
CONTEXT_TYPES = ["lessons_learned", "review"]
CONTEXT_PER_CAUSE = 2
CLOSEST_PER_QUESTION = 2
MAX_QUOTE_CHARS = 400
#: Cosine similarity (MiniLM) of a question with a passage: how strongly the plan speaks to it.
STRENGTH = (("strong", 0.55), ("moderate", 0.45), ("weak", 0.35))

# Vectors of framework texts (questions, queries, cause descriptions) per embedder. They depend
# only on the model and the text, so sharing them between drafts leaks nothing, and a second
# draft in the same process (the web UI, the tests) skips re-embedding ~200 texts.
_VECTORS: weakref.WeakKeyDictionary[Any, dict[str, np.ndarray]] = weakref.WeakKeyDictionary()


class Refs:
    """Checks each quote against its page and numbers it the first time it is cited.

    Args:
        page_text: Returns the text of one page of one document, or None when there is none.
    """

    def __init__(self, page_text: Callable[[str, int], str | None]) -> None:
        self._page_text = page_text
        self._pages: dict[tuple[str, int], str] = {}
        self._numbers: dict[tuple[str, int, str], int] = {}
        self.dropped = 0

    def page(self, doc_id: str, page: int) -> str:
        """The text of one page (empty when missing), read once."""
        key = (doc_id, page)
        if key not in self._pages:
            self._pages[key] = self._page_text(doc_id, page) or ""
        return self._pages[key]

    def cite(
        self,
        doc_id: str,
        title: str,
        page: int,
        section: str,
        quote: str,
        stance: str,
        signal: str = "",
        score: float | None = None,
    ) -> Evidence | None:
        """Evidence for a quote that is verbatim on its page (numbered), else None."""
        quote = trim_quote(quote)
        if not quote or quote not in self.page(doc_id, page):
            self.dropped += 1
            return None
        ref = self._numbers.setdefault((doc_id, page, quote), len(self._numbers) + 1)
        return Evidence(
            ref=ref,
            doc_id=doc_id,
            title=title,
            page=page,
            section=section,
            quote=quote,
            stance=stance,  # type: ignore[arg-type]
            signal=signal,
            score=None if score is None else round(score, 3),
        )

    def verify(self, critique: Critique) -> int:
        """Drop every quote that is not verbatim on its page; return how many were checked."""
        checked = 0

        def keep(items: list[Evidence]) -> list[Evidence]:
            nonlocal checked
            checked += len(items)
            good = [e for e in items if e.quote and e.quote in self.page(e.doc_id, e.page)]
            self.dropped += len(items) - len(good)
            return good

        for finding in critique.findings:
            finding.evidence, finding.context = keep(finding.evidence), keep(finding.context)
            for question in finding.searched.questions:
                question.closest = keep(question.closest)
        lenses = [*critique.strengths, *critique.scope_questions, *critique.governance_observations]
        for point in lenses:
            point.evidence = keep(point.evidence)
        return checked


def trim_quote(text: str) -> str:
    """The quote itself, cut at a word boundary when long (a prefix stays verbatim)."""
    text = text.strip()
    if len(text) > MAX_QUOTE_CHARS:
        cut = text.rfind(" ", 0, MAX_QUOTE_CHARS)
        text = text[: cut if cut > 0 else MAX_QUOTE_CHARS].rstrip(" ,;:")
    return text


def leaf(section: str) -> str:
    """The last heading of a section path such as ``"2 Context > 2.1 Users"``."""
    return section.split(" > ")[-1].strip()


def strength(score: float) -> str:
    """The name of the strength band a similarity score falls in, or ``"none"``."""
    return next((name for name, floor in STRENGTH if score >= floor), "none")


def marks(items: list[Evidence]) -> str:
    """The reference markers of some evidence, such as ``"[1][4]"``."""
    return "".join(f"[{e.ref}]" for e in items)


def cause_texts(cause: Cause) -> list[str]:
    """The texts whose centroid stands for a cause in the library-context search."""
    return [f"{cause.name}. {cause.summary}", cause.description or cause.name]


class Plan:
    """The plan under review: its sweep, its chunks and the dense scores against its passages.

    Args:
        row: The plan's manifest row (ready).
        refs: The quote checker of this draft.
        store: The vector store holding the plan's chunks.
        embedder: The embedding model the store was built with.
    """

    def __init__(
        self, row: DocumentRow, refs: Refs, *, store: VectorStore, embedder: Embedder
    ) -> None:
        self.row, self.refs, self.store, self.embedder = row, refs, store, embedder
        self.title = row.title or row.source.rsplit("/", 1)[-1]
        self.sweep: Sweep = build_sweep([refs.page(row.doc_id, p) for p in range(1, row.pages + 1)])
        self._centroids: dict[tuple[str, ...], np.ndarray] = {}
        self._by_page: dict[int, list[Sentence]] = {}
        for sentence in self.sweep.sentences:
            if not sentence.heading:
                self._by_page.setdefault(sentence.page, []).append(sentence)

    def cite(
        self, sentence: Sentence, stance: str, signal: str = "", score: float | None = None
    ) -> Evidence | None:
        """Evidence for one sentence of the plan (None when it is not verbatim on its page)."""
        return self.refs.cite(
            self.row.doc_id,
            self.title,
            sentence.page,
            sentence.section,
            sentence.text,
            stance,
            signal,
            score,
        )

    def embed_questions(self, groups: list[list[str]]) -> None:
        """Embed every question with its queries in one batch; a group's centroid is its query."""
        cache = _VECTORS.setdefault(self.embedder, {})
        todo = list(dict.fromkeys(t for group in groups for t in group if t not in cache))
        if todo:
            cache.update(zip(todo, self.embedder.embed(todo), strict=True))
        vectors = (
            np.array([cache[t] for group in groups for t in group]) if groups else np.zeros((0, 1))
        )
        at = 0
        for group in groups:
            centroid = vectors[at : at + len(group)].mean(axis=0)
            self._centroids[tuple(group)] = centroid / (np.linalg.norm(centroid) or 1.0)
            at += len(group)

    def centroid(self, texts: list[str]) -> np.ndarray:
        """The normalised mean vector of some texts (embedded on first use)."""
        if tuple(texts) not in self._centroids:
            self.embed_questions([texts])
        return self._centroids[tuple(texts)]

    def closest(self, texts: list[str]) -> tuple[float, list[Evidence]]:
        """Compare a question (and its queries) with every chunk of the plan; quote the best."""
        chunks = self.store.query(
            self.centroid(texts), max(self.row.chunks, 1), {"doc_id": self.row.doc_id}
        )
        words = set(tokenize(" ".join(texts)))
        out: list[Evidence] = []
        for chunk in chunks:
            sentence = self._best_sentence(chunk.metadata, words)
            if sentence is None:
                continue
            found = self.cite(sentence, "closest", score=chunk.score)
            if found and all(e.ref != found.ref for e in out):
                out.append(found)
            if len(out) == CLOSEST_PER_QUESTION:
                break
        return (chunks[0].score if chunks else 0.0), out

    def _best_sentence(self, meta: dict[str, Any], words: set[str]) -> Sentence | None:
        page, start, end = int(meta["page"]), int(meta["start"]), int(meta["end"])
        inside = [s for s in self._by_page.get(page, []) if s.start < end and s.end > start]
        if not inside:
            return None
        return max(inside, key=lambda s: (len(words & set(tokenize(s.flat))), -s.start))


def library_context(plan: Plan, cause: Cause, others: list[str]) -> list[Evidence]:
    """Passages of the library's lessons-learned and review documents that bear on a cause.

    Dense search with the cause's own description (embedded in the batch with the questions),
    restricted to ready documents of those types other than the plan itself.

    Args:
        plan: The plan under review (its store, embedder and quote checker are used).
        cause: The cause to find context for.
        others: Ids of the ready documents other than the plan.
    """
    if not others:
        return []
    where = {"$and": [{"doc_id": {"$in": others}}, {"doc_type": {"$in": CONTEXT_TYPES}}]}
    words = set(tokenize(" ".join([*cause_texts(cause), *(q.text for q in cause.questions)])))
    out: list[Evidence] = []
    for chunk in plan.store.query(plan.centroid(cause_texts(cause)), CONTEXT_PER_CAUSE * 3, where):
        meta = chunk.metadata
        spans = [chunk.text[a:b] for a, b in sentence_spans(chunk.text)]
        spans = [s for s in spans if len(s.split()) >= 6 and not steers_review(" ".join(s.split()))]
        if not spans:
            continue
        best = max(spans, key=lambda s: (len(words & set(tokenize(s))), -len(s)))
        found = plan.refs.cite(
            meta["doc_id"],
            meta.get("title", ""),
            int(meta["page"]),
            leaf(meta.get("section", "")),
            best,
            "context",
        )
        if found and all(
            e.ref != found.ref and e.doc_id + str(e.page) != found.doc_id + str(found.page)
            for e in out
        ):
            out.append(found)
        if len(out) == CONTEXT_PER_CAUSE:
            break
    return out
