"""Scale benchmark: the lexical index at 10k, 100k and 300k chunks, old and new side by side.

``briefing bench scale`` builds synthetic stores through the project's own API (cached under the
temp dir, keyed by ``SCALE_VERSION``; see ``evals.scale_workers``) and measures, each in a fresh
child process (``python -m evals.bench_scale --worker SPEC``):

* **first answer**: a new process's model load, then store open, lexical index open and the
  first extractive answer (median of ``repeat`` runs);
* **serve**: a warm process's retrieval p50/p95, then the next question after ``ingest`` of a
  small file, after ``remove`` of it, and after a document is made ready and removed by another
  process (this one catches up on the question); resident memory now and at peak;
* **migration** (new only): the one-time index build of a data dir made before the index.

"old" is the retriever before the on-disk index (bm25s rebuilt from every ready chunk on each
manifest change), plugged in by the worker; "new" is the shipped retriever.
"""

from __future__ import annotations

import datetime as dt
import json
import os
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

from evals import scale_workers as w
from evals.benchmarks_md import markers, replace_section, worker_entry

SECTION_START, SECTION_END = markers("scale")
ROOT = Path(__file__).resolve().parents[1]
SCALE_VERSION = "s1"
SIZES = (10_000, 100_000, 300_000)
VARIANTS = ("old", "new")
N_QUERIES = 40
TARGET_NEXT_S, TARGET_AFTER_MODEL_S, TARGET_RSS_GIB, TARGET_P95_MS = 1.0, 1.0, 1.5, 60.0


def _log(message: str) -> None:
    print(f"[bench scale] {message}", file=sys.stderr, flush=True)


def _settings(spec: dict[str, Any]) -> Any:
    from assistant.core.settings import Settings

    return Settings(**spec["settings"], data_dir=Path(spec["data_dir"]))


def _queries(n: int) -> list[str]:
    from evals.bench_query import _generated_queries

    return _generated_queries(n)


