"""The statistics store: schema and migrations, per-file results (replace-not-duplicate,
superseding, many writers at once), locking of the DuckDB file."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
import time
from dataclasses import asdict, replace
from pathlib import Path

import duckdb
import numpy as np
import pytest

from gmpsai_assets.stats import store
from gmpsai_assets.stats.compute import param_stats
from gmpsai_assets.window import Window

W = Window(1_583_816_400.0, 1_583_902_800.0)


def file_status(con, name: str) -> tuple[str, str] | None:
    """What the store records of one data file: (status, error)."""
    row = con.execute("SELECT status, error FROM data_files WHERE name = ?", [name]).fetchone()
    return (row[0], row[1]) if row else None


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


def test_redistilling_replaces_rows_whole(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    rec = _record("MLParamData_100_a.h5", 100.0)
    store.replace_file(db, rec, _stats("B:VIMIN", 1.0))
    store.replace_file(db, rec, _stats("B:VIMIN", 2.0))
    with store.reader(db) as con:
        assert _count(con, "data_files") == 1 and _count(con, "param_stats") == 1
        assert con.execute("SELECT mode FROM param_stats").fetchone()[0] == 2.0
    # a failure midway changes nothing: the previous rows stay, no temporary file is left
    broken = [replace(_stats("B:VIMIN", 3.0)[0], rows="not a number")]
    with pytest.raises(Exception):  # noqa: B017 - any DuckDB conversion error
        store.replace_file(db, rec, broken)
    with store.reader(db) as con:
        assert con.execute("SELECT mode FROM param_stats").fetchone()[0] == 2.0
    leftovers = [p for p in store.results_dir(db).rglob("*") if p.name.startswith(".")]
    assert leftovers == []


def test_newer_file_of_the_same_partition_supersedes_the_older(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    old, new = _record("MLParamData_100_a.h5", 100.0), _record("MLParamData_200_a.h5", 200.0)
    other_day = _record("MLParamData_150_b.h5", 150.0, window=Window(W.end, W.end + 86400))
    store.replace_file(db, old, _stats("B:VIMIN", 1.0))
    store.replace_file(db, other_day, _stats("B:VIMIN", 5.0))
    assert store.replace_file(db, new, _stats("B:VIMIN", 2.0)) == [old.name]
    with store.reader(db) as con:
        assert file_status(con, old.name)[0] == "superseded"
        assert file_status(con, other_day.name)[0] == "ok"
    # distilling the old one again does not bring it back
    assert store.replace_file(db, old, _stats("B:VIMIN", 1.0)) == []
    with store.reader(db) as con:
        assert file_status(con, old.name) == ("superseded", f"superseded by {new.name}")
        rows = con.execute("SELECT paramname, statname, statval FROM ACNETparameterStats "
                           "WHERE epochUTCsec = ? ORDER BY 1, 2", [W.start]).fetchall()
    assert ("B:VIMIN", "mode", 2.0) in rows and ("B:VIMIN", "mode", 1.0) not in rows
    assert len(rows) == 8  # mode/std/min/max of values and Interval_


def test_a_failed_file_has_no_statistics(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    rec = _record("MLParamData_100_a.h5", 100.0)
    store.replace_file(db, rec, _stats("B:VIMIN", 1.0))
    store.replace_file(db, replace(rec, status="failed", error="corrupt: x"))
    with store.reader(db) as con:
        assert file_status(con, rec.name) == ("failed", "corrupt: x")
        assert _count(con, "param_stats") == 0
        assert con.execute("SELECT window_start_utc FROM data_files").fetchone()[0] == W.start


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
        store.replace_file(db, rec, [s])
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


def test_result_files_written_before_version_3_read_as_null(tmp_path: Path) -> None:
    """A result file of a release before version 3 (no p05/p95/distinct values/mode share/
    changes) is read by column name beside new ones: its new columns are NULL, a file distilled
    now has them, and the old long format still holds both."""
    import duckdb

    db = tmp_path / "s.duckdb"
    old, new = _record("MLParamData_100_a.h5", 100.0), _record(
        "MLParamData_200_b.h5", 200.0, window=Window(W.end, W.end + 86400.0))
    store.replace_file(db, old, _stats("B:VIMIN", 1.0))
    store.replace_file(db, new, _stats("B:VIMIN", 2.0))
    # rewrite the first file's result as the previous release wrote it: without the columns
    path = store._result_path(store.results_dir(db), "param_stats", old.name)
    v1 = ", ".join(f'"{c}"' for c in ["file_name", *store._PARAM_COLUMNS_V1])
    con = duckdb.connect()
    con.execute(f"COPY (SELECT {v1} FROM read_parquet('{path}')) TO '{path}.v2' "
                "(FORMAT parquet)")
    con.close()
    Path(f"{path}.v2").replace(path)
    with store.reader(db) as con:
        rows = con.execute("SELECT file_name, mode, p05, distinct_values, value_changes "
                           "FROM param_stats_current ORDER BY 1").fetchall()
        assert rows == [(old.name, 1.0, None, None, None), (new.name, 2.0, 2.0, 1, 0)]
        assert con.execute("SELECT count(*) FROM ACNETparameterStats").fetchone()[0] == 16


def test_gap_spans_are_stored_and_older_results_read_them_as_null(tmp_path: Path) -> None:
    """Version 4 keeps where each device's gaps lie; a result file written before it has no
    such column and reads NULL (unknown, never "no gaps")."""
    db = tmp_path / "s.duckdb"
    t = W.start + np.concatenate([np.arange(20), np.arange(40, 60)]) / 15.0
    old, new = _record("MLParamData_100_a.h5", 100.0), _record(
        "MLParamData_200_b.h5", 200.0, window=Window(W.end, W.end + 86400.0))
    store.replace_file(db, old, _stats("B:VIMIN", 1.0))
    store.replace_file(db, new, [param_stats("B:VIMIN", t + 86400.0, np.ones(40),
                                             Window(W.end, W.end + 86400.0))])
    path = store._result_path(store.results_dir(db), "param_stats", old.name)
    before = ", ".join(f'"{c}"' for c in ["file_name", *store.PARAM_COLUMNS]
                       if c not in store._PARAM_COLUMNS_V4)
    con = duckdb.connect()
    con.execute(f"COPY (SELECT {before} FROM read_parquet('{path}')) TO '{path}.v3' "
                "(FORMAT parquet)")
    con.close()
    Path(f"{path}.v3").replace(path)
    with store.reader(db) as con:
        rows = con.execute("SELECT file_name, gap_count, gap_spans FROM param_stats_current "
                           "ORDER BY 1").fetchall()
    day2 = W.end  # the second file's window starts where the first one's ends
    assert rows == [(old.name, 1, None), (new.name, 2, [
        [day2 + 19 / 15.0, day2 + 40 / 15.0], [day2 + 59 / 15.0, day2 + 86400.0]])]


def test_a_version_1_store_is_migrated_to_results_with_every_row_once(tmp_path: Path) -> None:
    """A store written by the previous release (rows in DuckDB tables) keeps its rows."""
    db = tmp_path / "old.duckdb"
    con = duckdb.connect(str(db))
    con.execute("CREATE TABLE schema_version (version INTEGER NOT NULL, "
                "description VARCHAR NOT NULL, applied_utc DOUBLE NOT NULL)")
    version, description, steps = store.MIGRATIONS[0]
    for sql in steps:
        con.execute(sql)
    con.execute("INSERT INTO schema_version VALUES (?, ?, 0)", [version, description])
    recs = [_record(f"MLParamData_{i}_a.h5", float(i), window=Window(W.start + i, W.end + i))
            for i in range(3)]
    for i, rec in enumerate(recs):
        row = asdict(rec)
        con.execute(f"INSERT INTO data_files VALUES ({', '.join('?' * len(row))})",
                    list(row.values()))
        s = _stats("B:VIMIN", float(i))[0].row()
        v1 = store._PARAM_COLUMNS_V1  # the table of version 1 has no later column
        con.execute(f"INSERT INTO param_stats (file_name, {', '.join(v1)}) "
                    f"VALUES (?, {', '.join('?' * len(v1))})", [rec.name, *(s[c] for c in v1)])
    expected = con.execute("SELECT * FROM ACNETparameterStats ORDER BY ALL").fetchall()
    con.close()
    with store.writer(db) as con:
        assert store.schema_version(con) == store.SCHEMA_VERSION
    with store.reader(db) as con:
        assert con.execute("SELECT * FROM ACNETparameterStats ORDER BY ALL").fetchall() == expected
        assert con.execute("SELECT file_name, mode FROM param_stats ORDER BY 1").fetchall() == [
            (rec.name, float(i)) for i, rec in enumerate(recs)]
        # what version 3 added was never computed for them: NULL, not a made-up number
        assert con.execute("SELECT count(*) FROM param_stats_current WHERE p05 IS NULL AND "
                           "distinct_values IS NULL").fetchone()[0] == 3
        tables = {r[0] for r in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE'"
        ).fetchall()}
    assert tables == {"schema_version", "legacy_param_stats"}


_DISTILLER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from gmpsai_assets.stats.distill import distill_into_store
    db, go, files = sys.argv[1], Path(sys.argv[2]), sys.argv[3:]
    while not go.exists():
        time.sleep(0.01)
    for f in files:
        print(distill_into_store(f, db).summary(), flush=True)
""")


