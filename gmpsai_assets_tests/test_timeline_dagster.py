"""The Dagster side of the timeline: the daily asset and its check, both sensors evaluated on a
real (temporary) instance, and the job's failure and step-aside paths run in process."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import dagster as dg
import duckdb
import numpy as np
import pytest
from dagster._core.remote_origin import (  # to build a queued run as the daemon does
    RegisteredCodeLocationOrigin,
    RemoteJobOrigin,
    RemoteRepositoryOrigin,
)

from gmpsai_assets.defs import timeline as T
from gmpsai_assets.defs.resources import DataLoggerResource, StorageResource, TimelineResource
from gmpsai_assets.sim.timing import SimulatedTiming
from gmpsai_assets.timeline.store import Supercycle, TimelineStore
from gmpsai_assets.window import day_window, format_local

DAY = "2026-03-10"
TIMING = SimulatedTiming(5)  # the real 60.0667 s supercycle


def resources(data_dir: Path, source: str = "simulated", acl_url: str = "", max_outage: str = "600"
              ) -> dict[str, dg.ConfigurableResource]:
    return {
        "datalogger": DataLoggerResource(
            source=source, acl_url=acl_url or None, sim_seed=5, max_in_flight=1, acl_retries=0,
            acl_timeout_s=2.0),
        "timeline": TimelineResource(
            storage=StorageResource(data_dir=str(data_dir)),
            timeline_max_outage_s=float(max_outage)),
    }


def fill(data_dir: Path, start: float, end: float) -> int:
    """Record the simulated supercycles that began in [start, end), as the logger would have."""
    length, ticks = TIMING.supercycle_length(), TIMING.sc_ticks
    first = int(np.ceil(TIMING.clock.phase(start) / ticks))
    last = int(np.ceil(TIMING.clock.phase(end) / ticks))
    starts = TIMING.clock.tick_time(np.arange(first, last) * ticks)
    timelines: dict[int, tuple] = {}
    scs = []
    for t in starts.tolist():
        version = TIMING.timeline_version(t + 1)
        if version not in timelines:
            timelines[version] = tuple(TIMING.timeline_at(t + 1))
        scs.append(Supercycle(t, length, timelines[version], t + 6, "simulated"))
    outcomes = TimelineStore(data_dir / "timeline.duckdb").record_many(scs)
    return sum(o.new for o in outcomes)


def materialize(data_dir: Path) -> dg.ExecuteInProcessResult:
    return dg.materialize([T.timeline_records, T.timeline_records_gaps], partition_key=DAY,
                          resources=resources(data_dir))


def test_a_day_with_an_outage_is_exported_and_fails_its_check(tmp_path):
    w = day_window(DAY)
    outage = (w.start + 5 * 3600, w.start + 6 * 3600)
    fill(tmp_path, w.start - 600, outage[0])
    fill(tmp_path, outage[1], w.end + 600)
    result = materialize(tmp_path)
    assert result.success
    meta = {k: v.value for k, v in
            result.asset_materializations_for_node("timeline_records")[0].metadata.items()}
    path = Path(meta["path"])
    assert path == tmp_path / "timeline" / f"TimelineLog_{DAY}.parquet" and path.exists()
    assert meta["bytes"] == path.stat().st_size
    assert meta["supercycles_expected"] == round(86400 / TIMING.supercycle_length()) == 1438
    assert 1438 - 61 <= meta["supercycles_recorded"] <= 1438 - 59
    assert meta["gap_count"] == 1
    gap = meta["gaps"][0]
    # from the end of the last supercycle begun before 05:00 to the first one begun after 06:00
    length = TIMING.supercycle_length()
    assert outage[0] < gap["start_utc"] <= outage[0] + length
    assert outage[1] <= gap["end_utc"] < outage[1] + length
    assert gap["start_local"].startswith("2026-03-10+05:0")
    assert meta["timeline_changes"] == len(meta["timeline_changes_at"]) >= 1
    with duckdb.connect() as con:
        rows = con.execute(f"SELECT count(*), count(DISTINCT sc_start_utc), min(sc_start_utc), "
                           f"max(sc_start_utc) FROM read_parquet('{path}')").fetchone()
    assert rows[0] == meta["rows"] and rows[1] == meta["supercycles_recorded"]
    assert w.start <= rows[2] and rows[3] < w.end
    (check,) = result.get_asset_check_evaluations()
    assert not check.passed and check.severity == dg.AssetCheckSeverity.ERROR
    assert len(check.metadata["long_gaps"].value) == 1


def test_a_complete_day_passes_and_a_rerun_replaces_its_file(tmp_path):
    w = day_window(DAY)
    fill(tmp_path, w.start - 600, w.end + 600)
    first = materialize(tmp_path)
    (check,) = first.get_asset_check_evaluations()
    assert check.passed
    second = materialize(tmp_path)
    assert second.success
    published = sorted(p.name for p in (tmp_path / "timeline").iterdir())
    assert published == [f"TimelineLog_{DAY}.parquet"]
    assert list((tmp_path / "drafts").iterdir()) == []


def test_a_day_before_the_logger_ever_ran_is_left_missing_with_a_reason(tmp_path):
    # `make run` on a fresh machine: yesterday, nothing recorded (the logger starts today)
    w = day_window(DAY)
    fill(tmp_path, w.end + 86400, w.end + 86400 + 600)
    with dg.instance_for_test() as instance:
        result = dg.materialize([T.timeline_records, T.timeline_records_gaps],
                                partition_key=DAY, resources=resources(tmp_path),
                                instance=instance)
        assert result.success  # nothing wrong happened: there is just nothing to export
        assert result.asset_materializations_for_node("timeline_records") == []
        assert result.get_asset_check_evaluations() == []
        status = instance.get_status_by_partition(T.timeline_records.key, [DAY],
                                                  T.daily_partitions)
        assert status[DAY] != dg.AssetPartitionStatus.MATERIALIZED  # a backfill redoes it
        said = [e.user_message for e in instance.all_logs(result.run_id) if e.user_message]
    assert any(m.startswith(f"left missing: no supercycle recorded in [{DAY}")
               and "had not started yet" in m for m in said)
    assert not (tmp_path / "timeline").exists()


def test_a_day_with_nothing_recorded_after_the_logger_began_fails(tmp_path):
    w = day_window(DAY)
    fill(tmp_path, w.start - 3 * 86400, w.start - 3 * 86400 + 600)  # it ran days before
    result = dg.materialize([T.timeline_records], partition_key=DAY,
                            resources=resources(tmp_path), raise_on_error=False)
    assert not result.success
    failure = result.get_step_failure_events()[0].step_failure_data.user_failure_data
    assert f"no supercycle recorded on {DAY} although the timeline logger has recorded" in \
        failure.description
    assert failure.metadata["supercycles_expected"].value == 1438


def test_the_schedule_exports_the_day_that_just_ended():
    from gmpsai_assets.definitions import defs
    from gmpsai_assets.window import FERMILAB_TZ

    schedule = defs.resolve_schedule_def("timeline_records_schedule")
    assert schedule.execution_timezone == "America/Chicago"
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING
    when = __import__("datetime").datetime(2026, 3, 11, 0, 20, tzinfo=FERMILAB_TZ)
    with dg.build_schedule_context(scheduled_execution_time=when,
                                   repository_def=defs.get_repository_def()) as context:
        (request,) = schedule.evaluate_tick(context).run_requests
    assert request.partition_key == DAY


# ---- the sensors, on a real instance ---------------------------------------------------------


@pytest.fixture
def instance(tmp_path):
    with dg.instance_for_test(temp_dir=str(tmp_path)) as inst:
        yield inst


def _tick(sensor: dg.SensorDefinition, instance: dg.DagsterInstance, cursor: str | None = None):
    ctx = dg.build_sensor_context(instance=instance, cursor=cursor)
    return sensor.evaluate_tick(ctx)


def _run(instance: dg.DagsterInstance, status: dg.DagsterRunStatus | None = None,
         tags: dict[str, str] | None = None, job: dg.JobDefinition = T.timeline_logger_job
         ) -> dg.DagsterRun:
    # A queued run names the code location it came from, as a daemon-submitted run does.
    origin = RemoteJobOrigin(
        repository_origin=RemoteRepositoryOrigin(RegisteredCodeLocationOrigin("gmpsai_assets"),
                                                 "__repository__"),
        job_name=job.name,
    ) if status == dg.DagsterRunStatus.QUEUED else None
    return instance.create_run_for_job(job_def=job, status=status, tags=tags,
                                       remote_job_origin=origin)


def test_restart_sensor_requests_exactly_one_relaunch_per_failed_run(instance, monkeypatch):
    monkeypatch.setattr(T, "QUICK_FAILURE_S", 0.0)  # these runs had been logging for a while
    cursor = _tick(T.timeline_restart_sensor, instance).cursor  # the first tick sets the cursor
    failed = []
    for _ in range(3):
        run = _run(instance)
        instance.report_run_failed(run)
        failed.append(run.run_id)
    other = dg.JobDefinition(graph_def=dg.GraphDefinition("other_job", node_defs=[]))
    instance.report_run_failed(_run(instance, job=other))  # not ours: ignored
    instance.report_run_canceled(_run(instance))  # stopped on purpose: not a failure
    # (the keep-alive sensor leaves that alone too: test_a_terminated_logger_stays_stopped)
    keys = []
    for _ in range(8):  # tick until it has nothing more to say, as the daemon would
        data = _tick(T.timeline_restart_sensor, instance, cursor)
        keys += [r.run_key for r in data.run_requests]
        assert all(r.tags["gmpsai/restart_of"] == r.run_key for r in data.run_requests)
        cursor = data.cursor
    assert keys == failed  # one each, in order; the daemon drops a repeated run_key anyway


def test_restart_sensor_stands_back_while_a_run_is_live(instance):
    cursor = _tick(T.timeline_restart_sensor, instance).cursor
    _run(instance, dg.DagsterRunStatus.QUEUED)  # e.g. the keep-alive sensor got there first
    instance.report_run_failed(_run(instance))
    data = _tick(T.timeline_restart_sensor, instance, cursor)
    assert data.run_requests == [] and "already logging" in data.skip_message


def test_a_crash_loop_backs_off_instead_of_restarting_every_tick(instance, monkeypatch):
    cursor = _tick(T.timeline_restart_sensor, instance).cursor
    first = _run(instance)
    instance.report_run_failed(first)  # failed at once, e.g. an unwritable data directory
    data = _tick(T.timeline_restart_sensor, instance, cursor)
    assert [r.run_key for r in data.run_requests] == [first.run_id]  # one quick failure: retry
    instance.report_run_failed(_run(instance))  # ... and the retry failed at once too
    data = _tick(T.timeline_restart_sensor, instance, data.cursor)
    assert data.run_requests == [] and "2 runs in a row" in data.skip_message
    keep = _tick(T.timeline_keepalive_sensor, instance)
    assert keep.run_requests == [] and "crash loop: next start 60 s" in keep.skip_message
    assert [T.restart_backoff(n) for n in (0, 1, 2, 3, 4, 10)] == [0, 0, 60, 120, 240, 3600]
    monkeypatch.setattr(T, "QUICK_FAILURE_S", 0.0)  # had they run for a while: no crash loop
    assert T.quick_failures(instance) == 0
    assert len(_tick(T.timeline_keepalive_sensor, instance).run_requests) == 0  # grace only
    monkeypatch.setattr(T, "RESTART_GRACE_S", 0.0)
    assert len(_tick(T.timeline_keepalive_sensor, instance).run_requests) == 1


def test_keepalive_starts_the_logger_only_when_no_run_is_active(instance, monkeypatch):
    first = _tick(T.timeline_keepalive_sensor, instance)
    assert len(first.run_requests) == 1 and first.run_requests[0].run_key is None
    for status in (dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.STARTING,
                   dg.DagsterRunStatus.STARTED):
        run = _run(instance, status, {T.PID_TAG: str(os.getpid()),
                                      T.HOST_TAG: socket.gethostname()})
        data = _tick(T.timeline_keepalive_sensor, instance)
        assert data.run_requests == [] and run.run_id in data.skip_message
        instance.report_run_failed(run)
    monkeypatch.setattr(T, "RESTART_GRACE_S", 0.0)
    monkeypatch.setattr(T, "QUICK_FAILURE_S", 0.0)  # they had been logging for a while
    again = _tick(T.timeline_keepalive_sensor, instance)  # the last run failed: restart
    assert len(again.run_requests) == 1
    monkeypatch.setattr(T, "RESTART_GRACE_S", 2 * T.SENSOR_S)
    instance.report_run_failed(_run(instance))
    fresh = _tick(T.timeline_keepalive_sensor, instance)
    assert fresh.run_requests == [] and "timeline_restart_sensor" in fresh.skip_message
    monkeypatch.setattr(T, "RESTART_GRACE_S", 0.0)  # the restart sensor did not act in time
    assert len(_tick(T.timeline_keepalive_sensor, instance).run_requests) == 1


def test_a_terminated_logger_stays_stopped_until_launched_again(instance):
    live = _run(instance, dg.DagsterRunStatus.STARTED)
    _run(instance, dg.DagsterRunStatus.SUCCESS, {T.STEPPED_ASIDE_TAG: live.run_id})
    instance.report_run_canceled(live)  # canceled before its step could tag it
    data = _tick(T.timeline_keepalive_sensor, instance)
    assert data.run_requests == []
    assert f"run {live.run_id} was stopped by {T.CANCELED_HOW} at " in data.skip_message
    assert "launch timeline_logger_job" in data.skip_message
    # A person's Terminate of a logging run, as Dagster records it: the request, then the
    # step's tag, then CANCELED (test_timeline_e2e does it for real). Who: how, never a name.
    terminated = _run(instance, dg.DagsterRunStatus.STARTED)
    instance.report_run_canceling(terminated)
    asked = instance.get_records_for_run(terminated.run_id,
                                         of_type=dg.DagsterEventType.RUN_CANCELING).records
    instance.add_run_tags(terminated.run_id, {T.STOPPED_TAG: "terminate"})
    instance.report_run_canceled(instance.get_run_by_id(terminated.run_id))
    said = _tick(T.timeline_keepalive_sensor, instance).skip_message
    assert said.startswith(f"stopped on purpose: run {terminated.run_id} was stopped by a "
                           "Terminate in the Dagster UI or API (Dagster does not record who) at "
                           f"{format_local(asked[0].timestamp)}; to resume, launch")
    resumed = _run(instance, dg.DagsterRunStatus.STARTED)  # the operator launched it
    assert resumed.run_id in _tick(T.timeline_keepalive_sensor, instance).skip_message
    instance.report_run_failed(resumed)  # ... and a crash after that restarts it again
    assert T.stopped_by_operator(instance) is None


def test_keepalive_fails_a_run_whose_process_is_gone(instance, monkeypatch):
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    run = _run(instance, dg.DagsterRunStatus.STARTED,
               {T.PID_TAG: gone.stdout.strip(), T.HOST_TAG: socket.gethostname()})
    assert _tick(T.timeline_keepalive_sensor, instance).run_requests == []  # too young to judge
    monkeypatch.setattr(T, "ZOMBIE_AFTER_S", 0.0)
    cursor = _tick(T.timeline_restart_sensor, instance).cursor
    data = _tick(T.timeline_keepalive_sensor, instance)
    assert instance.get_run_by_id(run.run_id).status == dg.DagsterRunStatus.FAILURE
    assert data.run_requests == []  # ... and the restart sensor relaunches it:
    (relaunch,) = _tick(T.timeline_restart_sensor, instance, cursor).run_requests
    assert relaunch.run_key == run.run_id


# ---- the job, in process ---------------------------------------------------------------------


def test_a_source_that_stays_down_fails_the_run(tmp_path, instance):
    # A port bound but not listening, kept bound: refused, and nobody else can take it.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        res = resources(tmp_path, source="acl",
                        acl_url=f"http://127.0.0.1:{port}/cgi-bin/acl.pl", max_outage="1")
        result = T.timeline_logger_job.execute_in_process(resources=res, instance=instance,
                                                          raise_on_error=False)
    assert not result.success
    (failure,) = result.get_step_failure_events()
    assert "unusable for" in failure.step_failure_data.error.message
    run = instance.get_run_by_id(result.run_id)
    assert run.status == dg.DagsterRunStatus.FAILURE
    assert run.tags[T.PID_TAG] == str(os.getpid())  # where the keep-alive sensor looks
    # The job observed its store as it began: the UI's lineage and catalog show who writes it.
    (seen,) = instance.fetch_observations(T.timeline_store.key, limit=10).records
    meta = seen.asset_observation.metadata
    assert seen.run_id == result.run_id and meta["event"].value == "logging begins, source acl"
    assert meta["path"].value == str(tmp_path / "timeline.duckdb")
    assert meta["last_recorded"].value == "never"


def test_a_second_run_steps_aside_for_a_live_one(tmp_path, instance):
    older = _run(instance, dg.DagsterRunStatus.STARTED,
                 {T.PID_TAG: str(os.getpid()), T.HOST_TAG: socket.gethostname()})
    result = T.timeline_logger_job.execute_in_process(resources=resources(tmp_path),
                                                      instance=instance)
    assert result.success
    logs = [e.message for e in instance.all_logs(result.run_id)
            if e.user_message and older.run_id in e.user_message]
    assert logs and "steps aside" in logs[0]
    assert not (tmp_path / "timeline.duckdb").exists()
