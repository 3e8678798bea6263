"""Backfill a range of local days: one Dagster run per day, in this process, skipping days whose
daily assets are already materialized in $DAGSTER_HOME's instance unless --refetch is given.

A day is complete by the rule of defs/days.py (the 01:00 and 02:01 schedules skip it too).
A failed or incomplete day is reported and the next day goes on; the exit status is then 1. For a
backfill run by the daemon instead (and watched in the UI), use the UI's Materialize dialog or
`dagster job backfill -j param_data_job --from A --to B` (see README, "Operator guide").
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time

from gmpsai_assets.cli.common import EXIT_FAILED, UsageError
from gmpsai_assets.cli.materialize_day import (
    check_partition,
    failure_lines,
    incomplete_lines,
    instance,
    run_day,
)
from gmpsai_assets.window import parse_date

NAME = "backfill"
HELP = "materialize every daily asset for a range of local days, skipping complete days"
MAX_DAYS = 3660


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--from", dest="first", required=True, metavar="YYYY-MM-DD",
                   help="first local day")
    p.add_argument("--to", dest="last", required=True, metavar="YYYY-MM-DD",
                   help="last local day (inclusive)")
    p.add_argument("--refetch", action="store_true",
                   help="materialize days that are already complete too")
    p.add_argument("--dryrun", action="store_true", help="list the days that would run")


def days_between(first: dt.date, last: dt.date) -> list[dt.date]:
    if last < first:
        raise UsageError(f"--to {last} is before --from {first}")
    n = (last - first).days + 1
    if n > MAX_DAYS:
        raise UsageError(f"{n} days is more than {MAX_DAYS}; split the range")
    check_partition(first)
    check_partition(last)
    return [first + dt.timedelta(days=i) for i in range(n)]


def run(args: argparse.Namespace) -> int:
    from gmpsai_assets.defs.days import complete_days  # Dagster: loaded by this command only

    days = days_between(parse_date(args.first), parse_date(args.last))
    inst = instance()
    skip = set() if args.refetch else complete_days(inst, days)
    todo = [d for d in days if d not in skip]
    print(f"{len(days)} day(s), {len(skip)} already complete, {len(todo)} to run", flush=True)
    if args.dryrun:
        for d in todo:
            print(d.isoformat())
        return 0
    failed: list[str] = []
    for i, day in enumerate(todo, start=1):
        began = time.monotonic()
        result = run_day(day, inst)
        took = time.monotonic() - began
        incomplete = incomplete_lines(result)
        if result.success and not incomplete:
            print(f"[{i}/{len(todo)}] {day}: ok ({took:.1f} s, run {result.run_id})", flush=True)
        else:
            failed.append(day.isoformat())
            word = "INCOMPLETE" if result.success else "FAILED"
            reason = "; ".join(failure_lines(result) + incomplete) or "run failed"
            print(f"[{i}/{len(todo)}] {day}: {word} ({reason})", flush=True)
    if failed:
        print(f"{len(failed)} day(s) failed or incomplete: {', '.join(failed)}",
              file=sys.stderr)
        return EXIT_FAILED
    return 0
