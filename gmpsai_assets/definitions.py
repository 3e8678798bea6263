"""The one Definitions object of the code location."""

import dagster as dg

from gmpsai_assets.defs import checks as checks_defs
from gmpsai_assets.defs import cycle_table as cycle_table_defs
from gmpsai_assets.defs import event_data as event_data_defs
from gmpsai_assets.defs import file_stats as file_stats_defs
from gmpsai_assets.defs import housekeeping as housekeeping_defs
from gmpsai_assets.defs import param_data as param_data_defs
from gmpsai_assets.defs import published_json as published_json_defs
from gmpsai_assets.defs import timeline as timeline_defs
from gmpsai_assets.defs.resources import build_resources

# Everything partitioned by local day, materialized together by `gmpsai materialize-day`.
DAILY_ASSETS = [param_data_defs.param_data]
DAILY_CHECKS: list[dg.AssetChecksDefinition] = []
DAILY_ASSETS.append(event_data_defs.event_data)
DAILY_CHECKS += [event_data_defs.ticks_match_param_samples, event_data_defs.one_00_per_supercycle]
DAILY_CHECKS += [checks_defs.param_data_quality, checks_defs.event_times_increasing]
DAILY_ASSETS.append(timeline_defs.timeline_records)
DAILY_CHECKS.append(timeline_defs.timeline_records_gaps)
# The ML dataset, built from the day's two files (and automatically after them).
DAILY_ASSETS.append(cycle_table_defs.cycle_table)
DAILY_CHECKS.append(cycle_table_defs.cycle_table_checks)

# Publishing: the page and the old JSON, re-published by its own automation sensor.
PUBLISH_ASSETS = [published_json_defs.published_json]

defs = dg.Definitions(
    assets=[*DAILY_ASSETS, file_stats_defs.file_stats, *PUBLISH_ASSETS],
    asset_checks=[*DAILY_CHECKS],
    jobs=[param_data_defs.param_data_job, event_data_defs.event_data_job,
          file_stats_defs.file_stats_job, timeline_defs.timeline_logger_job,
          housekeeping_defs.housekeeping_job],
    schedules=[param_data_defs.param_data_schedule, event_data_defs.event_data_schedule,
               housekeeping_defs.housekeeping_schedule],
    sensors=[file_stats_defs.data_files_sensor, timeline_defs.timeline_restart_sensor,
             timeline_defs.timeline_keepalive_sensor,
             published_json_defs.publishing_automation_sensor,
             cycle_table_defs.cycle_table_automation_sensor],
    resources={**build_resources(), "stats": file_stats_defs.stats_resource(),
               "timeline": timeline_defs.timeline_resource(),
               "publish": published_json_defs.publish_resource()},
)
