"""Grab logged parameter data over a window into one HDF5 file (the ParamDataGrabber successor).

The window ends at --stopat (default: the most recent local midnight) and lasts
--days/--hours/--minutes/--seconds (default: one second), counted on the local wall clock as the
old grabber did (`--days 1` before a midnight is that whole local day, 23 or 25 h on DST days);
or it starts at --startat. Times are Fermilab local time (America/Chicago), written
YYYY-MM-DD[+HH:MM:SS]. At most 31 days: longer ranges are `gmpsai backfill`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from gmpsai_assets.acnet.devices import check_node_name, load_device_list
from gmpsai_assets.cli.common import EXIT_FAILED, UsageError, given, stderr_progress
from gmpsai_assets.cli.window_args import add_window_arguments, window_from_args
from gmpsai_assets.files.naming import PARAM_PREFIX, data_file_name
from gmpsai_assets.ingest.params import grab_params
from gmpsai_assets.sources import open_datalogger
from gmpsai_assets.status import DeviceStatus

__all__ = ["add_arguments", "run", "window_from_args"]

NAME = "grab-params"
HELP = "grab logged parameter data over a window into one HDF5 file"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("-v", "--verbose", action="store_true", help="print progress per device")
    p.add_argument("--dryrun", action="store_true",
                   help="print the window, devices and file name; fetch and write nothing")
    add_window_arguments(p)
    p.add_argument("--maxcount", type=int, metavar="N",
                   help="grab only the first N devices of the list")
    p.add_argument("--draftdir", metavar="DIR",
                   help="where the file is written before publishing (default: <data dir>/drafts)")
    p.add_argument("--outdir", metavar="DIR", help="output directory (default: <data dir>/params)")
    p.add_argument("--logger", metavar="NODE",
                   help="DataLogger node (default: $GMPSAI_LOGGER_NODE or MLrn)")
    p.add_argument("--paramfile", metavar="FILE",
                   help="device list, NODE DEVICE per line (default: $GMPSAI_PARAM_LIST or the "
                        "packaged team list)")


def run(args: argparse.Namespace) -> int:
    for option in ("logger", "paramfile", "outdir", "draftdir"):
        given(f"--{option}", getattr(args, option))
    node = None if args.logger is None else check_node_name(args.logger)
    settings = args.settings.with_overrides(logger_node=node)
    window = window_from_args(args)
    devices = [e.device for e in load_device_list(args.paramfile or settings.param_list)]
    if args.maxcount is not None:
        if args.maxcount < 1:
            raise UsageError("--maxcount must be at least 1")
        devices = devices[: args.maxcount]
    datalogger = open_datalogger(settings)
    outdir = Path(args.outdir) if args.outdir else settings.params_dir
    draftdir = Path(args.draftdir) if args.draftdir else settings.drafts_dir
    if args.dryrun:
        datalogger.close()
        name = data_file_name(PARAM_PREFIX, datalogger.node, window, None)
        print(f"window  {window.describe()}")
        print(f"source  {datalogger.source}, node {datalogger.node}")
        print(f"devices {len(devices)}: {' '.join(devices)}")
        print(f"file    {outdir / name}")
        return 0
    progress = stderr_progress(args.verbose)
    if progress:
        progress(f"window {window.describe()}")
    try:
        result = grab_params(datalogger, devices, window, outdir, draftdir, progress=progress)
    finally:
        datalogger.close()
    print(f"{result.path} ({result.bytes} bytes, {result.rows} rows; {result.summary()})")
    incomplete = result.devices_with(DeviceStatus.FAILED) + list(result.missing_spans())
    return EXIT_FAILED if incomplete else 0
