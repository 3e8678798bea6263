"""The statistics store: a DuckDB file (default <data dir>/gmpsai.duckdb, GMPSAI_STATS_DB) whose
tables of distilled statistics are views over per-file Parquet results beside it
(<stem>_results/, e.g. <data dir>/gmpsai_results/).

Why files: a single-file DuckDB admits one writer process, and its lock does not hold across
machines on shared storage. Each distilled file instead gets its own three small Parquet files
(its record, its parameter rows, its event rows), written to a temporary name and renamed into
place, so any number of processes on any number of machines distil at once without a lock, and
readers see a file's result whole or not at all (docs/production.md has the measurements).

Schema version in `schema_version`, created and migrated by `ensure_schema`. Views:

    data_files          one row per data file name: path, kind, format, generation (new/old),
                        node, window, created, bytes, mtime, sha256, status (ok | failed |
                        superseded | missing), error, when distilled and how long it took;
                        "superseded" is derived: a newer ok file has the same kind, node, window
    param_stats         one row per (file, device) of ok files: see stats/compute.ParamStats;
                        version 3 added p05, p95, distinct_values, mode_share and value_changes
                        (what the page draws): results written before it hold NULL there (the
                        views read result files by column name) until their file is distilled
                        again
    event_stats         one row per (file, event) of ok files: see stats/compute.EventStats

Table:

    legacy_param_stats  rows imported from an old GMPSAI.db ACNETparameterStats (the old
                        TimeLineLogs go to the timeline store, timeline/store.py); the one
                        table still written through the DuckDB lock (a rare, one-off import)

More views:

    param_stats_current  param_stats of files whose status is ok, with their window and node
    event_stats_current  the same for events
    ACNETparameterStats(epochUTCsec, paramname, statname, statval): the old long format with the
                        old stat names (mode, std, min, max; `Interval_<device>` rows for the
                        sample intervals), distilled rows first, imported rows where no distilled
                        row has the same key, so old queries keep working.

A file is keyed by its name (the dynamic partition key): names embed the creation time, so two
different files never share one. Re-distilling replaces a file's results, and a newer file of the
same kind, node and window supersedes the older one's statistics.

The views hold the absolute path of the results directory (rewritten by every `writer`), so
every machine mounts the data directory at the same path. Opening the DuckDB file read-write
(schema changes, the legacy import) takes its lock: those open, do one short transaction and
close; both they and readers retry a lock conflict with backoff.
"""

from __future__ import annotations

import hashlib
import os
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

import duckdb

from gmpsai_assets import duckdb_util
from gmpsai_assets.stats.compute import EventStats, ParamStats

DEFAULT_BUSY_TIMEOUT_S = 600.0  # a writer holds the lock for well under a second


class StoreError(RuntimeError):
    """The statistics database cannot be used."""


class StoreBusyError(StoreError):
    """Another process held the database lock for longer than we were willing to wait."""


class StoreMissingError(StoreError):
    """A reader asked for a database that has not been created yet."""


@dataclass(frozen=True)
class FileRecord:
    """One row of `data_files`."""

    name: str
    path: str
    kind: str | None  # params | events (None when the file could not be read)
    format: str | None
    generation: str | None  # new | old
    node: str | None
    window_start_utc: float | None
    window_end_utc: float | None
    created_utc: float | None
    bytes: int | None
    mtime_utc: float | None
    sha256: str | None
    status: str  # ok | failed | superseded | missing
    error: str
    distilled_utc: float
    seconds: float


PARAM_COLUMNS = [f.name for f in fields(ParamStats)]
# Columns version 3 added to param_stats; version 1 created its table without them.
_PARAM_COLUMNS_V3 = ["p05", "p95", "distinct_values", "mode_share", "value_changes"]
_PARAM_COLUMNS_V1 = [c for c in PARAM_COLUMNS if c not in _PARAM_COLUMNS_V3]
EVENT_COLUMNS = [f.name for f in fields(EventStats)]
FILE_COLUMNS = [f.name for f in fields(FileRecord)]

_PARAM_TYPES = {"device": "VARCHAR", "status": "VARCHAR", "reason": "VARCHAR", "rows": "BIGINT",
                "nan_count": "BIGINT", "inf_count": "BIGINT", "nonincreasing": "BIGINT",
                "gap_count": "BIGINT", "expected_rows": "BIGINT", "distinct_values": "BIGINT",
                "value_changes": "BIGINT"}
