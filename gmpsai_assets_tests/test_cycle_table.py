"""The cycle table built from real HDF5 files of the simulated Booster (short windows; whole
days only where the row count of a DST day is the point)."""

from __future__ import annotations

import datetime as dt
import textwrap
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
import pytest

from gmpsai_assets.dataset import (
    MissingDaysError,
    ScanReport,
    Sequences,
    build_cycle_table,
    duckdb_view,
    read_report,
    scan,
    write_cycle_table,
)
from gmpsai_assets.dataset.matching import TICK_S, estimate_lag, match_samples
from gmpsai_assets.files.paramfile import ParamFileWriter
from gmpsai_assets.ingest.events import grab_events
from gmpsai_assets.ingest.params import grab_params
from gmpsai_assets.samples import Samples
from gmpsai_assets.settings import Settings, SettingsError
from gmpsai_assets.sim.simulator import SimulatedBooster
from gmpsai_assets.window import Window, day_window, parse_local_datetime

DEVICES = ["B:VIMIN", "B:IMINER", "I:IB"]
LAST_RESET = 0x1D


def grab(sim: SimulatedBooster, devices: list[str], window: Window, root: Path,
         max_event: int = LAST_RESET) -> tuple[Path, Path]:
    p = grab_params(sim, devices, window, root / "params", root / "drafts").path
    e = grab_events(sim, window, root / "events", root / "drafts", max_event=max_event).path
    return p, e


def truth(ticks: np.ndarray, samples: Samples) -> np.ndarray:
    """What each cycle should hold, worked out the slow, obvious way: the one sample stamped
    within 10 ms of the cycle's $0C (the simulator stamps within 3 ms), else NaN."""
    out = np.full(ticks.size, np.nan)
    for t, v in zip(samples.utc_seconds, samples.values, strict=True):
        near = np.flatnonzero(np.abs(ticks - t) < 0.010)
        if near.size == 1:
            out[near[0]] = v
    return out


def test_every_value_is_the_sample_logged_for_its_cycle_and_outages_are_null(tmp_path, sim):
    day = day_window("2026-03-10")
    start, end = sim.outages(day)[0]
    window = Window(start - 120.0, end + 120.0)  # an outage with two minutes either side
    p, e = grab(sim, DEVICES, window, tmp_path)
    table = build_cycle_table(p, e)
    ticks = sim.event_occurrences(0x0C, window).utc_seconds
    frame = table.frame
    assert frame.height == ticks.size
    got_ticks = frame["tick_utc"].dt.epoch("us").to_numpy()
    assert np.array_equal(got_ticks, np.rint(ticks * 1e6).astype(np.int64))
    in_outage = (ticks >= start) & (ticks < end)
    assert in_outage.sum() > 20
    for device in DEVICES:
        want = truth(ticks, sim.fetch(device, window))
        col = frame[device]
        assert np.array_equal(col.is_null().to_numpy(), np.isnan(want)), device
        assert np.array_equal(col.fill_null(np.nan).to_numpy(), want, equal_nan=True), device
        assert col.is_null().to_numpy()[in_outage].all()
        rep = table.report.devices[device]
        assert rep.unmatched == 0 and rep.filled == (~np.isnan(want)).sum()
        assert abs(rep.lag_ms) < 1.0
        assert rep.tolerance_ms == pytest.approx(16.7, abs=0.05)  # cycle_table.md: 1/4 tick


def test_matching_never_shifts_fills_or_reuses():
    ticks = 1.7e9 + np.arange(10) * TICK_S
    lag = 0.005
    stamps = list(ticks + lag)
    del stamps[3]  # cycle 3: no sample
    stamps.insert(5, ticks[5] + lag + 0.004)  # cycle 5: a second, farther sample
    stamps.append(ticks[7] + lag + 0.030)  # between two cycles, off both windows
    s = np.sort(np.array(stamps))
    assert estimate_lag(ticks, s) == pytest.approx(lag, abs=1e-4)
    m = match_samples(ticks, s)
    assert m.tick_index.tolist() == [0, 1, 2, 4, 5, 6, 7, 8, 9]
    assert s[m.sample_index].tolist() == pytest.approx((ticks[m.tick_index] + lag).tolist())
    assert m.unmatched == 2 and m.unmatched_inside == 2 and m.outside == 0
    edge = match_samples(ticks, np.array([ticks[0] - 0.05, ticks[0] + lag]), lag_s=lag)
    assert edge.tick_index.tolist() == [0] and edge.outside == 1 and edge.unmatched_inside == 0


