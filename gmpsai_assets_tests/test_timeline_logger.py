"""The timeline logger loop against the simulated timing system with 1-2 s supercycles, real DuckDB
files, and real processes where the claim is about processes (killed mid-supercycle, a statistics
writer holding its own database)."""

from __future__ import annotations

import itertools
import math
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from gmpsai_assets.acnet.acl_client import AclDataLogger
from gmpsai_assets.acnet.datalogger import BadRequest
from gmpsai_assets.sim.acl_server import Faults
from gmpsai_assets.sim.simulator import SimulatedBooster
from gmpsai_assets.sim.timing import SimulatedTiming
from gmpsai_assets.timeline.logger import (
    Heartbeat,
    SourceDown,
    TimelineLogger,
    TimelineLoggerPolicy,
)
from gmpsai_assets.timeline.store import TimelineStore

REPO = Path(__file__).resolve().parents[1]
FAST = TimelineLoggerPolicy(heartbeat_s=0, backoff_initial_s=0.05, backoff_max_s=0.4,
                            max_outage_s=30)


def assert_complete_and_unique(
    store: TimelineStore, timing: SimulatedTiming, start_tolerance_s: float = 0.05
) -> list[float]:
    """Every stored supercycle is a real one, with the timeline it ran; none twice."""
    starts = [s.start_utc for s in store.supercycles(0, 2e9)]
    length = timing.supercycle_length()
    assert starts, "nothing recorded"
    for start in starts:
        assert timing.supercycle_start(start + length / 2) == pytest.approx(
            start, abs=start_tolerance_s)
    rows = store.records(0, 2e9)
    assert len({(s, i) for s, i, _, _ in rows}) == len(rows)
    for start in starts:
        want = [(e.index, f"{e.event:02x}", e.sc_time)
                for e in timing.timeline_at(start + length / 2)]
        assert [(i, h, t) for s, i, h, t in rows if s == start] == want
    return starts


def missing_between(starts: list[float], length: float) -> list[int]:
    """Supercycles missing between consecutive recorded ones (0 everywhere: nothing lost)."""
    return [round((b - a) / length) - 1 for a, b in itertools.pairwise(starts)]


def test_records_every_supercycle_completely_once(tmp_path):
    timing = SimulatedTiming(11, sc_ticks=15)  # 1 s supercycles
    store = TimelineStore(tmp_path / "timeline.duckdb")
    beats: list[Heartbeat] = []
    timeline_logger = TimelineLogger(timing, store, policy=FAST, heartbeat=beats.append)
    assert timeline_logger.run(max_supercycles=4) == 4
    starts = assert_complete_and_unique(store, timing)
    assert len(starts) == 4
    assert missing_between(starts, timing.supercycle_length()) == [0, 0, 0]
    assert [b.recorded for b in beats] == [1, 2, 3, 4]
    assert [b.last_start_utc for b in beats] == starts


def test_the_stop_event_ends_the_loop_while_it_sleeps(tmp_path):
    timing = SimulatedTiming(11, sc_ticks=30)  # 2 s supercycles: it is asleep most of the time
    store = TimelineStore(tmp_path / "timeline.duckdb")
    stop = threading.Event()
    first = threading.Event()
    timeline_logger = TimelineLogger(timing, store, policy=FAST, stop=stop,
                                     heartbeat=lambda _beat: first.set())
    worker = threading.Thread(target=timeline_logger.run)
    worker.start()
    try:
        assert first.wait(30), "no supercycle recorded"
        stop.set()
        worker.join(10)
        assert not worker.is_alive(), "the loop did not notice the stop event"
    finally:
        stop.set()
        worker.join()
    assert len(assert_complete_and_unique(store, timing)) == timeline_logger.recorded >= 1


