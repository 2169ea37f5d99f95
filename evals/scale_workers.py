"""The child processes of ``briefing bench scale``: build a store, open it cold, serve from it.

A synthetic store is written through the project's own API (``VectorStore.upsert`` and the
manifest's ``start``/``finish``): documents of 500 chunks whose texts and vectors come from the
query benchmark's generator. ``variant`` "old" plugs ``RebuiltIndex`` into the retriever: the
lexical index of the version before the on-disk one, an in-memory bm25s index rebuilt from
every ready chunk read back from the store whenever the manifest changes.
"""

from __future__ import annotations

import hashlib
import random
import time
from pathlib import Path
from typing import Any

import numpy as np

CHUNKS_PER_DOC = 500
QUESTION = "What does the appendix say about the zebrafish quota?"
APPENDIX = """# Appendix Z: Aquatic research quotas

## Z.1 The zebrafish quota

The appendix sets the zebrafish quota for national research laboratories at 4,200 animals a
year from 2027, reviewed every two years by the Fisheries Research Council.

Laboratories that exceed the zebrafish quota report the excess to the council within thirty
days and explain the scientific need.
"""


def rss_gib() -> dict[str, float]:
    """This process's resident memory now and at its peak, in GiB."""
    out = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(("VmRSS", "VmHWM")):
            out[line.split(":")[0].lower()] = int(line.split()[1]) / 1024 / 1024
    return {"rss_gib": out.get("vmrss", 0.0), "peak_gib": out.get("vmhwm", 0.0)}


class RebuiltIndex:
    """The old lexical index: every ready chunk read from the store into bm25s on each change."""

    def __init__(self, retriever: Any) -> None:
        self.retriever = retriever
        self.generation: Any = None
        self.live: dict[str, int] = {}

    def __call__(self, ready: set[str] | None = None) -> RebuiltIndex:
        import bm25s

        from assistant.core.text import tokenize

        generation = self.retriever.manifest.generation()
        if generation != self.generation:
            ready = self.retriever.manifest.ready_ids()
            chunks = [
                c for c in self.retriever.store.iter_chunks() if c.metadata["doc_id"] in ready
            ]
            corpus = [
                tokenize(f"{c.metadata.get('section', '')}\n{c.text}") or [""] for c in chunks
            ]
            self.bm25 = bm25s.BM25()
            if chunks:
                self.bm25.index(corpus, show_progress=False)
            self.df: dict[str, int] = {}
            for tokens in corpus:
                for token in set(tokens):
                    self.df[token] = self.df.get(token, 0) + 1
            self.chunks = chunks
            self.by_doc = {(c.metadata["doc_id"], c.metadata["chunk_index"]): c.id for c in chunks}
            self.live = {d: 0 for d in ready}
            self.generation = generation
        return self

    def __len__(self) -> int:
        return len(self.chunks)

    def idf(self, token: str) -> float:
        n, df = max(len(self.chunks), 1), self.df.get(token, 0)
        return float(np.log(1 + (n - df + 0.5) / (df + 0.5)))

    def search(self, query: str, k: int, documents: Any = None) -> list[Any]:
        from assistant.answer.lexical import LexicalHit
        from assistant.core.text import tokenize

        tokens = [t for t in tokenize(query) if t in self.df]
        if not tokens or not self.chunks:
            return []
        scores = self.bm25.get_scores(tokens)
        if documents is not None:
            scores = scores * np.asarray([c.metadata["doc_id"] in documents for c in self.chunks])
        top = np.argsort(-scores, kind="stable")[:k]
        return [
            LexicalHit(self.chunks[i].id, self.chunks[i].metadata["doc_id"], float(scores[i]))
            for i in top
            if scores[i] > 0
        ]

    def neighbour(self, doc_id: str, chunk_index: int) -> str | None:
        return self.by_doc.get((doc_id, chunk_index))


