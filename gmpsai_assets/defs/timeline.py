"""The timeline logger under Dagster: an always-running job, two sensors that keep it running,
the logger's store as an asset of its own (`timeline_store`, observed by the job), and the daily
`timeline_records` asset exported from it, with its gap check and its schedule.

Supervision: `timeline_logger_job` never ends by itself. If its run fails (source down longer than
allowed, a crash noticed by the code server or by us), `timeline_restart_sensor` relaunches it
once per failed run (run_key = failed run id); `timeline_keepalive_sensor` starts it whenever no
run of it is queued or in progress (first start, after a reboot) unless the last run was
terminated by a person. Dagster's own run retries are off for this job (tag dagster/max_retries=0)
so nothing else doubles up, and a run that finds an older live run of the job steps aside, should
two ever start together. Runs failing soon after they start (a crash loop) are restarted with
exponential backoff. Both sensors default to running, so `make dev` brings the logger up by
itself.

Terminate means stop: a run a person terminates (the UI's Terminate, or the GraphQL API) is
tagged `gmpsai/stopped_by=terminate`, logs how many supercycles it recorded, and ends CANCELED,
Dagster's own stopped state, so the Runs list shows it stopped, not succeeded. The keep-alive
sensor leaves the logger stopped, saying on each tick who stopped it when and how to resume
(launch `timeline_logger_job`); `gmpsai status` and the logger's alert say the same. Dagster
records no user with a termination, so "who" is how: never a name. A run interrupted without a
terminate request (the process killed, Ctrl-C) is a failure and restarts at once.
"""

import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import dagster as dg

from gmpsai_assets.acnet.datalogger import DataLoggerError
from gmpsai_assets.acnet.tclk import TimingSource
from gmpsai_assets.defs.partitions import daily_partitions
from gmpsai_assets.defs.resources import DataLoggerResource, TimelineResource
from gmpsai_assets.files.drafts import drafted
from gmpsai_assets.settings import read_setting
from gmpsai_assets.timeline.day import DaySummary, summarize_day
from gmpsai_assets.timeline.logger import (
    Heartbeat,
    SourceDown,
    TimelineLogger,
    TimelineLoggerPolicy,
)
from gmpsai_assets.window import Window, day_window, format_local

JOB_NAME = "timeline_logger_job"
PID_TAG, HOST_TAG = "gmpsai/pid", "gmpsai/host"
# Set by a run that ended on a person's terminate request, and by one that stepped aside.
STOPPED_TAG, STEPPED_ASIDE_TAG = "gmpsai/stopped_by", "gmpsai/stepped_aside"
RESUME_HINT = ("to resume, launch timeline_logger_job (UI: Jobs > timeline_logger_job > "
               "Launchpad > Launch Run; or `dagster job launch -j timeline_logger_job -w "
               "workspace.yaml`)")
TERMINATING = (dg.DagsterRunStatus.CANCELING, dg.DagsterRunStatus.CANCELED)
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


# How a person stopped a run, by what the run shows; Dagster records no user with it.
TERMINATED_HOW = "a Terminate in the Dagster UI or API (Dagster does not record who)"
CANCELED_HOW = ("a cancel before it began logging, in the Dagster UI or API (Dagster does not "
                "record who)")


def how_stopped(instance: dg.DagsterInstance, run: dg.DagsterRun) -> tuple[str, float | None]:
    """How a person stopped `run`, and when they asked (the termination request; else the run's
    end; None if neither is known)."""
    how = TERMINATED_HOW if run.tags.get(STOPPED_TAG) == "terminate" else CANCELED_HOW
    asked = instance.get_records_for_run(
        run.run_id, of_type=dg.DagsterEventType.RUN_CANCELING, limit=1).records
    if asked:
        return how, asked[0].timestamp
    record = instance.get_run_record_by_id(run.run_id)
    return how, (record.end_time or record.update_timestamp.timestamp()) if record else None


def stopped_line(instance: dg.DagsterInstance, run: dg.DagsterRun) -> str:
    """One sentence for sensor ticks and alerts: which run was stopped, by what, when."""
    how, at = how_stopped(instance, run)
    return f"run {run.run_id} was stopped by {how} at {format_local(at) if at else '?'}"


def stopped_by_operator(instance: dg.DagsterInstance) -> dg.DagsterRun | None:
    """The run of the job that a person terminated, if that is how the latest run that logged
    (runs that stepped aside aside) ended; else None."""
    for rec in instance.get_run_records(dg.RunsFilter(job_name=JOB_NAME), limit=20):
        run = rec.dagster_run
        if STEPPED_ASIDE_TAG in run.tags:
            continue
        stopped = run.status == dg.DagsterRunStatus.CANCELED or STOPPED_TAG in run.tags
        return run if stopped and run.is_finished else None
    return None


