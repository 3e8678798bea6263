"""Freshness: every daily asset's day is due by its deadline (gmpsai_assets/deadlines.py), and a
day that is not there by then shows in the UI as a failed `freshness_check` of the asset.

Dagster's time-partition freshness checks, not the `FreshnessPolicy` of Dagster 1.12+: a policy
judges an asset by its newest materialization of any partition, so a backfill of an old day
would make a missing yesterday look fresh (a Dagster maintainer says the policies are not
partition-aware, dagster-io/dagster discussion #34023). `build_time_partition_freshness_checks`
asks for the one partition that must exist after the deadline. `published_json` is not
partitioned: it is due re-published within the day before its deadline
(`build_last_update_freshness_checks`). Dagster marks both builders "superseded" by the
policies (a warning at call time, silenced here for that reason); they are not deprecated.

The checks run in a run that `freshness_checks_sensor` launches when a check can have become
overdue (its last pass is older than the next deadline), and in every run that materializes
the asset. After a failure Dagster runs the check again only once the asset is materialized.
"""

import datetime as dt
import warnings
from collections.abc import Sequence

import dagster as dg

from gmpsai_assets.deadlines import TIMEZONE, Deadlines
from gmpsai_assets.defs.cycle_table import cycle_table
from gmpsai_assets.defs.event_data import event_data
from gmpsai_assets.defs.file_stats import file_stats
from gmpsai_assets.defs.param_data import param_data
from gmpsai_assets.defs.published_json import published_json
from gmpsai_assets.defs.timeline import timeline_records
from gmpsai_assets.settings import read_setting

CHECK_NAME = "freshness_check"  # the name Dagster's builders give every freshness check
SENSOR_NAME = "freshness_checks_sensor"
# Part of the definitions: read as the code location loads.
DEADLINES: Deadlines = read_setting("GMPSAI_DEADLINES")
SENSOR_S: int = read_setting("GMPSAI_ALERT_SENSOR_S")
PARTITIONED = [timeline_records, param_data, event_data, file_stats, cycle_table]
UNPARTITIONED = [published_json]
# published_json passes when it was re-published in the day before its deadline.
PUBLISHED_WITHIN = dt.timedelta(days=1)


def build_freshness_checks(deadlines: Deadlines) -> list[dg.AssetChecksDefinition]:
    """One check per asset, in a fixed order (a multi-asset check keeps its keys in a set, so
    the definitions would differ from load to load), ERROR severity."""
    checks: list[dg.AssetChecksDefinition] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.SupersessionWarning)
        for asset in PARTITIONED:
            checks += dg.build_time_partition_freshness_checks(
                assets=[asset], deadline_cron=deadlines.cron(asset.key.to_user_string()),
                timezone=TIMEZONE, severity=dg.AssetCheckSeverity.ERROR)
        for asset in UNPARTITIONED:
            checks += dg.build_last_update_freshness_checks(
                assets=[asset], lower_bound_delta=PUBLISHED_WITHIN,
                deadline_cron=deadlines.cron(asset.key.to_user_string()), timezone=TIMEZONE,
                severity=dg.AssetCheckSeverity.ERROR)
    return checks


def build_freshness_sensor(checks: Sequence[dg.AssetChecksDefinition],
                           interval_s: int) -> dg.SensorDefinition:
    """Dagster's freshness sensor, RUNNING by default, with a description of ours (Dagster's
    is indented text that the UI would show as code)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.SupersessionWarning)
        built = dg.build_sensor_for_freshness_checks(
            freshness_checks=checks, minimum_interval_seconds=interval_s, name=SENSOR_NAME)
    return dg.SensorDefinition(
        name=SENSOR_NAME,
        evaluation_fn=built._raw_fn,  # the builder's own evaluation, unchanged
        minimum_interval_seconds=interval_s,
        asset_selection=built.asset_selection,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=(
            "Runs the `freshness_check` of every daily asset when it can have become overdue: "
            "a day not there by its deadline (`GMPSAI_DEADLINES`, local time) fails the check, "
            "and `alert_sensor` tells people. A failed check runs again once the asset is "
            "materialized."
        ),
    )


freshness_checks = build_freshness_checks(DEADLINES)
freshness_checks_sensor = build_freshness_sensor(freshness_checks, SENSOR_S)
