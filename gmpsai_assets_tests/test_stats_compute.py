"""Statistics against numpy/pandas references on small arrays with known gaps and NaNs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from gmpsai_assets.acnet.tclk import NOMINAL_TICK_S
from gmpsai_assets.stats.compute import event_stats, gap_spans, param_stats, summarize
from gmpsai_assets.window import Window

T0 = 1_583_816_400.0  # 2020-03-10 00:00 America/Chicago


def _series() -> tuple[np.ndarray, np.ndarray, Window]:
    """40 ticks with ticks 10..15 missing (a 7-tick interval) and three NaN values."""
    ticks = np.array([i for i in range(40) if not 10 <= i <= 15])
    t = T0 + ticks * NOMINAL_TICK_S + np.where(ticks % 3 == 0, 0.001, -0.001)
    v = np.round(np.sin(ticks / 4.0), 2)  # rounding makes repeated values, so a real mode
    v[[2, 20, 30]] = np.nan
    return t, v, Window(T0, T0 + 40 * NOMINAL_TICK_S)


def test_value_statistics_match_pandas_and_numpy() -> None:
    t, v, w = _series()
    s = param_stats("B:VIMIN", t, v, w)
    ref = pd.Series(v)
    finite = v[~np.isnan(v)]
    assert s.rows == len(v) and s.nan_count == 3 and s.inf_count == 0
    assert s.mode == ref.mode()[0]  # the old tool's "zeroth mode"
    assert s.std == pytest.approx(ref.std())  # sample std, NaN skipped
    assert s.mean == pytest.approx(ref.mean())
    assert (s.min, s.max) == (ref.min(), ref.max())
    p01, p50, p99 = np.percentile(finite, [1, 50, 99])
    assert (s.p01, s.p50, s.p99) == pytest.approx((p01, p50, p99), rel=1e-12)
    assert (s.first_utc, s.last_utc) == (t[0], t[-1])


def test_interval_statistics_match_pandas_diff() -> None:
    t, v, w = _series()
    s = param_stats("B:VIMIN", t, v, w)
    d = pd.Series(t).diff()  # what DistillFileStatsToDB computed, first row NaN
    assert s.interval_mode == d.mode()[0]
    assert s.interval_std == pytest.approx(d.std())
    assert s.interval_mean == pytest.approx(d.mean())
    assert (s.interval_min, s.interval_max) == (d.min(), d.max())
    assert s.nonincreasing == 0


def test_gaps_and_completeness() -> None:
    t, v, w = _series()
    s = param_stats("B:VIMIN", t, v, w, gap_ticks=3)
    # one interval of 7 ticks (tick 9 at +1 ms to tick 16 at -1 ms): 6 ticks of missed samples
    # less 2 ms, by hand with the design's 15 Hz; the window's edges are within a tick.
    # Exact but for float64 at epoch magnitude (T0 ~ 1.6e9 s: 2.4e-7 s per step)
    assert s.gap_count == 1
    assert s.gap_seconds == pytest.approx(6 / 15 - 0.002, abs=1e-6)
    assert s.expected_rows == 40
    assert s.completeness == pytest.approx(34 / 40)
    # a longer gap limit no longer counts it
    assert param_stats("B:VIMIN", t, v, w, gap_ticks=8).gap_count == 0


def test_gaps_at_the_window_edges_count() -> None:
    t, v, _ = _series()
    wide = Window(T0 - 10.0, T0 + 40 * NOMINAL_TICK_S + 5.0)
    s = param_stats("B:VIMIN", t, v, wide, gap_ticks=3)
    # by hand: the inner gap as above, the left edge 10 s + 1 ms (tick 0 at +1 ms) and the right
    # one 1/15 s + 5 s - 1 ms (tick 39 at +1 ms), each less the one tick a sample is due in
    assert s.gap_count == 3
    inner, left, right = 6 / 15 - 0.002, 10.001 - 1 / 15, 5.0 - 0.001
    assert s.gap_seconds == pytest.approx(inner + left + right, abs=1e-6)


def test_gap_spans_are_where_the_counted_gaps_lie() -> None:
    """The spans of the gaps `gap_count` counts: the samples either side of an interior gap,
    the window's edge for an edge gap; the longest ones kept, in time order."""
    t, v, _ = _series()
    wide = Window(T0 - 10.0, T0 + 40 * NOMINAL_TICK_S + 5.0)
    s = param_stats("B:VIMIN", t, v, wide, gap_ticks=3)
    assert s.gap_spans == [[wide.start, t[0]], [t[9], t[10]], [t[-1], wide.end]]
    assert len(s.gap_spans) == s.gap_count
    assert gap_spans(t, wide, 3, keep=2) == [[wide.start, t[0]], [t[-1], wide.end]]
    assert param_stats("B:VIMIN", t, v, wide, gap_ticks=8).gap_spans == [
        [wide.start, t[0]], [t[-1], wide.end]]
    w = Window(T0, T0 + 60.0)
    assert gap_spans(np.empty(0), w, 3) == [[w.start, w.end]]  # no sample: all of it
    assert gap_spans(np.array([T0, np.nan, T0 + 1.0]), None, 3) == []  # NaN makes no gap


