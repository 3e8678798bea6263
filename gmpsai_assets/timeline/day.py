"""A day of the timeline record: supercycles recorded against those expected, gaps, changes.

A recorded supercycle covers [start, start + length). A gap is time inside the day that no
recorded supercycle covers, longer than half a supercycle (start times wobble by milliseconds,
a missed supercycle leaves a whole one uncovered). Time before the store's first supercycle is
not a gap - nobody was logging yet - and neither is time after `now` on a day still running.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from itertools import pairwise

from gmpsai_assets.timeline.store import StoredSupercycle, TimelineStore
from gmpsai_assets.window import Window, format_local

LOOKBACK_S = 3600.0  # the supercycle running at midnight began at most this long before


@dataclass(frozen=True)
class Gap:
    start: float
    end: float

    @property
    def seconds(self) -> float:
        return self.end - self.start

    def as_dict(self) -> dict[str, object]:
        return {"start_local": format_local(self.start), "end_local": format_local(self.end),
                "start_utc": round(self.start, 3), "end_utc": round(self.end, 3),
                "seconds": round(self.seconds, 3)}


@dataclass(frozen=True)
class DaySummary:
    window: Window
    recorded: int  # supercycles that began inside the window
    expected: int | None  # from the supercycle length; None when no length is known
    length_s: float | None
    gaps: tuple[Gap, ...]
    timeline_changes: tuple[float, ...]  # starts of supercycles whose timeline differs from before
    timelines: tuple[str, ...]  # distinct timeline ids run during the day, in order of first use
    history_start: float | None  # first supercycle ever recorded (None: nothing ever was)
    checked_until: float  # the end of the window, or now on a day still running

    @property
    def before_history(self) -> bool:
        """The whole day lies before the timeline logger's first supercycle (a fresh install)."""
        return self.history_start is None or self.history_start >= self.checked_until

    def long_gaps(self, limit_s: float) -> list[Gap]:
        return [g for g in self.gaps if g.seconds > limit_s]

    @property
    def longest_gap_s(self) -> float:
        return max((g.seconds for g in self.gaps), default=0.0)


def _length(day: list[StoredSupercycle], fallback: float | None) -> float | None:
    """The day's supercycle length: as recorded, else from the spacing of starts (imported rows
    carry no length), else the source's current setting."""
    lengths = [s.length_s for s in day if s.length_s]
    if lengths:
        return statistics.median(lengths)
    spacing = [b.start_utc - a.start_utc for a, b in pairwise(day)]
    if spacing:
        return min(spacing)  # a gap only ever lengthens a spacing
    return fallback


def summarize(
    supercycles: list[StoredSupercycle],
    window: Window,
    history_start: float | None,
    now: float,
    fallback_length_s: float | None = None,
) -> DaySummary:
    """Summarise `supercycles` (time-ordered, may include ones that began before the window)."""
    day = [s for s in supercycles if window.start <= s.start_utc < window.end]
    length = _length(day, fallback_length_s)
    expected = round(window.seconds / length) if length else None
    until = min(window.end, now)

    gaps: list[Gap] = []
    if history_start is not None and history_start < until:
        tolerance = length / 2 if length else 0.0
        cursor = max(window.start, history_start)
        for sc in supercycles:
            if sc.start_utc >= until:
                break
            if sc.start_utc - cursor > tolerance:
                gaps.append(Gap(cursor, sc.start_utc))
            cursor = max(cursor, sc.start_utc + (sc.length_s or length or 0.0))
        if until - cursor > tolerance:
            gaps.append(Gap(cursor, until))

    changes: list[float] = []
    seen: list[str] = []
    previous = None
    for sc in supercycles:
        inside = sc.start_utc >= window.start
        if inside and sc.timeline_id not in seen:
            seen.append(sc.timeline_id)
        if inside and previous is not None and sc.timeline_id != previous:
            changes.append(sc.start_utc)
        previous = sc.timeline_id
    return DaySummary(window, len(day), expected, length, tuple(gaps), tuple(changes),
                      tuple(seen), history_start, until)


def summarize_day(
    store: TimelineStore,
    window: Window,
    now: float,
    fallback_length_s: float | None = None,
) -> DaySummary:
    """The summary of `window` from what `store` holds."""
    rows = store.supercycles(window.start - LOOKBACK_S, window.end)
    return summarize(rows, window, store.first_start(), now, fallback_length_s)