_EVENT_TYPES = {"event": "VARCHAR", "code": "INTEGER", "count": "BIGINT",
                "nonincreasing": "BIGINT"}


_FILE_TYPES = {"name": "VARCHAR NOT NULL", "path": "VARCHAR NOT NULL", "kind": "VARCHAR",
               "format": "VARCHAR", "generation": "VARCHAR", "node": "VARCHAR",
               "bytes": "BIGINT", "sha256": "VARCHAR", "status": "VARCHAR NOT NULL",
               "error": "VARCHAR NOT NULL"}


def _columns(names: Sequence[str], types: dict[str, str]) -> str:
    return ",\n    ".join(f'"{n}" {types.get(n, "DOUBLE")}' for n in names)


_OLD_STATS = ("mode", "std", "min", "max")


def _legacy_view() -> str:
    parts = []
    for prefix, col in (("", "{}"), ("Interval_", "interval_{}")):
        for stat in _OLD_STATS:
            parts.append(
                f"SELECT window_start_utc AS epochUTCsec, '{prefix}' || device AS paramname, "
                f"'{stat}' AS statname, \"{col.format(stat)}\" AS statval "
                f"FROM param_stats_current WHERE \"{col.format(stat)}\" IS NOT NULL"
            )
    distilled = "\n    UNION ALL ".join(parts)
    return f"""
CREATE OR REPLACE VIEW ACNETparameterStats AS
WITH distilled AS (
    {distilled}
)
SELECT epochUTCsec, paramname, statname, statval FROM distilled
UNION ALL
SELECT l.epoch_utc_sec, l.paramname, l.statname, l.statval
FROM legacy_param_stats l
WHERE NOT EXISTS (
    SELECT 1 FROM distilled d
    WHERE d.epochUTCsec = l.epoch_utc_sec AND d.paramname = l.paramname
      AND d.statname = l.statname
)"""


# ---- per-file results ----------------------------------------------------------------------

# result table -> (columns, DDL of its Parquet files); every file name has one file of each.
RESULTS: dict[str, tuple[list[str], str]] = {
    "data_files": (FILE_COLUMNS, _columns(FILE_COLUMNS, _FILE_TYPES)),
    "param_stats": (["file_name", *PARAM_COLUMNS],
                    '"file_name" VARCHAR NOT NULL,\n    ' + _columns(PARAM_COLUMNS, _PARAM_TYPES)),
    "event_stats": (["file_name", *EVENT_COLUMNS],
                    '"file_name" VARCHAR NOT NULL,\n    ' + _columns(EVENT_COLUMNS, _EVENT_TYPES)),
}
EMPTY = "_empty.parquet"  # zero rows with the columns: a glob over no results still reads


def results_dir(db_path: str | Path) -> Path:
    """Where the per-file results of the store `db_path` live: <stem>_results beside it."""
    db_path = Path(db_path).resolve()
    return db_path.parent / f"{db_path.stem}_results"


def _result_path(results: Path, table: str, name: str) -> Path:
    # Hashed: a data file's name may hold characters that mean something in a glob or in SQL.
    return results / table / f"{hashlib.sha256(name.encode()).hexdigest()[:32]}.parquet"


def _sql_text(value: str | Path) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def _glob(results: Path, table: str) -> str:
    # By name: result files written before a column was added read it as NULL (version 3).
    return f"read_parquet({_sql_text(results / table / '*.parquet')}, union_by_name = true)"


def _write_hidden(target: Path, table: str, rows: Sequence[Sequence[object]]) -> Path:
    """Write the Parquet file of `rows` beside `target` under a hidden temporary name (which
    the views' glob does not match); the caller renames it into place."""
    columns, ddl = RESULTS[table]
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.parent / f".{target.name}.{uuid.uuid4().hex}.tmp"
    con = duckdb.connect()
    try:
        con.execute(f"CREATE TABLE t (\n    {ddl}\n)")
        if rows:
            marks = ", ".join("?" for _ in columns)
            con.executemany(f"INSERT INTO t VALUES ({marks})", [list(r) for r in rows])
        con.execute(f"COPY t TO {_sql_text(tmp)} (FORMAT parquet)")
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    finally:
        con.close()
    return tmp


def _write_result(results: Path, table: str, name: str | None,
                  rows: Sequence[Sequence[object]]) -> None:
    """Write one result file, then rename it into place (atomic on POSIX, NFS included):
    readers see the old file or the new one, never half of one."""
    target = results / table / EMPTY if name is None else _result_path(results, table, name)
    os.replace(_write_hidden(target, table, rows), target)


