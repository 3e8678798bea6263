"""Distil data files into the statistics database (the DistillFileStatsToDB successor).

Each FILE (new or old format, parameters or events) is read once; its per-device or per-event
statistics replace whatever the database held for that file name. A file that cannot be read is
recorded as failed with the reason and the others still go in; the exit status is then 1.

-q (quick look, as the old tool) prints the statistics of the first --maxparams datasets over
their first --maxrows rows and stores nothing, since partial statistics would pollute history.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from gmpsai_assets.cli.common import UsageError, stderr_progress
from gmpsai_assets.stats.distill import DistillResult, distill_file, distill_into_store

NAME = "distill"
HELP = "compute per-file statistics of data files into the DuckDB statistics database"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("files", nargs="+", metavar="FILE", help="data files (.h5), new or old format")
    p.add_argument("--db", metavar="PATH",
                   help="statistics database (default: $GMPSAI_STATS_DB or "
                        "<data dir>/gmpsai.duckdb)")
    p.add_argument("-v", dest="verbose", action="store_true",
                   help="print a line per device or event")
    p.add_argument("-q", "--quick", action="store_true",
                   help="quick look: print statistics of the first --maxparams datasets over their "
                        "first --maxrows rows; store nothing")
    p.add_argument("--maxparams", type=int, default=2, metavar="N",
                   help="datasets to look at with -q (default: 2)")
    p.add_argument("--maxrows", type=float, default=1e2, metavar="N",
                   help="rows per dataset to look at with -q (default: 1E2)")


def run(args: argparse.Namespace) -> int:
    settings = args.settings
    if args.maxparams < 1 or not 1 <= args.maxrows < 1e12:
        raise UsageError("--maxparams and --maxrows must be at least 1 (and finite)")
    gap_ticks = settings.gap_ticks
    db = Path(args.db) if args.db else settings.stats_db_path
    progress = stderr_progress(args.verbose)
    missing = [name for name in args.files if not Path(name).is_file()]
    if missing:  # a typo in a path: say so before distilling anything
        raise UsageError(f"no such file: {', '.join(missing[:3])}"
                         + (f" and {len(missing) - 3} more" if len(missing) > 3 else ""))
    failed = 0
    for name in args.files:
        path = Path(name)
        if args.quick:
            result = distill_file(path, gap_ticks, args.maxparams, int(args.maxrows),
                                  progress=progress, checksum=False)
            _print_quick(result)
        else:
            result = distill_into_store(path, db, gap_ticks, progress=progress)
        print(result.summary(), flush=True)
        failed += not result.ok
    if not args.quick:
        print(f"database {db}")
    return 1 if failed else 0


def _fmt(x: float | None) -> str:
    return "-" if x is None else f"{x:.6g}"


def _print_quick(result: DistillResult) -> None:
    for p in result.params:
        print(f"  {p.device:12s} rows {p.rows:<8d} mode {_fmt(p.mode)} std {_fmt(p.std)} "
              f"min {_fmt(p.min)} max {_fmt(p.max)} | interval mode {_fmt(p.interval_mode)} "
              f"std {_fmt(p.interval_std)} min {_fmt(p.interval_min)} max {_fmt(p.interval_max)}")
    for e in result.events:
        print(f"  {e.event:12s} count {e.count:<8d} interval mode {_fmt(e.interval_mode)} "
              f"min {_fmt(e.interval_min)} max {_fmt(e.interval_max)}")
