"""Importing an old GMPSAI.db's statistics: idempotent, epochs corrected, merged into the view."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest

from gmpsai_assets.stats import store
from gmpsai_assets.stats.compute import param_stats
from gmpsai_assets.stats.legacy_db import LegacyDbError, import_legacy_stats
from gmpsai_assets.window import day_window

# DistillFileStatsToDB's epoch for a file starting 2020-03-10+00:00:00: local time read as UTC
OLD_EPOCH = 1583798400.0
DAY = day_window("2020-03-10")  # starts 05:00 UTC (CDT began on 2020-03-08)


def _old_db(path: Path) -> Path:
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE ACNETparameterStats (epochUTCsec REAL, paramname TEXT, "
                "statname TEXT, statval REAL, PRIMARY KEY (epochUTCsec, paramname, statname))")
    con.execute("CREATE TABLE TimeLineLogs (SC_StartTime REAL, SCentry_index INTEGER, "
                "eventHex TEXT, SC_EventTime REAL, PRIMARY KEY (SC_StartTime, SCentry_index))")
    for day, epoch in enumerate((OLD_EPOCH, OLD_EPOCH + 86400)):
        for param in ("B:VIMIN", "Interval_B:VIMIN"):
            for i, stat in enumerate(("mode", "std", "min", "max")):
                con.execute("REPLACE INTO ACNETparameterStats VALUES (?, ?, ?, ?)",
                            (epoch, param, stat, 100.0 + day + i))
    con.executemany("REPLACE INTO TimeLineLogs VALUES (?, ?, ?, ?)",
                    [(1583816400.0, i, f"{i:02x}", i * 0.0667) for i in range(5)])
    con.commit()
    con.close()
    return path


def test_import_is_idempotent_and_corrects_the_epoch(tmp_path: Path) -> None:
    sqlite_db, db = _old_db(tmp_path / "GMPSAI.db"), tmp_path / "gmpsai.duckdb"
    first = import_legacy_stats(sqlite_db, db)
    second = import_legacy_stats(sqlite_db, db)
    assert (first.rows, first.params, first.rows_in_store) == (16, 2, 16)
    assert (second.rows, second.rows_in_store) == (16, 16)
    with store.reader(db) as con:
        epochs = con.execute("SELECT DISTINCT epoch_as_written, epoch_utc_sec "
                             "FROM legacy_param_stats ORDER BY 1").fetchall()
        view = con.execute("SELECT count(*) FROM ACNETparameterStats").fetchone()[0]
    assert epochs == [(OLD_EPOCH, DAY.start), (OLD_EPOCH + 86400, DAY.start + 86400)]
    assert DAY.start - OLD_EPOCH == 5 * 3600
    assert view == 16


def test_distilled_rows_win_over_imported_rows_with_the_same_key(tmp_path: Path) -> None:
    sqlite_db, db = _old_db(tmp_path / "GMPSAI.db"), tmp_path / "gmpsai.duckdb"
    import_legacy_stats(sqlite_db, db)
    t = DAY.start + np.arange(30) / 15.0
    rec = store.FileRecord("MLParamData_1_x.h5", "/x", "params", "pandas-params", "old", "MLrn",
                           DAY.start, DAY.end, 1.0, 1, 1.0, None, "ok", "", 2.0, 0.1)
    store.replace_file(db, rec, [param_stats("B:VIMIN", t, np.full(30, 7.0), DAY)])
    with store.reader(db) as con:
        rows = con.execute(
            "SELECT epochUTCsec, statval FROM ACNETparameterStats "
            "WHERE paramname = 'B:VIMIN' AND statname = 'mode' ORDER BY 1"
        ).fetchall()
    assert rows == [(DAY.start, 7.0), (DAY.start + 86400, 101.0)]


def test_files_that_are_not_old_databases_are_refused(tmp_path: Path) -> None:
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(LegacyDbError, match="not a readable sqlite"):
        import_legacy_stats(junk, tmp_path / "s.duckdb")
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.commit()
    with pytest.raises(LegacyDbError, match="neither"):
        import_legacy_stats(other, tmp_path / "s.duckdb")
    with pytest.raises(LegacyDbError, match="no such file"):
        import_legacy_stats(tmp_path / "absent.db", tmp_path / "s.duckdb")