def test_a_gateway_outage_is_retried_with_backoff_and_logged(tmp_path, acl_server):
    booster = SimulatedBooster(seed=11, sc_ticks=15)
    server = acl_server(booster, faults=Faults(error_share=1.0))  # every request: HTTP 500/503
    back = threading.Timer(1.5, lambda: setattr(server, "faults", Faults()))  # ... for 1.5 s
    back.start()
    gateway = AclDataLogger(server.url, retries=0, timeout_s=5)
    store = TimelineStore(tmp_path / "timeline.duckdb")
    logs: list[str] = []
    timeline_logger = TimelineLogger(gateway, store, policy=FAST, log=logs.append)
    try:
        assert timeline_logger.run(max_supercycles=2) == 2
    finally:
        back.cancel()
    retries = [m for m in logs if "DataLoggerUnavailable" in m]
    assert len(retries) >= 3
    waits = [float(m.split("retrying in ")[1].split(" s")[0]) for m in retries]
    assert waits[:3] == [0.05, 0.1, 0.2]  # exponential ...
    assert max(waits) == FAST.backoff_max_s  # ... up to the cap
    assert any("back after" in m for m in logs)
    assert server.requests < 40  # a tight retry loop would have sent thousands
    # read over HTTP: starts are good to the request latency, the timeline exactly
    assert_complete_and_unique(store, booster.timing, start_tolerance_s=0.1)


def test_a_gateway_that_stays_unreachable_raises_source_down(tmp_path):
    # A port bound but not listening, kept bound: refused, and nobody else can take it.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        gateway = AclDataLogger(f"http://127.0.0.1:{port}/cgi-bin/acl.pl", retries=0,
                                timeout_s=2)
        policy = TimelineLoggerPolicy(backoff_initial_s=0.05, backoff_max_s=0.2, max_outage_s=0.6)
        logs: list[str] = []
        timeline_logger = TimelineLogger(gateway, TimelineStore(tmp_path / "t.duckdb"),
                                         policy=policy, log=logs.append)
        with pytest.raises(SourceDown, match=r"unusable for \d+ s .*DataLoggerUnavailable"):
            timeline_logger.run()
    assert len(logs) >= 3 and not (tmp_path / "t.duckdb").exists()


def test_a_bad_request_is_a_bug_not_an_outage(tmp_path):
    class Refusing(SimulatedTiming):
        def supercycle_length(self) -> float:
            raise BadRequest("refusing to send ACL command")

    timeline_logger = TimelineLogger(Refusing(11), TimelineStore(tmp_path / "t.duckdb"),
                                     policy=FAST)
    with pytest.raises(BadRequest):
        timeline_logger.run()


# ---- real processes --------------------------------------------------------------------------

LOGGER_SCRIPT = textwrap.dedent("""
    import sys, time
    from gmpsai_assets.sim.timing import SimulatedTiming
    from gmpsai_assets.timeline.logger import TimelineLoggerPolicy, TimelineLogger
    from gmpsai_assets.timeline.store import TimelineStore
    store = TimelineStore(sys.argv[1])
    beat = lambda hb: print(hb.last_start_utc, hb.last_outcome.new, flush=True)
    print("ready", time.time(), flush=True)  # imports done: the loop starts now
    TimelineLogger(SimulatedTiming(11, sc_ticks=30), store,
                   policy=TimelineLoggerPolicy(heartbeat_s=0), heartbeat=beat).run()
""")


def _start_logger(db: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", LOGGER_SCRIPT, str(db)], cwd=REPO,
                            stdout=subprocess.PIPE, text=True, start_new_session=True)


def _ready(proc: subprocess.Popen) -> float:
    line = proc.stdout.readline()
    assert line.startswith("ready"), f"timeline logger exited with {proc.wait()}"
    return float(line.split()[1])


def _beats(proc: subprocess.Popen, n: int) -> list[float]:
    out = []
    while len(out) < n:
        line = proc.stdout.readline()
        assert line, f"timeline logger exited with {proc.wait()}"
        out.append(float(line.split()[0]))
    return out


