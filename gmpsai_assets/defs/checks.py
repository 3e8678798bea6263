"""Data-quality checks on the day's published files, visible in the UI beside the assets.

`param_data_quality` reads the partition's parameter file once and answers four checks (devices
present, timestamps increasing, values finite, completeness); `event_times_increasing` does the
same for the event file. The rules are in stats/quality.py; here they become check results.
"""

from pathlib import Path

import dagster as dg

from gmpsai_assets.defs.event_data import event_data
from gmpsai_assets.defs.file_stats import StatsResource
from gmpsai_assets.defs.param_data import param_data
from gmpsai_assets.defs.partitions import daily_partitions
from gmpsai_assets.defs.resources import DataLoggerResource, StorageResource
from gmpsai_assets.files.naming import EVENT_PREFIX, PARAM_PREFIX, newest_partition_file
from gmpsai_assets.stats.quality import ERROR, WARN, Verdict, assess_event_file, assess_param_file
from gmpsai_assets.window import day_window

_SEVERITY = {WARN: dg.AssetCheckSeverity.WARN, ERROR: dg.AssetCheckSeverity.ERROR}

PARAM_CHECKS = {
    "devices_present": (
        "Every device of the parameter list has data in the day's file; WARN when some are "
        "partial (spans the gateway kept answering `No values` for)."
    ),
    "timestamps_increasing": "Every device's timestamps strictly increase.",
    "values_finite": "No device has a NaN or infinite value.",
    "completeness": (
        "Every listed device holds enough of the day's 15 Hz ticks: WARN below "
        "GMPSAI_COMPLETENESS_WARN (default 0.95), ERROR below GMPSAI_COMPLETENESS_ERROR "
        "(default 0.5: a dead device or hours of outage)."
    ),
}


def _result(asset: dg.AssetsDefinition, verdict: Verdict, path: Path) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        asset_key=asset.key,
        check_name=verdict.name,
        passed=verdict.passed,
        severity=_SEVERITY.get(verdict.level, dg.AssetCheckSeverity.ERROR),
        description=verdict.summary,
        metadata={
            "file": dg.MetadataValue.path(str(path)),
            **{k: dg.MetadataValue.json(v) if isinstance(v, dict | list) else v
               for k, v in verdict.details.items()},
        },
    )


@dg.multi_asset_check(
    specs=[
        dg.AssetCheckSpec(name, asset=param_data, description=text,
                          partitions_def=daily_partitions)
        for name, text in PARAM_CHECKS.items()
    ],
    description="Reads the day's parameter file once and judges it four ways.",
)
def param_data_quality(
    context: dg.AssetCheckExecutionContext,
    datalogger: DataLoggerResource,
    storage: StorageResource,
    stats: StatsResource,
):
    window = day_window(context.partition_key)
    settings = stats.settings(storage)
    node = datalogger.settings().logger_node
    path = newest_partition_file(settings.params_dir, PARAM_PREFIX, node, window)
    if path is None:
        for name in PARAM_CHECKS:
            yield dg.AssetCheckResult(
                asset_key=param_data.key, check_name=name, passed=False,
                severity=dg.AssetCheckSeverity.ERROR,
                description=f"no param_data file for {context.partition_key} in "
                            f"{settings.params_dir}",
            )
        return
    _, verdicts = assess_param_file(
        path, datalogger.devices(), settings.completeness_limits(), settings.gap_tick_limit()
    )
    for verdict in verdicts:
        yield _result(param_data, verdict, path)


@dg.asset_check(
    asset=event_data,
    partitions_def=daily_partitions,
    description="Every event's occurrence times strictly increase in the day's event file.",
)
def event_times_increasing(
    context: dg.AssetCheckExecutionContext,
    datalogger: DataLoggerResource,
    storage: StorageResource,
) -> dg.AssetCheckResult:
    window = day_window(context.partition_key)
    path = newest_partition_file(storage.settings().events_dir, EVENT_PREFIX,
                   datalogger.settings().logger_node, window)
    if path is None:
        return dg.AssetCheckResult(
            passed=False, severity=dg.AssetCheckSeverity.ERROR,
            description=f"no event_data file for {context.partition_key}",
        )
    _, verdict = assess_event_file(path)
    return _result(event_data, verdict, path)
