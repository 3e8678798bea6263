"""Small helpers shared by the benchmarks: medians of repeated timings and the result table."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass


def median_seconds(fn: Callable[[], object], repeat: int = 3) -> float:
    """Median wall time of `fn` over `repeat` calls (machines are shared and noisy)."""
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        fn()
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def interleaved_medians(fns: list[Callable[[], object]], repeat: int = 9) -> list[float]:
    """Median wall time of each function, the functions run in turn round after round, so
    that a shared machine's changing load falls on all of them alike. Each round starts one
    function later: whichever runs first after another's large frees pays for fresh pages
    (5-10 % on a 44 MB parse here), and no function may always be that one."""
    times: list[list[float]] = [[] for _ in fns]
    for r in range(repeat):
        for k in range(len(fns)):
            i = (r + k) % len(fns)
            began = time.perf_counter()
            fns[i]()
            times[i].append(time.perf_counter() - began)
    return [statistics.median(t) for t in times]


def peak_rss_mb() -> float:
    """This process's own peak resident memory (MB), the kernel's VmHWM. Not ru_maxrss: a
    process started by (v)fork + exec inherits its parent's peak there (measured: a child of
    11 MB reported its parent's 1551 MB), so every child of a big benchmark runner would."""
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmHWM:")) / 1024.0


# A child runs the code it is given, then prints its own peak on a last line of its own.
_CHILD = """
import sys
exec(compile(sys.argv.pop(1), "<benchmark child>", "exec"), {"__name__": "__main__"})
from benchmarks.common import peak_rss_mb
print(peak_rss_mb())
"""


def run_child(code: str) -> dict:
    """Run Python `code` in a fresh process; it prints one JSON line, to which we add that
    child's own peak resident memory (MB, `peak_rss_mb`): never RUSAGE_CHILDREN (the peak of
    every child so far) nor the child's ru_maxrss (its parent's peak, inherited)."""
    proc = subprocess.run([sys.executable, "-c", _CHILD, code], capture_output=True, text=True,
                          check=False)
    if proc.returncode:  # (the child's own traceback, which CalledProcessError would not show)
        raise RuntimeError(f"benchmark child failed ({proc.returncode}): "
                           f"{proc.stderr.strip()[-2000:]}")
    *_, line, peak = proc.stdout.strip().splitlines()
    result = json.loads(line)
    result["peak_mb"] = float(peak)
    return result


@dataclass
class Row:
    figure: str
    ours: float
    floor: float
    unit: str = "s"
    floor_name: str = ""
    target: str = ""

    @property
    def ratio(self) -> float:
        return self.ours / self.floor if self.floor else float("nan")


def print_table(title: str, rows: list[Row]) -> None:
    print(f"\n{title}")
    head = f"{'figure':44s} {'ours':>10s} {'floor':>10s} {'ratio':>7s}  {'target':10s} floor is"
    print(head)
    print("-" * len(head))
    for r in rows:
        print(f"{r.figure:44s} {r.ours:10.3f} {r.floor:10.3f} {r.ratio:7.2f}  {r.target:10s} "
              f"{r.floor_name} ({r.unit})")
