"""`file_stats`: the statistics of each local day's data files, and the day's quality checks.

Daily-partitioned like the files it reads, downstream of `param_data` and `event_data`, so the
graph shows what reads what. Declarative automation distils a day as soon as both of its files
exist and again whenever either is re-materialized (a backfill included). The step reads each
file once: the statistics go to the DuckDB store and every quality check of the day's files is
judged from those statistics and from the few arrays kept during that one read, so no check
opens a file again; the same read gives each file's catalogue declaration (docs/catalog.md). Old
files and ad-hoc windows (`gmpsai grab-params`, a copied archive) are distilled by
`gmpsai distill`. Each file's statistics are its own result files beside the DuckDB store
(stats/store.py), so days distil in parallel, as many as the run queue admits, with no pool.
"""

from collections.abc import Iterator
from enum import Enum
from pathlib import Path

import dagster as dg

from gmpsai_assets.catalog.checksums import FileChangedError
from gmpsai_assets.catalog.declaration import Declaration, declare_data_file, withdraw
from gmpsai_assets.catalog.send import SendError, Targets, send
from gmpsai_assets.defs.event_data import event_data
from gmpsai_assets.defs.param_data import param_data
from gmpsai_assets.defs.partitions import daily_partitions
from gmpsai_assets.defs.resources import DataLoggerResource, StatsResource
from gmpsai_assets.files.naming import EVENT_PREFIX, PARAM_PREFIX, newest_partition_file
from gmpsai_assets.quality import COMPLETENESS_ERROR, COMPLETENESS_WARN, Level, Verdict
from gmpsai_assets.quality.crosschecks import (
    DayArrays,
    check_supercycle_starts,
    check_ticks_against_samples,
)
from gmpsai_assets.quality.files import event_verdicts, param_verdicts
from gmpsai_assets.settings import Settings
from gmpsai_assets.stats import store
from gmpsai_assets.stats.distill import DistillResult, distill_files_into_store
from gmpsai_assets.window import Window, day_window

# Eager, for every day rather than only the latest: a backfill of old days' files is distilled
# too. Eager already waits until neither file is missing nor being written.
STATS_CONDITION = dg.AutomationCondition.eager().without(
    dg.AutomationCondition.in_latest_time_window()
).with_label("eager, every day")

CHECKS = {
    "devices_present": "Every device of the parameter list has data in the day's parameter file.",
    "timestamps_increasing": (
        "Every device's timestamps strictly increase, in the file and as the source delivered "
        "them (`out_of_order`: samples the ACL gateway sent out of time order, sorted in the "
        "file)."
    ),
    "values_finite": "No device has a NaN or infinite value.",
    "completeness": (
        "Every listed device holds enough of the day's 15 Hz ticks: WARN below "
        f"`GMPSAI_COMPLETENESS_WARN` (default {COMPLETENESS_WARN:g}), ERROR below "
        f"`GMPSAI_COMPLETENESS_ERROR` (default {COMPLETENESS_ERROR:g}: a dead device or hours "
        "of outage)."
    ),
    "event_times_increasing": "Every event's occurrence times strictly increase.",
    "events_fetched": (
        "Every TCLK event asked for was fetched: ERROR when `$00`, `$0C` or a Booster reset "
        "(`$11`..`$1D`) failed, on which the other checks and the cycle table are built; WARN "
        "when only others failed."
    ),
    "one_00_per_supercycle": (
        "Every supercycle that begins in the day starts with exactly one `$00`, and no `$00` "
        "falls elsewhere. Supercycle starts come from `$0C`'s seconds into the supercycle."
    ),
    "ticks_match_param_samples": (
        "`$0C` fires on every 15 Hz tick and the DataLogger logs on every tick: the day's `$0C` "
        "count equals the parameter samples plus the ticks inside the DataLogger's outages (gaps "
        "in the samples), and every sample sits within 10 ms of a `$0C`, both within one tick "
        "per window edge. Compares with the device that has the most samples."
    ),
}
_SEVERITY = {Level.WARN: dg.AssetCheckSeverity.WARN, Level.ERROR: dg.AssetCheckSeverity.ERROR,
             Level.UNKNOWN: dg.AssetCheckSeverity.WARN}  # nothing to judge by: not passed


def _json(v: object) -> object:
    """A verdict's detail as Dagster metadata: dicts and lists as JSON; an enum (a status or a
    level) as its plain word, since Dagster serializes only its own enums at the top level."""
    if isinstance(v, dict | list):
        return dg.MetadataValue.json(v)
    return v.value if isinstance(v, Enum) else v


def verdict_result(verdict: Verdict, path: Path) -> dg.AssetCheckResult:
    """A quality verdict as Dagster shows it: severity from its level, details as metadata."""
    return dg.AssetCheckResult(
        check_name=verdict.name,
        passed=verdict.passed,
        severity=_SEVERITY.get(verdict.level, dg.AssetCheckSeverity.ERROR),
        description=verdict.summary,
        metadata={"file": dg.MetadataValue.path(str(path)),
                  **{k: _json(v) for k, v in verdict.details.items()}},
    )


