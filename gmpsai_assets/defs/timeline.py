"""The timeline logger under Dagster: an always-running job, two sensors that keep it running,
and the daily `timeline_records` asset with its gap check.

Supervision: `timeline_logger_job` never ends by itself. If its run fails (source down longer than
allowed, a crash noticed by the code server or by us), `timeline_restart_sensor` relaunches it
once per failed run (run_key = failed run id); `timeline_keepalive_sensor` starts it whenever no
run of it is queued or in progress (first start, after a cancel, after a reboot). Dagster's own
run retries are off for this job (tag dagster/max_retries=0) so nothing else doubles up, and a
run that finds an older live run of the job steps aside, should two ever start together. Runs
failing soon after they start (a crash loop) are restarted with exponential backoff. Both
sensors default to running, so `make dev` brings the logger up by itself; to stop it on purpose,
turn both sensors off, then terminate the run (README).
"""

import os
import socket
import threading
import time

import dagster as dg

from gmpsai_assets.acnet.datalogger import DataLoggerError
from gmpsai_assets.acnet.tclk import TimingSource
from gmpsai_assets.defs.partitions import daily_partitions
from gmpsai_assets.defs.resources import DataLoggerResource, TimelineResource
from gmpsai_assets.files.drafts import drafted
from gmpsai_assets.settings import read_setting
from gmpsai_assets.timeline.day import DaySummary, summarize_day
from gmpsai_assets.timeline.logger import Heartbeat, LoggerPolicy, SourceDown, TimelineLogger
from gmpsai_assets.window import Window, day_window, format_local

JOB_NAME = "timeline_logger_job"
PID_TAG, HOST_TAG = "gmpsai/pid", "gmpsai/host"
ACTIVE = [dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED,
          dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED]
# Part of the sensors' definitions: read as the code location loads.
SENSOR_S = read_setting("GMPSAI_TIMELINE_SENSOR_S")
# After a failure the restart sensor relaunches within one interval; the keep-alive sensor waits
# two before stepping in itself (e.g. when the restart sensor is off), so they do not double up.
RESTART_GRACE_S = 2 * SENSOR_S
ZOMBIE_AFTER_S = 60.0  # a STARTED run whose process is gone this long after starting is dead
# A run failing this soon after it began is a crash loop in the making (bad configuration, an
# unwritable disk): after two in a row, restarts back off exponentially, up to an hour.
QUICK_FAILURE_S = 120.0
MAX_BACKOFF_S = 3600.0


# ---- which runs of the job are alive ---------------------------------------------------------


def _process_gone(run: dg.DagsterRun) -> bool:
    """True only when we can tell the run's worker process no longer exists (same host, pid
    recorded by the op, no such process). Anything we cannot judge counts as alive."""
    pid, host = run.tags.get(PID_TAG), run.tags.get(HOST_TAG)
    if not pid or host != socket.gethostname():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except (PermissionError, ValueError):
        return False
    return False


def active_runs(instance: dg.DagsterInstance, mark_zombies: bool = False) -> list[dg.RunRecord]:
    """Runs of the job queued or in progress, oldest first.

    A run left STARTED by a process that no longer exists (a reboot, a killed code server) is
    not active: with `mark_zombies` it is reported failed, which the restart sensor then sees.
    """
    records = instance.get_run_records(dg.RunsFilter(job_name=JOB_NAME, statuses=ACTIVE))
    alive = []
    for rec in records:
        run = rec.dagster_run
        started = rec.start_time or rec.create_timestamp.timestamp()
        if (run.status == dg.DagsterRunStatus.STARTED and time.time() - started > ZOMBIE_AFTER_S
                and _process_gone(run)):
            if mark_zombies:
                instance.report_run_failed(
                    run, f"the run's process (pid {run.tags.get(PID_TAG)}) no longer exists")
            continue
        alive.append(rec)
    return sorted(alive, key=lambda r: r.create_timestamp)


def quick_failures(instance: dg.DagsterInstance) -> int:
    """How many of the latest runs of the job failed soon after they began, in a row."""
    n = 0
    for rec in instance.get_run_records(dg.RunsFilter(job_name=JOB_NAME), limit=10):
        if rec.dagster_run.status != dg.DagsterRunStatus.FAILURE:
            break
        began = rec.start_time or rec.create_timestamp.timestamp()
        ended = rec.end_time or rec.update_timestamp.timestamp()
        if ended - began >= QUICK_FAILURE_S:
            break
        n += 1
    return n


def restart_backoff(quick: int) -> float:
    """Seconds to wait after the last failure: none for one, then doubling from a minute."""
    return 0.0 if quick < 2 else min(MAX_BACKOFF_S, 60.0 * 2 ** (quick - 2))


