"""What the statistics store's defences against bad result files cost (stats/store.py).

    python -m benchmarks heal [--files=N]   # N data files (default 730: a year of two a day)

Writes: each result file is read back (footer, row count) and fsynced, file and directory,
before and after its rename, against a bare rename. Reads: a query over `param_stats_current`
when one result file does not read, against the same query on a sound store: a truncated file
(DuckDB names it: it is checked alone) and a damaged footer (DuckDB names no file: every file
is checked, by its 12 end bytes, then by reading it), each healed and the query run again.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import numpy as np

from benchmarks.common import Row, median_seconds, print_table

QUERY = "SELECT count(*), sum(mean) FROM param_stats_current"


def _store(db: Path, n: int) -> None:
    """A store of `n` data files of 47 devices each: one distilled, the rest copies of its
    results under their own names (distilling them all would take minutes)."""
    from gmpsai_assets.stats import store
    from gmpsai_assets.stats.compute import param_stats
    from gmpsai_assets.window import Window

    w = Window(1e9, 1e9 + 86400.0)
    t = w.start + np.arange(100) / 15.0
    rec = store.FileRecord("f-0.h5", "/x/f-0.h5", "params", "f", "new", "MLrn", w.start, w.end,
                           0.0, 1, 0.0, None, "ok", "", 0.0, 0.0)
    store.replace_file(db, rec, [param_stats(f"D:{k}", t, np.full(100, k), w)
                                 for k in range(47)])
    results = store.results_dir(db)
    src = {table: store._result_path(results, table, rec.name) for table in store.RESULTS}
    con = duckdb.connect()
    for i in range(1, n):
        name = f"f-{i}.h5"
        day = 86400.0 * i
        for table, path in src.items():
            change = (f"'{name}' AS name, window_start_utc + {day} AS window_start_utc, "
                      f"window_end_utc + {day} AS window_end_utc"
                      if table == "data_files" else f"'{name}' AS file_name")
            out = store._result_path(results, table, name)
            con.execute(f"COPY (SELECT * REPLACE ({change}) FROM read_parquet('{path}')) "
                        f"TO '{out}' (FORMAT parquet)")
    con.close()


def _query(db: Path) -> None:
    from gmpsai_assets.stats import store

    with store.reader(db) as con:
        con.execute(QUERY).fetchall()


def _healed_read(db: Path, spoil) -> float:
    """Seconds of one query that meets a result file spoiled by `spoil`, then puts it back."""
    from gmpsai_assets.stats import store

    results = store.results_dir(db)
    victims = {t: store._result_path(results, t, "f-7.h5") for t in store.RESULTS}
    saved = {t: p.read_bytes() for t, p in victims.items()}
    spoil(victims["param_stats"])
    began = time.perf_counter()
    _query(db)
    took = time.perf_counter() - began
    assert [q.name for q in store.quarantined(db)] == ["f-7.h5"]
    shutil.rmtree(results / store.QUARANTINE)
    for t, p in victims.items():
        p.write_bytes(saved[t])
    return took


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _damage_footer(path: Path) -> None:
    data = bytearray(path.read_bytes())
    length = int.from_bytes(data[-8:-4], "little")
    for k in range(len(data) - 8 - length, len(data) - 8):
        data[k] ^= 0x55
    path.write_bytes(bytes(data))


def _placement(directory: Path) -> tuple[float, float]:
    """Seconds to write one result file of 47 rows: ours (read back, fsynced, renamed) and the
    write as it was before (the same DuckDB COPY, then a bare rename)."""
    from gmpsai_assets.stats import store
    from gmpsai_assets.stats.compute import param_stats
    from gmpsai_assets.window import Window

    target = directory / "param_stats" / "x.parquet"
    window = Window(1.7e9, 1.7e9 + 86400.0)
    t = window.start + np.arange(1000) * 60.0  # (gaps: gap_spans has rows of its own)
    stats = [param_stats(f"D:{k}", t, np.full(t.size, float(k)), window) for k in range(47)]
    rows = store.stats_rows("x", stats, store.PARAM_COLUMNS)
    columns, ddl = store.RESULTS["param_stats"]

    def ours() -> None:
        store._place_result(store._write_hidden(target, "param_stats", rows), target)

    def before() -> None:
        tmp = target.with_name(".before.tmp")
        con = duckdb.connect()
        con.execute(f"CREATE TABLE t ({ddl})")
        con.executemany(f"INSERT INTO t VALUES ({', '.join('?' * len(columns))})", rows)
        con.execute(f"COPY t TO '{tmp}' (FORMAT parquet)")
        con.close()
        os.replace(tmp, target)

    ours()  # creates the directory
    times: dict[object, list[float]] = {ours: [], before: []}
    for _ in range(25):  # interleaved: the machine's load falls on both alike
        for fn, seen in times.items():
            began = time.perf_counter()
            fn()
            seen.append(time.perf_counter() - began)
    return statistics.median(times[ours]), statistics.median(times[before])


def main() -> None:
    parser = argparse.ArgumentParser(prog="heal")
    parser.add_argument("--files", type=int, default=730)
    n = parser.parse_known_args(sys.argv[1:])[0].files
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "gmpsai.duckdb"
        _store(db, n)
        sound = median_seconds(lambda: _query(db), 3)
        truncated = _healed_read(db, _truncate)
        footer = _healed_read(db, _damage_footer)
        write, before = _placement(Path(tmp) / "w")
    print_table(f"bad result files among {n} data files ({3 * n} result files)", [
        Row("query meeting a truncated result (named)", truncated, sound, "s",
            "the query on a sound store"),
        Row("query meeting a damaged footer (unnamed)", footer, sound, "s",
            "the query on a sound store"),
        Row("one result file written, read back, fsynced", write * 1e3, before * 1e3, "ms",
            "written and renamed, as before"),
    ])


if __name__ == "__main__":
    main()
