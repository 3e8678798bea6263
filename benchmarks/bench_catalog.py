"""Catalogue checksums of a simulated day's parameter file (issue 17).

Figures, each beside a floor measured in the same run (medians of interleaved rounds; the file
is in the page cache, so "reading" is the memory copy, the floor most favourable to hashing):
- Adler-32 + MD5 of the file (`digest_file`) against reading its bytes once with no hashing;
- SHA-256 + Adler-32 + MD5 in one pass (what the distiller now computes) against SHA-256 alone
  (what it computed before): the cost of the catalogue's checksums in the daily run;
- `distill_file` + declaration from the distiller's digests (the daily run) against
  `distill_file` without checksums: everything the file record and the catalogue add;
- the same in CPU seconds (all threads), which the machine's load does not move, and against
  the naive path: the distiller's old SHA-256 read plus a declaration with a read of its own.
With the file cached the saved read is a memory copy, so the naive path costs about the same
CPU; the saving is the disk (or network file system) read of an uncached file.
`--quick` uses 4 devices instead of 12.
"""

from __future__ import annotations

import hashlib
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks.common import Row, print_table
from gmpsai_assets.acnet.devices import load_device_list
from gmpsai_assets.catalog.checksums import BLOCK, digest_file
from gmpsai_assets.catalog.declaration import declare_data_file
from gmpsai_assets.ingest.params import grab_params
from gmpsai_assets.sim.simulator import SimulatedBooster
from gmpsai_assets.stats.distill import distill_file
from gmpsai_assets.window import day_window

DAY = "2020-03-10"


def _medians(
    fns: list[Callable[[], object]], repeat: int, clock: Callable[[], float] = time.perf_counter
) -> list[float]:
    """Median of each function on `clock`, interleaved round by round so that a shared
    machine's changing load falls on all alike. `time.process_time` gives CPU seconds of this
    process (all threads): the work, whatever the load."""
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(repeat):
        for fn, out in zip(fns, times, strict=True):
            began = clock()
            fn()
            out.append(clock() - began)
    return [statistics.median(t) for t in times]


def _read_only(path: Path) -> None:
    buf = bytearray(BLOCK)
    with open(path, "rb", buffering=0) as f:
        while f.readinto(buf):
            pass


def _sha256_only(path: Path) -> None:
    h = hashlib.sha256()
    buf = bytearray(BLOCK)
    view = memoryview(buf)
    with open(path, "rb", buffering=0) as f:
        while n := f.readinto(buf):
            h.update(view[:n])


def main() -> None:
    quick = "--quick" in sys.argv
    n_devices = 4 if quick else 12
    repeat = 3 if quick else 5
    devices = [e.device for e in load_device_list()][:n_devices]
    tmp = Path(tempfile.mkdtemp(prefix="bench-catalog-"))
    try:
        grabbed = grab_params(SimulatedBooster(), devices, day_window(DAY), tmp / "params",
                              tmp / "drafts")
        path = grabbed.path
        mb = path.stat().st_size / 1e6
        print(f"file: {len(devices)} devices, one day, {mb:.0f} MB")

        def daily() -> None:
            r = distill_file(path)
            declare_data_file(r.info, r.dataset_rows(), r.digests, "gmpsai")

        def naive() -> None:  # the distiller as before (its own SHA-256 read), then a
            r = distill_file(path, checksum=False)  # declaration with a read of its own
            _sha256_only(path)
            declare_data_file(r.info, r.dataset_rows(), None, "gmpsai")

        def no_checksums() -> None:
            distill_file(path, checksum=False)

        t = _medians([lambda: digest_file(path), lambda: _read_only(path),
                      lambda: digest_file(path, sha256=True), lambda: _sha256_only(path),
                      daily, no_checksums], repeat)
        rows = [
            Row("adler32+md5 (digest_file)", t[0], t[1], floor_name="read bytes once"),
            Row("sha256+adler32+md5, one pass", t[2], t[3], floor_name="sha256 alone (before)"),
            Row("distill + declare (daily run)", t[4], t[5], target="<= 1.3",
                floor_name="distill without checksums"),
        ]
        cpu = _medians([daily, no_checksums, naive], repeat, time.process_time)
        rows += [
            Row("distill + declare (daily run), CPU", cpu[0], cpu[1], unit="CPU s",
                floor_name="distill without checksums"),
            Row("distill + declare (daily run), CPU", cpu[0], cpu[2], unit="CPU s",
                target="~1", floor_name="sha256 read + declare's own read"),
        ]
        print_table(f"catalogue checksums, {mb:.0f} MB file, median of {repeat}", rows)
        print(f"hash throughput: adler32+md5 {mb / t[0]:.0f} MB/s, read {mb / t[1]:.0f} MB/s")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