def _older_live_run(instance: dg.DagsterInstance, run_id: str) -> str | None:
    """Another live run of the job created before `run_id`: the one that keeps logging."""
    mine = instance.get_run_record_by_id(run_id)
    for rec in active_runs(instance):
        if rec.dagster_run.run_id == run_id:
            continue
        if mine is None or rec.create_timestamp < mine.create_timestamp:
            return rec.dagster_run.run_id
    return None


# ---- the job ---------------------------------------------------------------------------------


@dg.op(description="Record the timeline once per supercycle until the run is terminated.")
def record_timeline(
    context: dg.OpExecutionContext, datalogger: DataLoggerResource, timeline: TimelineResource
) -> None:
    instance, run_id = context.instance, context.run_id
    instance.add_run_tags(run_id, {PID_TAG: str(os.getpid()), HOST_TAG: socket.gethostname()})
    older = _older_live_run(instance, run_id)
    if older:
        context.log.info(f"run {older} is already logging the timeline; this run steps aside")
        return
    source = datalogger.open()
    if not isinstance(source, TimingSource):
        raise dg.Failure(f"source {source.source!r} cannot answer timing questions")
    settings = timeline.settings()
    store = timeline.store()
    stop = threading.Event()

    def heartbeat(beat: Heartbeat) -> None:
        context.log.info(f"heartbeat: {beat.message}")
        other = _older_live_run(instance, run_id)
        if other:
            context.log.info(f"run {other} is also logging the timeline; this run steps aside")
            stop.set()

    logger = TimelineLogger(
        source, store,
        policy=LoggerPolicy(max_outage_s=settings.timeline_max_outage_s),
        stop=stop, heartbeat=heartbeat, log=context.log.warning,
    )
    context.log.info(f"logging the timeline of {source.source} into {store.path}")
    try:
        logger.run()
    except SourceDown as exc:
        raise dg.Failure(
            description=str(exc),
            metadata={"supercycles_recorded": logger.recorded},
        ) from exc
    except (KeyboardInterrupt, dg.DagsterExecutionInterruptedError):
        context.log.info(f"terminated after {logger.recorded} new supercycles; "
                         "every recorded supercycle is committed")
        raise


@dg.job(
    name=JOB_NAME,
    # In-process: the logger lives in the run worker itself, so killing that process stops it
    # (a step subprocess could outlive its run worker and log twice).
    executor_def=dg.in_process_executor,
    # The restart sensor is the only restarter; in a full run queue (a backfill) the logger
    # takes the next free slot.
    tags={"dagster/max_retries": "0", "dagster/priority": "10"},
    description=(
        "Runs until stopped: once per supercycle reads the supercycle length and time and the "
        "Timeline Generator's table and records them in <data dir>/timeline.duckdb. Kept running "
        "by timeline_restart_sensor and timeline_keepalive_sensor."
    ),
)
def timeline_logger_job() -> None:
    record_timeline()


# ---- the sensors -----------------------------------------------------------------------------


@dg.run_failure_sensor(
    name="timeline_restart_sensor",
    monitored_jobs=[timeline_logger_job],
    request_job=timeline_logger_job,
    minimum_interval_seconds=SENSOR_S,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Relaunches timeline_logger_job once per failed run of it.",
)
def timeline_restart_sensor(context: dg.RunFailureSensorContext):
    failed = context.dagster_run
    live = active_runs(context.instance)
    if live:
        return dg.SkipReason(f"run {failed.run_id} failed but run "
                             f"{live[0].dagster_run.run_id} is already logging")
    quick = quick_failures(context.instance)
    if restart_backoff(quick):
        return dg.SkipReason(f"{quick} runs in a row failed soon after starting; "
                             f"timeline_keepalive_sensor retries in {restart_backoff(quick):.0f} s")
    return dg.RunRequest(run_key=failed.run_id, tags={"gmpsai/restart_of": failed.run_id})


@dg.sensor(
    name="timeline_keepalive_sensor",
    job=timeline_logger_job,
    minimum_interval_seconds=SENSOR_S,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "Starts timeline_logger_job when no run of it is queued or in progress (first start, "
        "after a cancel or a reboot); leaves fresh failures to timeline_restart_sensor."
    ),
)
def timeline_keepalive_sensor(context: dg.SensorEvaluationContext):
    live = active_runs(context.instance, mark_zombies=True)
    if live:
        run = live[0].dagster_run
        return dg.SkipReason(f"run {run.run_id} is {run.status.value}")
    latest = context.instance.get_run_records(dg.RunsFilter(job_name=JOB_NAME), limit=1)
    if latest and latest[0].dagster_run.status == dg.DagsterRunStatus.FAILURE:
        ended = latest[0].end_time or latest[0].update_timestamp.timestamp()
        backoff = restart_backoff(quick_failures(context.instance))
        if time.time() - ended < max(RESTART_GRACE_S, backoff):
            return dg.SkipReason(
                f"run {latest[0].dagster_run.run_id} failed just now; "
                + (f"crash loop: next start {backoff:.0f} s after it" if backoff
                   else "timeline_restart_sensor relaunches it"))
    # No run_key: the check above is what prevents doubles, and a key would be deduplicated
    # forever if the run it started were ever deleted.
    return dg.RunRequest(tags={"gmpsai/started_by": "timeline_keepalive_sensor"})


