"""A full local day of all listed devices through `param_data` on the simulated source.

Floor, same run: generating the same arrays with the simulator and writing them with bare h5py
(same chunks and filter). Targets (issue 2): at most 3x the floor, peak memory under 1.5 GB.
Also: simulator cost per device-day, and the filter comparison behind the choice of gzip-1 +
shuffle. `--quick` uses 8 devices instead of 47.
"""

from __future__ import annotations

import sys
import textwrap

from benchmarks.common import Row, print_table, run_child

DAY = "2026-03-10"

_FLOOR = textwrap.dedent("""
    import json, os, sys, tempfile, time
    import h5py
    from gmpsai_assets.acnet.devices import load_device_list
    from gmpsai_assets.sim.simulator import SimulatedBooster
    from gmpsai_assets.window import day_window
    devices = [e.device for e in load_device_list()][:{n}]
    sim, w = SimulatedBooster(), day_window("{day}")
    filt = {filt}
    began = time.perf_counter()
    path = os.path.join(tempfile.mkdtemp(), "floor.h5")
    gen = 0.0
    with h5py.File(path, "w") as f:
        for d in devices:
            t0 = time.perf_counter()
            s = sim.fetch(d, w)
            gen += time.perf_counter() - t0
            g = f.create_group(d)
            for name, a in (("utc_seconds", s.utc_seconds), ("value", s.values)):
                if filt is None:
                    g.create_dataset(name, data=a)
                else:
                    g.create_dataset(name, data=a, chunks=(min(65536, a.size),), **filt)
    seconds = time.perf_counter() - began
    t0 = time.perf_counter()
    with h5py.File(path) as f:
        for d in devices:
            f[d]["utc_seconds"][()]; f[d]["value"][()]
    read = time.perf_counter() - t0
    import numpy as np
    t0 = time.perf_counter()
    np.random.default_rng(0).standard_normal(2 * s.utc_seconds.size)
    rng = time.perf_counter() - t0
    print(json.dumps({{"seconds": seconds, "generate": gen, "read": read, "rng": rng,
                      "bytes": os.path.getsize(path), "devices": len(devices)}}))
    os.remove(path)
""")

_OURS = textwrap.dedent("""
    import json, os, tempfile, time
    import dagster as dg
    from gmpsai_assets.acnet.devices import load_device_list
    from gmpsai_assets.defs.param_data import param_data
    from gmpsai_assets.defs.resources import DataLoggerResource, StorageResource
    from gmpsai_assets.settings import ENV_DEFAULTS
    d = {{f: v for f, v in ENV_DEFAULTS.values()}}
    tmp = tempfile.mkdtemp()
    lst = os.path.join(tmp, "list.txt")
    with open(lst, "w") as f:
        f.writelines(f"MLrn {{e.device}}\\n" for e in load_device_list()[:{n}])
    res = {{"datalogger": DataLoggerResource(source="simulated", acl_url=d["acl_url"],
            logger_node="MLrn", param_list=lst, sim_seed=d["sim_seed"],
            max_in_flight=d["max_in_flight"]),
           "storage": StorageResource(data_dir=os.path.join(tmp, "data"))}}
    began = time.perf_counter()
    r = dg.materialize([param_data], partition_key="{day}", resources=res)
    seconds = time.perf_counter() - began
    meta = r.asset_materializations_for_node("param_data")[0].metadata
    assert r.success
    asset_s = meta["duration_s"].value
    os.remove(meta["path"].value)
    print(json.dumps({{"seconds": seconds, "asset_seconds": asset_s,
                      "bytes": meta["bytes"].value}}))
""")


def main() -> None:
    quick = "--quick" in sys.argv
    n = 8 if quick else 47
    repeat = 1 if quick else 3
    gz = '{"compression": "gzip", "compression_opts": 1, "shuffle": True}'
    floors = [run_child(_FLOOR.format(n=n, day=DAY, filt=gz)) for _ in range(repeat)]
    ours = [run_child(_OURS.format(n=n, day=DAY)) for _ in range(repeat)]

    def med(rs: list[dict], k: str) -> float:
        return sorted(r[k] for r in rs)[len(rs) // 2]

    devices = floors[0]["devices"]
    rows = [
        Row(f"param_data, {devices} devices, 1 day (asset body)", med(ours, "asset_seconds"),
            med(floors, "seconds"), "s", "simulate + bare h5py write", "<= 3x"),
        Row("param_data incl. Dagster run overhead", med(ours, "seconds"),
            med(floors, "seconds"), "s", "simulate + bare h5py write", ""),
        Row("peak memory of the run", med(ours, "peak_mb"), med(floors, "peak_mb"), "MB",
            "floor process peak", "< 1500 MB"),
        Row("file size", med(ours, "bytes") / 1e6, med(floors, "bytes") / 1e6, "MB",
            "same filter, bare h5py", ""),
        Row("simulator, one device-day", med(floors, "generate") / devices,
            med(floors, "rng"), "s", "numpy: 2 normals per sample", "< 1 s"),
    ]
    print_table(f"param_data on the simulated Booster, {DAY}, median of {repeat}", rows)

    # The filter choice: size and time against no compression, same data, same run.
    filters = {
        "lzf + shuffle": '{"compression": "lzf", "shuffle": True}',
        "gzip-1 + shuffle (chosen)": gz,
        "gzip-4 + shuffle": '{"compression": "gzip", "compression_opts": 4, "shuffle": True}',
    }
    k = min(n, 8)
    plain = run_child(_FLOOR.format(n=k, day=DAY, filt="None"))
    rows = []
    for name, filt in filters.items():
        r = run_child(_FLOOR.format(n=k, day=DAY, filt=filt))
        rows.append(Row(f"{name}: size", r["bytes"] / 1e6, plain["bytes"] / 1e6, "MB",
                        "uncompressed"))
        rows.append(Row(f"{name}: simulate+write", r["seconds"], plain["seconds"], "s",
                        "uncompressed"))
        rows.append(Row(f"{name}: read back", r["read"], plain["read"], "s", "uncompressed"))
    print_table(f"HDF5 filter choice, {k} devices x 1 day", rows)


if __name__ == "__main__":
    main()
