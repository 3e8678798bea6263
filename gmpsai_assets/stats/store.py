"""The statistics store: a DuckDB file (default <data dir>/gmpsai.duckdb, GMPSAI_STATS_DB) whose
tables of distilled statistics are views over per-file Parquet results beside it
(<stem>_results/, e.g. <data dir>/gmpsai_results/).

Why files: a single-file DuckDB admits one writer process, and its lock does not hold across
machines on shared storage. Each distilled file instead gets its own three small Parquet files
(its record, its parameter rows, its event rows), written to a temporary name and renamed into
place, so any number of processes on any number of machines distil at once without a lock, and
readers see a file's result whole or not at all (docs/production.md has the measurements).
Every COMPACT_AFTER data files, a writer compacts these loose results into one segment per
table (<results>/compacted/, `compact` below), so reads open a few files, not thousands; the
views take a data file's rows from its loose results when it has them, else from the newest
segment.

Schema version in `schema_version`, created and migrated by `ensure_schema`. Views:

    data_files          one row per data file name: path, kind, format, generation (new/old),
                        node, window, created, bytes, mtime, sha256, status (ok | failed |
                        superseded | missing), error, when distilled and how long it took;
                        "superseded" is derived: a newer ok file has the same kind, node, window
    param_stats         one row per (file, device) of ok files: see stats/compute.ParamStats;
                        version 3 added p05, p95, distinct_values, mode_share and value_changes
                        (what the page draws), version 4 gap_spans (where the longest gaps
                        lie: the page's DataLogger outages): results written before them hold
                        NULL there (the views read result files by column name) until their
                        file is distilled again
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

Each result file is read back (its footer and row count) before it is renamed into place, and
fsynced, file then directory (files/drafts.publish), so a crash or a full disk leaves the old
result or the new one, never a truncated one under a result's name. A result file that does not
read all the same (a disk that lost it, bytes changed under it) must not blind every view: the
store's connections (`reader`, `writer`) and its own reads go through `heal_on_read`, which finds
the file behind a failed query, moves the data file's results aside into
<results>/quarantine/<entry>/ (outside the views' glob) with a `quarantine.json` saying why, and
runs the query again. The data file then has no record, so it reads as never distilled, and
`unresolved_quarantine` reports it (file_stats' metadata, the page) until it is distilled again.
Temporary files of writers that died are removed by `remove_stale_temp_files` (housekeeping).

The views hold the absolute path of the results directory (rewritten by every `writer`), so
every machine mounts the data directory at the same path. Opening the DuckDB file read-write
(schema changes, the legacy import) takes its lock: those open, do one short transaction and
close; both they and readers retry a lock conflict with backoff.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import fcntl
import hashlib
import json
import os
import re
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, TypeVar

import duckdb

from gmpsai_assets import duckdb_util
from gmpsai_assets.files.drafts import fsync_dir, publish
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
# Columns versions 3 and 4 added to param_stats; version 1 created its table without them.
_PARAM_COLUMNS_V3 = ["p05", "p95", "distinct_values", "mode_share", "value_changes"]
_PARAM_COLUMNS_V4 = ["gap_spans"]
_PARAM_COLUMNS_V1 = [c for c in PARAM_COLUMNS
                     if c not in _PARAM_COLUMNS_V3 and c not in _PARAM_COLUMNS_V4]
EVENT_COLUMNS = [f.name for f in fields(EventStats)]
FILE_COLUMNS = [f.name for f in fields(FileRecord)]

_PARAM_TYPES = {"device": "VARCHAR", "status": "VARCHAR", "reason": "VARCHAR", "rows": "BIGINT",
                "nan_count": "BIGINT", "inf_count": "BIGINT", "nonincreasing": "BIGINT",
                "gap_count": "BIGINT", "expected_rows": "BIGINT", "distinct_values": "BIGINT",
                "value_changes": "BIGINT", "gap_spans": "DOUBLE[][]"}
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
    """The old long format over one scan of param_stats_current (an UNPIVOT, which drops the
    NULL statistics as the old table had no row for them), then the imported rows no distilled
    row has the key of."""
    columns = [c for prefix in ("", "interval_") for c in (prefix + s for s in _OLD_STATS)]
    listed = ", ".join(f'"{c}"' for c in columns)
    return f"""