@pytest.mark.parametrize(("day", "hours"), [("2026-03-08", 23), ("2026-11-01", 25)])
def test_dst_days_have_one_row_per_0c(tmp_path, sim, day, hours):
    window = day_window(day)
    p, e = grab(sim, ["B:VIMIN"], window, tmp_path, max_event=0x0C)
    table = build_cycle_table(p, e)
    n_0c = len(sim.event_occurrences(0x0C, window))
    assert table.frame.height == n_0c
    assert round(n_0c / (15.0 * 3600.0)) == hours
    t = table.frame["tick_utc"].dt.epoch("us").to_numpy()
    assert np.all(np.diff(t) > 0)
    assert t[0] >= window.start * 1e6 and t[-1] < window.end * 1e6
    assert table.report.resets_unavailable  # $11.. were not asked for: said, not hidden
    assert table.frame["reset_event"].null_count() == n_0c


def test_a_device_missing_all_day_is_an_all_null_column(tmp_path, sim):
    day = next(dt.date(2026, 3, 1) + dt.timedelta(days=i) for i in range(60)
               if sim.unlogged_device(dt.date(2026, 3, 1) + dt.timedelta(days=i)))
    gone = sim.unlogged_device(day)
    start = day_window(day).start + 3600.0
    window = Window(start, start + 60.0)
    p, e = grab(sim, ["B:VIMIN", gone, "B:NOTLOG"], window, tmp_path)
    table = build_cycle_table(p, e)
    assert table.frame.columns[5:] == ["B:VIMIN", gone, "B:NOTLOG"]
    for device, status in ((gone, "empty"), ("B:NOTLOG", "failed")):
        assert table.frame[device].null_count() == table.frame.height
        assert table.frame[device].dtype == pl.Float64
        assert table.report.devices[device].status == status
    assert table.frame["B:VIMIN"].null_count() == 0


def test_a_device_with_a_missing_span_has_nulls_exactly_there(tmp_path, sim):
    """A partial device: the logger lost one span of its samples (files written directly)."""
    start = parse_local_datetime("2026-03-10 12:00")
    window = Window(start, start + 120.0)
    full = sim.fetch("B:IMINER", window)
    lost = (full.utc_seconds >= start + 30.0) & (full.utc_seconds < start + 50.0)
    kept = Samples("B:IMINER", full.utc_seconds[~lost], full.values[~lost])
    path = tmp_path / "params.h5"
    with ParamFileWriter(path, window, "MLrn", "simulated", ["B:IMINER"]) as w:
        w.add("B:IMINER", kept, None)
    e = grab_events(sim, window, tmp_path / "events", tmp_path / "drafts", max_event=0x0C).path
    table = build_cycle_table(path, e)
    ticks = table.frame["tick_utc"].dt.epoch("us").to_numpy() / 1e6
    col = table.frame["B:IMINER"]
    in_span = (ticks >= start + 30.0 - 0.01) & (ticks < start + 50.0 - 0.01)
    want = truth(ticks, kept)
    assert np.array_equal(col.fill_null(np.nan).to_numpy(), want, equal_nan=True)
    assert col.is_null().to_numpy()[in_span].all() and in_span.sum() >= 299
    assert col.null_count() == np.isnan(want).sum()


def test_a_day_with_a_partial_device(tmp_path, sim):
    """A `partial` device (the gateway kept answering `No values` for one span): its cells are
    null exactly where its samples would have been, its real samples all fill their cycles,
    and the report keeps its status and spans through the file."""
    start = parse_local_datetime("2026-03-10 12:00")
    window = Window(start, start + 120.0)
    span = (start + 30.0, start + 50.0)
    full = sim.fetch("B:IMINER", window)
    lost = (full.utc_seconds >= span[0]) & (full.utc_seconds < span[1])
    kept = Samples("B:IMINER", full.utc_seconds[~lost], full.values[~lost], (span,))
    path = tmp_path / "params.h5"
    with ParamFileWriter(path, window, "MLrn", "acl", ["B:IMINER", "B:VIMIN"]) as w:
        assert w.add("B:IMINER", kept, None).status == "partial"
        w.add("B:VIMIN", sim.fetch("B:VIMIN", window), None)
    e = grab_events(sim, window, tmp_path / "events", tmp_path / "drafts", max_event=0x0C).path
    table = build_cycle_table(path, e)
    rep = table.report.devices["B:IMINER"]
    assert rep.status == "partial" and rep.missing_utc == (span,) and "1 span(s)" in rep.reason
    assert table.report.devices["B:VIMIN"].missing_utc == ()
    ticks = table.frame["tick_utc"].dt.epoch("us").to_numpy() / 1e6
    expected = ticks + rep.lag_ms / 1000.0
    in_span = (expected >= span[0]) & (expected < span[1])
    col = table.frame["B:IMINER"].is_null().to_numpy()
    assert col[in_span].all() and in_span.sum() >= 299
    want = truth(ticks, kept)
    assert np.array_equal(np.isnan(want), col)  # no real sample nulled, none invented
    assert rep.filled == len(kept) and rep.unmatched == 0
    written = write_cycle_table(table, tmp_path / "cycles", tmp_path / "drafts")
    assert read_report(written).devices["B:IMINER"] == rep