def _older_live_run(instance: dg.DagsterInstance, run_id: str) -> str | None:
    """Another live run of the job created before `run_id`: the one that keeps logging."""
    mine = instance.get_run_record_by_id(run_id)
    for rec in active_runs(instance):
        if rec.dagster_run.run_id == run_id:
            continue
        if mine is None or rec.create_timestamp < mine.create_timestamp:
            return rec.dagster_run.run_id
    return None


# ---- the store: an asset no run materializes ---------------------------------------------------

timeline_store = dg.AssetSpec(
    "timeline_store",
    group_name="booster_data",
    kinds={"duckdb"},
    # Who writes it, for people (the asset's page) and for test_definitions' producer walk.
    metadata={"written_by": JOB_NAME},
    description=(
        "The timeline logger's own DuckDB file, `<data dir>/timeline.duckdb` "
        "(`GMPSAI_TIMELINE_DB`): every supercycle's start, length and Timeline Generator table, "
        "written continuously by `timeline_logger_job` as the supercycles happen, never by a "
        "materialization. The job records an observation of it when it begins logging and when "
        "the timeline changes; its runs say whether it is logging now. A supercycle it did not "
        "watch cannot be recorded later. `timeline_records` exports each day of it."
    ),
)


def _observed(store_path: Path, what: str, **facts: str) -> dg.AssetObservation:
    """An observation of the store, as the logger's run sees it."""
    return dg.AssetObservation(asset_key=timeline_store.key, metadata={
        "path": dg.MetadataValue.path(str(store_path)), "event": what, **facts})


# ---- the job ---------------------------------------------------------------------------------


