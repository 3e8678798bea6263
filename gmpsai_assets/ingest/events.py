"""Grab a window of TCLK event occurrences into one HDF5 file: the core of `event_data` and of
`gmpsai grab-events` (the EventDataGrabber successor). The cross-checks that make the data
trustworthy are in quality/crosschecks.py.

Event codes 0..max are requested through the same bounded machinery as devices
(`fetch_bounded`), written in code order as they arrive, and published only when the file is
complete, replacing any older file of the same node and window.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from gmpsai_assets.acnet.datalogger import fetch_bounded
from gmpsai_assets.acnet.tclk import (
    MAX_EVENT,
    TimingSource,
    check_event,
    event_label,
)
from gmpsai_assets.files.drafts import drafted
from gmpsai_assets.files.eventfile import EventFileWriter, EventRecord
from gmpsai_assets.files.naming import EVENT_PREFIX, data_file_name, remove_superseded
from gmpsai_assets.ingest.params import NoDataError
from gmpsai_assets.status import DeviceStatus
from gmpsai_assets.window import Window

Progress = Callable[[str], None]


class EventSource(TimingSource, Protocol):
    """A timing source that also says where its data comes from (every DataLogger source)."""

    source: str
    node: str
    max_in_flight: int


@dataclass(frozen=True)
class EventGrabResult:
    path: Path
    bytes: int
    window: Window
    records: dict[int, EventRecord]
    seconds: float
    superseded: list[Path]
    stopped_early: bool
    header_lines: dict[int, int]  # ACL `event_log` replies by the header lines they had

    def events_with(self, status: DeviceStatus) -> list[int]:
        return [e for e, r in self.records.items() if r.status == status]

    @property
    def occurrences(self) -> dict[str, int]:
        """`$0C` -> rows for every event that occurred, in code order."""
        return {event_label(e): r.rows for e, r in self.records.items()
                if r.status == DeviceStatus.OK}

    @property
    def rows(self) -> int:
        return sum(r.rows for r in self.records.values())


def grab_events(
    source: EventSource,
    window: Window,
    out_dir: Path,
    draft_dir: Path,
    max_event: int = MAX_EVENT,
    first_only: bool = False,
    max_in_flight: int | None = None,
    progress: Progress | None = None,
    report_empty: bool = True,
) -> EventGrabResult:
    """Fetch events 0..`max_event` over `window` and publish one event file in `out_dir`.

    `first_only` stops after the first event that occurred (the old `-o`): requests already in
    flight finish, the rest are never made. `progress` gets one line per event (per event that
    occurred or failed, without `report_empty`: a Dagster log line costs milliseconds).
    """
    check_event(max_event)
    began = time.monotonic()
    say = progress or (lambda _msg: None)
    final = Path(out_dir) / data_file_name(EVENT_PREFIX, source.node, window, time.time())
    codes = range(max_event + 1)
    limit = max_in_flight or source.max_in_flight
    with drafted(final, Path(draft_dir), replace=False) as draft:
        with EventFileWriter(draft, window, source.node, source.source) as writer:
            items = fetch_bounded(lambda e: source.event_occurrences(e, window), codes, limit)
            try:
                for item in items:
                    record = writer.add(item.key, item.result, item.error)
                    if report_empty or record.status != DeviceStatus.EMPTY:
                        say(_progress_line(record, len(codes)))
                    if first_only and record.status == DeviceStatus.OK:
                        writer.stopped_early = True
                        break
            finally:
                items.close()
        records = writer.records
        if not any(r.status != DeviceStatus.FAILED for r in records.values()):
            first = next(iter(records.values()))
            raise NoDataError(
                f"no event could be fetched ({event_label(first.event)}: {first.reason})"
            )
    superseded = remove_superseded(final, EVENT_PREFIX, source.node, window)
    return EventGrabResult(
        final, final.stat().st_size, window, records, time.monotonic() - began, superseded,
        writer.stopped_early, dict(sorted(writer.header_lines.items())),
    )


def _progress_line(record: EventRecord, n: int) -> str:
    detail = f"{record.rows} occurrences" if not record.reason else record.reason
    return f"[{record.event + 1}/{n}] {event_label(record.event)}: {record.status} ({detail})"
