import datetime as dt
import threading

import numpy as np
import pytest

from gmpsai_assets.acnet.datalogger import DataLoggerUnavailable
from gmpsai_assets.files.eventfile import list_events, read_event, read_event_attrs
from gmpsai_assets.files.naming import EVENT_PREFIX, parse_data_file_name
from gmpsai_assets.ingest.events import grab_events
from gmpsai_assets.ingest.params import NoDataError
from gmpsai_assets.quality.crosschecks import check_supercycle_starts, check_ticks_against_samples
from gmpsai_assets.sim.simulator import SimulatedBooster
from gmpsai_assets.sim.timing import SimulatedTiming
from gmpsai_assets.window import (
    FERMILAB_TZ,
    Window,
    day_window,
    local_wall_to_utc,
    to_local,
    wall_seconds,
)

DAY = day_window("2026-03-10")
TEN_MIN = Window(DAY.start + 13 * 3600, DAY.start + 13 * 3600 + 600)


class FlakyBooster(SimulatedBooster):
    """The simulator with some event requests failing, as a gateway would (fault injection)."""

    def __init__(self, failing: set[int], **kw) -> None:
        super().__init__(**kw)
        self.failing = failing
        self.asked: list[int] = []
        self._lock = threading.Lock()

    def event_occurrences(self, event, window):
        with self._lock:
            self.asked.append(event)
        if event in self.failing:
            raise DataLoggerUnavailable(f"503 for event {event:02x}")
        return super().event_occurrences(event, window)


def _listing(path):
    return sorted(p.name for p in path.iterdir()) if path.exists() else []


def test_grab_writes_every_event_that_occurred(sim, tmp_path):
    lines = []
    result = grab_events(sim, TEN_MIN, tmp_path / "out", tmp_path / "drafts", progress=lines.append)
    name = parse_data_file_name(result.path.name)
    assert name and name.prefix == EVENT_PREFIX and name.node == "MLrn"
    assert (name.start, name.stop) == ("2026-03-10+13:00:00", "2026-03-10+13:10:00")
    assert _listing(tmp_path / "out") == [result.path.name] and _listing(tmp_path / "drafts") == []
    expected = {e: len(sim.event_occurrences(e, TEN_MIN)) for e in range(256)}
    found = {e: n for e, n in expected.items() if n}
    assert list_events(result.path) == sorted(found)
    assert {e: len(read_event(result.path, e)) for e in found} == found
    assert result.occurrences["$0C"] == found[0x0C] and len(found) >= 20
    assert read_event_attrs(result.path)["events_requested"] == list(range(256))
    assert len(lines) == 256 and lines[12].startswith("[13/256] $0C: ok (")


def test_concurrent_fetch_gives_the_same_file(tmp_path):
    one = grab_events(SimulatedBooster(), TEN_MIN, tmp_path / "a", tmp_path / "d")
    four = grab_events(SimulatedBooster(max_in_flight=4), TEN_MIN, tmp_path / "b", tmp_path / "d")
    assert list_events(one.path) == list_events(four.path)
    for e in list_events(one.path):
        assert np.array_equal(read_event(one.path, e).utc_seconds,
                              read_event(four.path, e).utc_seconds)


def test_max_event_limits_the_codes_asked_for(tmp_path):
    sim = FlakyBooster(set())
    result = grab_events(sim, TEN_MIN, tmp_path / "o", tmp_path / "d", max_event=0x0C)
    assert sorted(sim.asked) == list(range(13))
    assert max(list_events(result.path)) == 0x0C


@pytest.mark.parametrize("in_flight", [1, 4])
def test_first_only_stops_after_the_first_event_with_data(tmp_path, in_flight):
    sim = FlakyBooster(set(), max_in_flight=in_flight)
    window = Window(TEN_MIN.start, TEN_MIN.start + 5)  # no $00 in 5 s: the first is later
    assert len(sim.event_occurrences(0x00, window)) == 0
    result = grab_events(sim, window, tmp_path / "o", tmp_path / "d", first_only=True)
    first = min(e for e in range(256) if len(SimulatedBooster().event_occurrences(e, window)))
    assert list_events(result.path) == [first] and result.stopped_early
    assert read_event_attrs(result.path)["events_requested"] == list(range(first + 1))
    assert max(sim.asked) < first + 1 + in_flight  # at most the requests already in flight


def test_failed_events_are_recorded_and_others_kept(tmp_path):
    sim = FlakyBooster({0x00, 0x11}, max_in_flight=3)
    result = grab_events(sim, TEN_MIN, tmp_path / "o", tmp_path / "d")
    assert result.events_with("failed") == [0x00, 0x11]
    assert 0x0C in list_events(result.path) and 0x00 not in list_events(result.path)
    outcome = read_event_attrs(result.path)["event_outcomes"][0x11]
    assert outcome.status == "failed" and "503 for event 11" in outcome.reason


def test_nothing_published_when_every_event_fails(tmp_path):
    sim = FlakyBooster(set(range(256)))
    with pytest.raises(NoDataError, match=r"no event could be fetched \(\$00: 503"):
        grab_events(sim, TEN_MIN, tmp_path / "o", tmp_path / "d")
    assert _listing(tmp_path / "o") == [] and _listing(tmp_path / "d") == []


