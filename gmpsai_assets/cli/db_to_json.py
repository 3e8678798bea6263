"""Write the statistics history as the old plotly figure JSON (the DB_to_JSON successor).

Reads the statistics database's ACNETparameterStats view (distilled files, plus anything
imported from an old GMPSAI.db with `gmpsai import-legacy-db`) and writes
StatsHistoryBoringHolyMoly.json: one grid row per device, five traces (max, mode+std, mode,
mode-std, min), x in UTC epoch seconds, exactly what the existing site loads. The file appears
atomically (draft + rename), so the site never reads half of it.

Devices: with -p, the devices of that list in its order (a device without statistics keeps an
empty row, as before); otherwise every device in the database, those of the configured list
first. -q (quick look, as the old tool): only the first --maxparams devices and the newest
--maxrows points of each. --site also writes the page (index.html and its data, see
`gmpsai serve-site`) beside the JSON, for the same devices.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import duckdb

from gmpsai_assets.acnet.devices import load_device_list
from gmpsai_assets.cli.common import UsageError
from gmpsai_assets.publish.figure import legacy_figure
from gmpsai_assets.publish.load import (
    day_stats,
    recorded_device_info,
    stat_points,
    store_problems,
)
from gmpsai_assets.publish.rich import device_order, site_document
from gmpsai_assets.publish.site import json_bytes, publish_site, write_atomic
from gmpsai_assets.stats import store

NAME = "db-to-json"
HELP = "write the statistics history as the old plotly figure JSON"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dbpath", metavar="PATH",
                   help="statistics database (default: $GMPSAI_STATS_DB or "
                        "<data dir>/gmpsai.duckdb); an old sqlite GMPSAI.db must first be "
                        "imported with `gmpsai import-legacy-db`")
    p.add_argument("-p", dest="paramfile", metavar="FILE",
                   help="device list (NODE DEVICE per line, as ParamList.txt): plot exactly "
                        "these devices in this order (default: every device in the database, "
                        "those of $GMPSAI_PARAM_LIST or the packaged list first)")
    p.add_argument("-v", dest="verbose", action="store_true",
                   help="print each device and its number of points on stderr")
    p.add_argument("-q", "--quick", action="store_true",
                   help="quick look: only the first --maxparams devices and the newest "
                        "--maxrows points of each")
    p.add_argument("--maxparams", type=int, default=2, metavar="N",
                   help="devices to write with -q (default: 2)")
    p.add_argument("--maxrows", type=float, default=1e2, metavar="N",
                   help="newest points per device to write with -q (default: 1E2)")
    p.add_argument("--outdir", metavar="DIR",
                   help="directory to write into (default: the current directory)")
    p.add_argument("-o", dest="outfilename", metavar="NAME",
                   help="output file name (default: $GMPSAI_PUBLISH_JSON_NAME or "
                        "StatsHistoryBoringHolyMoly.json)")
    p.add_argument("--site", action="store_true",
                   help="also write the page and its data into --outdir (what the "
                        "published_json asset writes)")


def _check_db(db: Path) -> None:
    if not db.is_file():
        raise UsageError(f"statistics database not found: {db}")


def run(args: argparse.Namespace) -> int:
    settings = args.settings
    if args.maxparams < 1 or not 1 <= args.maxrows < 1e12:
        raise UsageError("--maxparams and --maxrows must be at least 1 (and finite)")
    name = args.outfilename or settings.publish_json_name
    if not name or "/" in name or name.startswith("."):
        raise UsageError(f"-o wants a plain file name, got {name!r}")
    db = Path(args.dbpath) if args.dbpath else settings.stats_db_path
    _check_db(db)
    outdir = Path(args.outdir) if args.outdir else Path.cwd()
    listed = [e.device for e in load_device_list(args.paramfile or settings.param_list)]
    max_rows = int(args.maxrows) if args.quick else None
    try:
        if args.site:  # an older store gets the columns the page reads (publish/load.py)
            store.ensure_store(db, timeout_s=60.0)
        with store.reader(db, timeout_s=60.0) as con:
            points = stat_points(con, max_rows=max_rows)
            days = day_stats(con) if args.site else []
    except store.StoreError as exc:
        raise UsageError(str(exc)) from None
    except duckdb.Error as exc:
        first = str(exc).splitlines()[0]
        raise UsageError(f"{db} is not a gmpsai statistics database: {first}") from None
    present = {p.device for p in points} | {d.device for d in days}
    if args.paramfile:
        devices = listed
    else:
        devices = device_order([d for d in listed if d in present], present)
    if args.quick:
        devices = devices[: args.maxparams]
    figure = legacy_figure(devices, points)
    if args.verbose:
        counts = {d: 0 for d in devices}
        for p in points:
            if p.device in counts:
                counts[p.device] += 1
        for d, n in counts.items():
            print(f"  {d}: {n} points", file=sys.stderr)
    if args.site:
        document = site_document(days, devices, time.time(), settings.completeness_limits,
                                 store_problems(db), recorded_device_info(days))
        result = publish_site(outdir, settings.drafts_dir, figure, document, name)
        print(f"{result.legacy_json} ({len(devices)} devices)")
        print(f"{result.index} ({result.days} device-days, {result.bad_days} with problems)")
        return 0
    final = outdir / name
    data = json_bytes(figure)
    write_atomic(final, data, settings.drafts_dir)
    print(f"{final} ({len(devices)} devices, {len(data)} bytes)")
    return 0
