"""The team's notebooks and scripts read every data file one way: keys listed with h5py, then
`pandas.read_hdf(path, key)` per device or event. These tests run that loop, as they wrote it,
on fresh files of each kind; and check that the platform's own readers still read the h5py
layout written before the pandas view existed (`gmpsai-params/1`, `gmpsai-events/1`)."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import tables

from gmpsai_assets.acnet.datalogger import DataLoggerUnavailable, Samples
from gmpsai_assets.acnet.devices import PROPERTY_BY_QUALIFIER, load_device_list
from gmpsai_assets.acnet.tclk import event_group
from gmpsai_assets.dataset import build_cycle_table
from gmpsai_assets.files import eventfile, h5common, paramfile
from gmpsai_assets.files.datafile import open_data_file
from gmpsai_assets.files.h5common import GZIP_COMPRESSION, provenance_attrs, string_array
from gmpsai_assets.ingest.events import grab_events
from gmpsai_assets.ingest.params import grab_params
from gmpsai_assets.sim.simulator import SimulatedBooster
from gmpsai_assets.stats.distill import distill_file
from gmpsai_assets.window import Window, day_window

MINUTE = Window(day_window("2026-03-10").start + 7200, day_window("2026-03-10").start + 7260)


def consumers_loop(filename: Path) -> dict[str, pd.DataFrame]:
    """dataprep/dataset.py, HealthCheckHDF5.py, ReadHDF5.py: keys from h5py, read_hdf per key.
    Only PyTables' NaturalNameWarning (about names like B:VIMIN) may be raised on the way."""
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        with h5py.File(filename, "r") as f:
            keys = list(f.keys())
        frames = {key: pd.read_hdf(filename, key) for key in keys}
    assert [w.message for w in seen if w.category is not tables.NaturalNameWarning] == []
    return frames


def test_consumers_loop_reads_a_fresh_parameter_file_of_the_teams_list(tmp_path: Path) -> None:
    sim = SimulatedBooster()
    devices = [e.device for e in load_device_list()]  # every name the team logs today
    path = grab_params(sim, devices, MINUTE, tmp_path / "out", tmp_path / "drafts").path
    frames = consumers_loop(path)
    assert sorted(frames) == sorted(devices)  # every top-level key is a device
    for device, df in frames.items():
        assert list(df.columns) == ["utc_seconds", "value"]
        assert df.dtypes.tolist() == [np.float64, np.float64]
        want = sim.fetch(device, MINUTE)
        assert len(want) > 0
        np.testing.assert_array_equal(df["utc_seconds"].to_numpy(), want.utc_seconds)
        np.testing.assert_array_equal(df["value"].to_numpy(), want.values)
        assert df.index.tolist() == list(range(len(want)))  # row numbers, as the old files
    with pd.HDFStore(path, "r") as store:  # pandas' own listing agrees
        assert sorted(k.lstrip("/") for k in store) == sorted(devices)


def test_every_kind_of_acnet_name_is_a_pandas_key(tmp_path: Path) -> None:
    """Each qualifier the name rule allows (`:` `_` `|` `&` `@` `$`), a long name, and an empty
    and a failed device: read_hdf opens each, the last two as empty frames."""
    names = [f"B{q}GMPS{i}" for i, q in enumerate(PROPERTY_BY_QUALIFIER)]
    names.append("B:A_LONG_NAME_OF_THE_NEWER_KIND_42")
    path = tmp_path / "names.h5"
    with paramfile.ParamFileWriter(path, MINUTE, "MLrn", "simulated",
                                   [*names, "B:EMPTY", "B:FAILED"]) as w:
        for i, name in enumerate(names):
            t = MINUTE.start + np.arange(5) / 15.0
            w.add(name, Samples(name, t, np.full(5, float(i))), None)
        w.add("B:EMPTY", Samples.empty("B:EMPTY"), None)
        w.add("B:FAILED", None, DataLoggerUnavailable("gateway said 503"))
    frames = consumers_loop(path)
    assert sorted(frames) == sorted([*names, "B:EMPTY", "B:FAILED"])
    for i, name in enumerate(names):
        assert frames[name]["value"].tolist() == [float(i)] * 5
    for name in ("B:EMPTY", "B:FAILED"):
        assert list(frames[name].columns) == ["utc_seconds", "value"] and frames[name].empty
    with h5py.File(path, "r") as f:  # the failure stays visible beside pandas' view
        assert f["B:FAILED"].attrs["status"] == "failed"
        assert f["B:FAILED"].attrs["reason"] == "gateway said 503"


