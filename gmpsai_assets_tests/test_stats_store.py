"""The DuckDB store: schema and migrations, replace-not-duplicate, superseding, locking."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from gmpsai_assets.stats import store
from gmpsai_assets.stats.compute import param_stats
from gmpsai_assets.window import Window

W = Window(1_583_816_400.0, 1_583_902_800.0)


def _record(name: str, created: float, status: str = "ok", window: Window = W) -> store.FileRecord:
    return store.FileRecord(
        name=name, path=f"/data/params/{name}", kind="params", format="gmpsai-params/1",
        generation="new", node="MLrn", window_start_utc=window.start, window_end_utc=window.end,
        created_utc=created, bytes=10, mtime_utc=created, sha256="ab", status=status, error="",
        distilled_utc=created + 1, seconds=0.1,
    )


def _stats(device: str, level: float) -> list:
    t = W.start + np.arange(50) / 15.0
    return [param_stats(device, t, np.full(50, level), W)]


def _count(con, table: str) -> int:
    return con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def test_schema_is_created_once_and_versioned(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    with store.writer(db) as con:
        assert store.schema_version(con) == store.SCHEMA_VERSION
    with store.writer(db) as con:  # a second open applies nothing again
        assert _count(con, "schema_version") == len(store.MIGRATIONS)
        con.execute("INSERT INTO schema_version VALUES (999, 'from the future', 0)")
    with pytest.raises(store.StoreError, match="newer than this software"), store.writer(db):
        pass


def test_redistilling_replaces_rows_in_one_transaction(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    rec = _record("MLParamData_100_a.h5", 100.0)
    with store.writer(db) as con:
        store.replace_file(con, rec, _stats("B:VIMIN", 1.0))
        store.replace_file(con, rec, _stats("B:VIMIN", 2.0))
        assert _count(con, "data_files") == 1 and _count(con, "param_stats") == 1
        assert con.execute("SELECT mode FROM param_stats").fetchone()[0] == 2.0
        # a failure midway rolls back: the previous rows stay
        broken = [replace(_stats("B:VIMIN", 3.0)[0], rows="not a number")]
        with pytest.raises(Exception):  # noqa: B017 - any DuckDB conversion error
            store.replace_file(con, rec, broken)
        assert con.execute("SELECT mode FROM param_stats").fetchone()[0] == 2.0


def test_newer_file_of_the_same_partition_supersedes_the_older(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    old, new = _record("MLParamData_100_a.h5", 100.0), _record("MLParamData_200_a.h5", 200.0)
    other_day = _record("MLParamData_150_b.h5", 150.0, window=Window(W.end, W.end + 86400))
    with store.writer(db) as con:
        store.replace_file(con, old, _stats("B:VIMIN", 1.0))
        store.replace_file(con, other_day, _stats("B:VIMIN", 5.0))
        assert store.replace_file(con, new, _stats("B:VIMIN", 2.0)) == [old.name]
        assert store.file_status(con, old.name)[0] == "superseded"
        assert store.file_status(con, other_day.name)[0] == "ok"
        # distilling the old one again does not bring it back
        store.replace_file(con, old, _stats("B:VIMIN", 1.0))
        assert store.file_status(con, old.name) == ("superseded", f"superseded by {new.name}")
        rows = con.execute("SELECT paramname, statname, statval FROM ACNETparameterStats "
                           "WHERE epochUTCsec = ? ORDER BY 1, 2", [W.start]).fetchall()
    assert ("B:VIMIN", "mode", 2.0) in rows and ("B:VIMIN", "mode", 1.0) not in rows
    assert len(rows) == 8  # mode/std/min/max of values and Interval_


def test_failed_and_missing_files_have_no_statistics(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    rec = _record("MLParamData_100_a.h5", 100.0)
    with store.writer(db) as con:
        store.replace_file(con, rec, _stats("B:VIMIN", 1.0))
        store.mark_missing(con, rec.name, rec.path)
        assert store.file_status(con, rec.name)[0] == "missing"
        assert _count(con, "param_stats") == 0
        store.mark_missing(con, "never-seen.h5", "never-seen.h5")
        assert store.file_status(con, "never-seen.h5")[0] == "missing"
        store.replace_file(con, replace(rec, status="failed", error="corrupt: x"))
        assert store.file_status(con, rec.name) == ("failed", "corrupt: x")


def test_reader_needs_an_existing_database(tmp_path: Path) -> None:
    with pytest.raises(store.StoreMissingError), store.reader(tmp_path / "absent.duckdb"):
        pass


_HOLD_LOCK = textwrap.dedent("""
    import sys, time
    from gmpsai_assets.stats import store
    with store.writer(sys.argv[1]) as con:
        print("locked", flush=True)
        time.sleep(float(sys.argv[2]))
