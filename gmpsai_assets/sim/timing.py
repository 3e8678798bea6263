"""The simulated TCLK timing system: supercycles, the timeline and event occurrences.

Built on the same `TickClock` as the simulated DataLogger, so `$0C` fires at exactly the ticks
where parameter samples are logged. Supercycle k spans ticks [k*L, (k+1)*L) for a supercycle of L
ticks (a setting, default 901 = 60.0667 s) and opens with `$00`. Each tick carries `$0C` at the
tick and one Booster reset (`$11` null, `$12` prepulse preceded by `$08`, `$13`..`$1D` beam) 18 ms
after it; the other events of TCLK_Events.txt sit where the machine cycles they belong to put them.

Which cycles fill a supercycle is the timeline. Operators change it now and then: time is cut
into slots of a few hours, a slot loads a new timeline with some probability (and always every
`TIMELINE_ANCHOR_SLOTS` slots), and a supercycle runs the timeline in force when it starts.

Every occurrence is a pure function of (seed, supercycle length, tick index, timeline slot), so
a window fetched in pieces gives exactly the occurrences of the whole. Times are rounded to the
millisecond, the resolution of ACL `event_log`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise

import numpy as np

from gmpsai_assets.acnet.tclk import (
    CLOCK_15HZ,
    NOMINAL_TICK_S,
    NULL_RESET,
    PREPULSE_RESET,
    SC_START,
    TimelineEntry,
    check_event,
)
from gmpsai_assets.samples import EventOccurrences
from gmpsai_assets.sim.clock import TickClock
from gmpsai_assets.sim.randomness import key_of, uniform
from gmpsai_assets.window import Window

DEFAULT_SC_TICKS = 901  # 60.0667 s, the team's notes
RESET_DELAY_S = 0.018  # Booster resets follow the tick (GMPS BMIN delayed)
TIMELINE_SLOT_S = 3 * 3600.0
TIMELINE_CHANGE_PROB = 0.3
TIMELINE_ANCHOR_SLOTS = 8  # a timeline is (re)loaded at least once a day
HARDWARE_EVENTS = frozenset({0x0C})  # made by the 15 Hz clock, not listed in the TLG table

PREPULSE_WARN, FIRST_AFTER_PREPULSE = 0x08, 0x0E
PERMIT, INHIBIT, CLEAR_0E_HOLDOFF = 0x1A, 0x1B, 0xF1

# (tick within the cycle, offset after the tick in s, event). Offsets stay below 60 ms so events
# never pass the next tick; one Booster reset per tick at RESET_DELAY_S, `$11` where none is listed.
Template = tuple[int, tuple[tuple[int, float, int], ...]]  # (length in ticks, entries)
_R = RESET_DELAY_S


def _beam_cycle(length: int, mi: int, rr: int, beam: int, batches: int, transfer: int,
                extra: tuple[tuple[int, float, int], ...]) -> Template:
    """An MI/RR machine cycle fed by Booster batches: prepulse, beam resets, transfers, extras."""
    entries = [(0, 0.002, mi), (0, 0.004, rr), (0, 0.010, PREPULSE_WARN), (0, _R, PREPULSE_RESET),
               (1, 0.020, FIRST_AFTER_PREPULSE)]
    for b in range(1, batches + 1):
        entries += [(b, _R, beam), (b, 0.050, transfer)]
    return length, tuple(entries) + extra


CYCLES: dict[str, tuple[Template, ...]] = {  # variants of each kind of machine cycle
    "numi": (
        _beam_cycle(20, 0x23, 0xE3, 0x15, 6, 0xBE, ((14, 0.030, 0xA5), (15, 0.030, 0xAE),
                                                    (18, 0.040, 0xAC))),
        _beam_cycle(20, 0x2A, 0xE3, 0x19, 6, 0xBE, ((14, 0.030, 0xA5), (15, 0.030, 0xAE),
                                                    (18, 0.040, 0xAC))),
    ),
    "bnb": ((5, ((0, _R, 0x1D), (0, 0.045, 0xBF), (1, _R, 0x1D), (1, 0.045, 0xBF),
                 (2, _R, 0x1D), (2, 0.045, 0xBF))),),
    "muon": (
        _beam_cycle(24, 0x2D, 0xE9, 0x14, 4, 0xBE, ((8, 0.030, 0x90), (9, 0.030, 0x91),
                                                    (12, 0.030, 0x93), (13, 0.030, 0x94),
                                                    (16, 0.030, 0x85), (17, 0.030, 0x8E))),
    ),
    "fixed_target": (
        _beam_cycle(60, 0x21, 0xE2, 0x13, 2, 0xBF, ((10, 0.030, 0x32), (12, 0.030, 0x30),
                                                    (20, 0.030, 0x80), (25, 0.030, 0x8E),
                                                    (50, 0.040, 0xAC))),
        _beam_cycle(45, 0x20, 0xE2, 0x13, 2, 0xBF, ((10, 0.030, 0x32), (12, 0.030, 0x30),
                                                    (40, 0.040, 0xAC))),
    ),
    "studies": (
        _beam_cycle(15, 0x2B, 0xE0, 0x17, 1, 0xBF, ((2, _R, 0x16), (3, _R, 0x1C))),
        _beam_cycle(15, 0x2E, 0xE1, 0x16, 1, 0xBE, ((2, 0.030, 0xDE),)),
        _beam_cycle(15, 0x29, 0xE1, 0x17, 1, 0xBF, ()),
    ),
    "mta": ((4, ((0, 0.030, 0xEA), (0, 0.040, 0x04), (1, _R, NULL_RESET))),),
    "idle": ((1, ((0, _R, NULL_RESET),)),),
}
_KINDS = tuple(CYCLES)


@dataclass(frozen=True)
class Layout:
    """One timeline: every event of a supercycle as (tick in the cycle, offset after the tick)."""

    ticks: np.ndarray  # int64, 0..L-1
    offsets: np.ndarray  # float64 seconds after the tick
    events: np.ndarray  # int64 event codes
    by_event: dict[int, tuple[np.ndarray, np.ndarray]]

    @classmethod
    def from_entries(cls, entries: list[tuple[int, float, int]]) -> Layout:
        entries.sort()
        ticks = np.array([e[0] for e in entries], dtype=np.int64)
        offsets = np.array([e[1] for e in entries], dtype=np.float64)
        events = np.array([e[2] for e in entries], dtype=np.int64)
        by_event = {int(ev): (ticks[events == ev], offsets[events == ev])
                    for ev in np.unique(events)}
        return cls(ticks, offsets, events, by_event)


def build_layout(seed: int, sc_ticks: int, slot: int) -> Layout:
    """The timeline loaded in time slot `slot`: a random mix of machine cycles filling L ticks."""
    key = key_of(seed, "timeline", sc_ticks, slot)
    weights = uniform(key, np.arange(len(_KINDS))) ** 2  # each timeline favours a few kinds
    weights[_KINDS.index("idle")] += 0.05
    cumulative = np.cumsum(weights) / weights.sum()
    draws = key_of(seed, "timeline-draws", sc_ticks, slot)
    entries: list[tuple[int, float, int]] = [(0, 0.0, SC_START)]
    entries += [(j, 0.0, CLOCK_15HZ) for j in range(sc_ticks)]
    j, i = 0, 0
    while j < sc_ticks:
        kind = _KINDS[int(np.searchsorted(cumulative, uniform(draws, 2 * i)))]
        variants = CYCLES[kind]
        length, items = variants[int(uniform(draws, 2 * i + 1) * len(variants))]
        length = min(length, sc_ticks - j)
        with_reset = {tick for tick, off, _ in items if off == _R}
        entries += [(j + tick, off, ev) for tick, off, ev in items if tick < length]
        entries += [(j + tick, _R, NULL_RESET) for tick in range(length) if tick not in with_reset]
        j, i = j + length, i + 1
    # once per supercycle: a parasitic beam permit span and the $0E holdoff clear
    a, b = sorted(int(x * sc_ticks) for x in uniform(key ^ np.uint64(1), np.arange(2)))
    if b > a:
        entries += [(a, 0.025, PERMIT), (b, 0.025, INHIBIT)]
    entries.append((sc_ticks - 1, 0.055, CLEAR_0E_HOLDOFF))
    return Layout.from_entries(entries)


class SimulatedTiming:
    """A `TimingSource` that computes TCLK occurrences instead of asking the control system."""

    def __init__(
        self,
        seed: int,
        sc_ticks: int = DEFAULT_SC_TICKS,
        clock: TickClock | None = None,
        now: Callable[[], float] = time.time,
        timeline_slot_s: float = TIMELINE_SLOT_S,
    ) -> None:
        if int(sc_ticks) < 1:
            raise ValueError(f"a supercycle needs at least one tick, got {sc_ticks}")
        self.seed = int(seed)
        self.sc_ticks = int(sc_ticks)
        self.clock = clock or TickClock(self.seed)
        self.now = now
        self.timeline_slot_s = float(timeline_slot_s)
        self._layout = lru_cache(maxsize=16)(self._layout_uncached)

    # ---- the TimingSource interface -----------------------------------------------------

    def event_occurrences(self, event: int, window: Window) -> EventOccurrences:
        check_event(event)
        L = self.sc_ticks
        first = int(np.floor((self.clock.phase(window.start) - 1) / L))
        last = int(np.floor(self.clock.phase(window.end) / L))
        ks = np.arange(first, last + 1, dtype=np.int64)
        starts = self.clock.tick_time(ks * L)
        versions = self._versions(starts)
        utc_parts, sc_parts = [], []
        for lo, hi in _runs(versions):
            ticks_offsets = self._layout(int(versions[lo])).by_event.get(event)
            if ticks_offsets is None:
                continue
            j, off = ticks_offsets
            n = ks[lo:hi, None] * L + j[None, :]
            true_t = self.clock.tick_time(n) + off[None, :]
            utc_parts.append(np.round(true_t * 1000.0).ravel() / 1000.0)
            sc_parts.append(np.round((true_t - starts[lo:hi, None]) * 1000.0).ravel() / 1000.0)
        if not utc_parts:
            return EventOccurrences(event, np.empty(0), np.empty(0))
        utc, sc = np.concatenate(utc_parts), np.concatenate(sc_parts)
        keep = (utc >= window.start) & (utc < window.end)
        return EventOccurrences(event, utc[keep], sc[keep])

    def supercycle_time(self) -> float:
        now = float(self.now())
        return now - self.supercycle_start(now)

    def supercycle_length(self) -> float:
        return self.sc_ticks * NOMINAL_TICK_S

    def timeline(self) -> list[TimelineEntry]:
        return self.timeline_at(float(self.now()))

    # ---- beyond the interface: the same answers at any time -----------------------------

    def supercycle_start(self, t: float) -> float:
        """UTC epoch seconds at which the supercycle running at `t` began."""
        k = int(np.floor(self.clock.phase(t) / self.sc_ticks))
        start = float(self.clock.tick_time(k * self.sc_ticks))
        if start > t:  # phase inversion is exact to well under a microsecond
            start = float(self.clock.tick_time((k - 1) * self.sc_ticks))
        return start

    def timeline_at(self, t: float) -> list[TimelineEntry]:
        """The TLG table of the supercycle running at `t`, at nominal (15 Hz) times."""
        version = int(self._versions(np.array([self.supercycle_start(t)]))[0])
        layout = self._layout(version)
        rows = [(int(j), float(off), int(ev)) for j, off, ev
                in zip(layout.ticks, layout.offsets, layout.events, strict=True)
                if int(ev) not in HARDWARE_EVENTS]
        return [TimelineEntry(i, ev, round(j * NOMINAL_TICK_S + off, 6))
                for i, (j, off, ev) in enumerate(rows)]

    def timeline_version(self, t: float) -> int:
        """The time slot whose timeline the supercycle running at `t` uses (changes = reloads)."""
        return int(self._versions(np.array([self.supercycle_start(t)]))[0])

    # ---- internals ----------------------------------------------------------------------

    def _layout_uncached(self, version: int) -> Layout:
        return build_layout(self.seed, self.sc_ticks, version)

    def _versions(self, sc_starts: np.ndarray) -> np.ndarray:
        """For supercycles starting at `sc_starts`, the slot whose timeline is in force."""
        slots = np.floor(sc_starts / self.timeline_slot_s).astype(np.int64)
        lo = int(slots.min())
        lo -= lo % TIMELINE_ANCHOR_SLOTS  # an anchor slot always loads a timeline
        candidates = np.arange(lo, int(slots.max()) + 1, dtype=np.int64)
        key = key_of(self.seed, "timeline-change", self.sc_ticks)
        changed = (uniform(key, candidates) < TIMELINE_CHANGE_PROB) | (
            candidates % TIMELINE_ANCHOR_SLOTS == 0
        )
        loads = candidates[changed]
        return loads[np.searchsorted(loads, slots, side="right") - 1]


def _runs(values: np.ndarray) -> list[tuple[int, int]]:
    """[lo, hi) index ranges of equal consecutive values."""
    if not values.size:
        return []
    cuts = np.flatnonzero(np.diff(values)) + 1
    edges = [0, *cuts.tolist(), int(values.size)]
    return list(pairwise(edges))