def build_store(settings: Any, n_chunks: int, log: Any) -> dict[str, Any]:
    """Write ``n_chunks`` synthetic chunks (documents of ``CHUNKS_PER_DOC``) into a data dir."""
    import evals.bench_query as bq
    from assistant.core.embeddings import make_embeddings, resolve_model_path
    from assistant.core.manifest import Manifest
    from assistant.core.store import VectorStore
    from evals.bench_ingest import _ASPECTS, _TOPICS

    t0 = time.perf_counter()
    embedder = make_embeddings(settings)
    try:
        model_dir = resolve_model_path(settings.embedding_model)[0]
    except Exception:
        model_dir = None
    rng = random.Random(bq.SEED)
    zipf = bq._Zipf(bq._vocabulary(model_dir), rng)
    pool = [bq._pool_sentence(rng, zipf) for _ in range(bq.POOL_SENTENCES)]
    pool_vectors = embedder.embed(pool)
    store = VectorStore(settings, embedder.name, embedder.dimension)
    manifest = Manifest(settings.manifest_path)
    n_docs = n_chunks // CHUNKS_PER_DOC
    for d in range(n_docs):
        doc_id = hashlib.sha256(f"bench-scale-doc-{d}".encode()).hexdigest()
        source = f"/synthetic/bench-scale/plan-{d:04d}.pdf"
        doc_type = ["master_plan", "review", "lessons_learned", "other"][d % 4]
        title = f"Synthetic plan {d:04d}: {_TOPICS[d % len(_TOPICS)]}"
        manifest.start(doc_id, source, 1_000_000 + d, doc_type)
        ids, texts, vectors, metas, pages, parts, length = [], [], [], [], [], [], 0
        section = ""
        for i in range(CHUNKS_PER_DOC):
            if i % 10 == 0:
                section = f"{i // 50 + 1}.{i // 10 % 5 + 1} {rng.choice(_ASPECTS)}"
            picks = rng.sample(range(bq.POOL_SENTENCES), rng.randrange(2, 4))
            text = " ".join(pool[p] for p in picks) + " " + bq._numbers_sentence(rng, zipf)
            weights = np.asarray([rng.uniform(0.6, 1.0) for _ in picks], dtype=np.float32)
            vector = (pool_vectors[picks] * weights[:, None]).sum(axis=0)
            vectors.append(vector / np.linalg.norm(vector))
            length += 2 if parts else 0
            start = length
            parts.append(text)
            length += len(text)
            ids.append(f"{doc_id}-{i:05d}")
            texts.append(text)
            metas.append(
                {"doc_id": doc_id, "source": source, "title": title, "doc_type": doc_type,
                 "year": 2019 + d % 8, "page": len(pages) + 1, "section": section,
                 "chunk_index": i, "start": start, "end": length}
            )  # fmt: skip
            if i % 3 == 2 or i == CHUNKS_PER_DOC - 1:
                pages.append("\n\n".join(parts))
                parts, length = [], 0
        store.upsert(ids, texts, np.vstack(vectors).astype(np.float32), metas)
        manifest.finish(
            doc_id, title=title, doc_type=doc_type, year=2019 + d % 8, pages=pages,
            chunks=CHUNKS_PER_DOC, notes="",
        )  # fmt: skip
        if d % 50 == 0:
            log(f"{n_chunks:,}-chunk store: {d * CHUNKS_PER_DOC:,} written")
    manifest.close()
    return {"chunks": store.count(), "seconds": time.perf_counter() - t0}


def open_service(settings: Any, variant: str, writer: bool = False, embeddings: Any = None) -> Any:
    from assistant.service import build_service

    service = build_service(
        settings.model_copy(update={"answer_backend": "extractive"}), embeddings, writer=writer
    )
    if variant == "old":  # the old retriever, and the old service: no index update on ingest
        service.retriever.lexical_index = RebuiltIndex(service.retriever)
        service.ingest = lambda paths, **options: service.ingestor.ingest(paths, **options)
        service.remove = lambda ref: service.ingestor.remove(ref)
    return service


def first_answer(settings: Any, variant: str, question: str) -> dict[str, Any]:
    """A new process's first answer, split into model load, store open, index open, answer."""
    t0 = time.perf_counter()
    embeddings = None
    if variant == "new":  # as `briefing ask`: the model loads in a child process first
        from assistant.core.embed_process import start

        embeddings = start(settings)
    service = open_service(settings, variant, embeddings=embeddings)
    if variant == "new":  # ... and the store opens in a thread while it loads
        service.warm_up()
    else:
        service.embeddings.embed(["warm-up"])
    t_model = time.perf_counter()
    service.store.count()
    t_store = time.perf_counter()
    rows = len(service.retriever.lexical_index())
    t_index = time.perf_counter()
    service.ask(question)
    t_answer = time.perf_counter()
    service.close()
    if embeddings is not None:
        embeddings.close()
    return {
        "model_s": t_model - t0, "store_s": t_store - t_model, "index_s": t_index - t_store,
        "answer_s": t_answer - t_index, "after_model_s": t_answer - t_model, "rows": rows,
        "whole_s": t_answer - t0,
        **rss_gib(),
    }  # fmt: skip


