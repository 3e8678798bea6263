"""The value types of logged data, shared by every source (acnet/, sim/) and every file format
(files/): one device's samples, what a device is (description, units), and one TCLK event's
occurrences over a window."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Samples:
    """One device's logged samples, time-ordered: UTC epoch seconds and float values.

    `missing` lists the spans (UTC start, end) the source could not deliver although it had
    data elsewhere in the window: a device with such spans is `partial`, never `ok`.
    `out_of_order` counts the steps back in time the source delivered them with, before they
    were sorted (the ACL gateway, docs/gateway.md): recorded in the file, judged by
    `timestamps_increasing`, never silently lost.
    """

    device: str
    utc_seconds: np.ndarray
    values: np.ndarray
    missing: tuple[tuple[float, float], ...] = ()
    out_of_order: int = 0

    def __post_init__(self) -> None:
        if self.utc_seconds.shape != self.values.shape or self.utc_seconds.ndim != 1:
            raise ValueError("utc_seconds and values must be 1-d arrays of the same length")

    def __len__(self) -> int:
        return int(self.utc_seconds.shape[0])

    @classmethod
    def empty(cls, device: str) -> Samples:
        return cls(device, np.empty(0, np.float64), np.empty(0, np.float64))

    @classmethod
    def concat(cls, device: str, parts: Iterable[Samples]) -> Samples:
        parts = list(parts)
        if not parts:
            return cls.empty(device)
        return cls(
            device,
            np.concatenate([p.utc_seconds for p in parts]),
            np.concatenate([p.values for p in parts]),
            tuple(span for p in parts for span in p.missing),
            sum(p.out_of_order for p in parts),
        )


@dataclass(frozen=True)
class DeviceInfo:
    """What the control system says a device is: its description and engineering units.

    An empty string is "not known": a source never invents either."""

    description: str = ""
    units: str = ""


@dataclass(frozen=True)
class EventOccurrences:
    """Every occurrence of one event in a window, time-ordered."""

    event: int
    utc_seconds: np.ndarray  # float64 UTC epoch seconds
    sc_seconds: np.ndarray  # float64 seconds into the supercycle
    header_lines: tuple[int, ...] = ()  # ACL: header lines of each `event_log` reply read

    def __len__(self) -> int:
        return int(self.utc_seconds.shape[0])
