"""Statistics of one dataset (a device's samples or an event's occurrences), numpy only.

The old DistillFileStatsToDB computed, with pandas, the first mode, the sample standard deviation
(ddof=1), min and max of each device's values and of its sample intervals, skipping NaN. We keep
exactly those definitions so the legacy view reproduces the old numbers, and add what the team
needs to spot a dead device or a DataLogger outage: counts, mean, percentiles, gaps and
completeness.

The old mode means little for a continuous reading: every value is distinct, so pandas' first
mode is the smallest value. The page draws readings as the median with a p05-p95 band, settings
as the value held longest (the mode, which is right there: a setting repeats one value) and
status words by their usual state, its share of the day and how often the word changed; the
figures for that (p05, p95, distinct values, mode share, value changes) are computed here.

Why no pandas: a full day is 47 devices x 1.3 million samples. One sort per array serves min, max,
the percentiles and the mode (runs of equal values); the rest is numpy arithmetic. The sort is
polars' (twice as fast as numpy's here, same result), and both release the GIL, so the distiller
overlaps it with the HDF5 reads of the next dataset (see stats/distill.py).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

import numpy as np
import polars as pl

from gmpsai_assets.acnet.tclk import NOMINAL_TICK_HZ, NOMINAL_TICK_S
from gmpsai_assets.status import DeviceStatus
from gmpsai_assets.window import Window

DEFAULT_GAP_TICKS = 3.0  # an interval longer than 3 ticks (0.2 s) means samples went missing
# Where a device-file's longest gaps lie (`gap_spans`): enough for the DataLogger outages of a
# day (the page finds them as spans missing in nearly every device, quality/days.py), bounded
# for a device logged far below 15 Hz, whose every interval is a gap.
GAP_SPANS_KEPT = 100
PERCENTILES = (1.0, 5.0, 50.0, 95.0, 99.0)


@dataclass(frozen=True)
class Summary:
    """Summary of a NaN-free 1-d sample; every figure is None when the sample is empty."""

    count: int
    mean: float | None
    std: float | None  # sample standard deviation (ddof=1), as pandas and the old tool
    min: float | None
    max: float | None
    mode: float | None  # the smallest of the most frequent values (pandas .mode()[0])
    p01: float | None
    p05: float | None
    p50: float | None
    p95: float | None
    p99: float | None
    distinct_values: int | None  # how many different values
    mode_share: float | None  # share of the values equal to the mode


@dataclass(frozen=True)
class ParamStats:
    """Statistics of one device in one file. `status`/`reason` are what the file says."""

    device: str
    status: str  # a DeviceStatus, or its word as the file says it
    reason: str
    rows: int
    nan_count: int
    inf_count: int
    mean: float | None
    std: float | None
    min: float | None
    max: float | None
    mode: float | None
    p01: float | None
    p50: float | None
    p99: float | None
    p05: float | None
    p95: float | None
    distinct_values: int | None
    mode_share: float | None
    value_changes: int | None  # consecutive finite values that differ (a status word's flips)
    first_utc: float | None
    last_utc: float | None
    interval_mean: float | None
    interval_std: float | None
    interval_min: float | None
    interval_max: float | None
    interval_mode: float | None
    # steps where the timestamp did not increase (should be 0): in the file, plus the steps back
    # in time the source delivered the samples with before they were sorted (out_of_order)
    nonincreasing: int
    gap_count: int
    gap_seconds: float
    expected_rows: int | None  # 15 Hz ticks the window should hold
    completeness: float | None  # rows / expected_rows
    # [start, end] (UTC s) of the GAP_SPANS_KEPT longest gaps, in time order: the last sample
    # before and the first after (the window's edge for a gap at an edge); None where unknown
    # (statistics distilled before the store kept them, store schema version 4)
    gap_spans: list[list[float]] | None = None

    def row(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True)
class EventStats:
    """Statistics of one TCLK event's occurrences in one file."""

    event: str  # dataset name, e.g. Event0c
    code: int | None  # 0x0c
    count: int
    first_utc: float | None
    last_utc: float | None
    interval_mean: float | None
    interval_std: float | None
    interval_min: float | None
    interval_max: float | None
    interval_mode: float | None
    nonincreasing: int

    def row(self) -> dict[str, object]:
        return asdict(self)