def _worker_main(spec_path: str) -> int:
    spec = json.loads(Path(spec_path).read_text(encoding="utf-8"))
    settings = _settings(spec)
    try:
        if spec["variant"] == "build":
            result = w.build_store(settings, spec["chunks"], _log)
        elif spec["variant"] == "migrate":
            result = w.migrate(settings)
        elif spec["variant"] == "model":
            result = w.model_alone(settings)
        elif spec["variant"] == "first":
            result = w.first_answer(settings, spec["code"], _queries(1)[0])
        else:
            result = w.serve(settings, spec["code"], _queries(N_QUERIES), Path(spec["tmp"]))
    except Exception as exc:  # reported in the table, not a crash of the whole bench
        traceback.print_exc()
        result = {"error": f"{type(exc).__name__}: {str(exc)[:200]}"}
    result["maxrss_gib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    Path(spec["result"]).write_text(json.dumps(result), encoding="utf-8")
    sys.stdout.flush()
    os._exit(0)  # skip torch's slow teardown; the result is written


class _Runner:
    def __init__(self, settings: Any, tmp: Path) -> None:
        data = settings.model_dump(mode="json")
        for key in ("data_dir", "llm_api_key"):
            data.pop(key, None)
        data["chroma_url"] = None
        self.settings_data, self.tmp, self.count = data, tmp, 0

    def child(self, variant: str, data_dir: Path, **extra: Any) -> dict[str, Any]:
        self.count += 1
        spec_path = self.tmp / f"spec-{self.count}.json"
        result_path = self.tmp / f"result-{self.count}.json"
        spec = {"variant": variant, "data_dir": str(data_dir), "settings": self.settings_data,
                "result": str(result_path), "tmp": str(self.tmp), **extra}  # fmt: skip
        spec_path.write_text(json.dumps(spec), encoding="utf-8")
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false",
               "ANONYMIZED_TELEMETRY": "False",
               "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}  # fmt: skip
        started = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-m", "evals.bench_scale", "--worker", str(spec_path)],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        if not result_path.exists():
            tail = (proc.stderr or "").strip().splitlines()[-1:] or [f"exit {proc.returncode}"]
            return {"error": tail[0][:200]}
        result = json.loads(result_path.read_text(encoding="utf-8"))
        result["process_s"] = time.perf_counter() - started
        return result


def _store(runner: _Runner, n: int) -> Path:
    """The cached synthetic store of ``n`` chunks, built when absent or incomplete."""
    path = Path(tempfile.gettempdir()) / f"briefing-bench-scale-{SCALE_VERSION}-{n}"
    if not (path / "complete").is_file():
        shutil.rmtree(path, ignore_errors=True)
        _log(f"building the {n:,}-chunk store (cached for later runs) …")
        built = runner.child("build", path, chunks=n)
        if "error" in built:
            raise RuntimeError(f"building the {n:,}-chunk store failed: {built['error']}")
        (path / "complete").write_text(json.dumps(built), encoding="utf-8")
    return path


def _median(runs: list[dict[str, Any]], key: str) -> float | None:
    values = [r[key] for r in runs if key in r]
    return statistics.median(values) if values else None


def _fmt(value: float | None, spec: str = ".2f", unit: str = "") -> str:
    return "–" if value is None else f"{value:{spec}}{unit}"


def _pair(ctx: dict[str, Any], n: int, kind: str, key: str, spec: str = ".2f") -> str:
    cells = [_fmt(_median(ctx[n][kind][v], key), spec) for v in VARIANTS]
    return " / ".join(cells)


def _render(ctx: dict[str, Any], seconds: float) -> str:
    sizes = [n for n in ctx["sizes"] if n in ctx]
    rows = []
    for n in sizes:
        serve = {v: (ctx[n]["serve"][v] or [{}])[0] for v in VARIANTS}
        rows.append(
            f"| {n:,} | {_pair(ctx, n, 'first', 'whole_s')} | {_pair(ctx, n, 'first', 'after_model_s')} | "
            f"{_pair(ctx, n, 'first', 'index_s', '.3f')} | {_pair(ctx, n, 'serve', 'ingest_s')} | "
            f"{_pair(ctx, n, 'serve', 'after_ingest_s')} | "
            f"{_pair(ctx, n, 'serve', 'after_remove_s')} | {_pair(ctx, n, 'serve', 'after_other_ingest_s')} | "
            f"{_pair(ctx, n, 'serve', 'after_other_remove_s')} | "
            f"{_pair(ctx, n, 'serve', 'p50_ms', '.0f')} ; {_pair(ctx, n, 'serve', 'p95_ms', '.0f')} | "
            f"{_pair(ctx, n, 'serve', 'lexical_p50_ms', '.1f')} ; {_pair(ctx, n, 'serve', 'lexical_p95_ms', '.1f')} | "
            f"{' / '.join(_fmt(serve[v].get('peak_gib')) for v in VARIANTS)} |"
        )
    migrations = [
        f"| {n:,} | {_fmt(ctx[n]['migrate'].get('seconds'), '.1f')} | "
        f"{_fmt(ctx[n]['migrate'].get('peak_gib'))} | {_fmt(ctx[n]['migrate'].get('index_mib'), '.1f')} |"
        for n in sizes
    ]
    errors = [f"- {n:,} {kind} {v}: {r['error']}" for n in sizes for kind in ("first", "serve")
              for v in VARIANTS for r in ctx[n][kind][v] if "error" in r]  # fmt: skip
    verdicts = _verdicts(ctx)
    return "\n".join([
        SECTION_START,
        "## Scale: the lexical index at 10k–300k chunks (`briefing bench scale`)",
        "",
        f"Run {dt.datetime.now().strftime('%Y-%m-%d %H:%M')} on {os.cpu_count()} cores, load "
        f"{ctx['load']:.1f} at the start (other jobs share the machine: read the ratios), "
        f"{seconds / 60:.0f} min. Each cell is **old / new**: old = bm25s rebuilt in memory from "
        "every ready chunk read back from Chroma on each manifest change; new = the on-disk index "
        "(mmap base segment + deltas + masks). Stores: synthetic documents of 500 chunks written "
        f"through `VectorStore.upsert` and the manifest; first answers: median of {ctx['repeat']}. "
        "Vectors are weighted sums of real MiniLM vectors of the generated sentences (as in the "
        "query benchmark). The first answer after model load includes opening Chroma (its import "
        "and HNSW index); the lexical index's own share is the next column. New, as `briefing "
        "ask` does it: the model loads in a child process (`assistant.core.embed_process`) "
        "while this process imports chromadb and LangChain and opens the store in a thread "
        "(`BriefingService.warm_up`). The whole first answer (from before the service's imports "
        "to the answer) is compared with a process that only loads the model in-process and "
        "embeds one text, run just before each new first answer so both see the same machine "
        f"load: {_fmt(_median(ctx['model'], 'model_s'))} s (median of {len(ctx['model'])}); "
        "the targets line gives the median of the paired differences at 100,000.",
        "",
        "| chunks | new process: whole first answer (s) | of it, after model load (s) | of which lexical index open (s) "
        "| `ingest` of one small file (s) | next question after it (s) | after remove (s) | after another process's ingest (s) "
        "| after its remove (s) | warm hybrid retrieval p50 ; p95 (ms) | of which lexical only, with texts by id, p50 ; p95 (ms) "
        "| serving RSS peak (GiB) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
        *rows,
        "",
        "One-time migration of a data dir made before the index (new, on first open):",
        "",
        "| chunks | build (s) | peak RSS, model not loaded (GiB) | index on disk (MiB) |",
        "|---|---|---|---|",
        *migrations,
        "",
        "Targets: " + "; ".join(verdicts),
        *(["", "Errors:", *errors] if errors else []),
        SECTION_END,
    ])  # fmt: skip


def _verdicts(ctx: dict[str, Any]) -> list[str]:
    def new(n: int, kind: str, key: str) -> float | None:
        return _median(ctx[n][kind]["new"], key) if n in ctx else None

    def check(label: str, value: float | None, limit: float, unit: str) -> str:
        ok = "–" if value is None else ("met" if value <= limit else "**missed**")
        return f"{label} ≤ {limit:g} {unit}: {_fmt(value)} ({ok})"

    top = max((n for n in ctx["sizes"] if n in ctx), default=None)
    nexts = [new(top, "serve", k) for k in ("after_ingest_s", "after_remove_s")] if top else []
    return [
        check(f"next question after ingest/remove at {top or 0:,}", max(filter(None, nexts), default=None), TARGET_NEXT_S, "s"),
        check("first answer at 100,000 beyond model load", new(100_000, "first", "after_model_s"), TARGET_AFTER_MODEL_S, "s"),
        check("whole first answer at 100,000 beyond a model-only process (median of paired runs)", new(100_000, "first", "beyond_model_s"), TARGET_AFTER_MODEL_S, "s"),
        check(f"serving RSS peak at {top or 0:,}", new(top, "serve", "peak_gib") if top else None, TARGET_RSS_GIB, "GiB"),
        check(f"warm retrieval p95 at {top or 0:,}", new(top, "serve", "p95_ms") if top else None, TARGET_P95_MS, "ms"),
    ]  # fmt: skip


def run_scale_benchmark(
    settings: Any,
    *,
    repeat: int = 3,
    output: Path = Path("BENCHMARKS.md"),
    sizes: tuple[int, ...] = SIZES,
) -> str:
    """Run the scale benchmark; write its section of ``output`` and return it as Markdown."""
    started = time.perf_counter()
    tmp = Path(tempfile.mkdtemp(prefix="briefing-bench-scale-"))
    ctx: dict[str, Any] = {"sizes": sizes, "repeat": max(1, repeat), "load": os.getloadavg()[0]}
    try:
        runner = _Runner(settings, tmp)
        ctx["model"] = []  # each run just before a new first answer: the same machine load
        for n in sizes:
            data = _store(runner, n)
            ctx[n] = {"first": {v: [] for v in VARIANTS}, "serve": {v: [] for v in VARIANTS}}
            _log(f"{n:,}: migrating to the on-disk index …")
            ctx[n]["migrate"] = runner.child("migrate", data)
            for v in VARIANTS:
                for _ in range(ctx["repeat"]):
                    if v == "new":
                        alone = runner.child("model", tmp / "unused")
                        ctx["model"].append(alone)
                    first = runner.child("first", data, code=v)
                    if v == "new" and "model_s" in alone and "whole_s" in first:
                        first["beyond_model_s"] = first["whole_s"] - alone["model_s"]
                    ctx[n]["first"][v].append(first)
                _log(f"{n:,} {v}: first answer {_median(ctx[n]['first'][v], 'after_model_s')} s")
                ctx[n]["serve"][v].append(runner.child("serve", data, code=v))
                _log(f"{n:,} {v}: serve {ctx[n]['serve'][v][0]}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    section = _render(ctx, time.perf_counter() - started)
    replace_section(output, section, "scale")
    return section


if __name__ == "__main__":
    raise SystemExit(worker_entry("scale", _worker_main))
