"""Distilling new-format files, and bad files recorded as failed without stopping the others."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest

from gmpsai_assets.acnet.datalogger import DeviceNotLogged
from gmpsai_assets.files.eventfile import EventFileWriter
from gmpsai_assets.files.paramfile import ParamFileWriter
from gmpsai_assets.samples import EventOccurrences
from gmpsai_assets.sim.simulator import SimulatedBooster
from gmpsai_assets.stats import store
from gmpsai_assets.stats.compute import param_stats
from gmpsai_assets.stats.distill import distill_file, distill_into_store, read_ahead
from gmpsai_assets.window import Window, parse_local_datetime

START = parse_local_datetime("2020-03-10 12:00")
WINDOW = Window(START, START + 120.0)


def _param_file(directory: Path, sim: SimulatedBooster, created: int = 1583900000) -> Path:
    path = directory / (f"MLParamData_{created}_From_MLrn_2020-03-10+12:00:00_to_"
                        "2020-03-10+12:02:00.h5")
    devices = ["B:VIMIN", "I:IB", "B:GONE"]
    with ParamFileWriter(path, WINDOW, "MLrn", "simulated", devices, created_utc=created) as w:
        for d in devices[:2]:
            w.add(d, sim.fetch(d, WINDOW), None)
        w.add("B:GONE", None, DeviceNotLogged("B:GONE is not logged"))
    return path


def _event_file(directory: Path) -> Path:
    path = directory / ("MLEventData_1583900001_From_MLrn_2020-03-10+12:00:00_to_"
                        "2020-03-10+12:02:00.h5")
    ticks = START + np.arange(0, 120, 1 / 15.0)
    with EventFileWriter(path, WINDOW, "MLrn", "simulated", created_utc=1583900001.0) as w:
        w.add(0x0C, EventOccurrences(0x0C, ticks, ticks % 60.0667), None)
        w.add(0x00, EventOccurrences(0x00, ticks[::901], ticks[::901] * 0), None)
        w.add(0x01, EventOccurrences(0x01, np.empty(0), np.empty(0)), None)
    return path


def test_new_parameter_file_statistics(tmp_path: Path, sim: SimulatedBooster) -> None:
    path = _param_file(tmp_path, sim)
    result = distill_file(path)
    assert result.ok and result.record.format == "gmpsai-params/3"
    assert result.record.window_start_utc == WINDOW.start and result.record.node == "MLrn"
    assert len(result.record.sha256) == 64
    by = {p.device: p for p in result.params}
    assert list(by) == ["B:VIMIN", "I:IB", "B:GONE"]  # the list asked for, in order
    s = sim.fetch("B:VIMIN", WINDOW)
    assert by["B:VIMIN"] == param_stats("B:VIMIN", s.utc_seconds, s.values, WINDOW)
    assert by["B:GONE"].status == "failed" and by["B:GONE"].rows == 0
    assert "not logged" in by["B:GONE"].reason


def test_new_event_file_statistics(tmp_path: Path) -> None:
    result = distill_file(_event_file(tmp_path))
    assert result.ok and result.record.kind == "events"
    by = {e.event: e for e in result.events}
    assert set(by) == {"Event00", "Event0c"}  # only events that occurred have a group
    assert by["Event0c"].count == 1800 and by["Event0c"].code == 0x0C
    assert by["Event0c"].interval_mode == pytest.approx(1 / 15.0)


def _bad_files(directory: Path, good: Path) -> dict[str, Path]:
    empty = directory / "MLParamData_1_empty.h5"
    empty.write_bytes(b"")
    garbage = directory / "MLParamData_2_garbage.h5"
    garbage.write_bytes(np.random.default_rng(1).bytes(5000))
    truncated = directory / "MLParamData_3_truncated.h5"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    unknown = directory / "MLParamData_4_unknown.h5"
    with h5py.File(unknown, "w") as f:
        f.create_dataset("something/else", data=np.arange(3))
    return {"empty": empty, "corrupt": garbage, "truncated": truncated,
            "unknown-layout": unknown}


def test_bad_files_are_recorded_failed_and_the_next_file_still_goes_in(
    tmp_path: Path, sim: SimulatedBooster
) -> None:
    good = _param_file(tmp_path, sim)
    bad = _bad_files(tmp_path, good)
    db = tmp_path / "gmpsai.duckdb"
    for path in [*bad.values(), good]:
        distill_into_store(path, db)
    with store.reader(db) as con:
        status = {name: (s, e) for name, s, e in
                  con.execute("SELECT name, status, error FROM data_files").fetchall()}
        devices = con.execute("SELECT count(*) FROM param_stats WHERE file_name = ?",
                              [good.name]).fetchone()[0]
    assert status[good.name] == ("ok", "") and devices == 3
    assert status[bad["empty"].name][1].startswith("empty:")
    assert status[bad["corrupt"].name][1].startswith("corrupt: not an HDF5 file")
    assert status[bad["truncated"].name][1].startswith("corrupt:")
    assert status[bad["unknown-layout"].name][1].startswith("unknown-layout:")
    assert all(s == "failed" for name, (s, _) in status.items() if name != good.name)


def test_quick_look_limits_datasets_and_rows(tmp_path: Path, sim: SimulatedBooster) -> None:
    result = distill_file(_param_file(tmp_path, sim), max_datasets=1, max_rows=10)
    assert [(p.device, p.rows) for p in result.params] == [("B:VIMIN", 10)]


def test_read_ahead_keeps_order_passes_errors_and_stops_early() -> None:
    assert list(read_ahead(iter(range(50)), depth=2)) == list(range(50))

    def failing():
        yield 1
        raise OSError("disk gone")

    with pytest.raises(OSError, match="disk gone"):
        list(read_ahead(failing()))
    produced: list[int] = []

    def counting():
        for i in range(1000):
            produced.append(i)
            yield i

    for item in read_ahead(counting()):
        if item == 3:
            break
    assert len(produced) < 10  # the helper thread stopped instead of reading everything
