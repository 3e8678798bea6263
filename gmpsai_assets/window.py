"""Time windows in Fermilab local time.

The control system speaks local wall-clock time (America/Chicago) while everything we store is UTC
epoch seconds. A `Window` holds the UTC bounds and knows how to print itself the way the ACL
commands and the old file names want it. A local day is 23 or 25 hours on DST change days.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import numpy as np

FERMILAB_TZ = ZoneInfo("America/Chicago")
UTC = dt.UTC
_WALL_EPOCH = dt.datetime(1970, 1, 1)

# Accepted spellings of a local wall-clock time on the command line.
_DATETIME_RE = re.compile(
    r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ +T_](\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?)?$"
)


_MIN_EPOCH = -2208988800.0  # 1900-01-01 UTC: no DataLogger data before, and datetime copes
_MAX_EPOCH = 7258118400.0  # 2200-01-01 UTC
# Times a data file may hold beyond its window: the DataLogger's inclusive end and clock jitter
# fit easily; a wrong time zone (hours) or a wrong unit (1970) does not.
WINDOW_SLACK_S = 60.0
_EARLIEST_DATA = 946684800.0  # 2000-01-01 UTC: the team has no data file older than this


class WindowError(ValueError):
    """A date, time or window the user gave that cannot be used."""


@dataclass(frozen=True, order=True)
class Window:
    """A half-open interval [start, end) of UTC epoch seconds."""

    start: float
    end: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.start) and math.isfinite(self.end)) or not (
            self.start >= _MIN_EPOCH and self.end <= _MAX_EPOCH
        ):
            raise WindowError(f"window [{self.start}, {self.end}) is not between 1900 and 2200")
        if not self.end > self.start:
            raise WindowError(
                f"window end {format_local(self.end)} is not after start {format_local(self.start)}"
            )

    @property
    def seconds(self) -> float:
        return self.end - self.start

    @property
    def start_local(self) -> dt.datetime:
        return to_local(self.start)

    @property
    def end_local(self) -> dt.datetime:
        return to_local(self.end)

    def acl_bounds(self) -> tuple[str, str]:
        """Start and end as the ACL commands and old file names write them (local, `+`)."""
        return format_local(self.start), format_local(self.end)

    def split(self, seconds: float) -> list[Window]:
        """Consecutive pieces of at most `seconds`, covering the window exactly."""
        if seconds <= 0:
            raise WindowError("chunk length must be positive")
        pieces = []
        t = self.start
        while t < self.end:
            nxt = min(t + seconds, self.end)
            pieces.append(Window(t, nxt))
            t = nxt
        return pieces

    def __str__(self) -> str:
        a, b = self.acl_bounds()
        return f"[{a}, {b}) America/Chicago"

    def describe(self) -> str:
        """The local window and its real length (a local day is 23, 24 or 25 hours)."""
        return f"{self} = {self.seconds / 3600:g} h ({self.seconds:g} s)"


def times_outside(
    utc: np.ndarray, window: Window | None, slack_s: float = WINDOW_SLACK_S
) -> int:
    """How many of `utc` cannot belong to a file covering `window` (NaN counts). Without a
    window (an old file whose name says none) a time before 2000 or after tomorrow cannot.
    A reader checks this before trusting a file's times: a unit or time-zone mistake in a
    writer shows up as times far outside the file's own window."""
    if window is None:
        lo, hi = _EARLIEST_DATA, dt.datetime.now(UTC).timestamp() + 86400.0
    else:
        lo, hi = window.start - slack_s, window.end + slack_s
    utc = np.asarray(utc, dtype=np.float64)
    if not utc.size or (utc.min() >= lo and utc.max() <= hi):  # NaN fails both comparisons
        return 0
    return int(np.count_nonzero(~((utc >= lo) & (utc <= hi))))


