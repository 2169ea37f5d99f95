"""Parser processes: each file is read in a child with a wall-clock timeout and a memory cap.

A crafted PDF can hang pypdf or make it allocate without bound. Here that costs one child: it is
killed at the deadline, or fails its own allocation under ``RLIMIT_AS``, and the document is
recorded as failed while the others go on.

A long PDF is read by several children at once: the first child only opens it and reports its
page count, then page ranges are read in parallel, each range in its own child under the same
timeout and memory cap, and joined in page order. Children are started from a background thread,
so parsing runs on while the caller embeds the documents already parsed.
"""

from __future__ import annotations

import math
import multiprocessing as mp
import os
import queue
import resource
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import cast

from assistant.core.errors import IngestError
from assistant.core.lifeline import die_with
from ingest.loaders import Limits, LoadedDocument, PdfInfo, assemble_pdf, load_file, read_pdf_pages

#: PDFs with at least this many pages are parsed in page ranges when there are 2+ workers.
SPLIT_PAGES = 40
#: Fewest pages in one range: opening the file again costs something in every child.
MIN_RANGE_PAGES = 16


@dataclass
class ParseResult:
    """The outcome of parsing one file: a document, or the reason it was skipped."""

    path: Path
    document: LoadedDocument | None = None
    reason: str = ""
    seconds: float = 0.0
    #: how many children read the file (page ranges of a long PDF), when it was read
    parts: int = 1


@dataclass(frozen=True)
class _Task:
    path: Path
    first: int = -1  # -1: the whole file (or a probe of a long PDF)
    last: int = -1


@dataclass
class _Split:
    """A long PDF being read in ranges."""

    info: PdfInfo
    started: float
    parts: dict[int, tuple[list[str], list[int]]] = field(default_factory=dict)
    expected: int = 0


def _child(
    task: _Task, limits: Limits, memory_bytes: int, split_at: int, conn: Connection, owner: int
) -> None:
    die_with(owner)  # a killed briefing process takes its parsers along
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    try:
        if task.first < 0:
            conn.send(("ok", load_file(task.path, limits, split_at)))
        else:
            conn.send(("ok", read_pdf_pages(task.path, limits, task.first, task.last)))
    except IngestError as exc:
        conn.send(("error", str(exc)))
    except MemoryError:
        limit = memory_bytes // (1024 * 1024)
        conn.send(
            (
                "error",
                f"document too complex (it needs more than the parser's {limit} MB memory limit)",
            )
        )
    except RecursionError:
        conn.send(("error", "document too complex (its structure nests too deeply)"))
    except Exception as exc:
        conn.send(("error", f"unreadable ({type(exc).__name__})"))
    finally:
        conn.close()


def _context() -> mp.context.ForkServerContext:
    # forkserver: children start from a small clean process, not from a parent holding torch
    # threads. No preload list: with one, the server re-imports __main__, which fails when the
    # caller is a notebook or stdin.
    return mp.get_context("forkserver")


