"""`cycle_table`: the day's 15 Hz dataset, one row per `$0C`, built from the day's `param_data`
and `event_data` files, and its checks.

Declarative automation: `eager` without its latest-day-only clause, so a day re-grabbed or
backfilled is rebuilt too; it waits while either input of that day is missing or being
materialized, so a day whose two files land at different times is built once both are there.
`automation_sensor` (defs/published_json.py) evaluates it, RUNNING by default.
`gmpsai materialize-day` builds it in the same run as its inputs.

Its checks are a check definition of their own (so the UI can run them again on a table), with
the same condition: they are requested in the tick that requests the table, and the sensor puts
a day's table and checks in one run (defs/published_json.py), the checks after the table. They
run alone only to judge a table made by a run without them, never before the table exists.
"""

from pathlib import Path

import dagster as dg
import polars as pl

from gmpsai_assets.catalog.declaration import declare, window_metadata
from gmpsai_assets.dataset.table import (
    FIXED_SCHEMA,
    TICK,
    build_cycle_table,
    cycle_table_path,
    read_report,
    write_cycle_table,
)
from gmpsai_assets.defs.event_data import event_data
from gmpsai_assets.defs.ownership import owned_by_this_run
from gmpsai_assets.defs.param_data import param_data
from gmpsai_assets.defs.partitions import daily_partitions
from gmpsai_assets.defs.resources import DataLoggerResource, StorageResource
from gmpsai_assets.files.eventfile import read_event_attrs
from gmpsai_assets.files.naming import EVENT_PREFIX, PARAM_PREFIX, newest_partition_file
from gmpsai_assets.files.paramfile import read_param_attrs
from gmpsai_assets.window import Window, day_window

CYCLE_CONDITION = dg.AutomationCondition.eager().without(
    dg.AutomationCondition.in_latest_time_window()
).with_label("eager, any day")


def _day_files(window: Window, datalogger: DataLoggerResource,
               storage: StorageResource) -> tuple[Path | None, Path | None]:
    settings, node = storage.settings(), datalogger.settings().logger_node
    return (newest_partition_file(settings.params_dir, PARAM_PREFIX, node, window),
            newest_partition_file(settings.events_dir, EVENT_PREFIX, node, window))


@dg.asset(
    partitions_def=daily_partitions,
    deps=[param_data, event_data],
    group_name="booster_data",
    kinds={"parquet", "polars"},
    automation_condition=CYCLE_CONDITION,
    description=(
        "The ML-ready 15 Hz dataset of one Fermilab local day: one row per `$0C` (every Booster "
        "cycle), in time order, with the cycle's supercycle start and index, its Booster reset "
        "(`$11`..`$1D`) and whether that was a beam cycle, then one column per device of the "
        "day's parameter file holding the sample logged for that cycle (null where none was). "
        "Parquet (zstd) at `<data dir>/cycles/CycleTable_YYYY-MM-DD.parquet`; read it with "
        "`gmpsai_assets.dataset.scan`, `gmpsai dataset` or DuckDB (docs/cycle_table.md). Built "
        "automatically once the day's param_data and event_data are both there."
    ),
)
def cycle_table(
    context: dg.AssetExecutionContext,
    datalogger: DataLoggerResource,
    storage: StorageResource,
) -> dg.MaterializeResult:
    window = day_window(context.partition_key)
    param_file, event_file = _day_files(window, datalogger, storage)
    if param_file is None or event_file is None:
        missing = "param_data" if param_file is None else "event_data"
        raise dg.Failure(f"no {missing} file for {context.partition_key}: nothing to build from")
    table = build_cycle_table(param_file, event_file, progress=context.log.debug)
    settings = storage.settings()
    with owned_by_this_run(context):
        path = write_cycle_table(table, settings.cycles_dir, settings.drafts_dir)
    rep = table.report
    declaration = declare(
        path, "cycles",
        {**window_metadata(window), "format": "parquet",
         "devices": {d: {"status": r.status, "filled_share": round(r.filled_share, 6)}
                     for d, r in rep.devices.items()},
         "rows_total": rep.cycles},
        settings.catalog_namespace,
        parents=[param_file, event_file],
    )
    if rep.resets_unavailable:
        context.log.warning(f"reset events unknown (reset_event null): {rep.resets_unavailable}")
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(path)),
            "bytes": path.stat().st_size,
            "dagster/row_count": rep.cycles,
            "cycles": rep.cycles,
            "supercycles": rep.supercycles,
            "devices": len(rep.devices),
            "tolerance_ticks": rep.tolerance_ticks,
            "matching": dg.MetadataValue.json({
                d: {"lag_ms": r.lag_ms, "tolerance_ms": r.tolerance_ms,
                    "filled_share": round(r.filled_share, 6), "unmatched": r.unmatched,
                    "status": r.status}
                for d, r in rep.devices.items()
            }),
            "resets_found": dg.MetadataValue.json(rep.resets_found),
            "resets_unavailable": dg.MetadataValue.json(rep.resets_unavailable),
            "sidecar": dg.MetadataValue.path(str(declaration.sidecar)),
            "param_file": rep.param_file,
            "event_file": rep.event_file,
            "duration_s": rep.seconds,
        }
    )


