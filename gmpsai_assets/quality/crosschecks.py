"""Cross-checks between the day's files: the event file against the parameter file (`$0C` against
logged samples) and against itself (one `$00` per supercycle). The checks of `file_stats` only
translate these results, from arrays kept while it distils the day's files (`DayArrays`); the
rules live here so a script or test can ask the same questions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gmpsai_assets.acnet.tclk import (
    CLOCK_15HZ,
    NOMINAL_TICK_S,
    SC_START,
    EventCodeError,
    parse_event,
)
from gmpsai_assets.files.datafile import EVENTS, DataFileInfo, Dataset
from gmpsai_assets.window import Window

OFF_TICK_S = 0.010  # a logged sample this far from every $0C is not on a tick (15% of one)


@dataclass(frozen=True)
class TickCheck:
    """`$0C` occurrences against one device's logged samples over the same window."""

    ticks: int  # $0C occurrences
    samples: int  # logged samples of the reference device
    ticks_in_gaps: int  # $0C inside the DataLogger's gaps (outages), where no sample can be
    gaps: int
    gap_seconds: float
    off_tick: int  # samples with no $0C within OFF_TICK_S
    tolerance: int

    @property
    def difference(self) -> int:
        """Ticks not explained by a sample or a DataLogger gap (negative: samples without one)."""
        return self.ticks - self.samples - self.ticks_in_gaps

    @property
    def passed(self) -> bool:
        return abs(self.difference) <= self.tolerance and self.off_tick <= self.tolerance


def check_ticks_against_samples(
    tick_utc: np.ndarray, sample_utc: np.ndarray, window: Window
) -> TickCheck:
    """Does every logged sample have its `$0C`, and every `$0C` a sample or a DataLogger gap?

    The DataLogger logs at the 15 Hz tick, so outside its outages the sample count equals the
    `$0C` count, and every sample lies within the DataLogger's timestamp jitter of a `$0C`.
    Outages are read from the samples themselves (gaps longer than 1.5 ticks, window edges
    included), so this works for any source, simulated or real; a DataLogger that skipped
    other tick would pass as many short gaps, which `gap_seconds` shows. Tolerance: one tick at
    each window edge, where the timestamp jitter (a few ms) can put a sample on the other side
    of the edge from its `$0C`.
    """
    half, gap_min = 0.5 * NOMINAL_TICK_S, 1.5 * NOMINAL_TICK_S
    t = np.sort(np.asarray(sample_utc, dtype=np.float64))
    edges = np.concatenate([[window.start - half], t, [window.end + half]])
    is_gap = np.diff(edges) > gap_min
    lo, hi = edges[:-1][is_gap] + half, edges[1:][is_gap] - half
    ticks = np.sort(np.asarray(tick_utc, dtype=np.float64))
    in_gaps = int(np.sum(np.searchsorted(ticks, hi) - np.searchsorted(ticks, lo)))
    off_tick = int(t.size)
    if ticks.size:
        i = np.searchsorted(ticks, t)
        before, after = ticks[np.maximum(i - 1, 0)], ticks[np.minimum(i, ticks.size - 1)]
        nearest = np.minimum(np.abs(t - before), np.abs(t - after))
        off_tick = int(np.count_nonzero(nearest > OFF_TICK_S))
    return TickCheck(
        ticks=int(ticks.size), samples=int(t.size), ticks_in_gaps=in_gaps,
        gaps=int(is_gap.sum()), gap_seconds=float(np.sum(hi - lo)), off_tick=off_tick,
        tolerance=2,
    )


@dataclass(frozen=True)
class SupercycleCheck:
    """Supercycles (told by `$0C`'s seconds into the supercycle) against `$00` occurrences."""

    supercycles: int  # supercycles that start inside the window
    starts: int  # $00 occurrences
    missing: list[float]  # starts (UTC) of supercycles without a $00
    doubled: list[float]  # starts of supercycles with more than one $00
    stray: list[float]  # $00 that start no supercycle

    @property
    def passed(self) -> bool:
        return self.supercycles > 0 and not (self.missing or self.doubled or self.stray)


def check_supercycle_starts(
    tick_utc: np.ndarray, tick_sc: np.ndarray, start_utc: np.ndarray, window: Window
) -> SupercycleCheck:
    """Does every supercycle begun in the window start with exactly one `$00`?

    Each `$0C` knows the start of its supercycle (its time minus its seconds into the
    supercycle), so supercycles are found without trusting `$00` itself. Matching allows 2 ms
    (both times are rounded to the millisecond).
    """
    tol = 0.002
    implied = np.sort(np.asarray(tick_utc, np.float64) - np.asarray(tick_sc, np.float64))
    implied = np.round(implied * 1000.0) / 1000.0
    firsts = np.concatenate([[True], np.diff(implied) > 10 * tol]) if implied.size else []
    sc_starts = implied[firsts]  # one per supercycle seen, despite millisecond rounding
    merged = sc_starts[(sc_starts >= window.start + tol) & (sc_starts < window.end)]
    starts = np.sort(np.asarray(start_utc, dtype=np.float64))
    lo, hi = np.searchsorted(starts, merged - tol), np.searchsorted(starts, merged + tol, "right")
    per_sc = hi - lo
    matched = np.zeros(starts.size, bool)
    for a, b in zip(lo, hi, strict=True):
        matched[a:b] = True
    return SupercycleCheck(
        supercycles=int(merged.size), starts=int(starts.size),
        missing=merged[per_sc == 0].tolist(), doubled=merged[per_sc > 1].tolist(),
        stray=starts[~matched].tolist(),
    )


@dataclass
class DayArrays:
    """The few arrays the cross-checks need, kept while the day's files are distilled once
    (`see` is the distiller's `on_dataset`): `$0C` and `$00` from the event file and the
    timestamps of the parameter file's device with the most samples."""

    tick_utc: np.ndarray | None = None
    tick_sc: np.ndarray | None = None
    start_utc: np.ndarray | None = None
    reference: str | None = None
    reference_utc: np.ndarray | None = None

    def see(self, info: DataFileInfo, ds: Dataset) -> None:
        if info.kind == EVENTS:
            code = _event_code(ds.name)
            if code == CLOCK_15HZ:
                self.tick_utc, self.tick_sc = ds.utc_seconds, ds.values
            elif code == SC_START:
                self.start_utc = ds.utc_seconds
        elif self.reference_utc is None or ds.utc_seconds.size > self.reference_utc.size:
            self.reference, self.reference_utc = ds.name, ds.utc_seconds


def _event_code(name: str) -> int | None:
    try:
        return parse_event(name)
    except EventCodeError:
        return None
