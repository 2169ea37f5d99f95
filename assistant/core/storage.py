"""Storage faults turned into one line: a read-only data directory, a full disk.

The store and the manifest call these at their write seams, so a ``chromadb``, ``sqlite3`` or
``OSError`` failure reaches a person as a ``ReadOnlyStoreError`` or ``DiskFullError`` naming the
data directory (and the free space), never as a traceback.
"""

from __future__ import annotations

import atexit
import errno
import os
import shutil
import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from assistant.core.errors import BriefingError, DiskFullError, ReadOnlyStoreError

_FULL_ERRNOS = {errno.ENOSPC, errno.EDQUOT}
_READ_ONLY_ERRNOS = {errno.EROFS, errno.EACCES, errno.EPERM}
_FULL_WORDS = ("disk is full", "no space left", "disk full", "database or disk is full")
_READ_ONLY_WORDS = ("readonly database", "read-only file system", "read-only database")


def _existing(path: Path) -> Path:
    path = Path(path).absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


#: A failed write on a disk with less free space than this is taken for a full disk (Chroma's
#: engine reports one as "Error in compaction: Failed to apply logs ..." with no errno).
LOW_SPACE_BYTES = 1 << 20


def free_bytes(path: Path) -> int | None:
    """Free bytes on the disk holding ``path`` (None when unknown)."""
    try:
        return shutil.disk_usage(_existing(path)).free
    except OSError:
        return None


def bytes_under(path: Path) -> int:
    """Bytes a file or a folder's files take (0 when it does not exist).

    Files and folders that vanish while being walked (a background merge swapping segments)
    count as 0 instead of failing the walk.
    """
    try:
        if path.is_file():
            return path.stat().st_size
    except OSError:
        return 0
    total = 0
    for folder, _dirs, names in os.walk(path):  # a folder that vanished is skipped
        for name in names:
            try:
                total += os.stat(os.path.join(folder, name), follow_symlinks=False).st_size
            except OSError:
                continue
    return total


def free_space(path: Path) -> str:
    """Free space on the disk holding ``path``, e.g. ``"0 bytes"`` or ``"1.5 GB"``."""
    found = free_bytes(path)
    if found is None:
        return "unknown"
    free = float(found)
    if free < 1024:
        return f"{int(free)} bytes"
    for unit in ("KB", "MB", "GB", "TB"):
        free /= 1024
        if free < 1024 or unit == "TB":
            return f"{free:.1f} {unit}"
    return "unknown"  # pragma: no cover


def is_writable(directory: Path) -> bool:
    """True when a file can be created in ``directory`` (or its nearest existing parent).

    A real probe, not ``os.access``: it sees read-only mounts and does not trust root's bypass.
    """
    target = _existing(directory)
    if not target.is_dir():
        target = target.parent
    try:
        fd, name = tempfile.mkstemp(prefix=".briefing-probe-", dir=target)
    except OSError:
        return False
    os.close(fd)
    os.unlink(name)
    return True


def _errno_chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def is_disk_full(exc: BaseException) -> bool:
    """True for "no space left on device" from the OS, SQLite or Chroma."""
    for e in _errno_chain(exc):
        if isinstance(e, OSError) and e.errno in _FULL_ERRNOS:
            return True
        if any(w in str(e).lower() for w in _FULL_WORDS):
            return True
    return False


def is_read_only(exc: BaseException, data_dir: Path | None = None) -> bool:
    """True for a write refused because the file system or database is read-only (or, for a
    file inside ``data_dir``, because permission is denied)."""
    for e in _errno_chain(exc):
        if isinstance(e, OSError) and e.errno == errno.EROFS:
            return True
        if isinstance(e, OSError) and e.errno in _READ_ONLY_ERRNOS and data_dir and e.filename:
            if Path(str(e.filename)).absolute().is_relative_to(Path(data_dir).absolute()):
                return True
        if any(w in str(e).lower() for w in _READ_ONLY_WORDS):
            return True
    return False


def read_only_error(
    data_dir: Path, action: str = "add, remove or change documents"
) -> ReadOnlyStoreError:
    """The one line for a write attempted on a read-only data directory."""
    return ReadOnlyStoreError(
        f"the data directory {data_dir} is read-only, so Briefing cannot {action}; asking, "
        "status, the web page and reviews still work (make it writable to add or remove documents)"
    )


def disk_full_error(data_dir: Path) -> DiskFullError:
    """The one line for a write that ran out of disk space."""
    return DiskFullError(
        f"the disk holding the data directory {data_dir} is full ({free_space(data_dir)} free); "
        "free some space and run the same command again (the unfinished document is retried, "
        "the others are unchanged)"
    )


def translate(exc: BaseException, data_dir: Path, action: str) -> BriefingError | None:
    """A storage fault as its one-line error, or None when ``exc`` is something else."""
    if isinstance(exc, BriefingError):
        return None
    low = (free_bytes(data_dir) or LOW_SPACE_BYTES) < LOW_SPACE_BYTES
    if is_disk_full(exc) or (low and not isinstance(exc, (KeyboardInterrupt, ValueError))):
        return disk_full_error(data_dir)
    if is_read_only(exc, data_dir):
        return read_only_error(data_dir, action)
    return None


@contextmanager
def writing(data_dir: Path, action: str = "add, remove or change documents") -> Iterator[None]:
    """Run a write; a full disk or a read-only store becomes its one-line error."""
    try:
        yield
    except Exception as exc:
        err = translate(exc, data_dir, action)
        if err is None:
            raise
        raise err from None


def ensure_writable(data_dir: Path, action: str) -> None:
    """Refuse at once, with the reason, when ``data_dir`` cannot be written.

    Raises:
        ReadOnlyStoreError: naming the directory and what still works.
    """
    if not is_writable(data_dir):
        raise read_only_error(data_dir, action)


def open_sqlite(path: Path, schema: str, *, wal: bool = True) -> tuple[sqlite3.Connection, bool]:
    """Open a SQLite database of the data directory; returns (connection, read_only).

    A writable folder gets the file created with ``schema`` (WAL, synchronous=FULL). A
    read-only folder gets the file opened immutable (nobody can write there), or an empty
    in-memory database with ``schema`` when there is no file yet; writes then fail with
    "attempt to write a readonly database", which ``writing`` turns into one line.
    """
    if not is_writable(path.parent):
        log = path.with_name(path.name + "-wal")
        if path.is_file() and log.is_file() and log.stat().st_size:
            # Commits still in the write-ahead log: read a private copy that can replay it.
            folder = tempfile.mkdtemp(prefix="briefing-readonly-")
            atexit.register(shutil.rmtree, folder, True)
            copy = Path(folder) / path.name
            shutil.copy2(path, copy)
            shutil.copy2(log, copy.with_name(copy.name + "-wal"))
            db = sqlite3.connect(copy, isolation_level=None, check_same_thread=False)
            db.execute("SELECT count(*) FROM sqlite_master").fetchone()
            return db, True
        if path.is_file():
            uri = f"{path.absolute().as_uri()}?mode=ro&immutable=1"
            ro = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
            return ro, True
        empty = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
        empty.executescript(schema)
        return empty, True
    with writing(path.parent, "open its databases"):
        path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
        if wal:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
        db.executescript(schema)
    return db, False
