"""A full local day of all 256 TCLK event codes through `grab_events` / `event_data`.

Floor, same run: computing the same number of occurrence times straight from the tick clock
(one `tick_time` over as many ticks as the day has occurrences) and writing the grabbed arrays
with bare h5py (same filter). Also: the event_log time conversion (local wall clock -> UTC) of a
day of `$0C` against a bare numpy offset subtraction, and the tick cross-check against a bare
`searchsorted` of the same arrays. `--quick` runs one repeat instead of three.
"""

from __future__ import annotations

import sys
import textwrap

from benchmarks.common import Row, print_table, run_child

DAY = "2026-11-01"  # the 25-hour day: the largest a partition gets

_OURS = textwrap.dedent("""
    import json, tempfile, time
    from pathlib import Path
    from gmpsai_assets.sim.simulator import SimulatedBooster
    from gmpsai_assets.ingest.events import grab_events
    from gmpsai_assets.window import day_window
    tmp = Path(tempfile.mkdtemp())
    w = day_window("{day}")
    began = time.perf_counter()
    r = grab_events(SimulatedBooster(max_in_flight={n}), w, tmp / "o", tmp / "d")
    seconds = time.perf_counter() - began
    print(json.dumps({{"seconds": seconds, "bytes": r.bytes, "rows": r.rows,
                      "events": len(r.events_with("ok")), "path": str(r.path)}}))
""")

_FLOOR = textwrap.dedent("""
    import json, os, tempfile, time
    import h5py, numpy as np
    from gmpsai_assets.sim.clock import TickClock
    from gmpsai_assets.files.eventfile import list_events, read_event
    path = "{path}"
    arrays = [read_event(path, e) for e in list_events(path)]
    rows = sum(len(a) for a in arrays)
    clock = TickClock(20200310)
    began = time.perf_counter()
    t = clock.tick_time(np.arange(rows, dtype=np.int64) + 27_000_000_000)
    t = np.round(t * 1000.0) / 1000.0
    generate = time.perf_counter() - began
    out = os.path.join(tempfile.mkdtemp(), "floor.h5")
    began = time.perf_counter()
    from gmpsai_assets.files.h5common import COMPRESSION as filt
    with h5py.File(out, "w") as f:
        for a in arrays:
            g = f.create_group(f"Event{{a.event:02x}}")
            for name, d in (("utc_seconds", a.utc_seconds), ("sc_seconds", a.sc_seconds)):
                g.create_dataset(name, data=d, chunks=(min(65536, d.size),), **filt)
    write = time.perf_counter() - began
    print(json.dumps({{"seconds": generate + write, "generate": generate, "write": write,
                      "bytes": os.path.getsize(out)}}))
    os.remove(out)
""")

_ASSET = textwrap.dedent("""
    import json, os, tempfile, time
    import dagster as dg
    from gmpsai_assets.defs.event_data import event_data
    from gmpsai_assets.defs.resources import DataLoggerResource, StorageResource
    tmp = tempfile.mkdtemp()
    res = {{"datalogger": DataLoggerResource(source="simulated"),
           "storage": StorageResource(data_dir=os.path.join(tmp, "data"))}}
    began = time.perf_counter()
    r = dg.materialize([event_data], partition_key="{day}", resources=res)
    seconds = time.perf_counter() - began
    assert r.success
    meta = r.asset_materializations_for_node("event_data")[0].metadata
    print(json.dumps({{"seconds": seconds, "asset_seconds": meta["duration_s"].value}}))
""")

_CONVERT = textwrap.dedent("""
    import json, time
    import numpy as np
    from gmpsai_assets.sim.timing import SimulatedTiming
    from gmpsai_assets.quality.crosschecks import check_ticks_against_samples
    from gmpsai_assets.sim.simulator import SimulatedBooster
    from gmpsai_assets.window import day_window, local_wall_to_utc, to_local
    w = day_window("{day}")
    sim = SimulatedBooster()
    utc = sim.event_occurrences(0x0C, w).utc_seconds
    hours = np.floor(utc / 3600)
    u, inv = np.unique(hours, return_inverse=True)
    wall = utc + np.array([to_local(h * 3600).utcoffset().total_seconds() for h in u])[inv]
    def best(fn, n=5):
        out = []
        for _ in range(n):
            b = time.perf_counter(); fn(); out.append(time.perf_counter() - b)
        return sorted(out)[n // 2]
    convert = best(lambda: local_wall_to_utc(wall, w))
    bare = best(lambda: wall - 18000.0)
    samples = sim.fetch("B:VIMIN", w).utc_seconds
    check = best(lambda: check_ticks_against_samples(utc, samples, w))
    search = best(lambda: np.searchsorted(utc, samples))
    assert np.array_equal(local_wall_to_utc(wall, w), utc)
    print(json.dumps({{"convert": convert, "bare": bare, "check": check, "search": search,
                      "rows": int(utc.size)}}))
""")


def main() -> None:
    repeat = 1 if "--quick" in sys.argv else 3

    def med(rs: list[dict], k: str) -> float:
        return sorted(r[k] for r in rs)[len(rs) // 2]

    serial = [run_child(_OURS.format(day=DAY, n=1)) for _ in range(repeat)]
    parallel = [run_child(_OURS.format(day=DAY, n=4)) for _ in range(repeat)]
    floors = [run_child(_FLOOR.format(path=serial[0]["path"])) for _ in range(repeat)]
    assets = [run_child(_ASSET.format(day=DAY)) for _ in range(repeat)]
    conv = [run_child(_CONVERT.format(day=DAY)) for _ in range(repeat)]
    first = serial[0]
    rows = [
        Row("grab_events, 256 codes, 1 day, 1 in flight", med(serial, "seconds"),
            med(floors, "seconds"), "s", "tick_time + bare h5py write"),
        Row("grab_events, 4 in flight", med(parallel, "seconds"), med(floors, "seconds"), "s",
            "tick_time + bare h5py write"),
        Row("event_data asset body (Dagster)", med(assets, "asset_seconds"),
            med(floors, "seconds"), "s", "tick_time + bare h5py write"),
        Row("event_data incl. Dagster run overhead", med(assets, "seconds"),
            med(floors, "seconds"), "s", "tick_time + bare h5py write"),
        Row("peak memory of the grab", med(serial, "peak_mb"), med(floors, "peak_mb"), "MB",
            "floor process peak"),
        Row("file size", med(serial, "bytes") / 1e6, med(floors, "bytes") / 1e6, "MB",
            "same arrays, bare h5py"),
        Row("local_wall_to_utc, a day of $0C", med(conv, "convert"), med(conv, "bare"), "s",
            "numpy: wall - constant"),
        Row("tick cross-check vs one device-day", med(conv, "check"), med(conv, "search"), "s",
            "numpy searchsorted"),
    ]
    print_table(
        f"TCLK events on the simulated Booster, {DAY} (25 h): {first['events']} events "
        f"occurred, {first['rows']} occurrences; median of {repeat}", rows)


if __name__ == "__main__":
    main()
