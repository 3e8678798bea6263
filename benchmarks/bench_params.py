"""A full local day of all listed devices through `param_data` on the simulated source.

Floor, same run: generating the same arrays with the simulator and writing them with bare h5py
(same chunks and filter, no pandas view). Targets (issues 2 and 12): at most 1.5x the floor,
file size at most 1.1x the floor's, peak memory under 1.5 GB. Also the simulator's cost per
device-day, and the layout choice of issue 25: each candidate filter's size, write, pandas and
h5py reads beside the old ParamDataGrabber's file of the same samples (targets: pandas read at
most 2x, size at most 0.35x), and the platform's reader beside it on the gzip layout before
(no slower); the same for event files against the old EventDataGrabber's.
`--quick` uses 8 devices instead of 47 and one repeat.
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
    from gmpsai_assets.files.h5common import COMPRESSION
    from gmpsai_assets.sim.simulator import SimulatedBooster
    from gmpsai_assets.window import day_window
    devices = [e.device for e in load_device_list()][:{n}]
    sim, w = SimulatedBooster(), day_window("{day}")
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
                g.create_dataset(name, data=a, chunks=(min(65536, a.size),), **COMPRESSION)
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

# The layouts weighed (issues 12 and 25), on the same simulated samples: each child writes every
# candidate, then reads every device with pandas.read_hdf and with bare h5py (each the median of
# three reads, after one that warms the page cache and imports). The floor is the old
# ParamDataGrabber's file: `to_hdf(append=True)` per device, PyTables table, uncompressed.
# Every candidate but the old one is this platform's layout (h5py datasets + the pandas view)
# with a different filter; `lzf` is h5py's own filter, which PyTables cannot read.
CANDIDATES = {
    "chosen": "blosc2 blosclz-5 shuf (params/3)",
    "gzip-1": "gzip-1 shuf (params/2)",
    "blosc2-lz4": "blosc2 lz4-5 shuf",
    "blosc2-lz4-9": "blosc2 lz4-9 shuf",
    "blosc2-zstd-1": "blosc2 zstd-1 shuf",
    "blosc-lz4": "blosc lz4-5 shuf",
    "lzf": "lzf shuf (h5py's own)",
}
_LAYOUTS = textwrap.dedent("""
    import json, os, statistics, tempfile, time, warnings
    import h5py, hdf5plugin, pandas as pd, tables
    from gmpsai_assets.acnet.devices import load_device_list
    from gmpsai_assets.files import h5common, legacy
    from gmpsai_assets.files.datafile import open_data_file
    from gmpsai_assets.files.paramfile import write_arrays
    from gmpsai_assets.sim.simulator import SimulatedBooster
    from gmpsai_assets.window import day_window
    warnings.simplefilter("ignore", tables.NaturalNameWarning)
    devices = [e.device for e in load_device_list()][:{n}]
    sim, w = SimulatedBooster(), day_window("{day}")
    data = {{d: sim.fetch(d, w) for d in devices}}
    B2, B1 = hdf5plugin.Blosc2, hdf5plugin.Blosc
    filters = {{
        "chosen": h5common.COMPRESSION,
        "gzip-1": h5common.GZIP_COMPRESSION,
        "blosc2-lz4": dict(B2(cname="lz4", clevel=5, filters=B2.SHUFFLE)),
        "blosc2-lz4-9": dict(B2(cname="lz4", clevel=9, filters=B2.SHUFFLE)),
        "blosc2-zstd-1": dict(B2(cname="zstd", clevel=1, filters=B2.SHUFFLE)),
        "blosc-lz4": dict(B1(cname="lz4", clevel=5, shuffle=B1.SHUFFLE)),
        "lzf": {{"compression": "lzf", "shuffle": True}},
    }}
    def ours(filt):
        def write(path):
            h5common.COMPRESSION = filt  # what write_arrays compresses with
            with h5py.File(path, "w", libver=h5common.LIBVER) as f:
                for d, s in data.items():
                    write_arrays(f.create_group(d), s)
        return write
    def old(path):
        legacy.write_legacy_params(path, {{d: (s.utc_seconds, s.values) for d, s in data.items()}})
    def read_h5py(path):
        with h5py.File(path, "r") as f:
            for d in devices:
                g = f[d]
                for name in ("utc_seconds", "value", "table"):
                    if name in g:
                        g[name][()]
    def read_pandas(path):
        for d in devices:
            df = pd.read_hdf(path, d)
            df["utc_seconds"].to_numpy(); df["value"].to_numpy()
    def read_platform(path):  # what the distiller, the checks and the cycle table go through
        for ds in open_data_file(path).datasets():
            pass
    def timed(fn, path):
        fn(path)
        times = []
        for _ in range(3):
            t0 = time.perf_counter(); fn(path); times.append(time.perf_counter() - t0)
        return statistics.median(times)
    out = {{}}
    tmp = tempfile.mkdtemp()
    for name, write in [("old", old), *((k, ours(f)) for k, f in filters.items())]:
        path = os.path.join(tmp, name + ".h5")
        t0 = time.perf_counter(); write(path); wrote = time.perf_counter() - t0
        try:
            by_pandas = timed(read_pandas, path)
        except tables.HDF5ExtError:  # a filter PyTables does not have (lzf)
            by_pandas = None
        out[name] = {{"write": wrote, "bytes": os.path.getsize(path),
                     "h5py": timed(read_h5py, path), "pandas": by_pandas}}
        if name in ("chosen", "gzip-1"):
            out[name]["platform"] = timed(read_platform, path)
        os.remove(path)
    print(json.dumps(out))
