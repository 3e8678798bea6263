"""The DuckDB store: schema and migrations, replace-not-duplicate, superseding, locking."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
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
    import sys
    from gmpsai_assets.stats import store
    with store.writer(sys.argv[1]) as con:
        print("locked", flush=True)
        sys.stdin.readline()  # held until the test says so: no race with a clock
""")


def _hold_lock(db: Path) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", _HOLD_LOCK, str(db)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "locked"
    return proc


def _release(proc: subprocess.Popen) -> None:
    proc.communicate("release\n", timeout=60)
    assert proc.returncode == 0


def test_lock_conflicts_are_waited_out_and_bounded(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    with store.writer(db):
        pass
    holder = _hold_lock(db)
    waits: list[str] = []
    versions: list[int] = []
    waited = threading.Event()

    def read() -> None:
        def on_wait(msg: str) -> None:
            waits.append(msg)
            waited.set()

        with store.reader(db, on_wait=on_wait) as con:  # waits for the writer to finish
            versions.append(store.schema_version(con))

    reader = threading.Thread(target=read)
    reader.start()
    try:
        assert waited.wait(timeout=120)  # the reader is waiting while the lock is held ...
        assert versions == []
    finally:
        _release(holder)
        reader.join(timeout=120)
    assert versions == [store.SCHEMA_VERSION]  # ... and gets in once it is released
    assert "locked" in waits[0]
    holder = _hold_lock(db)
    try:
        with pytest.raises(store.StoreBusyError), store.writer(db, timeout_s=0.3):
            pass
    finally:
        _release(holder)


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
