"""Statuses and quality levels are enums in the code and plain words wherever they are stored or
shown: HDF5 attributes, the outcome JSON, the page's JSON and Dagster metadata hold exactly the
words the old readers and the page compare against."""

import json

import dagster as dg
import h5py

from gmpsai_assets.defs.file_stats import verdict_result
from gmpsai_assets.ingest.params import grab_params
from gmpsai_assets.publish.site import json_bytes
from gmpsai_assets.quality import Level, Verdict
from gmpsai_assets.status import GRAB_STATUSES, DeviceStatus
from gmpsai_assets.window import Window, day_window

W = Window(day_window("2026-03-10").start + 3600, day_window("2026-03-10").start + 3630)


def test_words_are_the_stored_vocabulary():
    assert [str(s) for s in DeviceStatus] == ["ok", "partial", "empty", "failed", "missing"]
    assert [str(s) for s in GRAB_STATUSES] == ["ok", "partial", "empty", "failed"]
    assert [str(v) for v in Level] == ["ok", "warn", "error", "unknown"]
    assert json_bytes({Level.WARN: [DeviceStatus.PARTIAL]}) == b'{"warn":["partial"]}'


def test_hdf5_holds_plain_words(sim, tmp_path):
    result = grab_params(sim, ["B:VIMIN", "B:NOTLOG"], W, tmp_path / "out", tmp_path / "d")
    with h5py.File(result.path) as f:
        stored = {d: f[d].attrs["status"] for d in ("B:VIMIN", "B:NOTLOG")}
        outcomes = json.loads(f.attrs["device_outcomes"])
    assert stored == {"B:VIMIN": "ok", "B:NOTLOG": "failed"}
    assert all(type(s) is str for s in stored.values())  # a vlen string, as old files hold
    assert {d: o["status"] for d, o in outcomes.items()} == stored


def test_enum_details_reach_dagster_as_words(tmp_path):
    verdict = Verdict("devices_present", Level.WARN, "one partial",
                      {"level": Level.WARN, "partial": {"B:VIMIN": DeviceStatus.PARTIAL}})
    result = verdict_result(verdict, tmp_path / "f.h5")
    assert result.severity == dg.AssetCheckSeverity.WARN
    assert result.metadata["level"] == dg.MetadataValue.text("warn")
    text = dg.serialize_value(result.metadata)  # Dagster refuses enums it does not know
    assert '"text": "warn"' in text and '"data": {"B:VIMIN": "partial"}' in text
