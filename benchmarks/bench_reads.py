"""Bytes read per day after the day's files are written: `file_stats` (statistics and every
check of the day's files) against the size of the two files, the floor of reading each once.

Counted by the kernel: `rchar` of /proc/self/io (every byte this process got from read(2) and
pread(2), whichever thread, page cache or disk), around the one in-process run that distils the
day. The SHA-256 recorded for each file is computed in the same pass, from the same pages, so it
shows as a second helping of the file's bytes; the HDF5 read is the first.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import dagster as dg

from benchmarks.common import Row, print_table

DAY = "2026-03-10"
DEVICES = ["B:VIMIN", "B:VIMAX", "B:IMINER", "B:LINFRQ", "I:IB", "B|GMPSSC"]


def rchar() -> int:
    with open("/proc/self/io") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("rchar:"))


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        plist = Path(tmp) / "ParamList.txt"
        plist.write_text("".join(f"MLrn {d}\n" for d in DEVICES))
        os.environ.update({"GMPSAI_DATA_DIR": str(data), "GMPSAI_PARAM_LIST": str(plist),
                           "GMPSAI_SOURCE": "simulated"})
        from gmpsai_assets.defs.event_data import event_data
        from gmpsai_assets.defs.file_stats import file_stats
        from gmpsai_assets.defs.param_data import param_data
        from gmpsai_assets.defs.resources import build_resources

        instance = dg.DagsterInstance.ephemeral()
        common = {"resources": build_resources(), "instance": instance, "partition_key": DAY}
        assert dg.materialize([param_data, event_data], **common).success
        files = [*(data / "params").glob("*.h5"), *(data / "events").glob("*.h5")]
        size = sum(f.stat().st_size for f in files)
        before = rchar()
        result = dg.materialize([file_stats], selection=[file_stats], **common)
        read = rchar() - before
        assert result.success
        checks = len(result.get_asset_check_evaluations())
    print_table(f"bytes read after the write, one day of {len(DEVICES)} devices + events "
                f"({checks} checks)", [
        Row("file_stats: statistics + every check", read / 1e6, size / 1e6, "MB",
            "the day's two files, read once", "<= 2.1"),
    ])


if __name__ == "__main__":
    main()
