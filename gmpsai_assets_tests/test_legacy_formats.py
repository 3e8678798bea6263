"""Old files, written exactly the way the old grabbers wrote them, read back and distilled."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gmpsai_assets.acnet.tclk import NOMINAL_TICK_S
from gmpsai_assets.files import legacy
from gmpsai_assets.files.datafile import EVENTS, OLD, PARAMS, open_data_file
from gmpsai_assets.stats import store
from gmpsai_assets.stats.distill import distill_file, distill_into_store
from gmpsai_assets.window import day_window, parse_local_datetime

# PyTables warns that device names are not Python identifiers; the old files are full of them.
pytestmark = pytest.mark.filterwarnings("ignore::tables.NaturalNameWarning")

DAY = day_window("2020-03-10")
NAME_TAIL = "_From_MLrn_2020-03-10+00:00:00_to_2020-03-11+00:00:00.h5"


def _device_arrays(n: int = 300) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(7)
    t = DAY.start + np.arange(n) * NOMINAL_TICK_S + rng.uniform(-0.002, 0.002, n)
    t = np.round(t * 1000) / 1000  # the logger's millisecond resolution
    vimin = np.round(103.4 + 0.01 * rng.standard_normal(n), 3)
    status = np.where(np.arange(n) % 7 == 0, 0xA01C25, 0xA01C35).astype(float)
    keep = np.r_[0:100, 140:n]  # B|GMPSSC missed 40 ticks
    return {"B:VIMIN": (t, vimin), "B|GMPSSC": (t[keep], status[keep]),
            "B_VIMIN": (t[:120], np.full(120, 103.393))}


def test_mlparamdata_table_format_is_read(tmp_path: Path) -> None:
    arrays = _device_arrays()
    path = tmp_path / f"MLParamData_1583900000{NAME_TAIL}"
    legacy.write_legacy_params(path, arrays)
    f = open_data_file(path)
    assert (f.info.format, f.info.kind, f.info.generation) == (legacy.PANDAS_PARAMS, PARAMS, OLD)
    assert (f.info.window, f.info.node, f.info.created_utc) == (DAY, "MLrn", 1583900000.0)
    got = {d.name: d for d in f.datasets()}
    assert set(got) == set(arrays)
    for device, (t, v) in arrays.items():
        np.testing.assert_array_equal(got[device].utc_seconds, t)
        np.testing.assert_array_equal(got[device].values, v)
    quick = list(f.datasets(max_datasets=1, max_rows=10))
    assert len(quick) == 1 and quick[0].utc_seconds.size == 10


def test_early_mldata_x_frame_is_read_with_padding_removed(tmp_path: Path) -> None:
    arrays = _device_arrays()
    # the earliest grabber wrote str(time.time()) into the name
    path = tmp_path / f"MLData_1562345678.123456{NAME_TAIL}"
    legacy.write_legacy_mldata(path, arrays)
    f = open_data_file(path)
    assert (f.info.format, f.info.kind) == (legacy.PANDAS_MLDATA, PARAMS)
    assert f.info.window == DAY and f.info.created_utc == 1562345678.123456  # as written
    assert f.info.names == tuple(arrays)
    for ds in f.datasets():
        t, v = arrays[ds.name]
        np.testing.assert_array_equal(ds.utc_seconds, t)  # NaN rows of the concat are gone
        np.testing.assert_array_equal(ds.values, v)


def test_mleventdata_times_are_corrected_to_utc_across_the_dst_end(tmp_path: Path) -> None:
    # 2026-11-01: 01:00-02:00 local happens twice; events every 10 min from 00:30 to 03:30 local
    start = parse_local_datetime("2026-11-01 00:30")
    utc = start + np.arange(0, 4 * 3600, 600.0)
    sc = np.round(utc % 60.0666, 4)
    path = tmp_path / ("MLEventData_1793000000_From_MLrn_2026-11-01+00:00:00_to_"
                       "2026-11-02+00:00:00.h5")
    legacy.write_legacy_events(path, {0x00: (utc, sc), 0x0C: (utc[:5], sc[:5])})
    f = open_data_file(path)
    assert (f.info.format, f.info.kind) == (legacy.PANDAS_EVENTS, EVENTS)
    assert f.info.names == ("Event00", "Event0c")
    got = {d.name: d for d in f.datasets()}
    np.testing.assert_allclose(got["Event00"].utc_seconds, utc, atol=1e-3)
    np.testing.assert_allclose(got["Event00"].values, sc)
    stored = pd.read_hdf(path, "Event00")["epoch"].to_numpy()
    assert np.any(np.diff(stored) < 0)  # as written, the epochs stepped back an hour


DST_END_NAME = "MLEventData_1793000000_From_MLrn_2026-11-01+00:00:00_to_2026-11-02+00:00:00.h5"


def _dst_end_events() -> tuple[np.ndarray, np.ndarray]:
    """Every 10 min from 00:30 to 03:30 local on 2026-11-01: 01:00-02:00 happens twice."""
    utc = parse_local_datetime("2026-11-01 00:30") + np.arange(0, 4 * 3600, 600.0)
    return utc, np.round(utc % 60.0666, 4)


def test_pandas3_event_file_times_come_from_the_datetime_text(tmp_path: Path) -> None:
    """EventDataGrabber under pandas 3 stored `epoch` in kiloseconds (1970-01-21 read as
    seconds); the `datetime` text gives the true times, the repeated hour included."""
    utc, sc = _dst_end_events()
    path = tmp_path / DST_END_NAME
    legacy.write_legacy_events(path, {0x00: (utc, sc), 0x0C: (utc[:5], sc[:5])}, pandas3=True)
    assert pd.read_hdf(path, "Event00")["epoch"].max() < 2e6  # as written: kiloseconds
    got = {d.name: d for d in open_data_file(path).datasets()}
    np.testing.assert_allclose(got["Event00"].utc_seconds, utc, atol=1e-3)
    np.testing.assert_allclose(got["Event0c"].utc_seconds, utc[:5], atol=1e-3)
    result = distill_file(path)
    assert result.ok
    first = {e.event: e.first_utc for e in result.events}
    assert first == pytest.approx({"Event00": utc[0], "Event0c": utc[0]}, abs=1e-3)


@pytest.mark.parametrize("spoil", ["no datetime column", "unreadable datetime", "no window"])
def test_pandas3_event_file_without_usable_text_fails_never_1970(
    tmp_path: Path, spoil: str
) -> None:
    utc, sc = _dst_end_events()
    name = "MLEventData_1793000000.h5" if spoil == "no window" else DST_END_NAME
    path = tmp_path / name
    legacy.write_legacy_events(path, {0x00: (utc, sc)}, pandas3=True)
    if spoil != "no window":
        frame = pd.read_hdf(path, "Event00")
        if spoil == "no datetime column":
            frame = frame.drop(columns="datetime")
        else:
            frame["datetime"] = "01-NOV-2026 25:61:00.000"
        path.unlink()
        frame.to_hdf(path, key="Event00", format="table")
    result = distill_file(path)
    if spoil == "no window":  # the text alone still gives times that can be right
        assert result.ok and result.events[0].first_utc == pytest.approx(utc[0], abs=1e-3)
        return
    assert not result.ok and result.events == []
    assert result.record.error.startswith("impossible-times: Event00 epoch: 24 of 24 times "
                                          "outside the file's window")
    assert ("no datetime column" if spoil == "no datetime column" else "are not times") in (
        result.record.error)


def test_unexpected_old_layout_is_reported(tmp_path: Path) -> None:
    path = tmp_path / f"MLParamData_1583900000{NAME_TAIL}"
    pd.DataFrame({"a": [1.0], "b": [2.0], "c": [3.0]}).to_hdf(path, key="B:VIMIN", format="table")
    f = open_data_file(path)
    with pytest.raises(Exception, match="unknown-layout"):
        list(f.datasets())


def _old_tool_stats(path: Path, key: str) -> dict[str, float]:
    """What DistillFileStatsToDB computed for one key, line for line in pandas."""
    tempdf = pd.read_hdf(path, key)
    valdf, timelist = tempdf["value"], tempdf["utc_seconds"]
    timedeltas = timelist.diff()
    return {
        **{f"{key}|{s}": x for s, x in (("mode", valdf.mode()[0]), ("std", valdf.std()),
                                          ("min", valdf.min()), ("max", valdf.max()))},
        **{f"Interval_{key}|{s}": x for s, x in (
            ("mode", timedeltas.mode()[0]), ("std", timedeltas.std()),
            ("min", timedeltas.min()), ("max", timedeltas.max()))},
    }


def test_legacy_view_reproduces_the_old_tools_names_and_values(tmp_path: Path) -> None:
    arrays = _device_arrays()
    path = tmp_path / f"MLParamData_1583900000{NAME_TAIL}"
    legacy.write_legacy_params(path, arrays)
    db = tmp_path / "gmpsai.duckdb"
    assert distill_into_store(path, db).ok
    expected: dict[str, float] = {}
    for key in arrays:
        expected.update(_old_tool_stats(path, key))
    with store.reader(db) as con:
        rows = con.execute(
            "SELECT epochUTCsec, paramname, statname, statval FROM ACNETparameterStats"
        ).fetchall()
    got = {f"{p}|{s}": v for _, p, s, v in rows}
    assert {e for e, _, _, _ in rows} == {DAY.start}  # the file's start, as a true UTC instant
    assert set(got) == set(expected)
    for key, value in expected.items():
        assert got[key] == pytest.approx(value, rel=1e-12, abs=1e-15), key
