"""Web UI load benchmark: simulated officials asking questions while a plan is uploaded.

``briefing serve`` runs in its own process on a fresh data directory (it ingests the sample
corpus itself, as for a new user). The bench process then starts 20 simulated users, each with
its own ``gradio_client.Client`` (its own session): for 60 s every user asks a question taken
from ``evals/datasets/questions.jsonl`` (all kinds mixed: facts, numbers, cross-document,
absent, adversarial), mostly through ``/ask`` and one time in four through ``/chat`` (the
streaming chat, keeping the session's conversation), reads the answer for a while (the think
time), and asks again. Meanwhile one user uploads a generated 60-page plan through ``/ingest``.

Two phases: *officials* (think time 5-15 s, the target) and *saturation* (no think time: every
user asks again at once, which shows the capacity and that the queue bounds it without errors).
Latency is the client's wall time from call to final answer, queueing included. An error is any
exception from the client (a refused or failed call, "queue full"). ``run_ui_benchmark`` writes
its section of BENCHMARKS.md between ``<!-- bench:ui -->`` and ``<!-- /bench:ui -->``.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evals.benchmarks_md import markers, replace_section

SECTION_START, SECTION_END = markers("ui")
ROOT = Path(__file__).resolve().parents[1]
QUESTIONS = ROOT / "evals" / "datasets" / "questions.jsonl"
USERS = 20
PHASE_S = 60.0
THINK_S = (5.0, 15.0)
CHAT_SHARE = 0.25
UPLOAD_PAGES = 60
TARGET_P95_S = 2.0
SEED = 20260115


def _log(message: str) -> None:
    print(f"[bench ui] {message}", file=sys.stderr, flush=True)


@dataclass
class Phase:
    name: str
    think: tuple[float, float] | None
    seconds: float
    latencies: dict[str, list[float]] = field(default_factory=lambda: {"/ask": [], "/chat": []})
    spans: list[tuple[float, float]] = field(default_factory=list)  # (start, end) of every answer
    upload_span: tuple[float, float] | None = None
    errors: list[str] = field(default_factory=list)
    upload_s: float | None = None
    upload_note: str = ""
    rss_mib: list[float] = field(default_factory=list)
    wall_s: float = 0.0

    def all_latencies(self) -> list[float]:
        return self.latencies["/ask"] + self.latencies["/chat"]

    def during_upload(self) -> list[float]:
        """Latencies of answers that overlapped the upload's ingest."""
        if self.upload_span is None:
            return []
        lo, hi = self.upload_span
        return [end - start for start, end in self.spans if start < hi and end > lo]


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def _questions() -> list[str]:
    cases = [
        json.loads(line)
        for line in QUESTIONS.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    return [c["question"] for c in cases if not c.get("history")]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _rss_mib(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


class _Server:
    """``briefing serve`` in a child process on a fresh data directory."""

    def __init__(self, tmp: Path) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.log = tmp / "serve.log"
        env = dict(os.environ, HF_HUB_OFFLINE="1", GRADIO_ANALYTICS_ENABLED="False")
        cmd = [
            sys.executable,
            "-m",
            "assistant.cli",
            "--data-dir",
            str(tmp / "data"),
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
        ]
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(
                cmd, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=tmp
            )

    def wait_ready(self, timeout_s: float = 900.0) -> float:
        started = time.perf_counter()
        while time.perf_counter() - started < timeout_s:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"briefing serve exited ({self.proc.returncode}): {self.log.read_text()[-2000:]}"
                )
            try:
                with urllib.request.urlopen(self.url + "gradio_api/info", timeout=5) as resp:
                    if resp.status == 200:
                        return time.perf_counter() - started
            except OSError:
                time.sleep(1.0)
        raise RuntimeError(f"briefing serve was not ready within {timeout_s:.0f} s")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def _user(
    url: str,
    phase: Phase,
    questions: list[str],
    rng: random.Random,
    stop_at: float,
    lock: threading.Lock,
) -> None:
    from gradio_client import Client

    client = Client(url, verbose=False, download_files=False)
    if phase.think:  # officials arrive over the first think period, not all in the same second
        time.sleep(rng.uniform(0, phase.think[1]))
    while time.monotonic() < stop_at:
        question = rng.choice(questions)
        endpoint = "/chat" if rng.random() < CHAT_SHARE else "/ask"
        started = time.perf_counter()
        try:
            client.predict(question, [], [], api_name=endpoint)
            ended = time.perf_counter()
            with lock:
                phase.latencies[endpoint].append(ended - started)
                phase.spans.append((started, ended))
        except Exception as exc:  # every failure counts, whatever its kind
            with lock:
                phase.errors.append(f"{endpoint}: {type(exc).__name__}: {str(exc)[:160]}")
        if phase.think:
            time.sleep(min(rng.uniform(*phase.think), max(0.0, stop_at - time.monotonic())))


def _uploader(url: str, phase: Phase, plan: Path, lock: threading.Lock) -> None:
    from gradio_client import Client, handle_file

    client = Client(url, verbose=False, download_files=False)
    time.sleep(5.0)  # once the first officials are asking
    started = time.perf_counter()
    try:
        report, _, _ = client.predict(handle_file(str(plan)), "master_plan", api_name="/ingest")
        phase.upload_s = time.perf_counter() - started
        phase.upload_span = (started, started + phase.upload_s)
        doc = report.get("document") or {}
        phase.upload_note = f"{doc.get('pages', '?')} pages, {doc.get('chunks', '?')} chunks, {doc.get('status', '?')}"
    except Exception as exc:
        with lock:
            phase.errors.append(f"/ingest: {type(exc).__name__}: {str(exc)[:160]}")


def _run_phase(
    url: str, phase: Phase, questions: list[str], pid: int, plan: Path | None, seed: int
) -> Phase:
    lock = threading.Lock()
    stop_at = time.monotonic() + phase.seconds
    threads = [
        threading.Thread(
            target=_user,
            args=(url, phase, questions, random.Random(seed + i), stop_at, lock),
            daemon=True,
        )
        for i in range(USERS)
    ]
    if plan is not None:
        threads.append(
            threading.Thread(target=_uploader, args=(url, phase, plan, lock), daemon=True)
        )
    started = time.perf_counter()
    for t in threads:
        t.start()
    while any(t.is_alive() for t in threads):
        phase.rss_mib.append(_rss_mib(pid))
        time.sleep(0.5)
    phase.wall_s = time.perf_counter() - started
    _log(
        f"{phase.name}: {len(phase.all_latencies())} answers, {len(phase.errors)} errors, "
        f"p95 {_pct(phase.all_latencies(), 0.95):.2f} s"
    )
    return phase


def _section(phases: list[Phase], startup_s: float, total_s: float) -> str:
    now = dt.datetime.now(dt.UTC)
    rows = []
    for p in phases:
        lat = p.all_latencies()
        think = f"{p.think[0]:g}-{p.think[1]:g} s" if p.think else "none"
        upload = f"{p.upload_s:.1f} ({p.upload_note})" if p.upload_s is not None else "—"
        during = p.during_upload()
        while_up = f"{_pct(during, 0.95):.2f} ({len(during)})" if during else "—"
        rss = (
            f"{p.rss_mib[0]:.0f} → {max(p.rss_mib):.0f} → {p.rss_mib[-1]:.0f}" if p.rss_mib else "—"
        )
        rows.append(
            f"| {p.name} | {USERS} | {think} | {p.seconds:.0f} | {len(p.latencies['/ask'])} + {len(p.latencies['/chat'])} "
            f"| {len(p.errors)} | {len(lat) / p.wall_s:.2f} | {_pct(lat, 0.5):.2f} | {_pct(lat, 0.95):.2f} "
            f"| {max(lat, default=float('nan')):.2f} | {while_up} | {upload} | {rss} |"
        )
    officials = [p for p in phases if p.think]
    p95s = [_pct(p.all_latencies(), 0.95) for p in officials]
    errors = sum(len(p.errors) for p in phases)
    worst = max(p95s) if p95s else float("nan")
    targets = [
        f"| zero errors (all phases) | {errors} | 0 | {'pass' if errors == 0 else 'FAIL'} |",
        f"| p95 latency, extractive answers, officials phase | {worst:.2f} s | ≤ {TARGET_P95_S:g} s "
        f"| {'pass' if worst <= TARGET_P95_S else 'FAIL'} |",
    ]
    notes = [f"- {e}" for p in phases for e in p.errors[:5]]
    return "\n".join(
        [
            SECTION_START,
            "## Web UI under load (`briefing bench ui`)",
            "",
            f"_Measured {now:%Y-%m-%d %H:%M} UTC on {os.cpu_count()} CPUs. `briefing serve` (extractive answers, answer "
            f"concurrency 2, queue max 64) in its own process on a fresh data dir (start-up with corpus ingest "
            f"{startup_s:.0f} s); {USERS} simulated users, each a `gradio_client.Client` with its own session, in the bench "
            f"process; questions drawn from `evals/datasets/questions.jsonl` (all kinds), 3 in 4 through `/ask`, 1 in 4 "
            f"through `/chat`; one {UPLOAD_PAGES}-page generated plan uploaded through `/ingest` during each officials "
            f"phase. Latency = call to final answer, queueing included. Whole bench: {total_s:.0f} s._",
            "",
            "| Phase | Users | Think time | Seconds | Answers (/ask + /chat) | Errors | Answers/s | p50 s | p95 s | max s "
            "| p95 s while the upload ingests (answers) | Upload ingest s | Server RSS MiB start → peak → end |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
            *rows,
            "",
            "### Targets",
            "",
            "| Target | Measured | Limit | Result |",
            "|---|---|---|---|",
            *targets,
            *([""] + ["Errors (first five per phase):"] + notes if notes else []),
            SECTION_END,
        ]
    )


def write_section(output: Path, section: str) -> None:
    """Replace this benchmark's section of ``output``."""
    replace_section(output, section, "ui")


def run_ui_benchmark(
    settings: Any, *, repeat: int = 1, output: Path = Path("BENCHMARKS.md")
) -> str:
    """Run the load benchmark (``repeat`` officials phases, one saturation phase); write and return the section.

    ``settings`` is accepted for the CLI's sake: the server reads the same environment, on its own
    temporary data directory, so the user's store is never touched.
    """
    from evals.bench_ingest import generate_plan

    bench_started = time.perf_counter()
    tmp = Path(tempfile.mkdtemp(prefix="briefing-bench-ui-"))
    server = _Server(tmp)
    try:
        _log(f"starting briefing serve on {server.url} (ingests the corpus first)")
        startup_s = server.wait_ready()
        questions = _questions()
        from gradio_client import Client

        Client(server.url, verbose=False).predict(
            "What is the total budget of the plan?", [], [], api_name="/ask"
        )
        phases = []
        for n in range(max(1, repeat)):
            plan = generate_plan(
                tmp / f"upload-plan-{n + 1}.pdf", pages=UPLOAD_PAGES, seed=SEED + n
            )
            phase = Phase(f"officials (run {n + 1})", THINK_S, PHASE_S)
            phases.append(
                _run_phase(server.url, phase, questions, server.proc.pid, plan, SEED + 100 * n)
            )
        phases.append(
            _run_phase(
                server.url,
                Phase("saturation", None, PHASE_S),
                questions,
                server.proc.pid,
                None,
                SEED + 999,
            )
        )
    finally:
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    section = _section(phases, startup_s, time.perf_counter() - bench_started)
    write_section(output, section)
    return section
