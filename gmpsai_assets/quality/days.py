"""What the published page says of each day and of each device on it: every problem once.

A day is judged before its devices:

- **A day without data**: no device has statistics for it (never fetched, or not distilled
  yet). The page shows the day as such, once; it is no device's error (`NO_DATA_DAY`).
- **A DataLogger outage**: a span in which (nearly) every device that has samples that day has
  none, i.e. at least OUTAGE_SHARE of them and at least OUTAGE_MIN_DEVICES (`day_outages`). The
  page shows it once, as an event of the day; it is no device's gap.

A device is then judged on what is its own alone (`own_gaps`, `assess_day`): its gaps and its
completeness outside the day's outages. ERROR: the device failed or was empty (unless the
outage covers its whole day), own completeness below the error limit, a non-finite value or a
non-increasing timestamp (the same two the param_data checks fail on, quality/files.py: the
numbers themselves are wrong); WARN: a `partial` device (data, but spans the source could not
deliver), own completeness below the warn limit, or a gap of its own; UNKNOWN: nothing to judge
by (imported old statistics, which carry no completeness; a device with no row on a day that has
data: it was not in the day's file); else OK.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from gmpsai_assets.acnet.tclk import NOMINAL_TICK_S
from gmpsai_assets.quality import COMPLETENESS_LIMITS, Level
from gmpsai_assets.stats.compute import DEFAULT_GAP_TICKS
from gmpsai_assets.status import DeviceStatus

# A span missing in at least this share of the devices that have samples on the day, and in at
# least OUTAGE_MIN_DEVICES of them, is a DataLogger outage. "Nearly" every device: one device
# logged apart (or with a sample inside by timestamp jitter) does not split an outage in two.
OUTAGE_SHARE = 0.9
# Below this many devices a span missing in all of them tells a DataLogger outage from a device
# problem no better than one device does: their gaps stay their own.
OUTAGE_MIN_DEVICES = 3
# A device's gap is the outage's when no more than this of it lies outside the outage: the gap
# limit itself (stats/compute.py), so what is left is less than a gap (timestamp jitter).
GAP_LIMIT_S = DEFAULT_GAP_TICKS * NOMINAL_TICK_S

NO_DATA_DAY = "no data: the day was not fetched, or not distilled yet"
NOT_IN_FILE = "no data: not in the day's file (not asked for)"
IN_OUTAGE = "no samples outside the DataLogger outage"


class DayFacts(Protocol):
    """What a day row (publish.rich.DayStats) tells about one device on one day."""

    start_utc: float
    end_utc: float | None
    source: str  # distilled | legacy | none
    status: str  # gmpsai_assets.status
    reason: str
    rows: int | None
    expected_rows: int | None
    completeness: float | None
    gap_count: int | None
    gap_seconds: float | None
    gap_spans: Sequence[Sequence[float]] | None
    nan_count: int | None
    inf_count: int | None
    nonincreasing: int | None


@dataclass(frozen=True)
class Outage:
    """A span with no samples in (nearly) every device of one data file (one node's day)."""

    start_utc: float
    end_utc: float
    missing: int  # devices without samples in it (the most at any moment of it)
    devices: int  # devices that have samples or answered empty that day: the share's base

    @property
    def seconds(self) -> float:
        return self.end_utc - self.start_utc


@dataclass(frozen=True)
class OwnGaps:
    """One device's gaps on one day, the day's outages taken out."""

    count: int
    seconds: float
    spans: list[tuple[float, float]]  # the parts of its kept gap spans outside the outages
    in_outages: int  # its gaps that are the day's outages
    completeness: float | None  # rows over the ticks outside the outages; None: none left


def _answered(d: DayFacts) -> bool:
    """Whether the DataLogger said something of this device on this day: samples, or an empty
    answer. A `failed` device (the fetch itself failed) says nothing of the DataLogger."""
    return d.source == "distilled" and d.status != DeviceStatus.FAILED


def day_outages(days: Sequence[DayFacts]) -> list[Outage]:
    """The DataLogger outages of one data file, from its device rows: the spans where at least
    OUTAGE_SHARE (and OUTAGE_MIN_DEVICES) of the devices the DataLogger answered for have no
    sample. None when that many devices never answered, or when one with gaps was distilled
    before the store kept where gaps lie (its gaps then stay its own, as before)."""
    judged = [d for d in days if _answered(d)]
    if len(judged) < OUTAGE_MIN_DEVICES:
        return []
    need = max(OUTAGE_MIN_DEVICES, math.ceil(OUTAGE_SHARE * len(judged) - 1e-9))
    edges: list[tuple[float, int]] = []
    for d in judged:
        if d.gap_count and d.gap_spans is None:
            return []
        for a, b in d.gap_spans or ():
            if b > a:
                edges += [(a, 1), (b, -1)]
    edges.sort()  # at one moment, a span that ends goes before one that starts
    found: list[list[float]] = []  # [start, end, most missing]
    count, start, most = 0, 0.0, 0
    for t, step in edges:
        count += step
        if step > 0 and count == need:
            start, most = t, count
        elif step > 0 and count > need:
            most = max(most, count)
        elif step < 0 and count == need - 1:
            if found and start - found[-1][1] <= GAP_LIMIT_S:  # one outage, not two
                found[-1][1], found[-1][2] = t, max(found[-1][2], most)
            elif t > start:
                found.append([start, t, most])
    return [Outage(a, b, int(m), len(judged)) for a, b, m in found]


def _overlap(a: float, b: float, outages: Sequence[Outage]) -> float:
    """How much of [a, b] the outages cover (they do not overlap one another)."""
    total = 0.0
    for o in outages:  # a plain loop: this runs for every gap of every device-day published
        lo = o.start_utc if o.start_utc > a else a
        hi = o.end_utc if o.end_utc < b else b
        if hi > lo:
            total += hi - lo
    return total


def _outside(a: float, b: float, outages: Sequence[Outage]) -> list[tuple[float, float]]:
    """The parts of [a, b] outside every outage."""
    parts = [(a, b)]
    for o in outages:
        parts = [p for lo, hi in parts
                 for p in ((lo, min(hi, o.start_utc)), (max(lo, o.end_utc), hi)) if p[1] > p[0]]
    return parts


def own_gaps(d: DayFacts, outages: Sequence[Outage] = ()) -> OwnGaps:
    """The gaps and completeness of one device on one day that are its own: a gap that lies in
    the day's outages but for at most GAP_LIMIT_S is the outage's; of a longer one, only what
    lies outside them is its own. Gaps beyond the kept spans (a device with more gaps than the
    store keeps) stay its own. Completeness counts the ticks outside the outages only."""
    count, seconds = d.gap_count or 0, d.gap_seconds or 0.0
    if not outages or d.gap_spans is None:
        spans = [(a, b) for a, b in d.gap_spans or ()]
        return OwnGaps(count, seconds, spans, 0, d.completeness)
    in_outages, spans = 0, []
    for a, b in d.gap_spans:
        covered = _overlap(a, b, outages)
        if (b - a) - covered <= GAP_LIMIT_S:
            in_outages += 1
            seconds -= max(0.0, (b - a) - NOMINAL_TICK_S)  # what `gaps` counted for it
        else:
            seconds -= covered
            spans.extend(_outside(a, b, outages))
    completeness = d.completeness
    if d.end_utc is not None and d.end_utc > d.start_utc and d.expected_rows:
        window = d.end_utc - d.start_utc
        left = d.expected_rows * (1.0 - _overlap(d.start_utc, d.end_utc, outages) / window)
        completeness = (d.rows or 0) / left if left >= 1.0 else None
    return OwnGaps(count - in_outages, max(0.0, seconds), spans, in_outages, completeness)


def assess_day(
    d: DayFacts,
    limits: tuple[float, float] = COMPLETENESS_LIMITS,
    outages: Sequence[Outage] = (),
    own: OwnGaps | None = None,
) -> tuple[Level, str]:
    """(level, why) of one device on one day, the day's `outages` (`day_outages` of its file)
    taken out; `why` is what the page prints beside a highlighted day. `own`: `own_gaps` of
    `d` and `outages`, when the caller has it already."""
    warn_below, error_below = limits
    if d.source == "none":  # publish/rich.fill_missing_days says which (NO_DATA_DAY, ...)
        return Level.UNKNOWN, d.reason or NO_DATA_DAY
    if d.source == "legacy":
        return Level.UNKNOWN, "imported old statistics: completeness not recorded"
    own = own if own is not None else own_gaps(d, outages)
    bad, warn = [], []
    if d.status == DeviceStatus.PARTIAL:  # has data, but not all of it: never ok, never "no data"
        warn.append(f"device partial: {d.reason}" if d.reason else "device partial")
    elif d.status == DeviceStatus.EMPTY and outages and own.count == 0 and not own.spans:
        return Level.UNKNOWN, IN_OUTAGE
    elif d.status != DeviceStatus.OK:
        return Level.ERROR, f"device {d.status}" + (f": {d.reason}" if d.reason else "")
    if own.completeness is not None and own.completeness < warn_below:
        low = bad if own.completeness < error_below else warn
        low.append(f"completeness {100 * own.completeness:.1f}%"
                   + (" outside the DataLogger outage" if own.in_outages else ""))
    if own.count:
        warn.append(f"{own.count} gap{'s' if own.count != 1 else ''} "
                    f"({duration(own.seconds)} missing)")
    if d.nan_count or d.inf_count:
        bad.append(f"{(d.nan_count or 0) + (d.inf_count or 0)} non-finite values")
    if d.nonincreasing:
        bad.append(f"{d.nonincreasing} non-increasing timestamps")
    return (Level.ERROR if bad else Level.WARN if warn else Level.OK), "; ".join(bad + warn)


def duration(seconds: float) -> str:
    """A span for people: seconds, minutes or hours, one decimal."""
    if seconds < 120:
        return f"{seconds:.1f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"
