"""Which logged sample belongs to which Booster cycle: the lag estimate and the exact matching.

The DataLogger logs every device once per 15 Hz tick and stamps the sample a little after (or,
with jitter, a little before) the tick's `$0C`. Per device we measure that lag from the day's own
data, then give each `$0C` the sample nearest to `tick + lag`, if it lies within the tolerance.
Nothing is interpolated, filled or moved to a neighbouring cycle: a cycle without its sample
stays empty, and a sample that fits no cycle is counted, never used. docs/cycle_table.md states
the rule; the functions here are its only implementation.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from gmpsai_assets.acnet.tclk import NOMINAL_TICK_S

TICK_S = NOMINAL_TICK_S
DEFAULT_TOLERANCE_TICKS = 0.25  # 16.7 ms: neighbouring cycles' windows never overlap
MAX_TOLERANCE_TICKS = 0.5
LAG_BINS = 67  # ~1 ms bins over one tick for finding the lag's peak
# The lag and the spread are a median and a percentile: an evenly strided subset of this size
# gives them within ~0.02 ms (a few ms of jitter over sqrt(50 000)) and costs a quarter of 200 000.
LAG_SAMPLE_CAP = 50_000
# A lag is read in (-1/4, +3/4] tick: DataLoggers stamp a sample after the event that triggered it,
# give or take jitter, so a peak 60 ms after one $0C means "6 ms before the next" only if it
# falls outside this range.
LAG_LOW_TICKS = -0.25


class MatchingError(ValueError):
    """Tolerance or inputs that make the matching ambiguous."""


def check_tolerance(tolerance_ticks: float) -> float:
    """The tolerance in ticks, refused outside (0, 0.5]: wider would let one sample fit two
    cycles."""
    if not 0.0 < tolerance_ticks <= MAX_TOLERANCE_TICKS:
        raise MatchingError(
            f"tolerance must be in (0, {MAX_TOLERANCE_TICKS}] tick, got {tolerance_ticks}"
        )
    return float(tolerance_ticks)


def estimate_lag(ticks: np.ndarray, samples: np.ndarray) -> float | None:
    """Seconds from a `$0C` to the stamp of the sample logged for it, from the day's data.

    Each sample's offset after its preceding `$0C` is histogrammed in ~1 ms bins over one tick;
    the fullest bin is the lag's neighbourhood, and the lag is the median offset within half a
    tick of it (offsets taken modulo one tick, so jitter around 0 is not split in two). Returns
    None when no sample sits between two `$0C` less than 1.5 ticks apart.
    """
    if ticks.size < 2 or samples.size == 0:
        return None
    step = max(1, samples.size // LAG_SAMPLE_CAP)
    s = samples[::step]
    i = np.searchsorted(ticks, s, side="right") - 1
    inside = (i >= 0) & (i < ticks.size - 1)
    i, s = i[inside], s[inside]
    inside = (ticks[i + 1] - ticks[i]) < 1.5 * TICK_S  # not across a gap in the events
    off = s[inside] - ticks[i[inside]]
    if off.size == 0:
        return None
    bins = np.minimum((off / TICK_S * LAG_BINS).astype(np.int64), LAG_BINS - 1)
    counts = np.bincount(bins, minlength=LAG_BINS)
    smooth = counts + np.roll(counts, 1) + np.roll(counts, -1)  # a peak split across two bins
    peak = (int(np.argmax(smooth)) + 0.5) / LAG_BINS * TICK_S
    centred = (off - peak + 0.5 * TICK_S) % TICK_S - 0.5 * TICK_S
    lag = peak + float(np.median(centred))
    if lag > (1 + LAG_LOW_TICKS) * TICK_S:
        lag -= TICK_S
    elif lag <= LAG_LOW_TICKS * TICK_S:
        lag += TICK_S
    return lag


@dataclass(frozen=True)
class Match:
    """The outcome for one device: `tick_index[k]` takes `sample_index[k]`."""

    tick_index: np.ndarray  # int64, strictly increasing
    sample_index: np.ndarray  # int64, strictly increasing
    samples: int
    outside: int  # samples beyond every tick's window at the ends of the day (no cycle there)
    lag_s: float | None
    tolerance_s: float
    spread_s: float | None  # 99th percentile of |sample - (tick + lag)| over matched samples

    @property
    def filled(self) -> int:
        return int(self.tick_index.size)

    @property
    def unmatched(self) -> int:
        """Samples not used: off every cycle's window, a second sample in one cycle, or outside."""
        return self.samples - self.filled

    @property
    def unmatched_inside(self) -> int:
        """Unmatched samples within the day's cycles: what the `filled_share` check counts."""
        return self.unmatched - self.outside


ANCHOR_EVERY = 1024  # samples between two whose cycle is looked up exactly (_nearest)
# Far more than the rounding of a difference of two epoch seconds (2.4e-7 s at 1.7e9 s).
SURE_MARGIN_S = 1e-5


