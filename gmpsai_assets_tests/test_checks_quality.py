"""The day's data-quality checks (judged by file_stats from its one read of the day's files) pass
on a clean simulated day and fail on a dead device."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import dagster as dg
import pytest

from gmpsai_assets.defs.event_data import event_data
from gmpsai_assets.defs.file_stats import file_stats
from gmpsai_assets.defs.param_data import param_data
from gmpsai_assets.defs.resources import DataLoggerResource, StatsResource, StorageResource
from gmpsai_assets.quality.files import PARAM_VERDICTS
from gmpsai_assets.sim.simulator import SimulatedBooster

pytestmark = pytest.mark.filterwarnings("ignore::dagster.PreviewWarning")

CLEAN_DAY = dt.date(2020, 3, 10)


def _dead_device_day(sim: SimulatedBooster) -> tuple[dt.date, str]:
    day = dt.date(2020, 3, 1)
    while (dead := sim.unlogged_device(day)) is None:
        day += dt.timedelta(days=1)
    return day, dead


def _resources(tmp_path: Path, devices: list[str]) -> dict[str, dg.ConfigurableResource]:
    tmp_path.mkdir(parents=True, exist_ok=True)
    listing = tmp_path / "ParamList.txt"
    listing.write_text("".join(f"MLrn {d} \n" for d in devices))
    return {
        "datalogger": DataLoggerResource(source="simulated", param_list=str(listing),
                                         max_in_flight=1),
        "storage": StorageResource(data_dir=str(tmp_path / "data")),
        "stats": StatsResource(storage=StorageResource(data_dir=str(tmp_path / "data"))),
    }


SMALL_EVENTS = {"ops": {"event_data": {"config": {"max_event": "0c"}}}}


def _day(tmp_path: Path, day: dt.date, res: dict) -> dict[str, dg.AssetCheckEvaluation]:
    result = dg.materialize([param_data, event_data, file_stats], partition_key=day.isoformat(),
                            resources=res, run_config=SMALL_EVENTS)
    assert result.success  # a failed check is reported, it does not fail the run
    return {e.check_name: e for e in result.get_asset_check_evaluations()}


def _checks(tmp_path: Path, day: dt.date, devices: list[str]) -> dict[str, dg.AssetCheckEvaluation]:
    return _day(tmp_path, day, _resources(tmp_path, devices))


def test_checks_pass_on_a_clean_day_and_fail_on_a_dead_device(
    tmp_path: Path, sim: SimulatedBooster
) -> None:
    dead_day, dead = _dead_device_day(sim)
    assert sim.unlogged_device(CLEAN_DAY) is None
    devices = ["B:VIMIN", "I:IB", dead]

    clean = _checks(tmp_path / "clean", CLEAN_DAY, devices)
    assert set(PARAM_VERDICTS) <= set(clean)
    assert all(e.passed for e in clean.values()), {n: e.description for n, e in clean.items()}

    bad = _checks(tmp_path / "dead", dead_day, devices)
    assert not bad["devices_present"].passed
    assert bad["devices_present"].severity == dg.AssetCheckSeverity.ERROR
    assert dead in bad["devices_present"].description
    assert not bad["completeness"].passed
    assert bad["completeness"].severity == dg.AssetCheckSeverity.ERROR
    assert bad["timestamps_increasing"].passed and bad["values_finite"].passed


def test_completeness_warns_between_the_limits(tmp_path: Path) -> None:
    res = _resources(tmp_path, ["B:VIMIN"])
    # every device of a clean simulated day holds ~99.8% of its ticks: above 0.999 is a warning
    res["stats"] = StatsResource(storage=res["storage"], completeness_warn=0.9999)
    checks = _day(tmp_path, CLEAN_DAY, res)
    assert not checks["completeness"].passed
    assert checks["completeness"].severity == dg.AssetCheckSeverity.WARN


def test_materialize_day_runs_the_checks() -> None:
    from gmpsai_assets.definitions import DAILY_ASSETS

    assert file_stats in DAILY_ASSETS
    assert set(PARAM_VERDICTS) <= {k.name for k in file_stats.check_keys}
