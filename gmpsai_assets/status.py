"""Every status a device (or a TCLK event) can have in a grab, a file and its statistics.

Defined once so that writers, readers, statistics, checks and the page agree on what is fine
and what is not. Only `ok` is fine; every other status must stay visible:

- `ok`: every chunk of the window answered with data (or a confirmed gap inside a chunk);
- `partial`: some chunks answered "no data" while others had data, and retries did not change
  that; the file names the missing spans (UTC), so the device has data but not all of it;
- `empty`: the source said "no data" for the whole window;
- `failed`: the request failed after its retries; nothing of the device is stored;
- `missing`: (reading) a listed device with no group in the file.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gmpsai_assets.samples import Samples


class DeviceStatus(StrEnum):
    """A str, so files, databases, JSON and the page store and compare the plain word."""

    OK = "ok"
    PARTIAL = "partial"
    EMPTY = "empty"
    FAILED = "failed"
    MISSING = "missing"


#: statuses a grab records, in the order summaries list them
GRAB_STATUSES = (DeviceStatus.OK, DeviceStatus.PARTIAL, DeviceStatus.EMPTY, DeviceStatus.FAILED)


def device_status(samples: Samples | None, error: object | None) -> DeviceStatus:
    """A grabbed device's status from what its fetch gave: the one rule writers and sources use."""
    if error is not None:
        return DeviceStatus.FAILED
    if samples is None or not len(samples):
        return DeviceStatus.EMPTY
    return DeviceStatus.PARTIAL if samples.missing else DeviceStatus.OK


def merge_spans(spans: Iterable[tuple[float, float]]) -> tuple[tuple[float, float], ...]:
    """Missing spans (UTC start, end), sorted, with touching or overlapping ones joined."""
    out: list[tuple[float, float]] = []
    for start, end in sorted(spans):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((float(start), float(end)))
    return tuple(out)


def format_span(span: tuple[float, float]) -> str:
    """`2026-03-10T12:00:00Z/2026-03-10T12:15:00Z`: one missing span, UTC (ISO 8601)."""
    return "/".join(
        dt.datetime.fromtimestamp(t, dt.UTC)
        .isoformat(timespec="seconds" if t == int(t) else "milliseconds")
        .replace("+00:00", "Z")
        for t in span
    )


def describe_missing(spans: Iterable[tuple[float, float]]) -> str:
    """The reason recorded for a `partial` device."""
    spans = list(spans)
    seconds = sum(b - a for a, b in spans)
    return (f"no values in {len(spans)} span(s), {seconds:g} s, after retries: "
            + ", ".join(format_span(s) for s in spans))
