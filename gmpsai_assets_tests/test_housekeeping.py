import datetime as dt
import uuid

import dagster as dg

from gmpsai_assets.defs.housekeeping import housekeeping_job, prunable_runs
from gmpsai_assets.defs.resources import HousekeepingResource


def _run(instance, job: str, status: dg.DagsterRunStatus) -> str:
    run_id = str(uuid.uuid4())
    instance.add_run(dg.DagsterRun(job_name=job, run_id=run_id, status=status))
    return run_id


def test_prunes_failed_and_logger_runs_keeps_successful_materializations(monkeypatch):
    with dg.instance_for_test() as instance:
        failed = _run(instance, "param_data_job", dg.DagsterRunStatus.FAILURE)
        canceled = _run(instance, "event_data_job", dg.DagsterRunStatus.CANCELED)
        kept = _run(instance, "param_data_job", dg.DagsterRunStatus.SUCCESS)
        logger_done = _run(instance, "timeline_logger_job", dg.DagsterRunStatus.FAILURE)
        logger_live = _run(instance, "timeline_logger_job", dg.DagsterRunStatus.STARTED)
        now = dt.datetime.now(dt.UTC)
        assert prunable_runs(instance, now - dt.timedelta(days=1)) == []  # all are recent
        later = set(prunable_runs(instance, now + dt.timedelta(days=1)))
        assert later == {failed, canceled, logger_done}

        monkeypatch.setenv("GMPSAI_RUN_RETENTION_DAYS", "1")
        keeper = {"housekeeping": HousekeepingResource()}  # reads the variable when the run starts
        assert housekeeping_job.execute_in_process(instance=instance, resources=keeper).success
        left = {r.run_id for r in instance.get_runs()}
        assert {failed, canceled, logger_done, kept, logger_live} <= left  # nothing is a day old

        monkeypatch.setattr("gmpsai_assets.defs.housekeeping._now",
                            lambda: now + dt.timedelta(days=2))  # two days later
        assert housekeeping_job.execute_in_process(instance=instance, resources=keeper).success
        left = {r.run_id for r in instance.get_runs()}
        assert kept in left and logger_live in left
        assert not left & {failed, canceled, logger_done}


def test_schedule_in_definitions():
    from gmpsai_assets.definitions import defs

    sched = defs.resolve_schedule_def("housekeeping_schedule")
    assert sched.cron_schedule == "30 3 * * *"
    assert sched.execution_timezone == "America/Chicago"
