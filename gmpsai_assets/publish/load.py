"""Read what the page and the old figure need from the statistics store, read-only.

Everything comes through the store's own views, so the rules of which statistics count (newest
file of a window, distilled before imported) live in one place, stats/store.py:
`ACNETparameterStats` for the old figure, exactly as the old DB_to_JSON read its sqlite table, and
`param_stats_current` (+ `data_files` for paths) for the page, topped up with imported old rows
that have no distilled twin.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path

from gmpsai_assets.files.paramfile import DataFileError, read_param_attrs
from gmpsai_assets.publish.figure import StatPoint
from gmpsai_assets.publish.rich import DayStats
from gmpsai_assets.samples import DeviceInfo
from gmpsai_assets.stats import store
from gmpsai_assets.status import DeviceStatus

# The old statistics pivoted to one row per device and time; `Interval_<device>` rows describe
# sample intervals, which the old figure never plotted.
_PIVOT = """
    SELECT paramname AS device, epochUTCsec AS epoch,
           max(statval) FILTER (WHERE statname = 'mode') AS mode,
           max(statval) FILTER (WHERE statname = 'std') AS std,
           max(statval) FILTER (WHERE statname = 'min') AS min,
           max(statval) FILTER (WHERE statname = 'max') AS max
    FROM ACNETparameterStats
    WHERE NOT starts_with(paramname, 'Interval_')
    GROUP BY paramname, epochUTCsec
"""

_DAY_COLUMNS = [f.name for f in fields(DayStats)
                if f.name not in ("device", "start_utc", "end_utc", "source", "file_path")]


@dataclass(frozen=True)
class StoreSnapshot:
    """What one read of the store saw."""

    points: list[StatPoint]  # for the old figure
    days: list[DayStats]  # for the page
    devices: list[str]  # every device with statistics, by name
    problems: list[str] = field(default_factory=list)  # of the store itself (store_problems)
    device_info: dict[str, DeviceInfo] = field(default_factory=dict)  # recorded_device_info


def stat_points(
    con: store.StoreConnection,
    devices: Sequence[str] | None = None,
    max_rows: int | None = None,
) -> list[StatPoint]:
    """The old figure's rows: of `devices` (all when None), the newest `max_rows` per device
    (all when None), oldest first."""
    sql = f"SELECT *, row_number() OVER (PARTITION BY device ORDER BY epoch DESC) AS age " \
          f"FROM ({_PIVOT})"
    where, params = [], []
    if devices is not None:
        where.append("list_contains(?, device)")
        params.append(list(devices))
    if max_rows is not None:
        where.append("age <= ?")
        params.append(max_rows)
    query = (f"SELECT device, epoch, mode, std, min, max FROM ({sql})"
             + (" WHERE " + " AND ".join(where) if where else "")
             + " ORDER BY device, epoch")
    return [StatPoint(*row) for row in con.execute(query, params).fetchall()]


def day_stats(con: store.StoreConnection) -> list[DayStats]:
    """One row per device and current data file, then the imported old rows (source legacy)
    whose device and time no distilled file covers."""
    cols = ", ".join(f's."{c}"' for c in _DAY_COLUMNS if c != "file_name")
    distilled = con.execute(
        f"""SELECT s.device, s.window_start_utc, s.window_end_utc, f.path, s.file_name, {cols}
            FROM param_stats_current s JOIN data_files f ON f.name = s.file_name
            ORDER BY s.device, s.window_start_utc"""
    ).fetchall()
    names = [c for c in _DAY_COLUMNS if c != "file_name"]
    out = [
        DayStats(device=r[0], start_utc=r[1], end_utc=r[2], source="distilled", file_path=r[3],
                 file_name=r[4], **dict(zip(names, r[5:], strict=True)))
        for r in distilled
    ]
    legacy = con.execute(
        f"""SELECT p.device, p.epoch, p.mode, p.std, p.min, p.max FROM ({_PIVOT}) p
            WHERE NOT EXISTS (SELECT 1 FROM param_stats_current s
                              WHERE s.device = p.device AND s.window_start_utc = p.epoch)
            ORDER BY p.device, p.epoch"""
    ).fetchall()
    out.extend(
        DayStats(device=d, start_utc=t, end_utc=None, source="legacy", status=DeviceStatus.OK,
                 mode=mode, std=std, min=lo, max=hi)
        for d, t, mode, std, lo, hi in legacy
    )
    return out


def read_store(db_path: str | Path, max_rows: int | None = None) -> StoreSnapshot:
    """Everything the publisher needs, in one read-only connection (waits out a writer).
    StoreMissingError when the database was never created. A store of an older schema is
    migrated first (its views then have the columns the page reads, NULL where never computed)."""
    if Path(db_path).exists():
        store.ensure_store(db_path)
    with store.reader(db_path) as con:
        points = stat_points(con, max_rows=max_rows)
        days = day_stats(con)
    devices = sorted({p.device for p in points} | {d.device for d in days})
    return StoreSnapshot(
        points, days, devices, store_problems(db_path), recorded_device_info(days)
    )


def store_problems(db_path: str | Path) -> list[str]:
    """What the page says about the store itself: the result files quarantined (moved aside
    because they did not read) whose data files are not distilled again yet."""
    summary = store.quarantine_summary(store.unresolved_quarantine(db_path))
    return [summary] if summary else []


# How many of a device's newest files are looked in for its description and units (a day whose
# source said nothing, say DevDB out of reach, does not blank the labels; a store of only ACL
# days, which never say anything, costs this many file reads, not a year of them).
RECORDED_LOOKBACK_FILES = 10


def recorded_device_info(days: Sequence[DayStats]) -> dict[str, DeviceInfo]:
    """Each device's description and units as the newest of its last RECORDED_LOOKBACK_FILES
    parameter files that says anything of them records (the store keeps neither: they are read
    from the files when publishing). Files that are gone or unreadable are passed over: the
    statistics came from the store."""
    newest: dict[str, list[DayStats]] = {}
    for d in days:
        if d.source == "distilled" and d.file_path:
            newest.setdefault(d.device, []).append(d)
    outcomes: dict[str, dict] = {}  # path -> the file's device records, each file read once
    found: dict[str, DeviceInfo] = {}
    for device, rows in newest.items():
        rows = sorted(rows, key=lambda r: r.start_utc, reverse=True)
        for row in rows[:RECORDED_LOOKBACK_FILES]:
            path = str(row.file_path)
            if path not in outcomes:
                try:
                    outcomes[path] = read_param_attrs(path)["device_outcomes"]
                except (DataFileError, OSError, KeyError, ValueError):
                    outcomes[path] = {}
            record = outcomes[path].get(device)
            if record is not None and (record.description or record.units):
                found[device] = record.info
                break
    return found
