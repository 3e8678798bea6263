"""The level of one device on one day, as the published page shows it.

ERROR: no statistics for the day, the device failed or was empty, completeness below the error
limit, a non-finite value or a non-increasing timestamp (the same two the param_data checks fail
on, quality/files.py: the numbers themselves are wrong); WARN: a `partial` device (data, but
spans the source could not deliver), completeness below the warn limit or any gap (a DataLogger
outage of seconds to minutes: the real DataLogger has them most days, so they are reported but do
not make a device a problem); UNKNOWN: imported old statistics, which carry no completeness;
else OK.
"""

from __future__ import annotations

from typing import Protocol

from gmpsai_assets.quality import COMPLETENESS_LIMITS, Level
from gmpsai_assets.status import DeviceStatus


class DayFacts(Protocol):
    """What a day row (publish.rich.DayStats) tells about one device on one day."""

    source: str  # distilled | legacy | none
    status: str  # gmpsai_assets.status
    reason: str
    completeness: float | None
    gap_count: int | None
    gap_seconds: float | None
    nan_count: int | None
    inf_count: int | None
    nonincreasing: int | None


def assess_day(d: DayFacts, limits: tuple[float, float] = COMPLETENESS_LIMITS) -> tuple[Level, str]:
    """(level, why) of one day; `why` is what the page prints beside a highlighted day."""
    warn_below, error_below = limits
    if d.source == "none":
        return Level.ERROR, "no statistics for this day"
    if d.source == "legacy":
        return Level.UNKNOWN, "imported old statistics: completeness not recorded"
    bad, warn = [], []
    if d.status == DeviceStatus.PARTIAL:  # has data, but not all of it: never ok, never "no data"
        warn.append(f"device partial: {d.reason}" if d.reason else "device partial")
    elif d.status != DeviceStatus.OK:
        return Level.ERROR, f"device {d.status}" + (f": {d.reason}" if d.reason else "")
    if d.completeness is not None and d.completeness < warn_below:
        low = bad if d.completeness < error_below else warn
        low.append(f"completeness {100 * d.completeness:.1f}%")
    if d.gap_count:
        warn.append(f"{d.gap_count} gap{'s' if d.gap_count != 1 else ''} "
                    f"({_duration(d.gap_seconds or 0.0)} missing)")
    if d.nan_count or d.inf_count:
        bad.append(f"{(d.nan_count or 0) + (d.inf_count or 0)} non-finite values")
    if d.nonincreasing:
        bad.append(f"{d.nonincreasing} non-increasing timestamps")
    return (Level.ERROR if bad else Level.WARN if warn else Level.OK), "; ".join(bad + warn)


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.1f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"