CREATE OR REPLACE VIEW ACNETparameterStats AS
WITH distilled AS MATERIALIZED (
    SELECT epochUTCsec,
           CASE WHEN starts_with(col, 'interval_') THEN 'Interval_' || device ELSE device END
               AS paramname,
           replace(col, 'interval_', '') AS statname, statval
    FROM (SELECT window_start_utc AS epochUTCsec, device, {listed} FROM param_stats_current)
    UNPIVOT (statval FOR col IN ({listed}))
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
QUARANTINE = "quarantine"  # <results>/quarantine/<entry>/: results moved aside, outside the glob
# <results>/compacted/<table>/seg-<ns>-<random>.parquet: the rows of many loose results in one
# file (the views read the newest); <results>/compacted/sources/<table>/<key>.parquet: the
# loose results a segment holds, moved out of the views' glob (compaction, below).
COMPACTED = "compacted"
SOURCES = "sources"
SEGMENT_PREFIX = "seg-"
# Loose data-file records that make `replace_file` compact (when no other process is): at two
# files a day, a compaction a month; a backfill or an archive import compacts as it goes.
COMPACT_AFTER = 64
TEMP_SUFFIX = ".tmp"  # a result file being written: .<final name>.<random>.tmp beside it
# A result file's temporary lives for the milliseconds between its write and its rename: one
# untouched this long belongs to a writer that died (killed, its container gone). The one rule
# for temporaries (`is_stale_temp`); an hour also dwarfs the clock skew between NFS clients.
TEMP_STALE_S = 3600.0


def results_dir(db_path: str | Path) -> Path:
    """Where the per-file results of the store `db_path` live: <stem>_results beside it."""
    db_path = Path(db_path).resolve()
    return db_path.parent / f"{db_path.stem}_results"


def _result_path(results: Path, table: str, name: str) -> Path:
    # Hashed: a data file's name may hold characters that mean something in a glob or in SQL.
    return results / table / f"{hashlib.sha256(name.encode()).hexdigest()[:32]}.parquet"


def _sql_text(value: str | Path) -> str:
    return "'" + str(value).replace("'", "''") + "'"


_scratch_local = threading.local()


def _scratch() -> duckdb.DuckDBPyConnection:
    """The in-memory DuckDB connection of this thread and process for the store's own reads
    and writes of result files, kept: opening one costs about 20 ms, more than writing a
    result file. Its table `t` is dropped by `_release` after each use."""
    con = getattr(_scratch_local, "con", None)
    if con is None or _scratch_local.pid != os.getpid():
        con = duckdb.connect(config=duckdb_util.DUCKDB_CONFIG)
        _scratch_local.con, _scratch_local.pid = con, os.getpid()
    return con


def _release(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("DROP TABLE IF EXISTS t")


# The column that is NULL only in a marker row: the one row a result of no statistics holds
# (a failed file's param_stats, a parameter file's event_stats), so that every result file of
# a data file has a row naming it and overrides its compacted rows within a single read.
MARKER_COLUMN = {"param_stats": "device", "event_stats": "event"}


def _key_column(table: str) -> str:
    return "name" if table == "data_files" else "file_name"


def _current(results: Path, table: str, markers: bool = False) -> str:
    """SQL (a parenthesized query) of a result table's current rows: every loose result file's
    and, for the data files that have none, the newest segment's (compaction, below). One
    read_parquet over both directories, loose first, so the files a query reads are listed
    once: a data file whose results a compaction or a writer moves meanwhile is read from one
    place, never from both or neither. Marker rows are left out unless `markers`. By name:
    result files written before a column was added read it as NULL (version 3)."""
    loose = _sql_text(results / table / "*.parquet")
    segments = _sql_text(results / COMPACTED / table / "*.parquet")
    prefix = _sql_text(f"{results / COMPACTED}/")
    key = _key_column(table)
    rows = f"""WITH r AS MATERIALIZED (
    SELECT *, starts_with(filename, {prefix}) AS _compacted
    FROM read_parquet([{loose}, {segments}], union_by_name = true, filename = true))
SELECT * EXCLUDE (filename, _compacted) FROM r WHERE NOT _compacted
UNION ALL
SELECT * EXCLUDE (filename, _compacted) FROM r
WHERE _compacted AND filename = (SELECT max(filename) FROM r WHERE _compacted)
  AND "{key}" NOT IN (SELECT "{key}" FROM r WHERE NOT _compacted)"""
    if markers or table not in MARKER_COLUMN:
        return f"({rows})"
    return f'(SELECT * FROM ({rows}) WHERE "{MARKER_COLUMN[table]}" IS NOT NULL)'


def _temp_path(target: Path) -> Path:
    """A hidden name beside `target` (the views' glob does not match it) for writing it."""
    return target.parent / f".{target.name}.{uuid.uuid4().hex}{TEMP_SUFFIX}"


def _write_hidden(target: Path, table: str, rows: Sequence[Sequence[object]]) -> Path:
    """Write the Parquet file of `rows` beside `target` under a hidden temporary name and read
    its footer back (Parquet magic at both ends, the row count): a short write (a full disk)
    fails here, before anything is renamed. The caller publishes it (`_place_result`)."""
    columns, ddl = RESULTS[table]
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temp_path(target)
    con = _scratch()
    try:
        con.execute(f"CREATE OR REPLACE TABLE t (\n    {ddl}\n)")
        if rows:  # one statement: DuckDB's executemany prepares a statement per row
            marks = "(" + ", ".join("?" for _ in columns) + ")"
            con.execute(f"INSERT INTO t VALUES {', '.join(marks for _ in rows)}",
                        [v for r in rows for v in r])
        con.execute(f"COPY t TO {_sql_text(tmp)} (FORMAT parquet)")
        problem = _shape_problem(tmp)
        if problem is None:
            (n,) = con.execute("SELECT sum(num_rows) FROM parquet_file_metadata(?)",
                               [str(tmp)]).fetchone()
            problem = None if n == len(rows) else f"{n} rows read back, {len(rows)} written"
        if problem is not None:
            raise StoreError(f"result file {tmp} does not read back: {problem}")
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    finally:
        _release(con)
    return tmp


def _place_result(tmp: Path, target: Path) -> None:
    """Rename a written result into place, durably: fsync the file, rename (atomic on POSIX,
    NFS included), fsync the directory (files/drafts.publish). Readers see the old file or
    the new one, never half of one, and after a crash the name holds one of them whole."""
    try:
        publish(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _write_result(results: Path, table: str, name: str | None,
                  rows: Sequence[Sequence[object]]) -> None:
    """Write one result file and place it."""
    target = results / table / EMPTY if name is None else _result_path(results, table, name)
    _place_result(_write_hidden(target, table, rows), target)


def _ensure_results(results: Path) -> None:
    for table in RESULTS:
        for empty in (results / table / EMPTY, results / COMPACTED / table / EMPTY):
            if not empty.exists():
                _place_result(_write_hidden(empty, table, []), empty)


def _views(results: Path) -> tuple[str, ...]:
    """The views over the results directory (rewritten by every writer: they hold its path)."""
    group = "kind, node, window_start_utc, window_end_utc"
    return (
        f"""CREATE OR REPLACE VIEW data_files AS
WITH r AS (SELECT * FROM {_current(results, "data_files")}),
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
SELECT s.* FROM {_current(results, table)} s
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
    """Migrations 3 and 4: the empty result files hold every column, so the views have them all
    even before any file is distilled again (older result files read them as NULL)."""
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
    (4, "param_stats: gap spans (the page's DataLogger outages)",
     (_empty_results_with_every_column,)),
    (5, "compacted results: views read loose results first, then the newest segment", ()),
]
SCHEMA_VERSION = MIGRATIONS[-1][0]


# ---- result files that do not read -----------------------------------------------------------

_MAGIC = b"PAR1"
# What DuckDB's Parquet reader raises for a file that does not read: IO and invalid-input
# errors name the file; a damaged footer fails in its Thrift decoder as a bare duckdb.Error
# that names none.
_FILE_ERRORS = (duckdb.IOException, duckdb.InvalidInputException)
# Runs of a query again when the file it failed on has changed meanwhile (replaced by a
# writer, moved aside by another reader) rather than being found bad.
_MAX_CHANGED_RETRIES = 3
_REASON = "quarantine.json"
R = TypeVar("R")


def _shape_problem(path: Path) -> str | None:
    """What is wrong with Parquet file `path` that its first 4 and last 8 bytes tell (the
    magic at both ends, a footer that fits in the file): what a crash or a full disk leaves.
    None when nothing is, or the file is gone or not ours to read (not its fault)."""
    try:
        with open(path, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            if size < 12:
                return "empty (0 bytes)" if size == 0 else f"{size} bytes, too short for Parquet"
            head = fh.read(4)
            fh.seek(size - 8)
            tail = fh.read(8)
    except (FileNotFoundError, PermissionError):
        return None
    except OSError as exc:
        return f"cannot be read: {exc.strerror or exc}"
    if head != _MAGIC:
        return "no Parquet magic at the start"
    if tail[4:] != _MAGIC:
        return "no Parquet magic at the end (truncated?)"
    footer = int.from_bytes(tail[:4], "little")
    if footer + 12 > size:
        return f"a {footer}-byte footer in a {size}-byte file (truncated?)"
    return None


def _read_problem(path: Path, con: duckdb.DuckDBPyConnection) -> str | None:
    """Why `path` does not read: its shape, else what DuckDB says reading every row of it."""
    problem = _shape_problem(path)
    if problem is not None or not os.access(path, os.R_OK):
        return problem
    try:
        con.execute(f"SELECT * FROM read_parquet({_sql_text(path)})").fetchall()
    except duckdb.Error as exc:
        return str(exc).strip().splitlines()[0] if path.exists() else None
    return None


def _find_bad(results: Path, exc: duckdb.Error) -> tuple[list[tuple[Path, str]], bool]:
    """The result files to blame for `exc`, with why, and whether its message named any. The
    files it names; when it names none, every result file: first by shape (12 bytes each),
    then, if none is to blame, by reading each (what one query over the views costs anyway)."""
    con = _scratch()
    try:
        pattern = re.escape(str(results)) + r"/[^'\"\s]+?\.parquet"
        named = [p for p in dict.fromkeys(Path(m) for m in re.findall(pattern, str(exc)))
                 if p.parent.parent in (results, results / COMPACTED)
                 and p.parent.name in RESULTS]
        if named:
            return [(p, why) for p in named if (why := _read_problem(p, con))], True
        files = [p for table in RESULTS for d in (results / table, results / COMPACTED / table)
                 for p in sorted(d.glob("*.parquet"))]
        bad = [(p, why) for p in files if (why := _shape_problem(p))]
        return bad or [(p, why) for p in files if (why := _read_problem(p, con))], False
    finally:
        _release(con)


def heal_on_read(results: Path, run: Callable[[], R]) -> R:
    """Run `run` (anything that reads the result files: a query over the views, their
    creation); when it fails because a result file does not read, quarantine that data file's
    results and run it again. The one rule every read of the store goes through (the
    connections of `reader` and `writer`, the views' creation, the store's own reads), so no
    bad file blinds a view and none is passed over silently. An error no result file explains
    is raised as it was."""
    changed = 0
    healed: set[Path] = set()
    while True:
        try:
            return run()
        except duckdb.Error as exc:
            if not (type(exc) is duckdb.Error or isinstance(exc, _FILE_ERRORS)):
                raise
            bad, named = _find_bad(results, exc)
            if not bad:  # a file it names reads now (replaced, or moved aside by another)
                changed += 1
                # A bare error naming no file is what DuckDB's Thrift decoder raises when a
                # file is replaced between its footer's read and its pages' (a writer or a
                # compaction at that instant): every file reads now, so read again.
                replaced = named or type(exc) is duckdb.Error
                if not replaced or changed > _MAX_CHANGED_RETRIES:
                    raise
            for path, why in bad:
                if path in healed:  # moved aside or written again, and still at fault
                    raise StoreError(f"result file {path} still does not read after being "
                                     f"moved aside or written again: {why}") from None
                healed.add(path)
                quarantine(results, path, why)


@dataclass(frozen=True)
class Quarantined:
    """A data file's results, moved aside because one of them did not read."""

    directory: Path  # <results>/quarantine/<entry>: the moved files and quarantine.json
    key: str  # the results' file stem (a hash of the data file's name)
    table: str  # which result did not read
    problem: str
    name: str | None  # the data file, when one of its moved results still names it
    path: str | None
    quarantined_utc: float | None
    resolved: bool  # distilled again since (it has a record again)

    def line(self) -> str:
        """One line for the page and the run metadata: what is lost and what to do."""
        what = self.name or f"the data file of results {self.key} (name unknown: " \
                            "docs/statistics.md says how to find it)"
        how = f": `gmpsai distill {self.path}`" if self.path else ""
        return (f"{what}: its {self.table} result did not read ({self.problem}), moved aside "
                f"with its other results into {self.directory}; distil it again{how}")


def quarantine_summary(entries: Sequence[Quarantined]) -> str | None:
    """`N result file(s) quarantined: ...` (None when there are none)."""
    if not entries:
        return None
    n = len(entries)
    return (f"{n} result file{'' if n == 1 else 's'} quarantined: "
            + "; ".join(e.line() for e in entries))


def quarantine(results: Path, bad: Path, problem: str) -> None:
    """Move the results of the data file whose result `bad` does not read out of the views'
    glob, into <results>/quarantine/<entry>/, with `quarantine.json` saying why. The record
    goes first, then the statistics (the reverse of writing them), so no reader sees an ok
    record whose statistics are gone: the data file has no record until distilled again,
    which is what `unresolved_quarantine` reports. The entry is named by the bad file (its
    modification time, stem and inode), so readers that find it at once move it into the same
    entry, and one killed midway is finished by the next. `_empty.parquet` holds no data: it
    is written again instead. StoreError, naming the file, when it cannot be moved."""
    table, key = bad.parent.name, bad.stem
    if bad.parent.parent == results / COMPACTED:
        _quarantine_segment(results, bad, problem)
        return
    try:
        if bad.name == EMPTY:
            _write_result(results, table, None, [])
            return
        st = bad.stat()
        stamp = dt.datetime.fromtimestamp(st.st_mtime, dt.UTC).strftime("%Y%m%dT%H%M%SZ")
        entry = results / QUARANTINE / f"{stamp}-{key}-{st.st_ino}"
        entry.mkdir(parents=True, exist_ok=True)
        order = ["data_files", *(t for t in RESULTS if t != "data_files")]
        for t in order:  # a result it never had, or one another reader moved a moment ago
            with contextlib.suppress(FileNotFoundError):
                os.rename(results / t / bad.name, entry / f"{t}.parquet")
    except FileNotFoundError:
        return  # moved aside by another reader meanwhile
    except OSError as exc:
        raise StoreError(
            f"result file {bad} does not read ({problem}) and cannot be moved aside "
            f"({exc.strerror or exc}): every view over it fails until it is moved out of "
            f"{bad.parent}") from None
    name, path = _name_in(entry, table)
    reason = {"key": key, "table": table, "problem": problem, "name": name, "path": path,
              "quarantined_utc": time.time(), "by": f"{socket.gethostname()} pid {os.getpid()}"}
    target = entry / _REASON
    tmp = _temp_path(target)
    tmp.write_text(json.dumps(reason, indent=1) + "\n", encoding="utf-8")
    _place_result(tmp, target)


def _name_in(entry: Path, bad_table: str) -> tuple[str | None, str | None]:
    """The data file's name and path, from whichever of its moved results still reads."""
    con = _scratch()
    try:
        for table, cols in (("data_files", "name, path"), ("param_stats", "file_name, NULL"),
                            ("event_stats", "file_name, NULL")):
            f = entry / f"{table}.parquet"
            if table == bad_table or not f.exists():
                continue
            try:
                row = con.execute(f"SELECT {cols} FROM read_parquet({_sql_text(f)}) LIMIT 1"
                                  ).fetchone()
            except duckdb.Error:
                continue
            if row:
                return row[0], row[1]
    finally:
        _release(con)
    return None, None


def quarantined(db_path: str | Path) -> list[Quarantined]:
    """Every quarantine entry of the store, oldest first; `resolved` once the data file has a
    record again (distilled since: quarantining moved its record away)."""
    results = results_dir(db_path)
    try:
        entries = sorted(p for p in (results / QUARANTINE).iterdir() if p.is_dir())
    except (FileNotFoundError, NotADirectoryError):
        return []
    out = []
    for d in entries:
        try:
            why = json.loads((d / _REASON).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            why = {}  # its mover stopped before writing why
        key = why.get("key") or d.name.split("-")[1]
        moved = sorted(f.stem for f in d.glob("*.parquet"))
        out.append(Quarantined(
            directory=d, key=key, table=why.get("table") or "/".join(moved) or "?",
            problem=why.get("problem") or "reason not recorded", name=why.get("name"),
            path=why.get("path"), quarantined_utc=why.get("quarantined_utc"),
            resolved=bool(why.get("segment")) or any(
                (home / f"{key}.parquet").exists()
                for home in (results / "data_files", results / COMPACTED / SOURCES / "data_files")),
        ))
    return out


def unresolved_quarantine(db_path: str | Path) -> list[Quarantined]:
    """The quarantined data files not distilled again yet: what the page and file_stats'
    metadata report."""
    return [q for q in quarantined(db_path) if not q.resolved]


# ---- compaction: many loose results into one segment per table ------------------------------
#
# Every distilled file leaves three small "loose" result files; five years of them are
# thousands, and a query that lists and opens every one takes tens of seconds. A compaction
# writes a table's current rows (`_current`) into one new segment, places it (fsync, rename),
# then moves each loose file it read into sources/ (outside the views' glob), and removes the
# older segment. The views read loose files first and the newest segment for the data files
# that have no loose result, so at every step a data file's rows are read once: from its loose
# file until it is moved, then from the segment. Writers never wait: they write loose results
# as before (a loose result overrides the segment), and only compactions take a lock
# (`_compaction_lock`: POSIX lockf, released by the kernel when its holder dies).
#
# Killed at any moment (kill -9), a compaction loses nothing and counts nothing twice: a
# segment is whole or absent; before the rename, nothing changed; after it, each moved loose
# file's rows are in the segment, and a loose file not yet moved still wins over them. The next
# compaction finishes the work (`_reconcile`): older segments removed, and any source that is
# not what the segment holds (a result a writer replaced in the instant between its read and
# its move, which is put back at once unless the compaction dies right then) becomes loose
# again. A segment that does not read is quarantined like a loose result, and every source of
# its table becomes loose again (`_quarantine_segment`): nothing needs distilling again.

_MANIFEST = "gmpsai_sources"  # a segment's key-value metadata: {key: identity of its source}
_LOCK = ".lock"
_locks_held = threading.local()  # results directories whose lock this thread holds
_process_lock = threading.Lock()  # lockf locks belong to the process: threads queue here


@dataclass(frozen=True)
class Compaction:
    """What one compaction did."""

    moved: dict[str, int]  # table -> loose results moved into its new segment
    restored: int  # sources made loose again (a previous compaction's unfinished work)
    seconds: float


def _loose_records(results: Path) -> int:
    """Loose data-file records (not yet in a segment)."""
    try:
        return sum(1 for e in os.scandir(results / "data_files")
                   if e.name.endswith(".parquet") and e.name != EMPTY)
    except FileNotFoundError:
        return 0


def _identity(st: os.stat_result) -> str:
    """What tells one version of a result file from another: a writer replaces a result by
    renaming a new file over it, so its inode changes (and its size and time, as a rule)."""
    return f"{st.st_ino}:{st.st_mtime_ns}:{st.st_size}"


@contextmanager
def _compaction_lock(results: Path, wait: bool) -> Iterator[bool]:
    """Hold the store's compaction lock for the block (yield True), or yield False at once
    when another process holds it and `wait` is False. Re-entrant within a thread (a
    compaction that quarantines a segment it reads)."""
    held: set[Path] = getattr(_locks_held, "results", set())
    if results in held:
        yield True
        return
    if not _process_lock.acquire(blocking=wait):
        yield False
        return
    try:
        path = results / COMPACTED / _LOCK
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            try:
                fcntl.lockf(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
            except OSError as exc:
                if exc.errno not in (errno.EACCES, errno.EAGAIN):
                    raise
                yield False
                return
            _locks_held.results = held | {results}
            try:
                yield True
            finally:
                _locks_held.results = held
        finally:
            os.close(fd)  # releases the lock
    finally:
        _process_lock.release()


def _segments(results: Path, table: str) -> list[Path]:
    """A table's segments, oldest first (their names start with the nanosecond they began)."""
    return sorted((results / COMPACTED / table).glob(f"{SEGMENT_PREFIX}*.parquet"))


def _manifest(segment: Path) -> dict[str, str]:
    """The sources a segment holds: key -> identity (heal_on_read runs the caller's read)."""
    con = _scratch()
    try:
        row = con.execute("SELECT value FROM parquet_kv_metadata(?) WHERE key = ?",
                          [str(segment), _MANIFEST.encode()]).fetchone()
    finally:
        _release(con)
    return json.loads(row[0]) if row else {}


def compact(db_path: str | Path, wait: bool = False) -> Compaction | None:
    """Move the store's loose results into one segment per table (see above); None when
    another process is compacting and `wait` is False. Crash-safe at every step."""
    results = results_dir(db_path)
    began = time.monotonic()
    with _compaction_lock(results, wait) as held:
        if not held:
            return None
        _ensure_results(results)
        restored = _reconcile(results)
        moved = {table: _compact_table(results, table) for table in RESULTS}
    return Compaction(moved, restored, round(time.monotonic() - began, 3))


def _reconcile(results: Path) -> int:
    """Finish what a killed compaction left: older segments removed, and every source the
    newest segment does not hold as it is (or at all) made loose again. Returns how many."""
    restored = 0
    for table in RESULTS:
        segments = _segments(results, table)
        for old in segments[:-1]:
            old.unlink(missing_ok=True)
        holds = heal_on_read(results, lambda s=segments: _manifest(s[-1]) if s and
                             s[-1].exists() else {})
        for source in sorted((results / COMPACTED / SOURCES / table).glob("*.parquet")):
            try:
                same = holds.get(source.stem) == _identity(source.stat())
            except FileNotFoundError:
                continue
            if not same:
                restored += _restore(source, results / table / source.name)
    return restored


def _restore(source: Path, loose: Path) -> int:
    """Make a source loose again unless a loose result (newer) is there; 1 if it was."""
    try:
        os.link(source, loose)
        done = 1
    except FileExistsError:
        done = 0
    except FileNotFoundError:
        return 0
    source.unlink(missing_ok=True)
    fsync_dir(loose.parent)
    return done


def _compact_table(results: Path, table: str) -> int:
    """One table's compaction: write and place the new segment, move the loose results it
    read into sources/, remove the older segment. Returns how many were moved."""
    loose_dir, seg_dir = results / table, results / COMPACTED / table
    listed: dict[str, str] = {}
    for entry in os.scandir(loose_dir):
        if entry.name.endswith(".parquet") and entry.name != EMPTY:
            with contextlib.suppress(FileNotFoundError):
                listed[entry.name.removesuffix(".parquet")] = _identity(entry.stat())
    if not listed:
        return 0
    older = _segments(results, table)
    target = seg_dir / f"{SEGMENT_PREFIX}{time.time_ns():020d}-{uuid.uuid4().hex[:8]}.parquet"
    held = heal_on_read(results, lambda: _manifest(older[-1])) if older else {}
    manifest = {**held, **listed}
    tmp = heal_on_read(results, lambda: _write_segment(results, table, target, manifest))
    _place_result(tmp, target)
    sources = results / COMPACTED / SOURCES / table
    sources.mkdir(parents=True, exist_ok=True)
    moved = sum(_move_to_sources(loose_dir / f"{key}.parquet", sources / f"{key}.parquet",
                                 identity) for key, identity in listed.items())
    fsync_dir(sources)
    fsync_dir(loose_dir)
    for old in older:
        old.unlink(missing_ok=True)
    fsync_dir(seg_dir)
    return moved


def _write_segment(results: Path, table: str, target: Path, manifest: dict[str, str]) -> Path:
    """The table's current rows, marker rows included, as a hidden Parquet file beside
    `target` with its manifest, read back before it is placed (as `_write_hidden`)."""
    _, ddl = RESULTS[table]
    tmp = _temp_path(target)
    con = _scratch()
    try:
        con.execute(f"CREATE OR REPLACE TABLE t (\n    {ddl}\n)")
        con.execute(f"INSERT INTO t BY NAME SELECT * FROM {_current(results, table, True)}")
        (n,) = con.execute("SELECT count(*) FROM t").fetchone()
        meta = _sql_text(json.dumps(manifest, sort_keys=True))
        con.execute(f"COPY t TO {_sql_text(tmp)} (FORMAT parquet, KV_METADATA "
                    f"{{{_MANIFEST}: {meta}}})")
        problem = _shape_problem(tmp)
        if problem is None:
            (got,) = con.execute("SELECT sum(num_rows) FROM parquet_file_metadata(?)",
                                 [str(tmp)]).fetchone()
            problem = None if got == n else f"{got} rows read back, {n} written"
        if problem is not None:
            raise StoreError(f"segment {tmp} does not read back: {problem}")
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    finally:
        _release(con)
    return tmp


def _move_to_sources(loose: Path, source: Path, identity: str) -> int:
    """Move a compacted loose result into sources/; 1 if it was the version the segment read.
    A writer may have replaced it since: then it is put back (unless an even newer one is
    there already), and stays loose, overriding the segment."""
    try:
        os.rename(loose, source)
    except FileNotFoundError:  # quarantined meanwhile
        return 0
    try:
        same = _identity(source.stat()) == identity
    except FileNotFoundError:
        return 0
    if same:
        return 1
    _restore(source, loose)
    return 0


def _quarantine_segment(results: Path, bad: Path, problem: str) -> None:
    """A segment that does not read: moved into <results>/quarantine/<entry>/ with
    quarantine.json, and every source of its table made loose again, so the views read them
    (slowly, until the next compaction) and no data file needs distilling again. Under the
    compaction lock, so no compaction moves sources meanwhile."""
    table = bad.parent.name
    with _compaction_lock(results, wait=True):
        if bad.name == EMPTY:
            _place_result(_write_hidden(bad, table, []), bad)
            return
        try:
            st = bad.stat()
            stamp = dt.datetime.fromtimestamp(st.st_mtime, dt.UTC).strftime("%Y%m%dT%H%M%SZ")
            entry = results / QUARANTINE / f"{stamp}-{bad.stem}-{st.st_ino}"
            entry.mkdir(parents=True, exist_ok=True)
            os.rename(bad, entry / f"{table}.parquet")
        except FileNotFoundError:
            return  # moved aside by another reader meanwhile
        except OSError as exc:
            raise StoreError(
                f"segment {bad} does not read ({problem}) and cannot be moved aside "
                f"({exc.strerror or exc}): every view over it fails until it is moved out of "
                f"{bad.parent}") from None
        restored = sum(_restore(source, results / table / source.name) for source in
                       sorted((results / COMPACTED / SOURCES / table).glob("*.parquet")))
        reason = {"key": bad.stem, "table": table, "problem": problem, "name": None,
                  "path": None, "segment": True, "restored": restored,
                  "quarantined_utc": time.time(),
                  "by": f"{socket.gethostname()} pid {os.getpid()}"}
        target = entry / _REASON
        tmp = _temp_path(target)
        tmp.write_text(json.dumps(reason, indent=1) + "\n", encoding="utf-8")
        _place_result(tmp, target)


# ---- temporary files of writers that died ---------------------------------------------------


def is_stale_temp(path: Path, now: float) -> bool:
    """Is `path` a result's temporary whose writer is gone? Told by age (TEMP_STALE_S), not by
    host and pid: writers run in containers on many hosts. (A writer lease, files/drafts.py,
    would replace the age here: the temporary's name would carry the lease.)"""
    if not (path.name.startswith(".") and path.name.endswith(TEMP_SUFFIX)):
        return False
    try:
        return now - path.stat().st_mtime > TEMP_STALE_S
    except FileNotFoundError:
        return False


def remove_stale_temp_files(db_path: str | Path, now: float | None = None) -> list[Path]:
    """Delete the temporaries that writers which died left among the store's results (the
    views never read them: hidden names); return them. For housekeeping."""
    now = time.time() if now is None else now
    removed = []
    for path in results_dir(db_path).rglob(f".*{TEMP_SUFFIX}"):
        if is_stale_temp(path, now):
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed


# ---- connections -------------------------------------------------------------------------


class StoreConnection:
    """A DuckDB connection to the store whose `execute` goes through `heal_on_read`: a result
    file that does not read is quarantined and the query runs again, so every reader of the
    views (the page, `gmpsai db-to-json`, analysts through `reader`) keeps reading. Inside a
    transaction a failed query aborts it: the bad file is quarantined all the same, and the
    query's second run raises DuckDB's "transaction is aborted" (roll back, begin again).
    Everything else is the DuckDB connection's, unhealed (`sql()` relations included: query
    the store with `execute`)."""

    def __init__(self, con: duckdb.DuckDBPyConnection, results: Path) -> None:
        self.duckdb = con
        self.results = results

    def execute(self, query: str, parameters: object = None) -> duckdb.DuckDBPyConnection:
        return heal_on_read(self.results, lambda: self.duckdb.execute(query, parameters))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.duckdb, name)


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
        yield StoreConnection(con, results_dir(path))
    finally:
        con.close()


@contextmanager
def reader(
    path: str | Path,
    timeout_s: float = DEFAULT_BUSY_TIMEOUT_S,
    on_wait: Callable[[str], None] | None = None,
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection (retried while a writer holds the lock) that heals on read
    (StoreConnection); closed on exit."""
    con = connect(path, read_only=True, timeout_s=timeout_s, on_wait=on_wait)
    try:
        yield StoreConnection(con, results_dir(path))
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

    def create_views() -> None:  # binding a view reads every result file's footer
        con.execute("BEGIN TRANSACTION")
        try:
            for sql in _views(results):
                con.execute(sql)
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise

    heal_on_read(results, create_views)
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
    try:
        seen = (str(path.resolve()), path.stat().st_ino)
    except FileNotFoundError:
        seen = None
    if seen in _up_to_date:  # a schema version never goes down: once seen, no need to look
        return
    if seen is not None:
        with reader(path, timeout_s=timeout_s, on_wait=on_wait) as con:
            if schema_version(con) >= SCHEMA_VERSION:
                _up_to_date.add(seen)
                return
    with writer(path, timeout_s=timeout_s, on_wait=on_wait):
        pass


_up_to_date: set[tuple[str, int]] = set()  # (DuckDB file, inode) known at SCHEMA_VERSION


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
    param_rows = (stats_rows(record.name, params, PARAM_COLUMNS)
                  or [_marker(record.name, PARAM_COLUMNS)])
    event_rows = (stats_rows(record.name, events, EVENT_COLUMNS)
                  or [_marker(record.name, EVENT_COLUMNS)])
    staged = []
    try:
        for table, rows in (("param_stats", param_rows), ("event_stats", event_rows)):
            target = _result_path(results, table, record.name)
            staged.append((_write_hidden(target, table, rows), target))
        for tmp, target in staged:
            _place_result(tmp, target)
    except BaseException:
        for tmp, _ in staged:
            tmp.unlink(missing_ok=True)
        raise
    rec = asdict(record)
    _write_result(results, "data_files", record.name, [[rec[c] for c in FILE_COLUMNS]])
    superseded = _superseded_by(results, record) if record.status == "ok" else []
    if _loose_records(results) >= COMPACT_AFTER:
        compact(db_path)  # unless another process is compacting: then it takes these along
    return superseded


def stats_rows(file_name: str, stats: Sequence[ParamStats] | Sequence[EventStats],
               columns: Sequence[str]) -> list[list[object]]:
    """The result rows of one data file's statistics: its name, then each record's values in
    the table's column order (`PARAM_COLUMNS`, `EVENT_COLUMNS`)."""
    return [[file_name, *(r[c] for c in columns)] for r in (s.row() for s in stats)]


def _marker(name: str, columns: Sequence[str]) -> list[object]:
    """The one row of a result without statistics: the data file's name, the rest NULL."""
    return [name, *(None for _ in columns)]


def _superseded_by(results: Path, record: FileRecord) -> list[str]:
    """The other ok files with this kind, node and window, when this one is the newest."""
    if record.window_start_utc is None or record.kind is None:
        return []
    con = _scratch()
    try:
        same = heal_on_read(results, lambda: con.execute(
            f"""SELECT name FROM {_current(results, "data_files")}
               WHERE status = 'ok' AND kind = ? AND node IS NOT DISTINCT FROM ?
                 AND window_start_utc = ? AND window_end_utc = ?
               ORDER BY created_utc DESC NULLS LAST, name DESC""",
            [record.kind, record.node, record.window_start_utc, record.window_end_utc],
        ).fetchall())
    finally:
        _release(con)
    names = [r[0] for r in same]
    return names[1:] if names and names[0] == record.name else []
