"""What `automation_sensor` launches, on a real (in-memory) Dagster instance: a check runs with
its asset, never on its own before the asset exists.

The sensor is evaluated through Dagster's own code path for automation sensors (the one the
daemon runs: `AutomationTickEvaluationContext`), reached in process by a sensor with
`automation_sensor`'s target and settings and `use_user_code_server=True`; what it returns are
the run requests the daemon would submit. The days' inputs are reported materialized on the
instance, as their runs would record them, so no file needs to be grabbed.
"""

from __future__ import annotations

import dagster as dg
import pytest

from gmpsai_assets.definitions import defs
from gmpsai_assets.defs.cycle_table import cycle_table
from gmpsai_assets.defs.published_json import automation_sensor

# the probe's beta parameter, and the `owners` warning Dagster gives when it binds resources
pytestmark = [pytest.mark.filterwarnings("ignore:Parameter `use_user_code_server`"),
              pytest.mark.filterwarnings("ignore:Parameter `owners`")]
DAYS = ["2026-03-10", "2026-03-11"]


class Sensor:
    """`automation_sensor`'s evaluation, tick after tick, on one instance."""

    def __init__(self, instance: dg.DagsterInstance) -> None:
        self.instance, self.cursor = instance, None
        self.repo = defs.get_repository_def()
        self.probe = dg.AutomationConditionSensorDefinition(
            "probe", target=automation_sensor.asset_selection, use_user_code_server=True,
            emit_backfills=automation_sensor.emit_backfills, run_tags=automation_sensor.run_tags)

    def tick(self) -> list[dg.RunRequest]:
        context = dg.build_sensor_context(instance=self.instance, repository_def=self.repo,
                                          cursor=self.cursor)
        result = self.probe(context)
        self.cursor = result.cursor
        return list(result.run_requests or [])


def inputs_landed(instance: dg.DagsterInstance, *days: str) -> None:
    for day in days:
        for asset in ("param_data", "event_data"):
            instance.report_runless_asset_event(dg.AssetMaterialization(asset, partition=day))


def checks_alone(requests: list[dg.RunRequest]) -> list[str]:
    """Checks a request runs without the asset they judge."""
    return [f"{key.to_user_string()} {r.partition_key}" for r in requests
            for key in r.asset_check_keys or []
            if key.asset_key not in (r.asset_selection or [])]


def table_runs(requests: list[dg.RunRequest]) -> dict[str, dg.RunRequest]:
    """The requests that build `cycle_table`, by day; a backfill (which would run the table
    without its checks) fails the test."""
    assert not [r for r in requests if r.requires_backfill_daemon()]
    return {r.partition_key: r for r in requests if cycle_table.key in (r.asset_selection or [])}


def judged_with_the_table(run: dg.RunRequest) -> bool:
    """Every check of `cycle_table` is in the run (None: all checks of the run's assets)."""
    checks = defs.resolve_asset_graph().get_check_keys_for_assets({cycle_table.key})
    return run.asset_check_keys is None or checks <= set(run.asset_check_keys)


@pytest.fixture
def sensor():
    with dg.instance_for_test() as instance:
        yield Sensor(instance)


def test_days_that_land_together_are_built_each_in_one_run_with_their_checks(sensor):
    assert sensor.tick() == []  # the first tick only sets the cursor
    inputs_landed(sensor.instance, *DAYS)  # e.g. a backfill of the inputs
    requests = sensor.tick()
    # before the fix: a backfill of the tables and one check-only run per day, which failed
    # "no CycleTable_<day>.parquet to judge"
    assert checks_alone(requests) == []
    runs = table_runs(requests)
    assert set(runs) == set(DAYS)
    assert all(judged_with_the_table(r) for r in runs.values())
    assert sensor.tick() == []  # and nothing more once requested


def test_one_day_is_one_run_of_the_table_and_all_its_checks(sensor):
    sensor.tick()
    inputs_landed(sensor.instance, DAYS[0])
    requests = sensor.tick()
    assert checks_alone(requests) == []
    (run,) = table_runs(requests).values()
    assert run.partition_key == DAYS[0] and judged_with_the_table(run)
    assert len(defs.resolve_asset_graph().get_check_keys_for_assets({cycle_table.key})) == 5