def _ensure_results(results: Path) -> None:
    for table in RESULTS:
        if not (results / table / EMPTY).exists():
            _write_result(results, table, None, [])


def _views(results: Path) -> tuple[str, ...]:
    """The views over the results directory (rewritten by every writer: they hold its path)."""
    group = "kind, node, window_start_utc, window_end_utc"
    return (
        f"""CREATE OR REPLACE VIEW data_files AS
WITH r AS (SELECT * FROM {_glob(results, "data_files")}),
newest AS (
    SELECT DISTINCT {group}, first_value(name) OVER (
        PARTITION BY {group} ORDER BY created_utc DESC NULLS LAST, name DESC) AS newest
    FROM r WHERE status = 'ok' AND kind IS NOT NULL AND window_start_utc IS NOT NULL
)
SELECT r.* REPLACE (
    CASE WHEN r.status = 'ok' AND n.newest <> r.name THEN 'superseded' ELSE r.status END
        AS status,
    CASE WHEN r.status = 'ok' AND n.newest <> r.name THEN 'superseded by ' || n.newest
        ELSE r.error END AS error)
FROM r LEFT JOIN newest n
  ON n.kind = r.kind AND n.node IS NOT DISTINCT FROM r.node
 AND n.window_start_utc = r.window_start_utc AND n.window_end_utc = r.window_end_utc""",
        *(f"""CREATE OR REPLACE VIEW {table} AS
SELECT s.* FROM {_glob(results, table)} s
WHERE s.file_name IN (SELECT name FROM data_files WHERE status = 'ok')"""
          for table in ("param_stats", "event_stats")),
        """CREATE OR REPLACE VIEW param_stats_current AS
SELECT f.window_start_utc, f.window_end_utc, f.node, f.format, f.generation, s.*
FROM param_stats s JOIN data_files f ON f.name = s.file_name WHERE f.status = 'ok'""",
        """CREATE OR REPLACE VIEW event_stats_current AS
SELECT f.window_start_utc, f.window_end_utc, f.node, f.format, f.generation, s.*
FROM event_stats s JOIN data_files f ON f.name = s.file_name WHERE f.status = 'ok'""",
        _legacy_view(),
    )


def _tables_to_results(con: duckdb.DuckDBPyConnection, results: Path) -> None:
    """Migration 2: the rows of the old tables, one result file per file name."""
    _ensure_results(results)
    names = [r[0] for r in con.execute("SELECT name FROM data_files").fetchall()]
    for name in names:
        for table, (columns, _) in RESULTS.items():
            key = "name" if table == "data_files" else "file_name"
            have = {r[0] for r in con.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = ?",
                [table]).fetchall()}
            cols = ", ".join(f'"{c}"' if c in have else f'NULL AS "{c}"' for c in columns)
            rows = con.execute(f"SELECT {cols} FROM {table} WHERE {key} = ?", [name]).fetchall()
            _write_result(results, table, name, rows)
    for view in ("ACNETparameterStats", "param_stats_current", "event_stats_current"):
        con.execute(f"DROP VIEW IF EXISTS {view}")
    for table in RESULTS:
        con.execute(f"DROP TABLE {table}")


def _empty_results_with_every_column(con: duckdb.DuckDBPyConnection, results: Path) -> None:
    """Migration 3: the empty result files hold every column, so the views have them all even
    before any file is distilled again (older result files read them as NULL)."""
    for table in RESULTS:
        _write_result(results, table, None, [])


Step = str | Callable[[duckdb.DuckDBPyConnection, Path], None]

