"""The writer lock: one process at a time may write to a data directory.

Chroma's embedded store is not safe for several writer processes on one directory, so a
second writer is refused at once with a message naming the holder, never left to hang. On a
read-only data directory nobody can write, so no lock is needed: ``acquire`` then only records
``read_only`` and each write fails later with its own one-line reason.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path
from types import TracebackType

from assistant.core.errors import StoreLockedError
from assistant.core.storage import is_writable


class WriterLock:
    """An exclusive, non-blocking ``flock`` on ``<data_dir>/writer.lock``."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / "writer.lock"
        self._fd: int | None = None
        self.read_only = False

    def acquire(self) -> WriterLock:
        if not is_writable(self.path.parent):
            self.read_only = True
            return self
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 64).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise StoreLockedError(
                f"another Briefing process (pid {holder}) is writing to {self.path.parent}; "
                "wait for it to finish, or use a Chroma server for several processes"
            ) from None
        with contextlib.suppress(OSError):  # the pid is only a hint; a full disk must not stop us
            os.ftruncate(fd, 0)
            os.write(fd, str(os.getpid()).encode())
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> WriterLock:
        return self.acquire()

    def __exit__(
        self, *exc: tuple[type[BaseException] | None, BaseException | None, TracebackType | None]
    ) -> None:
        self.release()
