import datetime as dt

import numpy as np
import pytest

from gmpsai_assets.acnet.datalogger import BadRequest, DeviceNotLogged, fetch_devices
from gmpsai_assets.acnet.devices import load_device_list
from gmpsai_assets.acnet.tclk import LINE_HZ, LINES_PER_TICK
from gmpsai_assets.sim.simulator import (
    IMINER_CENTRE,
    STATUS_BEAM_PERMIT,
    SimulatedBooster,
)
from gmpsai_assets.window import Window, day_window

HOUR = day_window("2026-03-10").split(3600)[13]  # 13:00-14:00 local


def test_every_listed_device_is_simulated(sim):
    assert {e.device for e in load_device_list()} <= set(sim.logged)


def test_same_seed_same_samples_other_seed_differs():
    w = Window(HOUR.start, HOUR.start + 600)
    a = SimulatedBooster(seed=7).fetch("B:VIMIN", w)
    b = SimulatedBooster(seed=7).fetch("B:VIMIN", w)
    c = SimulatedBooster(seed=8).fetch("B:VIMIN", w)
    assert np.array_equal(a.utc_seconds, b.utc_seconds) and np.array_equal(a.values, b.values)
    assert not np.array_equal(a.values[: len(c)], c.values[: len(a)])


@pytest.mark.parametrize("device", ["B:VIMIN", "I:IB", "B:LINFRQ", "B|GMPSSC", "B_VIMAX"])
@pytest.mark.parametrize("piece", [0.05, 7.3, 61.0])
def test_window_fetched_in_pieces_equals_whole(device, piece):
    w = Window(HOUR.start + 0.0123, HOUR.start + min(300.0, piece * 400))
    whole = SimulatedBooster().fetch(device, w)
    sim = SimulatedBooster()  # fresh instance: no cache shared with the whole fetch
    parts = [sim.fetch(device, p) for p in w.split(piece)]
    assert np.array_equal(np.concatenate([p.utc_seconds for p in parts]), whole.utc_seconds)
    assert np.array_equal(np.concatenate([p.values for p in parts]), whole.values)


def test_samples_at_15hz_inside_window_with_ms_stamps(sim):
    s = sim.fetch("B:VIMIN", HOUR)
    assert s.utc_seconds.min() >= HOUR.start and s.utc_seconds.max() < HOUR.end
    assert np.all(np.diff(s.utc_seconds) > 0)
    assert np.array_equal(s.utc_seconds, np.round(s.utc_seconds, 3))
    outage_s = sum(min(b, HOUR.end) - max(a, HOUR.start) for a, b in sim.outages(HOUR))
    assert len(s) == pytest.approx((HOUR.seconds - outage_s) * 15, rel=2e-3)


def test_tick_period_follows_line_frequency(sim):
    w = Window(HOUR.start, HOUR.start + 1200)
    stamps = sim.fetch("B:VIMIN", w).utc_seconds
    linfrq = sim.fetch("B:LINFRQ", w)
    # the tick is 4 line periods: over 20 minutes the tick count tracks the mean line frequency
    expected = np.mean(LINES_PER_TICK / (LINE_HZ + sim.clock.line_offset_mhz(stamps) / 1000))
    period = np.median(np.diff(stamps)[np.diff(stamps) < 0.1])
    assert period == pytest.approx(expected, abs=2e-3)
    ticks = sim.clock.phase(w.end) - sim.clock.phase(w.start)
    mean_hz = np.mean(LINE_HZ + linfrq.values / 1000) / LINES_PER_TICK
    assert ticks == pytest.approx(mean_hz * w.seconds, abs=0.5)
    assert ticks != pytest.approx(15.0 * w.seconds, abs=0.5)  # it really is not exactly 15 Hz


def test_values_in_the_ranges_seen_in_2020(sim):
    ranges = {
        "B:VIMIN": (103.3, 103.5), "B_VIMIN": (103.38, 103.41), "B:VIMAX": (960, 972),
        "B:IMINER": (-0.4, 0.05), "B:LINFRQ": (-7, 26), "B:ACMNPG": (9.8, 10.2),
        "B:GMPS4V": (95, 143), "B:VINHBT": (1.0, 1.0), "B:VIPHAS": (1.79, 1.83),
        "I:IB": (0, 7500),
    }
    w = day_window("2026-03-10")
    for device, (lo, hi) in ranges.items():
        v = sim.fetch(device, w).values
        assert lo <= v.min() and v.max() <= hi, device
    assert np.median(sim.fetch("B:ACMNPG", HOUR).values) == pytest.approx(10.000006, abs=1e-4)


