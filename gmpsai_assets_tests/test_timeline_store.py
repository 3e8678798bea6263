"""The timeline store: one real DuckDB file per test, real sqlite for the old table."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from gmpsai_assets.acnet.tclk import TimelineEntry
from gmpsai_assets.sim.timing import SimulatedTiming
from gmpsai_assets.timeline.store import (
    LegacyImportError,
    Supercycle,
    TimelineStore,
    TimelineStoreBusy,
    import_legacy_timeline_rows,
    import_legacy_timeline_sqlite,
    timeline_id,
)

T0 = 1_773_000_000.0  # 2026-03-08, any fixed time will do
TIMING = SimulatedTiming(7, sc_ticks=30)  # 2 s supercycles


def supercycle(k: int, jitter: float = 0.0) -> Supercycle:
    """The k-th simulated supercycle after T0, as the logger would record it."""
    start = TIMING.supercycle_start(T0) + k * TIMING.supercycle_length()
    start = TIMING.supercycle_start(start + 0.5)
    entries = tuple(TIMING.timeline_at(start + 0.5))
    return Supercycle(start + jitter, TIMING.supercycle_length(), entries, start + 0.5, "simulated")


@pytest.fixture
def store(tmp_path: Path) -> TimelineStore:
    return TimelineStore(tmp_path / "timeline.duckdb", lock_timeout_s=10)


def test_recorded_supercycles_read_back_in_the_old_long_form(store):
    scs = [supercycle(k) for k in range(3)]
    for sc in scs:
        assert store.record(sc).new
    rows = store.records(T0 - 10, T0 + 60)
    want = [(round(sc.start_utc, 3), e.index, f"{e.event:02x}", e.sc_time)
            for sc in scs for e in sc.entries]
    assert rows == want
    with duckdb.connect(str(store.path), read_only=True) as con:
        old = con.execute("SELECT SC_StartTime, SCentry_index, eventHex, SC_EventTime "
                          "FROM TimeLineLogs ORDER BY 1, 2").fetchall()
        stored_timelines = con.execute("SELECT count(*) FROM timeline_entries").fetchone()[0]
    assert old == want
    # one timeline, stored once however many supercycles ran it
    assert len({sc.entries for sc in scs}) == 1
    assert stored_timelines == len(scs[0].entries)


def test_re_recording_a_supercycle_never_duplicates_it(store):
    first = store.record(supercycle(0))
    again = store.record(supercycle(0, jitter=0.04))  # another reading, 40 ms of read latency
    assert first.new and not again.new
    assert again.start_utc == first.start_utc
    store.record(supercycle(1))
    rows = store.records(T0 - 10, T0 + 60)
    keys = [(s, i) for s, i, _, _ in rows]
    assert len(keys) == len(set(keys)) == 2 * len(supercycle(0).entries)
    assert [s.start_utc for s in store.supercycles(T0 - 10, T0 + 60)] == [
        round(supercycle(0).start_utc, 3), round(supercycle(1).start_utc, 3)]


def test_a_timeline_change_stores_the_new_timeline_once():
    a = (TimelineEntry(0, 0x00, 0.0), TimelineEntry(1, 0x11, 0.018))
    b = (TimelineEntry(0, 0x00, 0.0), TimelineEntry(1, 0x12, 0.018))
    assert timeline_id(a) != timeline_id(b)
    assert timeline_id(a) == timeline_id(tuple(TimelineEntry(e.index, e.event, e.sc_time + 1e-9)
                                               for e in a))


def test_empty_store_reads_as_nothing_and_exports_a_typed_empty_file(store, tmp_path):
    assert store.supercycles(0, 2e9) == [] and store.first_start() is None
    out = tmp_path / "empty.parquet"
    assert store.export_parquet(0, 2e9, out) == 0
    with duckdb.connect() as con:
        cols = con.execute(f"DESCRIBE SELECT * FROM read_parquet('{out}')").fetchall()
    assert [(c[0], c[1]) for c in cols] == [("sc_start_utc", "DOUBLE"), ("entry_index", "INTEGER"),
                                            ("event_hex", "VARCHAR"), ("sc_event_time", "DOUBLE")]
    assert not store.path.exists()  # reading never creates the database


def test_parquet_export_holds_exactly_the_window(store, tmp_path):
    for k in range(4):
        store.record(supercycle(k))
    starts = [s.start_utc for s in store.supercycles(0, 2e9)]
    out = tmp_path / "day.parquet"
    n = store.export_parquet(starts[1], starts[3], out)
    with duckdb.connect() as con:
        got = con.execute(f"SELECT * FROM read_parquet('{out}')").fetchall()
    assert n == len(got) == 2 * len(supercycle(0).entries)
    assert {r[0] for r in got} == {starts[1], starts[2]}
    assert got == store.records(starts[1], starts[3])


def test_a_reader_waits_for_a_writer_in_another_process(store):
    store.record(supercycle(0))
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import duckdb, sys, time\n"
         f"con = duckdb.connect({str(store.path)!r})\n"
         "print('locked', flush=True)\n"
         "time.sleep(0.5)\n"
         "con.close()\n"],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        waits: list[str] = []
        waiting = TimelineStore(store.path, lock_timeout_s=30, on_wait=waits.append)
        assert len(waiting.supercycles(0, 2e9)) == 1  # read once the other process let go
        assert waits, "the lock was held, so the reader must have waited"
    finally:
        holder.kill()
        holder.wait()


def test_a_lock_held_too_long_is_a_clear_busy_error(store):
    store.record(supercycle(0))
    holder = subprocess.Popen(
        [sys.executable, "-c",
         f"import duckdb, time; con = duckdb.connect({str(store.path)!r}); "
         "print('locked', flush=True); time.sleep(30)"],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        impatient = TimelineStore(store.path, lock_timeout_s=0.3)
        with pytest.raises(TimelineStoreBusy, match=r"timeline database .* stayed locked"):
            impatient.record(supercycle(1))
    finally:
        holder.kill()
        holder.wait()
    assert len(store.supercycles(0, 2e9)) == 1


# ---- the old GMPSAI.db TimeLineLogs ----------------------------------------------------------


def _legacy_rows() -> list[tuple]:
    rows = []
    for k in range(3):
        sc = supercycle(k)
        rows += [(round(sc.start_utc, 3), e.index, f"{e.event:02X}", e.sc_time)
                 for e in sc.entries]
    return rows


def test_legacy_rows_import_once_and_read_back_through_the_old_view(store):
    rows = _legacy_rows()
    result = import_legacy_timeline_rows(store, rows)
    assert (result.rows, result.supercycles, result.new_supercycles) == (len(rows), 3, 3)
    again = import_legacy_timeline_rows(store, rows)
    assert again.new_supercycles == 0
    with duckdb.connect(str(store.path), read_only=True) as con:
        back = con.execute("SELECT * FROM TimeLineLogs ORDER BY 1, 2").fetchall()
    assert back == [(s, i, h.lower(), t) for s, i, h, t in rows]
    # the logger recording one of those supercycles later changes nothing either
    assert not store.record(supercycle(1)).new


def test_legacy_sqlite_import(store, tmp_path):
    db = tmp_path / "GMPSAI.db"
    with sqlite3.connect(db) as con:
        con.execute("CREATE TABLE TimeLineLogs (SC_StartTime REAL, SCentry_index INTEGER, "
                    "eventHex TEXT, SC_EventTime REAL, PRIMARY KEY (SC_StartTime, SCentry_index))")
        con.executemany("INSERT INTO TimeLineLogs VALUES (?, ?, ?, ?)", reversed(_legacy_rows()))
    result = import_legacy_timeline_sqlite(store, db)
    assert result.supercycles == 3 and result.rows == len(_legacy_rows())
    assert len(store.records(0, 2e9)) == len(_legacy_rows())
    assert db.stat().st_size > 0  # read-only: the old file is left alone


def test_legacy_import_refuses_bad_rows_and_keeps_nothing_of_the_batch(store):
    rows = _legacy_rows()
    bad = [*rows[:5], (rows[5][0], rows[5][1], "zz", rows[5][3])]
    with pytest.raises(LegacyImportError, match=r"row 6 .*'zz'"):
        import_legacy_timeline_rows(store, bad)
    assert store.supercycles(0, 2e9) == []
    with pytest.raises(LegacyImportError, match="ordered by SC_StartTime"):
        import_legacy_timeline_rows(store, list(reversed(rows)))


def test_legacy_sqlite_without_the_table_imports_nothing(store, tmp_path):
    db = tmp_path / "old.db"
    sqlite3.connect(db).close()
    assert import_legacy_timeline_sqlite(store, db).rows == 0
    assert store.first_start() is None
