"""Grab TCLK event occurrences over a window into one HDF5 file (the EventDataGrabber successor).

Events $00..--maxEvt are asked for; those that occurred get a group (Event0c) with UTC epoch
seconds and seconds into the supercycle. The window follows the old grabbers' rules: it ends at
--stopat (default: the most recent local midnight) and lasts --days/--hours/--minutes/--seconds
(default: one second) on the local wall clock (`--days 1` before a midnight is that whole local
day, 23 or 25 h on DST days), or starts at --startat. Times are Fermilab local time
(America/Chicago), written YYYY-MM-DD[+HH:MM:SS]. At most 31 days: longer ranges are
`gmpsai backfill`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from gmpsai_assets.acnet.tclk import EventCodeError, event_label, parse_event
from gmpsai_assets.cli.common import EXIT_FAILED, given, stderr_progress
from gmpsai_assets.cli.window_args import add_window_arguments, window_from_args
from gmpsai_assets.files.naming import EVENT_PREFIX, data_file_name
from gmpsai_assets.ingest.events import grab_events
from gmpsai_assets.preflight import max_event as configured_max_event
from gmpsai_assets.sources import open_timing
from gmpsai_assets.status import DeviceStatus

NAME = "grab-events"
HELP = "grab TCLK event occurrences over a window into one HDF5 file"


def _event_code(text: str) -> int:
    try:
        return parse_event(text)
    except EventCodeError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("-v", "--verbose", action="store_true", help="print progress per event")
    p.add_argument("--dryrun", action="store_true",
                   help="print the window, events and file name; fetch and write nothing")
    add_window_arguments(p)
    p.add_argument("--maxEvt", dest="max_event", type=_event_code, metavar="HEX",
                   help="last event code to ask for, hex (default: $GMPSAI_MAX_EVENT or ff)")
    p.add_argument("-o", dest="first_only", action="store_true",
                   help="stop after the first event that yields data")
    p.add_argument("--draftdir", metavar="DIR",
                   help="where the file is written before publishing (default: <data dir>/drafts)")
    p.add_argument("--outdir", metavar="DIR", help="output directory (default: <data dir>/events)")


def run(args: argparse.Namespace) -> int:
    for option in ("outdir", "draftdir"):
        given(f"--{option}", getattr(args, option))
    settings = args.settings
    window = window_from_args(args)
    max_event = args.max_event
    if max_event is None:
        max_event = configured_max_event(settings)
    source = open_timing(settings)
    outdir = Path(args.outdir) if args.outdir else settings.events_dir
    draftdir = Path(args.draftdir) if args.draftdir else settings.drafts_dir
    if args.dryrun:
        source.close()
        print(f"window  {window.describe()}")
        print(f"source  {source.source}, node {source.node}")
        print(f"events  {event_label(0)}..{event_label(max_event)}")
        print(f"file    {outdir / data_file_name(EVENT_PREFIX, source.node, window, None)}")
        return 0
    progress = stderr_progress(args.verbose)
    if progress:
        progress(f"window {window.describe()}")
    try:
        result = grab_events(
            source, window, outdir, draftdir, max_event=max_event, first_only=args.first_only,
            progress=progress,
        )
    finally:
        source.close()
    failed = [event_label(e) for e in result.events_with(DeviceStatus.FAILED)]
    found = result.events_with(DeviceStatus.OK)
    headers = ", ".join(f"{n} in {k} replies" for n, k in result.header_lines.items())
    print(
        f"{result.path} ({result.bytes} bytes, {result.rows} occurrences; "
        f"{len(found)} events found{': ' + ' '.join(map(event_label, found)) if found else ''}; "
        f"{len(failed)} failed{': ' + ' '.join(failed) if failed else ''}"
        f"{'; event_log header lines: ' + headers if headers else ''})"
    )
    return EXIT_FAILED if failed else 0
