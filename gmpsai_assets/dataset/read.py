"""Reading cycle tables over any span of days: polars (`scan`) and DuckDB (`duckdb_view`).

A span is [start, end): a local date means its midnight as a start and the whole day as an end
(`scan("2026-03-01", "2026-03-07")` is seven days); a datetime (naive = Fermilab local wall
clock, or timezone-aware) cuts inside a day, so a window may cross midnight. Every local day the
span touches must have its table: a missing day is an error naming it, or, when the caller
passes a `ScanReport`, listed there. Never a silently shorter frame.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import polars as pl

from gmpsai_assets.dataset.table import FIXED_SCHEMA, PREFIX, TICK, cycle_table_path
from gmpsai_assets.settings import cycles_dir_of, read_setting
from gmpsai_assets.window import (
    FERMILAB_TZ,
    Window,
    WindowError,
    local_midnight,
    parse_local_datetime,
    to_local,
)

When = str | dt.date | dt.datetime


class MissingDaysError(FileNotFoundError):
    """Days of the span without a cycle table."""


class UnknownDevicesError(ValueError):
    """Devices asked for that no table of the span has."""


@dataclass
class ScanReport:
    """Filled by `scan`: the days read, their files, and the days that have no table."""

    window: Window | None = None
    days: list[dt.date] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    missing: list[dt.date] = field(default_factory=list)


def _bound(when: When, is_end: bool) -> float:
    """UTC epoch seconds of a span bound (a date as an end means the end of that day)."""
    if isinstance(when, str):
        text = when.strip()
        if len(text) == 10:
            try:
                when = dt.date.fromisoformat(text)
            except ValueError:
                raise WindowError(f"not a date (want YYYY-MM-DD): {when!r}") from None
        else:
            return parse_local_datetime(text)
    if isinstance(when, dt.datetime):
        aware = when if when.tzinfo else when.replace(tzinfo=FERMILAB_TZ)
        return aware.timestamp()
    return local_midnight(when + dt.timedelta(days=1) if is_end else when)


def span_window(start: When, end: When) -> Window:
    """The span [start, end) as UTC epoch seconds (dates: whole local days, end inclusive)."""
    return Window(_bound(start, False), _bound(end, True))


def span_days(window: Window) -> list[dt.date]:
    """Local days the window touches."""
    first, last = to_local(window.start).date(), to_local(window.end - 1e-6).date()
    return [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]


def cycles_dir(data_dir: str | Path | None = None) -> Path:
    """`<data dir>/cycles` (GMPSAI_DATA_DIR when not given: the one setting read, so a bad value
    of another never stops an analyst's read)."""
    return cycles_dir_of(read_setting("GMPSAI_DATA_DIR") if data_dir is None else Path(data_dir))


def table_devices(path: Path) -> list[str]:
    """Device columns of one day's table, in file order (reads the footer only)."""
    return [c for c in pl.read_parquet_schema(path) if c not in FIXED_SCHEMA]


def scan(
    start: When,
    end: When,
    devices: Sequence[str] | None = None,
    *,
    data_dir: str | Path | None = None,
    report: ScanReport | None = None,
) -> pl.LazyFrame:
    """A LazyFrame of the cycle tables over [start, end), rows in time order.

    Columns: the fixed ones (tick_utc, sc_start_utc, sc_index, reset_event, beam_cycle), then
    `devices` in the order given, or every device any of the days has (in first-seen order); a
    device a day's table lacks is null on that day. Missing days raise MissingDaysError unless
    `report` is given, which then lists them (and the days and files read).
    """
    window = span_window(start, end)
    days = span_days(window)
    folder = cycles_dir(data_dir)
    files, missing = [], []
    for day in days:
        path = cycle_table_path(folder, day)
        (files if path.is_file() else missing).append((day, path))
    if report is not None:
        report.window, report.missing = window, [d for d, _ in missing]
        report.days, report.files = [d for d, _ in files], [p for _, p in files]
    elif missing:
        names = ", ".join(d.isoformat() for d, _ in missing[:5])
        more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        raise MissingDaysError(f"no cycle table for {names}{more} in {folder}")
    paths = [p for _, p in files]
    known: list[str] = []
    for path in paths:
        known += [d for d in table_devices(path) if d not in known]
    if devices is None:
        columns = known
    else:
        columns = list(dict.fromkeys(devices))
        unknown = [d for d in columns if d not in known]
        if unknown and paths:
            raise UnknownDevicesError(
                f"no table of {days[0]}..{days[-1]} has device(s) {', '.join(unknown)}")
    schema = {**FIXED_SCHEMA, **dict.fromkeys(columns, pl.Float64())}
    if not paths:
        return pl.LazyFrame(schema=schema)
    frame = pl.scan_parquet(paths, schema=schema, missing_columns="insert",
                            extra_columns="ignore")
    lo, hi = window.start, window.end
    if lo != _bound(days[0], False) or hi != _bound(days[-1], True):  # cuts inside a day
        frame = frame.filter(pl.col(TICK).is_between(_utc(lo), _utc(hi), closed="left"))
    return frame.select(list(schema))


def _utc(epoch: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(epoch, tz=dt.UTC)


# ---- DuckDB -----------------------------------------------------------------------------------


def duckdb_sql(data_dir: str | Path | None = None) -> str:
    """The `read_parquet` form over every day's table (union_by_name: devices added later)."""
    pattern = (cycles_dir(data_dir) / f"{PREFIX}_*.parquet").as_posix().replace("'", "''")
    return f"SELECT * FROM read_parquet('{pattern}', union_by_name = true)"


def duckdb_view(
    con: duckdb.DuckDBPyConnection, data_dir: str | Path | None = None, name: str = "cycles"
) -> str:
    """Create (or replace) a view `name` over every day's table in DuckDB connection `con`."""
    con.execute(f'CREATE OR REPLACE VIEW "{name}" AS {duckdb_sql(data_dir)}')
    return name
