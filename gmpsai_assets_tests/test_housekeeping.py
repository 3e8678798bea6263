import datetime as dt
import uuid

import dagster as dg

from gmpsai_assets.defs.housekeeping import housekeeping_job, prunable_runs
from gmpsai_assets.defs.resources import HousekeepingResource, StatsResource, StorageResource
from gmpsai_assets.settings import Settings
from gmpsai_assets_tests.draft_writers import age_leases, held, listing, writer_pool


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


def test_housekeeping_removes_drafts_of_ended_runs_and_killed_writers_on_any_host(data_dir):
    drafts = Settings.from_env().drafts_dir
    with dg.instance_for_test() as instance, writer_pool(data_dir / "o", drafts) as start:
        ended = [start(f"worker-{i}-402653201{i}", _run(instance, "param_data_job", status))
                 for i, status in enumerate([dg.DagsterRunStatus.FAILURE,
                                             dg.DagsterRunStatus.CANCELED,
                                             dg.DagsterRunStatus.SUCCESS])]
        running = start("worker-7-4026532017",
                        _run(instance, "param_data_job", dg.DagsterRunStatus.STARTED))
        killed = start("laptop-8-4026532018")  # a `gmpsai` command: no run, its lease alone
        live = start("laptop-9-4026532019")
        killed.kill()

        def housekeeping() -> list[str]:
            result = housekeeping_job.execute_in_process(
                instance=instance, resources={"housekeeping": HousekeepingResource(),
                                              "storage": StorageResource(),
                                              "stats": StatsResource(storage=StorageResource())})
            assert result.success
            return [e.message for e in instance.all_logs(result.run_id)]

        housekeeping()  # ended runs go at once, fresh leases or not; the rest may be alive
        assert listing(drafts) == held(running, killed, live)
        age_leases(running, killed, live)  # 30 minutes on: only the live writers renewed
        logged = housekeeping()
        assert listing(drafts) == held(running, live)
        assert f"removed 1 abandoned draft(s) from {drafts}: {killed.draft.name}" in logged
        assert running.finish() == (0, "") and live.finish() == (0, "")
        assert all(w.finish()[0] != 0 for w in ended)  # told, and published nothing
        assert listing(drafts) == []
        assert listing(data_dir / "o") == ["3.h5", "5.h5"]