def _two_days(tmp_path: Path, sim: SimulatedBooster) -> Path:
    """Ten minutes either side of midnight, published as the two days' tables."""
    data = tmp_path / "data"
    midnight = day_window("2026-03-11").start
    for w in (Window(midnight - 600.0, midnight), Window(midnight, midnight + 600.0)):
        p, e = grab(sim, DEVICES, w, data)
        write_cycle_table(build_cycle_table(p, e), data / "cycles", data / "drafts")
    return data


def test_scan_reads_gmpsai_data_dir_alone(tmp_path, sim, monkeypatch):
    # an analyst's read needs the data directory only: a broken setting it does not use (here
    # one the Settings model refuses) must not stop it
    data = _two_days(tmp_path, sim)
    monkeypatch.setenv("GMPSAI_DATA_DIR", str(data))
    monkeypatch.setenv("GMPSAI_COMPLETENESS_WARN", "not a number")
    with pytest.raises(SettingsError):
        Settings.from_env()
    assert scan("2026-03-10 23:55", "2026-03-11 00:05", ["I:IB"]).collect().height > 0


def test_scan_crosses_midnight_and_agrees_with_duckdb(tmp_path, sim):
    data = _two_days(tmp_path, sim)
    lazy = scan("2026-03-10 23:55", "2026-03-11 00:05", ["I:IB", "B:VIMIN"], data_dir=data)
    frame = lazy.collect()
    assert frame.columns == ["tick_utc", "sc_start_utc", "sc_index", "reset_event",
                             "beam_cycle", "I:IB", "B:VIMIN"]
    assert frame.height == len(sim.event_occurrences(
        0x0C, Window(parse_local_datetime("2026-03-10 23:55"),
                     parse_local_datetime("2026-03-11 00:05"))))
    assert np.all(np.diff(frame["tick_utc"].dt.epoch("us").to_numpy()) > 0)
    con = duckdb.connect(str(tmp_path / "q.duckdb"))
    duckdb_view(con, data)
    rows = con.execute(
        'SELECT epoch_us(tick_utc), "I:IB", "B:VIMIN" FROM cycles '
        "WHERE tick_utc >= TIMESTAMPTZ '2026-03-10 23:55:00-05:00' "
        "AND tick_utc < TIMESTAMPTZ '2026-03-11 00:05:00-05:00' ORDER BY tick_utc").fetchall()
    assert [r[0] for r in rows] == frame["tick_utc"].dt.epoch("us").to_list()
    assert [r[1] for r in rows] == frame["I:IB"].to_list()
    assert [r[2] for r in rows] == frame["B:VIMIN"].to_list()
    assert read_report(data / "cycles" / "CycleTable_2026-03-11.parquet").devices["I:IB"].lag_ms \
        is not None


def test_a_missing_day_is_an_error_or_reported(tmp_path, sim):
    data = _two_days(tmp_path, sim)
    with pytest.raises(MissingDaysError, match="2026-03-12"):
        scan("2026-03-10", "2026-03-12", data_dir=data)
    report = ScanReport()
    frame = scan("2026-03-10", "2026-03-12", data_dir=data, report=report).collect()
    assert report.missing == [dt.date(2026, 3, 12)]
    assert report.days == [dt.date(2026, 3, 10), dt.date(2026, 3, 11)]
    assert frame.height == scan("2026-03-10", "2026-03-11", data_dir=data).collect().height


