"""The timeline store: its own single-file DuckDB (default <data dir>/timeline.duckdb).

The timeline logger records a supercycle a minute, forever, while the statistics writers own a
different DuckDB file; a separate file means neither ever waits for the other. Even so this file
gets readers (the daily asset) and an occasional second writer (the legacy import), and DuckDB
admits one writer process and no readers beside it, so every use opens, does one short
transaction and closes, retrying a lock conflict with backoff (the statistics store's `connect`).

A supercycle's timeline has ~1200 entries and changes a few times a day, so storing the long
form (one row per entry per supercycle, ~1.7 million rows a day) would mostly repeat itself.
Timelines are stored once, keyed by a hash of their entries; a supercycle is one row naming its
timeline. The long form the old timeline logger wrote is the view

    TimeLineLogs(SC_StartTime, SCentry_index, eventHex, SC_EventTime)   -- old names
    timeline_records(sc_start_utc, entry_index, event_hex, sc_event_time)  -- new names

unique on (start, entry index) by construction: `supercycles` is keyed by its start and a
timeline's entries by their index.

Re-recording a supercycle never duplicates it: a start within `snap_tolerance` of a stored start
is the same supercycle (the start is computed from a G:SCTIME reading, so two readings of one
supercycle differ by the read latency), and inserts ignore key conflicts.
"""

from __future__ import annotations

import bisect
import hashlib
import math
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from gmpsai_assets import duckdb_util
from gmpsai_assets.acnet.tclk import EventCodeError, TimelineEntry, event_hex, parse_event
from gmpsai_assets.window import WindowError, parse_local_datetime

LOCK_TIMEOUT_S = 60.0  # a writer or reader holds the lock for well under a second
SNAP_MAX_S = 1.0  # two readings of one supercycle never disagree by this much
LEGACY_BATCH = 500  # supercycles per transaction when importing

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS timelines (
    timeline_id VARCHAR PRIMARY KEY, n_entries INTEGER NOT NULL, first_seen_utc DOUBLE)""",
    """CREATE TABLE IF NOT EXISTS timeline_entries (
    timeline_id VARCHAR NOT NULL, entry_index INTEGER NOT NULL, event_hex VARCHAR NOT NULL,
    sc_event_time DOUBLE NOT NULL, PRIMARY KEY (timeline_id, entry_index))""",
    """CREATE TABLE IF NOT EXISTS supercycles (
    sc_start_utc DOUBLE PRIMARY KEY, timeline_id VARCHAR NOT NULL, sc_length_s DOUBLE,
    recorded_utc DOUBLE, source VARCHAR)""",
    """CREATE VIEW IF NOT EXISTS timeline_records AS
SELECT s.sc_start_utc, e.entry_index, e.event_hex, e.sc_event_time
FROM supercycles s JOIN timeline_entries e USING (timeline_id)""",
    """CREATE VIEW IF NOT EXISTS TimeLineLogs AS
SELECT sc_start_utc AS SC_StartTime, entry_index AS SCentry_index, event_hex AS eventHex,
       sc_event_time AS SC_EventTime
