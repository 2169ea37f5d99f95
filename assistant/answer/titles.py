"""Which document a question names by its title ("the state handbook", "the field guide"), so
that retrieval can search that document once more for the rest of the question.

Titles come from the manifest, read again only when the set of ready documents changes; an
inverted index from title words to documents keeps a question's cost to the documents whose
titles share one of its words, never a scan of the library.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from assistant.core.manifest import Manifest
from assistant.core.text import tokenize

MARGIN = 0.05  # the named document's share must beat the next title's by this much


class TitleIndex:
    """Title words of the ready documents, and the document a question names."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._for: frozenset[str] = frozenset()
        self._words: dict[str, set[str]] = {}  # doc_id -> its title's words
        self._docs: dict[str, set[str]] = {}  # title word -> doc_ids

    def _refresh(self, ready: set[str], manifest: Manifest) -> None:
        with self._lock:
            if self._for == ready:
                return
            words = {r.doc_id: set(tokenize(r.title)) for r in manifest.all("ready")}
            docs: dict[str, set[str]] = {}
            for doc_id, title in words.items():
                for word in title:
                    docs.setdefault(word, set()).add(doc_id)
            self._words, self._docs, self._for = words, docs, frozenset(ready)

    def named(
        self,
        query: str,
        ready: set[str],
        manifest: Manifest,
        idf: Callable[[str], float],
        share: float,
    ) -> tuple[str, str] | None:
        """``(doc_id, the rest of the question)`` when one document's title carries at least
        ``share`` of the question's key-term weight (BM25 idf), clearly more than any other
        title does; None otherwise or when nothing of the question is left."""
        if self._for != ready:
            self._refresh(ready, manifest)
        words, docs = self._words, self._docs
        terms = list(dict.fromkeys(tokenize(query)))
        weight = {t: idf(t) for t in terms}
        total = sum(weight.values())
        if total <= 0:
            return None
        shares: dict[str, float] = {}
        for term, w in weight.items():
            for doc_id in docs.get(term, ()):
                shares[doc_id] = shares.get(doc_id, 0.0) + w / total
        ranked = sorted(shares.items(), key=lambda kv: (-kv[1], kv[0]))
        if not ranked or ranked[0][1] < share:
            return None
        if len(ranked) > 1 and ranked[0][1] - ranked[1][1] < MARGIN:
            return None  # two titles share the words asked ("GAO" in every GAO report)
        doc_id = ranked[0][0]
        rest = " ".join(t for t in terms if t not in words.get(doc_id, ()))
        return (doc_id, rest) if rest else None