def summarize(x: np.ndarray, percentiles: bool = True) -> Summary:
    """Summary of `x` (NaN already removed) from one sort."""
    n = int(x.size)
    if n == 0:
        return Summary(0, *[None] * (len(fields(Summary)) - 1))
    s = sorted_copy(x)
    with np.errstate(invalid="ignore", over="ignore"):  # inf - inf gives NaN, as in pandas
        mean = float(np.mean(x))
        std = float(np.std(x, ddof=1)) if n > 1 else math.nan
    pct = ([_percentile_sorted(s, q) for q in PERCENTILES] if percentiles
           else [None] * len(PERCENTILES))
    mode, mode_count, distinct = _first_mode_sorted(s)
    return Summary(n, mean, std, float(s[0]), float(s[-1]), mode, *pct, distinct,
                   mode_count / n)


def sorted_copy(x: np.ndarray) -> np.ndarray:
    """`np.sort(x)` for a NaN-free float array, by polars: the same result in half numpy's time
    here (numpy's scalar introsort; a fifth of the time for the few-valued sample intervals)."""
    return pl.Series(x, dtype=pl.Float64).sort().to_numpy()


def _first_mode_sorted(s: np.ndarray) -> tuple[float, int, int]:
    """(mode, its count, distinct values) of a sorted array; the mode is the smallest most
    frequent value: the first of the longest runs."""
    change = s[1:] != s[:-1]
    changes = int(np.count_nonzero(change))
    if changes == s.size - 1:  # all distinct: all are modes, the first is min
        return float(s[0]), 1, s.size
    starts = np.flatnonzero(change) + 1
    bounds = np.concatenate(([0], starts, [s.size]))
    runs = np.diff(bounds)
    longest = int(np.argmax(runs))
    return float(s[bounds[longest]]), int(runs[longest]), changes + 1


def _percentile_sorted(s: np.ndarray, q: float) -> float:
    """numpy's default (linear) percentile, read off an already sorted array."""
    pos = (s.size - 1) * q / 100.0
    lo = math.floor(pos)
    hi = min(lo + 1, s.size - 1)
    frac = pos - lo
    a, b = float(s[lo]), float(s[hi])
    return a + (b - a) * frac if frac < 0.5 else b - (b - a) * (1.0 - frac)


def _without_nan(x: np.ndarray) -> tuple[np.ndarray, int]:
    nan = np.isnan(x)
    count = int(np.count_nonzero(nan))
    return (x[~nan] if count else x), count


def _intervals(t: np.ndarray) -> tuple[np.ndarray, Summary, int]:
    """Intervals without NaN, their summary, and the steps that fail to increase (NaN counts)."""
    raw = np.diff(t)
    nonincreasing = int(raw.size - np.count_nonzero(raw > 0))
    d, _ = _without_nan(raw)
    return d, summarize(d, percentiles=False), nonincreasing


def expected_rows(window: Window) -> int:
    """Samples a window should hold at the Booster's nominal 15 Hz (the line moves it < 0.05%)."""
    return round(window.seconds * NOMINAL_TICK_HZ)


def gaps(
    t: np.ndarray, d: np.ndarray, window: Window | None, gap_ticks: float
) -> tuple[int, float]:
    """Intervals longer than `gap_ticks` ticks, counted with the window's edges; gap time is
    what each gap holds beyond one nominal tick, i.e. the time in which samples were missed."""
    limit = gap_ticks * NOMINAL_TICK_S
    long = d[d > limit]
    count, seconds = int(long.size), float(np.sum(long - NOMINAL_TICK_S))
    if window is not None:
        if t.size == 0:
            return 1, window.seconds
        for edge in (float(t[0]) - window.start, window.end - float(t[-1])):
            if edge > limit:
                count += 1
                seconds += edge - NOMINAL_TICK_S
    return count, seconds


