"""A small real statistics store for the publishing tests, built through the store's own API.

Three local days of one-minute parameter files (2026-03-01, 03-02 and 03-04: 03-03 is lost),
three devices, one of them named like an HTML injection (an old database may hold any string).
The statistics are computed by stats.compute from real arrays, so every number the page or the
old figure shows can be checked against `expected[(device, day)]`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gmpsai_assets.files.naming import PARAM_PREFIX, data_file_name
from gmpsai_assets.stats import store
from gmpsai_assets.stats.compute import ParamStats, param_stats
from gmpsai_assets.window import Window, local_midnight, parse_date

EVIL = "<script>window.__pwned=1</script><img src=x onerror=window.__pwned=2>"
DEVICES = ("B:VIMIN", "I:IB", EVIL)
DAYS = ("2026-03-01", "2026-03-02", "2026-03-04")
MISSING_DAY = "2026-03-03"
LEVELS = {  # what the page must say about each (device, day)
    ("B:VIMIN", "2026-03-01"): "ok", ("B:VIMIN", "2026-03-02"): "warn",
    ("B:VIMIN", "2026-03-04"): "ok", ("I:IB", "2026-03-01"): "ok",
    ("I:IB", "2026-03-02"): "error", ("I:IB", "2026-03-04"): "ok",
    (EVIL, "2026-03-01"): "ok", (EVIL, "2026-03-02"): "ok", (EVIL, "2026-03-04"): "ok",
}


@dataclass(frozen=True)
class SmallStore:
    db: Path
    expected: dict[tuple[str, str], ParamStats]
    files: dict[str, str]  # day -> file name
    windows: dict[str, Window]


def _values(device: str, k: int, n: int) -> np.ndarray:
    rng = np.random.default_rng(100 * k + len(device))
    centre = {"B:VIMIN": 103.39, "I:IB": 5200.0}.get(device, 1.0) + 0.01 * k
    return np.round(centre + rng.normal(0.0, 0.02 * (1 + k), n), 3)


def build_store(root: Path) -> SmallStore:
    """The store described above, in `root`/gmpsai.duckdb."""
    db = root / "gmpsai.duckdb"
    expected: dict[tuple[str, str], ParamStats] = {}
    files: dict[str, str] = {}
    windows: dict[str, Window] = {}
    for k, day in enumerate(DAYS):
        start = local_midnight(parse_date(day))
        window = Window(start, start + 60.0)  # one minute: 900 ticks
        t = start + np.arange(900) / 15.0
        params = []
        for device in DEVICES:
            tt, status = t, "ok"
            if device == "B:VIMIN" and day == "2026-03-02":
                tt = np.concatenate([t[:300], t[330:]])  # a 2 s gap: 97 % complete
            if device == "I:IB" and day == "2026-03-02":
                tt, status = t[:0], "empty"  # the logger returned nothing
            ps = param_stats(device, tt, _values(device, k, tt.size), window, status=status,
                             reason="No values" if status == "empty" else "")
            params.append(ps)
            expected[(device, day)] = ps
        name = data_file_name(PARAM_PREFIX, "MLrn", window, 1_772_000_000 + k)
        record = store.FileRecord(
            name=name, path=str(root / "params" / name), kind="params",
            format="gmpsai-params/1", generation="new", node="MLrn",
            window_start_utc=window.start, window_end_utc=window.end,
            created_utc=1_772_000_000.0 + k, bytes=1000, mtime_utc=time.time(), sha256=None,
            status="ok", error="", distilled_utc=time.time(), seconds=0.01,
        )
        store.replace_file(db, record, params)
        files[day] = name
        windows[day] = window
    return SmallStore(db, expected, files, windows)


def test_small_store_holds_what_the_tests_expect(tmp_path):
    s = build_store(tmp_path)
    with store.reader(s.db) as con:
        rows = con.execute(
            "SELECT paramname, count(*) FROM ACNETparameterStats "
            "WHERE NOT starts_with(paramname, 'Interval_') GROUP BY ALL"
        ).fetchall()
    # I:IB has no statistics on the empty day; the others have mode/std/min/max each day.
    assert dict(rows) == {"B:VIMIN": 12, "I:IB": 8, EVIL: 12}
    assert s.expected[("B:VIMIN", "2026-03-02")].gap_count == 1
