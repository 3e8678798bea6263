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


class DatabaseError(RuntimeError):
    """The database file cannot be opened."""


class DatabaseBusyError(DatabaseError):
    """Another process held the lock for longer than we were willing to wait."""


def is_lock_conflict(exc: duckdb.Error) -> bool:
    text = str(exc)
    return ("lock" in text.lower() and isinstance(exc, duckdb.IOException)) or (
        isinstance(exc, duckdb.ConnectionException) and "different configuration" in text
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
    deadline = time.monotonic() + timeout_s
    delay = 0.02
    while True:
        try:
            return duckdb.connect(str(path), read_only=read_only)
        except duckdb.Error as exc:
            if not is_lock_conflict(exc):
                raise DatabaseError(f"cannot open {what} {path}: {exc}") from None
            if time.monotonic() + delay > deadline:
                raise DatabaseBusyError(
                    f"{what} {path} stayed locked for {timeout_s:g} s: {exc}"
                ) from None
            if on_wait:
                on_wait(f"{what} {path} is locked; retrying in {delay:.2f} s")
            time.sleep(delay * (0.5 + random.random()))
            delay = min(delay * 2, 2.0)