def gap_spans(
    t: np.ndarray, window: Window | None, gap_ticks: float, keep: int = GAP_SPANS_KEPT
) -> list[list[float]]:
    """[start, end] of the gaps `gaps` counts (the same intervals, the same edges), the `keep`
    longest of them in time order."""
    limit = gap_ticks * NOMINAL_TICK_S
    if window is not None and t.size == 0:
        return [[window.start, window.end]]
    spans: list[tuple[float, float]] = []
    if window is not None and float(t[0]) - window.start > limit:
        spans.append((window.start, float(t[0])))
    with np.errstate(invalid="ignore"):  # a NaN timestamp makes no gap, as in `gaps`
        at = np.nonzero(np.diff(t) > limit)[0]
    spans.extend(zip(t[at].tolist(), t[at + 1].tolist(), strict=True))
    if window is not None and window.end - float(t[-1]) > limit:
        spans.append((float(t[-1]), window.end))
    if len(spans) > keep:
        spans = sorted(sorted(spans, key=lambda s: s[0] - s[1])[:keep])
    return [[a, b] for a, b in spans]


def param_stats(
    device: str,
    utc_seconds: np.ndarray,
    values: np.ndarray,
    window: Window | None = None,
    gap_ticks: float = DEFAULT_GAP_TICKS,
    status: str = DeviceStatus.OK,
    reason: str = "",
    out_of_order: int = 0,
) -> ParamStats:
    """Everything the store keeps about one device of one file; `out_of_order` is what the
    file records of the order the source delivered the samples in (Samples.out_of_order)."""
    t = np.asarray(utc_seconds, dtype=np.float64)
    v = np.asarray(values, dtype=np.float64)
    not_nan, nan_count = _without_nan(v)
    vs = summarize(not_nan)
    d, ds, nonincreasing = _intervals(t)
    gap_count, gap_seconds = gaps(t, d, window, gap_ticks)
    expected = expected_rows(window) if window is not None else None
    rows = int(t.size)
    return ParamStats(
        device=device, status=status, reason=reason, rows=rows,
        nan_count=nan_count, inf_count=int(np.count_nonzero(np.isinf(not_nan))),
        mean=vs.mean, std=vs.std, min=vs.min, max=vs.max, mode=vs.mode,
        p01=vs.p01, p50=vs.p50, p99=vs.p99, p05=vs.p05, p95=vs.p95,
        distinct_values=vs.distinct_values, mode_share=vs.mode_share,
        value_changes=int(np.count_nonzero(not_nan[1:] != not_nan[:-1])) if vs.count else None,
        first_utc=float(t[0]) if rows else None, last_utc=float(t[-1]) if rows else None,
        interval_mean=ds.mean, interval_std=ds.std, interval_min=ds.min, interval_max=ds.max,
        interval_mode=ds.mode, nonincreasing=nonincreasing + out_of_order,
        gap_count=gap_count, gap_seconds=gap_seconds,
        expected_rows=expected, completeness=rows / expected if expected else None,
        gap_spans=gap_spans(t, window, gap_ticks),
    )


def event_stats(event: str, utc_seconds: np.ndarray, code: int | None = None) -> EventStats:
    """Count, first/last occurrence and interval statistics of one event."""
    t = np.asarray(utc_seconds, dtype=np.float64)
    _, ds, nonincreasing = _intervals(t)
    n = int(t.size)
    return EventStats(
        event=event, code=code, count=n,
        first_utc=float(t[0]) if n else None, last_utc=float(t[-1]) if n else None,
        interval_mean=ds.mean, interval_std=ds.std, interval_min=ds.min, interval_max=ds.max,
        interval_mode=ds.mode, nonincreasing=nonincreasing,
    )
