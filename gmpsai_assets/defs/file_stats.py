"""`file_stats`: every data file distilled once into the DuckDB statistics store.

Partitioned by data file (dynamic partitions `data_files`, keyed by file name): a file is the unit
that is written, replaced and distilled, whoever wrote it (param_data, event_data, the CLI, a copy
from the old archive), and old files have windows that no daily partition matches. The sensor
`data_files_sensor` watches <data dir>/params and <data dir>/events, adds a partition per new file
and requests one run per file version (name + size + mtime), so nobody has to start anything.
Each run writes its file's own result files beside the DuckDB store (stats/store.py), so runs
distil in parallel, as many as the run queue admits, with no concurrency pool.
"""

import json
import time
from pathlib import Path

import dagster as dg

from gmpsai_assets.catalog.checksums import FileChangedError
from gmpsai_assets.catalog.declaration import Declaration, declare_data_file, withdraw
from gmpsai_assets.catalog.send import SendError, Targets, send
from gmpsai_assets.defs.partitions import daily_partitions
from gmpsai_assets.defs.resources import StatsResource, StorageResource
from gmpsai_assets.files.datafile import FileSeen, scan_data_files
from gmpsai_assets.settings import Settings
from gmpsai_assets.stats import store
from gmpsai_assets.stats.distill import DistillResult, distill_into_store
from gmpsai_assets.window import day_window, to_local

data_files_partitions = dg.DynamicPartitionsDefinition(name="data_files")

SETTLE_SECONDS = 10.0  # a file modified more recently may still be being copied in
MAX_RUNS_PER_TICK = 50  # a freshly copied archive is worked through over several ticks
# Characters Dagster refuses in a partition key.
_BAD_KEY_PARTS = ("...", "\a", "\b", "\f", "\n", "\r", "\t", "\v", "\0")


def data_dirs(settings: Settings) -> list[Path]:
    return [settings.params_dir, settings.events_dir]


def _locate(name: str, settings: Settings) -> Path | None:
    for directory in data_dirs(settings):
        if (directory / name).is_file():
            return directory / name
    return None


@dg.asset(
    partitions_def=data_files_partitions,
    group_name="file_stats",
    kinds={"duckdb", "python"},
    description=(
        "Per-file, per-device (or per-event) statistics of one data file, new or old format, in "
        "the DuckDB store `<data dir>/gmpsai.duckdb` (views over per-file Parquet results in "
        "`<data dir>/gmpsai_results/`): count, NaN count, mean, std, min, max, mode, "
        "p01/p50/p99, first/last time, sample-interval statistics, gaps and completeness. "
        "A partition is a file name; data_files_sensor adds them. A file that cannot be read "
        "is recorded failed with the reason and the run fails without retrying. "
        "The same read gives the file's catalogue declaration, `<file name>.json` beside it "
        "(size, adler32, md5, metadata; docs/catalog.md), shown here and on the day's "
        "param_data / event_data partition as an observation."
    ),
)
def file_stats(
    context: dg.AssetExecutionContext, stats: StatsResource
) -> dg.MaterializeResult:
    name = context.partition_key
    settings = stats.settings()
    db = settings.stats_db_path
    path = _locate(name, settings)
    if path is None:
        store.mark_missing(db, name, name)
        for directory in data_dirs(settings):
            withdraw(directory / name)  # a declaration of a file that is gone
        context.log.warning(f"{name} is no longer in {', '.join(map(str, data_dirs(settings)))}")
        return dg.MaterializeResult(metadata={"status": "missing", "database": str(db)})
    result = distill_into_store(
        path, db, settings.gap_ticks, progress=context.log.debug
    )
    rec = result.record
    metadata: dict[str, object] = {
        "path": dg.MetadataValue.path(str(path)),
        "database": dg.MetadataValue.path(str(db)),
        "status": rec.status,
        "format": rec.format or "",
        "bytes": rec.bytes or 0,
        "duration_s": round(rec.seconds, 3),
    }
    if not result.ok:
        withdraw(path)  # whatever it declared is not what is on disk and readable now
        context.log.error(f"{name}: recorded as failed: {rec.error}")
        raise dg.Failure(
            description=f"{name} cannot be distilled: {rec.error}",
            metadata={**metadata, "error": rec.error},
            allow_retries=False,
        )
    if result.params:
        low = sorted(result.params, key=lambda p: p.completeness or 0.0)[:5]
        metadata.update({
            "devices": len(result.params),
            "rows_total": sum(p.rows for p in result.params),
            "devices_without_data": dg.MetadataValue.json(
                [p.device for p in result.params if p.rows == 0]),
            "lowest_completeness": dg.MetadataValue.json(
                {p.device: round(p.completeness or 0.0, 4) for p in low}),
            "gaps_total": sum(p.gap_count for p in result.params),
        })
    else:
        metadata.update({
            "events": len(result.events),
            "occurrences_total": sum(e.count for e in result.events),
        })
    if result.superseded:
        metadata["superseded"] = dg.MetadataValue.json(result.superseded)
    metadata.update(_declare(context, result, settings))
    context.log.info(result.summary())
    return dg.MaterializeResult(metadata=metadata)