FROM timeline_records""",
)


class TimelineStoreError(RuntimeError):
    """The timeline database cannot be used."""


class TimelineStoreBusy(TimelineStoreError):
    """Another process held the timeline database lock longer than we were willing to wait."""


class LegacyImportError(ValueError):
    """An old TimeLineLogs row that cannot be read; nothing of its batch is imported."""


# ---- what is stored ------------------------------------------------------------------------


@dataclass(frozen=True)
class Supercycle:
    """One supercycle as recorded: its start, the length setting and the timeline it ran."""

    start_utc: float
    length_s: float | None  # None for imported rows (the old table did not keep it)
    entries: tuple[TimelineEntry, ...]
    recorded_utc: float | None = None
    source: str = ""


@dataclass(frozen=True)
class RecordOutcome:
    start_utc: float  # the stored start: an existing one when this supercycle was already there
    new: bool
    timeline_id: str
    new_timeline: bool


@dataclass(frozen=True)
class StoredSupercycle:
    start_utc: float
    length_s: float | None
    timeline_id: str


def timeline_id(entries: Sequence[TimelineEntry]) -> str:
    """A stable name for a timeline: equal entries (index, event, time to 1 µs) give equal ids."""
    text = ";".join(f"{e.index}:{e.event:02x}:{e.sc_time:.6f}" for e in entries)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def snap_tolerance(length_s: float | None) -> float:
    """How far apart two computed starts of one supercycle can be: a quarter supercycle, ≤ 1 s."""
    if length_s is None or not length_s > 0:
        return SNAP_MAX_S
    return min(SNAP_MAX_S, length_s / 4)


# ---- connections ---------------------------------------------------------------------------


def connect(
    path: Path,
    read_only: bool,
    timeout_s: float = LOCK_TIMEOUT_S,
    on_wait: Callable[[str], None] | None = None,
) -> duckdb.DuckDBPyConnection:
    """A connection through the one lock-retrying `duckdb_util.connect`, with its errors
    restated as timeline errors."""
    try:
        return duckdb_util.connect(path, read_only, timeout_s, on_wait, "timeline database")
    except duckdb_util.DatabaseBusyError:
        raise TimelineStoreBusy(
            f"timeline database {path} stayed locked for {timeout_s:g} s"
        ) from None
    except duckdb_util.DatabaseError as exc:
        raise TimelineStoreError(str(exc)) from None


def _nearest(taken: list[float], t: float, tolerance: float) -> float | None:
    """The value of sorted `taken` nearest to `t`, if within `tolerance`."""
    i = bisect.bisect_left(taken, t)
    near = [taken[j] for j in (i - 1, i) if 0 <= j < len(taken)]
    best = min(near, key=lambda x: abs(x - t), default=None)
    return best if best is not None and abs(best - t) <= tolerance else None


def _bulk_insert(con: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame) -> None:
    """INSERT OR IGNORE a DataFrame (executemany takes seconds for a thousand rows)."""
    if not len(frame):
        return
    con.register("incoming", frame)
    try:
        con.execute(f"INSERT OR IGNORE INTO {table} ({', '.join(frame.columns)}) "
                    f"SELECT * FROM incoming")
    finally:
        con.unregister("incoming")


class TimelineStore:
    """Open-write-close access to one timeline database file."""

    def __init__(
        self,
        path: str | Path,
        lock_timeout_s: float = LOCK_TIMEOUT_S,
        on_wait: Callable[[str], None] | None = None,
    ) -> None:
        self.path = Path(path)
        self.lock_timeout_s = lock_timeout_s
        self.on_wait = on_wait

    @contextmanager
    def _writer(self) -> Iterator[duckdb.DuckDBPyConnection]:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise TimelineStoreError(
                f"cannot create {self.path.parent}: {exc.strerror or exc}"
            ) from None
        con = connect(self.path, read_only=False, timeout_s=self.lock_timeout_s,
                      on_wait=self.on_wait)
        try:
            for statement in SCHEMA:
                con.execute(statement)
            yield con
        finally:
            con.close()

    @contextmanager
    def _reader(self) -> Iterator[duckdb.DuckDBPyConnection | None]:
        """A read-only connection, or None when nothing was ever recorded (no file yet)."""
        if not self.path.exists():
            yield None
            return
        con = connect(self.path, read_only=True, timeout_s=self.lock_timeout_s,
                      on_wait=self.on_wait)
        try:
            yield con
        finally:
            con.close()

    # ---- writing ---------------------------------------------------------------------------

    def record(self, sc: Supercycle) -> RecordOutcome:
        """Store one supercycle in one transaction (a crash loses it whole or not at all)."""
        return self.record_many([sc])[0]

    def record_many(self, supercycles: Iterable[Supercycle]) -> list[RecordOutcome]:
        """Store supercycles in one transaction, in bulk; one outcome per supercycle given."""
        scs = list(supercycles)
        if not scs:
            return []
        with self._writer() as con:
            con.execute("BEGIN TRANSACTION")
            try:
                outcomes = self._record(con, scs)
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
        return outcomes

    def _record(self, con: duckdb.DuckDBPyConnection, scs: list[Supercycle]
                ) -> list[RecordOutcome]:
        starts = [round(sc.start_utc, 3) for sc in scs]  # ms, the resolution of TCLK times
        taken = sorted(float(r[0]) for r in con.execute(
            "SELECT sc_start_utc FROM supercycles WHERE sc_start_utc BETWEEN ? AND ?",
            [min(starts) - SNAP_MAX_S, max(starts) + SNAP_MAX_S]).fetchall())
        tids = [timeline_id(sc.entries) for sc in scs]
        known = {r[0] for r in con.execute(
            "SELECT timeline_id FROM timelines WHERE list_contains(?, timeline_id)",
            [sorted(set(tids))]).fetchall()}
        outcomes: list[RecordOutcome] = []
        rows: list[tuple[float, str, float | None, float | None, str]] = []
        for sc, start, tid in zip(scs, starts, tids, strict=True):
            same = _nearest(taken, start, snap_tolerance(sc.length_s))
            if same is not None:  # this supercycle is already there (or earlier in this batch)
                outcomes.append(RecordOutcome(same, False, tid, False))
                continue
            bisect.insort(taken, start)
            new_timeline = tid not in known
            if new_timeline:
                self._insert_timeline(con, tid, sc)
                known.add(tid)
            rows.append((start, tid, sc.length_s, sc.recorded_utc, sc.source))
            outcomes.append(RecordOutcome(start, True, tid, new_timeline))
        if rows:
            frame = pd.DataFrame(rows, columns=["sc_start_utc", "timeline_id", "sc_length_s",
                                                "recorded_utc", "source"])
            _bulk_insert(con, "supercycles", frame)
        return outcomes

    @staticmethod
    def _insert_timeline(con: duckdb.DuckDBPyConnection, tid: str, sc: Supercycle) -> None:
        con.execute("INSERT INTO timelines VALUES (?, ?, ?)",
                    [tid, len(sc.entries), sc.recorded_utc or sc.start_utc])
        _bulk_insert(con, "timeline_entries", pd.DataFrame({
            "timeline_id": [tid] * len(sc.entries),
            "entry_index": [e.index for e in sc.entries],
            "event_hex": [event_hex(e.event) for e in sc.entries],
            "sc_event_time": [float(e.sc_time) for e in sc.entries],
        }))

    # ---- reading ---------------------------------------------------------------------------

    def supercycles(self, start: float, end: float) -> list[StoredSupercycle]:
        """Supercycles that began in [start, end), time-ordered."""
        with self._reader() as con:
            if con is None:
                return []
            rows = con.execute(
                "SELECT sc_start_utc, sc_length_s, timeline_id FROM supercycles "
                "WHERE sc_start_utc >= ? AND sc_start_utc < ? ORDER BY sc_start_utc",
                [start, end],
            ).fetchall()
        return [StoredSupercycle(float(s), None if n is None else float(n), t)
                for s, n, t in rows]

    def first_start(self) -> float | None:
        """Start of the earliest supercycle ever recorded: where the store's history begins."""
        with self._reader() as con:
            if con is None:
                return None
            row = con.execute("SELECT min(sc_start_utc) FROM supercycles").fetchone()
        return None if row is None or row[0] is None else float(row[0])

    def last_recorded(self) -> float | None:
        """When the newest supercycle was recorded (its start for imported rows, which do not
        say): how alerts and `gmpsai status` tell the logger is alive. None: nothing ever was."""
        with self._reader() as con:
            if con is None:
                return None
            row = con.execute(
                "SELECT max(coalesce(recorded_utc, sc_start_utc)) FROM supercycles").fetchone()
        return None if row is None or row[0] is None else float(row[0])

    def records(self, start: float, end: float) -> list[tuple[float, int, str, float]]:
        """The long form (sc_start_utc, entry_index, event_hex, sc_event_time) in [start, end)."""
        with self._reader() as con:
            if con is None:
                return []
            return con.execute(
                "SELECT sc_start_utc, entry_index, event_hex, sc_event_time FROM timeline_records "
                "WHERE sc_start_utc >= ? AND sc_start_utc < ? ORDER BY 1, 2",
                [start, end],
            ).fetchall()

    def export_parquet(self, start: float, end: float, path: Path) -> int:
        """Write the long form of [start, end) to a Parquet file; the number of rows written.

        An empty window still gets a file with the four typed columns, so a day with nothing
        recorded reads as an empty table rather than a missing file.
        """
        query = (
            "SELECT sc_start_utc, entry_index, event_hex, sc_event_time FROM timeline_records "
            f"WHERE sc_start_utc >= {float(start)!r} AND sc_start_utc < {float(end)!r} "
            "ORDER BY sc_start_utc, entry_index"
        )
        empty = ("SELECT NULL::DOUBLE AS sc_start_utc, NULL::INTEGER AS entry_index, "
                 "NULL::VARCHAR AS event_hex, NULL::DOUBLE AS sc_event_time WHERE false")
        target = str(path).replace("'", "''")
        with self._reader() as con:
            use = con if con is not None else duckdb.connect(config=duckdb_util.DUCKDB_CONFIG)
            try:
                use.execute(f"COPY ({query if con is not None else empty}) TO '{target}' "
                            "(FORMAT parquet, COMPRESSION zstd)")
                rows = use.execute(f"SELECT count(*) FROM read_parquet('{target}')").fetchone()
            finally:
                if con is None:
                    use.close()
        return int(rows[0]) if rows else 0


# ---- the old GMPSAI.db TimeLineLogs -----------------------------------------------------------


@dataclass(frozen=True)
class LegacyImport:
    rows: int
    supercycles: int
    new_supercycles: int


def _legacy_start(value: object) -> float:
    if isinstance(value, int | float) and math.isfinite(value):
        return float(value)
    text = str(value).strip()
    try:
        number = float(text)
    except ValueError:
        return parse_local_datetime(text)  # a local wall-clock time written as text
    if not math.isfinite(number):
        raise ValueError(f"not a time: {value!r}")
    return number


def _legacy_supercycles(rows: Iterable[Sequence[object]]) -> Iterator[tuple[int, Supercycle]]:
    """Group rows ordered by (SC_StartTime, SCentry_index) into supercycles (with row counts)."""
    start: float | None = None
    entries: list[TimelineEntry] = []
    codes: dict[object, int] = {}  # a few dozen distinct spellings among millions of rows
    for n, row in enumerate(rows, 1):
        try:
            sc_start, index, hex_text, sc_time = row
            t = _legacy_start(sc_start)
            code = codes.get(hex_text)
            if code is None:
                code = codes[hex_text] = parse_event(str(hex_text))
            entry = TimelineEntry(int(index), code, float(sc_time))
        except (ValueError, TypeError, EventCodeError, WindowError) as exc:
            raise LegacyImportError(f"TimeLineLogs row {n} {tuple(row)!r}: {exc}") from None
        if start is not None and t < start:
            raise LegacyImportError(
                f"TimeLineLogs row {n}: rows must be ordered by SC_StartTime, SCentry_index"
            )
        if start is not None and t != start:
            yield len(entries), Supercycle(start, None, tuple(entries), source="legacy")
            entries = []
        start = t
        entries.append(entry)
    if start is not None:
        yield len(entries), Supercycle(start, None, tuple(entries), source="legacy")


