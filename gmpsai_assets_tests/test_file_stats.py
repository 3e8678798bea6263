"""The sensor on a real Dagster instance, and file_stats materialized through Dagster."""

from __future__ import annotations

import os
import time
from pathlib import Path

import dagster as dg
import pytest

from gmpsai_assets.defs.file_stats import (
    data_files_partitions,
    data_files_sensor,
    file_stats,
)
from gmpsai_assets.defs.resources import StatsResource, StorageResource
from gmpsai_assets.sim.simulator import SimulatedBooster
from gmpsai_assets.stats import store
from gmpsai_assets_tests.test_stats_distill import _event_file, _param_file

pytestmark = pytest.mark.filterwarnings("ignore::dagster.PreviewWarning")


def _age(path: Path, seconds: float = 60.0) -> Path:
    """Files modified in the last 10 s may still be being copied in; make this one older."""
    then = time.time() - seconds
    os.utime(path, (then, then))
    return path


def _resources(data_dir: Path) -> dict[str, dg.ConfigurableResource]:
    return {
        "storage": StorageResource(data_dir=str(data_dir)),
        "stats": StatsResource(storage=StorageResource(data_dir=str(data_dir))),
    }


def _tick(instance: dg.DagsterInstance, data_dir: Path, cursor: str | None):
    """One sensor evaluation, with its partition requests applied as the daemon would."""
    with dg.build_sensor_context(instance=instance, cursor=cursor,
                                 resources=_resources(data_dir)) as ctx:
        result = data_files_sensor(ctx)
    if isinstance(result, dg.SkipReason):
        return [], ctx.cursor
    for request in result.dynamic_partitions_requests:
        instance.add_dynamic_partitions(request.partitions_def_name,
                                        list(request.partition_keys))
    return result.run_requests, result.cursor


def test_sensor_requests_each_new_file_once_and_a_changed_file_again(
    tmp_path: Path, sim: SimulatedBooster
) -> None:
    data = tmp_path / "data"
    (data / "params").mkdir(parents=True)
    (data / "events").mkdir()
    param = _age(_param_file(data / "params", sim))
    event = _age(_event_file(data / "events"))
    (data / "params" / f".{param.name}.incoming-123").write_bytes(b"half a copy")
    fresh = data / "params" / "MLParamData_9_being_copied.h5"
    fresh.write_bytes(b"still arriving")  # modified just now: not settled yet
    with dg.instance_for_test() as instance:
        runs, cursor = _tick(instance, data, None)
        assert sorted(r.partition_key for r in runs) == sorted([param.name, event.name])
        assert len({r.run_key for r in runs}) == 2
        assert set(instance.get_dynamic_partitions(data_files_partitions.name)) == {
            param.name, event.name}

        runs, cursor = _tick(instance, data, cursor)
        assert runs == []  # nothing new: nothing requested twice

        with open(param, "ab") as f:  # the file changes (size and mtime)
            f.write(b"\0" * 16)
        _age(param, 30)
        _age(fresh)
        runs, cursor = _tick(instance, data, cursor)
        assert sorted(r.partition_key for r in runs) == sorted([param.name, fresh.name])
        assert param.name in next(r.run_key for r in runs if r.partition_key == param.name)

        event.unlink()
        runs, cursor = _tick(instance, data, cursor)
        assert runs == [] and event.name not in cursor


def test_file_stats_distils_a_partition_into_the_store(
    tmp_path: Path, sim: SimulatedBooster
) -> None:
    data = tmp_path / "data"
    (data / "params").mkdir(parents=True)
    good = _param_file(data / "params", sim)
    corrupt = data / "params" / "MLParamData_5_corrupt.h5"
    corrupt.write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 100)
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("data_files", [good.name, corrupt.name, "gone.h5"])
        ok = dg.materialize([file_stats], partition_key=good.name, instance=instance,
                            resources=_resources(data))
        assert ok.success
        meta = ok.get_asset_materialization_events()[0].materialization.metadata
        assert meta["status"].value == "ok" and meta["devices"].value == 3
        assert meta["devices_without_data"].value == ["B:GONE"]

        bad = dg.materialize([file_stats], partition_key=corrupt.name, instance=instance,
                             resources=_resources(data), raise_on_error=False)
        assert not bad.success
        failure = bad.get_step_failure_events()[0].step_failure_data
        assert "cannot be distilled" in failure.error.message
        assert failure.user_failure_data.metadata["error"].value.startswith("corrupt:")

        gone = dg.materialize([file_stats], partition_key="gone.h5", instance=instance,
                              resources=_resources(data))
        assert gone.success
    with store.reader(data / "gmpsai.duckdb") as con:
        status = dict(con.execute("SELECT name, status FROM data_files").fetchall())
        devices = con.execute("SELECT count(*) FROM param_stats_current").fetchone()[0]
    assert status == {good.name: "ok", corrupt.name: "failed", "gone.h5": "missing"}
    assert devices == 3
