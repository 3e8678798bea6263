"""Opening a single-file DuckDB database the way every store here does: DuckDB admits one writer
process per file and no readers beside it, so a lock conflict is waited out with exponential
backoff and jitter, and only a lock held past the timeout is an error. Shared by the statistics
store and the timeline store, which restate these errors in their own terms."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from pathlib import Path

import duckdb

# Never fetch code from the network: an extension DuckDB would auto-install and load (the
# sqlite scanner for an sqlite file given as the database, httpfs for a URL) is refused instead.
# Every connection the project opens uses this.
DUCKDB_CONFIG = {"autoinstall_known_extensions": False, "autoload_known_extensions": False}
SQLITE_MAGIC = b"SQLite format 3\x00"


class DatabaseError(RuntimeError):
    """The database file cannot be opened."""


class DatabaseBusyError(DatabaseError):
    """Another process held the lock for longer than we were willing to wait."""


def is_lock_conflict(exc: duckdb.Error) -> bool:
    text = str(exc)
    return ("lock" in text.lower() and isinstance(exc, duckdb.IOException)) or (
        isinstance(exc, duckdb.ConnectionException) and "different configuration" in text
    )


def _check_not_sqlite(path: Path, what: str) -> None:
    """An old sqlite GMPSAI.db given where a DuckDB file belongs: say what to do with it."""
    try:
        with open(path, "rb") as f:
            magic = f.read(len(SQLITE_MAGIC))
    except OSError:
        return  # missing or unreadable: DuckDB's own error says which
    if magic == SQLITE_MAGIC:
        raise DatabaseError(
            f"{what} {path} is an old sqlite GMPSAI.db: import it first with "
            f"`gmpsai import-legacy-db {path}` and use the DuckDB database it fills"
        )


def connect(
    path: str | Path,
    read_only: bool,
    timeout_s: float,
    on_wait: Callable[[str], None] | None = None,
    what: str = "database",
) -> duckdb.DuckDBPyConnection:
    """A connection to the DuckDB file `path` (`what` names it in messages), waiting while
    another process holds the lock; DatabaseBusyError only after `timeout_s`."""
    path = Path(path)
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    _check_not_sqlite(path, what)
    deadline = time.monotonic() + timeout_s
    delay = 0.02
    while True:
        try:
            return duckdb.connect(str(path), read_only=read_only, config=DUCKDB_CONFIG)
        except duckdb.Error as exc:
            if not is_lock_conflict(exc):
                first = (str(exc).strip() or type(exc).__name__).splitlines()[0]  # one line
                raise DatabaseError(f"cannot open {what} {path}: {first}") from None
            if time.monotonic() + delay > deadline:
                raise DatabaseBusyError(
                    f"{what} {path} stayed locked for {timeout_s:g} s: {exc}"
                ) from None
            if on_wait:
                on_wait(f"{what} {path} is locked; retrying in {delay:.2f} s")
            time.sleep(delay * (0.5 + random.random()))
            delay = min(delay * 2, 2.0)
