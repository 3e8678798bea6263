"""`param_data`: one HDF5 file per local day with every listed GMPS parameter at 15 Hz. Its
quality is judged by `file_stats` from the one read that distils it (defs/file_stats.py)."""

import dagster as dg

from gmpsai_assets.defs.ownership import owned_by_this_run
from gmpsai_assets.defs.partitions import daily_partitions
from gmpsai_assets.defs.resources import DataLoggerResource, StorageResource
from gmpsai_assets.ingest.params import grab_params
from gmpsai_assets.status import DeviceStatus
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
        "`MLParamData_<created>_From_<node>_<start>_to_<stop>.h5` under `<data dir>/params`. "
        "A device is ok, partial (some spans answered `No values` after retries: listed in "
        "the metadata and the file), empty or failed. Judged by the checks of `file_stats`, "
        "which reads it once."
    ),
)
def param_data(
    context: dg.AssetExecutionContext, datalogger: DataLoggerResource, storage: StorageResource
) -> dg.MaterializeResult:
    window = day_window(context.partition_key)
    source = datalogger.open()
    devices = datalogger.devices()
    context.log.info(f"grabbing {len(devices)} devices, {source.source}/{source.node}, {window}")
    with owned_by_this_run(context):
        result = grab_params(source, devices, window, storage.params_dir, storage.drafts_dir,
                             progress=context.log.info)
    failed, missing = result.devices_with(DeviceStatus.FAILED), result.missing_spans()
    if failed:
        context.log.warning(f"{len(failed)} device(s) failed: {', '.join(failed)}")
    if missing:
        context.log.warning(f"{len(missing)} device(s) partial: {', '.join(missing)}")
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(result.path)),
            "bytes": result.bytes,
            "window_hours": result.window.seconds / 3600.0,
            "devices_ok": len(result.devices_with(DeviceStatus.OK)),
            # device -> spans (`start/end`, UTC) the gateway kept saying `No values` for
            "devices_partial": dg.MetadataValue.json(missing),
            "devices_empty": dg.MetadataValue.json(result.devices_with(DeviceStatus.EMPTY)),
            # device -> steps back in time as the source delivered them (sorted in the file)
            "devices_out_of_order": dg.MetadataValue.json(result.out_of_order()),
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


param_data_job = dg.define_asset_job(
    "param_data_job",
    selection=[param_data],
    description="Grab one local day of parameter data (`param_data_schedule` runs it for "
                "yesterday unless that day is complete).",
)
