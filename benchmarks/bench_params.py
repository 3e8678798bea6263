"""A full local day of all listed devices through `param_data` on the simulated source.

Floor, same run: generating the same arrays with the simulator and writing them with bare h5py
(same chunks and filter), which is also the layout before the pandas view (gmpsai-params/1).
Targets (issues 2 and 12): at most 1.5x the floor, file size at most 1.1x the floor's, peak
memory under 1.5 GB, and reading one device with `pandas.read_hdf` at most 2x reading it with
bare h5py. Also: simulator cost per device-day, the filter comparison behind gzip-1 + shuffle,
and the layout comparison behind the pandas view hard-linked to the h5py datasets.
`--quick` uses 8 devices instead of 47.
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
    tmp = tempfile.mkdtemp()
    lst = os.path.join(tmp, "list.txt")
    with open(lst, "w") as f:
        f.writelines(f"MLrn {{e.device}}\\n" for e in load_device_list()[:{n}])
    res = {{"datalogger": DataLoggerResource(source="simulated", param_list=lst),
           "storage": StorageResource(data_dir=os.path.join(tmp, "data"))}}
    began = time.perf_counter()
    r = dg.materialize([param_data], partition_key="{day}", resources=res)
    seconds = time.perf_counter() - began
    meta = r.asset_materializations_for_node("param_data")[0].metadata
    assert r.success
    asset_s = meta["duration_s"].value
    path = meta["path"].value
    # one device read with pandas.read_hdf against bare h5py, alternating, on the file written
    import statistics, warnings
    import h5py, pandas as pd, tables
    warnings.simplefilter("ignore", tables.NaturalNameWarning)
    pd.read_hdf(path, "B:VIMIN")  # imports PyTables once, outside the timings
    bare, pandas_s, pytables = [], [], []
    for _ in range(5):
        for device in ("B:VIMIN", "B:IMINER"):
            t0 = time.perf_counter()
            with h5py.File(path, "r") as f:
                f[device]["utc_seconds"][()]; f[device]["value"][()]
            t1 = time.perf_counter()
            df = pd.read_hdf(path, device)
            df["utc_seconds"].to_numpy(); df["value"].to_numpy()
            t2 = time.perf_counter()
            with tables.open_file(path, "r") as f:  # the library pandas reads through
                f.get_node("/" + device, "utc_seconds").read()
                f.get_node("/" + device, "value").read()
            bare.append(t1 - t0); pandas_s.append(t2 - t1)
            pytables.append(time.perf_counter() - t2)
    os.remove(path)
    print(json.dumps({{"seconds": seconds, "asset_seconds": asset_s,
                      "bytes": meta["bytes"].value,
                      "read_h5py": statistics.median(bare),
                      "read_pandas": statistics.median(pandas_s),
                      "read_pytables": statistics.median(pytables)}}))
""")