def test_sequences_are_views_and_skip_missing_and_gaps(tmp_path, sim):
    day = day_window("2026-03-10")
    start, end = sim.outages(day)[0]
    p, e = grab(sim, ["B:VIMIN", "I:IB"], Window(start - 10.0, end + 10.0), tmp_path)
    frame = build_cycle_table(p, e).frame
    # drop 3 rows in the middle of the first ten seconds: a gap in the cycles
    frame = pl.concat([frame[:60], frame[63:]])
    seq = Sequences(frame, ["B:VIMIN", "I:IB"], look_back=15, look_forward=5)
    n, span = frame.height, 20
    assert len(seq) + seq.skipped_missing + seq.skipped_gap == n - span + 1
    assert seq.skipped_gap == span - 1  # every window with rows 59 and 60 in it
    nulls = frame["B:VIMIN"].is_null().sum()
    assert seq.skipped_missing >= nulls  # the outage's cycles
    for k in (0, len(seq) // 2, len(seq) - 1):
        back, fwd = seq[k]
        assert back.shape == (15, 2) and fwd.shape == (5, 2)
        assert np.shares_memory(back, seq.values) and np.isfinite(back).all()
        s = int(seq.starts[k])
        assert back[0, 1] == frame["I:IB"][s] and fwd[-1, 0] == frame["B:VIMIN"][s + 19]


@pytest.mark.parametrize("case", ["one-per-tick", "outages", "slower", "jumbled-rate", "ends",
                                  "halfway"])
def test_the_fast_nearest_cycle_is_the_direct_rule_sample_for_sample(case):
    """matching._nearest (guess one sample per cycle, keep only certain guesses) gives what
    the direct rule (_bracketing: the cycle before and the one after, compared) gives, for
    every sample, however the samples fall."""
    from gmpsai_assets.dataset import matching

    rng = np.random.default_rng(len(case))
    ticks = 1.7e9 + np.cumsum(np.full(20_000, TICK_S) * (1 + 1e-3 * rng.standard_normal(20_000)))
    ticks = np.delete(ticks, np.s_[7000:7400])  # $0C missing for a while
    expected = ticks + 0.004
    base = ticks + 0.004 + 0.002 * rng.standard_normal(ticks.size)
    samples = {
        "one-per-tick": base,
        "outages": np.delete(base, np.r_[100:2500, 9000:9003, 15000:15800]),
        "slower": base[::3],
        "jumbled-rate": np.sort(rng.uniform(ticks[0] - 5, ticks[-1] + 5, 30_000)),
        "ends": np.concatenate([ticks[0] - np.arange(50, 0, -1) * 0.01, base,
                                ticks[-1] + np.arange(1, 50) * 0.02]),
        # exactly and nearly halfway between two cycles: ties go to the earlier one
        "halfway": np.sort(np.concatenate([base, (expected[:-1] + expected[1:]) / 2,
                                           np.nextafter((expected[:-1] + expected[1:]) / 2,
                                                        np.inf)])),
    }[case]
    fast, fast_d = matching._nearest(expected, samples)
    direct, direct_d = matching._bracketing(expected, samples)
    assert np.array_equal(fast, direct) and np.array_equal(fast_d, direct_d)
    # as a day's table calls it: the gaps computed once from the $0C times, not the lagged ones
    day, day_d = matching._nearest(expected, samples, matching.cycle_half_gaps(ticks))
    assert np.array_equal(day, direct) and np.array_equal(day_d, direct_d)


def test_the_roomy_heap_reuses_a_freed_days_array_and_restores_numpy():
    """heap.roomy_heap, in fresh processes: with it, a day-long array freed and made again
    costs no page faults (glibc keeps the memory); without it (glibc's defaults) the same
    array is faulted in afresh. numpy asks for no huge pages inside and as before after."""
    import subprocess
    import sys

    from gmpsai_assets import heap

    assert heap._glibc() is not None, "the project's hosts run glibc: this test must run"
    remake = textwrap.dedent("""
        import contextlib, resource, sys
        import numpy as np
        from numpy._core import multiarray
        from gmpsai_assets import heap
        multiarray._set_madvise_hugepage(False)  # 4 KiB pages, so faults count pages
        with heap.roomy_heap() if sys.argv[1] == "roomy" else contextlib.nullcontext():
            first = np.ones(1_300_000)
            del first
            before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
            again = np.ones(1_300_000)
            print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
    """)
    faults = {how: int(subprocess.run([sys.executable, "-c", remake, how], check=True,
                                      capture_output=True, text=True).stdout)
              for how in ("roomy", "default")}
    pages = 1_300_000 * 8 // 4096
    assert faults["roomy"] < pages // 10 and faults["default"] > pages // 2, faults
    was = heap._numpy_hugepages(True)
    try:
        with heap.roomy_heap():
            assert heap._numpy_hugepages(False) is False  # off inside (and left off)
        assert heap._numpy_hugepages(False) is True  # restored to what it was: on
    finally:
        heap._numpy_hugepages(was)
