"""Child processes that die with the process that started the work.

A parser child is started through multiprocessing's fork server, so its direct parent is the
fork server, not the ``briefing`` process. ``die_with(owner_pid)`` covers both: Linux's
parent-death signal (``prctl(PR_SET_PDEATHSIG, SIGKILL)``) ends the child when its direct parent
goes, and a small watchdog thread ends it when ``owner_pid`` is gone (kill -9 included), so
repeated kills never pile up orphaned parsers.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys
import threading
import time

PR_SET_PDEATHSIG = 1


def _set_parent_death_signal(sig: int = signal.SIGKILL) -> bool:
    """Ask Linux to send ``sig`` when the parent dies; False where that is not available."""
    if not sys.platform.startswith("linux"):
        return False
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0)) == 0
    return False


def _alive(pid: int) -> bool:
    """True while ``pid`` runs (a killed process waiting to be reaped counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    with contextlib.suppress(OSError, IndexError):
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    return True


def die_with(owner_pid: int, interval_s: float = 0.5) -> None:
    """End this process at once when ``owner_pid`` (or the direct parent) exits.

    Call it first thing in a child. The parent-death signal may arrive after the parent already
    died (a race at start), so the watchdog also checks once right away.
    """
    parent = os.getppid()
    _set_parent_death_signal()

    def watch() -> None:
        while True:
            if not _alive(owner_pid) or os.getppid() != parent:
                os._exit(1)
            time.sleep(interval_s)

    if not _alive(owner_pid):
        os._exit(1)
    threading.Thread(target=watch, daemon=True, name="briefing-lifeline").start()