def to_local(epoch: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(epoch, tz=FERMILAB_TZ)


def format_local(epoch: float) -> str:
    """`YYYY-MM-DD+HH:MM:SS` in local wall-clock time (the ACL and old file-name form)."""
    return to_local(epoch).strftime("%Y-%m-%d+%H:%M:%S")


def in_repeated_hour(epoch: float) -> bool:
    """Is the local reading of `epoch` one the clock shows twice (the hour DST ends)? Such a
    reading names two instants, so whatever is told by local time alone (the gateway's query
    strings, file names) must not rely on it: the one rule for it."""
    local = to_local(epoch).replace(tzinfo=None)
    return (local.replace(tzinfo=FERMILAB_TZ, fold=0).timestamp()
            != local.replace(tzinfo=FERMILAB_TZ, fold=1).timestamp())


def local_midnight(day: dt.date) -> float:
    """UTC epoch seconds of local midnight starting `day` (midnight is never ambiguous here)."""
    return dt.datetime(day.year, day.month, day.day, tzinfo=FERMILAB_TZ).timestamp()


def parse_date(text: str) -> dt.date:
    """A `YYYY-MM-DD` date, or WindowError saying what is wrong with it."""
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise WindowError(f"not a date (want YYYY-MM-DD): {text!r}") from None


def day_window(day: dt.date | str) -> Window:
    """The local day [midnight, next midnight): what a daily partition covers."""
    if isinstance(day, str):
        day = parse_date(day)
    return Window(local_midnight(day), local_midnight(day + dt.timedelta(days=1)))


def parse_wall_datetime(text: str) -> dt.datetime:
    """A naive local wall-clock reading (`YYYY-MM-DD[ HH:MM[:SS[.ffffff]]]`, `+` or `T` also)."""
    m = _DATETIME_RE.match(text.strip())
    if not m:
        raise WindowError(f"not a local date/time (want YYYY-MM-DD[+HH:MM:SS]): {text!r}")
    y, mo, d, h, mi, s, frac = m.groups()
    try:
        return dt.datetime(
            int(y), int(mo), int(d), int(h or 0), int(mi or 0), int(s or 0),
            int((frac or "0").ljust(6, "0")),
        )
    except ValueError as exc:
        raise WindowError(f"not a valid date/time {text!r}: {exc}") from None


def wall_to_epoch(naive: dt.datetime) -> float:
    """UTC epoch seconds of a naive local wall-clock reading.

    A reading in the repeated hour when DST ends is taken as its first occurrence (as the old
    tools' strings are read); one inside the hour skipped when DST starts does not exist and
    is refused.
    """
    if not 1900 <= naive.year < 2200:
        raise WindowError(f"{naive:%Y-%m-%d+%H:%M:%S} is not between 1900 and 2200")
    epoch = naive.replace(tzinfo=FERMILAB_TZ, fold=0).timestamp()
    if to_local(epoch).replace(tzinfo=None) != naive:
        raise WindowError(
            f"{naive:%Y-%m-%d+%H:%M:%S} does not exist in America/Chicago (skipped by DST)"
        )
    return epoch


def parse_local_datetime(text: str) -> float:
    """Parse a local wall-clock time (`YYYY-MM-DD[ HH:MM[:SS]]`, `+` or `T` also accepted).

    A time in the repeated hour when DST ends is taken as its first occurrence; a time inside
    the skipped hour when DST starts does not exist and is refused.
    """
    return wall_to_epoch(parse_wall_datetime(text))


def most_recent_midnight(now: float | None = None) -> float:
    """UTC epoch of the most recent local midnight at or before `now`."""
    local_now = to_local(now if now is not None else dt.datetime.now(tz=UTC).timestamp())
    return local_midnight(local_now.date())


def last_complete_day(now: float | None = None) -> dt.date:
    """The most recent local day that has fully ended."""
    return to_local(most_recent_midnight(now) - 1).date()


def wall_seconds(naive: dt.datetime) -> float:
    """A naive local wall-clock reading as seconds since 1970-01-01 00:00 on that same clock.

    Not an instant: on the day DST ends two instants share each reading of 01:00-02:00.
    `local_wall_to_utc` turns a time-ordered series of these into UTC epoch seconds.
    """
    return (naive.replace(tzinfo=None) - _WALL_EPOCH).total_seconds()


def _offsets(hours: np.ndarray, fold: int) -> np.ndarray:
    """UTC offset (s) of local wall-clock hours `hours` (hours since the wall epoch)."""
    return np.array([
        (_WALL_EPOCH + dt.timedelta(hours=int(h))).replace(tzinfo=FERMILAB_TZ, fold=fold)
        .utcoffset().total_seconds()
        for h in hours
    ])


def local_wall_to_utc(
    wall: np.ndarray | Sequence[float] | Sequence[dt.datetime], window: Window | None = None
) -> np.ndarray:
    """UTC epoch seconds of time-ordered local wall-clock readings (as ACL `event_log` answers).

    Outside the repeated hour of the day DST ends the reading says everything. Inside it, the
    order of occurrences decides: readings are first-pass (CDT) until the clock steps back, and
    second-pass (CST) from there on. With no step back inside the hour, `window` (the window the
    occurrences were asked for) settles a series that begins in the second pass; a series whose
    readings never step back yet span both passes (two occurrences over an hour apart) cannot be
    told apart and is read as first pass. Readings in the hour skipped when DST starts do not
    occur in real data; they get the offset in force before the change. Vectorised: offsets are
    looked up once per wall-clock hour (Chicago changes offset only on the hour).
    """
    if len(wall) and isinstance(wall[0], dt.datetime):
        wall = [wall_seconds(t) for t in wall]
    wall = np.asarray(wall, dtype=np.float64)
    if not wall.size:
        return np.empty(0, dtype=np.float64)
    hour = np.floor(wall / 3600.0).astype(np.int64)
    lo, hi = int(hour.min()), int(hour.max())
    if hi - lo < 200_000:  # a window of up to ~20 years: index a table of its hours, no sort
        hours, inverse = np.arange(lo, hi + 1), hour - lo
    else:
        hours, inverse = np.unique(hour, return_inverse=True)
    first = wall - _offsets(hours, 0)[inverse]
    second = wall - _offsets(hours, 1)[inverse]
    utc = first
    ambiguous = np.flatnonzero(first != second)
    if ambiguous.size:
        utc = first.copy()
        breaks = np.flatnonzero(np.diff(ambiguous) > 1) + 1
        for run in np.split(ambiguous, breaks):  # one run per DST-end night in the series
            back = np.flatnonzero(np.diff(wall[run]) < 0)
            if back.size:
                later = run[back[0] + 1:]
                utc[later] = second[later]
            elif window is not None and first[run[0]] < window.start:
                utc[run] = second[run]
    return utc