def test_vimin_follows_the_regulator_relation(sim):
    vimin = sim.fetch("B:VIMIN", HOUR).values
    setting = sim.fetch("B_VIMIN", HOUR).values
    iminer = sim.fetch("B:IMINER", HOUR).values
    b = setting - 0.085 * iminer - vimin  # what the integrator holds (design.md: a = 0.085)
    assert np.std(b) < 0.01  # VIMIN is explained by the setting and IMINER
    assert abs(np.corrcoef(vimin - setting, iminer)[0, 1]) > 0.5
    assert np.mean(iminer) == pytest.approx(IMINER_CENTRE, abs=0.1)


def test_settings_step_rarely_and_stay_constant_between_steps(sim):
    week = Window(day_window("2026-03-01").start, day_window("2026-03-07").end)
    t = sim.clock.tick_time(np.arange(*np.floor(sim.clock.phase([week.start, week.end])), 900))
    steps = {d: int(np.count_nonzero(np.diff(sim.setting(d, t)))) for d in
             ("B_VIMIN", "B_VIMAX", "B_VIPHAS", "B_GMPSFF", "B_IMINST")}
    assert sum(steps.values()) >= 1  # operators do touch settings
    assert all(n <= 12 for n in steps.values())  # ... but rarely
    assert np.unique(sim.fetch("B_VIMIN", HOUR).values).size <= 2


def test_beam_off_drops_intensities_and_clears_permit_bit(sim):
    day = day_window("2026-03-10")
    ib = sim.fetch("I:IB", day)
    off = sim.beam_off(ib.utc_seconds)
    assert off.any() and (~off).any()
    assert ib.values[off].max() < 10 and ib.values[~off].min() > 3000
    status = sim.fetch("B|GMPSSC", day)
    word = status.values.astype(np.int64)
    assert np.array_equal(status.values, np.floor(status.values))  # an integer word
    assert np.array_equal((word & STATUS_BEAM_PERMIT) == 0, sim.beam_off(status.utc_seconds))


def test_logger_outages_leave_gaps_of_seconds_to_minutes(sim):
    days = [day_window(dt.date(2026, 3, d)) for d in range(1, 8)]
    outages = [o for w in days for o in sim.outages(w)]
    lengths = [b - a for a, b in outages]
    assert outages and min(lengths) >= 2 and max(lengths) <= 600
    a, b = outages[0]
    s = sim.fetch("B:VIMIN", Window(a - 10, b + 10))
    assert not np.any((s.utc_seconds > a + 0.01) & (s.utc_seconds < b - 0.01))
    assert np.diff(s.utc_seconds).max() >= (b - a) - 0.2


def test_some_days_one_device_is_not_logged(sim):
    days = [dt.date(2026, 3, 1) + dt.timedelta(days=i) for i in range(40)]
    missing = {d: sim.unlogged_device(d) for d in days}
    day, device = next((d, m) for d, m in missing.items() if m)
    assert 0 < sum(m is not None for m in missing.values()) < len(days)
    w = day_window(day)
    assert len(sim.fetch(device, Window(w.start, w.start + 60))) == 0
    other = next(n for n in sim.logged if n != device)
    assert len(sim.fetch(other, Window(w.start, w.start + 60))) > 800


def test_typed_errors(sim):
    with pytest.raises(DeviceNotLogged):
        sim.fetch("B:NOTLOG", HOUR)
    with pytest.raises(BadRequest):
        sim.fetch("B:VIMIN;read", HOUR)


def test_fetch_devices_keeps_order_and_records_failures(sim):
    w = Window(HOUR.start, HOUR.start + 5)
    outcomes = list(fetch_devices(sim, ["B:VIMIN", "B:NOTLOG", "I:IB"], w, max_in_flight=2))
    assert [o.device for o in outcomes] == ["B:VIMIN", "B:NOTLOG", "I:IB"]
    assert [o.status for o in outcomes] == ["ok", "failed", "ok"]
    assert isinstance(outcomes[1].error, DeviceNotLogged)
