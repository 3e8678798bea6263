"""The statistics store: one DuckDB file (default <data dir>/gmpsai.duckdb, GMPSAI_STATS_DB).

Tables (schema version in `schema_version`, created and migrated by `ensure_schema`):

    data_files          one row per data file name: path, kind, format, generation (new/old),
                        node, window, created, bytes, mtime, sha256, status (ok | failed |
                        superseded | missing), error, when distilled and how long it took
    param_stats         one row per (file, device): see stats/compute.ParamStats
    event_stats         one row per (file, event): see stats/compute.EventStats
    legacy_param_stats  rows imported from an old GMPSAI.db ACNETparameterStats (the old
                        TimeLineLogs go to the timeline store, timeline/store.py)

Views:

    param_stats_current  param_stats of files whose status is ok, with their window and node
    event_stats_current  the same for events
    ACNETparameterStats(epochUTCsec, paramname, statname, statval): the old long format with the
                        old stat names (mode, std, min, max; `Interval_<device>` rows for the
                        sample intervals), distilled rows first, imported rows where no distilled
                        row has the same key, so old queries keep working.

A file is keyed by its name (the dynamic partition key): names embed the creation time, so two
different files never share one. Re-distilling replaces a file's rows in one transaction, and a
newer file of the same kind, node and window supersedes the older one's statistics.

DuckDB admits one writer process per file and no readers beside it. Writers open, write one
short transaction and close; both writers and readers retry a lock conflict with backoff.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, fields
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
EVENT_COLUMNS = [f.name for f in fields(EventStats)]
FILE_COLUMNS = [f.name for f in fields(FileRecord)]

_PARAM_TYPES = {"device": "VARCHAR", "status": "VARCHAR", "reason": "VARCHAR", "rows": "BIGINT",
                "nan_count": "BIGINT", "inf_count": "BIGINT", "nonincreasing": "BIGINT",
                "gap_count": "BIGINT", "expected_rows": "BIGINT"}
_EVENT_TYPES = {"event": "VARCHAR", "code": "INTEGER", "count": "BIGINT",
                "nonincreasing": "BIGINT"}


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


# (version, description, statements). Append new versions; never edit an applied one.
MIGRATIONS: list[tuple[int, str, tuple[str, ...]]] = [
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
    {_columns(PARAM_COLUMNS, _PARAM_TYPES)}
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
        return duckdb_util.connect(path, read_only, timeout_s, on_wait, "statistics database")
    except duckdb_util.DatabaseBusyError as exc:
        raise StoreBusyError(str(exc)) from None
    except duckdb_util.DatabaseError as exc:
        raise StoreError(str(exc)) from None


@contextmanager
def writer(
    path: str | Path,
    timeout_s: float = DEFAULT_BUSY_TIMEOUT_S,
    on_wait: Callable[[str], None] | None = None,
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A short-lived read-write connection with the schema up to date; closed on exit."""
    con = connect(path, read_only=False, timeout_s=timeout_s, on_wait=on_wait)
    try:
        ensure_schema(con)
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


def ensure_schema(con: duckdb.DuckDBPyConnection) -> int:
    """Apply every migration newer than the database, each in its own transaction."""
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
            for sql in statements:
                con.execute(sql)
            con.execute("INSERT INTO schema_version VALUES (?, ?, ?)",
                        [version, description, time.time()])
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
    return SCHEMA_VERSION


# ---- writes --------------------------------------------------------------------------------


def _insert(con: duckdb.DuckDBPyConnection, table: str, columns: list[str],
            rows: list[list[object]]) -> None:
    if rows:
        names = ", ".join(f'"{c}"' for c in columns)
        marks = ", ".join("?" for _ in columns)
        con.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", rows)


def replace_file(
    con: duckdb.DuckDBPyConnection,
    record: FileRecord,
    params: Sequence[ParamStats] = (),
    events: Sequence[EventStats] = (),
) -> list[str]:
    """Store one file's outcome in one transaction, replacing whatever was there for its name.
    Returns the names of older files of the same partition that this one superseded."""
    con.execute("BEGIN TRANSACTION")
    try:
        for table in ("param_stats", "event_stats"):
            con.execute(f"DELETE FROM {table} WHERE file_name = ?", [record.name])
        con.execute("DELETE FROM data_files WHERE name = ?", [record.name])
        rec = asdict(record)
        _insert(con, "data_files", FILE_COLUMNS, [[rec[c] for c in FILE_COLUMNS]])
        _insert(con, "param_stats", ["file_name", *PARAM_COLUMNS],
                [[record.name, *(p.row()[c] for c in PARAM_COLUMNS)] for p in params])
        _insert(con, "event_stats", ["file_name", *EVENT_COLUMNS],
                [[record.name, *(e.row()[c] for c in EVENT_COLUMNS)] for e in events])
        superseded = _supersede(con, record) if record.status == "ok" else []
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return superseded


def _supersede(con: duckdb.DuckDBPyConnection, record: FileRecord) -> list[str]:
    """Of the ok files with this kind, node and window, only the newest keeps its statistics."""
    if record.window_start_utc is None or record.kind is None:
        return []
    same = con.execute(
        """SELECT name, created_utc FROM data_files
           WHERE status = 'ok' AND kind = ? AND node IS NOT DISTINCT FROM ?
             AND window_start_utc = ? AND window_end_utc = ?
           ORDER BY created_utc DESC NULLS LAST, name DESC""",
        [record.kind, record.node, record.window_start_utc, record.window_end_utc],
    ).fetchall()
    newest = same[0][0]
    older = [name for name, _ in same[1:]]
    for name in older:
        con.execute("UPDATE data_files SET status = 'superseded', error = ? WHERE name = ?",
                    [f"superseded by {newest}", name])
        for table in ("param_stats", "event_stats"):
            con.execute(f"DELETE FROM {table} WHERE file_name = ?", [name])
    return older


def mark_missing(con: duckdb.DuckDBPyConnection, name: str, path: str) -> None:
    """A file that vanished (usually superseded and deleted): keep the row, drop its stats."""
    con.execute("BEGIN TRANSACTION")
    try:
        for table in ("param_stats", "event_stats"):
            con.execute(f"DELETE FROM {table} WHERE file_name = ?", [name])
        updated = con.execute(
            "UPDATE data_files SET status = 'missing', error = 'file no longer exists', "
            "distilled_utc = ? WHERE name = ? RETURNING name", [time.time(), name]
        ).fetchall()
        if not updated:
            rec = FileRecord(name, path, None, None, None, None, None, None, None, None, None,
                             None, "missing", "file no longer exists", time.time(), 0.0)
            _insert(con, "data_files", FILE_COLUMNS, [list(asdict(rec).values())])
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def file_status(con: duckdb.DuckDBPyConnection, name: str) -> tuple[str, str] | None:
    row = con.execute("SELECT status, error FROM data_files WHERE name = ?", [name]).fetchone()
    return (row[0], row[1]) if row else None
