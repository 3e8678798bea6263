"""Copy the statistics of an old sqlite GMPSAI.db (ACNETparameterStats) into the stats store.

Idempotent: rows are keyed as the old table was written (`REPLACE INTO` on
(epochUTCsec, paramname, statname)), so importing the same database twice, or two overlapping
copies, replaces rather than duplicates. The old TimeLineLogs table belongs to the timeline store
(timeline/store.py imports it); `gmpsai import-legacy-db` does both.

DistillFileStatsToDB wrote the file's start time, local wall-clock, read as if it were UTC, into
epochUTCsec. The store keeps that value (`epoch_as_written`) and the true UTC instant
(`epoch_utc_sec`, what the ACNETparameterStats view shows), so imported history lines up with
newly distilled files.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from gmpsai_assets.acnet.devices import DeviceNameError, check_device_name
from gmpsai_assets.stats import store
from gmpsai_assets.window import local_wall_to_utc

STATS_TABLE, TIMELINE_TABLE = "ACNETparameterStats", "TimeLineLogs"
STATS_COLUMNS = ("epochUTCsec", "paramname", "statname", "statval")
INTERVAL_PREFIX = "Interval_"  # statistics of a device's sample intervals


class LegacyDbError(ValueError):
    """A file that is not an old GMPSAI sqlite database."""


@dataclass(frozen=True)
class ImportResult:
    source: Path
    rows: int  # rows copied (after dropping duplicate keys and bad names)
    params: int
    rows_in_store: int
    skipped_rows: int = 0  # rows whose paramname is not a device name (nor Interval_<device>)
    skipped_names: tuple[str, ...] = ()  # those names, sorted


def _read_table(con: sqlite3.Connection, wanted: str, columns: tuple[str, ...],
                path: Path) -> pd.DataFrame | None:
    names = {row[0].lower(): row[0] for row in
             con.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")}
    table = names.get(wanted.lower())
    if table is None:
        return None
    frame = pd.read_sql_query(f'SELECT * FROM "{table}"', con)
    have = {c.lower(): c for c in frame.columns}
    missing = [c for c in columns if c.lower() not in have]
    if missing:
        raise LegacyDbError(f"{path}: table {table} lacks column(s) {', '.join(missing)}")
    frame = frame[[have[c.lower()] for c in columns]]
    frame.columns = list(columns)
    return frame


def legacy_tables(path: str | Path) -> set[str]:
    """Which of the old tables a sqlite file has; LegacyDbError if it is not an old GMPSAI.db."""
    path = Path(path)
    if not path.is_file():
        raise LegacyDbError(f"{path}: no such file")
    try:
        con = sqlite3.connect(f"file:{path.resolve()}?mode=ro", uri=True)
        try:
            names = {row[0].lower() for row in con.execute(
                "SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")}
        finally:
            con.close()
    except sqlite3.Error as exc:
        raise LegacyDbError(f"{path}: not a readable sqlite database ({exc})") from None
    found = {t for t in (STATS_TABLE, TIMELINE_TABLE) if t.lower() in names}
    if not found:
        raise LegacyDbError(f"{path}: has neither {STATS_TABLE} nor {TIMELINE_TABLE}")
    return found


def read_legacy_stats(path: str | Path) -> pd.DataFrame | None:
    """The old ACNETparameterStats table (None if absent), opened read-only."""
    path = Path(path)
    if STATS_TABLE not in legacy_tables(path):
        return None
    con = sqlite3.connect(f"file:{path.resolve()}?mode=ro", uri=True)
    try:
        return _read_table(con, STATS_TABLE, STATS_COLUMNS, path)
    except (sqlite3.Error, pd.errors.DatabaseError) as exc:
        raise LegacyDbError(f"{path}: cannot read {STATS_TABLE} ({exc})") from None
    finally:
        con.close()


def _device_of(paramname: str) -> str:
    return paramname.removeprefix(INTERVAL_PREFIX)


def _prepare_stats(stats: pd.DataFrame, source: str) -> pd.DataFrame:
    """Rows to store; paramnames that are not device names are dropped (see `bad_names`)."""
    out = pd.DataFrame({
        "epoch_as_written": pd.to_numeric(stats["epochUTCsec"], errors="coerce"),
        "paramname": stats["paramname"].astype(str),
        "statname": stats["statname"].astype(str),
        "statval": pd.to_numeric(stats["statval"], errors="coerce"),
    }).dropna(subset=["epoch_as_written"])
    out = out[~out["paramname"].isin(bad_names(out["paramname"]))]
    out = out.drop_duplicates(["epoch_as_written", "paramname", "statname"], keep="last")
    written = np.unique(out["epoch_as_written"].to_numpy(dtype=np.float64))
    true_utc = dict(zip(written, local_wall_to_utc(written), strict=True))
    out.insert(0, "epoch_utc_sec", out["epoch_as_written"].map(true_utc))
    out["source_db"] = source
    return out


def bad_names(paramnames: pd.Series) -> list[str]:
    """The distinct paramnames that are neither a device name nor `Interval_<device>`: a name
    the page and the ACL would later treat as a device goes through the one device-name rule."""
    bad = []
    for name in paramnames.unique():
        try:
            check_device_name(_device_of(name))
        except DeviceNameError:
            bad.append(name)
    return sorted(bad)


def import_legacy_stats(
    sqlite_path: str | Path,
    db_path: str | Path,
    busy_timeout_s: float = store.DEFAULT_BUSY_TIMEOUT_S,
) -> ImportResult:
    """Copy ACNETparameterStats into the store in one transaction, replacing equal keys."""
    sqlite_path = Path(sqlite_path)
    stats = read_legacy_stats(sqlite_path)
    if stats is None:
        return ImportResult(sqlite_path, 0, 0, 0)
    names = stats["paramname"].astype(str)
    skipped = bad_names(names)
    rows = _prepare_stats(stats, str(sqlite_path.resolve()))
    with store.writer(db_path, timeout_s=busy_timeout_s) as con:
        con.execute("BEGIN TRANSACTION")
        try:
            con.register("incoming_stats", rows)
            con.execute("""DELETE FROM legacy_param_stats l USING incoming_stats i
                WHERE l.epoch_as_written = i.epoch_as_written
                  AND l.paramname = i.paramname AND l.statname = i.statname""")
            con.execute("""INSERT INTO legacy_param_stats
                SELECT epoch_utc_sec, epoch_as_written, paramname, statname, statval, source_db
                FROM incoming_stats""")
            con.unregister("incoming_stats")
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        in_store = con.execute("SELECT count(*) FROM legacy_param_stats").fetchone()[0]
    return ImportResult(sqlite_path, len(rows), int(rows["paramname"].nunique()), int(in_store),
                        int(names.isin(skipped).sum()), tuple(skipped))
