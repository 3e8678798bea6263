"""Which local days are complete, and the schedules that grab the day that just ended unless it
is.

A day is complete when every daily asset a re-run could make again from the source
(`DAILY_FROM_SOURCE`: not the timeline's export, which only the logger's record can give) is
materialized in the instance; the day's checks ran in those same runs (`file_stats`' inside its
step, `cycle_table`'s after it, defs/published_json.py). `gmpsai backfill` skips such a day
unless `--refetch` is given, and so do the 01:00 and 02:01 schedules: a day that `make run` or
a backfill already made complete is not fetched again. Launch the job for that day (or
`gmpsai backfill --refetch`) to fetch it again on purpose.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import TYPE_CHECKING

import dagster as dg

from gmpsai_assets.defs.cycle_table import cycle_table
from gmpsai_assets.defs.event_data import event_data, event_data_job
from gmpsai_assets.defs.file_stats import file_stats
from gmpsai_assets.defs.param_data import param_data, param_data_job
from gmpsai_assets.defs.partitions import daily_partitions
from gmpsai_assets.window import FERMILAB_TZ, last_complete_day

if TYPE_CHECKING:  # what define_asset_job returns; Dagster does not export the name
    from dagster._core.definitions.unresolved_asset_job_definition import (
        UnresolvedAssetJobDefinition,
    )

# The daily assets any past day can be (re)made of: fetched from the source and distilled.
DAILY_FROM_SOURCE = [param_data, event_data, file_stats, cycle_table]


def complete_days(instance: dg.DagsterInstance, days: Iterable[dt.date]) -> set[dt.date]:
    """The days among `days` on which every asset of DAILY_FROM_SOURCE is materialized."""
    keys = [d.isoformat() for d in days]
    done = set(keys)
    for asset in DAILY_FROM_SOURCE:
        status = instance.get_status_by_partition(asset.key, keys, daily_partitions)
        done &= {k for k, s in (status or {}).items()
                 if s == dg.AssetPartitionStatus.MATERIALIZED}
    return {dt.date.fromisoformat(k) for k in done}


def _grab_yesterday(job: UnresolvedAssetJobDefinition, hour: int, minute: int,
                    description: str) -> dg.ScheduleDefinition:
    """A daily schedule (America/Chicago) of `job` for the local day that just ended, skipped
    with the reason when that day is complete."""

    @dg.schedule(
        name=f"{job.name.removesuffix('_job')}_schedule",
        job=job,
        cron_schedule=f"{minute} {hour} * * *",
        execution_timezone=str(FERMILAB_TZ),
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description=description,
    )
    def _schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest | dg.SkipReason:
        day = last_complete_day(context.scheduled_execution_time.timestamp())
        if not daily_partitions.has_partition_key(day.isoformat()):
            return dg.SkipReason(f"{day} is not a daily partition (GMPSAI_START_DATE)")
        if day in complete_days(context.instance, [day]):
            names = ", ".join(a.key.to_user_string() for a in DAILY_FROM_SOURCE)
            return dg.SkipReason(
                f"{day} is complete ({names} materialized, checked in their runs): not "
                f"fetched again; to fetch it anyway, "
                f"launch {job.name} for {day} or run `gmpsai backfill --from {day} --to {day} "
                "--refetch`")
        return dg.RunRequest(run_key=day.isoformat(), partition_key=day.isoformat())

    return _schedule


param_data_schedule = _grab_yesterday(
    param_data_job, 1, 0,
    "01:00 America/Chicago: grab the local day that just ended, unless it is already complete "
    "(then the tick says so).")
event_data_schedule = _grab_yesterday(
    event_data_job, 2, 1,
    "02:01 America/Chicago: grab the TCLK events of the local day that just ended, unless it is "
    "already complete (then the tick says so).")