def _tick_result(arrays: DayArrays, window: Window) -> dg.AssetCheckResult:
    name = "ticks_match_param_samples"
    if arrays.tick_utc is None or arrays.reference_utc is None:
        return dg.AssetCheckResult(
            check_name=name, passed=False, severity=dg.AssetCheckSeverity.WARN,
            description="no $0C in the event file (max_event below 0c?) or no device with "
                        "samples: nothing to compare")
    check = check_ticks_against_samples(arrays.tick_utc, arrays.reference_utc, window)
    sign = "+" if check.difference >= 0 else "-"
    return dg.AssetCheckResult(
        check_name=name, passed=check.passed, severity=dg.AssetCheckSeverity.ERROR,
        description=(
            f"{check.ticks} $0C = {check.samples} samples of {arrays.reference} + "
            f"{check.ticks_in_gaps} ticks in {check.gaps} DataLogger gaps {sign} "
            f"{abs(check.difference)}; {check.off_tick} samples off every tick "
            f"(tolerance {check.tolerance} each)"
        ),
        metadata={
            "ticks_0c": check.ticks, "param_samples": check.samples,
            "reference_device": arrays.reference or "", "ticks_in_logger_gaps": check.ticks_in_gaps,
            "logger_gaps": check.gaps, "logger_gap_seconds": round(check.gap_seconds, 3),
            "difference": check.difference, "samples_off_tick": check.off_tick,
        },
    )


def _supercycle_result(arrays: DayArrays, window: Window) -> dg.AssetCheckResult:
    name = "one_00_per_supercycle"
    if arrays.tick_utc is None or arrays.tick_sc is None or arrays.start_utc is None:
        return dg.AssetCheckResult(
            check_name=name, passed=False, severity=dg.AssetCheckSeverity.WARN,
            description="the event file holds no $0C or no $00: nothing to judge by")
    check = check_supercycle_starts(arrays.tick_utc, arrays.tick_sc, arrays.start_utc, window)
    return dg.AssetCheckResult(
        check_name=name, passed=check.passed, severity=dg.AssetCheckSeverity.ERROR,
        metadata={
            "supercycles": check.supercycles,
            "starts_00": check.starts,
            "without_00": dg.MetadataValue.json(check.missing[:20]),
            "with_several_00": dg.MetadataValue.json(check.doubled[:20]),
            "stray_00": dg.MetadataValue.json(check.stray[:20]),
        },
    )


DAILY_ASSET_OF_KIND = {"params": "param_data", "events": "event_data"}


def _declare(
    context: dg.AssetExecutionContext, result: DistillResult, settings: Settings, day: str
) -> dict[str, object]:
    """Write the file's declaration from the checksums of the distiller's read, send it where
    a catalogue server is configured, and show it on the day's partition of the asset that
    wrote the file. A file replaced since it was read, or a refused declaration, fails the
    run (automation distils the new version)."""
    assert result.info is not None and result.digests is not None
    try:
        decl = declare_data_file(result.info, result.dataset_rows(), result.digests,
                                 settings.catalog_namespace)
        sent = send(decl, Targets.from_settings(settings))
    except (FileChangedError, SendError) as exc:
        raise dg.Failure(description=f"{result.record.name}: not declared: {exc}",
                         allow_retries=False) from None
    shown = _declaration_metadata(decl, sent)
    context.log_event(dg.AssetObservation(
        asset_key=DAILY_ASSET_OF_KIND[result.info.kind], partition=day, metadata=shown))
    return shown


def _declaration_metadata(decl: Declaration, sent: list[str]) -> dict[str, object]:
    return {
        "declaration": dg.MetadataValue.path(str(decl.sidecar)),
        "did": decl.did,
        "adler32": decl.adler32,
        "md5": decl.md5,
        "sent": dg.MetadataValue.json(sent or ["nothing: no catalogue server configured"]),
    }


def _metadata(params: DistillResult, events: DistillResult, db: Path) -> dict[str, object]:
    low = sorted(params.params, key=lambda p: p.completeness or 0.0)[:5]
    return {
        "param_file": dg.MetadataValue.path(params.record.path),
        "event_file": dg.MetadataValue.path(events.record.path),
        "database": dg.MetadataValue.path(str(db)),
        "bytes_read": (params.record.bytes or 0) + (events.record.bytes or 0),
        "devices": len(params.params),
        "rows_total": sum(p.rows for p in params.params),
        "devices_without_data": dg.MetadataValue.json(
            [p.device for p in params.params if p.rows == 0]),
        "lowest_completeness": dg.MetadataValue.json(
            {p.device: round(p.completeness or 0.0, 4) for p in low}),
        "gaps_total": sum(p.gap_count for p in params.params),
        "events": len(events.events),
        "occurrences_total": sum(e.count for e in events.events),
        "superseded": dg.MetadataValue.json(params.superseded + events.superseded),
        "duration_s": round(params.record.seconds + events.record.seconds, 3),
        "results_quarantined": dg.MetadataValue.json(
            [q.line() for q in store.unresolved_quarantine(db)]),
    }


