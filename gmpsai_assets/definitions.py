"""The one Definitions object of the code location."""

import dagster as dg

from gmpsai_assets.defs import event_data as event_data_defs
from gmpsai_assets.defs import param_data as param_data_defs
from gmpsai_assets.defs.resources import build_resources

# Everything partitioned by local day, materialized together by `gmpsai materialize-day`.
DAILY_ASSETS = [param_data_defs.param_data]
DAILY_CHECKS: list[dg.AssetChecksDefinition] = []
DAILY_ASSETS.append(event_data_defs.event_data)
DAILY_CHECKS += [event_data_defs.ticks_match_param_samples, event_data_defs.one_00_per_supercycle]

defs = dg.Definitions(
    assets=[*DAILY_ASSETS],
    asset_checks=[*DAILY_CHECKS],
    jobs=[param_data_defs.param_data_job, event_data_defs.event_data_job],
    schedules=[param_data_defs.param_data_schedule, event_data_defs.event_data_schedule],
    resources=build_resources(),
)
