"""The timeline store over one simulated day (issue 6): 1438 supercycles of the real 60.07 s
length, ~1200 timeline entries each, the timelines the simulator changes every few hours.

Figures, each beside a floor measured in the same run:
- recording one supercycle the way the logger does (open, one transaction, close) against bare
  DuckDB opening the same kind of file and inserting one row: what the logger costs per minute;
- the same when the timeline is new (its ~1200 entries written) against a bare bulk insert of
  those rows;
- the database size for the day against the old long form (one row per entry per supercycle,
  keyed like TimeLineLogs) holding the same data in DuckDB;
- a day's Parquet export and day summary against a bare COPY / SELECT of a flat long table;
- importing the day as old TimeLineLogs rows against a bare bulk insert of those rows.
`--quick` uses a quarter of the day.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from benchmarks.common import Row, median_seconds, print_table
from gmpsai_assets.acnet.tclk import TimelineEntry
from gmpsai_assets.duckdb_util import DUCKDB_CONFIG
from gmpsai_assets.sim.timing import SimulatedTiming
from gmpsai_assets.timeline.day import summarize_day
from gmpsai_assets.timeline.store import (
    Supercycle,
    TimelineStore,
    import_legacy_timeline_rows,
)
from gmpsai_assets.window import Window, day_window

DAY = "2026-03-10"
LONG_DDL = ("CREATE TABLE long (sc_start_utc DOUBLE, entry_index INTEGER, event_hex VARCHAR, "
            "sc_event_time DOUBLE, PRIMARY KEY (sc_start_utc, entry_index))")


def _day(timing: SimulatedTiming, window: Window) -> list[Supercycle]:
    ticks, length = timing.sc_ticks, timing.supercycle_length()
    first = int(np.ceil(timing.clock.phase(window.start) / ticks))
    last = int(np.ceil(timing.clock.phase(window.end) / ticks))
    timelines: dict[int, tuple] = {}
    out = []
    for t in timing.clock.tick_time(np.arange(first, last) * ticks).tolist():
        version = timing.timeline_version(t + 1)
        if version not in timelines:
            timelines[version] = tuple(timing.timeline_at(t + 1))
        out.append(Supercycle(t, length, timelines[version], t + 6, "simulated"))
    return out


def _long_frame(scs: list[Supercycle]) -> pd.DataFrame:
    return pd.DataFrame(
        [(round(sc.start_utc, 3), e.index, f"{e.event:02x}", e.sc_time)
         for sc in scs for e in sc.entries],
        columns=["sc_start_utc", "entry_index", "event_hex", "sc_event_time"])


def main() -> None:
    quick = "--quick" in sys.argv
    window = day_window(DAY)
    if quick:
        window = Window(window.start, window.start + window.seconds / 4)
    timing = SimulatedTiming(20200310)
    scs = _day(timing, window)
    long = _long_frame(scs)
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="bench-timeline-") as tmp:
        tmp = Path(tmp)
        store = TimelineStore(tmp / "timeline.duckdb")
        store.record_many(scs[:1])

        # one supercycle per minute, timeline already known
        spare = iter(scs[1:])
        ours = median_seconds(lambda: store.record(next(spare)), 25)
        bare = tmp / "bare.duckdb"
        with duckdb.connect(str(bare), config=DUCKDB_CONFIG) as con:
            con.execute("CREATE TABLE sc (t DOUBLE PRIMARY KEY, tid VARCHAR)")
        counter = iter(range(10**6))

        def bare_one() -> None:
            with duckdb.connect(str(bare), config=DUCKDB_CONFIG) as con:
                con.execute("INSERT INTO sc VALUES (?, 'x')", [float(next(counter))])
        rows.append(Row("record one supercycle (open+txn+close)", ours * 1e3,
                        median_seconds(bare_one, 25) * 1e3, "ms", "bare connect+insert+close",
                        "<< 60 s"))

        # a supercycle whose timeline is new: its entries are written once
        last = scs[0].entries[-1]
        fresh = [Supercycle(sc.start_utc + 10 * 86400, sc.length_s,
                            (*sc.entries[:-1], TimelineEntry(last.index, last.event, 99.0 + i)))
                 for i, sc in enumerate(scs[:7])]
        it = iter(fresh)
        ours_new = median_seconds(lambda: store.record(next(it)), 7)
        frame = long[long.sc_start_utc == long.sc_start_utc.iloc[0]].copy()
        n = iter(range(10**6))

        def bare_entries() -> None:
            frame["sc_start_utc"] = float(next(n))
            with duckdb.connect(str(bare), config=DUCKDB_CONFIG) as con:
                con.execute("CREATE TABLE IF NOT EXISTS e AS SELECT * FROM frame LIMIT 0")
                con.execute("INSERT INTO e SELECT * FROM frame")
        rows.append(Row(f"record one with a new timeline ({len(frame)} entries)",
                        ours_new * 1e3, median_seconds(bare_entries, 7) * 1e3, "ms",
                        "bare bulk insert of the entries", "<< 60 s"))

        # the whole day, normalized, against the old long form
        day_store = TimelineStore(tmp / "day.duckdb")
        day_store.record_many(scs)
        long_db = tmp / "long.duckdb"
        with duckdb.connect(str(long_db), config=DUCKDB_CONFIG) as con:
            con.execute(LONG_DDL)
            con.register("long_frame", long)
            con.execute("INSERT INTO long SELECT * FROM long_frame")
        rows.append(Row(f"database size, {len(scs)} supercycles", day_store.path.stat().st_size
                        / 2**20, long_db.stat().st_size / 2**20, "MB",
                        f"old long form, {len(long)} rows", "smaller"))

        out = tmp / "day.parquet"
        ours_export = median_seconds(
            lambda: day_store.export_parquet(window.start, window.end, out), 3)

        def bare_export() -> None:
            with duckdb.connect(str(long_db), read_only=True, config=DUCKDB_CONFIG) as con:
                con.execute(f"COPY (SELECT * FROM long ORDER BY 1, 2) TO '{tmp / 'b.parquet'}' "
                            "(FORMAT parquet, COMPRESSION zstd)")
        rows.append(Row("export the day to Parquet", ours_export, median_seconds(bare_export, 3),
                        "s", "bare COPY of the long table", "<= 2x"))

        ours_sum = median_seconds(lambda: summarize_day(day_store, window, window.end + 1), 5)

        def bare_select() -> None:
            with duckdb.connect(str(long_db), read_only=True, config=DUCKDB_CONFIG) as con:
                con.execute("SELECT DISTINCT sc_start_utc FROM long ORDER BY 1").fetchall()
        rows.append(Row("summarize the day", ours_sum, median_seconds(bare_select, 5), "s",
                        "bare distinct starts of the long table", "<= 2x"))

        legacy_rows = list(long.itertuples(index=False, name=None))
        began = time.perf_counter()
        result = import_legacy_timeline_rows(TimelineStore(tmp / "legacy.duckdb"), legacy_rows)
        ours_import = time.perf_counter() - began
        assert result.new_supercycles == len(scs)

        def bare_import() -> None:
            path = tmp / "bare_long.duckdb"
            path.unlink(missing_ok=True)
            with duckdb.connect(str(path), config=DUCKDB_CONFIG) as con:
                con.execute(LONG_DDL)
                con.register("long_frame", long)
                con.execute("INSERT INTO long SELECT * FROM long_frame")
        rows.append(Row(f"import the day as old rows ({len(long)})", ours_import,
                        median_seconds(bare_import, 1), "s", "bare bulk insert, keyed long table",
                        "any"))
    print_table(f"timeline store, {len(scs)} supercycles of {DAY}"
                f"{' (quarter day)' if quick else ''}", rows)


if __name__ == "__main__":
    main()
