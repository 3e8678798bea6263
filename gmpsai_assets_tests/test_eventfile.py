import json

import h5py
import numpy as np
import pytest

from gmpsai_assets.acnet.datalogger import DataLoggerUnavailable
from gmpsai_assets.files.eventfile import (
    FORMAT,
    EventFileWriter,
    list_events,
    read_event,
    read_event_attrs,
)
from gmpsai_assets.files.h5common import DataFileError
from gmpsai_assets.files.paramfile import ParamFileWriter
from gmpsai_assets.samples import EventOccurrences, Samples
from gmpsai_assets.window import Window, day_window
from gmpsai_assets_tests.h5filters import blosc2_shuffle

W = Window(day_window("2026-03-10").start, day_window("2026-03-10").start + 60)
TICKS = EventOccurrences(0x0C, W.start + np.arange(900) / 15.0, np.arange(900) / 15.0)
STARTS = EventOccurrences(0x00, np.array([W.start + 3.0]), np.array([0.0]))


@pytest.fixture
def event_file(tmp_path):
    path = tmp_path / "events.h5"
    with EventFileWriter(path, W, "MLrn", "simulated", created_utc=1234.5) as w:
        w.add(0x00, STARTS, None)
        w.add(0x01, EventOccurrences(1, np.empty(0), np.empty(0)), None)
        w.add(0x02, None, DataLoggerUnavailable("gateway said 503"))
        w.add(0x0C, TICKS, None)
    return path


def test_layout_with_plain_h5py(event_file):
    with h5py.File(event_file) as f:
        assert f.attrs["format"] == FORMAT
        assert sorted(f) == ["Event00", "Event0c"]  # empty and failed events get no group
        group = f["Event0c"]
        assert {"sc_seconds", "utc_seconds"} <= set(group)  # beside pandas' view of them
        assert group["utc_seconds"].dtype == np.float64
        assert blosc2_shuffle(group["utc_seconds"]) and blosc2_shuffle(group["sc_seconds"])
        assert group.attrs["label"] == "$0C" and group.attrs["event"] == 12
        assert group.attrs["rows"] == 900
        assert "15 Hz" in group.attrs["description"]  # from TCLK_Events.txt
        assert f.attrs["window_start_local"] == "2026-03-10T00:00:00-05:00"
        outcomes = json.loads(f.attrs["event_outcomes"])
        assert outcomes["02"] == {"status": "failed", "rows": 0, "reason": "gateway said 503"}


def test_round_trip(event_file):
    attrs = read_event_attrs(event_file)
    assert attrs["events_requested"] == [0, 1, 2, 12]
    assert (attrs["node"], attrs["source"], attrs["created_utc"]) == ("MLrn", "simulated", 1234.5)
    assert attrs["window_start_utc"] == W.start and attrs["window_end_utc"] == W.end
    assert attrs["stopped_early"] is False
    assert {e: r.status for e, r in attrs["event_outcomes"].items()} == {
        0: "ok", 1: "empty", 2: "failed", 12: "ok"}
    assert list_events(event_file) == [0x00, 0x0C]
    back = read_event(event_file, 0x0C)
    assert np.array_equal(back.utc_seconds, TICKS.utc_seconds)
    assert np.array_equal(back.sc_seconds, TICKS.sc_seconds)
    assert len(read_event(event_file, 0x01)) == 0


def test_reader_refuses_what_the_file_does_not_hold(event_file, tmp_path):
    with pytest.raises(DataFileError, match="failed to fetch"):
        read_event(event_file, 0x02)
    with pytest.raises(DataFileError, match=r"\$11 was not asked for"):
        read_event(event_file, 0x11)
    param = tmp_path / "params.h5"
    with ParamFileWriter(param, W, "MLrn", "simulated", ["B:VIMIN"]) as w:
        w.add("B:VIMIN", Samples.empty("B:VIMIN"), None)
    with pytest.raises(DataFileError, match="not a gmpsai-events/3 file"):
        read_event_attrs(param)
    junk = tmp_path / "junk.h5"
    junk.write_bytes(b"not hdf5 at all")
    with pytest.raises(DataFileError, match="not a readable HDF5 file"):
        read_event(junk, 0x0C)


def test_a_failed_write_leaves_no_file_attributes(tmp_path):
    path = tmp_path / "broken.h5"
    with pytest.raises(RuntimeError), EventFileWriter(path, W, "MLrn", "simulated") as w:
        w.add(0x0C, TICKS, None)
        raise RuntimeError("crash mid-write")
    with pytest.raises(DataFileError):  # no `format`: never mistaken for a complete file
        read_event_attrs(path)
