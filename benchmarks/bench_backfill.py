"""A 30-day backfill of `param_data` on the simulated source, the way `gmpsai backfill` runs it
(one Dagster run per day in a real on-disk instance).

Figures beside floors from the same run: the median time per partition inside the backfill
against one partition materialized alone, and against the core work with no Dagster at all
(grab_params for the same day), which together give Dagster's overhead per partition.
Default: 5 devices; `--full` uses all 47 (about 11 s per day).
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import Row, print_table

FIRST = dt.date(2026, 1, 1)
DAYS = 30


def main() -> None:
    full = "--full" in sys.argv
    tmp = Path(tempfile.mkdtemp(prefix="bench_backfill_"))
    home = tmp / "dagster_home"
    home.mkdir()
    shutil.copy(Path(__file__).resolve().parents[1] / "dagster.yaml", home)
    os.environ.update(DAGSTER_HOME=str(home), GMPSAI_DATA_DIR=str(tmp / "data"))
    from gmpsai_assets.acnet.devices import load_device_list

    devices = [e.device for e in load_device_list()][: 47 if full else 5]
    plist = tmp / "list.txt"
    plist.write_text("".join(f"MLrn {d}\n" for d in devices))
    os.environ["GMPSAI_PARAM_LIST"] = str(plist)

    import dagster as dg

    from gmpsai_assets.cli.materialize_day import instance
    from gmpsai_assets.definitions import defs
    from gmpsai_assets.defs.param_data import param_data
    from gmpsai_assets.ingest.params import grab_params
    from gmpsai_assets.sim.simulator import SimulatedBooster
    from gmpsai_assets.window import day_window

    def run_day(day: dt.date, inst: dg.DagsterInstance) -> dg.ExecuteInProcessResult:
        return dg.materialize([param_data], partition_key=day.isoformat(),
                              resources=defs.resources, instance=inst)

    try:
        inst = instance()
        core = []
        for i in range(3):  # the work itself, no Dagster
            day = FIRST - dt.timedelta(days=10 + i)
            began = time.perf_counter()
            grab_params(SimulatedBooster(), devices, day_window(day), tmp / "core", tmp / "d")
            core.append(time.perf_counter() - began)
        single = []
        for i in range(3):  # one partition alone, through Dagster
            began = time.perf_counter()
            assert run_day(FIRST - dt.timedelta(days=1 + i), inst).success
            single.append(time.perf_counter() - began)
        per_day = []
        began_all = time.perf_counter()
        for i in range(DAYS):
            began = time.perf_counter()
            assert run_day(FIRST + dt.timedelta(days=i), inst).success
            per_day.append(time.perf_counter() - began)
        total = time.perf_counter() - began_all
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    rows = [
        Row("backfill: median time per partition", statistics.median(per_day),
            statistics.median(single), "s", "one partition alone", ""),
        Row("backfill: whole 30 days / 30", total / DAYS, statistics.median(single), "s",
            "one partition alone", ""),
        Row("one partition through Dagster", statistics.median(single),
            statistics.median(core), "s", "grab_params, no Dagster", ""),
    ]
    print_table(f"{DAYS}-day backfill of param_data, {len(devices)} devices", rows)
    overhead = statistics.median(single) - statistics.median(core)
    print(f"Dagster overhead per partition: {overhead:.2f} s (median single run - median core)")


if __name__ == "__main__":
    main()
