"""Copy an old sqlite GMPSAI.db (ACNETparameterStats, TimeLineLogs) into the DuckDB statistics
database. Safe to repeat: rows with the same key are replaced, never duplicated.

The old epochUTCsec (the file's local start time read as UTC) is kept as written and also
converted to the true UTC instant, which the ACNETparameterStats view shows.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from gmpsai_assets.settings import Settings
from gmpsai_assets.stats.legacy_db import import_legacy_db

NAME = "import-legacy-db"
HELP = "copy an old sqlite GMPSAI.db into the DuckDB statistics database (idempotent)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("sqlite", metavar="GMPSAI.db", help="the old sqlite database")
    p.add_argument("--db", metavar="PATH",
                   help="statistics database (default: $GMPSAI_STATS_DB or "
                        "<data dir>/gmpsai.duckdb)")


def run(args: argparse.Namespace) -> int:
    db = Path(args.db) if args.db else Settings.from_env().stats_db_path
    result = import_legacy_db(args.sqlite, db)
    print(f"{result.source}: {result.stats_rows} statistics rows ({result.params} parameters) and "
          f"{result.timeline_rows} timeline rows copied into {db} "
          f"(now {result.stats_rows_in_store} and {result.timeline_rows_in_store})")
    return 0
