"""File statistics of a full simulated day of all listed devices (issue 5).

Figures, each beside a floor measured in the same run:
- `distill_file` on the new-format file against reading the same datasets with bare h5py
  (target at most 2x): what the statistics cost on top of getting the data off disk;
- the same plus the SHA-256 and the DuckDB write (`distill_into_store`);
- the old approach (pandas `read_hdf` + pandas mode/std/min/max of values and intervals per key,
  as DistillFileStatsToDB did) on the same data written the old way, against ours on that file
  and ours on the new file.
`--quick` uses 8 devices instead of 47. The old-format file is uncompressed (~1.5 GB for 47).
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import h5py
import numpy as np
import pandas as pd

from benchmarks.common import Row, interleaved_medians, print_table
from gmpsai_assets.acnet.devices import load_device_list
from gmpsai_assets.files import legacy
from gmpsai_assets.ingest.params import grab_params
from gmpsai_assets.sim.simulator import SimulatedBooster
from gmpsai_assets.stats.distill import distill_file, distill_into_store
from gmpsai_assets.window import day_window

DAY = "2020-03-10"


def _cpu(fn: Callable[[], object]) -> float:
    """CPU seconds of this process (all threads) spent in `fn`: the work, whatever the load."""
    began = time.process_time()
    fn()
    return time.process_time() - began


def _bare_h5py(path: Path) -> None:
    with h5py.File(path, "r") as f:
        for name in f:
            f[name]["utc_seconds"][()]
            f[name]["value"][()]


def _old_approach(path: Path) -> dict[str, tuple[float, ...]]:
    """DistillFileStatsToDB's per-key work, without its plots and sqlite writes."""
    out = {}
    with pd.HDFStore(str(path), mode="r") as store:
        keys = [k.lstrip("/") for k in store.keys()]  # noqa: SIM118 - HDFStore, not a dict
    for key in keys:
        tempdf = pd.read_hdf(path, key)
        valdf, timedeltas = tempdf["value"], tempdf["utc_seconds"].diff()
        out[key] = (valdf.mode()[0], valdf.std(), valdf.min(), valdf.max(),
                    timedeltas.mode()[0], timedeltas.std(), timedeltas.min(), timedeltas.max())
    return out


def _write_old_format(new_file: Path, old_file: Path) -> None:
    with h5py.File(new_file, "r") as f:
        for name in f:
            legacy.write_legacy_params(
                old_file, {name: (f[name]["utc_seconds"][()], f[name]["value"][()])})


def main() -> None:
    quick = "--quick" in sys.argv
    n = 8 if quick else 47
    repeat = 3
    old_repeat = 3 if quick else 1
    devices = [e.device for e in load_device_list()][:n]
    tmp = Path(tempfile.mkdtemp(prefix="bench_stats-"))
    try:
        t0 = time.perf_counter()
        new_file = grab_params(SimulatedBooster(), devices, day_window(DAY), tmp / "params",
                               tmp / "drafts").path
        old_file = tmp / new_file.name
        _write_old_format(new_file, old_file)
        print(f"prepared {n} devices x 1 day: new {new_file.stat().st_size / 1e6:.0f} MB, "
              f"old format {old_file.stat().st_size / 1e6:.0f} MB "
              f"({time.perf_counter() - t0:.0f} s)", flush=True)

        db = tmp / "gmpsai.duckdb"
        floor, ours, stored = interleaved_medians([
            lambda: _bare_h5py(new_file),
            lambda: distill_file(new_file, checksum=False),
            lambda: distill_into_store(new_file, db),
        ], repeat)
        cpu_floor, cpu_ours = (_cpu(lambda: _bare_h5py(new_file)),
                               _cpu(lambda: distill_file(new_file, checksum=False)))
        kept: dict[str, dict[str, tuple[float, ...]]] = {}
        old, ours_old = interleaved_medians([
            lambda: kept.update(reference=_old_approach(old_file)),
            lambda: distill_file(old_file, checksum=False),
        ], old_repeat)

        # Same numbers as the old tool? (mode/std/min/max of values and of intervals)
        reference = kept["reference"]
        result = distill_file(new_file, checksum=False)
        if reference:
            worst = max(
                abs(a - b) / max(abs(b), 1e-300)
                for p in result.params
                for a, b in zip((p.mode, p.std, p.min, p.max, p.interval_mode, p.interval_std,
                                 p.interval_min, p.interval_max), reference[p.device],
                                strict=True)
            )
            print(f"largest relative difference to the old tool's numbers: {worst:.2e}")
        rows_total = sum(p.rows for p in result.params)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    rows = [
        Row(f"stats, new file, {n} devices x 1 day", ours, floor, "s",
            "bare h5py read of the same datasets", "<= 2x"),
        Row("  + sha256 + DuckDB write (distill_into_store)", stored, floor, "s",
            "bare h5py read of the same datasets", ""),
        Row("  CPU seconds, all threads (one run)", cpu_ours, cpu_floor, "cpu s",
            "bare h5py read", ""),
        Row("stats, old-format file (our pandas reader)", ours_old, old, "s",
            "old approach: read_hdf + pandas stats", ""),
        Row("stats, new file", ours, old, "s", "old approach: read_hdf + pandas stats", ""),
        Row("rows per second, new file (millions)", rows_total / ours / 1e6,
            rows_total / floor / 1e6, "M rows/s", "bare h5py read", ""),
    ]
    print_table(f"file statistics, {DAY}, medians of {repeat} (old-format figures: "
                f"{old_repeat})", rows)


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
