"""`param_data`: one HDF5 file per local day with every listed GMPS parameter at 15 Hz, and its
quality checks: `param_data_quality` reads the day's file once and answers four checks (devices
present, timestamps increasing, values finite, completeness). The rules are in quality/files.py;
here they become check results."""

from enum import Enum
from pathlib import Path

import dagster as dg

from gmpsai_assets.defs.partitions import daily_partitions
from gmpsai_assets.defs.resources import DataLoggerResource, StatsResource, StorageResource
from gmpsai_assets.files.naming import PARAM_PREFIX, newest_partition_file
from gmpsai_assets.ingest.params import grab_params
from gmpsai_assets.quality import COMPLETENESS_ERROR, COMPLETENESS_WARN, ERROR, WARN, Verdict
from gmpsai_assets.quality.files import assess_param_file
from gmpsai_assets.status import EMPTY, FAILED, OK
from gmpsai_assets.window import day_window


@dg.asset(
    partitions_def=daily_partitions,
    group_name="booster_data",
    kinds={"hdf5", "python"},
    # No backfill_policy on purpose: Dagster then runs one partition per run, which is what we
    # want (a day streams ~0.3 GB; one bad day must not fail a month). The explicit
    # BackfillPolicy.multi_run(1) means the same but warns at load (beta in Dagster 1.13).
    description=(
        "Every device of the parameter list, logged at the Booster's 15 Hz tick over one "
        "Fermilab local day (23 or 25 hours on DST days), in one HDF5 file "
        "MLParamData_<created>_From_<node>_<start>_to_<stop>.h5 under <data dir>/params."
        " A device is ok, partial (some spans answered `No values` after retries: listed in "
        "the metadata and the file), empty or failed."
    ),
)
def param_data(
    context: dg.AssetExecutionContext, datalogger: DataLoggerResource, storage: StorageResource
) -> dg.MaterializeResult:
    window = day_window(context.partition_key)
    logger = datalogger.open()
    devices = datalogger.devices()
    context.log.info(f"grabbing {len(devices)} devices, {logger.source}/{logger.node}, {window}")
    result = grab_params(
        logger, devices, window, storage.params_dir, storage.drafts_dir, progress=context.log.info
    )
    failed, missing = result.devices_with(FAILED), result.missing_spans()
    if failed:
        context.log.warning(f"{len(failed)} device(s) failed: {', '.join(failed)}")
    if missing:
        context.log.warning(f"{len(missing)} device(s) partial: {', '.join(missing)}")
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(result.path)),
            "bytes": result.bytes,
            "window_hours": result.window.seconds / 3600.0,
            "devices_ok": len(result.devices_with(OK)),
            # device -> spans (`start/end`, UTC) the gateway kept saying `No values` for
            "devices_partial": dg.MetadataValue.json(missing),
            "devices_empty": dg.MetadataValue.json(result.devices_with(EMPTY)),
            "devices_failed": dg.MetadataValue.json(
                {d: result.records[d].reason for d in failed}
            ),
            "rows_total": result.rows,
            "rows_per_device": dg.MetadataValue.json(
                {d: r.rows for d, r in result.records.items()}
            ),
            "duration_s": round(result.seconds, 3),
        }
    )


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
        f"GMPSAI_COMPLETENESS_WARN (default {COMPLETENESS_WARN:g}), ERROR below "
        f"GMPSAI_COMPLETENESS_ERROR (default {COMPLETENESS_ERROR:g}: a dead device or hours of "
        "outage)."
    ),
}


def metadata_value(value: object) -> object:
    """A verdict's detail as Dagster metadata: dicts and lists as JSON; an enum (a status or a
    level) as its plain word, since Dagster serializes only its own enums."""
    if isinstance(value, dict | list):
        return dg.MetadataValue.json(value)
    return value.value if isinstance(value, Enum) else value


def verdict_result(asset: dg.AssetsDefinition, verdict: Verdict, path: Path) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        asset_key=asset.key,
        check_name=verdict.name,
        passed=verdict.passed,
        severity=_SEVERITY.get(verdict.level, dg.AssetCheckSeverity.ERROR),
        description=verdict.summary,
        metadata={
            "file": dg.MetadataValue.path(str(path)),
            **{k: metadata_value(v) for k, v in verdict.details.items()},
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
    stats: StatsResource,
):
    window = day_window(context.partition_key)
    settings = stats.settings()
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
        path, datalogger.devices(), settings.completeness_limits, settings.gap_ticks
    )
    for verdict in verdicts:
        yield verdict_result(param_data, verdict, path)


param_data_job = dg.define_asset_job(
    "param_data_job",
    selection=[param_data],
    description="Grab one local day of parameter data (the schedule runs it for yesterday).",
)

param_data_schedule = dg.build_schedule_from_partitioned_job(
    param_data_job,
    name="param_data_schedule",
    hour_of_day=1,
    minute_of_hour=0,
    description="01:00 America/Chicago: grab the local day that just ended.",
    default_status=dg.DefaultScheduleStatus.RUNNING,
)
