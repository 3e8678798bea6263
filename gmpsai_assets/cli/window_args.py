"""The old grabbers' window options, shared by `grab-params` and `grab-events`.

The window ends at --stopat (default: the most recent local midnight) and lasts
--days/--hours/--minutes/--seconds (default: one second); or it starts at --startat.
Times are Fermilab local time (America/Chicago), written YYYY-MM-DD[+HH:MM:SS].
"""

from __future__ import annotations

import argparse

from gmpsai_assets.cli.common import UsageError
from gmpsai_assets.window import Window, most_recent_midnight, parse_local_datetime


def add_window_arguments(p: argparse.ArgumentParser, startat: bool = True) -> None:
    p.add_argument("--stopat", metavar="TIME", help="window end, local (default: last midnight)")
    if startat:
        p.add_argument("--startat", metavar="TIME", help="window start, local")
    for unit in ("days", "hours", "minutes", "seconds"):
        p.add_argument(f"--{unit}", type=float, default=0.0, metavar="N",
                       help=f"window length in {unit}")


def window_from_args(args: argparse.Namespace, now: float | None = None) -> Window:
    """The old grabbers' rules: end at --stopat or last midnight, one second by default."""
    length = args.days * 86400 + args.hours * 3600 + args.minutes * 60 + args.seconds
    startat = getattr(args, "startat", None)
    if length < 0:
        raise UsageError("window length must not be negative")
    if startat and args.stopat and length:
        raise UsageError("give at most two of --startat, --stopat and a length")
    if startat:
        start = parse_local_datetime(startat)
        end = parse_local_datetime(args.stopat) if args.stopat else start + (length or 1.0)
        return Window(start, end)
    end = parse_local_datetime(args.stopat) if args.stopat else most_recent_midnight(now)
    return Window(end - (length or 1.0), end)
