"""Housekeeping: keep Dagster's run history from growing without bound over years.

Successful runs that materialized something are the audit trail of the data (and the source of
each partition's status in the UI and of `gmpsai backfill`'s skipping), so they are kept. What
piles up without telling anyone anything after a few months is deleted: failed or canceled runs,
and the timeline logger's runs (each holds a heartbeat every five minutes), once they ended more
than GMPSAI_RUN_RETENTION_DAYS ago. Schedule and sensor ticks are pruned by dagster.yaml's
`retention`.

It also removes the drafts killed runs left in the draft directory, on any host: a draft is owned
by its run, through a lease its writer renews (files/drafts.py), and is removed once that run has
ended (asked of this instance: at once) or its lease has expired; a live writer's draft is never
touched. And the temporary files dead writers left among the statistics store's results
(stats/store.py: untouched for TEMP_STALE_S; a live writer renames its own within milliseconds).
"""

import datetime as dt
from functools import partial

import dagster as dg

from gmpsai_assets.defs.ownership import run_has_ended
from gmpsai_assets.defs.resources import HousekeepingResource, StatsResource, StorageResource
from gmpsai_assets.files.drafts import LEASE_EXPIRY_S, UNTAGGED_STALE_S, remove_stale_drafts
from gmpsai_assets.stats.store import TEMP_STALE_S, remove_stale_temp_files

PRUNED_STATUSES = [dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED]
FINISHED = [dg.DagsterRunStatus.SUCCESS, *PRUNED_STATUSES]


def prunable_runs(instance: dg.DagsterInstance, cutoff: dt.datetime) -> list[str]:
    """Ids of runs last updated before `cutoff` that housekeeping deletes."""
    filters = [
        dg.RunsFilter(statuses=PRUNED_STATUSES, updated_before=cutoff),
        dg.RunsFilter(job_name="timeline_logger_job", statuses=FINISHED, updated_before=cutoff),
    ]
    # The logger's latest run says whether a person stopped it (defs/timeline.py): never pruned.
    latest = instance.get_run_records(dg.RunsFilter(job_name="timeline_logger_job"), limit=1)
    keep = {r.dagster_run.run_id for r in latest}
    ids: dict[str, None] = {}
    for f in filters:
        for record in instance.get_run_records(filters=f):
            if record.dagster_run.run_id not in keep:
                ids[record.dagster_run.run_id] = None
    return list(ids)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dg.op(description="Delete failed/canceled runs and finished timeline-logger runs older than "
                   "`GMPSAI_RUN_RETENTION_DAYS` (default 90), except the logger's latest run.")
def prune_old_runs(context: dg.OpExecutionContext, housekeeping: HousekeepingResource) -> None:
    days = housekeeping.settings().run_retention_days
    cutoff = _now() - dt.timedelta(days=days)
    doomed = [r for r in prunable_runs(context.instance, cutoff) if r != context.run_id]
    for run_id in doomed:
        context.instance.delete_run(run_id)
    context.log.info(f"deleted {len(doomed)} run(s) that ended before {cutoff:%Y-%m-%d} UTC")


@dg.op(description=(
    "Delete abandoned drafts (and their `.lease` files) from the draft directory, whichever "
    "host or container wrote them: a draft whose Dagster run has ended (success, failure or "
    f"canceled), or whose lease went unrenewed for {LEASE_EXPIRY_S / 60:.0f} minutes (a killed "
    "`gmpsai` command, a run this instance does not know), or one of this host whose process "
    "is gone. Drafts of older versions without a lease go once untouched for "
    f"{UNTAGGED_STALE_S / 3600:.0f} hours. A live writer's draft is never touched."))
def remove_killed_runs_drafts(context: dg.OpExecutionContext, storage: StorageResource) -> None:
    draft_dir = storage.drafts_dir
    removed = remove_stale_drafts(draft_dir, partial(run_has_ended, context.instance))
    context.log.info(f"removed {len(removed)} abandoned draft(s) from {draft_dir}"
                     + (f": {', '.join(p.name for p in removed[:5])}" if removed else ""))


@dg.op(description="Delete the temporary files that writers which died left among the "
                   "statistics store's results: hidden `.<name>.<random>.tmp` files untouched "
                   f"for {TEMP_STALE_S / 3600:g} h (a live writer renames its own within "
                   "milliseconds).")
def remove_dead_writers_temp_files(context: dg.OpExecutionContext, stats: StatsResource) -> None:
    db = stats.settings().stats_db_path
    removed = remove_stale_temp_files(db)
    context.log.info(f"removed {len(removed)} temporary result file(s) of dead writers beside "
                     f"{db}" + (f": {', '.join(p.name for p in removed[:5])}" if removed else ""))


@dg.job(description="Prune old failed/canceled runs and timeline-logger runs, and remove the "
                    "drafts of killed runs and the temporary result files of dead writers (see "
                    "`docs/operations.md`).")
def housekeeping_job() -> None:
    prune_old_runs()
    remove_killed_runs_drafts()
    remove_dead_writers_temp_files()


housekeeping_schedule = dg.ScheduleDefinition(
    name="housekeeping_schedule",
    job=housekeeping_job,
    cron_schedule="30 3 * * *",
    execution_timezone="America/Chicago",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="03:30 America/Chicago: prune run history (`GMPSAI_RUN_RETENTION_DAYS`).",
)
