"""Data file names: the old `ML<Kind>Data_<created-unix>_From_<node>_<start>_to_<stop>.h5` shape.

Start and stop are local wall-clock times written `YYYY-MM-DD+HH:MM:SS`, as the old grabbers
wrote them. Two files for the same kind, node and window are the same partition; the newer one
supersedes the older, which `remove_superseded` deletes once the newer one is published.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from gmpsai_assets.window import Window, format_local, parse_local_datetime

PARAM_PREFIX = "MLParamData"
EVENT_PREFIX = "MLEventData"
LEGACY_PARAM_PREFIX = "MLData"  # before mid-2019: one key `x` for every device

_NAME_RE = re.compile(
    r"^(?P<prefix>ML(?:Param|Event)?Data)_(?P<created>\d+)_From_(?P<node>[A-Za-z0-9]+)_"
    r"(?P<start>\d{4}-\d{2}-\d{2}\+\d{2}:\d{2}:\d{2})_to_"
    r"(?P<stop>\d{4}-\d{2}-\d{2}\+\d{2}:\d{2}:\d{2})\.h5$"
)


@dataclass(frozen=True)
class DataFileName:
    prefix: str
    created: int
    node: str
    start: str  # local, as written in the name
    stop: str

    @property
    def name(self) -> str:
        return f"{self.prefix}_{self.created}_From_{self.node}_{self.start}_to_{self.stop}.h5"

    @property
    def window(self) -> Window:
        return Window(parse_local_datetime(self.start), parse_local_datetime(self.stop))


def data_file_name(prefix: str, node: str, window: Window, created: float) -> str:
    start, stop = window.acl_bounds()
    return DataFileName(prefix, int(created), node, start, stop).name


def parse_data_file_name(name: str) -> DataFileName | None:
    """The parts of a data file name, or None for any other file."""
    m = _NAME_RE.match(name)
    if not m:
        return None
    return DataFileName(
        m["prefix"], int(m["created"]), m["node"], m["start"], m["stop"]
    )


def same_partition_files(directory: Path, prefix: str, node: str, window: Window) -> list[Path]:
    """Files in `directory` of this kind, node and window, whatever their creation time."""
    start, stop = format_local(window.start), format_local(window.end)
    suffix = f"_From_{node}_{start}_to_{stop}.h5"
    return sorted(p for p in directory.glob(f"{prefix}_*{suffix}")
                  if (n := parse_data_file_name(p.name)) and n.prefix == prefix)


def remove_superseded(published: Path, prefix: str, node: str, window: Window) -> list[Path]:
    """Delete older files of the same partition once `published` is in place."""
    removed = []
    for path in same_partition_files(published.parent, prefix, node, window):
        if path != published:
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed
