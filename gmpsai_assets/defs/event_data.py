"""`event_data`: one HDF5 file per local day with the occurrences of every TCLK event, and its
checks: occurrence times increase, and the file agrees with the parameter data and with the
supercycle (rules in quality/)."""


import dagster as dg
from pydantic import Field

from gmpsai_assets.acnet.tclk import CLOCK_15HZ, SC_START, event_label
from gmpsai_assets.defs.param_data import param_data, verdict_result
from gmpsai_assets.defs.partitions import daily_partitions
from gmpsai_assets.defs.resources import DataLoggerResource, StorageResource
from gmpsai_assets.files.eventfile import read_event
from gmpsai_assets.files.h5common import DataFileError
from gmpsai_assets.files.naming import EVENT_PREFIX, PARAM_PREFIX, newest_partition_file
from gmpsai_assets.files.paramfile import read_param_attrs, read_param_device
from gmpsai_assets.ingest.events import grab_events
from gmpsai_assets.quality.crosschecks import check_supercycle_starts, check_ticks_against_samples
from gmpsai_assets.quality.files import assess_event_file
from gmpsai_assets.status import FAILED, OK
from gmpsai_assets.window import day_window


class EventDataConfig(dg.Config):
    max_event: str | None = Field(
        default=None,
        description="Fetch TCLK events 00..max_event (hex); empty: the datalogger resource's "
                    "max_event (GMPSAI_MAX_EVENT, default ff).",
    )


@dg.asset(
    partitions_def=daily_partitions,
    group_name="booster_data",
    kinds={"hdf5", "python"},
    # No backfill_policy, as for param_data: one partition per run (README, "Backfill policy").
    description=(
        "Occurrences of every TCLK event $00..$FF (those that occurred) over one Fermilab local "
        "day, as UTC epoch seconds and seconds into the supercycle, in one HDF5 file "
        "MLEventData_<created>_From_<node>_<start>_to_<stop>.h5 under <data dir>/events, "
        "one group per event (Event0c)."
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
    source = datalogger.open()
    context.log.info(
        f"grabbing events $00..{event_label(max_event)}, {source.source}/{source.node}, {window}"
    )
    result = grab_events(
        source, window, storage.events_dir, storage.drafts_dir, max_event=max_event,
        progress=context.log.info, report_empty=False,
    )
    failed = result.events_with(FAILED)
    if failed:
        context.log.warning(f"{len(failed)} event(s) failed: {_labels(failed)}")
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(result.path)),
            "bytes": result.bytes,
            "window_hours": window.seconds / 3600.0,
            "events_requested": max_event + 1,
            "events_found": len(result.events_with(OK)),
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


@dg.asset_check(
    asset=event_data,
    additional_deps=[param_data],  # runs after param_data when both are in the run
    partitions_def=daily_partitions,
    description=(
        "$0C fires on every 15 Hz tick and the DataLogger logs on every tick: the day's $0C count "
        "equals the parameter samples plus the ticks inside the logger's outages (gaps in the "
        "samples), and every sample sits within 10 ms of a $0C, both within one tick per window "
        "edge. Compares with the device of the day's param_data file that has the most samples."
    ),
)
def ticks_match_param_samples(
    context: dg.AssetCheckExecutionContext,
    datalogger: DataLoggerResource,
    storage: StorageResource,
) -> dg.AssetCheckResult:
    window = day_window(context.partition_key)
    node, dirs = datalogger.settings().logger_node, storage.settings()
    event_file = newest_partition_file(dirs.events_dir, EVENT_PREFIX, node, window)
    param_file = newest_partition_file(dirs.params_dir, PARAM_PREFIX, node, window)
    if event_file is None or param_file is None:
        missing = "event_data" if event_file is None else "param_data"
        return dg.AssetCheckResult(
            passed=False, severity=dg.AssetCheckSeverity.WARN,
            description=f"no {missing} file for {context.partition_key}: nothing to compare",
        )
    outcomes = read_param_attrs(param_file)["device_outcomes"]
    device = max(outcomes.values(), key=lambda r: r.rows).device
    samples = read_param_device(param_file, device).utc_seconds
    try:
        ticks = read_event(event_file, CLOCK_15HZ).utc_seconds
    except DataFileError as exc:  # $0C not asked for (max_event below 0c) or failed
        return dg.AssetCheckResult(passed=False, severity=dg.AssetCheckSeverity.WARN,
                                   description=str(exc))
    check = check_ticks_against_samples(ticks, samples, window)
    return dg.AssetCheckResult(
        passed=check.passed,
        severity=dg.AssetCheckSeverity.ERROR,
        description=(
            f"{check.ticks} $0C = {check.samples} samples of {device} + {check.ticks_in_gaps} "
            f"ticks in {check.gaps} logger gaps {'+' if check.difference >= 0 else '-'} "
            f"{abs(check.difference)}; {check.off_tick} samples off every tick "
            f"(tolerance {check.tolerance} each)"
        ),
        metadata={
            "ticks_0c": check.ticks,
            "param_samples": check.samples,
            "reference_device": device,
            "ticks_in_logger_gaps": check.ticks_in_gaps,
            "logger_gaps": check.gaps,
            "logger_gap_seconds": round(check.gap_seconds, 3),
            "difference": check.difference,
            "samples_off_tick": check.off_tick,
            "event_file": dg.MetadataValue.path(str(event_file)),
            "param_file": dg.MetadataValue.path(str(param_file)),
        },
    )


@dg.asset_check(
    asset=event_data,
    partitions_def=daily_partitions,
    description=(
        "Every supercycle that begins in the day starts with exactly one $00, and no $00 falls "
        "elsewhere. Supercycle starts come from $0C's seconds into the supercycle."
    ),
)
def one_00_per_supercycle(
    context: dg.AssetCheckExecutionContext,
    datalogger: DataLoggerResource,
    storage: StorageResource,
) -> dg.AssetCheckResult:
    window = day_window(context.partition_key)
    node = datalogger.settings().logger_node
    event_file = newest_partition_file(storage.settings().events_dir, EVENT_PREFIX, node, window)
    if event_file is None:
        return dg.AssetCheckResult(
            passed=False, severity=dg.AssetCheckSeverity.WARN,
            description=f"no event_data file for {context.partition_key}",
        )
    try:
        ticks = read_event(event_file, CLOCK_15HZ)
        starts = read_event(event_file, SC_START).utc_seconds
    except DataFileError as exc:
        return dg.AssetCheckResult(passed=False, severity=dg.AssetCheckSeverity.WARN,
                                   description=str(exc))
    check = check_supercycle_starts(ticks.utc_seconds, ticks.sc_seconds, starts, window)
    return dg.AssetCheckResult(
        passed=check.passed,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={
            "supercycles": check.supercycles,
            "starts_00": check.starts,
            "without_00": dg.MetadataValue.json(check.missing[:20]),
            "with_several_00": dg.MetadataValue.json(check.doubled[:20]),
            "stray_00": dg.MetadataValue.json(check.stray[:20]),
        },
    )


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
    return verdict_result(event_data, verdict, path)


event_data_job = dg.define_asset_job(
    "event_data_job",
    selection=[event_data],
    description="Grab one local day of TCLK events (the schedule runs it for yesterday).",
)

event_data_schedule = dg.build_schedule_from_partitioned_job(
    event_data_job,
    name="event_data_schedule",
    hour_of_day=2,
    minute_of_hour=1,
    description="02:01 America/Chicago: grab the TCLK events of the local day that just ended.",
    default_status=dg.DefaultScheduleStatus.RUNNING,
)
