"""The lexical index's state file and writers' lock.

``state.json`` names the live segments, in order, and the doc_ids masked out of each; it is
replaced atomically (written beside, fsynced, renamed), so a reader sees the old state or the
new one. Writers of one index folder, in any process, take ``lock`` (an ``flock``) first.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from assistant.answer.lexical_segment import FORMAT

STATE = "state.json"


def empty_state() -> dict[str, Any]:
    return {"format": FORMAT, "generation": 0, "segments": []}


def read_state(root: Path) -> dict[str, Any]:
    """The state, or an empty one when there is no index yet.

    Raises:
        ValueError: the file is not a state of this format (``sync`` then rebuilds).
    """
    try:
        state = json.loads((root / STATE).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return empty_state()
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        found = state.get("format") if isinstance(state, dict) else type(state).__name__
        raise ValueError(f"lexical index state {root / STATE} has format {found!r}, not {FORMAT}")
    return state


def write_state(root: Path, segments: list[dict[str, Any]], generation: int) -> None:
    """Replace the state atomically."""
    state = {"format": FORMAT, "generation": generation, "segments": segments}
    tmp = root / f"{STATE}.{uuid.uuid4().hex}"
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump(state, handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, root / STATE)


def state_stamp(root: Path) -> tuple[int, int] | None:
    """Changes whenever the state file is replaced; None when there is none."""
    try:
        st = (root / STATE).stat()
    except FileNotFoundError:
        return None
    return st.st_mtime_ns, st.st_ino


@contextmanager
def writer_lock(root: Path, timeout_s: float) -> Iterator[bool]:
    """Hold the index's ``flock``; yields False when it was not free within ``timeout_s``."""
    root.mkdir(parents=True, exist_ok=True)
    fd = os.open(root / "lock", os.O_RDWR | os.O_CREAT, 0o644)
    deadline = time.monotonic() + timeout_s
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    yield False
                    return
                time.sleep(0.05)
        try:
            yield True
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def clear(root: Path) -> None:
    """Remove the state and every segment (the lock file stays: others may hold it)."""
    (root / STATE).unlink(missing_ok=True)
    for path in root.iterdir() if root.is_dir() else ():
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        elif path.name.startswith(f"{STATE}."):
            path.unlink(missing_ok=True)


def collect_garbage(root: Path, named: set[str], min_age_s: float) -> list[str]:
    """Delete folders and temporary state files no state names, once ``min_age_s`` old.

    The age spares a merge that another process is still writing. Call with the lock held.
    """
    gone: list[str] = []
    now = time.time()
    for path in root.iterdir() if root.is_dir() else ():
        orphan = path.is_dir() and path.name not in named
        orphan = orphan or path.name.startswith(f"{STATE}.")
        try:
            old = now - path.stat().st_mtime >= min_age_s
        except FileNotFoundError:
            continue
        if orphan and old:
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
            gone.append(path.name)
    return gone
