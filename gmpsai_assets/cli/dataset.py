"""Extract the cycle table over a span of local days (or times) into one Parquet or CSV file,
optionally for chosen devices and resampled to a coarser time step.

--from/--to take a local date (YYYY-MM-DD: --to includes that whole day) or a local time
(YYYY-MM-DD+HH:MM[:SS], `T` or a space also accepted; --to excluded), America/Chicago. Every
day the span touches must have its table in <data dir>/cycles (GMPSAI_DATA_DIR), unless
--allow-missing, which lists the days that have none and goes on. With --every, rows are
buckets of that length (aligned to UTC multiples of it, so a step dividing an hour never crosses
midnight): `time_utc` (bucket start), `cycles` (rows in the bucket), then each device reduced
with --agg (nulls ignored; `last` = the last logged value). The output is written in the draft
directory and moved into place when complete.
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import sys
import tempfile
from pathlib import Path

import polars as pl

from gmpsai_assets.cli.common import UsageError
from gmpsai_assets.dataset.read import (
    MissingDaysError,
    ScanReport,
    UnknownDevicesError,
    scan,
    span_days,
    span_window,
)
from gmpsai_assets.dataset.table import TICK
from gmpsai_assets.files.drafts import drafted, ensure_writable_dir
from gmpsai_assets.window import Window, day_window

NAME = "dataset"
HELP = "extract the cycle table (15 Hz, one row per Booster cycle) over a span of days"
AGGS = ("mean", "min", "max", "last")
FORMATS = (".parquet", ".csv")
_EVERY_RE = re.compile(r"^(\d+)(ms|s|m|h)$")
_UNIT_US = {"ms": 1_000, "s": 1_000_000, "m": 60_000_000, "h": 3_600_000_000}
HOUR_US = 3_600_000_000


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--from", dest="start", required=True, metavar="DATE|TIME",
                   help="first local day (YYYY-MM-DD) or local time (YYYY-MM-DD+HH:MM[:SS])")
    p.add_argument("--to", dest="end", required=True, metavar="DATE|TIME",
                   help="last local day, included (YYYY-MM-DD), or a local time, excluded")
    p.add_argument("--devices", metavar="D1,D2",
                   help="comma-separated devices, in output order (default: every device)")
    p.add_argument("--every", metavar="STEP",
                   help="resample to buckets of STEP: 200ms, 1s, 10s, 1m, 1h (must divide 1h)")
    p.add_argument("--agg", choices=AGGS, help="reduce each device per bucket (default mean)")
    p.add_argument("--out", required=True, metavar="FILE",
                   help="output file, FILE.parquet (zstd) or FILE.csv")
    p.add_argument("--allow-missing", action="store_true",
                   help="go on when some days have no table (they are listed on stderr)")


def parse_every(text: str) -> int:
    """A resampling step in microseconds; it must divide an hour (never straddle midnight)."""
    m = _EVERY_RE.match(text.strip())
    if not m or int(m[1]) == 0:
        raise UsageError(f"--every must be a positive step such as 200ms, 1s, 1m or 1h, "
                         f"got {text!r}")
    step = int(m[1]) * _UNIT_US[m[2]]
    if HOUR_US % step:
        raise UsageError(f"--every {text} does not divide an hour (buckets would cross midnight)")
    return step


def parse_devices(text: str | None) -> list[str] | None:
    if text is None:
        return None
    devices = [d.strip() for d in text.split(",")]
    if not all(devices):
        raise UsageError(f"--devices has an empty name: {text!r}")
    return devices


def resample(frame: pl.LazyFrame, step_us: int, agg: str) -> pl.LazyFrame:
    """Buckets of `step_us` starting at UTC multiples of it: start, row count, reduced devices."""
    devices = [c for c in frame.collect_schema() if c not in
               ("tick_utc", "sc_start_utc", "sc_index", "reset_event", "beam_cycle")]
    reduce = {
        "mean": lambda c: pl.col(c).mean(),
        "min": lambda c: pl.col(c).min(),
        "max": lambda c: pl.col(c).max(),
        "last": lambda c: pl.col(c).drop_nulls().last(),
    }[agg]
    return (
        frame.group_by_dynamic(TICK, every=f"{step_us}us")
        .agg(pl.len().cast(pl.Int32).alias("cycles"), *[reduce(d).alias(d) for d in devices])
        .rename({TICK: "time_utc"})
    )


def _pieces(window: Window) -> list[tuple[dt.date, Window]]:
    """The span cut at local midnights: one piece per day, for progress and bounded memory."""
    out = []
    for day in span_days(window):
        w = day_window(day)
        out.append((day, Window(max(w.start, window.start), min(w.end, window.end))))
    return out


def _utc(epoch: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(epoch, tz=dt.UTC)


def run(args: argparse.Namespace) -> int:
    window = span_window(args.start, args.end)
    devices = parse_devices(args.devices)
    out = Path(args.out)
    if out.suffix.lower() not in FORMATS:
        raise UsageError(f"--out must end in .parquet or .csv, got {out.name!r}")
    if args.agg and not args.every:
        raise UsageError("--agg needs --every")
    step = parse_every(args.every) if args.every else None
    agg = args.agg or "mean"
    settings = args.settings
    report = ScanReport()
    try:
        scan(args.start, args.end, devices, report=report)
    except UnknownDevicesError as exc:
        raise UsageError(str(exc)) from None
    if report.missing:
        days = ", ".join(d.isoformat() for d in report.missing)
        if not args.allow_missing:
            raise MissingDaysError(f"no cycle table for {days} in {settings.cycles_dir} "
                                   "(--allow-missing goes on without them)")
        print(f"no table for {len(report.missing)} day(s): {days}", file=sys.stderr)
    pieces = [(d, w) for d, w in _pieces(window) if d in set(report.days)]
    if not pieces:
        raise UsageError("no day of the span has a cycle table")
    ensure_writable_dir(out.resolve().parent, "output directory")
    rows = 0
    with drafted(out.resolve(), settings.drafts_dir) as draft, \
            tempfile.TemporaryDirectory(dir=ensure_writable_dir(settings.drafts_dir,
                                                                "draft directory")) as parts:
        part_files = []
        for i, (day, piece) in enumerate(pieces, start=1):
            frame = scan(_utc(piece.start), _utc(piece.end), devices)
            if step is not None:
                frame = resample(frame, step, agg)
            part = frame.collect()
            rows += part.height
            if out.suffix.lower() == ".csv":
                with open(draft, "ab") as fh:
                    part.write_csv(fh, include_header=(i == 1))
            else:
                part_files.append(Path(parts) / f"{i:06d}.parquet")
                part.write_parquet(part_files[-1], compression="zstd")
            if len(pieces) > 1:
                print(f"[{i}/{len(pieces)}] {day}: {part.height} rows", file=sys.stderr)
        if part_files:
            pl.scan_parquet(part_files).sink_parquet(draft, compression="zstd")
    columns = len(part.columns)
    print(f"wrote {rows} rows x {columns} columns ({pieces[0][0]}..{pieces[-1][0]}) to {out}")
    return 0
