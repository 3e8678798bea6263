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


def run_child(code: str) -> dict:
    """Run Python `code` in a fresh process; it prints one JSON line, to which we add the
    child's peak resident memory (MB), measured by the kernel, not by the child itself."""
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["peak_mb"] = max(peak_kb, before) / 1024.0  # ru_maxrss is the max over children
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
