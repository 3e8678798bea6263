"""The old grabbers' window options, shared by `grab-params` and `grab-events`.

The window ends at --stopat (default: the most recent local midnight) and lasts
--days/--hours/--minutes/--seconds (default: one second); or it starts at --startat and ends at
--stopat, at the last midnight, or after the given length. Times are Fermilab local time
(America/Chicago), written YYYY-MM-DD[+HH:MM:SS].

As in ParamDataGrabber and EventDataGrabber the length is subtracted on the local wall clock
(naive datetimes, whole seconds), so `--days 1` before a midnight is that whole local day, 23 or
25 hours on DST change days, and the gateway is asked for the same local strings the old tools
sent. A bound that falls in the hour skipped when DST starts does not exist and is refused.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math

from gmpsai_assets.cli.common import UsageError, given
from gmpsai_assets.window import (
    Window,
    WindowError,
    most_recent_midnight,
    parse_wall_datetime,
    to_local,
    wall_to_epoch,
)

MAX_DAYS = 31  # longer ranges are many daily partitions: `gmpsai backfill`
UNITS = ("days", "hours", "minutes", "seconds")
_TOO_LONG = (f"{{what}} is longer than {MAX_DAYS} days: one file per window that long is too "
             "big; use `gmpsai backfill --from YYYY-MM-DD --to YYYY-MM-DD` (one file per day)")


def add_window_arguments(p: argparse.ArgumentParser, startat: bool = True) -> None:
    p.add_argument("--stopat", metavar="TIME", help="window end, local (default: last midnight)")
    if startat:
        p.add_argument("--startat", metavar="TIME",
                       help="window start, local (then the length is counted from here)")
    for unit in UNITS:
        p.add_argument(f"--{unit}", type=float, default=0.0, metavar="N",
                       help=f"window length in {unit}, on the local wall clock")


def _wall(option: str, text: str | None) -> dt.datetime | None:
    """The naive local time an option gives, whole seconds as the old tools wrote them."""
    if given(f"--{option}", text) is None:
        return None
    return parse_wall_datetime(text).replace(microsecond=0)


def _length(args: argparse.Namespace) -> dt.timedelta:
    for unit in UNITS:
        value = getattr(args, unit)
        if not math.isfinite(value) or value < 0:
            raise UsageError(f"--{unit} must be a finite number >= 0, got {value:g}")
    seconds = sum(getattr(args, unit) * n for unit, n in zip(UNITS, (86400, 3600, 60, 1),
                                                               strict=True))
    if seconds > MAX_DAYS * 86400:
        raise UsageError(_TOO_LONG.format(what=f"a length of {seconds / 86400:g} days"))
    return dt.timedelta(seconds=seconds)


def window_from_args(args: argparse.Namespace, now: float | None = None) -> Window:
    """The old grabbers' window: local wall-clock arithmetic, one second by default."""
    length = _length(args)
    start = _wall("startat", getattr(args, "startat", None))
    stop = _wall("stopat", args.stopat)
    if start and stop and length:
        raise UsageError("give at most two of --startat, --stopat and a length")
    if start is None:
        stop = stop or to_local(most_recent_midnight(now)).replace(tzinfo=None)
        start = stop - (length or dt.timedelta(seconds=1))
    elif stop is None:
        stop = (start + length) if length else to_local(most_recent_midnight(now)).replace(
            tzinfo=None)
    start, stop = start.replace(microsecond=0), stop.replace(microsecond=0)
    if stop - start > dt.timedelta(days=MAX_DAYS):
        raise UsageError(_TOO_LONG.format(
            what=f"window {start:%Y-%m-%d+%H:%M:%S} to {stop:%Y-%m-%d+%H:%M:%S}"))
    try:
        return Window(wall_to_epoch(start), wall_to_epoch(stop))
    except WindowError as exc:
        raise WindowError(f"window {start:%Y-%m-%d+%H:%M:%S} to {stop:%Y-%m-%d+%H:%M:%S}: "
                          f"{exc}") from None
