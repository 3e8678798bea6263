"""TCLK events, the supercycle and the timeline: the timing side of a control-system source.

A source (simulated Booster, ACL gateway) implements `TimingSource` next to `DataLogger`:
occurrences of one TCLK event over a window, the current supercycle time and length, and the
Timeline Generator's table. Event codes are ints 0..255, written `$0C` for people and `0c` in
ACL commands and `Event0c` in file groups.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Protocol, runtime_checkable

import numpy as np
import polars as pl

from gmpsai_assets.samples import EventOccurrences
from gmpsai_assets.window import Window

MAX_EVENT = 0xFF
SC_START, CLOCK_15HZ = 0x00, 0x0C  # $00 starts a supercycle; $0C fires on every 15 Hz tick
# The Booster's 15 Hz tick is four periods of the 60 Hz line (its rate follows the line).
LINE_HZ = 60.0
LINES_PER_TICK = 4
NOMINAL_TICK_HZ = LINE_HZ / LINES_PER_TICK  # 15 Hz
NOMINAL_TICK_S = 1.0 / NOMINAL_TICK_HZ


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


# The Booster resets: one per 15 Hz tick, 18 ms after it, saying what the cycle is ($11 null
# cycle, $12 prepulse, the others beam cycles). They are the codes of $11..$1D the team's list
# calls a Booster reset; $18 is not in the list and $1A/$1B are the parasitic beam permit and
# inhibit.
NULL_RESET, PREPULSE_RESET = 0x11, 0x12
BOOSTER_RESETS = tuple(sorted(code for code, text in known_events().items()
                              if 0x11 <= code <= 0x1D and "Booster Reset" in text))
# The events the day's checks and the cycle table are built on: supercycle starts, ticks and
# what each tick's cycle was. One of them missing leaves a day that cannot be judged or used.
CORE_EVENTS = frozenset({SC_START, CLOCK_15HZ, *BOOSTER_RESETS})


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


# How `event_log` writes an occurrence's local wall-clock time, and the old event files'
# `datetime` column with it: 10-MAR-2020 00:00:00.016 (month upper-cased).
EVENT_TIME_FORMAT = "%d-%b-%Y %H:%M:%S%.3f"


def local_event_times(s: pl.Series, strict: bool) -> pl.Series:
    """Texts in EVENT_TIME_FORMAT (single spaces) as naive local datetimes in ms."""
    return s.str.to_titlecase().str.to_datetime(EVENT_TIME_FORMAT, time_unit="ms", strict=strict)


def parse_event_times(texts: Sequence[str] | np.ndarray) -> np.ndarray:
    """`DD-MON-YYYY HH:MM:SS.fff` local wall-clock texts, as `event_log` answers and the old
    event files' `datetime` column holds them, as naive datetime64[ms]; NaT where a text is
    not such a time."""
    series = pl.Series(list(texts), dtype=pl.String).str.strip_chars()
    return local_event_times(series.str.replace_all(r"\s+", " "), strict=False).to_numpy()
