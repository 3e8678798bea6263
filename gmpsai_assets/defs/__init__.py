"""The Dagster layer: partitions, resources, assets, checks, jobs, schedules, sensors.

Our asset checks are partitioned like their assets (`AssetCheckSpec(partitions_def=...)`), so a
backfill's check judges its own day's file; Dagster 1.13 calls that API a preview and warns on
every load. We use it on purpose, so that warning is silenced here, before any check is defined.
So is the BetaWarning about `SensorDefinition`'s `owners`: we pass no owners, Dagster 1.13 passes
an empty list itself when it copies a sensor to bind resources, and the code server says so at
every load (79 lines in 37 minutes of `make dev`). Any other Dagster warning still shows.
"""

import warnings

warnings.filterwarnings(
    "ignore",
    message=r"Specifying a partitions_def on an AssetCheckSpec is currently in preview",
)
warnings.filterwarnings(
    "ignore",
    message=r"Parameter `owners` of initializer `SensorDefinition.__init__` is currently in beta",
)
