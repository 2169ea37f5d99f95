"""Critique benchmark: time and peak memory of a full deterministic draft, per plan.

Inputs: each master plan of ``corpus/documents/`` and two generated plans (about 30 and 100
pages, fpdf2, the same generator as the ingest benchmark). Everything is ingested once into a
temporary data directory; then every draft runs in a fresh child process
(``python -m evals.bench_critique --worker SPEC.json``), so each run pays what a ``briefing
critique`` call pays and its peak RSS is its own. The model is loaded (one warm-up text
embedded) before the timer starts; the load time and the child's whole life are reported too.

``run_critique_benchmark`` returns a Markdown section and writes it into BENCHMARKS.md between
``<!-- bench:critique -->`` and ``<!-- /bench:critique -->``, leaving the rest of the file alone.
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
from pathlib import Path
from typing import Any

from evals.benchmarks_md import markers, replace_section, worker_entry

SECTION_START, SECTION_END = markers("critique")
ROOT = Path(__file__).resolve().parents[1]
CORPUS_DIR = ROOT / "corpus" / "documents"
GOLD = ROOT / "evals" / "datasets" / "critique_gold.jsonl"
GENERATED_PAGES = (30, 100)
TARGET_PAGES, TARGET_S = 30, 15.0


def _log(message: str) -> None:
    print(f"[bench critique] {message}", file=sys.stderr, flush=True)


# -- the child process ------------------------------------------------------------------------


def _worker(spec: dict[str, Any]) -> dict[str, Any]:
    from assistant.core.settings import Settings
    from assistant.service import build_service

    settings = Settings(**spec["settings"], data_dir=Path(spec["data_dir"]))
    if spec["variant"] == "ingest":
        service = build_service(settings, writer=True)
        try:
            report = service.ingest([Path(f) for f in spec["files"]], doc_type="master_plan")
            ingested = service.ingest([CORPUS_DIR]) if CORPUS_DIR.is_dir() else None
            rows = [
                {
                    "doc_id": r.doc_id,
                    "source": r.source,
                    "pages": r.pages,
                    "chunks": r.chunks,
                    "doc_type": r.doc_type,
                }
                for r in service.manifest.all()
                if r.status == "ready"
            ]
        finally:
            service.close()
        return {"rows": rows, "failed": report.failed + (ingested.failed if ingested else [])}
    from assistant.critique.critic import Critic

    service = build_service(settings)
    try:
        t0 = time.perf_counter()
        service.embeddings.embed(["warm-up"])
        load_s = time.perf_counter() - t0
        started = time.perf_counter()
        critic = Critic(
            manifest=service.manifest,
            store=service.store,
            embedder=service.embeddings,
            chat_model=service.chat.chat_model,
            settings=service.settings,
        )
        critique = critic.run(spec["doc_id"])
        seconds = time.perf_counter() - started
    finally:
        service.close()
    return {
        "seconds": seconds,
        "load_s": load_s,
        "passages": critique.findings[0].searched.passages if critique.findings else 0,
        "sections": critique.findings[0].searched.sections if critique.findings else 0,
        "quotes": critique.checks.get("quotes_checked", 0),
        "dropped": critique.checks.get("quotes_dropped", 0),
        "ratings": "".join(
            {"addressed": "A", "partly_addressed": "P", "gap": "G", "not_assessable": "N"}[f.rating]
            for f in critique.findings
        ),
    }


def _worker_main(spec_path: str) -> int:
    spec = json.loads(Path(spec_path).read_text(encoding="utf-8"))
    result = _worker(spec)
    result["maxrss_kib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    Path(spec["result"]).write_text(json.dumps(result), encoding="utf-8")
    return 0


class _Runner:
    def __init__(self, settings: Any, tmp: Path) -> None:
        data = settings.model_dump(mode="json")
        for key in ("data_dir", "llm_api_key"):
            data.pop(key, None)
        data.update(
            chroma_url=None, answer_backend="extractive"
        )  # embedded store, deterministic drafts
        self.settings_data, self.tmp, self.count = data, tmp, 0

    def child(self, spec: dict[str, Any]) -> dict[str, Any]:
        self.count += 1
        spec_path, result_path = (
            self.tmp / f"spec-{self.count}.json",
            self.tmp / f"result-{self.count}.json",
        )
        log_path = self.tmp / f"child-{self.count}.log"
        spec_path.write_text(
            json.dumps({**spec, "settings": self.settings_data, "result": str(result_path)}),
            encoding="utf-8",
        )
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
            code = subprocess.run(
                [sys.executable, "-m", "evals.bench_critique", "--worker", str(spec_path)],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                check=False,
            ).returncode
        wall = time.perf_counter() - started
        if code != 0 or not result_path.exists():
            tail = log_path.read_text(encoding="utf-8", errors="replace").strip().splitlines()[
                -1:
            ] or ["?"]
            return {"error": f"exit {code}: {tail[0][:200]}", "wall_s": wall}
        return {**json.loads(result_path.read_text(encoding="utf-8")), "wall_s": wall}


# -- the report ---------------------------------------------------------------------------------


def _table(header: list[str], rows: list[list[str]]) -> str:
    return "\n".join(
        [
            "| " + " | ".join(header) + " |",
            "|" + "---|" * len(header),
            *("| " + " | ".join(r) + " |" for r in rows),
        ]
    )


def _median(runs: list[dict[str, Any]], key: str) -> float:
    return statistics.median(r[key] for r in runs)


def _agreement(name: str, ratings: str) -> str:
    """Causes rated as the gold labels say (corpus plans only)."""
    if not GOLD.exists():
        return "—"
    codes = {"addressed": "A", "partly_addressed": "P", "gap": "G", "not_assessable": "N"}
    gold = {
        g["cause_id"]: codes[g["rating"]]
        for g in map(json.loads, GOLD.read_text(encoding="utf-8").splitlines())
        if g["plan"] == name
    }
    if not gold:
        return "—"
    got = {f"F{i}": r for i, r in enumerate(ratings, start=1)}
    return f"{sum(got.get(c) == r for c, r in gold.items())}/{len(gold)}"


def _render(
    results: list[tuple[dict[str, Any], list[dict[str, Any]]]],
    settings: Any,
    repeat: int,
    total_s: float,
    load: float,
) -> str:
    rows, targets = [], []
    for doc, runs in results:
        good = [r for r in runs if "error" not in r]
        name = Path(doc.source).name
        if not good:
            rows.append(
                [
                    name,
                    str(doc.pages),
                    str(doc.chunks),
                    "—",
                    "0",
                    *["—"] * 6,
                    runs[0]["error"],
                    "—",
                ]
            )
            continue
        rss = max(r["maxrss_kib"] for r in good) / 1024
        rows.append(
            [
                name,
                str(doc.pages),
                str(doc.chunks),
                f"{good[0]['passages']} / {good[0]['sections']}",
                str(len(good)),
                f"{_median(good, 'seconds'):.2f}",
                f"{_median(good, 'load_s'):.1f}",
                f"{_median(good, 'wall_s'):.1f}",
                f"{rss:.0f}",
                f"{good[0]['quotes']} / {good[0]['dropped']}",
                good[0]["ratings"],
                _agreement(name, good[0]["ratings"]),
            ]
        )
        if doc.get("target"):
            draft = _median(good, "seconds")
            targets.append(
                [
                    name,
                    f"full draft ≤ {TARGET_S:g} s ({TARGET_PAGES}-page plan, 2 cores)",
                    f"{draft:.2f} s",
                    "**PASS**" if draft <= TARGET_S else "**FAIL**",
                ]
            )
    when = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    caption = (
        f"Full deterministic critique drafts (`eight-causes`), measured {when} on {os.cpu_count()} CPUs "
        f"(torch_threads={settings.torch_threads}, model {settings.embedding_model}); load average {load:.1f} at the start. "
        f"Median of {repeat} run(s) per plan, each in a fresh child process. Whole bench: {total_s:.0f} s."
    )
    notes = [
        "Draft s = `Critic.run(doc_id)` with the model already loaded: the sweep of every sentence for every "
        "signal, every diagnostic question compared with every chunk of the plan, supporting context from the other "
        "documents, assembly and the check of every quote against its page. Model load s = loading MiniLM and embedding "
        "one warm-up text, before the timer. Process wall s = the child's whole life (interpreter start, imports, model "
        "load, draft), i.e. roughly what one `briefing critique` call costs.",
        "Peak RSS = the child's own ru_maxrss (a draft starts no further processes). MiB = 1024² bytes.",
        "Passages / sections = sentences, list items, table rows and headings searched / distinct sections. "
        "Quotes = quotes checked against their page / dropped. Ratings = F1…F8 (A addressed, P partly, G gap, N not assessable); "
        "Gold agreement = causes rated as `evals/datasets/critique_gold.jsonl` says (corpus plans only).",
        f"Generated plans: `evals.bench_ingest.generate_plan` (fpdf2, seed fixed) at {' and '.join(map(str, GENERATED_PAGES))} pages, "
        "ingested as master plans together with `corpus/documents/` into one temporary data directory before timing.",
    ]
    return "\n".join(
        [
            SECTION_START,
            "## Critique drafts (`briefing bench critique`)",
            "",
            f"_{caption}_",
            "",
            _table(
                [
                    "Plan",
                    "Pages",
                    "Chunks",
                    "Passages / sections",
                    "Runs",
                    "Draft s",
                    "Model load s",
                    "Process wall s",
                    "Peak RSS MiB",
                    "Quotes / dropped",
                    "Ratings",
                    "Gold agreement",
                ],
                rows,
            ),
            "",
            "### Target",
            "",
            _table(["Plan", "Target", "Measured", "Result"], targets),
            "",
            *[f"- {n}" for n in notes],
            SECTION_END,
        ]
    )


def write_section(output: Path, section: str) -> None:
    """Replace this benchmark's section of ``output``."""
    replace_section(output, section, "critique")


