"""Data file names: the old `ML<Kind>Data_<created-unix>_From_<node>_<start>_to_<stop>.h5` shape.

Start and stop are local wall-clock times written `YYYY-MM-DD+HH:MM:SS`, as the old grabbers
wrote them. `<created>` is the creation time in UTC epoch seconds; the old grabbers wrote
`str(time.time())` (e.g. `1583906408.4261804`), we write microseconds (`1583906408.426180`), so
two files created in the same second still get different names (two windows in the repeated
hour of DST's end share their local start and stop). Two files for the same kind, node and
window are the same partition; the newer one supersedes the older, which `remove_superseded`
deletes once the newer one is published.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import h5py

from gmpsai_assets.files.sidecar import remove_with_sidecar
from gmpsai_assets.window import (
    Window,
    format_local,
    in_repeated_hour,
    parse_local_datetime,
)

PARAM_PREFIX = "MLParamData"
EVENT_PREFIX = "MLEventData"

_NAME_RE = re.compile(
    r"^(?P<prefix>ML(?:Param|Event)?Data)_(?P<created>\d+(?:\.\d+)?)_From_(?P<node>[A-Za-z0-9]+)_"
    r"(?P<start>\d{4}-\d{2}-\d{2}\+\d{2}:\d{2}:\d{2})_to_"
    r"(?P<stop>\d{4}-\d{2}-\d{2}\+\d{2}:\d{2}:\d{2})\.h5$"
)


@dataclass(frozen=True)
class DataFileName:
    prefix: str
    created_text: str  # as written: `1583906408.4261804`, `1700000000.123456` or `1700000000`
    node: str
    start: str  # local, as written in the name
    stop: str

    @property
    def name(self) -> str:
        return f"{self.prefix}_{self.created_text}_From_{self.node}_{self.start}_to_{self.stop}.h5"

    @property
    def created(self) -> float:
        """Creation time, UTC epoch seconds: the newest file of a partition is the current one."""
        return float(self.created_text)

    @property
    def window(self) -> Window:
        return Window(parse_local_datetime(self.start), parse_local_datetime(self.stop))


def data_file_name(prefix: str, node: str, window: Window, created: float | None) -> str:
    """The file name; `created` None gives the `<created>` placeholder (for --dryrun)."""
    start, stop = window.acl_bounds()
    stamp = "<created>" if created is None else f"{created:.6f}"
    return DataFileName(prefix, stamp, node, start, stop).name


def parse_data_file_name(name: str) -> DataFileName | None:
    """The parts of a data file name, or None for any other file."""
    m = _NAME_RE.match(name)
    if not m:
        return None
    return DataFileName(m["prefix"], m["created"], m["node"], m["start"], m["stop"])


def same_partition_files(directory: Path, prefix: str, node: str, window: Window) -> list[Path]:
    """Files in `directory` of this kind, node and window, whatever their creation time."""
    start, stop = format_local(window.start), format_local(window.end)
    suffix = f"_From_{node}_{start}_to_{stop}.h5"
    return sorted(p for p in directory.glob(f"{prefix}_*{suffix}")
                  if (n := parse_data_file_name(p.name)) and n.prefix == prefix)


def newest_partition_file(directory: Path, prefix: str, node: str, window: Window) -> Path | None:
    """The partition's current file (newest creation time), or None if there is none yet."""
    if not directory.exists():
        return None
    files = same_partition_files(directory, prefix, node, window)
    return max(files, key=lambda p: (parse_data_file_name(p.name).created, p.name), default=None)


class SupersededError(RuntimeError):
    """A newer file of the same partition was published while this one was being written."""


def remove_superseded(published: Path, prefix: str, node: str, window: Window) -> list[Path]:
    """Delete older files of the same partition once `published` is in place.

    The newest creation time wins, as in the statistics store: should two runs of one
    partition overlap and a newer file already be there, `published` is the one removed and
    SupersededError says so. Near the repeated hour of DST's end two windows can share a name,
    so there a file is only treated as the same partition if its UTC window attributes agree.
    """
    mine = parse_data_file_name(published.name)
    assert mine is not None, published
    others = [p for p in same_partition_files(published.parent, prefix, node, window)
              if p != published and _same_window(p, window)]
    newer = [p for p in others if (n := parse_data_file_name(p.name)) and n.created > mine.created]
    if newer:
        remove_with_sidecar(published)
        raise SupersededError(f"{published.name} was superseded by the newer {newer[-1].name}")
    for path in others:
        remove_with_sidecar(path)  # its declaration describes bytes that no longer exist
    return others


def _same_window(path: Path, window: Window) -> bool:
    """Does `path` (same name shape) really hold `window`? Only doubtful in the repeated hour."""
    if not (in_repeated_hour(window.start) or in_repeated_hour(window.end)):
        return True
    try:
        with h5py.File(path, "r") as f:
            start, end = f.attrs["window_start_utc"], f.attrs["window_end_utc"]
    except (OSError, KeyError):
        return False  # cannot tell: keep it rather than delete another window's data
    return abs(float(start) - window.start) < 1e-3 and abs(float(end) - window.end) < 1e-3