# (version, description, steps: SQL or a function of the connection and the results directory).
# Append new versions; never edit an applied one.
MIGRATIONS: list[tuple[int, str, tuple[Step, ...]]] = [
    (1, "data files, parameter and event statistics, legacy import, views", (
        """CREATE TABLE data_files (
    name VARCHAR NOT NULL, path VARCHAR NOT NULL, kind VARCHAR, format VARCHAR,
    generation VARCHAR, node VARCHAR, window_start_utc DOUBLE, window_end_utc DOUBLE,
    created_utc DOUBLE, bytes BIGINT, mtime_utc DOUBLE, sha256 VARCHAR,
    status VARCHAR NOT NULL, error VARCHAR NOT NULL, distilled_utc DOUBLE NOT NULL,
    seconds DOUBLE NOT NULL
)""",
        f"""CREATE TABLE param_stats (
    file_name VARCHAR NOT NULL,
    {_columns(_PARAM_COLUMNS_V1, _PARAM_TYPES)}
)""",
        f"""CREATE TABLE event_stats (
    file_name VARCHAR NOT NULL,
    {_columns(EVENT_COLUMNS, _EVENT_TYPES)}
)""",
        """CREATE TABLE legacy_param_stats (
    epoch_utc_sec DOUBLE NOT NULL, epoch_as_written DOUBLE NOT NULL, paramname VARCHAR NOT NULL,
    statname VARCHAR NOT NULL, statval DOUBLE, source_db VARCHAR
)""",
        """CREATE VIEW param_stats_current AS
SELECT f.window_start_utc, f.window_end_utc, f.node, f.format, f.generation, s.*
FROM param_stats s JOIN data_files f ON f.name = s.file_name WHERE f.status = 'ok'""",
        """CREATE VIEW event_stats_current AS
SELECT f.window_start_utc, f.window_end_utc, f.node, f.format, f.generation, s.*
FROM event_stats s JOIN data_files f ON f.name = s.file_name WHERE f.status = 'ok'""",
        _legacy_view(),
    )),
    (2, "distilled statistics move to per-file Parquet results; their tables become views",
     (_tables_to_results,)),
    (3, "param_stats: p05, p95, distinct values, mode share, value changes (the page)",
     (_empty_results_with_every_column,)),
]
SCHEMA_VERSION = MIGRATIONS[-1][0]


# ---- connections -------------------------------------------------------------------------


def connect(
    path: str | Path,
    read_only: bool = False,
    timeout_s: float = DEFAULT_BUSY_TIMEOUT_S,
    on_wait: Callable[[str], None] | None = None,
) -> duckdb.DuckDBPyConnection:
    """A connection, waiting while another process holds the lock (duckdb_util.connect);
    StoreBusyError only after `timeout_s`."""
    path = Path(path)
    if read_only and not path.exists():
        raise StoreMissingError(f"statistics database {path} does not exist yet")
    try:
        con = duckdb_util.connect(path, read_only, timeout_s, on_wait, "statistics database")
    except duckdb_util.DatabaseBusyError as exc:
        raise StoreBusyError(str(exc)) from None
    except duckdb_util.DatabaseError as exc:
        raise StoreError(str(exc)) from None
    # A query over many result files runs long enough for DuckDB to draw a progress bar on
    # stdout, which is the CLI's output, not a place for a library to write.
    con.execute("SET enable_progress_bar = false")
    return con