""")


def _hold_lock(db: Path, seconds: float) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", _HOLD_LOCK, str(db), str(seconds)],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "locked"
    return proc


def test_lock_conflicts_are_waited_out_and_bounded(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    with store.writer(db):
        pass
    holder = _hold_lock(db, 1.0)
    waits: list[str] = []
    try:
        with store.reader(db, on_wait=waits.append) as con:  # waits for the writer to finish
            assert store.schema_version(con) == store.SCHEMA_VERSION
    finally:
        holder.wait(timeout=30)
    assert waits and "locked" in waits[0]
    holder = _hold_lock(db, 1.0)
    try:
        with pytest.raises(store.StoreBusyError), store.writer(db, timeout_s=0.3):
            pass
    finally:
        holder.wait(timeout=30)


_WRITER = textwrap.dedent("""
    import sys
    import numpy as np
    from gmpsai_assets.stats import store
    from gmpsai_assets.stats.compute import param_stats
    db, tag = sys.argv[1], sys.argv[2]
    for i in range(12):
        start = float(i + (1000 if tag == "b" else 0))  # distinct windows: nothing superseded
        rec = store.FileRecord(f"{tag}-{i}.h5", f"/x/{tag}-{i}.h5", "params", "f", "new", "MLrn",
                               start, start + 1, start, 1, 0.0, None, "ok", "", 0.0, 0.0)
        s = param_stats("B:VIMIN", np.arange(10.0), np.arange(10.0))
        with store.writer(db) as con:
            store.replace_file(con, rec, [s])
        with store.reader(db) as con:
            con.execute("SELECT count(*) FROM ACNETparameterStats").fetchone()
    print("done")
""")


def test_two_writer_processes_at_once_do_not_fail(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    procs = [subprocess.Popen([sys.executable, "-c", _WRITER, str(db), tag],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for tag in ("a", "b")]
    deadline = time.monotonic() + 120
    for p in procs:
        out, err = p.communicate(timeout=max(1.0, deadline - time.monotonic()))
        assert p.returncode == 0, err
        assert out.strip() == "done"
    with store.reader(db) as con:
        assert _count(con, "data_files") == 24
        assert _count(con, "param_stats") == 24


def test_a_version_1_store_migrates_keeping_its_rows(tmp_path: Path) -> None:
    """A store written before version 2 (no p05/p95/distinct/mode share/changes) keeps every
    row; the new columns are NULL there, filled for files distilled after the migration, and
    both views (the page's and the old long format) show them."""
    import duckdb

    db = tmp_path / "old.duckdb"
    version, description, statements = store.MIGRATIONS[0]
    con = duckdb.connect(str(db))
    con.execute("CREATE TABLE schema_version (version INTEGER NOT NULL, "
                "description VARCHAR NOT NULL, applied_utc DOUBLE NOT NULL)")
    for sql in statements:
        con.execute(sql)
    con.execute("INSERT INTO schema_version VALUES (?, ?, 0)", [version, description])
    old = _stats("B:VIMIN", 1.0)[0].row()
    v1 = [c for c in store.PARAM_COLUMNS if c not in store._PARAM_COLUMNS_V2]
    rec = _record("MLParamData_100_a.h5", 100.0)
    con.execute(f"INSERT INTO data_files VALUES ({', '.join('?' * len(store.FILE_COLUMNS))})",
                list(rec.__dict__.values()))
    con.execute(f"INSERT INTO param_stats (file_name, {', '.join(v1)}) VALUES "
                f"({', '.join('?' * (len(v1) + 1))})", [rec.name, *(old[c] for c in v1)])
    con.close()

    with store.writer(db) as con:
        assert store.schema_version(con) == store.SCHEMA_VERSION == 2
        row = con.execute("SELECT mode, p50, p05, p95, distinct_values, mode_share "
                          "FROM param_stats_current").fetchone()
        assert row == (1.0, 1.0, None, None, None, None)
        assert con.execute("SELECT count(*) FROM ACNETparameterStats").fetchone()[0] == 8
        new = _record("MLParamData_200_b.h5", 200.0, window=Window(W.end, W.end + 86400.0))
        store.replace_file(con, new, _stats("B:VIMIN", 2.0))
        got = con.execute("SELECT p05, p95, distinct_values, mode_share, value_changes "
                          "FROM param_stats_current WHERE file_name = ?", [new.name]).fetchone()
        assert got == (2.0, 2.0, 1, 1.0, 0)
