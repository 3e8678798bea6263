"""Verdicts on one data file (quality/files.py) from real files: failed TCLK events are checked
like failed devices (`events_fetched`), and `timestamps_increasing` passes on a clean file and
fails on one whose times step back, in the file or as the source delivered them."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest

from gmpsai_assets.acnet.datalogger import DataLoggerUnavailable
from gmpsai_assets.acnet.tclk import BOOSTER_RESETS, CLOCK_15HZ, SC_START, event_label
from gmpsai_assets.files import legacy
from gmpsai_assets.files.eventfile import EventFileWriter
from gmpsai_assets.files.paramfile import ParamFileWriter
from gmpsai_assets.quality import Level
from gmpsai_assets.quality.files import event_verdicts, failed_event_level, param_verdicts
from gmpsai_assets.samples import EventOccurrences, Samples
from gmpsai_assets.sim.simulator import SimulatedBooster
from gmpsai_assets.stats.distill import distill_file
from gmpsai_assets_tests.test_legacy_formats import NAME_TAIL, _device_arrays
from gmpsai_assets_tests.test_stats_distill import START, WINDOW, _param_file

pytestmark = pytest.mark.filterwarnings("ignore::tables.NaturalNameWarning")

TICKS = START + np.arange(0, 120, 1 / 15.0)


def _event_file(directory: Path, failed: tuple[int, ...]) -> Path:
    """$00, $0C and $11 as a grab writes them, with the events in `failed` failed."""
    path = directory / "MLEventData_1583900001_From_MLrn_2020-03-10+12:00:00_to_" \
                       "2020-03-10+12:02:00.h5"
    occurrences = {SC_START: TICKS[::901], CLOCK_15HZ: TICKS, 0x11: TICKS + 0.018, 0x40: TICKS[:3]}
    with EventFileWriter(path, WINDOW, "MLrn", "acl", created_utc=1583900001.0) as w:
        for code in sorted({*occurrences, *failed}):
            if code in failed:
                w.add(code, None, DataLoggerUnavailable(f"event_log {event_label(code)}: "
                                                        "failed after 5 attempt(s)"))
            else:
                t = occurrences[code]
                w.add(code, EventOccurrences(code, t, t % 60.0667), None)
    return path


def _fetched(path: Path):
    verdicts = {v.name: v for v in event_verdicts(distill_file(path))}
    assert verdicts["event_times_increasing"].level is Level.OK
    return verdicts["events_fetched"]


def test_events_fetched_passes_when_no_event_failed(tmp_path: Path) -> None:
    verdict = _fetched(_event_file(tmp_path, ()))
    assert verdict.level is Level.OK and verdict.passed
    assert verdict.summary == "all 4 events asked for were fetched"


def test_a_failed_rare_event_is_a_warning(tmp_path: Path) -> None:
    verdict = _fetched(_event_file(tmp_path, (0x40, 0x1A)))
    assert verdict.level is Level.WARN and not verdict.passed
    assert verdict.summary == "2 of 5 events asked for failed to fetch: $1A, $40"
    assert verdict.details["failed"] == {"$1A": "event_log $1A: failed after 5 attempt(s)",
                                         "$40": "event_log $40: failed after 5 attempt(s)"}


@pytest.mark.parametrize("code", [SC_START, CLOCK_15HZ, 0x11, 0x1D])
def test_a_failed_core_event_is_an_error(tmp_path: Path, code: int) -> None:
    verdict = _fetched(_event_file(tmp_path, (code, 0x40)))
    assert verdict.level is Level.ERROR
    label = event_label(code)
    assert f"failed to fetch: {', '.join(sorted([label, '$40']))}" in verdict.summary
    assert verdict.summary.endswith(f"({label}: supercycle starts, ticks or Booster resets)")
    assert verdict.details["core_failed"] == [label]


def test_the_level_rule_covers_the_booster_resets_of_the_team_list() -> None:
    assert [event_label(c) for c in BOOSTER_RESETS] == [
        "$11", "$12", "$13", "$14", "$15", "$16", "$17", "$19", "$1C", "$1D"]
    levels = {code: failed_event_level(code) for code in range(256)}
    assert {c for c, level in levels.items() if level is Level.ERROR} == {
        SC_START, CLOCK_15HZ, *BOOSTER_RESETS}
    assert levels[0x1A] is levels[0x18] is levels[0x40] is Level.WARN


def test_an_old_event_file_has_nothing_to_judge_by(tmp_path: Path) -> None:
    path = tmp_path / f"MLEventData_1583900000{NAME_TAIL}"
    t = _device_arrays()["B:VIMIN"][0]
    legacy.write_legacy_events(path, {CLOCK_15HZ: (t, t % 60.0667)})
    assert _fetched(path).level is Level.UNKNOWN


def _increasing(path: Path):
    distilled = distill_file(path)
    assert distilled.ok, distilled.record.error
    verdicts = {v.name: v for v in param_verdicts(distilled, ["B:VIMIN", "I:IB"])}
    return verdicts["timestamps_increasing"]


def test_timestamps_increasing_passes_on_a_clean_file(
    tmp_path: Path, sim: SimulatedBooster
) -> None:
    verdict = _increasing(_param_file(tmp_path, sim))
    assert verdict.level is Level.OK


def test_timestamps_increasing_fails_on_times_that_step_back_in_the_file(
    tmp_path: Path, sim: SimulatedBooster
) -> None:
    path = _param_file(tmp_path, sim)
    with h5py.File(path, "r+") as f:  # two samples swapped, as a careless writer would leave them
        t = f["I:IB/utc_seconds"][()]
        t[[100, 101]] = t[[101, 100]]
        f["I:IB/utc_seconds"][...] = t
    verdict = _increasing(path)
    assert verdict.level is Level.ERROR
    assert verdict.summary == "timestamps fail to increase in 1 device(s): I:IB"
    assert verdict.details["steps_not_increasing"] == {"I:IB": 1}


def test_timestamps_increasing_fails_on_samples_the_source_sent_out_of_order(
    tmp_path: Path, sim: SimulatedBooster
) -> None:
    """A file written from samples the source delivered out of order (and sorted): the file's
    times increase, its `out_of_order` says 7 steps went back, and the check fails on them."""
    path = tmp_path / "MLParamData_1_From_MLrn_2020-03-10+12:00:00_to_2020-03-10+12:02:00.h5"
    with ParamFileWriter(path, WINDOW, "MLrn", "acl", ["B:VIMIN", "I:IB"]) as w:
        s = sim.fetch("B:VIMIN", WINDOW)
        w.add("B:VIMIN", Samples("B:VIMIN", s.utc_seconds, s.values, out_of_order=7), None)
        w.add("I:IB", sim.fetch("I:IB", WINDOW), None)
    with h5py.File(path, "r") as f:
        assert f["B:VIMIN"].attrs["out_of_order"] == 7 and f["I:IB"].attrs["out_of_order"] == 0
        assert f["B:VIMIN"].attrs["status"] == "ok"
        assert np.all(np.diff(f["B:VIMIN/utc_seconds"][()]) > 0)
    verdict = _increasing(path)
    assert verdict.level is Level.ERROR
    assert verdict.details["steps_not_increasing"] == {"B:VIMIN": 7}
    assert verdict.details["reasons"] == {"B:VIMIN": (
        "7 step(s) back in time as the source delivered the samples; sorted by time in this "
        "file (out_of_order)")}


def _param_verdict(path: Path, name: str):
    distilled = distill_file(path)
    assert distilled.ok, distilled.record.error
    return {v.name: v for v in param_verdicts(distilled, ["B:VIMIN", "I:IB"])}[name]


def test_values_finite_passes_on_a_clean_file(tmp_path: Path, sim: SimulatedBooster) -> None:
    verdict = _param_verdict(_param_file(tmp_path, sim), "values_finite")
    assert (verdict.level, verdict.summary) == (Level.OK, "every value is finite")


def test_values_finite_fails_on_nan_and_inf_in_the_file(
    tmp_path: Path, sim: SimulatedBooster
) -> None:
    path = _param_file(tmp_path, sim)
    with h5py.File(path, "r+") as f:  # 2 NaN and 1 -inf written into B:VIMIN's values
        v = f["B:VIMIN/value"][()]
        v[[3, 50]] = np.nan
        v[7] = -np.inf
        f["B:VIMIN/value"][...] = v
    verdict = _param_verdict(path, "values_finite")
    assert verdict.level is Level.ERROR
    assert verdict.summary == "non-finite values in 1 device(s)"
    assert verdict.details["non_finite"] == {"B:VIMIN": {"nan": 2, "inf": 1}}


def test_event_times_increasing_fails_on_a_time_that_steps_back(tmp_path: Path) -> None:
    path = _event_file(tmp_path, failed=())
    with h5py.File(path, "r+") as f:  # $0C's 11th occurrence put before its 10th
        t = f["Event0c/utc_seconds"][()]
        t[10] = t[9] - 0.01
        f["Event0c/utc_seconds"][...] = t
    verdicts = {v.name: v for v in event_verdicts(distill_file(path))}
    bad = verdicts["event_times_increasing"]
    assert bad.level is Level.ERROR
    assert bad.summary == "occurrence times fail to increase in 1 event(s)"
    assert list(bad.details["steps_not_increasing"].values()) == [1]


def test_event_times_increasing_passes_on_a_clean_file(tmp_path: Path) -> None:
    verdicts = {v.name: v for v in event_verdicts(distill_file(_event_file(tmp_path, ())))}
    assert verdicts["event_times_increasing"].level is Level.OK
    assert verdicts["event_times_increasing"].summary == (
        "occurrence times of all 4 events increase")