def test_empty_device_is_one_window_long_gap() -> None:
    w = Window(T0, T0 + 60.0)
    s = param_stats("B:DEAD", np.empty(0), np.empty(0), w, status="failed", reason="not logged")
    assert (s.rows, s.mode, s.mean, s.first_utc, s.interval_mode) == (0, None, None, None, None)
    assert (s.gap_count, s.gap_seconds, s.completeness) == (1, 60.0, 0.0)
    assert (s.status, s.reason) == ("failed", "not logged")


def test_mode_is_the_smallest_of_tied_values_and_the_minimum_when_all_distinct() -> None:
    tied = np.array([3.0, 3.0, 1.0, 1.0, 2.0, 5.0])
    assert summarize(tied).mode == pd.Series(tied).mode()[0] == 1.0
    distinct = np.array([0.3, -2.0, 7.5])
    assert summarize(distinct).mode == pd.Series(distinct).mode()[0] == -2.0
    assert summarize(np.array([4.0])).std != summarize(np.array([4.0])).std  # NaN, as pandas


def test_infinities_and_disordered_timestamps_are_counted() -> None:
    t = np.array([1.0, 2.0, 2.0, 1.5, np.nan, 3.0])
    v = np.array([0.0, np.inf, 1.0, -np.inf, np.nan, 2.0])
    s = param_stats("B:X", t, v)
    assert (s.nan_count, s.inf_count) == (1, 2)
    # 2->2 equal, 2->1.5 backwards, 1.5->nan and nan->3 unknown: four steps fail to increase
    assert s.nonincreasing == 4
    assert s.expected_rows is None and s.completeness is None


def test_event_statistics() -> None:
    t = T0 + np.array([0.0, 60.0666, 120.1333, 180.2, 360.4])
    e = event_stats("Event00", t, 0)
    d = pd.Series(t).diff()
    assert (e.event, e.code, e.count) == ("Event00", 0, 5)
    assert (e.first_utc, e.last_utc) == (t[0], t[-1])
    assert e.interval_mode == d.mode()[0]
    assert (e.interval_min, e.interval_max) == (d.min(), d.max())
    assert e.interval_std == pytest.approx(d.std())
    assert event_stats("Event01", np.empty(0)).count == 0


def test_figures_for_the_page_match_numpy() -> None:
    """p05/p95 as numpy's percentiles; distinct values, the mode's share and the changes in time
    order as counted directly: what the page draws for readings, settings and status words."""
    t, v, w = _series()
    s = param_stats("B:VIMIN", t, v, w)
    finite = v[~np.isnan(v)]
    assert (s.p05, s.p95) == pytest.approx(tuple(np.percentile(finite, [5, 95])), rel=1e-12)
    values, counts = np.unique(finite, return_counts=True)
    assert s.distinct_values == values.size
    assert s.mode_share == pytest.approx(counts.max() / finite.size)
    assert s.value_changes == int(np.sum(finite[1:] != finite[:-1]))
    word = np.array([5, 5, 5, 7, 7, 5, 5, 5], dtype=float)  # a status word that flipped twice
    st = param_stats("B|GMPSSC", T0 + np.arange(8) * NOMINAL_TICK_S, word)
    assert (st.mode, st.distinct_values, st.mode_share, st.value_changes) == (5.0, 2, 0.75, 2)
    empty = param_stats("B:X", np.array([]), np.array([]), w)
    assert (empty.p05, empty.distinct_values, empty.value_changes) == (None, None, None)
