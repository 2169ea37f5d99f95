"""A child started through the fork server dies when the process that owns the work is killed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

SCRIPT = """
import multiprocessing as mp, os, sys, time
from assistant.core.lifeline import die_with

def child(owner, flag):
    die_with(owner)
    open(flag, "w").write(str(os.getpid()))
    time.sleep(600)

if __name__ == "__main__":
    ctx = mp.get_context("forkserver")
    ctx.Process(target=child, args=(os.getpid(), sys.argv[1]), daemon=True).start()
    time.sleep(600)
"""


def _living(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def test_child_dies_with_its_owner_after_kill_9(tmp_path):
    script = tmp_path / "owner.py"
    script.write_text(SCRIPT, encoding="utf-8")
    flag = tmp_path / "child.pid"
    owner = subprocess.Popen([sys.executable, str(script), str(flag)])
    try:
        deadline = time.monotonic() + 60
        while not (flag.exists() and flag.read_text()) and time.monotonic() < deadline:
            time.sleep(0.2)
        child = int(flag.read_text())
        assert _living(child)
    finally:
        owner.send_signal(signal.SIGKILL)
        owner.wait()
    deadline = time.monotonic() + 5
    while _living(child) and time.monotonic() < deadline:
        time.sleep(0.1)
    alive = _living(child)
    if alive:
        os.kill(child, signal.SIGKILL)
    assert not alive, "the child outlived its owner by 5 s"
