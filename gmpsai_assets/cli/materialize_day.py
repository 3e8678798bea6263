"""Materialize every daily asset for one local day (default: the most recent complete day) and
print what was produced and where. `make run` calls this on the simulated source.

Runs in the Dagster instance of $DAGSTER_HOME when set (so the run shows in the UI), otherwise in a
throwaway in-memory instance.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
from pathlib import Path
from typing import TYPE_CHECKING

from gmpsai_assets.window import last_complete_day, parse_date

if TYPE_CHECKING:
    import dagster as dg

NAME = "materialize-day"
HELP = "materialize every daily asset for one local day and print a summary"
SUMMARY_KEYS = ("bytes", "devices_ok", "devices_empty", "devices_failed", "rows_total",
                "events_found", "occurrences_total", "supercycles_recorded",
                "supercycles_expected", "gap_count", "cycles", "duration_s")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--date", metavar="YYYY-MM-DD",
                   help="local day to materialize (default: the most recent complete day)")


def instance() -> dg.DagsterInstance:
    """The instance of $DAGSTER_HOME when set, so runs show in the UI; else an ephemeral one."""
    import dagster as dg

    from gmpsai_assets.cli.common import UsageError

    home = os.environ.get("DAGSTER_HOME")
    if not home:
        return dg.DagsterInstance.ephemeral()
    if not os.path.isabs(home) or not os.path.isdir(home):
        raise UsageError(f"DAGSTER_HOME must be an existing absolute directory, got {home!r}")
    return dg.DagsterInstance.get()


def check_partition(day: dt.date) -> None:
    """A one-line error for a day that is not a daily partition (too early, not yet over)."""
    from gmpsai_assets.cli.common import UsageError
    from gmpsai_assets.defs.partitions import daily_partitions

    if not daily_partitions.has_partition_key(day.isoformat()):
        first = daily_partitions.start.date().isoformat()
        raise UsageError(f"{day} is not a daily partition: days run from {first} "
                         f"(GMPSAI_START_DATE) to the last complete local day")


def run_day(day: dt.date, inst: dg.DagsterInstance) -> dg.ExecuteInProcessResult:
    """One Dagster run materializing every daily asset (and its checks) for `day`: the files,
    the timeline's export and the day's statistics."""
    import dagster as dg  # the CLI's other commands do not need Dagster loaded

    from gmpsai_assets.definitions import DAILY_ASSETS, DAILY_CHECKS
    from gmpsai_assets.defs.resources import build_resources

    return dg.materialize(
        [*DAILY_ASSETS, *DAILY_CHECKS],
        partition_key=day.isoformat(),
        resources=build_resources(),  # bound to the variables set now, not at first import
        instance=inst,
        raise_on_error=False,
        tags={"gmpsai/launched_by": "cli"},
        # INFO keeps per-device progress on the terminal without Dagster's DEBUG event stream
        run_config={"loggers": {"console": {"config": {"log_level": "INFO"}}}},
    )


# Metadata of the grabbing assets that names what was asked for and not (fully) fetched.
INCOMPLETE_KEYS = ("devices_failed", "devices_partial", "events_failed")


def incomplete_lines(result: dg.ExecuteInProcessResult) -> list[str]:
    """What the run's grabs asked for and did not fully get (exit status 1, cli/common.py)."""
    lines = []
    for event in result.get_asset_materialization_events():
        mat = event.step_materialization_data.materialization
        for key in INCOMPLETE_KEYS:
            value = mat.metadata[key].value if key in mat.metadata else None
            if value:
                lines.append(f"{mat.asset_key.to_user_string()} incomplete: {key} "
                             f"{', '.join(map(str, value))}")
    return lines


def failure_lines(result: dg.ExecuteInProcessResult) -> list[str]:
    lines = []
    for event in result.get_step_failure_events():
        err = event.step_failure_data.error
        while err is not None and err.cause is not None:  # the user's error, not Dagster's wrapper
            err = err.cause
        reason = err.message.strip().splitlines()[-1] if err else "?"
        lines.append(f"step {event.step_key} failed: {reason}")
    return lines