def test_regrab_replaces_the_partition_file(sim, tmp_path):
    first = grab_events(sim, TEN_MIN, tmp_path / "o", tmp_path / "d", max_event=0x0C)
    other = Window(TEN_MIN.start, TEN_MIN.end + 60)
    kept = grab_events(sim, other, tmp_path / "o", tmp_path / "d", max_event=0x0C)
    first.path.rename(first.path.with_name(first.path.name.replace("_17", "_16", 1)))
    second = grab_events(sim, TEN_MIN, tmp_path / "o", tmp_path / "d", max_event=0x0C)
    assert len(second.superseded) == 1
    assert _listing(tmp_path / "o") == sorted([kept.path.name, second.path.name])


# ---- cross-checks ---------------------------------------------------------------------------


def _day_with_outage(sim):
    for day in range(1, 28):
        w = day_window(dt.date(2026, 3, day))
        if sim.outages(w):
            return w
    raise AssertionError("no outage in March")


def test_ticks_match_samples_despite_outages(sim):
    w = _day_with_outage(sim)
    a, b = sim.outages(w)[0]
    part = Window(max(w.start, a - 1800), min(w.end, b + 1800))
    ticks = sim.event_occurrences(0x0C, part).utc_seconds
    samples = sim.fetch("B:VIMIN", part).utc_seconds
    check = check_ticks_against_samples(ticks, samples, part)
    assert check.passed and check.ticks_in_gaps > 2 * 15 and check.gaps >= 1
    assert check.off_tick == 0
    assert check.ticks == check.samples + check.ticks_in_gaps + check.difference
    # a lost run of $0C outside the outage, or samples off the tick, are caught
    away = np.flatnonzero((ticks < a - 60) | (ticks > b + 60))[100:110]
    assert not check_ticks_against_samples(np.delete(ticks, away), samples, part).passed
    shifted = check_ticks_against_samples(ticks, samples + 0.03, part)
    assert not shifted.passed and shifted.off_tick == len(samples)


def test_every_supercycle_starts_with_one_00(sim):
    w = Window(DAY.start, DAY.start + 3 * 3600)
    ticks = sim.event_occurrences(0x0C, w)
    starts = sim.event_occurrences(0x00, w).utc_seconds
    check = check_supercycle_starts(ticks.utc_seconds, ticks.sc_seconds, starts, w)
    assert check.passed and check.supercycles == len(starts) and 178 <= len(starts) <= 181
    missing = check_supercycle_starts(ticks.utc_seconds, ticks.sc_seconds, starts[1:], w)
    assert not missing.passed and missing.missing == [starts[0]]
    doubled = check_supercycle_starts(
        ticks.utc_seconds, ticks.sc_seconds, np.sort(np.append(starts, starts[5])), w)
    assert not doubled.passed and doubled.doubled == [starts[5]]
    stray = check_supercycle_starts(
        ticks.utc_seconds, ticks.sc_seconds, np.sort(np.append(starts, starts[5] + 7.0)), w)
    assert not stray.passed and stray.stray == [starts[5] + 7.0]


# ---- local wall-clock times (ACL event_log) to UTC ----------------------------------------


def _as_event_log(utc: np.ndarray) -> np.ndarray:
    """What event_log prints: local wall-clock readings, millisecond resolution."""
    return np.array([wall_seconds(to_local(t).replace(tzinfo=None)) for t in utc])


@pytest.mark.parametrize("event", [0x0C, 0x00, 0xA5])
def test_dst_end_repeated_hour_is_told_apart_by_order(event):
    timing = SimulatedTiming(20200310)
    w = day_window("2026-11-01")
    repeated = Window(w.start + 0.5 * 3600, w.start + 3.5 * 3600)  # 00:30 CDT .. 02:30 CST
    utc = timing.event_occurrences(event, repeated).utc_seconds
    wall = _as_event_log(utc)
    assert np.any(np.diff(wall) < 0)  # the clock really steps back inside the series
    assert np.array_equal(local_wall_to_utc(wall), utc)


def test_series_starting_in_the_second_pass_needs_the_window():
    second_pass = Window(dt.datetime(2026, 11, 1, 1, 10, tzinfo=FERMILAB_TZ, fold=1).timestamp(),
                         dt.datetime(2026, 11, 1, 1, 20, tzinfo=FERMILAB_TZ, fold=1).timestamp())
    utc = SimulatedTiming(7).event_occurrences(0x00, second_pass).utc_seconds
    wall = _as_event_log(utc)
    assert np.array_equal(local_wall_to_utc(wall, second_pass), utc)
    assert np.array_equal(local_wall_to_utc(wall), utc - 3600)  # order alone reads first pass


def test_dst_start_day_and_datetime_input():
    w = day_window("2026-03-08")
    utc = SimulatedTiming(7).event_occurrences(0x00, w).utc_seconds
    assert 23 * 60 - 2 <= len(utc) <= 23 * 60 + 2  # a 23-hour day
    naive = [to_local(t).replace(tzinfo=None) for t in utc]
    assert not any(n.hour == 2 for n in naive)  # the skipped hour never appears
    assert np.allclose(local_wall_to_utc(naive), utc, atol=1e-6)
    assert local_wall_to_utc([]).size == 0