@dg.op(description="Record the timeline once per supercycle until the run is terminated.")
def record_timeline(
    context: dg.OpExecutionContext, datalogger: DataLoggerResource, timeline: TimelineResource
) -> None:
    instance, run_id = context.instance, context.run_id
    instance.add_run_tags(run_id, {PID_TAG: str(os.getpid()), HOST_TAG: socket.gethostname()})
    older = _older_live_run(instance, run_id)
    if older:
        instance.add_run_tags(run_id, {STEPPED_ASIDE_TAG: older})
        context.log.info(f"run {older} is already logging the timeline; this run steps aside")
        return
    source = datalogger.open_timing()
    if not isinstance(source, TimingSource):
        raise dg.Failure(f"source {source.source!r} cannot answer timing questions")
    settings = timeline.settings()
    store = timeline.store()
    stop = threading.Event()

    def heartbeat(beat: Heartbeat) -> None:
        context.log.info(f"heartbeat: {beat.message}")
        if beat.timeline_changed:
            context.log_event(_observed(
                store.path, "the timeline changed", timeline=beat.last_outcome.timeline_id,
                from_supercycle=format_local(beat.last_start_utc)))
        other = _older_live_run(instance, run_id)
        if other:
            instance.add_run_tags(run_id, {STEPPED_ASIDE_TAG: other})
            context.log.info(f"run {other} is also logging the timeline; this run steps aside")
            stop.set()

    timeline_logger = TimelineLogger(
        source, store,
        policy=TimelineLoggerPolicy(max_outage_s=settings.timeline_max_outage_s),
        stop=stop, heartbeat=heartbeat, log=context.log.warning,
    )
    context.log.info(f"logging the timeline of {source.source} into {store.path}")
    last = store.last_recorded()
    context.log_event(_observed(store.path, f"logging begins, source {source.source}",
                                last_recorded=format_local(last) if last else "never"))
    try:
        timeline_logger.run()
    except SourceDown as exc:
        raise dg.Failure(
            description=str(exc),
            metadata={"supercycles_recorded": timeline_logger.recorded},
        ) from exc
    except (KeyboardInterrupt, dg.DagsterExecutionInterruptedError):
        run = instance.get_run_by_id(run_id)
        if run is None or run.status not in TERMINATING:  # killed, Ctrl-C: a crash, restart it
            context.log.warning(f"interrupted without a terminate request after "
                                f"{timeline_logger.recorded} new supercycles; every recorded "
                                "supercycle is committed")
            raise
        # A person's terminate: say so, tag the run (the keep-alive sensor leaves the logger
        # stopped) and let the interrupt through, so Dagster ends the run CANCELED.
        instance.add_run_tags(run_id, {STOPPED_TAG: "terminate"})
        context.log.info(f"terminated on request after {timeline_logger.recorded} new "
                         f"supercycles; every recorded supercycle is committed. Logging stays "
                         f"stopped: {RESUME_HINT}")
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
        "Runs until terminated: once per supercycle reads the supercycle length and time and "
        "the Timeline Generator's table and records them in `<data dir>/timeline.duckdb`. Kept "
        "running after crashes by `timeline_restart_sensor` and `timeline_keepalive_sensor`; a "
        "Terminate stops it (the run ends Canceled) until it is launched again."
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
    description="Relaunches `timeline_logger_job` once per failed run of it.",
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
        "Starts `timeline_logger_job` when no run of it is queued or in progress (first start, "
        "after a reboot); leaves fresh failures to `timeline_restart_sensor`. After a person's "
        "Terminate it leaves the logger stopped and says on each tick how to resume."
    ),
)
def timeline_keepalive_sensor(context: dg.SensorEvaluationContext):
    live = active_runs(context.instance, mark_zombies=True)
    if live:
        run = live[0].dagster_run
        return dg.SkipReason(f"run {run.run_id} is {run.status.value}")
    stopped = stopped_by_operator(context.instance)
    if stopped is not None:
        return dg.SkipReason(f"stopped on purpose: {stopped_line(context.instance, stopped)}; "
                             f"{RESUME_HINT}")
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
        source = datalogger.open_timing()
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
    deps=[timeline_store],
    group_name="booster_data",
    kinds={"parquet", "duckdb", "python"},
    output_required=False,  # a day before the logger ever ran is left missing, not materialized
    description=(
        "The timeline of every supercycle recorded by `timeline_logger_job` during one Fermilab "
        "local day, in the old long form (`sc_start_utc`, `entry_index`, `event_hex`, "
        "`sc_event_time`), as `<data dir>/timeline/TimelineLog_<day>.parquet`; metadata counts "
        "the supercycles recorded and expected and lists the gaps and timeline changes. "
        "`timeline_records_schedule` exports each day just after it ends. A day with nothing "
        "recorded never looks complete: before the logger's first supercycle it is left "
        "missing (the run log says why), and a later day with nothing recorded fails."
    ),
)
def timeline_records(
    context: dg.AssetExecutionContext, timeline: TimelineResource, datalogger: DataLoggerResource
) -> Iterator[dg.MaterializeResult]:
    day = context.partition_key
    window = day_window(day)
    store = timeline.store()
    summary = summarize_day(store, window, time.time())
    if summary.length_s is None:  # nothing recorded to tell the length: ask the source
        summary = summarize_day(store, window, time.time(), _current_length(datalogger))
    if summary.recorded == 0:
        if summary.before_history:
            since = (f"its first supercycle is from {format_local(summary.history_start)}"
                     if summary.history_start else "nothing was ever recorded")
            context.log.warning(
                f"left missing: no supercycle recorded in {window}; the timeline logger had "
                f"not started yet ({since}, in {store.path}). A day the timeline logger did not "
                "watch cannot be reconstructed.")
            return
        raise dg.Failure(
            description=f"no supercycle recorded on {day} although the timeline logger has "
                        f"recorded since {format_local(summary.history_start)}: it was down all "
                        f"day (see timeline_logger_job's runs); nothing to export",
            metadata=_summary_metadata(summary), allow_retries=False)
    settings = timeline.settings()
    final = timeline.records_dir / f"TimelineLog_{day}.parquet"
    with drafted(final, settings.drafts_dir) as draft:
        rows = store.export_parquet(window.start, window.end, draft)
    yield dg.MaterializeResult(metadata={
        "path": dg.MetadataValue.path(str(final)),
        "bytes": final.stat().st_size,
        "rows": rows,
        **_summary_metadata(summary),
    })


timeline_records_job = dg.define_asset_job(
    "timeline_records_job",
    selection=[timeline_records],
    description="Export one local day of the recorded timeline (`timeline_records`) to Parquet.",
)

timeline_records_schedule = dg.build_schedule_from_partitioned_job(
    timeline_records_job,
    name="timeline_records_schedule",
    hour_of_day=0,
    minute_of_hour=20,
    description="00:20 America/Chicago: export the timeline of the local day that just ended.",
    default_status=dg.DefaultScheduleStatus.RUNNING,
)


@dg.asset_check(
    asset=timeline_records,
    name="no_long_gaps",
    partitions_def=daily_partitions,
    description=(
        "Fails (ERROR) when the day has a gap in the timeline record longer than "
        "`GMPSAI_TIMELINE_MAX_GAP_S`. A day before the logger first ran is left missing, so "
        "never judged."
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
    return dg.AssetCheckResult(
        passed=not long_gaps, severity=dg.AssetCheckSeverity.ERROR, metadata=metadata,
        description=(f"{len(long_gaps)} gap(s) longer than {limit:g} s" if long_gaps
                     else f"no gap longer than {limit:g} s"),
    )
