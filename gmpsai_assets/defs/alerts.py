"""`alert_sensor`: reads the instance for what is wrong now and hands it to gmpsai_assets/alerts/.

Each tick it looks for
- runs that failed after their retries (a run Dagster will retry carries `dagster/will_retry=
  true` and is skipped: its retry's outcome counts); the timeline logger's runs are left to
  the logger's own alert;
- ERROR-severity checks whose latest evaluation of a day failed;
- overdue days: a failed `freshness_check` (defs/freshness.py);
- the timeline logger down: no supercycle recorded for `GMPSAI_ALERT_LOGGER_DOWN_MIN` minutes;
and, for every open incident, whether it has been put right (the day materialized after the
failure, a later evaluation passed, the logger records again). The core opens and closes the
incidents and writes the messages; delivery is apprise. The state is the sensor's cursor.

Off while `GMPSAI_ALERT_URLS` is unset: each tick then skips saying how to switch alerts on.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterable
from typing import Any

import dagster as dg
from dagster._core.event_api import PartitionKeyFilter
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus
from dagster._core.storage.tags import (
    AUTO_RETRY_RUN_ID_TAG,
    PARTITION_NAME_TAG,
    RETRY_NUMBER_TAG,
    WILL_RETRY_TAG,
)

from gmpsai_assets.alerts.delivery import deliver, targets
from gmpsai_assets.alerts.incidents import (
    RUN_LOOKBACK_S,
    Kind,
    Problem,
    Recovery,
    State,
    step,
)
from gmpsai_assets.deadlines import due_day
from gmpsai_assets.defs.freshness import CHECK_NAME
from gmpsai_assets.defs.timeline import (
    JOB_NAME as LOGGER_JOB,
)
from gmpsai_assets.defs.timeline import (
    RESUME_HINT,
    active_runs,
    stopped_by_operator,
    stopped_line,
)
from gmpsai_assets.settings import Settings, SettingsError, read_setting
from gmpsai_assets.timeline.store import TimelineStore, TimelineStoreError
from gmpsai_assets.window import format_local, to_local

SENSOR_NAME = "alert_sensor"
# Part of the sensor's definition: read as the code location loads.
SENSOR_S: int = read_setting("GMPSAI_ALERT_SENSOR_S")
HOW_TO_SWITCH_ON = ("alerts are off: set GMPSAI_ALERT_URLS to one or more apprise URLs (mail, "
                    "Slack, Mattermost, Teams, JSON webhook) where the code location runs, "
                    "then restart it (docs/operations.md, Alerts)")
# A failed run without Dagster's will_retry verdict yet is looked at again this long; one that
# Dagster said it would retry but did not retry within RETRY_LAUNCH_WAIT_S counts as final.
RETRY_VERDICT_WAIT_S = 60.0
RETRY_LAUNCH_WAIT_S = 600.0
CHECK_HISTORY = 30  # latest evaluations read per check each tick
COMPLETED = {AssetCheckExecutionRecordStatus.SUCCEEDED, AssetCheckExecutionRecordStatus.FAILED}
STORE_LOCK_S = 10.0  # how long a tick waits for the timeline database


def _ts(t: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(t, dt.UTC)


def error_line(error: object) -> str:
    """The user's own error of a Dagster error chain (not Dagster's wrapper), one line."""
    while getattr(error, "cause", None) is not None:
        error = error.cause  # type: ignore[attr-defined]
    message = str(getattr(error, "message", "") or "").strip()
    return message.splitlines()[-1] if message else "no reason recorded"


# ---- runs --------------------------------------------------------------------------------------


def _asset_names(graph: dg.AssetGraph | None) -> set[str]:
    return {k.to_user_string() for k in graph.get_all_asset_keys()} if graph else set()


def run_problems(instance: dg.DagsterInstance, run: dg.DagsterRun, ended: float,
                 assets: set[str]) -> list[Problem]:
    """One problem per failed step of a failed run (the step's asset, or the step), or one for
    the run when no step failed (a crashed worker, a launch that failed)."""
    day = run.tags.get(PARTITION_NAME_TAG, "")
    retry = run.tags.get(RETRY_NUMBER_TAG)
    what = f"run of {run.job_name} failed" + (f" on retry {retry}" if retry else "")
    found = []
    for entry in instance.all_logs(run.run_id, of_type=dg.DagsterEventType.STEP_FAILURE):
        event = entry.dagster_event
        if event is None or event.step_key is None:
            continue
        found.append(Problem(Kind.RUN_FAILED, event.step_key, day,
                             f"{what}: step {event.step_key}",
                             error_line(event.step_failure_data.error), ended, run.run_id,
                             "asset" if event.step_key in assets else "step"))
    if found:
        return found
    reasons = [e.dagster_event.message or "" for e in instance.all_logs(
        run.run_id, of_type=dg.DagsterEventType.RUN_FAILURE) if e.dagster_event]
    selected = sorted(k.to_user_string() for k in run.asset_selection or ())
    subject = selected[0] if len(selected) == 1 and selected[0] in assets else run.job_name
    return [Problem(Kind.RUN_FAILED, subject, day, what,
                    (reasons[-1] if reasons else "") or "no reason recorded", ended, run.run_id,
                    "asset" if subject in assets else "job")]


def failed_runs(instance: dg.DagsterInstance, state: State, now: float,
                assets: set[str]) -> list[Problem]:
    """Problems of failed runs not judged before; each run is judged once, when final."""
    records = instance.get_run_records(dg.RunsFilter(
        statuses=[dg.DagsterRunStatus.FAILURE], updated_after=_ts(now - RUN_LOOKBACK_S)),
        limit=200)
    found = []
    for rec in records:
        run = rec.dagster_run
        if run.run_id in state.judged_runs or run.job_name == LOGGER_JOB:
            continue
        ended = rec.end_time or rec.update_timestamp.timestamp()
        verdict = run.tags.get(WILL_RETRY_TAG)
        if verdict == "true" and (AUTO_RETRY_RUN_ID_TAG in run.tags
                                  or now - ended < RETRY_LAUNCH_WAIT_S):
            continue  # its retry's outcome counts
        if verdict is None and instance.run_retries_enabled and now - ended < RETRY_VERDICT_WAIT_S:
            continue  # Dagster has not said yet whether it retries this run
        found += run_problems(instance, run, ended, assets)
        state.judge_run(run.run_id, ended)
    return found


def materialized_after(instance: dg.DagsterInstance, asset: str, day: str,
                       after: float) -> Recovery | None:
    records = instance.fetch_materializations(dg.AssetRecordsFilter(
        asset_key=dg.AssetKey.from_user_string(asset), asset_partitions=[day] if day else None,
        after_timestamp=after), limit=1).records
    if not records:
        return None
    rec = records[0]
    return Recovery(f"{asset} {day} materialized".replace("  ", " "), rec.timestamp, rec.run_id)


def later_success(instance: dg.DagsterInstance, job: str, day: str,
                  after: float) -> Recovery | None:
    tags = {PARTITION_NAME_TAG: day} if day else None
    records = instance.get_run_records(dg.RunsFilter(
        job_name=job, statuses=[dg.DagsterRunStatus.SUCCESS], created_after=_ts(after),
        tags=tags), limit=1)
    if not records:
        return None
    rec = records[0]
    return Recovery(f"a later run of {job} succeeded",
                    rec.end_time or rec.update_timestamp.timestamp(), rec.dagster_run.run_id)


# ---- checks ------------------------------------------------------------------------------------


def latest_evaluations(instance: dg.DagsterInstance, key: dg.AssetCheckKey,
                       limit: int, partition: str | None = None) -> dict[str, Any]:
    """The latest completed evaluation of each partition ("" unpartitioned) among the check's
    `limit` latest (of `partition` alone when given). `gmpsai status` reads them too."""
    history = instance.event_log_storage.get_asset_check_execution_history(
        key, limit=limit, status=COMPLETED,
        partition_filter=PartitionKeyFilter(key=partition) if partition else None)
    latest: dict[str, Any] = {}
    for rec in history:  # newest first
        latest.setdefault(rec.partition or "", rec)
    return latest


def failed_checks(instance: dg.DagsterInstance, keys: Iterable[dg.AssetCheckKey],
                  now: float) -> list[Problem]:
    """ERROR checks whose latest evaluation of a day (of the last week) failed."""
    found = []
    for key in keys:
        for day, rec in latest_evaluations(instance, key, CHECK_HISTORY).items():
            ev = rec.evaluation  # type: ignore[attr-defined]
            when = rec.event.timestamp  # type: ignore[attr-defined]
            if (ev is None or ev.passed or ev.severity != dg.AssetCheckSeverity.ERROR
                    or when < now - RUN_LOOKBACK_S):
                continue
            found.append(Problem(Kind.CHECK_FAILED, key.to_user_string(), day,
                                 f"check {key.name} of {key.asset_key.to_user_string()} failed "
                                 "(ERROR)", ev.description or "no description", when,
                                 rec.run_id, "check"))  # type: ignore[attr-defined]
    return found


def check_passed(instance: dg.DagsterInstance, subject: str, day: str) -> Recovery | None:
    key = dg.AssetCheckKey.from_user_string(subject)
    rec = latest_evaluations(instance, key, 1, day or None).get(day)
    if rec is None or rec.evaluation is None or not rec.evaluation.passed:  # type: ignore[attr-defined]
        return None
    return Recovery(f"check {key.name} passed", rec.event.timestamp,  # type: ignore[attr-defined]
                    rec.run_id)  # type: ignore[attr-defined]


# ---- freshness ---------------------------------------------------------------------------------


def overdue(instance: dg.DagsterInstance, keys: Iterable[dg.AssetCheckKey]) -> list[Problem]:
    """Assets whose latest freshness check failed: the day due at the deadline is missing."""
    found = []
    for key in keys:
        rec = latest_evaluations(instance, key, 1).get("")
        if rec is None or rec.evaluation is None or rec.evaluation.passed:  # type: ignore[attr-defined]
            continue
        ev = rec.evaluation  # type: ignore[attr-defined]
        tick = ev.metadata.get("dagster/latest_cron_tick_timestamp")
        deadline = float(tick.value) if tick is not None else rec.event.timestamp  # type: ignore[attr-defined]
        asset = key.asset_key.to_user_string()
        found.append(Problem(
            Kind.OVERDUE, asset, due_day(deadline).isoformat(),
            f"{asset} was due by {format_local(deadline)} (GMPSAI_DEADLINES)",
            ev.description or "the freshness check failed", deadline,
            rec.run_id))  # type: ignore[attr-defined]
    return found


# ---- the timeline logger -----------------------------------------------------------------------


def logger_reason(instance: dg.DagsterInstance, last: float | None) -> tuple[str, str | None]:
    """Why the logger records nothing, from its runs; and the run to link."""
    recorded = (f"last supercycle recorded {format_local(last)}" if last
                else "no supercycle ever recorded")
    live = active_runs(instance)
    if live:
        run = live[0].dagster_run
        return (f"run {run.run_id} is {run.status.value} but records nothing ({recorded}); "
                "is the DataLogger reachable?", run.run_id)
    stopped = stopped_by_operator(instance)
    if stopped is not None:
        return (f"stopped on purpose: {stopped_line(instance, stopped)}; {recorded}; "
                f"{RESUME_HINT}", stopped.run_id)
    latest = instance.get_run_records(dg.RunsFilter(job_name=LOGGER_JOB), limit=1)
    if not latest:
        return (f"no run of {LOGGER_JOB} has ever started ({recorded}); are "
                "timeline_keepalive_sensor and the daemon running?", None)
    run = latest[0].dagster_run
    failure = [e.dagster_event.message or "" for e in instance.all_logs(
        run.run_id, of_type=dg.DagsterEventType.RUN_FAILURE) if e.dagster_event]
    why = f": {failure[-1]}" if failure and failure[-1] else ""
    return (f"no run of {LOGGER_JOB} in progress; the last one, {run.run_id}, ended "
            f"{run.status.value}{why} ({recorded}); are the timeline sensors running?",
            run.run_id)


def logger_down(instance: dg.DagsterInstance, last: float | None, state: State, now: float,
                down_min: float) -> Problem | None:
    # Down counts from the last record, but not from before alerts were watching: switched on
    # after a long outage, they tell it once the limit has passed.
    since = max(last or 0.0, state.watching_since)
    if now - since <= down_min * 60:
        return None
    reason, run_id = logger_reason(instance, last)
    return Problem(Kind.LOGGER_DOWN, LOGGER_JOB, to_local(since).date().isoformat(),
                   f"the timeline logger has recorded nothing for more than {down_min:g} min "
                   "(GMPSAI_ALERT_LOGGER_DOWN_MIN)", reason, since, run_id, "job")


def logger_back(instance: dg.DagsterInstance, last: float | None,
                since: float) -> Recovery | None:
    if last is None or last <= since:
        return None
    live = active_runs(instance)
    run_id = live[0].dagster_run.run_id if live else None
    return Recovery("the timeline logger records again", last, run_id)


def _last_recorded() -> tuple[float | None, str | None]:
    """(when the newest supercycle was recorded, None) or (None, why the store is unreadable)."""
    try:
        path = Settings.from_env().timeline_db_path
        return TimelineStore(path, lock_timeout_s=STORE_LOCK_S).last_recorded(), None
    except (SettingsError, TimelineStoreError, OSError) as exc:
        return None, str(exc)


# ---- one look ----------------------------------------------------------------------------------


def look(instance: dg.DagsterInstance, graph: dg.AssetGraph | None, state: State,
         now: float, down_min: float) -> tuple[list[Problem], dict[str, Recovery], list[str]]:
    """Every problem seen now (recovered ones left out), every open incident put right, and
    what could not be judged this tick."""
    assets = _asset_names(graph)
    check_keys = list(graph.asset_check_keys) if graph else []
    fresh_keys = [k for k in check_keys if k.name == CHECK_NAME]
    other_keys = [k for k in check_keys if k.name != CHECK_NAME]
    unknown: list[str] = []
    last, why = _last_recorded()
    if why:
        unknown.append(f"timeline logger not judged: {why}")

    def recovery(p: Problem) -> Recovery | None:
        if p.kind == Kind.RUN_FAILED:
            if p.subject in assets:
                return materialized_after(instance, p.subject, p.day, p.since)
            return later_success(instance, p.subject, p.day, p.since)
        if p.kind == Kind.CHECK_FAILED:
            return check_passed(instance, p.subject, p.day)
        if p.kind == Kind.OVERDUE:
            partitioned = graph is not None and graph.get(
                dg.AssetKey.from_user_string(p.subject)).partitions_def is not None
            return materialized_after(instance, p.subject, p.day if partitioned else "",
                                      0.0 if partitioned else p.since)
        if why:
            return None
        return logger_back(instance, last, p.since)

    seen = failed_runs(instance, state, now, assets)
    seen += failed_checks(instance, other_keys, now)
    seen += overdue(instance, fresh_keys)
    if not why:
        down = logger_down(instance, last, state, now, down_min)
        seen += [down] if down else []
    problems = [p for p in seen if p.key in state.open or recovery(p) is None]
    recovered = {key: r for key, inc in state.open.items()
                 if (r := recovery(inc.problem)) is not None}
    return problems, recovered, unknown


def tick(instance: dg.DagsterInstance, graph: dg.AssetGraph | None, cursor: str | None,
         now: float | None = None) -> tuple[str, str]:
    """One tick: (the new cursor, what happened in one line)."""
    urls = read_setting("GMPSAI_ALERT_URLS")
    if not urls:
        return cursor or "", HOW_TO_SWITCH_ON
    now = time.time() if now is None else now
    state = State.from_cursor(cursor, now)
    state.forget_old_runs(now)
    problems, recovered, unknown = look(instance, graph, state, now,
                                        read_setting("GMPSAI_ALERT_LOGGER_DOWN_MIN"))
    new = step(state, problems, recovered, now, read_setting("GMPSAI_UI_URL"))
    known = targets(urls)
    state.enqueue(new, [t.id for t in known])
    state.outbox, done = deliver(state.outbox, known)
    said = [f"{len(state.open)} open incident(s)", f"{len(new)} new message(s)",
            f"{done.sent} delivered", f"{done.waiting} waiting"]
    return state.to_cursor(), "; ".join(said + list(done.errors[:3]) + unknown)


@dg.sensor(
    name=SENSOR_NAME,
    minimum_interval_seconds=SENSOR_S,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "Tells people (`GMPSAI_ALERT_URLS`: mail, Slack, Mattermost, Teams, JSON webhooks) "
        "when a run failed after its retries, an ERROR check failed, a day is overdue or the "
        "timeline logger stopped recording, and again when each recovers: one message per "
        "incident, never one per tick. Undelivered messages are retried on later ticks. Off "
        "while `GMPSAI_ALERT_URLS` is unset."
    ),
)
def alert_sensor(context: dg.SensorEvaluationContext) -> dg.SkipReason:
    graph = context.repository_def.asset_graph if context.repository_def else None
    cursor, said = tick(context.instance, graph, context.cursor)
    if cursor != (context.cursor or ""):
        context.update_cursor(cursor or None)
    return dg.SkipReason(said)
