"""The DataLogger interface every source implements, and the bounded parallel fetch on top of it.

Assets and the CLI only ever see this module: a source returns one device's logged samples over a
window as two float64 arrays (UTC epoch seconds, value), or raises one of the typed errors below.
Network sources are slow and flaky, so fetching many devices goes through `fetch_devices`, which
keeps a bounded number of requests in flight and hands results back in list order, so a writer
can stream them to disk device by device without holding the whole day in memory.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar, runtime_checkable

from gmpsai_assets.heap import roomy_heap
from gmpsai_assets.samples import DeviceInfo, Samples
from gmpsai_assets.status import DeviceStatus, device_status
from gmpsai_assets.window import Window

K = TypeVar("K")
T = TypeVar("T")


class DataLoggerError(Exception):
    """Base of the errors a source reports for one request."""


class DeviceNotLogged(DataLoggerError):
    """The DataLogger node does not log this device."""


class DataLoggerUnavailable(DataLoggerError):
    """The DataLogger (or the gateway in front of it) was unreachable or answered with a fault."""


class BadRequest(DataLoggerError):
    """The request itself is wrong (bad device name, bad window); retrying will not help."""


@runtime_checkable
class DataLogger(Protocol):
    """A source of logged device data (the simulator, the ACL gateway, DPM)."""

    #: short source name recorded in files: "simulated", "acl", ...
    source: str
    #: the DataLogger node asked for data, e.g. "MLrn"
    node: str
    #: how many requests this source is happy to have in flight at once
    max_in_flight: int

    def fetch(self, device: str, window: Window) -> Samples:
        """All samples of `device` logged in [window.start, window.end)."""
        ...

    def close(self) -> None:
        """Release connections; the source is not used afterwards."""
        ...


@runtime_checkable
class DeviceDescriber(Protocol):
    """A source that knows something about its devices (the simulator, DPM)."""

    def describe(self, devices: Sequence[str]) -> dict[str, DeviceInfo]:
        """What is known of `devices` (those it knows nothing of may be left out); raises a
        `DataLoggerError` when the place it asks cannot answer."""
        ...


def describe_devices(datalogger: object, devices: Sequence[str]) -> dict[str, DeviceInfo]:
    """Every device's `DeviceInfo`, empty where the source knows nothing (the ACL gateway and
    sources without `describe` know nothing). A `DataLoggerError` propagates."""
    known = datalogger.describe(devices) if isinstance(datalogger, DeviceDescriber) else {}
    return {d: known.get(d, DeviceInfo()) for d in devices}


@dataclass(frozen=True)
class FetchOutcome:
    """What happened to one device of a multi-device fetch: samples or the error that stopped it."""

    device: str
    samples: Samples | None
    error: DataLoggerError | None

    @property
    def status(self) -> DeviceStatus:
        return device_status(self.samples, self.error)


def fetch_devices(
    datalogger: DataLogger,
    devices: Iterable[str],
    window: Window,
    max_in_flight: int | None = None,
    on_start: Callable[[str], None] | None = None,
) -> Iterator[FetchOutcome]:
    """Fetch many devices with at most `max_in_flight` requests at once, yielding in list order.

    A `DataLoggerError` becomes a failed outcome and the other devices carry on; any other
    exception is a bug and propagates. In-order delivery bounds memory to `max_in_flight`
    devices' samples no matter how slow the first one is.
    """
    limit = max_in_flight or datalogger.max_in_flight
    with roomy_heap():  # heap.py: replies' day-long arrays reused, not faulted in per device
        for item in fetch_bounded(lambda d: datalogger.fetch(d, window), devices, limit,
                                  on_start):
            yield FetchOutcome(item.key, item.result, item.error)


@dataclass(frozen=True)
class Fetched(Generic[K, T]):
    """One request of a `fetch_bounded` batch: its key and its result or typed error."""

    key: K
    result: T | None
    error: DataLoggerError | None


def fetch_bounded(
    fetch: Callable[[K], T],
    keys: Iterable[K],
    max_in_flight: int,
    on_start: Callable[[K], None] | None = None,
) -> Iterator[Fetched[K, T]]:
    """Call `fetch(key)` for every key, at most `max_in_flight` at once, yielding in key order.

    The one bounded machinery for many requests to a source (devices, TCLK events, ...).
    A `DataLoggerError` becomes a failed item and the other keys carry on; any other exception
    is a bug and propagates. Closing the iterator early cancels the requests not yet started.
    """
    limit = max(1, max_in_flight)

    def one(key: K) -> Fetched[K, T]:
        try:
            return Fetched(key, fetch(key), None)
        except DataLoggerError as exc:
            return Fetched(key, None, exc)

    todo = iter(keys)
    if limit == 1:  # no threads: simpler tracebacks, and the simulator gains nothing from them
        for key in todo:
            if on_start:
                on_start(key)
            yield one(key)
        return

    pending: deque[Future[Fetched[K, T]]] = deque()
    with ThreadPoolExecutor(max_workers=limit, thread_name_prefix="fetch") as pool:
        try:
            for key in todo:
                if len(pending) >= limit:
                    yield pending.popleft().result()
                if on_start:
                    on_start(key)
                pending.append(pool.submit(one, key))
            while pending:
                yield pending.popleft().result()
        finally:
            for fut in pending:
                fut.cancel()
