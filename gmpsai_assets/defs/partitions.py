"""Daily partitions: Fermilab local days, [local midnight, next local midnight)."""

import dagster as dg

from gmpsai_assets.settings import read_setting

# The first day offered in the UI (GMPSAI_START_DATE, read as the code location loads, since
# the partitions are part of the definitions); older days can still be grabbed with the CLI.
daily_partitions = dg.DailyPartitionsDefinition(
    start_date=read_setting("GMPSAI_START_DATE").isoformat(),
    timezone="America/Chicago",
)
