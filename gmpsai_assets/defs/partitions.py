"""Daily partitions: Fermilab local days, [local midnight, next local midnight)."""

import dagster as dg

from gmpsai_assets.settings import Settings

# The first day offered in the UI; older days can still be grabbed with the CLI.
daily_partitions = dg.DailyPartitionsDefinition(
    start_date=Settings.from_env().first_day(),
    timezone="America/Chicago",
)
