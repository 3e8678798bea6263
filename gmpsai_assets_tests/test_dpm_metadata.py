"""Device descriptions and units: what DPM (through DevDB, or DPM/HTTP's reading metadata), the
simulated Booster and the ACL gateway say of a device is stored in the parameter file, carried
into the cycle table's report and onto the page's labels; what nobody said stays empty."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import h5py
import pytest

from gmpsai_assets.acnet.acl_client import AclDataLogger
from gmpsai_assets.acnet.dpm_client import DpmDataLogger
from gmpsai_assets.dataset import build_cycle_table
from gmpsai_assets.files.paramfile import read_param_attrs
from gmpsai_assets.ingest.events import grab_events
from gmpsai_assets.ingest.params import grab_params
from gmpsai_assets.publish.labels import label_of
from gmpsai_assets.publish.site import SITE_JSON, publish_from_store
from gmpsai_assets.samples import DeviceInfo
from gmpsai_assets.settings import Settings
from gmpsai_assets.sim.acl_server import AclServer
from gmpsai_assets.sim.simulator import SimulatedBooster
from gmpsai_assets.stats.distill import distill_files_into_store
from gmpsai_assets.window import Window, parse_local_datetime
from gmpsai_assets_tests.conftest import pacsys_or_skip
from gmpsai_assets_tests.test_dpm import client, free_port

pytestmark = pytest.mark.dpm

T0 = parse_local_datetime("2026-03-10 06:00:00")
WINDOW = Window(T0, T0 + 120)
DEVICES = ["B:VIMIN", "B_VIMIN", "B|GMPSSC", "B:LINFRQ"]
TABLE = {
    "B:VIMIN": DeviceInfo("GMPS minimum-current program", "A"),
    "B_VIMIN": DeviceInfo("GMPS minimum-current program setting", "Amps"),
    "B|GMPSSC": DeviceInfo("GMPS status word", ""),
}  # B:LINFRQ unknown to this DevDB


def devdb(table: dict[str, DeviceInfo] = TABLE) -> object:
    pacsys_or_skip()
    from gmpsai_assets.sim.dpm_server import DevDbServer

    return DevDbServer(table)


def group_attrs(path: Path, device: str) -> tuple[str, str]:
    with h5py.File(path, "r") as f:
        a = f[device].attrs
        return str(a["description"]), str(a["units"])


def test_dpm_grpc_asks_devdb_and_the_file_keeps_what_it_said(
    dpm_server: Callable[..., object], tmp_path: Path
) -> None:
    with devdb() as db, client(dpm_server(), devdb_url=db.url) as c:  # type: ignore[attr-defined]
        result = grab_params(c, DEVICES, WINDOW, tmp_path / "o", tmp_path / "d")
        assert db.asked[0] == DEVICES  # type: ignore[attr-defined]  # one batch first
    path = result.path
    assert group_attrs(path, "B:VIMIN") == ("GMPS minimum-current program", "A")
    assert group_attrs(path, "B_VIMIN")[1] == "Amps"  # the setting property's units
    assert group_attrs(path, "B|GMPSSC") == ("GMPS status word", "")
    assert group_attrs(path, "B:LINFRQ") == ("", "")  # DevDB did not know it: nothing invented
    records = read_param_attrs(path)["device_outcomes"]
    assert records["B:VIMIN"].info == TABLE["B:VIMIN"] and records["B:LINFRQ"].info == DeviceInfo()
    raw = json.loads(h5py.File(path, "r").attrs["device_outcomes"])
    assert "units" not in raw["B:LINFRQ"] and raw["B:VIMIN"]["units"] == "A"


def test_devdb_off_or_out_of_reach_stores_nothing_and_says_so(
    dpm_server: Callable[..., object], tmp_path: Path
) -> None:
    server = dpm_server()
    with client(server) as c:  # devdb_url=None: not asked
        off = grab_params(c, DEVICES, WINDOW, tmp_path / "a", tmp_path / "d")
    said: list[str] = []
    with client(server, devdb_url=f"http://127.0.0.1:{free_port()}") as c:
        down = grab_params(c, DEVICES, WINDOW, tmp_path / "b", tmp_path / "d",
                           progress=said.append)
    for result in (off, down):
        assert all(r.status == "ok" for r in result.records.values())
        assert all(group_attrs(result.path, d) == ("", "") for d in DEVICES)
    assert any(line.startswith("device descriptions and units not stored: DevDB at")
               for line in said)


def test_dpm_http_readings_carry_their_own_metadata() -> None:
    """DPM/HTTP's readings have `meta` (DeviceInfo): the client keeps it and asks DevDB only
    for the devices it did not describe."""
    pacsys_or_skip()
    from pacsys.types import DeviceMeta, Reading, ValueType

    with devdb() as db, DpmDataLogger("http", "127.0.0.1", free_port(),
                                      devdb_url=db.url) as c:  # type: ignore[attr-defined]
        reading = Reading(drf="B:LINFRQ<-LOGGER:1:2:MLrn", value_type=ValueType.SCALAR,
                          value=1.0, meta=DeviceMeta(7, "B:LINFRQ", "line freq ", "mHz"))
        c._remember_meta("B:LINFRQ", reading)
        info = c.describe(["B:LINFRQ", "B:VIMIN"])
        assert db.asked == [["B:VIMIN"]]  # type: ignore[attr-defined]
    assert info == {"B:LINFRQ": DeviceInfo("line freq", "mHz"), "B:VIMIN": TABLE["B:VIMIN"]}


def test_the_simulator_and_the_acl_gateway_say_what_they_know(
    acl_server: Callable[..., AclServer], tmp_path: Path
) -> None:
    sim = grab_params(SimulatedBooster(), DEVICES, WINDOW, tmp_path / "s", tmp_path / "d")
    assert group_attrs(sim.path, "B:LINFRQ") == ("line frequency offset from 60 Hz", "mHz")
    assert group_attrs(sim.path, "B:VIMIN") == ("", "")
    with AclDataLogger(acl_server().url) as acl:
        via_acl = grab_params(acl, DEVICES, WINDOW, tmp_path / "a", tmp_path / "d")
    assert all(group_attrs(via_acl.path, d) == ("", "") for d in DEVICES)


def test_units_reach_the_cycle_table_and_the_page(
    dpm_server: Callable[..., object], tmp_path: Path
) -> None:
    data = tmp_path / "data"
    with devdb() as db, client(dpm_server(), devdb_url=db.url) as c:  # type: ignore[attr-defined]
        params = grab_params(c, DEVICES, WINDOW, data / "params", data / "drafts").path
    events = grab_events(SimulatedBooster(), WINDOW, data / "events", data / "drafts",
                         max_event=0x1D).path
    report = build_cycle_table(params, events).report
    assert (report.devices["B:VIMIN"].units, report.devices["B:VIMIN"].description) == (
        "A", "GMPS minimum-current program")
    assert report.devices["B:LINFRQ"].units == ""
    assert type(report).from_json(report.to_json()).devices["B_VIMIN"].units == "Amps"

    settings = Settings.from_env({"GMPSAI_DATA_DIR": str(data)})
    distill_files_into_store([params], settings.stats_db_path)
    publish_from_store(settings)
    doc = json.loads((settings.site_dir / SITE_JSON).read_text())
    shown = {d["name"]: (d["description"], d["units"]) for d in doc["devices"]}
    assert shown["B:VIMIN"] == ("GMPS minimum-current program", "A")  # the file's, over the table
    # nothing recorded for B:LINFRQ here: the page's table of confirmed devices
    assert shown["B:LINFRQ"] == (label_of("B:LINFRQ").description, "mHz")


def test_labels_prefer_what_the_files_recorded() -> None:
    assert label_of("B:VIMIN", DeviceInfo("recorded", "A")).units == "A"
    assert label_of("B:VIMIN", DeviceInfo("recorded", "")).description == "recorded"
    assert label_of("B:LINFRQ", DeviceInfo()).units == "mHz"  # the table, where files say nothing
    assert label_of("B:NOBODY").units == ""
