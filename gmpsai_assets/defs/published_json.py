"""`published_json`: the statistics history as the old plotly JSON and as a static web page.

Unpartitioned, downstream of every daily `file_stats` partition. Declarative automation
re-publishes it whenever statistics land: `eager` without its "no upstream partition missing"
clause, since some day is always not distilled (yet, or ever: a day the grab failed) and that
must not stop the page. `automation_sensor` evaluates it (and `file_stats`) and starts RUNNING,
so no one has to switch anything on. On demand: Materialize in the UI, or
`gmpsai materialize-day`, which ends with it.
"""

import dagster as dg

from gmpsai_assets.defs.file_stats import file_stats
from gmpsai_assets.defs.resources import PublishResource
from gmpsai_assets.publish.site import PublishRefusedError, publish_from_store

PUBLISH_CONDITION = dg.AutomationCondition.eager().without(
    ~dg.AutomationCondition.any_deps_missing()
).with_label("eager, even with undistilled files")


@dg.asset(
    deps=[file_stats],
    group_name="publishing",
    kinds={"json", "html"},
    automation_condition=PUBLISH_CONDITION,
    description=(
        "The statistics history, published into `<data dir>/site` (`GMPSAI_PUBLISH_DIR`): the "
        "old plotly figure `StatsHistoryBoringHolyMoly.json` (`GMPSAI_PUBLISH_JSON_NAME`) that "
        "the existing site loads, and a static page (`index.html` drawn with uPlot, works "
        "offline) with a plot per device of a typical value per day (readings: median and "
        "p05-p95; settings: the value held longest; status words: the usual state), per-day "
        "completeness and gaps, and each day's numbers and file, fed by `gmpsai-site.json` and "
        "`gmpsai-days.json`. Every file is written atomically. Serve it with "
        "`gmpsai serve-site`. Re-published automatically when new statistics land."
    ),
)
def published_json(
    context: dg.AssetExecutionContext, publish: PublishResource
) -> dg.MaterializeResult:
    settings = publish.settings()
    try:
        result, found = publish_from_store(settings)
    except PublishRefusedError as exc:
        raise dg.Failure(description=str(exc), allow_retries=False) from None
    if not found:
        context.log.warning(
            f"no statistics database at {settings.stats_db_path} yet: published an empty page"
        )
    context.log.info(
        f"published {result.devices} devices, {result.days} device-days into {result.directory}"
    )
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(result.index)),
            "legacy_json": dg.MetadataValue.path(str(result.legacy_json)),
            "database": dg.MetadataValue.path(str(settings.stats_db_path)),
            "devices": result.devices,
            "device_days": result.days,
            # what the page says (quality/days.py): each day's own events once, then the
            # device-days and devices with a problem of their own
            "data_as_of": result.data_as_of or "",
            "overdue": result.overdue,
            "days_without_data": result.no_data_days,
            "datalogger_outages": result.outages,
            "days_with_problems": result.bad_days,
            "days_with_warnings": result.warn_days,
            "devices_with_errors": result.devices_with_errors,
            "devices_with_errors_or_warnings": result.devices_with_errors_or_warnings,
            "bytes_written": result.bytes,
            "files_written": dg.MetadataValue.json(result.written),
            "serve": f"gmpsai serve-site --dir {result.directory}",
        }
    )


# The one automation sensor: it evaluates every asset and check that has an automation condition.
# One run per day, never a backfill: a backfill takes only the assets, and the checks of
# `cycle_table` (a check definition of their own) then went to check-only runs that started
# before the table existed and failed. In a day's run the checks run after their asset.
automation_sensor = dg.AutomationConditionSensorDefinition(
    "automation_sensor",
    target=dg.AssetSelection.all(),
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=30,
    emit_backfills=False,
    description=(
        "Evaluates the automation conditions: distils a day (`file_stats`) and builds its "
        "`cycle_table` (and judges it) once its `param_data` and `event_data` files exist or "
        "change, and re-publishes "
        "(`published_json`) once new statistics have landed and no `file_stats` run is in "
        "progress. One run per day, with the day's checks after their asset, even when many "
        "days are due at once."
    ),
)
