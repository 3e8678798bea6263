"""HDF5 event-data files: one group per TCLK event that occurred, `Event0c` style.

Layout (format `gmpsai-events/3`), read per event with `pandas.read_hdf(path, "Event0c")` or
with plain h5py:

    /                    attrs: format, window_start_utc, window_end_utc, window_start_local,
                                window_end_local, node, source, created_utc, software_version,
                                events_requested (codes asked for, in order), stopped_early (0/1),
                                event_outcomes (JSON: "0c" -> {status, rows, reason}),
                                event_log_header_lines (JSON: header lines seen -> replies;
                                ACL sources only, `{}` otherwise)
    /Event0c/            attrs: event (int), label ($0C), description, rows, and the pandas
                                frame attributes (h5common.write_pandas_frame)
    /Event0c/utc_seconds   float64, UTC epoch seconds, increasing
    /Event0c/sc_seconds    float64, seconds into the supercycle at the occurrence
    /Event0c/axis0, axis1, block0_items ... block2_values: pandas' view, columns
                           `SCmicrosec` (sc_seconds, the old files' name), `epoch` and
                           `utc_seconds` (both utc_seconds: true UTC, unlike the old files'
                           `epoch`), hard links to the datasets above

Written before and read alike: `gmpsai-events/2` (gzip level 1 and shuffle instead of Blosc2)
and `gmpsai-events/1` (gzip, without the pandas view).

Only events with occurrences get a group (the old EventDataGrabber skipped the others); every
event asked for has an outcome, so an empty event and a failed request stay distinguishable.
Datasets use the parameter files' filter (files/h5common.py).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from gmpsai_assets.acnet.tclk import (
    EventCodeError,
    event_group,
    event_hex,
    event_label,
    known_events,
    parse_event,
)
from gmpsai_assets.files.h5common import (
    DataFileError,
    H5FileWriter,
    MalformedFile,
    json_object,
    open_for_reading,
    provenance_attrs,
    read_columns,
    read_file_attrs,
    utc_now,
    write_float_dataset,
    write_pandas_frame,
)
from gmpsai_assets.samples import EventOccurrences
from gmpsai_assets.status import DeviceStatus
from gmpsai_assets.window import Window

FORMAT = "gmpsai-events/3"
# every layout of ours this module reads, oldest first
FORMATS = ("gmpsai-events/1", "gmpsai-events/2", FORMAT)
# pandas column -> dataset: the old files' `SCmicrosec` and `epoch` names, and `utc_seconds`
# as in parameter files
PANDAS_COLUMNS = (("SCmicrosec", "sc_seconds"), ("epoch", "utc_seconds"),
                  ("utc_seconds", "utc_seconds"))


@dataclass(frozen=True)
class EventRecord:
    """What a file says about one event asked for."""

    event: int
    status: str  # DeviceStatus (ok | empty | failed) when written, its word when read back
    rows: int
    reason: str = ""


@dataclass
class EventFileWriter(H5FileWriter):
    """Writes one event file event by event, so memory holds one event's occurrences at a time."""

    path: Path
    window: Window
    node: str
    source: str
    created_utc: float = field(default_factory=utc_now)
    records: dict[int, EventRecord] = field(default_factory=dict)
    stopped_early: bool = False
    header_lines: Counter[int] = field(default_factory=Counter)  # event_log replies per count

    def __enter__(self) -> EventFileWriter:
        super().__enter__()
        self._descriptions = known_events()
        return self

    def add(
        self, event: int, occurrences: EventOccurrences | None, error: Exception | None
    ) -> EventRecord:
        """Store one event's outcome; a group only when it occurred."""
        rows = len(occurrences) if occurrences is not None else 0
        if error is not None:
            record = EventRecord(event, DeviceStatus.FAILED, 0, str(error))
        else:
            record = EventRecord(event, DeviceStatus.OK if rows else DeviceStatus.EMPTY, rows)
        if occurrences is not None:
            self.header_lines.update(occurrences.header_lines)
        if rows:
            group = self._h5.create_group(event_group(event))
            write_float_dataset(group, "utc_seconds", occurrences.utc_seconds)
            write_float_dataset(group, "sc_seconds", occurrences.sc_seconds)
            write_pandas_frame(group, [(col, group[ds]) for col, ds in PANDAS_COLUMNS])
            group.attrs.update(
                event=event, label=event_label(event),
                description=self._descriptions.get(event, ""), rows=rows,
            )
        self.records[event] = record
        return record

    def _file_attrs(self) -> dict[str, Any]:
        return {
            **provenance_attrs(FORMAT, self.window, self.node, self.source, self.created_utc),
            "events_requested": np.array(list(self.records), dtype=np.int64),
            # an integer: PyTables (under pandas.read_hdf) warns about HDF5's boolean enum
            "stopped_early": np.int8(self.stopped_early),
            "event_outcomes": json.dumps(
                {event_hex(e): {"status": r.status, "rows": r.rows, "reason": r.reason}
                 for e, r in self.records.items()}
            ),
            "event_log_header_lines": json.dumps(
                {str(n): k for n, k in sorted(self.header_lines.items())}
            ),
        }


