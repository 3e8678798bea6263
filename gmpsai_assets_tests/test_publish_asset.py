"""The `published_json` asset on the real chain: a simulated day's files, distilled by
`file_stats` into the DuckDB store, published; and its automation condition asks for a new
publication exactly when new statistics land, even while other days are not distilled."""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg
import pytest

from gmpsai_assets.defs.event_data import event_data
from gmpsai_assets.defs.file_stats import file_stats
from gmpsai_assets.defs.param_data import param_data
from gmpsai_assets.defs.published_json import automation_sensor, published_json
from gmpsai_assets.defs.resources import (
    DataLoggerResource,
    PublishResource,
    StatsResource,
    StorageResource,
)
from gmpsai_assets.stats.distill import distill_file

DEVICES = ["B:VIMIN", "I:IB"]
DAY = "2026-03-10"
SMALL_EVENTS = {"ops": {"event_data": {"config": {"max_event": "0c"}}}}


def _resources(data: Path, plist: Path) -> dict:
    datalogger = DataLoggerResource(source="simulated", param_list=str(plist), max_in_flight=2)
    storage = StorageResource(data_dir=str(data))
    stats = StatsResource(storage=storage)
    return {
        "datalogger": datalogger,
        "storage": storage,
        "stats": stats,
        "publish": PublishResource(stats=stats, datalogger=datalogger,
                                   publish_json_name="Old.json"),
    }


@pytest.fixture
def chain(tmp_path):
    data = tmp_path / "data"
    plist = tmp_path / "list.txt"
    plist.write_text("".join(f"MLrn {d}\n" for d in DEVICES))
    resources = _resources(data, plist)
    grabbed = dg.materialize([param_data, event_data], partition_key=DAY, resources=resources,
                             run_config=SMALL_EVENTS)
    path = grabbed.asset_materializations_for_node("param_data")[0].metadata["path"].value
    return data, resources, Path(path)


def _requested(instance, resources, cursor=None):
    defs = dg.Definitions(assets=[param_data, event_data, file_stats, published_json],
                          resources=resources)
    result = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=cursor)
    return result.get_num_requested(published_json.key), result.cursor


def test_publishes_what_file_stats_distilled(chain):
    data, resources, path = chain
    with dg.instance_for_test() as instance:
        assert dg.materialize([file_stats], partition_key=DAY, instance=instance,
                              resources=resources).success
        result = dg.materialize([published_json], instance=instance, resources=resources)
    assert result.success
    meta = result.asset_materializations_for_node("published_json")[0].metadata
    site = data / "site"
    assert meta["path"].value == str(site / "index.html")
    assert meta["legacy_json"].value == str(site / "Old.json")
    assert meta["devices"].value == 2
    assert meta["serve"].value == f"gmpsai serve-site --dir {site}"
    # the page's counts: the day's one DataLogger outage (23:46:41, 6.4 s) is in both devices,
    # but two devices cannot tell it from theirs (OUTAGE_MIN_DEVICES): a warning of each
    said = {k: meta[k].value for k in (
        "data_as_of", "overdue", "days_without_data", "datalogger_outages", "days_with_problems",
        "days_with_warnings", "devices_with_errors", "devices_with_errors_or_warnings")}
    assert said == {"data_as_of": DAY, "overdue": True, "days_without_data": 0,
                    "datalogger_outages": 0, "days_with_problems": 0, "days_with_warnings": 2,
                    "devices_with_errors": 0, "devices_with_errors_or_warnings": 2}
    doc = json.loads((site / "gmpsai-site.json").read_text())
    details = json.loads((site / "gmpsai-days.json").read_text())  # fetched after the plots
    truth = {p.device: p for p in distill_file(path).params}
    assert [d["name"] for d in doc["devices"]] == DEVICES
    for dev, more in zip(doc["devices"], details["devices"], strict=True):
        cols, ps = {**dev["days"], **more["days"]}, truth[dev["name"]]
        assert cols["day"] == ["2026-03-10"]
        assert cols["typical"][0] == pytest.approx(ps.p50)  # readings: the median
        assert doc["files"][cols["file"][0]]["name"] == path.name
        for field in ("rows", "completeness", "gap_count", "mode", "std", "min", "max", "p05"):
            assert cols[field][0] == pytest.approx(getattr(ps, field))
    old = json.loads((site / "Old.json").read_text())
    assert [t["name"] for t in old["data"][:5]] == [
        "B:VIMIN max", "B:VIMIN +1sigma", "B:VIMIN mode", "B:VIMIN -1sigma", "B:VIMIN min"]
    assert old["data"][2]["y"] == [pytest.approx(truth["B:VIMIN"].mode)]


def test_new_statistics_trigger_a_publication(chain):
    _, resources, _ = chain
    with dg.instance_for_test() as instance:
        # One day gets distilled; every other day of the partitions never is.
        _, cursor = _requested(instance, resources)
        assert dg.materialize([published_json], instance=instance, resources=resources).success
        n, cursor = _requested(instance, resources, cursor)
        assert n == 0  # published, nothing new since
        assert dg.materialize([file_stats], partition_key=DAY, instance=instance,
                              resources=resources).success
        n, cursor = _requested(instance, resources, cursor)
        assert n == 1  # new statistics landed, although the other days are still missing
        assert dg.materialize([published_json], instance=instance, resources=resources).success
        n, _ = _requested(instance, resources, cursor)
        assert n == 0


def test_registered_with_its_sensor_running():
    from gmpsai_assets.definitions import defs

    assert published_json.key in defs.resolve_asset_graph().get_all_asset_keys()
    sensor = defs.resolve_sensor_def("automation_sensor")
    assert sensor is not None
    assert automation_sensor.default_status == dg.DefaultSensorStatus.RUNNING
    spec = published_json.specs_by_key[published_json.key]
    assert spec.group_name == "publishing" and set(spec.kinds) == {"json", "html"}
    assert [d.asset_key for d in spec.deps] == [file_stats.key]


def test_a_store_moved_by_configuration_never_blanks_a_good_page(chain, tmp_path):
    """GMPSAI_STATS_DB pointing elsewhere (a typo, a new data dir) finds no statistics: the run
    fails naming the setting and the published page keeps its devices."""
    data, resources, _ = chain
    with dg.instance_for_test() as instance:
        assert dg.materialize([file_stats], partition_key=DAY, instance=instance,
                              resources=resources).success
        assert dg.materialize([published_json], instance=instance, resources=resources).success
        site = data / "site"
        before = {p.name: p.read_bytes() for p in site.iterdir()}
        for elsewhere in (tmp_path / "typo.duckdb", None):
            if elsewhere is None:  # an existing store without statistics: the same refusal
                elsewhere = tmp_path / "empty.duckdb"
                from gmpsai_assets.stats.store import writer
                with writer(elsewhere):
                    pass
            wrong = dict(resources)
            stats = StatsResource(storage=StorageResource(data_dir=str(data)),
                                  stats_db=str(elsewhere))
            wrong["publish"] = PublishResource(stats=stats, datalogger=resources["datalogger"],
                                               publish_json_name="Old.json")
            result = dg.materialize([published_json], instance=instance, resources=wrong,
                                    raise_on_error=False)
            assert not result.success
            failure = result.get_step_failure_events()[0].step_failure_data.error
            assert "GMPSAI_STATS_DB" in failure.message and "keeps its 2 devices" in failure.message
            assert {p.name: p.read_bytes() for p in site.iterdir()} == before
