"""The Dagster layer: partitions, resources, assets, checks, jobs, schedules, sensors.

Our asset checks are partitioned like their assets (`AssetCheckSpec(partitions_def=...)`), so a
backfill's check judges its own day's file; Dagster 1.13 calls that API a preview and warns on
every load. We use it on purpose, so that one warning (and only it) is silenced here, before any
check is defined; any other Dagster warning still shows.
"""

import warnings

warnings.filterwarnings(
    "ignore",
    message=r"Specifying a partitions_def on an AssetCheckSpec is currently in preview",
)
