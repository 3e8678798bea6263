"""`make dev` stops its webserver and daemon on SIGTERM (to make) and on Ctrl-C (SIGINT to the
process group), as a terminal, systemd or a CI runner stops it."""

from __future__ import annotations

import contextlib
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from harness.processes import cmdline, descendants, running

REPO = Path(__file__).resolve().parents[1]
VENV = REPO / ".venv"
SERVING = re.compile(r"Serving dagster-webserver on http://127\.0\.0\.1:(\d+)")
START_DEADLINE_S = 300.0  # Dagster loads the definitions twice on a busy 2-core machine
STOP_DEADLINE_S = 120.0

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("make") is None or not (VENV / ".installed").exists()
                       or Path(sys.prefix).resolve() != VENV.resolve(),
                       reason="needs make and the checkout's own .venv (as `make test` runs)"),
]


def _descendants(pid: int) -> list[int]:
    return descendants(pid)


def _cmdline(pid: int) -> str:
    return cmdline(pid)


def _running(pid: int) -> bool:
    return running(pid)


def _start(tmp_path: Path) -> tuple[subprocess.Popen, int, int]:
    """`make dev` up and answering, and the pids of its webserver and daemon.

    DAGSTER_PORT=0 lets dagster-webserver pick the port (3000 if free, else a free one); should
    another process take that port before the webserver binds it, make dev exits at once and
    the start is tried again: a lost race never fails the test, nor passes it.
    """
    for _attempt in range(3):
        started = _try_start(tmp_path)
        if started is not None:
            return started
    pytest.fail("make dev lost the race for a free port three times")


def _try_start(tmp_path: Path) -> tuple[subprocess.Popen, int, int] | None:
    proc = subprocess.Popen(
        ["make", "-o", ".venv/.installed", "dev", "DAGSTER_PORT=0",
         f"DAGSTER_HOME={tmp_path / 'home'}", f"GMPSAI_DATA_DIR={tmp_path / 'data'}"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True,  # its own group: SIGINT to the group is Ctrl-C, nothing else
    )
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout], daemon=True).start()
    deadline = time.monotonic() + START_DEADLINE_S
    port = web = daemon = None
    seen = []
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            line = lines.get(timeout=1.0)
            seen.append(line)
            if m := SERVING.search(line):
                port = int(m[1])
        except queue.Empty:
            pass
        for pid in _descendants(proc.pid):
            cmd = _cmdline(pid)
            web = pid if "bin/dagster-webserver" in cmd else web
            daemon = pid if "bin/dagster-daemon" in cmd else daemon
        if port and web and daemon:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=5):
                    return proc, web, daemon
            except OSError:
                pass
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    while not lines.empty():
        seen.append(lines.get())
    if any("address already in use" in line.lower() for line in seen):
        return None
    pytest.fail(f"make dev did not come up: exit {proc.poll()}; last output: {seen[-5:]}")


@pytest.mark.parametrize("how", ["SIGTERM to make", "SIGINT to the group"])
def test_make_dev_stops_webserver_daemon_code_servers_and_runs(tmp_path: Path, how: str) -> None:
    """A stop takes everything `make dev` started: the webserver, the daemon, their code servers
    and the timeline logger's run that the keep-alive sensor launched under a code server (a code
    server waits for its runs, so stopping only the two would leave them running)."""
    proc, web, daemon = _start(tmp_path)
    try:
        deadline = time.monotonic() + START_DEADLINE_S
        while time.monotonic() < deadline:  # until a code server runs the logger's run
            started = set(_descendants(proc.pid))
            if any("spawn_main" in _cmdline(p) or "execute_run" in _cmdline(p) for p in started):
                break
            time.sleep(1.0)
        else:
            pytest.fail("the timeline logger's run never started under make dev")
        assert {web, daemon} <= started
        assert sum("dagster api grpc" in _cmdline(p) for p in started) >= 2
        if how == "SIGTERM to make":
            os.kill(proc.pid, signal.SIGTERM)
        else:
            os.killpg(proc.pid, signal.SIGINT)
        proc.wait(timeout=STOP_DEADLINE_S)
        deadline = time.monotonic() + STOP_DEADLINE_S
        while time.monotonic() < deadline and any(_running(p) for p in started):
            time.sleep(0.2)
        left = [f"{p} {_cmdline(p)[:100]}" for p in started if _running(p)]
        assert not left, left
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        for pid in set(_descendants(proc.pid)):
            cmd = _cmdline(pid)  # still ours (not a reused pid): our venv or our directory
            if _running(pid) and (str(VENV) in cmd or str(tmp_path) in cmd):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        proc.wait(timeout=30)
