"""The cycle table: one full simulated day of every listed device, and `scan` over 30 days.

Build (issue 14): `build_cycle_table` + `write_cycle_table` on a real day's parameter and event
files, against a floor measured in the same run: reading the same arrays with bare h5py plus
writing a polars table of the same shape (rows = the day's $0C, same columns) to Parquet (zstd),
under the heap settings the build uses (heap.py), so the ratio compares work.
Target: at most 1.6x the floor (issue 25; 2x before), peak memory under 2.5 GB (each in a fresh
process; the kernel's
peak RSS). Rounds are interleaved; medians.

Scan: `scan(start, end, 5 devices).collect()` over 30 days against a bare
`pl.scan_parquet(files).select(cols).collect()` of the same files. Target: at most 1.3x. The 30
days are hard links to the one built day under 30 dates (same bytes per day, no 30x disk).
`--quick`: 8 devices instead of 47.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import statistics
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from benchmarks.common import Row, print_table, run_child

DAY = "2026-03-10"
ROUNDS = 3

_OURS = textwrap.dedent("""
    import json, time
    from pathlib import Path
    from gmpsai_assets.dataset.table import build_cycle_table, write_cycle_table
    began = time.perf_counter()
    table = build_cycle_table(Path({param!r}), Path({events!r}))
    path = write_cycle_table(table, Path({out!r}), Path({drafts!r}))
    print(json.dumps({{"seconds": time.perf_counter() - began, "rows": table.frame.height,
                      "columns": table.frame.width, "bytes": path.stat().st_size}}))
""")

_FLOOR = textwrap.dedent("""
    import json, os, time
    import h5py, hdf5plugin, numpy as np, polars as pl  # hdf5plugin: the files' Blosc2 filter
    from gmpsai_assets.heap import roomy_heap  # the build's heap settings, to be fair
    heap = roomy_heap()
    heap.__enter__()
    began = time.perf_counter()
    with h5py.File({events!r}) as f:
        ticks = f["Event0c"]["utc_seconds"][()]
        resets = [f[k]["utc_seconds"][()] for k in f if k.startswith("Event1")]
    n = ticks.size
    cols = {{"tick_utc": pl.Series((ticks * 1e6).astype(np.int64)).cast(pl.Datetime("us", "UTC")),
             "sc_start_utc": pl.Series((ticks * 1e6).astype(np.int64))
                             .cast(pl.Datetime("us", "UTC")),
             "sc_index": pl.Series(np.zeros(n, np.int32)),
             "reset_event": pl.Series(["$11"] * 1, dtype=pl.String).extend_constant("$11", n - 1),
             "beam_cycle": pl.Series(np.zeros(n, bool))}}
    with h5py.File({param!r}) as f:
        for d in f:
            f[d]["utc_seconds"][()]
            v = f[d]["value"][()]
            out = np.full(n, np.nan)
            out[:min(n, v.size)] = v[:n]
            cols[d] = pl.Series(d, out)
    pl.DataFrame(cols).write_parquet({target!r}, compression="zstd")
    seconds = time.perf_counter() - began
    heap.__exit__(None, None, None)
    os.remove({target!r})
    print(json.dumps({{"seconds": seconds}}))
""")


def _make_day(root: Path, n_devices: int) -> tuple[Path, Path]:
    from gmpsai_assets.acnet.devices import load_device_list
    from gmpsai_assets.ingest.events import grab_events
    from gmpsai_assets.ingest.params import grab_params
    from gmpsai_assets.sim.simulator import SimulatedBooster
    from gmpsai_assets.window import day_window

    sim, w = SimulatedBooster(), day_window(DAY)
    devices = [e.device for e in load_device_list()][:n_devices]
    began = time.perf_counter()
    p = grab_params(sim, devices, w, root / "params", root / "drafts").path
    e = grab_events(sim, w, root / "events", root / "drafts", max_event=0x1D).path
    print(f"(simulated {len(devices)} devices + events $00..$1D in "
          f"{time.perf_counter() - began:.0f} s)", flush=True)
    return p, e


def _scan_rounds(data: Path, devices: list[str]) -> tuple[float, float]:
    import polars as pl

    from gmpsai_assets.dataset import scan

    start = dt.date.fromisoformat(DAY)
    end = start + dt.timedelta(days=29)
    files = sorted((data / "cycles").glob("CycleTable_*.parquet"))
    fixed = ["tick_utc", "sc_start_utc", "sc_index", "reset_event", "beam_cycle"]

    def floor_run() -> tuple[int, int]:
        return pl.scan_parquet(files).select(fixed + devices).collect().shape

    def ours_run() -> tuple[int, int]:
        return scan(start, end, devices, data_dir=data).collect().shape

    # each result dropped before the next run (a 30-day frame is ~3 GB: one kept alive would
    # make the next run fault in fresh memory), and the order alternated between rounds
    times: dict[str, list[float]] = {"ours": [], "floor": []}
    shapes = set()
    for r in range(ROUNDS):
        runs = [("floor", floor_run), ("ours", ours_run)]
        for name, run in runs if r % 2 == 0 else runs[::-1]:
            t0 = time.perf_counter()
            shapes.add(run())
            times[name].append(time.perf_counter() - t0)
    assert len(shapes) == 1, shapes
    ours, floor = times["ours"], times["floor"]
    return statistics.median(ours), statistics.median(floor)


def main() -> None:
    quick = "--quick" in sys.argv
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        param, events = _make_day(root, 8 if quick else 47)
        data = root / "data"
        ours, floor = [], []
        for _ in range(ROUNDS):
            floor.append(run_child(_FLOOR.format(param=str(param), events=str(events),
                                                 target=str(root / "floor.parquet"))))
            ours.append(run_child(_OURS.format(param=str(param), events=str(events),
                                               out=str(data / "cycles"),
                                               drafts=str(data / "drafts"))))
        built = data / "cycles" / f"CycleTable_{DAY}.parquet"
        info = ours[-1]
        for i in range(1, 30):
            day = dt.date.fromisoformat(DAY) + dt.timedelta(days=i)
            os.link(built, built.with_name(f"CycleTable_{day.isoformat()}.parquet"))
        from gmpsai_assets.dataset.read import table_devices

        devices = table_devices(built)[:5]
        scan_ours, scan_floor = _scan_rounds(data, devices)
    o = statistics.median(r["seconds"] for r in ours)
    f = statistics.median(r["seconds"] for r in floor)
    peak = max(r["peak_mb"] for r in ours)  # each child's own (common.peak_rss_mb)
    floor_peak = max(r["peak_mb"] for r in floor)
    print(json.dumps({"rows": info["rows"], "columns": info["columns"],
                      "parquet_mb": round(info["bytes"] / 1e6, 1)}))
    print_table("cycle table (medians of interleaved rounds)", [
        Row("build one day (read + match + write)", o, f, "s",
            "bare h5py read + polars Parquet write, same heap", "<= 1.6x"),
        Row("peak memory of the build", peak, floor_peak, "MB", "the floor's peak",
            "< 2500 MB"),
        Row("scan 5 devices x 30 days", scan_ours, scan_floor, "s",
            "pl.scan_parquet().select().collect()", "<= 1.3x"),
    ])


if __name__ == "__main__":
    main()
