"""The judgement of `gmpsai status`: what is wrong now, one screen for a person and one exit
status for a monitor, by the monitoring-plugin convention (Nagios, Icinga, Check_MK): 0 OK,
1 WARNING, 2 CRITICAL, 3 UNKNOWN.

The facts are gathered by cli/status.py from the Dagster instance, the timeline store and the
data directory; this module judges them with the same deadline table as the freshness checks and
the alerts (gmpsai_assets/deadlines.py). Nothing here imports Dagster.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from enum import IntEnum

from gmpsai_assets.alerts.messages import duration
from gmpsai_assets.deadlines import expected_day, latest_deadline, overdue_day
from gmpsai_assets.window import format_local

# Free space of the data directory's file system below these shares: WARNING, CRITICAL.
FREE_WARN, FREE_CRITICAL = 0.10, 0.05
# An unpartitioned asset (published_json) is overdue when not updated in the day before its
# deadline: the rule of its Dagster freshness check (defs/freshness.py PUBLISHED_WITHIN).
UNPARTITIONED_WITHIN_S = 86400.0


class Level(IntEnum):
    """A finding's level; the worst one is the exit status."""

    OK = 0
    WARNING = 1
    CRITICAL = 2
    UNKNOWN = 3


@dataclass(frozen=True)
class AssetFacts:
    name: str
    deadline: dt.time
    partitioned: bool
    newest_day: dt.date | None = None  # partitioned: the newest day materialized
    last_update: float | None = None  # unpartitioned: when it was last materialized


@dataclass(frozen=True)
class CheckFacts:
    check: str  # asset:check
    day: str
    passed: bool
    severity: str  # ERROR or WARN
    description: str
    at: float


@dataclass(frozen=True)
class LoggerFacts:
    running_since: float | None  # start of the live run; None when none is
    run_id: str | None
    last_recorded: float | None
    stopped_by: str | None = None  # how a person stopped the logger's run (never a name)
    stopped_at: float | None = None
    stopped_run: str | None = None


@dataclass(frozen=True)
class DiskFacts:
    path: str
    data_bytes: int
    free_bytes: int
    total_bytes: int


@dataclass(frozen=True)
class Facts:
    now: float
    days: int
    down_min: float
    assets: list[AssetFacts]
    checks: list[CheckFacts]
    logger: LoggerFacts | None
    disk: DiskFacts | None
    stale_drafts: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)  # what could not be looked at, and why


@dataclass(frozen=True)
class Finding:
    level: Level
    text: str


def size(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"


def asset_overdue(a: AssetFacts, now: float) -> dt.date | None:
    """The day overdue for `a`, by the deadline table, else None."""
    if a.partitioned:
        return overdue_day(a.deadline, a.newest_day, now)
    deadline = latest_deadline(a.deadline, now)
    if a.last_update is None or a.last_update < deadline - UNPARTITIONED_WITHIN_S:
        return expected_day(a.deadline, now)
    return None


def judge(f: Facts) -> list[Finding]:
    """Every finding, worst first within each part, in screen order."""
    out: list[Finding] = []
    for a in f.assets:
        late = asset_overdue(a, f.now)
        have = (f"newest day {a.newest_day}" if a.partitioned and a.newest_day
                else f"last updated {format_local(a.last_update)}" if a.last_update
                else "never materialized")
        due = f"due {a.deadline:%H:%M}"
        if late:
            out.append(Finding(Level.CRITICAL, f"{a.name}: OVERDUE {late} ({have}; {due})"))
        else:
            out.append(Finding(Level.OK, f"{a.name}: {have} ({due})"))
    for c in sorted(f.checks, key=lambda c: (c.passed, c.severity != "ERROR", c.check, c.day)):
        if c.passed:
            continue
        level = Level.CRITICAL if c.severity == "ERROR" else Level.WARNING
        word = "FAILED" if c.severity == "ERROR" else "warned"
        out.append(Finding(level, f"check {c.check} {c.day}: {word}: {c.description}".replace(
            "  ", " ")))
    lg = f.logger
    if lg is not None:
        last = (f"last supercycle {format_local(lg.last_recorded)}" if lg.last_recorded
                else "nothing recorded yet")
        quiet = f.now - lg.last_recorded if lg.last_recorded else None
        down = quiet is None or quiet > f.down_min * 60
        if lg.running_since and not down:
            out.append(Finding(Level.OK, f"timeline logger: running since "
                                         f"{format_local(lg.running_since)}; {last}"))
        elif lg.stopped_by and not lg.running_since:
            out.append(Finding(Level.WARNING, (
                f"timeline logger: STOPPED by {lg.stopped_by} at "
                f"{format_local(lg.stopped_at) if lg.stopped_at else '?'} (run "
                f"{lg.stopped_run}); {last}")))
        else:
            state = (f"running since {format_local(lg.running_since)} (run {lg.run_id})"
                     if lg.running_since else "not running")
            silent = (f"recorded nothing for {duration(quiet)}; {last}" if quiet is not None
                      else last)
            out.append(Finding(Level.CRITICAL, f"timeline logger: DOWN: {state}; {silent}"))
    if f.disk is not None:
        d = f.disk
        share = d.free_bytes / d.total_bytes if d.total_bytes else 0.0
        level = (Level.CRITICAL if share < FREE_CRITICAL else Level.WARNING
                 if share < FREE_WARN else Level.OK)
        out.append(Finding(level, f"data directory {d.path}: {size(d.data_bytes)} used, "
                                  f"{size(d.free_bytes)} free ({share:.0%})"))
    if f.stale_drafts:
        names = ", ".join(f.stale_drafts[:5]) + (" ..." if len(f.stale_drafts) > 5 else "")
        out.append(Finding(Level.WARNING, f"{len(f.stale_drafts)} stale draft(s) of runs "
                                          f"that ended: {names} (housekeeping_job removes "
                                          "them)"))
    out += [Finding(Level.UNKNOWN, f"not looked at: {why}") for why in f.unknown]
    return out


def exit_status(findings: list[Finding]) -> Level:
    return max((x.level for x in findings), default=Level.OK)


def render(f: Facts, findings: list[Finding]) -> str:
    worst = exit_status(findings)
    lines = [f"GMPSAI {worst.name}: {sum(x.level > Level.OK for x in findings)} problem(s) "
             f"at {format_local(f.now)} (checks of the last {f.days} days)"]
    lines += [f"  {x.level.name:8s} {x.text}" for x in findings]
    return "\n".join(lines)


def as_json(f: Facts, findings: list[Finding]) -> dict[str, object]:
    def plain(v: object) -> object:
        if isinstance(v, dt.date | dt.time):
            return v.isoformat()
        if isinstance(v, dict):
            return {k: plain(x) for k, x in v.items()}
        if isinstance(v, list):
            return [plain(x) for x in v]
        return v

    return {
        "status": exit_status(findings).name,
        "exit_status": int(exit_status(findings)),
        "findings": [{"level": x.level.name, "text": x.text} for x in findings],
        "assets": [{**plain(asdict(a)), "overdue_day": plain(asset_overdue(a, f.now))}
                   for a in f.assets],
        "facts": plain({k: v for k, v in asdict(f).items() if k != "assets"}),
    }
