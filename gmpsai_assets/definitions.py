"""The one Definitions object of the code location, assembled from the modules of defs/.

The graph is the flow: each day's `param_data` and `event_data` files feed that day's
`file_stats`, which feed `published_json`, and that day's `cycle_table`; `timeline_records`
exports the logger's record. Every daily asset has a freshness check (defs/freshness.py), and
`alert_sensor` tells people what went wrong (defs/alerts.py).
Every asset is produced by a schedule or an automation condition (test_definitions checks it).
"""

import dagster as dg

from gmpsai_assets.defs.alerts import alert_sensor
from gmpsai_assets.defs.cycle_table import cycle_table, cycle_table_checks
from gmpsai_assets.defs.event_data import event_data, event_data_job, event_data_schedule
from gmpsai_assets.defs.file_stats import file_stats, file_stats_job
from gmpsai_assets.defs.freshness import freshness_checks, freshness_checks_sensor
from gmpsai_assets.defs.housekeeping import housekeeping_job, housekeeping_schedule
from gmpsai_assets.defs.param_data import param_data, param_data_job, param_data_schedule
from gmpsai_assets.defs.published_json import automation_sensor, published_json
from gmpsai_assets.defs.resources import build_resources
from gmpsai_assets.defs.timeline import (
    timeline_keepalive_sensor,
    timeline_logger_job,
    timeline_records,
    timeline_records_gaps,
    timeline_records_job,
    timeline_records_schedule,
    timeline_restart_sensor,
)

# The daily assets any past day can be (re)made of: fetched from the source and distilled.
# `gmpsai backfill` calls a day complete when these are; the timeline of a day cannot be
# fetched again, only exported from what the logger recorded.
DAILY_FROM_SOURCE = [param_data, event_data, file_stats, cycle_table]
# Everything partitioned by local day, materialized together by `gmpsai materialize-day`.
DAILY_ASSETS = [*DAILY_FROM_SOURCE, timeline_records]
DAILY_CHECKS = [timeline_records_gaps, cycle_table_checks]

defs = dg.Definitions(
    assets=[*DAILY_ASSETS, published_json],
    asset_checks=[*DAILY_CHECKS, *freshness_checks],
    jobs=[param_data_job, event_data_job, timeline_records_job, file_stats_job,
          timeline_logger_job, housekeeping_job],
    schedules=[param_data_schedule, event_data_schedule, timeline_records_schedule,
               housekeeping_schedule],
    sensors=[
        automation_sensor,
        timeline_restart_sensor,
        timeline_keepalive_sensor,
        freshness_checks_sensor,
        alert_sensor,
    ],
    resources=build_resources(),
)
