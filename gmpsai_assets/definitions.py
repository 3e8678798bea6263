"""The one Definitions object of the code location, assembled from the modules of defs/."""

import dagster as dg

from gmpsai_assets.defs.cycle_table import (
    cycle_table,
    cycle_table_automation_sensor,
    cycle_table_checks,
)
from gmpsai_assets.defs.event_data import (
    event_data,
    event_data_job,
    event_data_schedule,
    event_times_increasing,
    one_00_per_supercycle,
    ticks_match_param_samples,
)
from gmpsai_assets.defs.file_stats import data_files_sensor, file_stats, file_stats_job
from gmpsai_assets.defs.housekeeping import housekeeping_job, housekeeping_schedule
from gmpsai_assets.defs.param_data import (
    param_data,
    param_data_job,
    param_data_quality,
    param_data_schedule,
)
from gmpsai_assets.defs.published_json import published_json, publishing_automation_sensor
from gmpsai_assets.defs.resources import build_resources
from gmpsai_assets.defs.timeline import (
    timeline_keepalive_sensor,
    timeline_logger_job,
    timeline_records,
    timeline_records_gaps,
    timeline_restart_sensor,
)

# Everything partitioned by local day, materialized together by `gmpsai materialize-day`.
DAILY_ASSETS = [param_data, event_data, timeline_records, cycle_table]
DAILY_CHECKS = [
    param_data_quality,
    event_times_increasing,
    ticks_match_param_samples,
    one_00_per_supercycle,
    timeline_records_gaps,
    cycle_table_checks,
]

defs = dg.Definitions(
    assets=[*DAILY_ASSETS, file_stats, published_json],
    asset_checks=DAILY_CHECKS,
    jobs=[param_data_job, event_data_job, file_stats_job, timeline_logger_job, housekeeping_job],
    schedules=[param_data_schedule, event_data_schedule, housekeeping_schedule],
    sensors=[
        data_files_sensor,
        timeline_restart_sensor,
        timeline_keepalive_sensor,
        publishing_automation_sensor,
        cycle_table_automation_sensor,
    ],
    resources=build_resources(),
)
