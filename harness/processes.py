"""Processes the suite starts, and proof that none outlives it.

Every process the suite starts inherits `SESSION_VAR` (set by conftest when the session begins),
so at the end a scan of /proc finds any survivor, wherever it was reparented (a code server left
by a daemon is adopted by pid 1). Servers (webserver, daemon, `make dev`, serve-site) run in a
process group of their own and are stopped by `stop_group`: SIGTERM to the group, a grace period
for the group to empty, then SIGKILL to whatever is left.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

SESSION_VAR = "GMPSAI_TEST_SESSION"  # not a setting: a tag on the suite's processes


def new_session_tag() -> str:
    return uuid.uuid4().hex


def _stat(pid: int) -> list[str] | None:
    try:
        return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None


def running(pid: int) -> bool:
    stat = _stat(pid)
    return stat is not None and stat[0] != "Z"


def cmdline(pid: int) -> str:
    try:
        return (Path("/proc") / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _pids() -> list[int]:
    return [int(e.name) for e in Path("/proc").iterdir() if e.name.isdigit()]


def descendants(pid: int) -> list[int]:
    tree: dict[int, list[int]] = {}
    for p in _pids():
        stat = _stat(p)
        if stat is not None:
            tree.setdefault(int(stat[1]), []).append(p)
    found, todo = [], [pid]
    while todo:
        for child in tree.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def group_members(pgid: int) -> list[int]:
    """Live (not zombie) processes of process group `pgid`."""
    return [p for p in _pids() if (s := _stat(p)) is not None and s[0] != "Z"
            and int(s[3]) == pgid]


def stop_group(proc: subprocess.Popen, grace_s: float = 20.0) -> list[int]:
    """SIGTERM `proc`'s process group (it must lead one: start_new_session=True), wait up to
    `grace_s` for the group to empty, SIGKILL the rest; returns the pids that needed SIGKILL."""
    pgid = proc.pid
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGTERM)
    end = time.monotonic() + grace_s
    while time.monotonic() < end:
        proc.poll()  # reap the leader
        if not group_members(pgid):
            break
        time.sleep(0.2)
    stubborn = group_members(pgid)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=30)
    return stubborn


def survivors(tag: str) -> list[tuple[int, str]]:
    """Processes other than this one whose environment carries the session tag."""
    needle = f"{SESSION_VAR}={tag}".encode()
    found = []
    for p in _pids():
        if p == os.getpid():
            continue
        try:
            env = (Path("/proc") / str(p) / "environ").read_bytes()
        except OSError:
            continue
        if needle in env.split(b"\0") and running(p):
            found.append((p, cmdline(p)[:160]))
    return found


def kill_all(pids: list[int]) -> None:
    for p in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(p, signal.SIGKILL)


T = TypeVar("T")


def wait_for(what: str, probe: Callable[[], T | None], deadline_s: float,
             process: subprocess.Popen | Callable[[], subprocess.Popen], log: Path) -> T:
    """The first true value of `probe`, polled every 0.5 s; an AssertionError with the end of
    `log` when `deadline_s` passes or the process it waits on (a daemon: the Popen, or a
    callable giving the current one when it is restarted) exits first."""
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        proc = process if isinstance(process, subprocess.Popen) else process()
        if proc.poll() is not None:
            raise AssertionError(f"{proc.args[0]} exited ({proc.returncode}):\n{log.read_text()}")
        value = probe()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"{what}: not within {deadline_s:g} s; log:\n"
                         f"{log.read_text()[-4000:]}")