def test_four_writer_processes_distil_eight_files_at_once(tmp_path: Path) -> None:
    """No pool, no lock errors, every row present exactly once; the store did not exist yet,
    so the four also race to create it."""
    from gmpsai_assets.files.naming import PARAM_PREFIX, data_file_name
    from gmpsai_assets.files.paramfile import ParamFileWriter
    from gmpsai_assets.sim.simulator import SimulatedBooster
    from gmpsai_assets.stats.distill import distill_file

    sim, devices = SimulatedBooster(), ["B:VIMIN", "B:IMINER", "I:IB"]
    files = []
    for i in range(8):
        window = Window(W.start + 600 * i, W.start + 600 * i + 120)
        path = tmp_path / data_file_name(PARAM_PREFIX, "MLrn", window, 1_600_000_000 + i)
        with ParamFileWriter(path, window, "MLrn", "simulated", devices,
                             created_utc=1_600_000_000 + i) as w:
            for d in devices:
                w.add(d, sim.fetch(d, window), None)
        files.append(path)
    db, go = tmp_path / "stats" / "gmpsai.duckdb", tmp_path / "go"
    procs = [subprocess.Popen([sys.executable, "-c", _DISTILLER, str(db), str(go),
                               *map(str, files[k::4])],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for k in range(4)]
    go.touch()
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
        assert "lock" not in (out + err).lower()
        assert out.count(": ok (") == 2, out
    with store.reader(db) as con:
        assert con.execute("SELECT count(*), count(DISTINCT name) FROM data_files "
                           "WHERE status = 'ok'").fetchone() == (8, 8)
        got = con.execute("SELECT file_name, device, rows, mode, max FROM param_stats "
                          "ORDER BY 1, 2").fetchall()
    want = sorted((f.name, p.device, p.rows, p.mode, p.max)
                  for f in files for p in distill_file(f, checksum=False).params)
    assert got == want and len(got) == 8 * len(devices)
