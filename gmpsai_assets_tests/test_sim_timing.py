from itertools import pairwise

import numpy as np
import pytest

from gmpsai_assets.acnet.datalogger import DataLogger
from gmpsai_assets.acnet.tclk import TimingSource, known_events
from gmpsai_assets.settings import Settings
from gmpsai_assets.sim.clock import TickClock
from gmpsai_assets.sim.simulator import JITTER_S, SimulatedBooster
from gmpsai_assets.sim.timing import (
    DEFAULT_SC_TICKS,
    RESET_DELAY_S,
    SimulatedTiming,
)
from gmpsai_assets.sources import open_datalogger
from gmpsai_assets.window import Window, day_window

SEED = 20200310
HOUR = day_window("2026-03-10").split(3600)[13]  # 13:00-14:00 local
RESETS = (0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x19, 0x1C, 0x1D)


def ms(t):
    return np.round(np.asarray(t) * 1000.0) / 1000.0


@pytest.fixture(scope="module")
def timing() -> SimulatedTiming:
    return SimulatedTiming(SEED)


def test_same_seed_same_occurrences_other_seed_other_timeline():
    w = Window(HOUR.start, HOUR.start + 300)
    a = SimulatedTiming(SEED).event_occurrences(0x15, w)
    b = SimulatedTiming(SEED).event_occurrences(0x15, w)
    assert np.array_equal(a.utc_seconds, b.utc_seconds)
    assert np.array_equal(a.sc_seconds, b.sc_seconds)
    others = [SimulatedTiming(s).timeline_at(HOUR.start) for s in (1, 2, 3)]
    mine = SimulatedTiming(SEED).timeline_at(HOUR.start)
    assert any(o != mine for o in others)


@pytest.mark.parametrize("event", [0x00, 0x0C, 0x12, 0xBE, 0x1A])
@pytest.mark.parametrize("piece", [0.07, 13.3, 61.0])
def test_window_fetched_in_pieces_equals_whole(event, piece):
    w = Window(HOUR.start + 0.0123, HOUR.start + min(600.0, piece * 400))
    whole = SimulatedTiming(SEED).event_occurrences(event, w)
    timing = SimulatedTiming(SEED)
    parts = [timing.event_occurrences(event, p) for p in w.split(piece)]
    assert np.array_equal(np.concatenate([p.utc_seconds for p in parts]), whole.utc_seconds)
    assert np.array_equal(np.concatenate([p.sc_seconds for p in parts]), whole.sc_seconds)


