"""End to end with the real Dagster daemon: the keep-alive sensor starts the timeline logger, we
kill the run's process, and the restart sensor brings a new run that records again; terminated
as from the UI, it ends CANCELED and stays stopped (the keep-alive sensor's ticks and
`gmpsai status` say who stopped it when, and how to resume) until it is launched again with the
documented command.

A temporary DAGSTER_HOME holds the repository's dagster.yaml; the code location is the repo's
workspace.yaml, served by the daemon's own code server on loopback. Supercycles are 2 s
(GMPSAI_SIM_SC_TICKS=30) and the sensors look every 5 s (GMPSAI_TIMELINE_SENSOR_S), the daemon's
own loop interval, so the whole round trip takes well under a minute. Every process the daemon
started is in its process group, which is killed at the end whatever happens.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest

from gmpsai_assets.defs.timeline import JOB_NAME, PID_TAG, STOPPED_TAG, TERMINATED_HOW
from gmpsai_assets.timeline.store import TimelineStore
from gmpsai_assets.window import format_local
from harness.processes import stop_group, wait_for

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
SC_TICKS = 30  # 2 s supercycles


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[tuple[subprocess.Popen, Path, dg.DagsterInstance, Path]]:
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(REPO / "dagster.yaml", home / "dagster.yaml")
    data = tmp_path / "data"
    env = {**os.environ, "DAGSTER_HOME": str(home), "GMPSAI_DATA_DIR": str(data),
           "GMPSAI_SOURCE": "simulated", "GMPSAI_SIM_SC_TICKS": str(SC_TICKS),
           "GMPSAI_TIMELINE_SENSOR_S": "5", "DAGSTER_DISABLE_TELEMETRY": "1"}
    # Create the instance's sqlite storage before the daemon does, so the two never race to it.
    instance = dg.DagsterInstance.from_config(str(home))
    log = home / "daemon.log"
    with open(log, "w") as out:
        proc = subprocess.Popen([str(BIN / "dagster-daemon"), "run", "-w", "workspace.yaml"],
                                cwd=REPO, env=env, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    try:
        yield proc, log, instance, data
    finally:
        workers = {int(r.dagster_run.tags[PID_TAG]) for r in instance.get_run_records(
            dg.RunsFilter(job_name=JOB_NAME)) if PID_TAG in r.dagster_run.tags}
        instance.dispose()
        stop_group(proc)  # daemon, code servers, run workers
        for pid in workers:  # a run worker that somehow left the group
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def _live_run(instance: dg.DagsterInstance, not_id: str | None = None) -> dg.DagsterRun | None:
    for rec in instance.get_run_records(dg.RunsFilter(job_name=JOB_NAME,
                                                      statuses=[dg.DagsterRunStatus.STARTED])):
        run = rec.dagster_run
        if run.run_id != not_id and PID_TAG in run.tags:
            return run
    return None


@pytest.mark.slow
def test_daemon_keeps_the_logger_running_across_a_killed_run(daemon):
    proc, log, instance, data = daemon
    store = TimelineStore(data / "timeline.duckdb")

    first = wait_for("keep-alive sensor starts the logger",
                     lambda: _live_run(instance), 90, proc, log)
    assert first.tags.get("gmpsai/started_by") == "timeline_keepalive_sensor"
    wait_for("first supercycles recorded", lambda: len(store.supercycles(0, 2e9)) >= 2,
             30, proc, log)

    os.kill(int(first.tags[PID_TAG]), signal.SIGKILL)
    killed_at = time.time()
    wait_for("the killed run is marked failed",
             lambda: instance.get_run_by_id(first.run_id).status == dg.DagsterRunStatus.FAILURE,
             30, proc, log)
    second = wait_for("the restart sensor relaunches it",
                      lambda: _live_run(instance, not_id=first.run_id), 180, proc, log)
    assert second.tags.get("gmpsai/restart_of") == first.run_id
    assert second.tags.get("dagster/sensor_name") == "timeline_restart_sensor"
    wait_for("the new run records again",
             lambda: [s for s in store.supercycles(killed_at, 2e9)], 30, proc, log)

    runs = instance.get_run_records(dg.RunsFilter(job_name=JOB_NAME))
    assert len(runs) == 2, [(r.dagster_run.run_id, r.dagster_run.status) for r in runs]
    assert not any("dagster/parent_run_id" in r.dagster_run.tags for r in runs)  # no run retry

    # Terminate it as the UI does: it ends CANCELED (not a green Success) and stays stopped,
    # sensors on.
    instance.run_coordinator.cancel_run(second.run_id)
    stopped = wait_for("the terminated run ends",
                       lambda: (r := instance.get_run_by_id(second.run_id)).is_finished and r,
                       30, proc, log)
    assert stopped.status == dg.DagsterRunStatus.CANCELED
    assert stopped.tags.get(STOPPED_TAG) == "terminate"
    events = instance.all_logs(second.run_id)
    said = [e.user_message for e in events if e.user_message]
    assert any("terminated on request" in m and "every recorded supercycle is committed" in m
               for m in said)
    assert not instance.all_logs(second.run_id, of_type=dg.DagsterEventType.RUN_FAILURE)
    (asked,) = instance.get_records_for_run(
        second.run_id, of_type=dg.DagsterEventType.RUN_CANCELING).records
    terminated_at = time.time()

    def hints() -> list[str]:
        state = next(s for s in instance.all_instigator_state()
                     if s.name == "timeline_keepalive_sensor")
        ticks = instance.get_ticks(state.instigator_origin_id, state.selector_id, limit=5)
        return [t.skip_reason for t in ticks
                if t.timestamp > terminated_at and t.skip_reason
                and "launch timeline_logger_job" in t.skip_reason]

    said = wait_for("two keep-alive ticks that leave it stopped and say how to resume",
                    lambda: len(hints()) >= 2 and hints(), 60, proc, log)
    when = format_local(asked.timestamp)
    assert f"run {second.run_id} was stopped by {TERMINATED_HOW} at {when}" in said[0]
    assert _live_run(instance, not_id=second.run_id) is None
    assert len(instance.get_run_records(dg.RunsFilter(job_name=JOB_NAME))) == 2

    # `gmpsai status`, as a monitor runs it, says who stopped it (how: Dagster has no user) when.
    env = {**os.environ, "DAGSTER_HOME": str(instance.root_directory),
           "GMPSAI_DATA_DIR": str(data), "DAGSTER_DISABLE_TELEMETRY": "1"}
    status = subprocess.run([str(BIN / "gmpsai"), "status"], env=env, capture_output=True,
                            text=True, timeout=120)
    assert status.returncode in (1, 2), status.stdout + status.stderr  # (days are overdue too)
    assert (f"  WARNING  timeline logger: STOPPED by {TERMINATED_HOW} at {when} "
            f"(run {second.run_id}); last supercycle ") in status.stdout, status.stdout

    # Resume as the hint says.
    env = {**env, "GMPSAI_SOURCE": "simulated", "GMPSAI_SIM_SC_TICKS": str(SC_TICKS)}
    launched = subprocess.run(
        [str(BIN / "dagster"), "job", "launch", "-j", JOB_NAME, "-w", "workspace.yaml"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert launched.returncode == 0, launched.stderr
    third = wait_for("the launched run logs", lambda: _live_run(instance, not_id=second.run_id),
                     90, proc, log)
    resumed_at = time.time()
    wait_for("the resumed run records again",
             lambda: [s for s in store.supercycles(resumed_at, 2e9)], 30, proc, log)
    assert "gmpsai/started_by" not in third.tags

    starts = [s.start_utc for s in store.supercycles(0, 2e9)]
    assert starts == sorted(set(starts))
