"""What is wrong now, on one screen: per daily asset its newest day and whether it is overdue
(GMPSAI_DEADLINES), the failed and warned checks of the last days, the timeline logger (running
since, last supercycle recorded, who stopped it when), the data directory's size and free space,
and drafts left by runs that ended. Reads the Dagster instance of $DAGSTER_HOME, never writes to
it. `--json` for scripts. The exit status is a monitor's verdict (see below), so cron, Icinga or
Check_MK can run the command as it is.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import sys
import time
import warnings
from functools import partial
from typing import TYPE_CHECKING, NoReturn

from gmpsai_assets.alerts.report import (
    AssetFacts,
    CheckFacts,
    DiskFacts,
    Facts,
    Level,
    LoggerFacts,
    as_json,
    exit_status,
    judge,
    render,
)
from gmpsai_assets.window import to_local

if TYPE_CHECKING:
    import dagster as dg

    from gmpsai_assets.settings import Settings

NAME = "status"
HELP = "what is wrong now: overdue days, failed checks, the timeline logger, disk, drafts"
EPILOG = (
    "exit status (monitoring-plugin convention, for cron, Icinga, Check_MK): 0 OK; 1 WARNING: "
    "a check warned, the timeline logger was stopped by a person, free space below 10%, stale "
    "drafts; 2 CRITICAL: a day overdue, an ERROR check failed, the timeline logger down, free "
    "space below 5%; 3 UNKNOWN: no instance to read (DAGSTER_HOME unset or unreadable), a bad "
    "setting or option (usage errors too, unlike the other gmpsai commands' 2)."
)
# main() (cli/__init__.py) returns this for a bad setting or a failure of the command itself.
ERROR_EXIT = int(Level.UNKNOWN)


def _usage_error(parser: argparse.ArgumentParser, message: str) -> NoReturn:
    print(f"{parser.prog}: error: {message} (see --help)", file=sys.stderr)
    raise SystemExit(int(Level.UNKNOWN))


def _days(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number of days: {text!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {n}")
    return n


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.error = partial(_usage_error, p)  # type: ignore[method-assign]
    p.add_argument("--days", type=_days, default=7, metavar="N",
                   help="list failed and warned checks of the last N days (default 7)")
    p.add_argument("--json", action="store_true", help="print JSON instead of the screen")


class NoInstance(Exception):
    """The Dagster instance cannot be read: the verdict is UNKNOWN."""


def open_instance() -> dg.DagsterInstance:
    """The instance of $DAGSTER_HOME; never an ephemeral one (it would say all is well)."""
    home = os.environ.get("DAGSTER_HOME")
    if not home:
        raise NoInstance("DAGSTER_HOME is not set: no Dagster instance to read")
    if not os.path.isabs(home) or not os.path.isdir(home) or not os.access(home, os.R_OK):
        raise NoInstance(f"DAGSTER_HOME {home!r} is not a readable absolute directory")
    if not os.path.isfile(os.path.join(home, "dagster.yaml")):  # opening would make one
        raise NoInstance(f"no dagster.yaml in DAGSTER_HOME {home}: not an instance")
    import dagster as dg

    try:
        return dg.DagsterInstance.get()
    except Exception as exc:  # a broken dagster.yaml, a database that cannot be opened
        raise NoInstance(f"the Dagster instance in {home} cannot be opened: "
                         f"{str(exc).strip().splitlines()[0] if str(exc).strip() else exc}"
                         ) from None


# ---- facts -------------------------------------------------------------------------------------


def asset_graph() -> dg.AssetGraph:
    """The code location's asset graph, without the warnings Dagster prints as it loads (a
    monitor mails whatever a check prints on stderr)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from gmpsai_assets.definitions import defs

        return defs.get_repository_def().asset_graph


def asset_facts(instance: dg.DagsterInstance, settings: Settings) -> list[AssetFacts]:
    import dagster as dg

    graph = asset_graph()
    found = []
    for name in settings.deadlines.assets:
        key = dg.AssetKey(name)
        partitioned = graph.get(key).partitions_def is not None
        newest, last = None, None
        if partitioned:
            days = instance.get_materialized_partitions(key)
            newest = max((dt.date.fromisoformat(d) for d in days), default=None)
        else:
            event = instance.get_latest_materialization_event(key)
            last = event.timestamp if event else None
        found.append(AssetFacts(name, settings.deadlines.of(name), partitioned, newest, last))
    return found


