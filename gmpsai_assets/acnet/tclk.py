"""TCLK events, the supercycle and the timeline: the timing side of a control-system source.

A source (simulated Booster, ACL gateway) implements `TimingSource` next to `DataLogger`:
occurrences of one TCLK event over a window, the current supercycle time and length, and the
Timeline Generator's table. Event codes are ints 0..255, written `$0C` for people and `0c` in
ACL commands and `Event0c` in file groups.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from typing import Protocol, runtime_checkable

import numpy as np

from gmpsai_assets.window import Window

MAX_EVENT = 0xFF


class EventCodeError(ValueError):
    """Not a TCLK event code."""


def check_event(code: int) -> int:
    if not isinstance(code, int) or not 0 <= code <= MAX_EVENT:
        raise EventCodeError(f"not a TCLK event code (0..255 / $00..$FF): {code!r}")
    return code


def parse_event(text: str) -> int:
    """`$0C`, `0c`, `0x0C` or `Event0c` -> 12."""
    m = re.fullmatch(r"(?:\$|0x|Event)?([0-9A-Fa-f]{1,2})", text.strip())
    if not m:
        raise EventCodeError(f"not a TCLK event code (want hex such as 0c or $0C): {text!r}")
    return int(m.group(1), 16)


def event_hex(code: int) -> str:
    """Two lowercase hex digits, as ACL's `event=` and the old `Event0c` keys want them."""
    return f"{check_event(code):02x}"


def event_label(code: int) -> str:
    """`$0C`: how people and TCLK_Events.txt write an event."""
    return f"${check_event(code):02X}"


def event_group(code: int) -> str:
    """HDF5 group / old pandas key of an event: `Event0c`."""
    return f"Event{event_hex(code)}"


def known_events() -> dict[int, str]:
    """The team's TCLK event list (packaged copy of TCLK_Events.txt): code -> description."""
    text = (resources.files("gmpsai_assets") / "reference" / "TCLK_Events.txt").read_text()
    out: dict[int, str] = {}
    for line in text.splitlines():
        m = re.match(r"\s*\$([0-9A-Fa-f]{2}),\s*(.*)$", line)
        if m:
            out[int(m.group(1), 16)] = " ".join(m.group(2).split())
    return out


@dataclass(frozen=True)
class EventOccurrences:
    """Every occurrence of one event in a window, time-ordered."""

    event: int
    utc_seconds: np.ndarray  # float64 UTC epoch seconds
    sc_seconds: np.ndarray  # float64 seconds into the supercycle
    header_lines: tuple[int, ...] = ()  # ACL: header lines of each `event_log` reply read

    def __len__(self) -> int:
        return int(self.utc_seconds.shape[0])


@dataclass(frozen=True)
class TimelineEntry:
    """One row of the Timeline Generator: event `event` at `sc_time` seconds into the supercycle."""

    index: int
    event: int
    sc_time: float


@runtime_checkable
class TimingSource(Protocol):
    """The timing questions a source answers (ACL `event_log`, `read G:SCTIME`, `tlg_info`)."""

    def event_occurrences(self, event: int, window: Window) -> EventOccurrences:
        """All occurrences of TCLK `event` in [window.start, window.end)."""
        ...

    def supercycle_time(self) -> float:
        """Seconds since the current supercycle began (G:SCTIME reading), now."""
        ...

    def supercycle_length(self) -> float:
        """Supercycle length in seconds (G:SCTIME setting), e.g. 60.066666."""
        ...

    def timeline(self) -> list[TimelineEntry]:
        """The timeline table in force now, ordered by index."""
        ...
