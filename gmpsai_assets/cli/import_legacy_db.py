"""Copy an old sqlite GMPSAI.db into the new stores: ACNETparameterStats into the statistics
database, TimeLineLogs into the timeline database. Safe to repeat: rows with the same key are
replaced (statistics) or left as they are (supercycles already recorded), never duplicated.
Rows whose parameter name is not an ACNET device name (nor `Interval_` and one) are skipped and
counted: they would reach the page and the ACL as device names.

The old epochUTCsec (the file's local start time read as UTC) is kept as written and also
converted to the true UTC instant, which the ACNETparameterStats view shows.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from gmpsai_assets.stats.legacy_db import TIMELINE_TABLE, import_legacy_stats, legacy_tables
from gmpsai_assets.timeline.store import TimelineStore, import_legacy_timeline_sqlite

SHOWN = 3  # skipped names printed; the count says how many there are
NAME = "import-legacy-db"
HELP = "copy an old sqlite GMPSAI.db into the statistics and timeline databases (idempotent)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("sqlite", metavar="GMPSAI.db", help="the old sqlite database")
    p.add_argument("--db", metavar="PATH",
                   help="statistics database (default: $GMPSAI_STATS_DB or "
                        "<data dir>/gmpsai.duckdb)")
    p.add_argument("--timeline-db", metavar="PATH",
                   help="timeline database (default: $GMPSAI_TIMELINE_DB or "
                        "<data dir>/timeline.duckdb)")


def run(args: argparse.Namespace) -> int:
    settings = args.settings
    db = Path(args.db) if args.db else settings.stats_db_path
    tables = legacy_tables(args.sqlite)  # refuses anything that is not an old GMPSAI.db first
    stats = import_legacy_stats(args.sqlite, db)
    print(f"ACNETparameterStats: {stats.rows} rows ({stats.params} parameters) copied into {db} "
          f"(it now holds {stats.rows_in_store} imported rows)")
    if stats.skipped_names:
        few = ", ".join(repr(n) for n in stats.skipped_names[:SHOWN])
        more = len(stats.skipped_names) - SHOWN
        print(f"  skipped {stats.skipped_rows} rows of {len(stats.skipped_names)} names that are "
              f"not ACNET device names: {few}{f' and {more} more' if more > 0 else ''}")
    if TIMELINE_TABLE in tables:
        timeline_db = Path(args.timeline_db) if args.timeline_db else settings.timeline_db_path
        done = import_legacy_timeline_sqlite(TimelineStore(timeline_db), args.sqlite)
        print(f"TimeLineLogs: {done.rows} rows, {done.supercycles} supercycles "
              f"({done.new_supercycles} new) copied into {timeline_db}")
    return 0