DAILY_ASSET_OF_KIND = {"params": "param_data", "events": "event_data"}


def _declare(
    context: dg.AssetExecutionContext, result: DistillResult, settings: Settings
) -> dict[str, object]:
    """Write the file's declaration from the checksums of the distiller's read, send it where
    a catalogue server is configured, and show it on the day's partition of the asset that
    wrote the file. A file replaced since it was read, or a refused declaration, fails the
    run (the sensor distils the new version)."""
    assert result.info is not None and result.digests is not None
    try:
        decl = declare_data_file(result.info, result.dataset_rows(), result.digests,
                                 settings.catalog_namespace)
        sent = send(decl, Targets.from_settings(settings))
    except (FileChangedError, SendError) as exc:
        raise dg.Failure(description=f"{result.record.name}: not declared: {exc}",
                         allow_retries=False) from None
    shown = _declaration_metadata(decl, sent)
    day = _day_partition(result)
    if day is not None:
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


def _day_partition(result: DistillResult) -> str | None:
    """The daily partition whose window is exactly the file's, if any (old files often not)."""
    window = result.info.window if result.info else None
    if window is None:
        return None
    key = to_local(window.start).date().isoformat()
    if not daily_partitions.has_partition_key(key) or day_window(key) != window:
        return None
    return key


file_stats_job = dg.define_asset_job(
    "file_stats_job",
    selection=[file_stats],
    description="Distil one data file (a data_files partition) into the statistics store.",
)


def _load_cursor(cursor: str | None) -> dict[str, str]:
    try:
        seen = json.loads(cursor) if cursor else {}
    except json.JSONDecodeError:
        return {}
    return seen if isinstance(seen, dict) else {}


def plan_requests(
    files: list[FileSeen], cursor: dict[str, str], limit: int = MAX_RUNS_PER_TICK
) -> tuple[list[FileSeen], dict[str, str]]:
    """Files whose version the cursor has not seen (at most `limit`), and the cursor after
    requesting them. Files that disappeared leave the cursor, so a name that comes back is new."""
    present = {f.name for f in files}
    new_cursor = {name: fp for name, fp in cursor.items() if name in present}
    todo = [f for f in files if cursor.get(f.name) != f.fingerprint
            and not any(bad in f.name for bad in _BAD_KEY_PARTS)][:limit]
    for f in todo:
        new_cursor[f.name] = f.fingerprint
    return todo, new_cursor


@dg.sensor(
    name="data_files_sensor",
    target=file_stats_job,
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "Watches <data dir>/params and <data dir>/events for closed data files (hidden names "
        "and files touched in the last 10 s are skipped) and requests one file_stats run per new "
        "or changed file: run key = name + size + mtime, remembered in the cursor."
    ),
)
def data_files_sensor(
    context: dg.SensorEvaluationContext, storage: StorageResource
) -> dg.SensorResult | dg.SkipReason:
    files = scan_data_files(data_dirs(storage.settings()), time.time(), SETTLE_SECONDS)
    todo, cursor = plan_requests(files, _load_cursor(context.cursor))
    if not todo:
        if cursor != _load_cursor(context.cursor):
            context.update_cursor(json.dumps(cursor, sort_keys=True))
        return dg.SkipReason(f"no new or changed data files among {len(files)}")
    known = set(context.instance.get_dynamic_partitions(data_files_partitions.name))
    new_keys = sorted({f.name for f in todo} - known)
    return dg.SensorResult(
        run_requests=[
            dg.RunRequest(run_key=f"{f.name}:{f.fingerprint}", partition_key=f.name)
            for f in todo
        ],
        dynamic_partitions_requests=(
            [data_files_partitions.build_add_request(new_keys)] if new_keys else []
        ),
        cursor=json.dumps(cursor, sort_keys=True),
    )