@pytest.mark.slow
def test_killing_the_logger_mid_supercycle_loses_at_most_that_supercycle(tmp_path):
    db = tmp_path / "timeline.duckdb"
    timing = SimulatedTiming(11, sc_ticks=30)
    length = timing.supercycle_length()
    procs = [_start_logger(db)]
    try:
        _ready(procs[0])
        last = _beats(procs[0], 2)[-1]
        time.sleep(max(0.0, last + length / 2 - time.time()))  # mid-supercycle
        os.killpg(procs[0].pid, signal.SIGKILL)
        killed_at = time.time()
        assert procs[0].wait() == -signal.SIGKILL
        procs.append(_start_logger(db))  # what the restart sensor does, minus the wait
        back_at = _ready(procs[1])
        _beats(procs[1], 2)
    finally:
        for p in procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
            p.wait()
            p.stdout.close()
    starts = assert_complete_and_unique(TimelineStore(db), timing)
    assert len(starts) >= 3
    # Lost: only supercycles that ran entirely while no timeline logger was running, beside at most
    # the one in flight at the kill. (With a restart quicker than a supercycle that is at most one.)
    first, k = starts[0], round((starts[-1] - starts[0]) / length)
    lost = [first + i * length for i in range(k + 1)
            if all(abs(s - (first + i * length)) > length / 4 for s in starts)]
    in_flight = [t for t in lost if t <= killed_at < t + length]
    assert len(in_flight) <= 1
    assert all(killed_at < t and t + length <= back_at + length / 2
               for t in lost if t not in in_flight), (lost, killed_at, back_at)
    # How many that may be follows from the outage actually measured (always checked, on any
    # machine): the one in flight, plus those that started during the outage and were more than
    # half over when the new timeline logger came up; with a restart within half a supercycle, one.
    began_in_outage = max(0, math.floor((back_at - killed_at - length / 2) / length) + 1)
    assert len(lost) <= 1 + began_in_outage, (lost, killed_at, back_at)


STATS_WRITER = textwrap.dedent("""
    import sys, time
    from gmpsai_assets.stats.store import FileRecord, replace_file, writer
    path, seconds = sys.argv[1], float(sys.argv[2])
    end, n = time.time() + seconds, 0
    while time.time() < end:
        replace_file(path, FileRecord(
            name=f"MLParamData_{n}.h5", path="/nowhere", kind=None, format=None,
            generation=None, node=None, window_start_utc=None, window_end_utc=None,
            created_utc=None, bytes=None, mtime_utc=None, sha256=None, status="failed",
            error="test", distilled_utc=time.time(), seconds=0.0))
        with writer(path):  # holds the statistics database's write lock ...
            time.sleep(0.5)  # ... for a long while, like a legacy import
        n += 1
    print(n, flush=True)
""")


def test_statistics_writes_and_the_logger_run_at_once_without_waiting(tmp_path):
    stats_db = tmp_path / "gmpsai.duckdb"
    writer = subprocess.Popen([sys.executable, "-c", STATS_WRITER, str(stats_db), "4"],
                              cwd=REPO, stdout=subprocess.PIPE, text=True)
    try:
        timing = SimulatedTiming(11, sc_ticks=15)
        waits: list[str] = []
        store = TimelineStore(tmp_path / "timeline.duckdb", on_wait=waits.append)
        assert TimelineLogger(timing, store, policy=FAST).run(max_supercycles=3) == 3
        out, _ = writer.communicate(timeout=60)
    finally:
        if writer.poll() is None:
            writer.kill()
        writer.wait()
    assert writer.returncode == 0 and int(out) >= 3
    assert waits == []  # the timeline logger never waited for the statistics writer
    assert len(assert_complete_and_unique(store, timing)) == 3
    from gmpsai_assets.stats.store import reader
    with reader(stats_db) as con:
        assert con.execute("SELECT count(*) FROM data_files").fetchone()[0] == int(out)