def _bracketing(expected: np.ndarray, samples: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each sample's nearest `expected` time (the earlier on a tie) and the distance to it,
    the direct way: the cycle just before the sample and the one after it compared.
    np.interp walks sorted samples in step with the ticks (about twice as fast as
    searchsorted here); its float index can only be off where a sample sits within rounding
    of a tick, and then that tick is one of the two looked at."""
    k = np.interp(samples, expected, _float_index(expected.size)).astype(np.int64)
    k_next = np.minimum(k + 1, expected.size - 1)
    d_left = np.abs(samples - expected[k])
    d_right = np.abs(expected[k_next] - samples)
    return np.where(d_right < d_left, k_next, k), np.minimum(d_left, d_right)


@functools.lru_cache(maxsize=1)
def _float_index(n: int) -> np.ndarray:
    """0.0 .. n-1 for np.interp: a day's devices share one (making it costs as much as a
    small interpolation)."""
    index = np.arange(n, dtype=np.float64)
    index.setflags(write=False)
    return index


def _nearest(
    expected: np.ndarray, samples: np.ndarray, half_gaps: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """What `_bracketing` gives, found faster the way the DataLogger logs: one sample per
    cycle, so between outages sample j belongs to cycle j + c. c is read at every
    ANCHOR_EVERY-th sample (`_bracketing` on those alone); where it stays the same from one
    anchor to the next, the run's samples and cycles line up as two slices (no gathers, no
    index arrays: this is the hot loop of a day's table). A sample's guess is kept only where
    it is nearer its cycle than half the gap to either neighbouring cycle, which makes that
    cycle the nearest beyond doubt (a tie never passes); every other sample, and every block
    where c changes, is looked up by `_bracketing`. Same result, sample for sample.
    `half_gaps`: `cycle_half_gaps` of the ticks, when the caller matches many devices."""
    m, n = samples.size, expected.size
    if n < 2 or m < 2 * ANCHOR_EVERY:
        return _bracketing(expected, samples)
    if half_gaps is None:
        half_gaps = cycle_half_gaps(expected)
    anchors = np.arange(0, m, ANCHOR_EVERY)
    offset = _bracketing(expected, samples[anchors])[0] - anchors
    nearest = np.arange(m, dtype=np.int64)
    dist = np.empty(m)
    unsure = np.ones(m, bool)
    # runs of anchors with one offset: samples [a, b) go with cycles [a + c, b + c)
    starts = np.flatnonzero(np.concatenate([[True], offset[1:] != offset[:-1]]))
    ends = np.append(starts[1:], offset.size)
    for first, last in zip(starts.tolist(), ends.tolist(), strict=True):
        c = int(offset[first])
        # where c changes inside the run's last block, the sure test catches the wrong guesses
        a = max(first * ANCHOR_EVERY, -c)  # no cycle before the first
        b = min(last * ANCHOR_EVERY, m, n - c)  # nor beyond the last
        if b <= a:
            continue
        nearest[a:b] += c
        np.subtract(samples[a:b], expected[a + c:b + c], out=dist[a:b])
        np.abs(dist[a:b], out=dist[a:b])
        np.greater_equal(dist[a:b], half_gaps[a + c:b + c], out=unsure[a:b])
    left = np.flatnonzero(unsure)
    if left.size:
        nearest[left], dist[left] = _bracketing(expected, samples[left])
    return nearest, dist


def cycle_half_gaps(ticks: np.ndarray) -> np.ndarray:
    """Half the distance from each cycle to its nearer neighbour (the only one at the ends),
    less SURE_MARGIN_S: a sample that close to halfway is left to `_bracketing`, whose
    comparison of two rounded distances decides it. The same for `$0C` times and for them
    plus any lag (a shift moves the gaps by rounding only, far inside the margin), so a day's
    matching computes it once."""
    gaps = np.diff(ticks)
    half = np.empty(ticks.size)
    half[0], half[-1] = gaps[0], gaps[-1]
    np.minimum(gaps[:-1], gaps[1:], out=half[1:-1])
    half *= 0.5
    half -= SURE_MARGIN_S
    return half


def match_samples(
    ticks: np.ndarray, samples: np.ndarray, tolerance_ticks: float = DEFAULT_TOLERANCE_TICKS,
    lag_s: float | None = None, half_gaps: np.ndarray | None = None,
) -> Match:
    """Match one device's (time-sorted) sample stamps to the day's (sorted) `$0C` times.

    Each sample is offered to the cycle whose `$0C + lag` is nearest (the earlier one on a tie),
    and is admissible if within `tolerance_ticks` of it. A cycle with several admissible samples
    takes the nearest (the earliest on a tie); the others stay unmatched. So a sample is used at
    most once and only by its own cycle. `lag_s` None: estimated with `estimate_lag`.
    `half_gaps`: `cycle_half_gaps(ticks)`, computed once by a caller matching many devices.
    """
    tol = check_tolerance(tolerance_ticks) * TICK_S
    n = int(samples.size)
    if lag_s is None:
        lag_s = estimate_lag(ticks, samples)
    empty = np.empty(0, np.int64)
    if n == 0 or ticks.size == 0 or lag_s is None:
        return Match(empty, empty, n, n, lag_s, tol, None)
    expected = ticks + lag_s
    nearest, dist = _nearest(expected, samples, half_gaps)
    admissible = dist <= tol
    outside = int(np.count_nonzero((samples < expected[0] - tol) | (samples > expected[-1] + tol)))
    if admissible.all():  # the usual day: no sample off its cycle, nothing to gather
        s_idx, t_idx, d = np.arange(n, dtype=np.int64), nearest, dist
    else:
        s_idx = np.flatnonzero(admissible)
        t_idx, d = nearest[s_idx], dist[s_idx]
    if t_idx.size > 1 and np.any(t_idx[1:] == t_idx[:-1]):
        # several samples for one cycle (rare): keep the nearest, the earliest on a tie
        order = np.lexsort((s_idx, d, t_idx))
        t_sorted = t_idx[order]
        first = np.concatenate([[True], t_sorted[1:] != t_sorted[:-1]])
        keep = np.sort(order[first])
        s_idx, t_idx, d = s_idx[keep], t_idx[keep], d[keep]
    spread = float(np.percentile(d[:: max(1, d.size // LAG_SAMPLE_CAP)], 99)) if d.size else None
    return Match(t_idx.astype(np.int64, copy=False), s_idx.astype(np.int64, copy=False), n,
                 outside, lag_s, tol, spread)