# ---- the daily asset and its check -----------------------------------------------------------


def _current_length(datalogger: DataLoggerResource) -> float | None:
    """The source's supercycle length, to say how many supercycles a day should have when
    nothing was recorded; None when the source cannot tell right now."""
    try:
        source = datalogger.open()
        return float(source.supercycle_length()) if isinstance(source, TimingSource) else None
    except DataLoggerError:
        return None


def _summary_metadata(s: DaySummary) -> dict[str, object]:
    return {
        "supercycles_recorded": s.recorded,
        "supercycles_expected": s.expected if s.expected is not None else "unknown",
        "supercycle_length_s": round(s.length_s, 6) if s.length_s else "unknown",
        "gap_count": len(s.gaps),
        "longest_gap_s": round(s.longest_gap_s, 3),
        "gaps": dg.MetadataValue.json([g.as_dict() for g in s.gaps]),
        "timeline_changes": len(s.timeline_changes),
        "timeline_changes_at": dg.MetadataValue.json(
            [format_local(t) for t in s.timeline_changes]),
        "timelines_run": len(s.timelines),
        "recorded_since": format_local(s.history_start) if s.history_start else "never",
    }


@dg.asset(
    partitions_def=daily_partitions,
    group_name="booster_data",
    kinds={"parquet", "duckdb", "python"},
    description=(
        "The timeline of every supercycle recorded by timeline_logger_job during one Fermilab "
        "local day, in the old long form (sc_start_utc, entry_index, event_hex, sc_event_time), "
        "as <data dir>/timeline/TimelineLog_<day>.parquet; metadata counts the supercycles "
        "recorded and expected and lists the gaps and timeline changes. A day with nothing "
        "recorded gives an empty file, not a failure: its check says why."
    ),
)
def timeline_records(
    context: dg.AssetExecutionContext, timeline: TimelineResource, datalogger: DataLoggerResource
) -> dg.MaterializeResult:
    window = day_window(context.partition_key)
    store = timeline.store()
    summary = summarize_day(store, window, time.time())
    if summary.length_s is None:  # nothing recorded to tell the length: ask the source
        summary = summarize_day(store, window, time.time(), _current_length(datalogger))
    settings = timeline.settings()
    final = timeline.records_dir / f"TimelineLog_{context.partition_key}.parquet"
    with drafted(final, settings.drafts_dir) as draft:
        rows = store.export_parquet(window.start, window.end, draft)
    if summary.before_history:
        context.log.warning(f"no supercycle recorded in {window}: the timeline logger had not "
                            "started yet (or its database is elsewhere)")
    return dg.MaterializeResult(metadata={
        "path": dg.MetadataValue.path(str(final)),
        "bytes": final.stat().st_size,
        "rows": rows,
        **_summary_metadata(summary),
    })


@dg.asset_check(
    asset=timeline_records,
    name="no_long_gaps",
    partitions_def=daily_partitions,
    description=(
        "Fails (ERROR) when the day has a gap in the timeline record longer than "
        "GMPSAI_TIMELINE_MAX_GAP_S; warns (WARN) when nothing was recorded because the logger "
        "had not started by the end of the day (a fresh install)."
    ),
)
def timeline_records_gaps(
    context: dg.AssetCheckExecutionContext, timeline: TimelineResource
) -> dg.AssetCheckResult:
    window: Window = day_window(context.partition_key)
    limit = timeline.settings().timeline_max_gap_s
    summary = summarize_day(timeline.store(), window, time.time())
    long_gaps = summary.long_gaps(limit)
    metadata = {
        "max_gap_s": limit,
        "long_gaps": dg.MetadataValue.json([g.as_dict() for g in long_gaps]),
        "supercycles_recorded": summary.recorded,
    }
    if summary.before_history:
        return dg.AssetCheckResult(
            passed=False, severity=dg.AssetCheckSeverity.WARN, metadata=metadata,
            description="nothing recorded: the timeline logger had not started by this day's end",
        )
    return dg.AssetCheckResult(
        passed=not long_gaps, severity=dg.AssetCheckSeverity.ERROR, metadata=metadata,
        description=(f"{len(long_gaps)} gap(s) longer than {limit:g} s" if long_gaps
                     else f"no gap longer than {limit:g} s"),
    )
