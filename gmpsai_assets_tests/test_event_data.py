import datetime as dt
from pathlib import Path

import dagster as dg
import pytest

from gmpsai_assets.definitions import defs
from gmpsai_assets.defs.event_data import event_data
from gmpsai_assets.defs.file_stats import file_stats
from gmpsai_assets.defs.param_data import param_data
from gmpsai_assets.defs.resources import DataLoggerResource, StatsResource, StorageResource
from gmpsai_assets.files.eventfile import list_events, read_event_attrs
from gmpsai_assets.window import FERMILAB_TZ

SMALL_EVENTS = {"ops": {"event_data": {"config": {"max_event": "0c"}}}}


def _resources(data_dir: Path, param_list: Path, seed: str | None = None) -> dict:
    storage = StorageResource(data_dir=str(data_dir))
    return {
        "datalogger": DataLoggerResource(
            source="simulated", param_list=str(param_list), sim_seed=seed and int(seed)
        ),
        "storage": storage,
        "stats": StatsResource(storage=storage),
    }


@pytest.fixture
def one_device(tmp_path: Path) -> Path:
    path = tmp_path / "one.txt"
    path.write_text("MLrn B:IMINER\n")
    return path


def _checks(result: dg.ExecuteInProcessResult) -> dict[str, dg.AssetCheckEvaluation]:
    return {e.check_name: e for e in result.get_asset_check_evaluations()}


def test_dst_end_day_with_param_data_and_checks(tmp_path, one_device):
    data = tmp_path / "data"
    result = dg.materialize([param_data, event_data, file_stats], partition_key="2026-11-01",
                            resources=_resources(data, one_device))
    assert result.success
    meta = {k: v.value for k, v in
            result.asset_materializations_for_node("event_data")[0].metadata.items()}
    path = Path(meta["path"])
    assert path.parent == data / "events" and path.name.startswith("MLEventData_")
    assert meta["window_hours"] == 25 and meta["events_requested"] == 256
    per_event = meta["occurrences_per_event"]
    assert meta["events_found"] == len(per_event) == len(list_events(path))
    assert 25 * 3600 * 14.99 < per_event["$0C"] < 25 * 3600 * 15.01
    assert 25 * 60 - 2 <= per_event["$00"] <= 25 * 60 + 2
    assert meta["occurrences_total"] == sum(per_event.values())
    attrs = read_event_attrs(path)
    assert attrs["window_start_local"] == "2026-11-01T00:00:00-05:00"
    assert attrs["window_end_local"] == "2026-11-02T00:00:00-06:00"
    checks = _checks(result)
    assert checks["ticks_match_param_samples"].passed
    assert checks["one_00_per_supercycle"].passed
    tick_meta = checks["ticks_match_param_samples"].metadata
    assert tick_meta["ticks_0c"].value == per_event["$0C"]
    assert tick_meta["reference_device"].value == "B:IMINER"


def test_max_event_config_and_a_day_without_param_data(tmp_path, one_device):
    result = dg.materialize(
        [event_data, file_stats], partition_key="2026-03-10",
        resources=_resources(tmp_path / "data", one_device), run_config=SMALL_EVENTS,
        raise_on_error=False,
    )
    assert not result.success
    meta = result.asset_materializations_for_node("event_data")[0].metadata
    assert meta["events_requested"].value == 13
    assert max(list_events(meta["path"].value)) == 0x0C
    failure = result.get_step_failure_events()[0]
    assert failure.step_key == "file_stats"
    assert "no param_data file of node MLrn for 2026-03-10" in str(
        failure.step_failure_data.user_failure_data.description)
    assert "materialize param_data for 2026-03-10 first" in str(
        failure.step_failure_data.user_failure_data.description)


def test_tick_check_fails_on_param_data_from_another_machine(tmp_path, one_device):
    data = tmp_path / "data"
    day = "2026-03-10"
    assert dg.materialize([param_data], partition_key=day,
                          resources=_resources(data, one_device, seed="1")).success
    result = dg.materialize(
        [event_data, file_stats], partition_key=day, resources=_resources(data, one_device),
        run_config=SMALL_EVENTS,
    )
    check = _checks(result)["ticks_match_param_samples"]
    assert not check.passed and check.severity == dg.AssetCheckSeverity.ERROR
    assert check.metadata["samples_off_tick"].value > 1000  # other seed, other line frequency


def test_bad_max_event_fails_the_run_with_a_clear_message(tmp_path, one_device):
    result = dg.materialize(
        [event_data], partition_key="2026-03-10",
        resources=_resources(tmp_path / "data", one_device),
        run_config={"ops": {"event_data": {"config": {"max_event": "1ff"}}}},
        raise_on_error=False,
    )
    assert not result.success
    failure = result.get_step_failure_events()[0].step_failure_data.error
    assert "max_event" in str(failure) and "not a TCLK event code" in str(failure)
    assert not (tmp_path / "data" / "events").exists() or not any(
        (tmp_path / "data" / "events").iterdir())


def test_schedule_asks_for_the_day_that_just_ended():
    schedule = defs.resolve_schedule_def("event_data_schedule")
    when = dt.datetime(2026, 11, 2, 2, 1, tzinfo=FERMILAB_TZ)
    with dg.instance_for_test() as instance, dg.build_schedule_context(
            instance=instance, scheduled_execution_time=when,
            repository_def=defs.get_repository_def()) as context:
        data = schedule.evaluate_tick(context)
    [request] = data.run_requests
    assert request.partition_key == "2026-11-01"