def import_legacy_timeline_rows(
    store: TimelineStore, rows: Iterable[Sequence[object]]
) -> LegacyImport:
    """Import old `TimeLineLogs(SC_StartTime, SCentry_index, eventHex, SC_EventTime)` rows.

    Rows must come ordered by (SC_StartTime, SCentry_index), as `ORDER BY` gives them. Start
    times are epoch seconds (a number or numeric text) or local wall-clock text; event codes in
    any form `parse_event` reads. Supercycles already in the store are left as they are, so
    importing twice changes nothing. Commits every few hundred supercycles.
    """
    total_rows = total = new = 0
    batch: list[Supercycle] = []
    for n, sc in _legacy_supercycles(rows):
        total_rows += n
        total += 1
        batch.append(sc)
        if len(batch) >= LEGACY_BATCH:
            new += sum(o.new for o in store.record_many(batch))
            batch = []
    if batch:
        new += sum(o.new for o in store.record_many(batch))
    return LegacyImport(total_rows, total, new)


def import_legacy_timeline_sqlite(store: TimelineStore, sqlite_path: str | Path) -> LegacyImport:
    """Import the TimeLineLogs table of an old sqlite GMPSAI.db (read-only; absent table: 0)."""
    uri = f"file:{Path(sqlite_path).resolve()}?mode=ro"
    try:
        src = sqlite3.connect(uri, uri=True)
    except sqlite3.Error as exc:
        raise LegacyImportError(f"cannot open {sqlite_path}: {exc}") from None
    try:
        try:
            cursor = src.execute(
                "SELECT SC_StartTime, SCentry_index, eventHex, SC_EventTime FROM TimeLineLogs "
                "ORDER BY SC_StartTime, SCentry_index"
            )
        except sqlite3.OperationalError as exc:
            if "no such table" in str(exc):
                return LegacyImport(0, 0, 0)
            raise LegacyImportError(f"cannot read TimeLineLogs of {sqlite_path}: {exc}") from None
        return import_legacy_timeline_rows(store, cursor)
    finally:
        src.close()
