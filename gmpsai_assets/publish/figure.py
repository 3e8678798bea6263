"""The old published plotly figure (`StatsHistoryBoringHolyMoly.json`), from plain rows.

The team's existing site feeds this file straight to `Plotly.newPlot`, so its shape is kept: one
grid row per device (`grid: {rows: N, columns: 1, pattern: "independent"}`, 200 px per row, no
legend), five scatter traces per device in the old order and colour (max, mode+std, mode,
mode-std, min; `mode` and `mode-std` filled `tonexty`, which shades the mode +/- std band), trace
names `<device> max`, `<device> +1sigma`, ... and x in UTC epoch seconds.

One deliberate correction: the old DB_to_JSON wrote `xaxis1`/`yaxis1` for the first row and
anchors such as `"yaxis2"`. plotly.js ignores both spellings (its axis keys are `xaxis`,
`xaxis2`, ... and anchors are axis ids `y`, `y2`, ...), so the first row lost its title and the
anchors fell back to the grid's. We write the spellings plotly.js reads: the figure draws the
same, and the first device's name now shows.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import NamedTuple

OLD_LINE = {"color": "rgba(0,100,50,0.2)"}
ROW_HEIGHT_PX = 200


class StatPoint(NamedTuple):
    """One device's four old statistics for one file (a row of ACNETparameterStats, pivoted)."""

    device: str
    epoch_utc: float  # the file's window start, UTC epoch seconds
    mode: float | None
    std: float | None
    min: float | None
    max: float | None


def finite(x: float | None) -> float | None:
    """JSON has no NaN or infinity: a missing number is null, which plotly draws as a gap."""
    return x if x is not None and math.isfinite(x) else None


def _shift(a: float | None, b: float | None, sign: float) -> float | None:
    a, b = finite(a), finite(b)
    return None if a is None or b is None else a + sign * b


def axis_ids(k: int) -> tuple[str, str]:
    """plotly.js axis ids of grid row `k` (1-based): ("x", "y"), ("x2", "y2"), ..."""
    suffix = "" if k == 1 else str(k)
    return f"x{suffix}", f"y{suffix}"


def device_traces(device: str, points: Sequence[StatPoint], k: int) -> list[dict]:
    """The five old traces of one device on grid row `k`."""
    xid, yid = axis_ids(k)
    x = [p.epoch_utc for p in points]
    series = [
        ("max", [finite(p.max) for p in points], False),
        ("+1sigma", [_shift(p.mode, p.std, +1.0) for p in points], False),
        ("mode", [finite(p.mode) for p in points], True),
        ("-1sigma", [_shift(p.mode, p.std, -1.0) for p in points], True),
        ("min", [finite(p.min) for p in points], False),
    ]
    traces = []
    for label, y, filled in series:
        trace = {"x": x, "y": y, "xaxis": xid, "yaxis": yid, "type": "scatter"}
        if filled:
            trace["fill"] = "tonexty"
        trace["line"] = dict(OLD_LINE)
        trace["name"] = f"{device} {label}"
        traces.append(trace)
    return traces


def legacy_figure(devices: Sequence[str], points: Iterable[StatPoint]) -> dict:
    """The old figure: one grid row per device of `devices`, in that order (a device with no
    points keeps its empty row, as the old tool did). Points of other devices are ignored."""
    by_device: dict[str, list[StatPoint]] = {d: [] for d in devices}
    for p in points:
        if p.device in by_device:
            by_device[p.device].append(p)
    data: list[dict] = []
    layout: dict = {
        "grid": {"rows": len(devices), "columns": 1, "pattern": "independent"},
        "height": ROW_HEIGHT_PX * len(devices),
        "showlegend": False,
    }
    for k, device in enumerate(devices, start=1):
        xid, yid = axis_ids(k)
        layout[f"xaxis{xid[1:]}"] = {"anchor": yid}
        layout[f"yaxis{yid[1:]}"] = {"anchor": xid, "title": {"text": device}}
        rows = sorted(by_device[device], key=lambda p: p.epoch_utc)
        data.extend(device_traces(device, rows, k))
    return {"data": data, "layout": layout}