def test_0c_fires_at_every_tick_of_the_clock(timing):
    w = Window(HOUR.start, HOUR.start + 1.0)
    clock = TickClock(SEED)
    n = clock.ticks_between(w.start, w.end)
    occ = timing.event_occurrences(0x0C, w)
    assert len(occ) in (14, 15, 16)  # 15 Hz, following the line
    assert np.array_equal(occ.utc_seconds, ms(clock.tick_time(n)))
    start = clock.tick_time((n // DEFAULT_SC_TICKS) * DEFAULT_SC_TICKS)
    assert np.allclose(occ.sc_seconds, clock.tick_time(n) - start, atol=6e-4)


def test_0c_matches_the_datalogger_samples_outside_outages():
    sim = SimulatedBooster(seed=SEED)
    occ = sim.event_occurrences(0x0C, HOUR)
    samples = sim.fetch("B:VIMIN", HOUR).utc_seconds
    # every logged sample sits on a $0C, within the logger's timestamp jitter
    idx = np.clip(np.searchsorted(occ.utc_seconds, samples), 1, len(occ) - 1)
    before, after = occ.utc_seconds[idx - 1], occ.utc_seconds[idx]
    nearest = np.minimum(abs(samples - before), abs(samples - after))
    assert nearest.max() <= JITTER_S + 0.0011
    # and $0C has no outages: the ticks it has beyond the samples all fall inside outages
    down = np.zeros(len(occ), bool)
    for a, b in sim.outages(HOUR):
        down |= (occ.utc_seconds >= a) & (occ.utc_seconds < b)
    assert abs(int((~down).sum()) - len(samples)) <= 2  # a sample may cross an edge by jitter


def test_supercycle_opens_with_one_00_every_901_ticks(timing):
    w = Window(HOUR.start, HOUR.start + 600)
    starts = timing.event_occurrences(0x00, w)
    clock = TickClock(SEED)
    k = np.arange(np.ceil(clock.phase(w.start) / 901), np.ceil(clock.phase(w.end) / 901))
    assert np.array_equal(starts.utc_seconds, ms(clock.tick_time(k * 901)))  # by hand
    assert np.all(starts.sc_seconds == 0)
    assert np.allclose(np.diff(starts.utc_seconds), 901 / 15, atol=0.02)
    zero_0c = timing.event_occurrences(0x0C, w)
    assert np.array_equal(zero_0c.utc_seconds[zero_0c.sc_seconds == 0], starts.utc_seconds)


def test_one_booster_reset_per_tick_18ms_after_it(timing):
    w = Window(HOUR.start, HOUR.start + 120)
    ticks = timing.event_occurrences(0x0C, w).utc_seconds
    later = Window(w.start + RESET_DELAY_S, w.end + RESET_DELAY_S)
    resets = np.concatenate([timing.event_occurrences(e, later).utc_seconds for e in RESETS])
    resets.sort()
    assert len(resets) == len(ticks)
    assert np.allclose(resets - ticks, RESET_DELAY_S, atol=1.1e-3)


def test_prepulse_always_preceded_by_08(timing):
    w = Window(HOUR.start, HOUR.start + 600)
    pre = timing.event_occurrences(0x12, w).utc_seconds
    warn = timing.event_occurrences(0x08, w).utc_seconds
    assert len(pre) > 0 and len(pre) == len(warn)
    assert np.all((pre - warn > 0) & (pre - warn < 0.02))


def test_events_are_time_ordered_and_from_the_team_list(timing):
    w = Window(HOUR.start, HOUR.start + 900)
    found = {}
    for event in range(256):
        occ = timing.event_occurrences(event, w)
        if len(occ):
            assert np.all(np.diff(occ.utc_seconds) > 0)
            assert np.all((occ.sc_seconds >= 0) & (occ.sc_seconds < 901 / 15 + 0.1))
            found[event] = len(occ)
    assert set(found) - {0x08} <= set(known_events())  # $08 is named by $12's description
    assert len(found) >= 20


def test_timeline_matches_the_occurrences_of_its_supercycle(timing):
    w = day_window("2026-03-10")
    t = w.start + 5000.0
    start = timing.supercycle_start(t)
    table = timing.timeline_at(t)
    assert [e.index for e in table] == list(range(len(table)))
    assert (table[0].event, table[0].sc_time) == (0x00, 0.0)
    sc = Window(start, timing.supercycle_start(start + 61.0))  # this supercycle only
    for event in {e.event for e in table}:
        want = sorted(e.sc_time for e in table if e.event == event)
        got = timing.event_occurrences(event, sc).sc_seconds
        assert np.allclose(got, want, atol=0.05), hex(event)  # nominal vs line-locked times
    assert sum(1 for e in table if e.event in RESETS) == 901


def test_timeline_changes_now_and_then_only_at_supercycle_starts(timing):
    week = Window(day_window("2026-03-01").start, day_window("2026-03-07").end)
    probes = np.arange(week.start, week.end, 900.0)
    versions = [timing.timeline_version(t) for t in probes]
    changes = sum(a != b for a, b in pairwise(versions))
    assert 6 <= changes <= 6 * 8  # at least daily, at most every slot
    start = timing.supercycle_start(probes[100])
    assert timing.timeline_at(start) == timing.timeline_at(start + 59.0)


def test_supercycle_time_and_length_use_the_injected_clock():
    clock = TickClock(SEED)
    sc_start = float(clock.tick_time(901 * 29_000_000))
    timing = SimulatedTiming(SEED, now=lambda: sc_start + 12.5)
    assert timing.supercycle_time() == pytest.approx(12.5, abs=1e-6)
    assert timing.supercycle_length() == pytest.approx(60.066666, abs=1e-6)
    short = SimulatedTiming(SEED, sc_ticks=30, now=lambda: sc_start + 12.5)
    assert short.supercycle_length() == pytest.approx(2.0)
    assert 0 <= short.supercycle_time() < 2.01
    assert all(0 <= e.sc_time < 2.0 for e in short.timeline())


def test_dst_end_day_holds_25_hours_of_0c(timing):
    w = day_window("2026-11-01")
    n = len(timing.event_occurrences(0x0C, w))
    clock = TickClock(SEED)
    assert abs(n - (clock.phase(w.end) - clock.phase(w.start))) <= 1
    assert 25 * 3600 * 14.99 < n < 25 * 3600 * 15.01


def test_simulated_booster_is_one_datalogger_and_timing_source():
    settings = Settings.from_env({"GMPSAI_SIM_SC_TICKS": "30"})
    source = open_datalogger(settings)
    assert isinstance(source, DataLogger) and isinstance(source, TimingSource)
    assert source.supercycle_length() == pytest.approx(2.0)
    w = Window(HOUR.start, HOUR.start + 60)
    direct = SimulatedTiming(settings.sim_seed, sc_ticks=30).event_occurrences(0x00, w)
    assert np.array_equal(source.event_occurrences(0x00, w).utc_seconds, direct.utc_seconds)
    assert len(direct) in (29, 30, 31)
