"""Materialize every daily asset for one local day (default: the most recent complete day) and
print what was produced and where. `make run` calls this on the simulated source.

Runs in the Dagster instance of $DAGSTER_HOME when set (so the run shows in the UI), otherwise in a
throwaway in-memory instance.
"""

from __future__ import annotations

import argparse
import os

from gmpsai_assets.window import last_complete_day, parse_date

NAME = "materialize-day"
HELP = "materialize every daily asset for one local day and print a summary"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--date", metavar="YYYY-MM-DD",
                   help="local day to materialize (default: the most recent complete day)")


def run(args: argparse.Namespace) -> int:
    import dagster as dg  # the CLI's other commands do not need Dagster loaded

    from gmpsai_assets.definitions import DAILY_ASSETS, DAILY_CHECKS, defs

    day = parse_date(args.date) if args.date else last_complete_day()
    instance = dg.DagsterInstance.get() if os.environ.get("DAGSTER_HOME") else None
    result = dg.materialize(
        [*DAILY_ASSETS, *DAILY_CHECKS],
        partition_key=day.isoformat(),
        resources=defs.resources,
        instance=instance,
        raise_on_error=False,
    )
    print(f"\nlocal day {day.isoformat()} (America/Chicago), run {result.run_id}")
    for event in result.get_asset_materialization_events():
        mat = event.step_materialization_data.materialization
        meta = {k: v.value for k, v in mat.metadata.items()}
        print(f"  {mat.asset_key.to_user_string()}: {meta.get('path', '')}")
        for key in ("bytes", "devices_ok", "devices_empty", "devices_failed", "rows_total",
                    "duration_s"):
            if key in meta:
                print(f"      {key:15s} {meta[key]}")
    for event in result.get_asset_check_evaluations():
        status = "passed" if event.passed else f"FAILED ({event.severity.value})"
        print(f"  check {event.asset_key.to_user_string()}:{event.check_name} {status}")
    if not result.success:
        for event in result.get_step_failure_events():
            err = event.step_failure_data.error
            print(f"  step {event.step_key} failed: {err.message.strip() if err else 'unknown'}")
        return 1
    return 0
