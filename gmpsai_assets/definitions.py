"""The one Definitions object of the code location, assembled from the modules of defs/.

The graph is the flow: each day's `param_data` and `event_data` files feed that day's
`file_stats`, which feed `published_json`, and that day's `cycle_table`; `timeline_records`
exports a day of `timeline_store`, which the always-running `timeline_logger_job` writes. Every
daily asset has a freshness check (defs/freshness.py), and `alert_sensor` tells people what went
wrong (defs/alerts.py). Every asset is produced by a schedule or an automation condition, the
store by its job (test_definitions checks it).
"""

import dagster as dg

from gmpsai_assets.defs.alerts import alert_sensor
from gmpsai_assets.defs.cycle_table import cycle_table_checks
from gmpsai_assets.defs.days import DAILY_FROM_SOURCE, event_data_schedule, param_data_schedule
from gmpsai_assets.defs.event_data import event_data_job
from gmpsai_assets.defs.file_stats import file_stats_job
from gmpsai_assets.defs.freshness import freshness_checks, freshness_checks_sensor
from gmpsai_assets.defs.housekeeping import housekeeping_job, housekeeping_schedule
from gmpsai_assets.defs.param_data import param_data_job
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
    timeline_store,
)

# DAILY_FROM_SOURCE (defs/days.py): the daily assets a day can be made of again from the source;
# a day is complete when they are. The timeline of a day is only exported from the logger's record.
# Everything partitioned by local day, materialized together by `gmpsai materialize-day`.
DAILY_ASSETS = [*DAILY_FROM_SOURCE, timeline_records]
DAILY_CHECKS = [timeline_records_gaps, cycle_table_checks]

defs = dg.Definitions(
    assets=[timeline_store, *DAILY_ASSETS, published_json],
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