def run_critique_benchmark(
    settings: Any, *, repeat: int = 3, output: Path = Path("BENCHMARKS.md")
) -> str:
    """Run the critique benchmark; write its section of ``output`` and return it as Markdown."""
    from evals.bench_ingest import generate_plan

    started = time.perf_counter()
    load = os.getloadavg()[0]
    repeat = max(1, repeat)
    tmp = Path(tempfile.mkdtemp(prefix="briefing-bench-critique-"))
    try:
        runner = _Runner(settings, tmp)
        plans = [
            generate_plan(tmp / "inputs" / f"generated-plan-{n}p.pdf", n) for n in GENERATED_PAGES
        ]
        _log(f"ingesting {len(plans)} generated plans and the corpus …")
        setup = runner.child(
            {"variant": "ingest", "data_dir": str(tmp / "data"), "files": [str(p) for p in plans]}
        )
        if "error" in setup:
            raise RuntimeError(f"the benchmark could not ingest its inputs: {setup['error']}")
        docs = [r for r in setup["rows"] if r.doc_type == "master_plan"]
        docs.sort(key=lambda r: (not Path(r.source).is_relative_to(CORPUS_DIR), r.pages))
        for doc in docs:
            doc["target"] = Path(doc.source).name == f"generated-plan-{TARGET_PAGES}p.pdf"
        results = []
        for doc in docs:
            runs = []
            for n in range(repeat):
                _log(f"{Path(doc['source']).name}: run {n + 1}/{repeat}")
                runs.append(
                    runner.child(
                        {"variant": "draft", "data_dir": str(tmp / "data"), "doc_id": doc.doc_id}
                    )
                )
            results.append((doc, runs))
        section = _render(results, settings, repeat, time.perf_counter() - started, load)
        write_section(Path(output), section)
        _log(f"done in {time.perf_counter() - started:.0f} s; wrote {output}")
        return section
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    return worker_entry("critique", _worker_main, argv)


if __name__ == "__main__":
    sys.exit(main())
