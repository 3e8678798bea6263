"""The page's JSON: per device and day, the statistics, completeness, gaps and source file.

Built from plain rows (one per device and data file, as the store's `param_stats_current` view
gives them, plus statistics imported from an old GMPSAI.db that have no distilled twin), so it is
testable without a database. Columnar per device (one list per field, index = day) because a
few years of 47 devices is ~10^5 day rows and repeating every key would double the file. File
names and paths appear once, in `files`, and days refer to them by index.

Whether a day is a problem is decided by `quality.days`, once, so the page, the asset metadata
and the tests agree, with the completeness limits the param_data checks use: first the day (no
data at all; DataLogger outages, `day_outages` of each data file), written once into the
document (`no_data_days`, `outages`), then each device on what is its own (`assess_day`).

"Data as of" is the newest day with data; the page says loudly when the next day is past the
`published_json` deadline (deadlines.py). The moment it becomes overdue is written into the
document (`freshness.overdue_utc`), so a browser still tells it when publishing has stopped.

What the line and band mean is decided here, per kind of device (`typical`), and written into
the document as `typical`, `band_lo` and `band_hi`, so the page only draws: the old mode is the
smallest value of a continuous reading (every value distinct) and says nothing typical.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields

from gmpsai_assets.deadlines import DEFAULTS, due_at
from gmpsai_assets.publish.figure import finite
from gmpsai_assets.publish.labels import label_of
from gmpsai_assets.quality import COMPLETENESS_LIMITS, Level
from gmpsai_assets.quality.days import (
    NO_DATA_DAY,
    NOT_IN_FILE,
    Outage,
    assess_day,
    day_outages,
    duration,
    own_gaps,
)
from gmpsai_assets.samples import DeviceInfo
from gmpsai_assets.status import DeviceStatus
from gmpsai_assets.window import day_window, to_local

# 2: line and band columns; published as overview + details. 3: days without data and
# DataLogger outages once per day (`no_data_days`, `outages`), each device's own gaps and
# completeness, "data as of" and its deadline (`freshness`).
FORMAT = "gmpsai-site/3"
# The deadline "data as of" is judged by: the page's own (deadlines.py).
PAGE_ASSET = "published_json"
# Own gap spans written per device-day for the day's details (the store keeps more).
OWN_SPANS_SHOWN = 10
# What the page needs to draw its first screen; the rest of each day's figures are published
# apart (split_document) and fetched after it: five years of 47 devices are ~40 MB in all.
OVERVIEW_FIELDS = ("start_local", "level", "source", "typical", "band_lo", "band_hi", "min",
                   "max")


@dataclass(frozen=True)
class DayStats:
    """One device in one data file (or one imported old row: source "legacy", no file)."""

    device: str
    start_utc: float
    end_utc: float | None
    source: str = "distilled"  # distilled | legacy | none (a day with no statistics at all)
    file_name: str | None = None
    file_path: str | None = None
    node: str | None = None
    status: str = DeviceStatus.OK  # as the file says (gmpsai_assets.status)
    reason: str = ""
    rows: int | None = None
    expected_rows: int | None = None
    completeness: float | None = None
    gap_count: int | None = None
    gap_seconds: float | None = None
    nan_count: int | None = None
    inf_count: int | None = None
    nonincreasing: int | None = None
    min: float | None = None
    p01: float | None = None
    p05: float | None = None
    mode: float | None = None
    mean: float | None = None
    p50: float | None = None
    p95: float | None = None
    p99: float | None = None
    max: float | None = None
    std: float | None = None
    distinct_values: int | None = None
    mode_share: float | None = None
    value_changes: int | None = None
    first_utc: float | None = None
    last_utc: float | None = None
    interval_mode: float | None = None
    interval_max: float | None = None
    gap_spans: list[list[float]] | None = None  # None: distilled before the store kept them


STAT_FIELDS = [f.name for f in fields(DayStats)][3:]  # everything after device/start/end
# What the day's outages leave a device (quality.days.own_gaps): its own gaps and completeness,
# how many of its gaps were the outages', and where its own gaps lie (local time texts).
OWN_FIELDS = ["own_gap_count", "own_gap_seconds", "own_completeness", "outage_gaps",
              "own_gap_spans"]
# Per-day lists written for each device, in this order (file_name/file_path become `file`;
# gap_spans become the day's `outages` and each device's `own_gap_spans`).
DAY_FIELDS = ["day", "start_local", "start_utc", "end_utc", "file", "level", "problem",
              "typical", "band_lo", "band_hi",
              *[f for f in STAT_FIELDS if f not in ("file_name", "file_path", "gap_spans")],
              *OWN_FIELDS]


@dataclass(frozen=True)
class TypicalRule:
    """What the line and band of a kind of device show (their legend)."""

    line: str
    band: str  # "" when the kind has no band


READING = TypicalRule("median", "p05–p95")  # also control, alarms and names of no known kind
SETTING = TypicalRule("setting (value held longest)", "")
STATUS = TypicalRule("usual state", "")
OLD_STATS = "imported old statistics: mode, band mode ± std"  # their only figures


def typical_rule(kind: str) -> TypicalRule:
    return {"setting": SETTING, "basic status": STATUS}.get(kind, READING)


def typical(kind: str, d: DayStats) -> tuple[float | None, float | None, float | None]:
    """(line, band low, band high) of one day of a device of `kind` (a property name).

    Readings: the median and p05-p95; a row distilled before the store kept p05/p95 (schema 1)
    gets no band until its file is distilled again. Settings: the mode, i.e. the value held for
    the most samples (a setting repeats one value, so here the mode means something). Status
    words: the usual state (the mode); how long it held and how often the word changed go to
    the day's details. Imported old statistics carry only mode, std, min and max: their mode
    line and mode ± std band are drawn as the old site drew them, marked as old."""
    if d.source == "legacy":
        m, s = finite(d.mode), finite(d.std)
        if m is None or kind in ("setting", "basic status"):
            return m, None, None
        return m, (m - s if s is not None else None), (m + s if s is not None else None)
    if kind in ("setting", "basic status"):
        return finite(d.mode), None, None
    lo, hi = finite(d.p05), finite(d.p95)
    if lo is None or hi is None:
        lo = hi = None
    return finite(d.p50), lo, hi


def local_day(epoch: float) -> str:
    return to_local(epoch).date().isoformat()


def y_range(days: Sequence[DayStats], kind: str = "reading") -> tuple[list[float] | None, bool]:
    """A y range an operator can read: everything when min/max stay within 20 band-widths of
    the typical line and band, else those widened by 3 of their widths each side and clipped to
    min/max (one spike or a day of zeros must not flatten years of a drifting supply).
    Returns (range or None when there is nothing to plot, whether min/max were clipped)."""
    shown = [x for d in days for x in typical(kind, d) if x is not None]
    lows = [x for d in days for x in (finite(d.min),) if x is not None] + shown
    highs = [x for d in days for x in (finite(d.max),) if x is not None] + shown
    band = shown
    if not lows or not highs:
        return None, False
    full_lo, full_hi = min(lows), max(highs)
    lo, hi, clipped = full_lo, full_hi, False
    if band:
        b_lo, b_hi = min(band), max(band)
        width = b_hi - b_lo
        if width > 0 and (full_hi - full_lo) > 20 * width:
            lo, hi = max(full_lo, b_lo - 3 * width), min(full_hi, b_hi + 3 * width)
            clipped = True
    span, mid = hi - lo, (hi + lo) / 2
    if span < max(abs(mid) * 1e-6, 1e-12):  # a constant setting (std is rounding noise):
        half = max(abs(mid) * 1e-3, 1e-9)  # show +/-0.1% around it, not a 1e-14-wide axis
        return [mid - half, mid + half], clipped
    pad = 0.05 * span
    return [lo - pad, hi + pad], clipped


def fill_missing_days(devices: Sequence[str], days: Sequence[DayStats]) -> list[DayStats]:
    """Add a `none` row for each local day between the first and last day of the whole data
    set on which a device has no statistics, so each plot breaks its line there and each table
    lists the day. Why, in the row's reason: no device has statistics that day (NO_DATA_DAY:
    a day without data, shown once, no device's error), or others do (NOT_IN_FILE: the grab
    records every device it asks for, failed or empty ones too, so this one was not asked)."""
    if not days:
        return []
    first = min(dt.date.fromisoformat(local_day(d.start_utc)) for d in days)
    last = max(dt.date.fromisoformat(local_day(d.start_utc)) for d in days)
    have: dict[str, set[str]] = {dev: set() for dev in devices}
    for d in days:
        have.setdefault(d.device, set()).add(local_day(d.start_utc))
    with_data = set().union(*have.values())
    out = list(days)
    for dev in devices:
        day = first
        while day <= last:
            if day.isoformat() not in have[dev]:
                window = day_window(day)
                why = NOT_IN_FILE if day.isoformat() in with_data else NO_DATA_DAY
                out.append(DayStats(dev, window.start, window.end, source="none",
                                    status="missing", reason=why))
            day += dt.timedelta(days=1)
    return out


def no_data_days(rows: Sequence[DayStats]) -> list[str]:
    """The local days between the first and the last with data on which no device has any."""
    days = {local_day(d.start_utc) for d in rows}
    with_data = {local_day(d.start_utc) for d in rows if d.source != "none"}
    return sorted(days - with_data)


def file_outages(rows: Iterable[DayStats]) -> dict[str, list[Outage]]:
    """The DataLogger outages of each data file (by name) among `rows`, only files with some."""
    by_file: dict[str, list[DayStats]] = {}
    for d in rows:
        if d.file_name is not None:
            by_file.setdefault(d.file_name, []).append(d)
    found = {name: day_outages(ds) for name, ds in by_file.items()}
    return {name: o for name, o in found.items() if o}


def _local_text(epoch: float, tenths: bool = False) -> str:
    """Local wall time as text; `tenths` for spans shorter than a second (a device's gaps)."""
    t = to_local(epoch)
    text = t.strftime("%Y-%m-%d %H:%M:%S")
    return f"{text}.{t.microsecond // 100_000}" if tenths else text


def outage_columns(outages: Mapping[str, Sequence[Outage]],
                   nodes: Mapping[str, str | None]) -> dict[str, list]:
    """The document's `outages`: one entry per outage, columnar, oldest first; local times as
    texts (the page places them on its local time axis, see app.js xOf)."""
    items = sorted(((o, name) for name, os in outages.items() for o in os),
                   key=lambda item: item[0].start_utc)
    return {
        "day": [local_day(o.start_utc) for o, _ in items],
        "start_local": [_local_text(o.start_utc) for o, _ in items],
        "end_local": [_local_text(o.end_utc) for o, _ in items],
        "start_utc": [o.start_utc for o, _ in items],
        "end_utc": [o.end_utc for o, _ in items],
        "seconds": [round(o.seconds, 3) for o, _ in items],
        "missing": [o.missing for o, _ in items],
        "devices": [o.devices for o, _ in items],
        "node": [nodes.get(name) for _, name in items],
    }


def freshness(newest: str | None, deadline: dt.time, now: float) -> dict | None:
    """"Data as of" the newest day with data, and when it is no longer enough: the next day is
    due by `deadline` (local) the day after it (deadlines.due_at). `overdue` is as of `now`;
    a browser compares `overdue_utc` with its own clock."""
    if newest is None:
        return None
    nxt = dt.date.fromisoformat(newest) + dt.timedelta(days=1)
    due = due_at(nxt, deadline)
    return {
        "data_as_of": newest, "asset": PAGE_ASSET, "deadline": deadline.strftime("%H:%M"),
        "next_day": nxt.isoformat(), "overdue_utc": due,
        "overdue_local": to_local(due).strftime("%Y-%m-%d %H:%M %Z"), "overdue": now >= due,
    }


def device_order(listed: Sequence[str], present: Iterable[str]) -> list[str]:
    """Devices of the list in list order, then any other device found in the store by name."""
    seen = set(listed)
    return [*listed, *sorted(set(present) - seen)]


def _json_number(x: object) -> object:
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def site_document(
    days: Iterable[DayStats],
    devices: Sequence[str],
    generated_utc: float,
    limits: tuple[float, float] = COMPLETENESS_LIMITS,
    problems: Sequence[str] = (),
    device_info: Mapping[str, DeviceInfo] | None = None,
    deadline: dt.time | None = None,
) -> dict:
    """The page's JSON document for `devices` (in that order) from their day rows, the store's
    own `problems` (publish/load.store_problems), shown under the page's title, and
    `device_info`, what the parameter files record of each device (labels.label_of).
    `deadline`: the page's (`published_json`) local deadline, for "data as of" (deadlines.py
    defaults when None); judged as of `generated_utc`."""
    rows = fill_missing_days(devices, [d for d in days if d.device in set(devices)])
    outages = file_outages(rows)
    files: list[dict] = []
    file_index: dict[str, int] = {}
    by_device: dict[str, list[DayStats]] = {dev: [] for dev in devices}
    for d in rows:
        by_device[d.device].append(d)
        if d.file_name is not None and d.file_name not in file_index:
            file_index[d.file_name] = len(files)
            files.append({"name": d.file_name, "path": d.file_path, "node": d.node,
                          "start_utc": d.start_utc, "end_utc": d.end_utc})
    out_devices = []
    for dev in devices:
        ordered = sorted(by_device[dev], key=lambda d: (d.start_utc, d.file_name or ""))
        label = label_of(dev, (device_info or {}).get(dev))
        rule = typical_rule(label.kind)
        yr, clipped = y_range(ordered, label.kind)
        columns: dict[str, list] = {name: [] for name in DAY_FIELDS}
        levels = dict.fromkeys(Level, 0)
        for d in ordered:
            day_outs = outages.get(d.file_name or "", [])
            own = own_gaps(d, day_outs) if d.source == "distilled" else None
            level, why = assess_day(d, limits, day_outs, own)
            levels[level] += 1
            line, lo, hi = typical(label.kind, d)
            values = {
                "day": local_day(d.start_utc),
                "start_local": _local_text(d.start_utc),
                "file": file_index.get(d.file_name) if d.file_name else None,
                "level": level, "problem": why, "typical": line, "band_lo": lo, "band_hi": hi,
                "own_gap_count": own.count if own else None,
                "own_gap_seconds": own.seconds if own else None,
                "own_completeness": own.completeness if own else None,
                "outage_gaps": own.in_outages if own else None,
                "own_gap_spans": [[_local_text(a, True), _local_text(b, True)]
                                  for a, b in own.spans[:OWN_SPANS_SHOWN]] if own else None,
            }
            for name in DAY_FIELDS:
                value = values[name] if name in values else getattr(d, name)
                columns[name].append(_json_number(value))
        out_devices.append({
            "name": dev, "kind": label.kind, "description": label.description,
            "units": label.units, "y_range": yr, "y_clipped": clipped,
            "typical_label": rule.line, "band_label": rule.band, "old_label": OLD_STATS,
            "counts": levels, "days": columns,
        })
    with_data = [d for d in rows if d.source != "none"]
    newest = max((local_day(d.start_utc) for d in with_data), default=None)
    return {
        "format": FORMAT,
        "generated_utc": generated_utc,
        "generated_local": to_local(generated_utc).strftime("%Y-%m-%d %H:%M:%S %Z"),
        "timezone": "America/Chicago",
        "completeness_limits": {"warn": limits[0], "error": limits[1]},
        "problems": list(problems),
        "freshness": freshness(newest, deadline or DEFAULTS.of(PAGE_ASSET), generated_utc),
        "no_data_days": no_data_days(rows),
        "outages": outage_columns(outages, {f["name"]: f["node"] for f in files}),
        "files": files,
        "devices": out_devices,
    }


def split_document(doc: dict) -> tuple[dict, dict]:
    """(overview, details) of a site document: the overview is the document with each device's
    days cut to OVERVIEW_FIELDS (what the first screen draws); the details hold, per device in
    the same order, every other day column (tables, day details, hover text)."""
    overview = {**doc, "devices": []}
    details = {"format": doc.get("format"), "devices": []}
    for dev in doc["devices"]:
        days = dev["days"]
        overview["devices"].append(
            {**dev, "days": {k: v for k, v in days.items() if k in OVERVIEW_FIELDS}})
        details["devices"].append(
            {"name": dev["name"],
             "days": {k: v for k, v in days.items() if k not in OVERVIEW_FIELDS}})
    return overview, details


def outage_text(start_local: str, end_local: str, seconds: float, missing: int,
                devices: int) -> str:
    """One outage as the page's day line says it (app.js outageText says the same)."""
    return (f"DataLogger outage {start_local[11:]}–{end_local[11:]} ({duration(seconds)}): "
            f"no samples from {missing} of {devices} devices")


def day_lines(doc: Mapping, day: str) -> list[str]:
    """What a site document (as published: the overview, `split_document`) says of local `day`:
    no data, or its DataLogger outages, each once, then the devices with an error or a warning
    that day, each with the level; "no device error or warning" when none."""
    if day in doc.get("no_data_days", []):
        return [NO_DATA_DAY]
    out = doc.get("outages") or {}
    lines = [outage_text(a, b, sec, m, n) for d, a, b, sec, m, n in zip(
        out.get("day", []), out.get("start_local", []), out.get("end_local", []),
        out.get("seconds", []), out.get("missing", []), out.get("devices", []), strict=True)
        if d == day]
    found = False
    for level, word in ((Level.ERROR, "error"), (Level.WARN, "warning")):
        names = [dev["name"] for dev in doc.get("devices", [])
                 for start, lv in zip(dev["days"]["start_local"], dev["days"]["level"],
                                      strict=True)
                 if start.startswith(day) and lv == level]
        if names:
            found = True
            lines.append(f"{len(names)} device{'s' if len(names) != 1 else ''} with {word}s: "
                         + ", ".join(names))
    if not found and any(dev["days"]["start_local"] and any(
            s.startswith(day) for s in dev["days"]["start_local"]) for dev in doc.get(
            "devices", [])):
        lines.append("no device error or warning")
    elif not found:
        lines.append("not on the page")
    return lines