""")

# Event files alike, on two hours of $0C: the old EventDataGrabber's table (SCmicrosec, the
# local `datetime` text, epoch; uncompressed) against this platform's layout.
_EVENT_LAYOUTS = textwrap.dedent("""
    import json, os, statistics, tempfile, time, warnings
    import pandas as pd, tables
    from gmpsai_assets.files import eventfile, h5common, legacy
    from gmpsai_assets.sim.simulator import SimulatedBooster
    from gmpsai_assets.window import Window, day_window
    warnings.simplefilter("ignore", tables.NaturalNameWarning)
    day = day_window("{day}")
    w = Window(day.start + 3600.0, day.start + 3 * 3600.0)
    occ = SimulatedBooster().event_occurrences(0x0C, w)
    def ours(filt):
        def write(path):
            h5common.COMPRESSION = filt
            with eventfile.EventFileWriter(path, w, "MLrn", "simulated") as f:
                f.add(0x0C, occ, None)
        return write
    def old(path):
        legacy.write_legacy_events(path, {{0x0C: (occ.utc_seconds, occ.sc_seconds)}})
    def read_pandas(path):
        df = pd.read_hdf(path, "Event0c")
        df["SCmicrosec"].to_numpy(); df["epoch"].to_numpy()
    out = {{}}
    tmp = tempfile.mkdtemp()
    for name, write in (("old", old), ("chosen", ours(h5common.COMPRESSION)),
                        ("gzip-1", ours(h5common.GZIP_COMPRESSION))):
        path = os.path.join(tmp, name + ".h5")
        write(path)
        read_pandas(path)
        times = []
        for _ in range(3):
            t0 = time.perf_counter(); read_pandas(path); times.append(time.perf_counter() - t0)
        out[name] = {{"bytes": os.path.getsize(path), "pandas": statistics.median(times)}}
        os.remove(path)
    out["rows"] = len(occ)
    print(json.dumps(out))
""")


def _median(runs: list[dict], *keys: str) -> float | None:
    """Median over the runs of run[k1][k2]...; None when a run has no figure (unreadable)."""
    vals = []
    for r in runs:
        for k in keys:
            r = r[k]
        vals.append(r)
    if any(v is None for v in vals):
        return None
    return sorted(vals)[len(vals) // 2]


def main() -> None:
    quick = "--quick" in sys.argv
    n = 8 if quick else 47
    repeat = 1 if quick else 3
    floors, ours = [], []
    for _ in range(repeat):  # interleaved: the machine's load drifts onto both alike
        floors.append(run_child(_FLOOR.format(n=n, day=DAY)))
        ours.append(run_child(_OURS.format(n=n, day=DAY)))

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
            "same filter, bare h5py (no view)", "<= 1.1x"),
        Row("one device, pandas.read_hdf", med(ours, "read_pandas"), med(ours, "read_h5py"), "s",
            "bare h5py, same file, alternating", ""),
        Row("  of which PyTables reading the 2 datasets", med(ours, "read_pytables"),
            med(ours, "read_h5py"), "s", "bare h5py, same datasets", ""),
        Row("  pandas.read_hdf over PyTables alone", med(ours, "read_pandas"),
            med(ours, "read_pytables"), "s", "PyTables, same 2 datasets", ""),
        Row("simulator, one device-day", med(floors, "generate") / devices,
            med(floors, "rng"), "s", "numpy: 2 normals per sample", "< 1 s"),
    ]
    print_table(f"param_data on the simulated Booster, {DAY}, median of {repeat}", rows)

    # The layout choice (issue 25): every candidate against the old grabber's file of the same
    # samples, same child; the targets are the issue's (pandas read <= 2x, size <= 0.35x).
    k = min(n, 4)
    runs = [run_child(_LAYOUTS.format(n=k, day=DAY)) for _ in range(repeat)]
    rows = []
    for key, name in CANDIDATES.items():
        def m(f: str, key: str = key) -> float | None:
            return _median(runs, key, f)
        size = m("bytes")
        rows.append(Row(f"{name}: size", size / 1e6, _median(runs, "old", "bytes") / 1e6, "MB",
                        "old grabber's file", "<= 0.35x"))
        rows.append(Row(f"{name}: write", m("write"), _median(runs, "old", "write"), "s",
                        "old grabber's file"))
        pandas_s = m("pandas")
        if pandas_s is None:
            print(f"  ({name}: pandas.read_hdf cannot read it: PyTables has no such filter)")
        else:
            rows.append(Row(f"{name}: read, pandas", pandas_s, _median(runs, "old", "pandas"),
                            "s", "old grabber's file", "<= 2x"))
        rows.append(Row(f"{name}: read, h5py", m("h5py"), _median(runs, "old", "h5py"), "s",
                        "old grabber's file"))
    rows.append(Row("platform reader (distiller, checks, cycles)",
                    _median(runs, "chosen", "platform"),
                    _median(runs, "gzip-1", "platform"), "s", "same on params/2 (gzip-1)",
                    "<= 1x"))
    print_table(f"HDF5 layout choice, {k} devices x 1 day, median of {repeat}", rows)

    events = [run_child(_EVENT_LAYOUTS.format(day=DAY)) for _ in range(repeat)]
    rows = []
    for key, name in (("chosen", "events/3, blosc2 blosclz-5 shuf"),
                      ("gzip-1", "events/2, gzip-1 shuf")):
        rows.append(Row(f"{name}: size", _median(events, key, "bytes") / 1e6,
                        _median(events, "old", "bytes") / 1e6, "MB", "old EventDataGrabber's",
                        "<= 0.35x"))
        rows.append(Row(f"{name}: read, pandas", _median(events, key, "pandas"),
                        _median(events, "old", "pandas"), "s", "old EventDataGrabber's",
                        "<= 2x"))
    print_table(f"Event file layout, $0C over 2 hours ({events[0]['rows']} rows), "
                f"median of {repeat}", rows)


if __name__ == "__main__":
    main()
