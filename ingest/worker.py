"""Parser processes: each file is read in a child with a wall-clock timeout and a memory cap.

A crafted PDF can hang pypdf or make it allocate without bound. Here that costs one child: it is
killed at the deadline, or fails its own allocation under ``RLIMIT_AS``, and the document is
recorded as failed while the others go on.
"""

from __future__ import annotations

import multiprocessing as mp
import resource
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import cast

from assistant.core.errors import IngestError
from ingest.loaders import Limits, LoadedDocument, load_file


@dataclass
class ParseResult:
    """The outcome of parsing one file: a document, or the reason it was skipped."""

    path: Path
    document: LoadedDocument | None = None
    reason: str = ""
    seconds: float = 0.0


def _child(path: Path, limits: Limits, memory_bytes: int, conn: Connection) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    try:
        conn.send(("ok", load_file(path, limits)))
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


def parse_files(
    paths: Iterable[Path],
    limits: Limits,
    *,
    workers: int = 2,
    timeout_s: float = 120.0,
    memory_mb: int = 1536,
) -> Iterator[ParseResult]:
    """Parse files in up to ``workers`` child processes; yield results as they complete."""
    ctx = _context()
    pending = list(paths)
    pending.reverse()
    running: dict[Connection, tuple[mp.process.BaseProcess, Path, float, float]] = {}

    def fill() -> None:
        while pending and len(running) < workers:
            path = pending.pop()
            recv, send = ctx.Pipe(duplex=False)
            proc = ctx.Process(
                target=_child, args=(path, limits, memory_mb * 1024 * 1024, send), daemon=True
            )
            proc.start()  # may first boot the forkserver: that time is not the file's
            started = time.monotonic()
            send.close()
            running[recv] = (proc, path, started, started + timeout_s)

    try:
        fill()
        while running:
            nearest = min(deadline for *_, deadline in running.values())
            done: list[ParseResult] = []
            ready = wait(list(running), timeout=max(0.0, nearest - time.monotonic()))
            for conn in cast(list[Connection], ready):
                proc, path, started, _ = running.pop(conn)
                done.append(_collect(conn, proc, path, started, memory_mb))
            now = time.monotonic()
            for conn, (proc, path, started, deadline) in list(running.items()):
                if now >= deadline:
                    running.pop(conn)
                    proc.kill()
                    proc.join()
                    conn.close()
                    reason = f"could not be processed (timed out after {timeout_s:g} s)"
                    done.append(ParseResult(path, reason=reason, seconds=now - started))
            fill()  # keep every worker busy while the caller embeds what is done
            yield from done
    finally:
        for conn, (proc, *_rest) in running.items():
            proc.kill()
            proc.join()
            conn.close()


def _collect(
    conn: Connection, proc: mp.process.BaseProcess, path: Path, started: float, memory_mb: int
) -> ParseResult:
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
    seconds = time.monotonic() - started
    if status == "ok":
        return ParseResult(path, document=payload, seconds=seconds)
    if payload is None:
        code = proc.exitcode
        payload = (
            f"document too complex (the parser crashed, exit {code}, "
            f"under its {memory_mb} MB memory limit)"
        )
    return ParseResult(path, reason=payload, seconds=seconds)
