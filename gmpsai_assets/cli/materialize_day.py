"""Materialize every daily asset for one local day (default: the most recent complete day) and
print what was produced and where. `make run` calls this on the simulated source.

Runs in the Dagster instance of $DAGSTER_HOME when set (so the run shows in the UI), otherwise in a
throwaway in-memory instance.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
from typing import TYPE_CHECKING

from gmpsai_assets.window import last_complete_day, parse_date

if TYPE_CHECKING:
    import dagster as dg

NAME = "materialize-day"
HELP = "materialize every daily asset for one local day and print a summary"
SUMMARY_KEYS = ("bytes", "devices_ok", "devices_empty", "devices_failed", "rows_total",
                "events_found", "occurrences_total", "duration_s")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--date", metavar="YYYY-MM-DD",
                   help="local day to materialize (default: the most recent complete day)")


def instance() -> dg.DagsterInstance:
    """The instance of $DAGSTER_HOME when set, so runs show in the UI; else an ephemeral one."""
    import dagster as dg

    return dg.DagsterInstance.get() if os.environ.get("DAGSTER_HOME") else (
        dg.DagsterInstance.ephemeral())


def run_day(day: dt.date, inst: dg.DagsterInstance) -> dg.ExecuteInProcessResult:
    """One Dagster run materializing every daily asset (and its checks) for `day`."""
    import dagster as dg  # the CLI's other commands do not need Dagster loaded

    from gmpsai_assets.definitions import DAILY_ASSETS, DAILY_CHECKS, defs

    return dg.materialize(
        [*DAILY_ASSETS, *DAILY_CHECKS],
        partition_key=day.isoformat(),
        resources=defs.resources,
        instance=inst,
        raise_on_error=False,
        tags={"gmpsai/launched_by": "cli"},
        # INFO keeps per-device progress on the terminal without Dagster's DEBUG event stream
        run_config={"loggers": {"console": {"config": {"log_level": "INFO"}}}},
    )


def failure_lines(result: dg.ExecuteInProcessResult) -> list[str]:
    lines = []
    for event in result.get_step_failure_events():
        err = event.step_failure_data.error
        while err is not None and err.cause is not None:  # the user's error, not Dagster's wrapper
            err = err.cause
        reason = err.message.strip().splitlines()[-1] if err else "?"
        lines.append(f"step {event.step_key} failed: {reason}")
    return lines


def print_day(day: dt.date, result: dg.ExecuteInProcessResult) -> None:
    print(f"\nlocal day {day.isoformat()} (America/Chicago), run {result.run_id}")
    for event in result.get_asset_materialization_events():
        mat = event.step_materialization_data.materialization
        meta = {k: v.value for k, v in mat.metadata.items()}
        print(f"  {mat.asset_key.to_user_string()}: {meta.get('path', '')}")
        for key in SUMMARY_KEYS:
            if key in meta:
                print(f"      {key:15s} {meta[key]}")
    for event in result.get_asset_check_evaluations():
        status = "passed" if event.passed else f"FAILED ({event.severity.value})"
        print(f"  check {event.asset_key.to_user_string()}:{event.check_name} {status}")
    for line in failure_lines(result):
        print(f"  {line}")


def run(args: argparse.Namespace) -> int:
    day = parse_date(args.date) if args.date else last_complete_day()
    result = run_day(day, instance())
    print_day(day, result)
    return 0 if result.success else 1
