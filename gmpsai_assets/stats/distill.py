"""Distil data files into the statistics store (the DistillFileStatsToDB successor).

`distill_file` reads any data file once and computes every dataset's statistics; it never raises
for a bad file but returns a failed result saying why (files/datafile.py: damaged bytes, content
that breaks the format). An error of our own code is no property of the file and propagates
with its traceback, from whichever thread met it, so nothing is recorded and a fixed release
distils the file again. `distill_into_store` then records the
outcome as the file's own result files (stats/store.py), so writers never wait on each other.

Reading and computing overlap: a helper thread reads the next dataset (h5py decompression) while
two others sort the datasets already read (numpy releases the GIL), and one more hashes the file:
SHA-256 for the store and the catalogue's Adler-32 and MD5 from the same read (`result.digests`),
so declaring a distilled file (gmpsai_assets.catalog) costs no further read.
"""

from __future__ import annotations

import datetime as dt
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TypeVar

from gmpsai_assets.acnet.tclk import EventCodeError, parse_event
from gmpsai_assets.catalog.checksums import Digests, FileChangedError, digest_file
from gmpsai_assets.files.datafile import (
    EVENTS,
    BadDataFile,
    DataFileInfo,
    Dataset,
    open_data_file,
)
from gmpsai_assets.stats import store
from gmpsai_assets.stats.compute import (
    DEFAULT_GAP_TICKS,
    EventStats,
    ParamStats,
    event_stats,
    param_stats,
)
from gmpsai_assets.status import DeviceStatus

T = TypeVar("T")
# Datasets whose statistics are computed at once: numpy's sort releases the GIL, so on two cores
# two sorts and the HDF5 reads of the next dataset share the machine.
COMPUTE_THREADS = 2
Progress = Callable[[str], None]
# Sees every dataset as the distiller reads it, so a caller can keep the few arrays it needs
# (the day's $0C ticks, a reference device) instead of reading the file a second time.
OnDataset = Callable[[DataFileInfo, Dataset], None]


@dataclass(frozen=True)
class DistillResult:
    record: store.FileRecord
    params: list[ParamStats] = field(default_factory=list)
    events: list[EventStats] = field(default_factory=list)
    info: DataFileInfo | None = None
    superseded: list[str] = field(default_factory=list)
    digests: Digests | None = None  # size, SHA-256, Adler-32, MD5 of the bytes read

    @property
    def ok(self) -> bool:
        return self.record.status == "ok"

    def dataset_rows(self) -> dict[str, tuple[str, int]]:
        """Every device's (or event's) status and row count, in file order."""
        if self.params:
            return {p.device: (p.status, p.rows) for p in self.params}
        return {e.event: (DeviceStatus.OK if e.count else DeviceStatus.EMPTY, e.count)
                for e in self.events}

    def summary(self) -> str:
        r = self.record
        if not self.ok:
            return f"{r.name}: {r.status.upper()} ({r.error})"
        n = len(self.params) or len(self.events)
        what = "devices" if self.params else "events"
        rows = sum(p.rows for p in self.params) + sum(e.count for e in self.events)
        return f"{r.name}: ok ({r.format}, {n} {what}, {rows} rows, {r.seconds:.2f} s)"


def read_ahead(items: Iterable[T], depth: int = 1) -> Iterator[T]:
    """Iterate `items` in a helper thread, `depth` items ahead of the consumer. Exceptions
    reach the consumer in order; a consumer that stops early stops the helper."""
    q: queue.Queue[tuple[str, object]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: tuple[str, object]) -> bool:
        while not stop.is_set():
            try:
                q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put(("item", item)):
                    return
            put(("end", None))
        except BaseException as exc:
            put(("error", exc))
        finally:
            close = getattr(items, "close", None)
            if close:
                close()  # release the file handles of a generator stopped early

    worker = threading.Thread(target=produce, name="read-ahead", daemon=True)
    worker.start()
    try:
        while True:
            kind, payload = q.get()
            if kind == "end":
                return
            if kind == "error":
                raise payload  # type: ignore[misc]
            yield payload  # type: ignore[misc]
    finally:
        stop.set()
        worker.join()


