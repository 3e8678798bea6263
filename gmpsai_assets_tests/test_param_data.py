import datetime as dt
from pathlib import Path

import dagster as dg
import numpy as np
import pytest

from gmpsai_assets.defs.param_data import param_data
from gmpsai_assets.defs.resources import DataLoggerResource, StorageResource
from gmpsai_assets.files.paramfile import read_param_attrs, read_param_device


def _resources(data_dir: Path, param_list: Path) -> dict:
    return {
        "datalogger": DataLoggerResource(source="simulated", param_list=str(param_list)),
        "storage": StorageResource(data_dir=str(data_dir)),
    }


def _one_device_list(tmp_path: Path, device: str = "B:IMINER") -> Path:
    path = tmp_path / "one.txt"
    path.write_text(f"MLrn {device}\n")
    return path


@pytest.mark.parametrize(("day", "hours"), [("2026-03-08", 23), ("2026-11-01", 25),
                                            ("2026-03-10", 24)])
def test_partition_window_is_the_local_day(tmp_path, day, hours):
    result = dg.materialize([param_data], partition_key=day,
                            resources=_resources(tmp_path / "data", _one_device_list(tmp_path)))
    assert result.success
    meta = result.asset_materializations_for_node("param_data")[0].metadata
    path = Path(meta["path"].value)
    assert path.parent == tmp_path / "data" / "params" and path.exists()
    attrs = read_param_attrs(path)
    assert attrs["window_end_utc"] - attrs["window_start_utc"] == hours * 3600
    assert attrs["window_start_local"].startswith(f"{day}T00:00:00")
    assert meta["window_hours"].value == hours
    stamps = read_param_device(path, "B:IMINER").utc_seconds
    assert stamps.min() >= attrs["window_start_utc"] and stamps.max() < attrs["window_end_utc"]
    assert len(stamps) == pytest.approx(hours * 3600 * 15, rel=0.02)


def test_metadata_counts_and_rerun_replaces_file(tmp_path, small_list):
    listing = small_list.read_text() + "MLrn B:NOTLOG\n"
    small_list.write_text(listing)
    resources = _resources(tmp_path / "data", small_list)
    first = dg.materialize([param_data], partition_key="2026-03-10", resources=resources)
    meta = first.asset_materializations_for_node("param_data")[0].metadata
    assert meta["devices_ok"].value == 5
    assert list(meta["devices_failed"].value) == ["B:NOTLOG"]
    rows = meta["rows_per_device"].value
    assert rows["B:NOTLOG"] == 0 and all(rows[d] > 1_200_000 for d in rows if d != "B:NOTLOG")
    assert meta["rows_total"].value == sum(rows.values())
    assert meta["bytes"].value == Path(meta["path"].value).stat().st_size
    assert np.all(np.diff(read_param_device(meta["path"].value, "I:IB").utc_seconds) > 0)
    second = dg.materialize([param_data], partition_key="2026-03-10", resources=resources)
    assert second.success
    files = sorted((tmp_path / "data" / "params").iterdir())
    assert [f.name for f in files] == [
        Path(second.asset_materializations_for_node("param_data")[0].metadata["path"].value).name]


def test_schedule_runs_for_yesterday():
    from gmpsai_assets.definitions import defs

    schedule = defs.resolve_schedule_def("param_data_schedule")
    # both as context managers: a context left open leaks Dagster's per-instance global state
    with dg.instance_for_test() as instance, dg.build_schedule_context(
        instance=instance, repository_def=defs.get_repository_def(),
        scheduled_execution_time=dt.datetime(2026, 3, 11, 1, 0,
                                             tzinfo=dt.timezone(dt.timedelta(hours=-5))),
    ) as ctx:
        requests = list(schedule.evaluate_tick(ctx).run_requests or [])
    assert [r.partition_key for r in requests] == ["2026-03-10"]
    spec = defs.get_assets_def("param_data")
    assert spec.partitions_def.timezone == "America/Chicago"
    assert "hdf5" in spec.specs_by_key[dg.AssetKey("param_data")].kinds