@dg.asset(
    partitions_def=daily_partitions,
    deps=[param_data, event_data],
    group_name="statistics",
    kinds={"duckdb", "python"},
    automation_condition=STATS_CONDITION,
    check_specs=[dg.AssetCheckSpec(name, asset="file_stats", description=text,
                                   partitions_def=daily_partitions)
                 for name, text in CHECKS.items()],
    description=(
        "Per-device and per-event statistics of one local day's `param_data` and `event_data` "
        "files in the DuckDB store `<data dir>/gmpsai.duckdb` (views over per-file Parquet "
        "results in `<data dir>/gmpsai_results/`): count, NaN count, mean, std, min, max, "
        "mode, p01/p05/p50/p95/p99, distinct values, value changes, first/last time, "
        "sample-interval statistics, gaps and completeness. Materialized automatically once "
        "both files exist and whenever either is re-materialized; a re-run replaces each "
        "file's results whole, after both files are read. Each file is "
        "read once: the day's quality checks are judged from that read, and each file's "
        "catalogue declaration (`<file name>.json` beside it: size, adler32, md5, metadata; "
        "`docs/catalog.md`) comes from it, shown on the day's `param_data` / `event_data` "
        "partition as an observation. A file that cannot be read (damaged bytes, or content "
        "that breaks its format) is recorded failed with the reason, every check that needs it "
        "fails with that reason, and the run fails without retrying; an error of the software "
        "itself fails the run with its traceback and records nothing, so a fixed release reads "
        "the file again. Old files and other windows: `gmpsai distill`."
    ),
)
def file_stats(
    context: dg.AssetExecutionContext,
    stats: StatsResource,
    datalogger: DataLoggerResource,
) -> Iterator[dg.AssetCheckResult | dg.MaterializeResult]:
    day = context.partition_key
    window = day_window(day)
    settings = stats.settings()
    node = datalogger.settings().logger_node
    files = {"param_data": newest_partition_file(settings.params_dir, PARAM_PREFIX, node, window),
             "event_data": newest_partition_file(settings.events_dir, EVENT_PREFIX, node, window)}
    missing = [name for name, path in files.items() if path is None]
    if missing:
        raise dg.Failure(
            description=f"no {' and no '.join(missing)} file of node {node} for {day} in "
                        f"{settings.data_dir}: materialize {' and '.join(missing)} for {day} first",
            allow_retries=False,
        )
    arrays = DayArrays()
    params, events = distill_files_into_store(
        [files["param_data"], files["event_data"]], settings.stats_db_path,
        settings.gap_ticks, progress=context.log.debug, on_dataset=arrays.see,
    )
    for result in (params, events):
        context.log.info(result.summary())
    checks = _checks(params, events, arrays, window, datalogger.devices(), settings)
    failed = [r.record for r in (params, events) if not r.ok]
    if failed:
        for record in failed:
            withdraw(Path(record.path))  # whatever it declared is not what is on disk and readable
        yield from checks  # every check of an unreadable file fails, saying why
        raise dg.Failure(
            description="; ".join(f"{r.name} cannot be distilled (recorded failed): {r.error}"
                                  for r in failed),
            allow_retries=False,
        )
    metadata = _metadata(params, events, settings.stats_db_path)
    for result in (params, events):
        declared = _declare(context, result, settings, day)
        metadata[f"{DAILY_ASSET_OF_KIND[result.info.kind]}_declaration"] = declared["declaration"]
    yield dg.MaterializeResult(metadata=metadata, check_results=checks)


def _checks(
    params: DistillResult, events: DistillResult, arrays: DayArrays, window: Window,
    devices: list[str], settings: Settings,
) -> list[dg.AssetCheckResult]:
    """Every check of the day, from the distiller's one read. A check that needs a file that
    cannot be read fails with the reason recorded for it."""
    param_path, event_path = Path(params.record.path), Path(events.record.path)
    checks = [verdict_result(v, param_path)
              for v in param_verdicts(params, devices, settings.completeness_limits)]
    checks += [verdict_result(v, event_path) for v in event_verdicts(events)]
    checks.append(_supercycle_result(arrays, window) if events.ok
                  else _unreadable("one_00_per_supercycle", events))
    checks.append(_tick_result(arrays, window) if params.ok and events.ok
                  else _unreadable("ticks_match_param_samples", params, events))
    return checks


def _unreadable(name: str, *needed: DistillResult) -> dg.AssetCheckResult:
    """A check that cannot be judged because a file it needs cannot be read: failed, why."""
    return dg.AssetCheckResult(
        check_name=name, passed=False, severity=dg.AssetCheckSeverity.ERROR,
        description="; ".join(f"{r.record.name} cannot be read: {r.record.error}"
                              for r in needed if not r.ok))


file_stats_job = dg.define_asset_job(
    "file_stats_job",
    selection=[file_stats],
    description=(
        "Distil one local day's data files into the statistics store and judge them (normally "
        "started by `automation_sensor`; launch it for a day to redo its statistics)."
    ),
)
