"""Housekeeping: keep Dagster's run history from growing without bound over years.

Successful runs that materialized something are the audit trail of the data (and the source of
each partition's status in the UI and of `gmpsai backfill`'s skipping), so they are kept. What
piles up without telling anyone anything after a few months is deleted: failed or canceled runs,
and the timeline logger's runs (each holds a heartbeat every five minutes), once they ended more
than GMPSAI_RUN_RETENTION_DAYS ago. Schedule and sensor ticks are pruned by dagster.yaml's
`retention`.
"""

import datetime as dt

import dagster as dg

from gmpsai_assets.defs.resources import HousekeepingResource

PRUNED_STATUSES = [dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED]
FINISHED = [dg.DagsterRunStatus.SUCCESS, *PRUNED_STATUSES]


def prunable_runs(instance: dg.DagsterInstance, cutoff: dt.datetime) -> list[str]:
    """Ids of runs last updated before `cutoff` that housekeeping deletes."""
    filters = [
        dg.RunsFilter(statuses=PRUNED_STATUSES, updated_before=cutoff),
        dg.RunsFilter(job_name="timeline_logger_job", statuses=FINISHED, updated_before=cutoff),
    ]
    ids: dict[str, None] = {}
    for f in filters:
        for record in instance.get_run_records(filters=f):
            ids[record.dagster_run.run_id] = None
    return list(ids)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dg.op(description="Delete failed/canceled runs and finished timeline-logger runs older than "
                   "GMPSAI_RUN_RETENTION_DAYS (default 90).")
def prune_old_runs(context: dg.OpExecutionContext, housekeeping: HousekeepingResource) -> None:
    days = housekeeping.settings().run_retention_days
    cutoff = _now() - dt.timedelta(days=days)
    doomed = [r for r in prunable_runs(context.instance, cutoff) if r != context.run_id]
    for run_id in doomed:
        context.instance.delete_run(run_id)
    context.log.info(f"deleted {len(doomed)} run(s) that ended before {cutoff:%Y-%m-%d} UTC")


@dg.job(description="Prune old failed/canceled runs and timeline-logger runs (see README).")
def housekeeping_job() -> None:
    prune_old_runs()


housekeeping_schedule = dg.ScheduleDefinition(
    name="housekeeping_schedule",
    job=housekeeping_job,
    cron_schedule="30 3 * * *",
    execution_timezone="America/Chicago",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="03:30 America/Chicago: prune run history (GMPSAI_RUN_RETENTION_DAYS).",
)