def test_consumers_loop_reads_a_fresh_event_file(tmp_path: Path) -> None:
    sim = SimulatedBooster()
    result = grab_events(sim, MINUTE, tmp_path / "out", tmp_path / "drafts", max_event=0x1F)
    frames = consumers_loop(result.path)
    occurred = [c for c, r in result.records.items() if r.status == "ok"]
    assert {0x00, 0x0C} <= set(occurred)
    assert sorted(frames) == sorted(event_group(c) for c in occurred)
    for code in occurred:
        df = frames[event_group(code)]
        assert list(df.columns) == ["SCmicrosec", "epoch", "utc_seconds"]
        want = sim.event_occurrences(code, MINUTE)
        np.testing.assert_array_equal(df["SCmicrosec"].to_numpy(), want.sc_seconds)
        np.testing.assert_array_equal(df["epoch"].to_numpy(), want.utc_seconds)  # true UTC
        np.testing.assert_array_equal(df["utc_seconds"].to_numpy(), want.utc_seconds)
        assert MINUTE.start <= df["epoch"].min() and df["epoch"].max() < MINUTE.end


def test_pandas_view_shares_the_h5py_datasets(tmp_path: Path) -> None:
    """No second copy: pandas' blocks are hard links to the h5py datasets."""
    path = grab_params(SimulatedBooster(), ["B:VIMIN"], MINUTE, tmp_path, tmp_path / "d").path
    with h5py.File(path, "r") as f:
        g = f["B:VIMIN"]
        assert g["block0_values"].id == g["utc_seconds"].id
        assert g["block1_values"].id == g["value"].id


# ---- the h5py layout written before the pandas view: still read by our own readers ---------


def _write_v1_params(path: Path, arrays: dict[str, tuple[np.ndarray, np.ndarray]]) -> None:
    """`gmpsai-params/1` exactly as the platform wrote it: groups of two datasets, no pandas."""
    with h5py.File(path, "w") as f:
        for device, (t, v) in arrays.items():
            g = f.create_group(device)
            g.create_dataset("utc_seconds", data=t, **GZIP_COMPRESSION)
            g.create_dataset("value", data=v, **GZIP_COMPRESSION)
            g.attrs.update(device=device, status="ok", rows=t.size, reason="")
        f.attrs.update({
            **provenance_attrs("gmpsai-params/1", MINUTE, "MLrn", "simulated", 1.0),
            "devices": string_array(list(arrays)),
            "device_outcomes": json.dumps({d: {"status": "ok", "rows": t.size, "reason": ""}
                                           for d, (t, _) in arrays.items()}),
        })


def _write_v1_events(path: Path, utc: np.ndarray, sc: np.ndarray) -> None:
    with h5py.File(path, "w") as f:
        g = f.create_group("Event0c")
        g.create_dataset("utc_seconds", data=utc)
        g.create_dataset("sc_seconds", data=sc)
        f.attrs.update({
            **provenance_attrs("gmpsai-events/1", MINUTE, "MLrn", "simulated", 1.0),
            "events_requested": np.array([12]), "stopped_early": False,
            "event_outcomes": json.dumps({"0c": {"status": "ok", "rows": utc.size,
                                                 "reason": ""}}),
        })