CHECKS = {
    "rows_match_0c": "The table has exactly one row per `$0C` of the day's event file.",
    "ticks_increasing": "`tick_utc` strictly increases (time order, no cycle twice).",
    "filled_share": (
        "Every device of the day's parameter file has a column, and its filled cycles are at "
        "least its samples within the day's cycles: nothing that could be matched was dropped "
        "(a second sample in one cycle or a sample off every cycle's window fails it)."
    ),
    "resets_known": (
        "The day's event file answered every Booster reset event, so a null `reset_event` "
        "means no reset, not an unknown one (WARN)."
    ),
}


@dg.multi_asset_check(
    specs=[dg.AssetCheckSpec(name, asset=cycle_table, description=text,
                             partitions_def=daily_partitions, automation_condition=CYCLE_CONDITION)
           for name, text in CHECKS.items()],
    description="Reads the published cycle table and the day's files, and judges the table.",
)
def cycle_table_checks(
    context: dg.AssetCheckExecutionContext,
    datalogger: DataLoggerResource,
    storage: StorageResource,
):
    day = context.partition_key
    path = cycle_table_path(storage.settings().cycles_dir, day)
    param_file, event_file = _day_files(day_window(day), datalogger, storage)
    if not path.is_file() or param_file is None or event_file is None:
        what = path.name if not path.is_file() else "the day's param_data/event_data file"
        for name in CHECKS:
            yield dg.AssetCheckResult(check_name=name, passed=False,
                                      description=f"no {what} to judge")
        return
    frame = pl.scan_parquet(path)
    stats = frame.select(
        pl.len().alias("rows"),
        (pl.col(TICK).diff().dt.total_microseconds() <= 0).sum().alias("not_increasing"),
        pl.exclude(list(FIXED_SCHEMA)).null_count(),
    ).collect().row(0, named=True)
    rows = stats.pop("rows")
    not_increasing = stats.pop("not_increasing")
    ticks = read_event_attrs(event_file)["event_outcomes"].get(0x0C)
    n_0c = ticks.rows if ticks is not None else 0
    yield dg.AssetCheckResult(
        check_name="rows_match_0c", passed=rows == n_0c and rows > 0,
        description=f"{rows} rows, {n_0c} $0C in {event_file.name}",
        metadata={"rows": rows, "ticks_0c": n_0c},
    )
    yield dg.AssetCheckResult(
        check_name="ticks_increasing", passed=not_increasing == 0,
        description=f"{not_increasing} rows not after the row before",
    )
    report = read_report(path)
    outcomes = read_param_attrs(param_file)["device_outcomes"]
    short: dict[str, str] = {}
    for device, rec in outcomes.items():
        if device not in stats:
            short[device] = "no column"
            continue
        filled = rows - stats[device]
        outside = (report.devices[device].unmatched - report.devices[device].unmatched_inside
                   if device in report.devices else 0)
        if filled < rec.rows - outside:
            short[device] = f"{filled} filled < {rec.rows - outside} samples within the day"
    yield dg.AssetCheckResult(
        check_name="filled_share", passed=not short,
        description=("every device's samples are in the table" if not short else
                     f"{len(short)} device(s) lost samples: {', '.join(sorted(short))}"),
        metadata={"short": dg.MetadataValue.json(short),
                  "filled_share": dg.MetadataValue.json(
                      {d: round((rows - nulls) / rows, 6) if rows else 0.0
                       for d, nulls in stats.items()})},
    )
    yield dg.AssetCheckResult(
        check_name="resets_known", passed=not report.resets_unavailable,
        severity=dg.AssetCheckSeverity.WARN,
        description=("every reset event was read" if not report.resets_unavailable else
                     f"unknown: {report.resets_unavailable}"),
    )