def model_alone(settings: Any) -> dict[str, Any]:
    """A new process that only loads the embedding model and embeds one text (the baseline)."""
    from assistant.core.embeddings import make_embeddings

    t0 = time.perf_counter()
    make_embeddings(settings).embed(["warm-up"])
    return {"model_s": time.perf_counter() - t0, **rss_gib()}


def serve(settings: Any, variant: str, queries: list[str], tmp: Path) -> dict[str, Any]:
    """A warm process: retrieval latency, then the next question after ingest and remove."""
    from assistant.core.manifest import Manifest

    service = open_service(settings, variant, writer=True)
    retriever, out = service.retriever, {}
    service.embeddings.embed(["warm-up"])
    for q in queries[:3]:
        service.ask(q)
    latencies = []
    for q in queries[3:]:
        t = time.perf_counter()
        retriever.retrieve(q)
        latencies.append((time.perf_counter() - t) * 1000)
    out["p50_ms"], out["p95_ms"] = (float(x) for x in np.percentile(latencies, [50, 95]))
    lexical = []
    for q in queries[3:]:
        t = time.perf_counter()
        retriever.retrieve(q, mode="lexical")
        lexical.append((time.perf_counter() - t) * 1000)
    out["lexical_p50_ms"], out["lexical_p95_ms"] = (
        float(x) for x in np.percentile(lexical, [50, 95])
    )

    def next_question(key: str, question: str) -> None:
        t = time.perf_counter()
        answer = service.ask(question)
        out[key] = time.perf_counter() - t
        out[f"{key}_docs"] = sorted({p.doc_id for p in answer.passages})

    appendix = tmp / "appendix-z.md"
    appendix.write_text(APPENDIX, encoding="utf-8")
    t = time.perf_counter()
    doc_id = service.ingest([appendix]).doc_ids[0]
    out["ingest_s"] = time.perf_counter() - t
    next_question("after_ingest_s", QUESTION)
    out["found_new"] = doc_id in out.pop("after_ingest_s_docs")
    service.remove(doc_id)
    next_question("after_remove_s", QUESTION)
    out["found_removed"] = doc_id in out.pop("after_remove_s_docs")
    # A document made ready by another process: this one has no hook, its question catches up.
    other = Manifest(service.settings.manifest_path)
    source = sorted(service.manifest.ready_ids())[0]
    chunks = service.store.get([f"{source}-{i:05d}" for i in range(CHUNKS_PER_DOC)])
    new_doc = hashlib.sha256(b"bench-scale-external").hexdigest()
    other.start(new_doc, "/synthetic/external.pdf", 1, "other")
    vectors = np.random.default_rng(0).normal(size=(len(chunks), service.store.dimension))
    vectors = (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)
    metas = [{**c.metadata, "doc_id": new_doc, "source": "/synthetic/x.pdf"} for c in chunks]
    new_ids = [f"{new_doc}-{c.metadata['chunk_index']:05d}" for c in chunks]
    service.store.upsert(new_ids, [c.text for c in chunks], vectors, metas)
    other.finish(new_doc, title="external", doc_type="other", year=None, pages=["x"],
                 chunks=len(chunks), notes="")  # fmt: skip
    next_question("after_other_ingest_s", queries[0])
    out.pop("after_other_ingest_s_docs")
    other.mark_deleting(new_doc)
    service.store.delete_document(new_doc)
    other.drop(new_doc)
    next_question("after_other_remove_s", queries[1])
    out.pop("after_other_remove_s_docs")
    other.close()
    out.update(rss_gib())
    service.close()
    return out


def migrate(settings: Any) -> dict[str, Any]:
    """The one-time build of the on-disk index for a data dir made before it (model not loaded)."""
    import shutil

    from assistant.service import build_service

    shutil.rmtree(settings.data_dir / "lexical", ignore_errors=True)
    service = build_service(settings)
    t = time.perf_counter()
    rows = len(service.retriever.lexical_index())
    seconds = time.perf_counter() - t
    status = service.retriever.lexical_status()
    service.close()
    return {"seconds": seconds, "rows": rows, "index_mib": status["bytes"] / 2**20, **rss_gib()}
