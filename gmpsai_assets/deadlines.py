"""When each day's data is due: the deadline of every daily asset, in Fermilab local time.

A deadline `HH:MM` of an asset means: the local day D is due by HH:MM on day D+1. Past it, the
day is overdue until it is materialized. The Dagster freshness checks (defs/freshness.py), the
alert sensor (defs/alerts.py) and `gmpsai status` all judge by this one table; the setting
`GMPSAI_DEADLINES` overrides single entries (`param_data=02:30`), and the rest keep the defaults
below. The defaults leave each step about two hours after the schedule or automation that
makes it: the timeline export runs at 00:20, the parameter grab at 01:00, the event grab at
02:01, statistics and the cycle table follow both grabs, and the page follows the statistics.

Nothing here imports Dagster or the rest of the package, so settings.py can parse the setting.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

# Same zone as the daily partitions (window.FERMILAB_TZ; not imported, to keep this a leaf).
TIMEZONE = "America/Chicago"
_TZ = ZoneInfo(TIMEZONE)

DEFAULT_DEADLINES: dict[str, dt.time] = {
    "timeline_records": dt.time(1, 0),
    "param_data": dt.time(3, 0),
    "event_data": dt.time(4, 0),
    "file_stats": dt.time(5, 0),
    "cycle_table": dt.time(5, 0),
    "published_json": dt.time(5, 30),
}


class DeadlineError(ValueError):
    """A deadline text that cannot be used (settings.py names the variable)."""


@dataclass(frozen=True)
class Deadlines:
    """Every daily asset's deadline (local wall time on the day after the day it is due for)."""

    items: tuple[tuple[str, dt.time], ...]

    def of(self, asset: str) -> dt.time:
        return dict(self.items)[asset]

    @property
    def assets(self) -> list[str]:
        return [name for name, _ in self.items]

    def cron(self, asset: str) -> str:
        """The deadline as a daily cron string (minute hour * * *), for Dagster's checks."""
        t = self.of(asset)
        return f"{t.minute} {t.hour} * * *"

    def __str__(self) -> str:
        return ",".join(f"{name}={t:%H:%M}" for name, t in self.items)


DEFAULTS = Deadlines(tuple(DEFAULT_DEADLINES.items()))


def _time(text: str, item: str) -> dt.time:
    hours, sep, minutes = text.partition(":")
    if not (sep and hours.isdigit() and minutes.isdigit() and len(minutes) == 2
            and int(hours) < 24 and int(minutes) < 60):
        raise DeadlineError(f"{item!r} is not ASSET=HH:MM with a time 00:00..23:59")
    return dt.time(int(hours), int(minutes))


def parse_deadlines(text: str) -> Deadlines:
    """`asset=HH:MM` items separated by commas, each replacing that asset's default."""
    table = dict(DEFAULT_DEADLINES)
    seen: set[str] = set()
    for item in (i.strip() for i in text.split(",")):
        if not item:
            continue
        name, sep, when = (part.strip() for part in item.partition("="))
        if not sep:
            raise DeadlineError(f"{item!r} is not ASSET=HH:MM")
        if name not in table:
            raise DeadlineError(f"{name!r} is not a daily asset (one of {', '.join(table)})")
        if name in seen:
            raise DeadlineError(f"{name} is given twice")
        seen.add(name)
        table[name] = _time(when, item)
    return Deadlines(tuple(table.items()))


def due_at(day: dt.date, at: dt.time) -> float:
    """The moment (epoch s) local day `day` is due for an asset whose deadline is `at`: `at` on
    the day after it; from then on the day is overdue until it exists."""
    return dt.datetime.combine(day + dt.timedelta(days=1), at, tzinfo=_TZ).timestamp()


def latest_deadline(at: dt.time, now: float) -> float:
    """The most recent moment (epoch s) at or before `now` when the local clock read `at`."""
    today = dt.datetime.fromtimestamp(now, _TZ).date()
    for day in (today, today - dt.timedelta(days=1)):
        moment = dt.datetime.combine(day, at, tzinfo=_TZ).timestamp()
        if moment <= now:
            return moment
    raise AssertionError("unreachable: yesterday's deadline is always past")


def due_day(deadline: float) -> dt.date:
    """The local day that was due at the deadline moment `deadline`: the day before it."""
    return dt.datetime.fromtimestamp(deadline, _TZ).date() - dt.timedelta(days=1)


def expected_day(at: dt.time, now: float) -> dt.date:
    """The newest day that must exist by `now` for an asset whose deadline is `at`."""
    return due_day(latest_deadline(at, now))


def overdue_day(at: dt.time, newest: dt.date | None, now: float) -> dt.date | None:
    """The day that is overdue (the expected day, when the newest complete day is older or there
    is none), else None."""
    expected = expected_day(at, now)
    return expected if newest is None or newest < expected else None
