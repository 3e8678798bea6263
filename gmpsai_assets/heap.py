"""Keep day-long temporary arrays in the process while a day is fetched or tabled.

A day's fetch (each device's reply parsed, joined and checked) and a day's cycle table (each
device matched to its cycles) make and drop a few dozen day-long arrays (10 MB at 15 Hz) per
device. With glibc's default thresholds most of them are mmapped, handed back to the kernel
when freed and faulted in again page by page for the next device: measured on the team's VMs,
those page faults cost as much CPU as the matching itself (sys time about equal to user
time, and most of the run-to-run noise). `roomy_heap()` raises glibc's mmap and trim
thresholds, so a freed array's memory serves the next one, and on leaving returns the free
memory to the kernel (`malloc_trim`). The thresholds stay raised for the rest of the process:
glibc cannot go back to its adaptive defaults once they are set, and fixed defaults would
fault every array afresh, worse than either (measured: the parser's rate fell to 0.6x).
The peak memory is about the same (the live arrays are the same); only the churn goes.
Outside glibc (musl, macOS) it does nothing.

It also stops numpy from asking for transparent huge pages for new arrays (numpy's
`NUMPY_MADVISE_HUGEPAGE`, set back on leaving): where the kernel compacts memory to serve such
a request (`/sys/kernel/mm/transparent_hugepage/defrag` = `madvise`, Debian's default), a
day's build took 3.2-3.4 s instead of 1.3-1.5 s, in the same process, run after run.
"""

from __future__ import annotations

import contextlib
import ctypes
import platform
import threading
from collections.abc import Iterator
from functools import cache

from numpy._core import multiarray as np_multiarray  # the huge-page switch (numpy >= 2)

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # mallopt's parameter numbers (malloc.h)
ROOMY_MMAP = 32 * 1024 * 1024  # glibc's largest mmap threshold on 64-bit: above a day's array
ROOMY_TRIM = 1024 * 1024 * 1024  # keep up to this much freed memory until the end

_lock = threading.Lock()
_users = 0  # roomy_heap() blocks open in this process (threads may fetch and build at once)
_hugepages_were = False
_raised = False  # the thresholds are raised (once per process)


@cache
def _glibc() -> ctypes.CDLL | None:
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return None
    libc = ctypes.CDLL(None)
    return libc if hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim") else None


@contextlib.contextmanager
def roomy_heap() -> Iterator[None]:
    """Within the block, freed large arrays stay in the process for reuse and numpy asks for
    no huge pages; on leaving the last block, free memory goes back to the kernel (glibc
    only)."""
    global _users, _hugepages_were, _raised
    libc = _glibc()
    if libc is None:
        yield
        return
    with _lock:
        if not _raised:
            libc.mallopt(M_MMAP_THRESHOLD, ROOMY_MMAP)
            libc.mallopt(M_TRIM_THRESHOLD, ROOMY_TRIM)
            _raised = True
        if _users == 0:
            _hugepages_were = _numpy_hugepages(False)
        _users += 1
    try:
        yield
    finally:
        with _lock:
            _users -= 1
            if _users == 0:
                _numpy_hugepages(_hugepages_were)
                libc.malloc_trim(0)


def _numpy_hugepages(enabled: bool) -> bool:
    """Set whether numpy madvises huge pages for new arrays; what it was (False: cannot tell,
    a numpy without the switch)."""
    switch = getattr(np_multiarray, "_set_madvise_hugepage", None)
    return bool(switch(enabled)) if switch is not None else False