def test_files_of_the_first_h5py_layout_are_still_read(tmp_path: Path) -> None:
    t = MINUTE.start + np.arange(900) / 15.0
    params, events = tmp_path / "p1.h5", tmp_path / "e1.h5"
    _write_v1_params(params, {"B:VIMIN": (t, t * 0 + 103.4), "B|GMPSSC": (t[:10], t[:10] * 0)})
    _write_v1_events(events, t, t % 60.0667)
    got = {ds.name: ds for ds in open_data_file(params).datasets()}
    np.testing.assert_array_equal(got["B:VIMIN"].utc_seconds, t)
    np.testing.assert_array_equal(paramfile.read_param_device(params, "B|GMPSSC").utc_seconds,
                                  t[:10])
    np.testing.assert_array_equal(eventfile.read_event(events, 0x0C).utc_seconds, t)
    for path, fmt in ((params, "gmpsai-params/1"), (events, "gmpsai-events/1")):
        result = distill_file(path)
        assert result.ok and result.record.format == fmt


def test_files_of_the_gzip_layout_are_still_read_everywhere(tmp_path: Path, monkeypatch) -> None:
    """`gmpsai-params/2` and `gmpsai-events/2`, written by the writers of that release (gzip-1
    with shuffle, those format words): the consumers' loop, the platform's reader, the
    distiller and the cycle table read the same samples as from today's files."""
    monkeypatch.setattr(h5common, "COMPRESSION", GZIP_COMPRESSION)
    monkeypatch.setattr(paramfile, "FORMAT", "gmpsai-params/2")
    monkeypatch.setattr(eventfile, "FORMAT", "gmpsai-events/2")
    sim = SimulatedBooster()
    p = grab_params(sim, ["B:VIMIN", "B:IMINER"], MINUTE, tmp_path / "p", tmp_path / "d").path
    e = grab_events(sim, MINUTE, tmp_path / "e", tmp_path / "d", max_event=0x1D).path
    monkeypatch.undo()
    with h5py.File(p, "r") as f:
        assert f.attrs["format"] == "gmpsai-params/2"
        assert f["B:VIMIN"]["value"].compression == "gzip" and f["B:VIMIN"]["value"].shuffle
    frames = consumers_loop(p)
    got = {ds.name: ds for ds in open_data_file(p).datasets()}
    for device in ("B:VIMIN", "B:IMINER"):
        want = sim.fetch(device, MINUTE)
        np.testing.assert_array_equal(frames[device]["value"].to_numpy(), want.values)
        np.testing.assert_array_equal(got[device].utc_seconds, want.utc_seconds)
        np.testing.assert_array_equal(got[device].values, want.values)
    ticks = sim.event_occurrences(0x0C, MINUTE)
    np.testing.assert_array_equal(consumers_loop(e)["Event0c"]["epoch"].to_numpy(),
                                  ticks.utc_seconds)
    for path, fmt in ((p, "gmpsai-params/2"), (e, "gmpsai-events/2")):
        result = distill_file(path)
        assert result.ok and result.record.format == fmt
    table = build_cycle_table(p, e)
    assert table.frame.height == ticks.utc_seconds.size
    assert table.report.devices["B:VIMIN"].filled == len(sim.fetch("B:VIMIN", MINUTE))
    assert table.report.resets_unavailable == {}


# ---- times against the file's own window ------------------------------------------------------


def test_new_file_with_times_outside_its_window_fails_distillation(tmp_path: Path) -> None:
    """A writer's unit mistake (here milliseconds stored as seconds) is never stored as ok."""
    path = tmp_path / "wrong.h5"
    with paramfile.ParamFileWriter(path, MINUTE, "MLrn", "simulated", ["B:VIMIN"]) as w:
        t = MINUTE.start * 1000.0 + np.arange(5) * 66.7
        w.add("B:VIMIN", Samples("B:VIMIN", t, np.ones(5)), None)
    result = distill_file(path)
    assert not result.ok
    assert result.record.error.startswith("impossible-times: B:VIMIN: 5 of 5 times outside")
