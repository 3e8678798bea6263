"""Grab a window of logged parameter data into one HDF5 file: the core of `param_data` and of
`gmpsai grab-params` (the ParamDataGrabber successor).

Devices stream from the DataLogger to the draft file one at a time; a device that fails is
recorded in the file and the others are kept. The file is published only when complete, and
replaces any older file of the same node and window.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from gmpsai_assets.acnet.datalogger import (
    DataLogger,
    DataLoggerError,
    DeviceInfo,
    FetchOutcome,
    describe_devices,
    fetch_devices,
)
from gmpsai_assets.files.drafts import drafted
from gmpsai_assets.files.naming import PARAM_PREFIX, data_file_name, remove_superseded
from gmpsai_assets.files.paramfile import DeviceRecord, ParamFileWriter
from gmpsai_assets.status import GRAB_STATUSES, DeviceStatus, format_span
from gmpsai_assets.window import Window

Progress = Callable[[str], None]


class NoDataError(RuntimeError):
    """Every device failed: nothing worth publishing (usually the DataLogger is unreachable)."""


@dataclass(frozen=True)
class GrabResult:
    path: Path
    bytes: int
    window: Window
    records: dict[str, DeviceRecord]
    seconds: float
    superseded: list[Path]

    def devices_with(self, status: DeviceStatus) -> list[str]:
        return [d for d, r in self.records.items() if r.status == status]

    @property
    def rows(self) -> int:
        return sum(r.rows for r in self.records.values())

    def missing_spans(self) -> dict[str, list[str]]:
        """Partial devices -> their missing spans (`start/end`, UTC ISO 8601)."""
        return {d: [format_span(s) for s in self.records[d].missing_utc]
                for d in self.devices_with(DeviceStatus.PARTIAL)}

    def out_of_order(self) -> dict[str, int]:
        """Devices the source delivered out of time order -> its steps back (sorted in the file,
        judged by `timestamps_increasing`)."""
        return {d: r.out_of_order for d, r in self.records.items() if r.out_of_order}

    def summary(self) -> str:
        """`47 ok, 1 partial: B:VIMIN missing 2026-...Z/2026-...Z, 0 empty, 0 failed`."""
        parts = []
        for status in GRAB_STATUSES:
            names = self.devices_with(status)
            if status == DeviceStatus.PARTIAL:
                names = [f"{d} missing {' '.join(spans)}"
                         for d, spans in self.missing_spans().items()]
            listed = status in (DeviceStatus.PARTIAL, DeviceStatus.FAILED) and names
            parts.append(f"{len(names)} {status}" + (f": {', '.join(names)}" if listed else ""))
        if steps := self.out_of_order():
            parts.append("out of time order as delivered (sorted): " + ", ".join(
                f"{d} {n} step(s) back" for d, n in steps.items()))
        return ", ".join(parts)


def grab_params(
    datalogger: DataLogger,
    devices: Sequence[str],
    window: Window,
    out_dir: Path,
    draft_dir: Path,
    progress: Progress | None = None,
) -> GrabResult:
    """Fetch `devices` over `window` and publish one parameter file in `out_dir`."""
    began = time.monotonic()
    say = progress or (lambda _msg: None)
    final = Path(out_dir) / data_file_name(PARAM_PREFIX, datalogger.node, window, time.time())
    n = len(devices)
    with drafted(final, Path(draft_dir), replace=False) as draft:
        with ParamFileWriter(draft, window, datalogger.node, datalogger.source,
                             list(devices)) as writer:
            for i, outcome in enumerate(fetch_devices(datalogger, devices, window), start=1):
                record = writer.add(outcome.device, outcome.samples, outcome.error)
                say(_progress_line(i, n, outcome, record))
            writer.describe(_device_info(datalogger, devices, say))
        if devices and not any(r.status != DeviceStatus.FAILED for r in writer.records.values()):
            first = next(iter(writer.records.values()))
            raise NoDataError(f"no device could be fetched ({first.device}: {first.reason})")
    superseded = remove_superseded(final, PARAM_PREFIX, datalogger.node, window)
    return GrabResult(
        final, final.stat().st_size, window, writer.records, time.monotonic() - began, superseded
    )


def _device_info(datalogger: DataLogger, devices: Sequence[str], say: Progress
                 ) -> dict[str, DeviceInfo]:
    """The source's description and units of `devices`; none (said in the progress) when the
    place it asks cannot answer: metadata never stops a grab."""
    try:
        return describe_devices(datalogger, devices)
    except DataLoggerError as exc:
        say(f"device descriptions and units not stored: {exc}")
        return {}


def _progress_line(i: int, n: int, outcome: FetchOutcome, record: DeviceRecord) -> str:
    detail = f"{record.rows} rows" if not record.reason else record.reason
    return f"[{i}/{n}] {outcome.device}: {record.status} ({detail})"