@contextmanager
def writer(
    path: str | Path,
    timeout_s: float = DEFAULT_BUSY_TIMEOUT_S,
    on_wait: Callable[[str], None] | None = None,
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A short-lived read-write connection (it takes the file's lock) with the schema up to
    date and the views pointing at this store's results; closed on exit."""
    con = connect(path, read_only=False, timeout_s=timeout_s, on_wait=on_wait)
    try:
        ensure_schema(con, results_dir(path))
        yield con
    finally:
        con.close()


@contextmanager
def reader(
    path: str | Path,
    timeout_s: float = DEFAULT_BUSY_TIMEOUT_S,
    on_wait: Callable[[str], None] | None = None,
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection (retried while a writer holds the lock); closed on exit."""
    con = connect(path, read_only=True, timeout_s=timeout_s, on_wait=on_wait)
    try:
        yield con
    finally:
        con.close()


def schema_version(con: duckdb.DuckDBPyConnection) -> int:
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_version'"
    ).fetchone()
    if not exists or not exists[0]:
        return 0
    row = con.execute("SELECT max(version) FROM schema_version").fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def ensure_schema(con: duckdb.DuckDBPyConnection, results: Path) -> int:
    """Apply every migration newer than the database, each in its own transaction, then
    (re)write the views over `results`."""
    con.execute("""CREATE TABLE IF NOT EXISTS schema_version (
        version INTEGER NOT NULL, description VARCHAR NOT NULL, applied_utc DOUBLE NOT NULL)""")
    current = schema_version(con)
    if current > SCHEMA_VERSION:
        raise StoreError(
            f"statistics database has schema version {current}, newer than this software "
            f"({SCHEMA_VERSION}); upgrade gmpsai-assets"
        )
    for version, description, statements in MIGRATIONS:
        if version <= current:
            continue
        con.execute("BEGIN TRANSACTION")
        try:
            for step in statements:
                if callable(step):
                    step(con, results)
                else:
                    con.execute(step)
            con.execute("INSERT INTO schema_version VALUES (?, ?, ?)",
                        [version, description, time.time()])
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
    _ensure_results(results)
    con.execute("BEGIN TRANSACTION")
    try:
        for sql in _views(results):
            con.execute(sql)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return SCHEMA_VERSION


# ---- writes --------------------------------------------------------------------------------


def ensure_store(
    db_path: str | Path,
    timeout_s: float = DEFAULT_BUSY_TIMEOUT_S,
    on_wait: Callable[[str], None] | None = None,
) -> None:
    """Create or migrate the DuckDB file when it is missing or older than this software: the
    one moment a results writer takes the file's lock (briefly, once per upgrade)."""
    path = Path(db_path)
    if path.exists():
        with reader(path, timeout_s=timeout_s, on_wait=on_wait) as con:
            if schema_version(con) >= SCHEMA_VERSION:
                return
    with writer(path, timeout_s=timeout_s, on_wait=on_wait):
        pass


def replace_file(
    db_path: str | Path,
    record: FileRecord,
    params: Sequence[ParamStats] = (),
    events: Sequence[EventStats] = (),
    timeout_s: float = DEFAULT_BUSY_TIMEOUT_S,
) -> list[str]:
    """Store one file's outcome, replacing whatever was there for its name; no lock is taken
    (the store is created first if need be). Statistics are written before the record, so a
    reader never sees a record without its rows. Returns the names of older files of the same
    partition that this one superseded."""
    ensure_store(db_path, timeout_s=timeout_s)
    results = results_dir(db_path)
    # Converted up front: a bad value fails here, before anything of this file is replaced.
    param_rows = [[record.name, *(p.row()[c] for c in PARAM_COLUMNS)] for p in params]
    event_rows = [[record.name, *(e.row()[c] for c in EVENT_COLUMNS)] for e in events]
    staged = []
    try:
        for table, rows in (("param_stats", param_rows), ("event_stats", event_rows)):
            target = _result_path(results, table, record.name)
            staged.append((_write_hidden(target, table, rows), target))
    except BaseException:
        for tmp, _ in staged:
            tmp.unlink(missing_ok=True)
        raise
    for tmp, target in staged:
        os.replace(tmp, target)
    rec = asdict(record)
    _write_result(results, "data_files", record.name, [[rec[c] for c in FILE_COLUMNS]])
    return _superseded_by(results, record) if record.status == "ok" else []


def _superseded_by(results: Path, record: FileRecord) -> list[str]:
    """The other ok files with this kind, node and window, when this one is the newest."""
    if record.window_start_utc is None or record.kind is None:
        return []
    con = duckdb.connect()
    try:
        same = con.execute(
            f"""SELECT name FROM {_glob(results, "data_files")}
               WHERE status = 'ok' AND kind = ? AND node IS NOT DISTINCT FROM ?
                 AND window_start_utc = ? AND window_end_utc = ?
               ORDER BY created_utc DESC NULLS LAST, name DESC""",
            [record.kind, record.node, record.window_start_utc, record.window_end_utc],
        ).fetchall()
    finally:
        con.close()
    names = [r[0] for r in same]
    return names[1:] if names and names[0] == record.name else []


def mark_missing(db_path: str | Path, name: str, path: str) -> None:
    """A file that vanished (usually superseded and deleted): keep its record, drop its stats."""
    ensure_store(db_path)
    results = results_dir(db_path)
    existing = _result_path(results, "data_files", name)
    rec = FileRecord(name, path, None, None, None, None, None, None, None, None, None,
                     None, "missing", "file no longer exists", time.time(), 0.0)
    if existing.exists():
        con = duckdb.connect()
        try:
            cols = ", ".join(f'"{c}"' for c in FILE_COLUMNS)
            row = con.execute(f"SELECT {cols} FROM read_parquet({_sql_text(existing)})"
                              ).fetchone()
        finally:
            con.close()
        if row:
            rec = replace(FileRecord(*row), status="missing", error="file no longer exists",
                          distilled_utc=time.time())
    rec_row = asdict(rec)
    _write_result(results, "data_files", name, [[rec_row[c] for c in FILE_COLUMNS]])
    for table in ("param_stats", "event_stats"):
        _write_result(results, table, name, [])


def file_status(con: duckdb.DuckDBPyConnection, name: str) -> tuple[str, str] | None:
    row = con.execute("SELECT status, error FROM data_files WHERE name = ?", [name]).fetchone()
    return (row[0], row[1]) if row else None