# The layouts weighed for the pandas view (issue 12), on the same simulated devices: each child
# writes them all, then reads every device with bare h5py and with pandas.read_hdf.
_LAYOUTS = textwrap.dedent("""
    import json, os, tempfile, time, warnings
    import h5py, pandas as pd, tables
    from gmpsai_assets.acnet.devices import load_device_list
    from gmpsai_assets.sim.simulator import SimulatedBooster
    from gmpsai_assets.files.h5common import COMPRESSION, LIBVER
    from gmpsai_assets.files.paramfile import write_arrays
    from gmpsai_assets.window import day_window
    warnings.simplefilter("ignore", tables.NaturalNameWarning)
    devices = [e.device for e in load_device_list()][:{n}]
    sim, w = SimulatedBooster(), day_window("{day}")
    data = {{d: sim.fetch(d, w) for d in devices}}
    frames = lambda: ((d, pd.DataFrame({{"utc_seconds": s.utc_seconds, "value": s.values}}))
                      for d, s in data.items())
    def h5py_only(path):
        with h5py.File(path, "w", libver=LIBVER) as f:
            for d, s in data.items():
                g = f.create_group(d)
                for name, a in (("utc_seconds", s.utc_seconds), ("value", s.values)):
                    g.create_dataset(name, data=a, chunks=(min(65536, a.size),), **COMPRESSION)
    def dual(path):
        with h5py.File(path, "w", libver=LIBVER) as f:
            for d, s in data.items():
                write_arrays(f.create_group(d), s)
    def fixed(path):
        for d, df in frames():
            df.to_hdf(path, key=d, format="fixed", complib="zlib", complevel=1)
    def table(path):
        for d, df in frames():
            df.to_hdf(path, key=d, format="table", append=True, complib="zlib", complevel=1)
    def old_grabber(path):
        for d, df in frames():
            df.to_hdf(path, key=d, append=True)
    def read_h5py(path):
        with h5py.File(path, "r") as f:
            for d in devices:
                g = f[d]
                for name in ("utc_seconds", "value", "table", "block0_values"):
                    if name in g:
                        g[name][()]
    def read_pandas(path):
        for d in devices:
            df = pd.read_hdf(path, d)
            df["utc_seconds"].to_numpy(); df["value"].to_numpy()
    out = {{}}
    tmp = tempfile.mkdtemp()
    for name, write in (("h5py", h5py_only), ("dual", dual), ("fixed", fixed),
                        ("table", table), ("old", old_grabber)):
        path = os.path.join(tmp, name + ".h5")
        t0 = time.perf_counter(); write(path); wrote = time.perf_counter() - t0
        t0 = time.perf_counter(); read_h5py(path); by_h5py = time.perf_counter() - t0
        try:
            read_pandas(path)  # warm: PyTables imported, file in the page cache
            t0 = time.perf_counter(); read_pandas(path); by_pandas = time.perf_counter() - t0
        except TypeError:  # "cannot create a storer": pandas cannot read this layout
            by_pandas = None
        out[name] = {{"write": wrote, "bytes": os.path.getsize(path), "h5py": by_h5py,
                     "pandas": by_pandas}}
        os.remove(path)
    print(json.dumps(out))
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
            med(floors, "seconds"), "s", "simulate + bare h5py write", "<= 1.5x"),
        Row("param_data incl. Dagster run overhead", med(ours, "seconds"),
            med(floors, "seconds"), "s", "simulate + bare h5py write", ""),
        Row("peak memory of the run", med(ours, "peak_mb"), med(floors, "peak_mb"), "MB",
            "floor process peak", "< 1500 MB"),
        Row("file size", med(ours, "bytes") / 1e6, med(floors, "bytes") / 1e6, "MB",
            "same filter, bare h5py (params/1)", "<= 1.1x"),
        Row("one device, pandas.read_hdf", med(ours, "read_pandas"), med(ours, "read_h5py"), "s",
            "bare h5py, same file, alternating", "<= 2x"),
        Row("  of which PyTables reading the 2 datasets", med(ours, "read_pytables"),
            med(ours, "read_h5py"), "s", "bare h5py, same datasets", ""),
        Row("  pandas.read_hdf over PyTables alone", med(ours, "read_pandas"),
            med(ours, "read_pytables"), "s", "PyTables, same 2 datasets", ""),
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

    # The layout choice (issue 12): what pandas.read_hdf needs, against the h5py-only layout.
    k = min(n, 4)
    runs = [run_child(_LAYOUTS.format(n=k, day=DAY)) for _ in range(1 if quick else 3)]
    base = {f: sorted(r["h5py"][f] for r in runs)[len(runs) // 2]
            for f in ("write", "bytes", "h5py")}
    names = {"dual": "h5py + pandas view (chosen)", "fixed": "pandas fixed, zlib-1",
             "table": "pandas table, zlib-1", "old": "pandas table, old grabber"}
    rows = []
    for key, name in names.items():
        def m(f: str, key: str = key) -> float:
            vals = sorted(r[key][f] for r in runs)
            return vals[len(vals) // 2]
        rows.append(Row(f"{name}: size", m("bytes") / 1e6, base["bytes"] / 1e6, "MB",
                        "h5py only (params/1)", "<= 1.1x" if key == "dual" else ""))
        rows.append(Row(f"{name}: write", m("write"), base["write"], "s", "h5py only"))
        rows.append(Row(f"{name}: read, pandas", m("pandas"), m("h5py"), "s",
                        "same file, bare h5py", "<= 2x" if key == "dual" else ""))
    print_table(f"HDF5 layout choice, {k} devices x 1 day, median of {len(runs)}", rows)


if __name__ == "__main__":
    main()