def check_facts(instance: dg.DagsterInstance, days: int, now: float) -> list[CheckFacts]:
    """Every check's latest evaluation of each day of the last `days` days (freshness checks
    aside: an overdue day is shown with its asset)."""
    import dagster as dg

    from gmpsai_assets.defs.alerts import latest_evaluations
    from gmpsai_assets.defs.freshness import CHECK_NAME

    first = (to_local(now).date() - dt.timedelta(days=days)).isoformat()
    found = []
    for key in asset_graph().asset_check_keys:
        if key.name == CHECK_NAME:
            continue
        for day, rec in latest_evaluations(instance, key, 10 * days).items():
            ev, at = rec.evaluation, rec.event.timestamp
            if ev is None or (day and day < first) or (not day and at < now - days * 86400):
                continue
            severity = "ERROR" if ev.severity == dg.AssetCheckSeverity.ERROR else "WARN"
            found.append(CheckFacts(key.to_user_string(), day, ev.passed, severity,
                                    " ".join((ev.description or "").split()), at))
    return found


def logger_facts(instance: dg.DagsterInstance, settings: Settings) -> LoggerFacts:
    from gmpsai_assets.defs.timeline import active_runs, how_stopped, stopped_by_operator
    from gmpsai_assets.timeline.store import TimelineStore

    last = TimelineStore(settings.timeline_db_path, lock_timeout_s=10.0).last_recorded()
    live = active_runs(instance)
    if live:
        rec = live[0]
        return LoggerFacts(rec.start_time or rec.create_timestamp.timestamp(),
                           rec.dagster_run.run_id, last)
    stopped = stopped_by_operator(instance)
    if stopped is None:
        return LoggerFacts(None, None, last)
    how, at = how_stopped(instance, stopped)
    return LoggerFacts(None, None, last, how, at, stopped.run_id)


def disk_facts(settings: Settings) -> DiskFacts:
    root = settings.data_dir
    used = 0
    for path in root.rglob("*") if root.is_dir() else []:
        try:
            if path.is_file() and not path.is_symlink():
                used += path.stat().st_size
        except OSError:
            continue  # removed while we walked
    usage = shutil.disk_usage(root if root.exists() else root.parent)
    return DiskFacts(str(root), used, usage.free, usage.total)


def stale_drafts(instance: dg.DagsterInstance, settings: Settings) -> list[str]:
    from gmpsai_assets.defs.ownership import run_has_ended
    from gmpsai_assets.files.drafts import DRAFT_SUFFIX, writer_gone

    drafts = settings.drafts_dir
    if not drafts.is_dir():
        return []
    ended = partial(run_has_ended, instance)
    return sorted(p.name for p in drafts.iterdir()
                  if p.name.endswith(DRAFT_SUFFIX) and writer_gone(p, ended))


def gather(instance: dg.DagsterInstance, settings: Settings, days: int,
           now: float | None = None) -> Facts:
    """Every fact; a part that cannot be read is named in `unknown` and the rest still shown."""
    now = time.time() if now is None else now
    unknown: list[str] = []

    def part(what: str, read, default):  # type: ignore[no-untyped-def]
        try:
            return read()
        except Exception as exc:  # one unreadable part must not hide the others
            unknown.append(f"{what}: {str(exc).strip().splitlines()[0] if str(exc) else exc}")
            return default

    return Facts(
        now=now, days=days, down_min=settings.alert_logger_down_min,
        assets=part("assets", lambda: asset_facts(instance, settings), []),
        checks=part("checks", lambda: check_facts(instance, days, now), []),
        logger=part("timeline logger", lambda: logger_facts(instance, settings), None),
        disk=part("data directory", lambda: disk_facts(settings), None),
        stale_drafts=part("drafts", lambda: stale_drafts(instance, settings), []),
        unknown=unknown,
    )


def run(args: argparse.Namespace) -> int:
    try:
        instance = open_instance()
    except NoInstance as exc:
        if args.json:
            print(json.dumps({"status": "UNKNOWN", "exit_status": 3, "findings": [
                {"level": "UNKNOWN", "text": str(exc)}]}))
        else:
            print(f"GMPSAI UNKNOWN: {exc}")
        return int(Level.UNKNOWN)
    try:
        facts = gather(instance, args.settings, args.days)
    finally:
        instance.dispose()
    findings = judge(facts)
    print(json.dumps(as_json(facts, findings), indent=1) if args.json
          else render(facts, findings))
    return int(exit_status(findings))