def distill_file(
    path: str | Path,
    gap_ticks: float = DEFAULT_GAP_TICKS,
    max_datasets: int | None = None,
    max_rows: int | None = None,
    progress: Progress | None = None,
    checksum: bool = True,
    on_dataset: OnDataset | None = None,
) -> DistillResult:
    """Statistics of every dataset of one file, or a failed result naming the problem.
    `checksum=False` skips the checksums (for callers that neither store nor declare the file).
    A file that changes while it is read is a failed result ("changed"), never a checksum of
    a mix of two versions. `on_dataset` sees each dataset once, in the reading thread's order."""
    path = Path(path)
    began = time.monotonic()
    say = progress or (lambda _msg: None)
    try:
        st = path.stat()
        size, mtime = st.st_size, st.st_mtime
    except OSError:
        size = mtime = None
    with ThreadPoolExecutor(max_workers=1 + COMPUTE_THREADS, thread_name_prefix="distill") as pool:
        digest = pool.submit(digest_file, path, True) if size and checksum else None
        pending: deque[Future[ParamStats | EventStats]] = deque()
        try:
            datafile = open_data_file(path)
            info = datafile.info
            params: list[ParamStats] = []
            events: list[EventStats] = []

            def compute(ds: Dataset) -> ParamStats | EventStats:
                if info.kind == EVENTS:
                    return event_stats(ds.name, ds.utc_seconds, _code(ds.name))
                return param_stats(ds.name, ds.utc_seconds, ds.values, info.window, gap_ticks,
                                   ds.status, ds.reason, ds.out_of_order)

            def collect(stats: ParamStats | EventStats) -> None:
                if isinstance(stats, EventStats):
                    events.append(stats)
                    say(f"  {stats.event}: {stats.count} occurrences")
                else:
                    params.append(stats)
                    say(f"  {stats.device}: {stats.status}, {stats.rows} rows, completeness "
                        f"{_pct(stats.completeness)}, {stats.gap_count} gaps")

            for ds in read_ahead(datafile.datasets(max_datasets, max_rows)):
                if on_dataset is not None:
                    on_dataset(info, ds)
                pending.append(pool.submit(compute, ds))
                while len(pending) > COMPUTE_THREADS:
                    collect(pending.popleft().result())
            while pending:
                collect(pending.popleft().result())
            try:
                digests = digest.result() if digest else None
            except FileChangedError as exc:
                raise BadDataFile(path, "changed", str(exc)) from None
            if digests and digests.size != size:
                raise BadDataFile(path, "changed", f"{size} bytes when opened, "
                                  f"{digests.size} when hashed")
        except BadDataFile as exc:
            for fut in pending:
                fut.cancel()
            record = _record(path, None, size, mtime, None, "failed",
                             f"{exc.problem}: {exc.detail}", began)
            return DistillResult(record)
    sha256 = digests.sha256 if digests else None
    record = _record(path, info, size, mtime, sha256, "ok", "", began)
    return DistillResult(record, params, events, info, digests=digests)


def _code(name: str) -> int | None:
    try:
        return parse_event(name)
    except EventCodeError:
        return None


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.2f}%"


def _record(
    path: Path, info: DataFileInfo | None, size: int | None, mtime: float | None,
    sha256: str | None, status: str, error: str, began: float,
) -> store.FileRecord:
    w = info.window if info else None
    return store.FileRecord(
        name=path.name, path=str(path.resolve()),
        kind=info.kind if info else None, format=info.format if info else None,
        generation=info.generation if info else None, node=info.node if info else None,
        window_start_utc=w.start if w else None, window_end_utc=w.end if w else None,
        created_utc=info.created_utc if info else None,
        bytes=size, mtime_utc=mtime, sha256=sha256, status=status, error=error,
        distilled_utc=dt.datetime.now(dt.UTC).timestamp(), seconds=time.monotonic() - began,
    )


def distill_into_store(
    path: str | Path,
    db_path: str | Path,
    gap_ticks: float = DEFAULT_GAP_TICKS,
    progress: Progress | None = None,
    busy_timeout_s: float = store.DEFAULT_BUSY_TIMEOUT_S,
) -> DistillResult:
    """Distil one file and record the outcome (ok or failed) in the store: its own result
    files, so any number of these run at once, from any number of processes or machines."""
    return distill_files_into_store([path], db_path, gap_ticks, progress, busy_timeout_s)[0]


def distill_files_into_store(
    paths: Sequence[str | Path],
    db_path: str | Path,
    gap_ticks: float = DEFAULT_GAP_TICKS,
    progress: Progress | None = None,
    busy_timeout_s: float = store.DEFAULT_BUSY_TIMEOUT_S,
    on_dataset: OnDataset | None = None,
) -> list[DistillResult]:
    """Distil each file once (`on_dataset` sees every dataset of every file), then record every
    outcome (ok or failed) as that file's own result files: the day's files are recorded
    together after all reading is done, each whole (readers see its old result or its new)."""
    results = [distill_file(p, gap_ticks, progress=progress, on_dataset=on_dataset)
               for p in paths]
    return [replace(r, superseded=store.replace_file(db_path, r.record, r.params, r.events,
                                                     timeout_s=busy_timeout_s))
            for r in results]