def read_event_attrs(path: str | Path) -> dict[str, Any]:
    """File attributes, with `events_requested` as ints and `event_outcomes` decoded;
    MalformedFile naming the attribute when one is missing or not what this layout holds."""
    with open_for_reading(Path(path)) as f:
        attrs = read_file_attrs(f, FORMATS, REQUIRED_ATTRS)
    requested = np.asarray(attrs["events_requested"])
    if requested.ndim != 1 or requested.dtype.kind not in "iu":
        raise MalformedFile(f"the file attribute 'events_requested' is {requested!r}, "
                            "not a list of event codes")
    attrs["events_requested"] = [int(e) for e in requested]
    stopped = np.asarray(attrs["stopped_early"])  # 0/1; a boolean in the first files
    if stopped.shape != () or stopped.dtype.kind not in "biu":
        raise MalformedFile(f"the file attribute 'stopped_early' is {stopped!r}, not 0 or 1")
    attrs["stopped_early"] = bool(stopped)
    attrs["event_outcomes"] = _event_outcomes(attrs["event_outcomes"])
    # files written before it was recorded: {}
    lines = json_object(attrs.get("event_log_header_lines", "{}"), "event_log_header_lines")
    if not all(n.isdigit() and isinstance(k, int) for n, k in lines.items()):
        raise MalformedFile(f"the file attribute 'event_log_header_lines' is {lines!r}, not "
                            "{header lines: replies}")
    attrs["event_log_header_lines"] = {int(n): k for n, k in lines.items()}
    return attrs


REQUIRED_ATTRS = ("events_requested", "stopped_early", "event_outcomes")


def _event_outcomes(text: object) -> dict[int, EventRecord]:
    out = {}
    for code, rec in json_object(text, "event_outcomes").items():
        try:
            event = parse_event(code)
        except EventCodeError:
            raise MalformedFile(f"the file attribute event_outcomes names {code!r}, "
                                "not a TCLK event code") from None
        if not isinstance(rec, dict) or not isinstance(rec.get("status"), str) or not (
                isinstance(rec.get("rows"), int) and isinstance(rec.get("reason", ""), str)):
            raise MalformedFile(f"the file attribute event_outcomes of {event_label(event)} is "
                                f"{rec!r}, not {{status: word, rows: count, reason: text}}")
        out[event] = EventRecord(event, rec["status"], rec["rows"], rec.get("reason", ""))
    return out


def list_events(path: str | Path) -> list[int]:
    """Codes of the events that have a group (occurred in the window), in code order."""
    with open_for_reading(Path(path)) as f:
        read_file_attrs(f, FORMATS, REQUIRED_ATTRS)
        return sorted(_group_event(name) for name in f if name.startswith("Event"))


def _group_event(name: str) -> int:
    try:
        return parse_event(name)
    except EventCodeError:
        raise MalformedFile(f"the group {name!r} is named like an event but names none "
                            "(want Event00..Eventff)") from None


def read_event(path: str | Path, event: int) -> EventOccurrences:
    """One event's occurrences from an event file (empty if it did not occur); MalformedFile
    when its datasets are not two equally long 1-D columns of numbers."""
    with open_for_reading(Path(path)) as f:
        attrs = read_file_attrs(f, FORMATS, REQUIRED_ATTRS)
        name = event_group(event)
        if name not in f:
            outcomes = _event_outcomes(attrs["event_outcomes"])
            if event not in outcomes:
                raise DataFileError(f"{path}: event {event_label(event)} was not asked for")
            if outcomes[event].status == DeviceStatus.FAILED:
                raise DataFileError(f"{path}: event {event_label(event)} failed to fetch")
            return EventOccurrences(event, np.empty(0), np.empty(0))
        utc, sc = read_columns(f[name], ("utc_seconds", "sc_seconds"),
                               f"event {event_label(event)}")
        return EventOccurrences(event, utc, sc)