def print_day(day: dt.date, result: dg.ExecuteInProcessResult, inst: dg.DagsterInstance) -> None:
    from gmpsai_assets.definitions import DAILY_ASSETS

    print(f"\nlocal day {day.isoformat()} (America/Chicago), run {result.run_id}")
    done = {e.asset_key for e in result.get_asset_materialization_events()}
    failed = {e.step_key for e in result.get_step_failure_events()}
    for asset in DAILY_ASSETS:
        if asset.key not in done and asset.op.name not in failed:
            print(f"  {asset.key.to_user_string()}: not materialized: "
                  f"{_why_not(inst, result.run_id, asset.op.name)}")
    for event in result.get_asset_materialization_events():
        mat = event.step_materialization_data.materialization
        meta = {k: v.value for k, v in mat.metadata.items()}
        print(f"  {mat.asset_key.to_user_string()}: {meta.get('path', meta.get('database', ''))}")
        for key in SUMMARY_KEYS:
            if key in meta:
                print(f"      {key:15s} {meta[key]}")
    for event in result.get_asset_check_evaluations():
        status = "passed" if event.passed else f"FAILED ({event.severity.value})"
        print(f"  check {event.asset_key.to_user_string()}:{event.check_name} {status}")
    for line in failure_lines(result) + incomplete_lines(result):
        print(f"  {line}")


def _why_not(inst: dg.DagsterInstance, run_id: str, step: str) -> str:
    """The last warning the asset's step logged: why it produced nothing."""
    import logging

    said = [e.user_message for e in inst.all_logs(run_id)
            if e.step_key == step and e.level >= logging.WARNING and e.user_message]
    return said[-1] if said else "the step produced nothing; see the run log"


# ---- publishing ------------------------------------------------------------------------------

# The page's counts (published_json's metadata): days_with_* count device-days, devices_with_*
# devices, as the page's Show filter does; a day's outages and days without data are the day's.
PUBLISH_KEYS = ("devices", "device_days", "data_as_of", "days_without_data",
                "datalogger_outages", "days_with_problems", "days_with_warnings",
                "devices_with_errors", "devices_with_errors_or_warnings")


def publish_step(inst: dg.DagsterInstance, day: dt.date | None = None) -> bool:
    """Publish the page (published_json) whatever the day's outcome: the page then shows what is
    missing. Prints the page's counts and what it says of `day` (each DataLogger outage once,
    the devices with a problem of their own), where the page is and how to serve it."""
    import dagster as dg

    from gmpsai_assets.defs.published_json import published_json
    from gmpsai_assets.defs.resources import build_resources
    from gmpsai_assets.publish.rich import day_lines
    from gmpsai_assets.publish.site import published_document

    print("\npublishing")
    published = dg.materialize(
        [published_json], resources=build_resources(), instance=inst, raise_on_error=False,
        tags={"gmpsai/launched_by": "cli"},
        run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}},
    )
    for event in published.get_asset_materialization_events():
        meta = {k: v.value for k, v in
                event.step_materialization_data.materialization.metadata.items()}
        print(f"  published_json: {meta['path']}")
        for key in PUBLISH_KEYS:
            late = "  OVERDUE: the next day is past its deadline" if (
                key == "data_as_of" and meta.get("overdue")) else ""
            print(f"      {key:31s} {meta[key]}{late}")
        doc = published_document(Path(str(meta["path"])).parent)
        if day is not None and doc is not None:
            print(f"  {day.isoformat()} on the page:")
            for line in day_lines(doc, day.isoformat()):
                print(f"      {line}")
        print(f"\npage:  {Path(str(meta['path'])).resolve().as_uri()}")
        print(f"serve: {meta['serve']}   (then open http://127.0.0.1:8000/)")
    for line in failure_lines(published):
        print(f"  {line}")
    return published.success


def run(args: argparse.Namespace) -> int:
    from gmpsai_assets.cli.common import EXIT_FAILED, given

    day = parse_date(args.date) if given("--date", args.date) else last_complete_day()
    check_partition(day)
    inst = instance()
    result = run_day(day, inst)
    print_day(day, result, inst)
    published = publish_step(inst, day)
    done = result.success and published and not incomplete_lines(result)
    return 0 if done else EXIT_FAILED
