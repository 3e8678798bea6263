"""The cycle table: the ML-ready 15 Hz dataset, one row per Booster cycle, aligned on `$0C`.

Build a day (`build_cycle_table`, `write_cycle_table`), read any span (`scan`, `duckdb_view`),
cut it into training windows (`Sequences`). docs/cycle_table.md describes the table and the rule
that fills it.
"""

from gmpsai_assets.dataset.read import (
    MissingDaysError,
    ScanReport,
    UnknownDevicesError,
    duckdb_sql,
    duckdb_view,
    scan,
    span_window,
)
from gmpsai_assets.dataset.sequences import Sequences
from gmpsai_assets.dataset.table import (
    CycleTable,
    CycleTableError,
    TableReport,
    build_cycle_table,
    cycle_table_path,
    read_report,
    write_cycle_table,
)

__all__ = [
    "CycleTable", "CycleTableError", "MissingDaysError", "ScanReport", "Sequences",
    "TableReport", "UnknownDevicesError", "build_cycle_table", "cycle_table_path",
    "duckdb_sql", "duckdb_view", "read_report", "scan", "span_window", "write_cycle_table",
]
