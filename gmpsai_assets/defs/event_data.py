"""`event_data`: one HDF5 file per local day with the occurrences of every TCLK event. Its checks
(occurrence times increase, every event asked for fetched, one `$00` per supercycle, `$0C`
against the parameter samples) are judged by `file_stats` from the one read that distils it
(defs/file_stats.py)."""

import dagster as dg
from pydantic import Field

from gmpsai_assets.acnet.tclk import event_label
from gmpsai_assets.defs.ownership import owned_by_this_run
from gmpsai_assets.defs.partitions import daily_partitions
from gmpsai_assets.defs.resources import DataLoggerResource, StorageResource
from gmpsai_assets.ingest.events import grab_events
from gmpsai_assets.status import DeviceStatus
from gmpsai_assets.window import day_window


class EventDataConfig(dg.Config):
    max_event: str | None = Field(
        default=None,
        description="Fetch TCLK events 00..max_event (hex); empty: the datalogger resource's "
                    "max_event (`GMPSAI_MAX_EVENT`, default ff).",
    )


@dg.asset(
    partitions_def=daily_partitions,
    group_name="booster_data",
    kinds={"hdf5", "python"},
    # No backfill_policy, as for param_data: one partition per run (README, "Backfill policy").
    description=(
        "Occurrences of every TCLK event `$00`..`$FF` (those that occurred) over one Fermilab "
        "local day, as UTC epoch seconds and seconds into the supercycle, in one HDF5 file "
        "`MLEventData_<created>_From_<node>_<start>_to_<stop>.h5` under `<data dir>/events`, "
        "one group per event (`Event0c`). Judged by the checks of `file_stats`, which reads it "
        "once."
    ),
)
def event_data(
    context: dg.AssetExecutionContext,
    config: EventDataConfig,
    datalogger: DataLoggerResource,
    storage: StorageResource,
) -> dg.MaterializeResult:
    window = day_window(context.partition_key)
    max_event = datalogger.max_event_code(config.max_event)
    source = datalogger.open_timing()
    context.log.info(
        f"grabbing events $00..{event_label(max_event)}, {source.source}/{source.node}, {window}"
    )
    with owned_by_this_run(context):
        result = grab_events(
            source, window, storage.events_dir, storage.drafts_dir, max_event=max_event,
            progress=context.log.info, report_empty=False,
        )
    failed = result.events_with(DeviceStatus.FAILED)
    if failed:
        context.log.warning(f"{len(failed)} event(s) failed: {_labels(failed)} (recorded in the "
                            "file; file_stats' events_fetched check judges them)")
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(result.path)),
            "bytes": result.bytes,
            "window_hours": window.seconds / 3600.0,
            "events_requested": max_event + 1,
            "events_found": len(result.events_with(DeviceStatus.OK)),
            "events_failed": dg.MetadataValue.json(
                {event_label(e): result.records[e].reason for e in failed}
            ),
            "occurrences_per_event": dg.MetadataValue.json(result.occurrences),
            "occurrences_total": result.rows,
            "event_log_header_lines": dg.MetadataValue.json(
                {str(n): k for n, k in result.header_lines.items()}
            ),
            "duration_s": round(result.seconds, 3),
        }
    )


def _labels(events: list[int]) -> str:
    return ", ".join(event_label(e) for e in events)


event_data_job = dg.define_asset_job(
    "event_data_job",
    selection=[event_data],
    description="Grab one local day of TCLK events (`event_data_schedule` runs it for "
                "yesterday unless that day is complete).",
)
