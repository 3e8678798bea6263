import datetime as dt
import uuid

import dagster as dg

from gmpsai_assets.defs.housekeeping import housekeeping_job, prunable_runs
from gmpsai_assets.defs.resources import HousekeepingResource, StatsResource, StorageResource


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
        keeper = {"housekeeping": HousekeepingResource(),  # read when the run starts
                  "storage": StorageResource(), "stats": StatsResource(storage=StorageResource())}
        assert housekeeping_job.execute_in_process(instance=instance, resources=keeper).success
        left = {r.run_id for r in instance.get_runs()}
        assert {failed, canceled, logger_done, kept, logger_live} <= left  # nothing is a day old

        monkeypatch.setattr("gmpsai_assets.defs.housekeeping._now",
                            lambda: now + dt.timedelta(days=2))  # two days later
        assert housekeeping_job.execute_in_process(instance=instance, resources=keeper).success
        left = {r.run_id for r in instance.get_runs()}
        assert kept in left and logger_live in left
        assert not left & {failed, canceled, logger_done}


def test_housekeeping_removes_drafts_of_killed_runs_only(data_dir):
    import os
    import signal
    import subprocess
    import sys

    from gmpsai_assets.settings import Settings

    drafts = Settings.from_env().drafts_dir
    drafts.mkdir(parents=True, exist_ok=True)
    # Two real writers: one killed (its draft is stale), one alive throughout.
    script = ("import sys, tempfile, time\n"
              "from pathlib import Path\n"
              "from gmpsai_assets.files.drafts import drafted\n"
              "with drafted(Path(sys.argv[1]) / 'x.h5', Path(sys.argv[2])) as d:\n"
              "    d.write_bytes(b'half'); print(d.name, flush=True); time.sleep(120)\n")
    procs = [subprocess.Popen([sys.executable, "-c", script, str(data_dir / "o"), str(drafts)],
                              stdout=subprocess.PIPE, text=True) for _ in range(2)]
    killed, live = procs
    try:
        names = [p.stdout.readline().strip() for p in procs]
        os.kill(killed.pid, signal.SIGKILL)
        killed.wait()
        with dg.instance_for_test() as instance:
            assert housekeeping_job.execute_in_process(
                instance=instance, resources={"housekeeping": HousekeepingResource(),
                                              "storage": StorageResource(),
                                              "stats": StatsResource(storage=StorageResource())}
            ).success
        assert sorted(p.name for p in drafts.iterdir()) == [names[1]]
    finally:
        live.kill()
        live.wait()