def page_ranges(pages: int, workers: int) -> list[tuple[int, int]]:
    """Split ``pages`` into at most ``workers`` contiguous ranges of similar size."""
    parts = max(1, min(workers, pages // MIN_RANGE_PAGES))
    size = math.ceil(pages / parts)
    return [(first, min(first + size, pages)) for first in range(0, pages, size)]


class _Scheduler:
    """Runs parser children for a list of files; finished files go to ``results``."""

    def __init__(
        self, paths: list[Path], limits: Limits, workers: int, timeout_s: float, memory_mb: int
    ) -> None:
        self.ctx = _context()
        self.limits = limits
        self.workers = workers
        self.timeout_s = timeout_s
        self.memory_mb = memory_mb
        self.split_at = SPLIT_PAGES if workers > 1 else 0
        # smallest first: the first document is embedded while the long ones are still parsed
        order = sorted(paths, key=_size, reverse=True)
        self.pending: list[_Task] = [_Task(p) for p in order]  # popped from the end
        self.running: dict[Connection, tuple[mp.process.BaseProcess, _Task, float, float]] = {}
        self.splits: dict[Path, _Split] = {}
        self.results: queue.Queue[ParseResult | None] = queue.Queue()
        self.stop = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self._fill()
            while self.running and not self.stop.is_set():
                nearest = min(deadline for *_, deadline in self.running.values())
                timeout = min(max(0.0, nearest - time.monotonic()), 0.5)
                for conn in cast(list[Connection], wait(list(self.running), timeout=timeout)):
                    if conn in self.running:
                        proc, task, started, _ = self.running.pop(conn)
                        self._done(task, started, *_receive(conn, proc, self.memory_mb))
                now = time.monotonic()
                for conn, (proc, task, started, deadline) in list(self.running.items()):
                    if now >= deadline and conn in self.running:
                        self.running.pop(conn)
                        _kill(proc, conn)
                        self._fail(
                            task.path,
                            f"could not be processed (timed out after {self.timeout_s:g} s)",
                            started,
                        )
                self._fill()
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, which raises it
            self.error = exc
        finally:
            for conn, (proc, *_rest) in list(self.running.items()):
                _kill(proc, conn)
            self.running.clear()
            self.results.put(None)

    def _fill(self) -> None:
        while self.pending and len(self.running) < self.workers and not self.stop.is_set():
            task = self.pending.pop()
            recv, send = self.ctx.Pipe(duplex=False)
            args = (
                task,
                self.limits,
                self.memory_mb * 1024 * 1024,
                self.split_at,
                send,
                os.getpid(),
            )
            proc = self.ctx.Process(target=_child, args=args, daemon=True)
            proc.start()  # may first boot the forkserver: that time is not the file's
            started = time.monotonic()
            send.close()
            self.running[recv] = (proc, task, started, started + self.timeout_s)

    def _done(self, task: _Task, started: float, status: str, payload: object) -> None:
        if status != "ok":
            self._fail(task.path, str(payload), started)
        elif isinstance(payload, LoadedDocument):
            self.results.put(
                ParseResult(task.path, document=payload, seconds=time.monotonic() - started)
            )
        elif isinstance(payload, PdfInfo):
            ranges = page_ranges(payload.pages, self.workers)
            self.splits[task.path] = _Split(payload, started, expected=len(ranges))
            self.pending.extend(_Task(task.path, a, b) for a, b in reversed(ranges))  # next to run
        elif task.path in self.splits:
            split = self.splits[task.path]
            split.parts[task.first] = payload  # type: ignore[assignment]
            if len(split.parts) == split.expected:
                self._assemble(task.path, self.splits.pop(task.path))

    def _assemble(self, path: Path, split: _Split) -> None:
        pages: list[str] = []
        failed: list[int] = []
        for first in sorted(split.parts):
            texts, bad = split.parts[first]
            pages += texts
            failed += bad
        try:
            document = assemble_pdf(path, split.info, pages, failed, self.limits)
        except IngestError as exc:
            self.results.put(
                ParseResult(path, reason=str(exc), seconds=time.monotonic() - split.started)
            )
            return
        seconds = time.monotonic() - split.started
        self.results.put(
            ParseResult(path, document=document, seconds=seconds, parts=split.expected)
        )

    def _fail(self, path: Path, reason: str, started: float) -> None:
        split = self.splits.pop(path, None)
        if split is not None:  # one failed range fails the file: stop its other ranges
            started = split.started
            self.pending = [t for t in self.pending if t.path != path]
            for conn, (proc, task, *_rest) in list(self.running.items()):
                if task.path == path:
                    self.running.pop(conn)
                    _kill(proc, conn)
        self.results.put(ParseResult(path, reason=reason, seconds=time.monotonic() - started))


def parse_files(
    paths: Iterable[Path],
    limits: Limits,
    *,
    workers: int = 2,
    timeout_s: float = 120.0,
    memory_mb: int = 1536,
) -> Iterator[ParseResult]:
    """Parse files in up to ``workers`` child processes; yield results as files complete.

    Parsing goes on in the background while the caller handles each result.
    """
    scheduler = _Scheduler(list(paths), limits, max(1, workers), timeout_s, memory_mb)
    thread = threading.Thread(target=scheduler.run, name="briefing-parse", daemon=True)
    thread.start()
    try:
        while (result := scheduler.results.get()) is not None:
            yield result
        if scheduler.error is not None:
            raise scheduler.error
    finally:
        scheduler.stop.set()
        thread.join()


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _kill(proc: mp.process.BaseProcess, conn: Connection) -> None:
    proc.kill()
    proc.join()
    conn.close()


def _receive(conn: Connection, proc: mp.process.BaseProcess, memory_mb: int) -> tuple[str, object]:
    try:
        status, payload = conn.recv()
    except (EOFError, OSError):
        status, payload = "error", None
    finally:
        conn.close()
    proc.join(timeout=5)
    if proc.is_alive():
        proc.kill()
        proc.join()
    if status != "ok" and payload is None:
        code = proc.exitcode
        payload = (
            f"document too complex (the parser crashed, exit {code}, "
            f"under its {memory_mb} MB memory limit)"
        )
    return status, payload
