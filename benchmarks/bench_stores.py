"""Where the statistics of many writers go: the measurements behind stats/store.py's choice.

Four writer processes store the statistics of N files (47 devices each) at once, three ways:
  duckdb-file   one DuckDB file, each write waits for the file lock (the previous design)
  parquet       per-file results renamed into place, DuckDB views over them (today's store)
  postgresql    one PostgreSQL table, a transaction per file (a throwaway local server)
then the history the page reads (every row of every file) is read back the same three ways.
Floors: one writer alone into the DuckDB file, and reading that file's table.

    python -m benchmarks stores [--files=N]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import shutil
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import Row, print_table

DEVICES = 47
WRITERS = 4
DAY = 86400.0


def _stats(i: int) -> tuple:
    import numpy as np

    from gmpsai_assets.stats import store
    from gmpsai_assets.stats.compute import param_stats
    from gmpsai_assets.window import Window

    w = Window(1.7e9 + DAY * i, 1.7e9 + DAY * (i + 1))
    t = w.start + np.arange(100) * 10.0
    params = [param_stats(f"B:DEV{d:02d}", t, np.full(t.size, float(d)), w)
              for d in range(DEVICES)]
    rec = store.FileRecord(f"MLParamData_{i}.h5", f"/data/{i}.h5", "params", "f", "new", "MLrn",
                           w.start, w.end, 1.7e9 + i, 1, 0.0, None, "ok", "", 0.0, 0.0)
    return rec, params


def _rows(rec, params) -> list[list]:
    from gmpsai_assets.stats.store import PARAM_COLUMNS, stats_rows

    return stats_rows(rec.name, params, PARAM_COLUMNS)


def _ddl() -> str:
    from gmpsai_assets.stats.store import PARAM_COLUMNS

    types = {"device": "VARCHAR", "status": "VARCHAR", "reason": "VARCHAR",
             "gap_spans": "DOUBLE PRECISION[][]"}  # (the same text in DuckDB and PostgreSQL)
    cols = ", ".join(f'"{c}" {types.get(c, "DOUBLE PRECISION")}' for c in PARAM_COLUMNS)
    return f"CREATE TABLE IF NOT EXISTS param_stats (file_name VARCHAR, {cols})"


def _write(way: str, target: str, files: list[int]) -> None:
    from gmpsai_assets.stats import store

    for i in files:
        rec, params = _stats(i)
        if way == "parquet":
            store.replace_file(target, rec, params)
        elif way == "duckdb-file":
            con = store.connect(target)
            try:
                con.execute(_ddl())
                con.execute("BEGIN TRANSACTION")
                con.execute("DELETE FROM param_stats WHERE file_name = ?", [rec.name])
                rows = _rows(rec, params)
                con.executemany(f"INSERT INTO param_stats VALUES ({', '.join('?' * len(rows[0]))})",
                                rows)
                con.execute("COMMIT")
            finally:
                con.close()
        else:
            import psycopg2

            with psycopg2.connect(target) as con, con.cursor() as cur:
                cur.execute(_ddl())
                cur.execute("DELETE FROM param_stats WHERE file_name = %s", [rec.name])
                rows = _rows(rec, params)
                cur.executemany(
                    f"INSERT INTO param_stats VALUES ({', '.join(['%s'] * len(rows[0]))})", rows)
            con.close()


def _in_parallel(way: str, target: str, n: int, writers: int) -> float:
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_write, args=(way, target, list(range(k, n, writers))))
             for k in range(writers)]
    began = time.perf_counter()
    for p in procs:
        p.start()
    for p in procs:
        p.join()
        if p.exitcode:
            raise RuntimeError(f"{way} writer failed ({p.exitcode})")
    return time.perf_counter() - began


def _read(way: str, target: str) -> tuple[float, int]:
    import duckdb

    from gmpsai_assets.stats import store

    began = time.perf_counter()
    if way == "parquet":
        with store.reader(target) as con:
            n = len(con.execute("SELECT * FROM param_stats_current").fetchall())
    elif way == "duckdb-file":
        con = duckdb.connect(target, read_only=True)
        n = len(con.execute("SELECT * FROM param_stats").fetchall())
        con.close()
    else:
        import psycopg2

        with psycopg2.connect(target) as con, con.cursor() as cur:
            cur.execute("SELECT * FROM param_stats")
            n = len(cur.fetchall())
        con.close()
    return time.perf_counter() - began, n


def main() -> None:
    parser = argparse.ArgumentParser(prog="bench_stores")
    parser.add_argument("--files", type=int, default=120)
    n = parser.parse_known_args(sys.argv[1:])[0].files
    from harness.pgserver import PostgresMissing, start_server

    tmp = Path(tempfile.mkdtemp(prefix="bench_stores_"))
    server = None
    try:
        try:
            server = start_server()
        except PostgresMissing as exc:
            print(f"bench_stores: PostgreSQL rows skipped: {exc}")
        targets = {"duckdb-file": str(tmp / "one.duckdb"), "parquet": str(tmp / "s.duckdb")}
        if server:
            import psycopg2

            targets["postgresql"] = server.url()
            with psycopg2.connect(server.url()) as con, con.cursor() as cur:
                cur.execute(_ddl())  # once: concurrent CREATE IF NOT EXISTS races in PostgreSQL
            con.close()
        floor_write = _in_parallel("duckdb-file", str(tmp / "floor.duckdb"), n, 1) / n
        floor_read, _ = _read("duckdb-file", str(tmp / "floor.duckdb"))
        rows = []
        for way, target in targets.items():
            wall = _in_parallel(way, target, n, WRITERS)
            rows.append(Row(f"{way}: {WRITERS} writers, wall time per file", wall / n,
                            floor_write, "s", "1 writer, DuckDB file"))
        for way, target in targets.items():
            seconds, got = _read(way, target)
            assert got == n * DEVICES, (way, got)
            rows.append(Row(f"{way}: read {got} rows of {n} files", seconds, floor_read, "s",
                            "DuckDB table"))
    finally:
        if server:
            server.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    print_table(f"statistics of {n} files x {DEVICES} devices, {WRITERS} writer processes",
                rows)


if __name__ == "__main__":
    main()
