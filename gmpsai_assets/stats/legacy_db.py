"""Copy an old sqlite GMPSAI.db (ACNETparameterStats, TimeLineLogs) into the statistics store.

Idempotent: rows are keyed as the old tables were written (`REPLACE INTO` on
(epochUTCsec, paramname, statname); (SC_StartTime, SCentry_index) for the timeline), so importing
the same database twice, or two overlapping copies, replaces rather than duplicates.

DistillFileStatsToDB wrote the file's start time, local wall-clock, read as if it were UTC into
epochUTCsec. The store keeps that value (`epoch_as_written`) and the true UTC instant
(`epoch_utc_sec`, what the ACNETparameterStats view shows), so imported history lines up with
newly distilled files. TimeLineLogs rows are copied as they are.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from gmpsai_assets.stats import store
from gmpsai_assets.window import local_wall_to_utc

STATS_TABLE, TIMELINE_TABLE = "ACNETparameterStats", "TimeLineLogs"
STATS_COLUMNS = ("epochUTCsec", "paramname", "statname", "statval")
TIMELINE_COLUMNS = ("SC_StartTime", "SCentry_index", "eventHex", "SC_EventTime")


class LegacyDbError(ValueError):
    """A file that is not an old GMPSAI sqlite database."""


@dataclass(frozen=True)
class ImportResult:
    source: Path
    stats_rows: int
    timeline_rows: int
    params: int
    stats_rows_in_store: int
    timeline_rows_in_store: int


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


def read_legacy_db(path: str | Path) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
    """The two old tables (None for one that is absent), opened read-only."""
    path = Path(path)
    if not path.is_file():
        raise LegacyDbError(f"{path}: no such file")
    try:
        con = sqlite3.connect(f"file:{path.resolve()}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise LegacyDbError(f"{path}: cannot open as sqlite ({exc})") from None
    try:
        stats = _read_table(con, STATS_TABLE, STATS_COLUMNS, path)
        timeline = _read_table(con, TIMELINE_TABLE, TIMELINE_COLUMNS, path)
    except (sqlite3.Error, pd.errors.DatabaseError) as exc:
        raise LegacyDbError(f"{path}: not a readable sqlite database ({exc})") from None
    finally:
        con.close()
    if stats is None and timeline is None:
        raise LegacyDbError(f"{path}: has neither {STATS_TABLE} nor {TIMELINE_TABLE}")
    return stats, timeline


def _prepare_stats(stats: pd.DataFrame, source: str) -> pd.DataFrame:
    out = pd.DataFrame({
        "epoch_as_written": pd.to_numeric(stats["epochUTCsec"], errors="coerce"),
        "paramname": stats["paramname"].astype(str),
        "statname": stats["statname"].astype(str),
        "statval": pd.to_numeric(stats["statval"], errors="coerce"),
    }).dropna(subset=["epoch_as_written"])
    out = out.drop_duplicates(["epoch_as_written", "paramname", "statname"], keep="last")
    written = np.unique(out["epoch_as_written"].to_numpy(dtype=np.float64))
    true_utc = dict(zip(written, local_wall_to_utc(written), strict=True))
    out.insert(0, "epoch_utc_sec", out["epoch_as_written"].map(true_utc))
    out["source_db"] = source
    return out


def _prepare_timeline(timeline: pd.DataFrame, source: str) -> pd.DataFrame:
    out = pd.DataFrame({
        "sc_start_time": pd.to_numeric(timeline["SC_StartTime"], errors="coerce"),
        "sc_entry_index": pd.to_numeric(timeline["SCentry_index"], errors="coerce"),
        "event_hex": timeline["eventHex"].astype(str),
        "sc_event_time": pd.to_numeric(timeline["SC_EventTime"], errors="coerce"),
    }).dropna(subset=["sc_start_time", "sc_entry_index"])
    out["sc_entry_index"] = out["sc_entry_index"].astype("int64")
    out = out.drop_duplicates(["sc_start_time", "sc_entry_index"], keep="last")
    out["source_db"] = source
    return out


def import_legacy_db(
    sqlite_path: str | Path,
    db_path: str | Path,
    busy_timeout_s: float = store.DEFAULT_BUSY_TIMEOUT_S,
) -> ImportResult:
    """Copy both old tables into the store in one transaction, replacing rows with equal keys."""
    sqlite_path = Path(sqlite_path)
    stats, timeline = read_legacy_db(sqlite_path)
    source = str(sqlite_path.resolve())
    new_stats = _prepare_stats(stats, source) if stats is not None else None
    new_timeline = _prepare_timeline(timeline, source) if timeline is not None else None
    with store.writer(db_path, timeout_s=busy_timeout_s) as con:
        con.execute("BEGIN TRANSACTION")
        try:
            if new_stats is not None:
                con.register("incoming_stats", new_stats)
                con.execute("""DELETE FROM legacy_param_stats l USING incoming_stats i
                    WHERE l.epoch_as_written = i.epoch_as_written
                      AND l.paramname = i.paramname AND l.statname = i.statname""")
                con.execute("""INSERT INTO legacy_param_stats
                    SELECT epoch_utc_sec, epoch_as_written, paramname, statname, statval,
                           source_db FROM incoming_stats""")
                con.unregister("incoming_stats")
            if new_timeline is not None:
                con.register("incoming_timeline", new_timeline)
                con.execute("""DELETE FROM legacy_timeline_logs l USING incoming_timeline i
                    WHERE l.sc_start_time = i.sc_start_time
                      AND l.sc_entry_index = i.sc_entry_index""")
                con.execute("""INSERT INTO legacy_timeline_logs
                    SELECT sc_start_time, sc_entry_index, event_hex, sc_event_time, source_db
                    FROM incoming_timeline""")
                con.unregister("incoming_timeline")
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        in_store = con.execute("SELECT (SELECT count(*) FROM legacy_param_stats), "
                               "(SELECT count(*) FROM legacy_timeline_logs)").fetchone()
    return ImportResult(
        sqlite_path,
        len(new_stats) if new_stats is not None else 0,
        len(new_timeline) if new_timeline is not None else 0,
        int(new_stats["paramname"].nunique()) if new_stats is not None else 0,
        int(in_store[0]), int(in_store[1]),
    )
