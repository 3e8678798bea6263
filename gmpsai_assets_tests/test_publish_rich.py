"""The page's JSON (gmpsai-site.json): every number matches the store, problem days are judged
with the configured limits, lost days appear, device names stay data."""

from __future__ import annotations

import json

import pytest

from gmpsai_assets.publish.load import day_stats, read_store
from gmpsai_assets.publish.rich import (
    DAY_FIELDS,
    DayStats,
    device_order,
    site_document,
    y_range,
)
from gmpsai_assets.stats import store
from gmpsai_assets_tests.test_publish_support import (
    DAYS,
    DEVICES,
    EVIL,
    LEVELS,
    MISSING_DAY,
    build_store,
)

NUMBERS = ("rows", "expected_rows", "completeness", "gap_count", "gap_seconds", "nan_count",
           "min", "p01", "mode", "mean", "p50", "p99", "max", "std", "first_utc", "last_utc",
           "interval_mode", "interval_max")


@pytest.fixture
def doc_and_store(tmp_path):
    small = build_store(tmp_path)
    with store.reader(small.db) as con:
        days = day_stats(con)
    doc = site_document(days, list(DEVICES), generated_utc=1_772_700_000.0)
    return json.loads(json.dumps(doc, allow_nan=False)), small  # what a browser would parse


def test_every_number_matches_the_database(doc_and_store):
    doc, small = doc_and_store
    assert doc["format"] == "gmpsai-site/1"
    assert [d["name"] for d in doc["devices"]] == list(DEVICES)
    for dev in doc["devices"]:
        cols = dev["days"]
        assert set(cols) == set(DAY_FIELDS)
        assert cols["day"] == ["2026-03-01", "2026-03-02", MISSING_DAY, "2026-03-04"]
        for day in DAYS:
            i = cols["day"].index(day)
            ps = small.expected[(dev["name"], day)]
            for field in NUMBERS:
                want = getattr(ps, field)
                assert cols[field][i] == pytest.approx(want), (dev["name"], day, field)
            assert cols["status"][i] == ps.status
            file = doc["files"][cols["file"][i]]
            assert file["name"] == small.files[day]
            assert file["path"].endswith(small.files[day])
            assert cols["start_utc"][i] == small.windows[day].start
            assert cols["start_local"][i] == f"{day} 00:00:00"


def test_problem_days_are_highlighted_with_a_reason(doc_and_store):
    doc, _ = doc_and_store
    for dev in doc["devices"]:
        cols = dev["days"]
        for day in DAYS:
            i = cols["day"].index(day)
            assert cols["level"][i] == LEVELS[(dev["name"], day)], (dev["name"], day)
        lost = cols["day"].index(MISSING_DAY)
        assert (cols["level"][lost], cols["source"][lost], cols["file"][lost]) == (
            "error", "none", None)
        assert cols["problem"][lost] == "no statistics for this day"
    vimin = doc["devices"][0]["days"]
    assert vimin["problem"][1] == "1 gap (2.0 s missing)"
    iib = doc["devices"][1]["days"]
    assert iib["problem"][1] == "device empty: No values"
    assert doc["devices"][1]["counts"] == {"ok": 2, "warn": 0, "error": 2, "unknown": 0}


def test_device_names_stay_plain_data(doc_and_store):
    doc, _ = doc_and_store
    assert doc["devices"][2]["name"] == EVIL
    assert doc["devices"][2]["kind"] == ""  # not an ACNET name, so no property is claimed


def test_y_range_follows_the_band_unless_an_outlier_would_flatten_it():
    days = [DayStats("B:X", float(i), None, mode=100.0 + 0.1 * i, std=0.05, min=99.8,
                     max=100.5) for i in range(5)]
    (lo, hi), clipped = y_range(days)
    assert not clipped and lo < 99.8 and hi > 100.5
    spike = [*days, DayStats("B:X", 9.0, None, mode=100.2, std=0.05, min=0.0, max=1e6)]
    (lo, hi), clipped = y_range(spike)
    assert clipped and 98 < lo < 99.95 and 100.5 < hi < 103  # band 99.95..100.45
    flat = [DayStats("B_X", 0.0, None, mode=103.393, std=0.0, min=103.393, max=103.393)]
    (lo, hi), _ = y_range(flat)
    assert lo < 103.393 < hi
    # a constant setting whose std is float rounding noise still gets a readable axis
    noisy_flat = [DayStats("B_X", 0.0, None, mode=103.391, std=1.4e-14, min=103.391,
                           max=103.391)]
    (lo, hi), _ = y_range(noisy_flat)
    assert lo < 103.391 < hi and hi - lo > 0.1
    assert y_range([DayStats("B:X", 0.0, None, source="none")]) == (None, False)


def test_device_order_puts_the_list_first():
    assert device_order(["B:B", "B:A"], {"B:A", "B:C", "A:Z"}) == ["B:B", "B:A", "A:Z", "B:C"]


def test_read_store_sees_every_device_once(tmp_path):
    small = build_store(tmp_path)
    snap = read_store(small.db)
    assert snap.devices == sorted(DEVICES)
    assert len(snap.days) == 9  # 3 devices x 3 files, I:IB's empty day included
    assert all(d.source == "distilled" for d in snap.days)
    assert len(snap.points) == 8  # the empty day has no statistics for the old figure


def test_imported_old_statistics_fill_in_where_nothing_was_distilled(tmp_path):
    """An old GMPSAI.db imported with the store's importer: its days show as `unknown`
    (completeness was never recorded) and a distilled file of the same day wins."""
    import calendar
    import datetime as dt
    import sqlite3

    from gmpsai_assets.stats.legacy_db import import_legacy_stats

    small = build_store(tmp_path)
    old = tmp_path / "GMPSAI.db"

    def as_written(day: str) -> float:  # the old tool's local wall clock read as UTC
        return float(calendar.timegm(dt.date.fromisoformat(day).timetuple()))

    with sqlite3.connect(old) as con:
        con.execute("CREATE TABLE ACNETparameterStats "
                    "(epochUTCsec REAL, paramname TEXT, statname TEXT, statval REAL)")
        for day, base in (("2026-02-27", 50.0), ("2026-03-01", 60.0)):
            con.executemany("INSERT INTO ACNETparameterStats VALUES (?, 'B:VIMIN', ?, ?)",
                            [(as_written(day), s, base + k) for k, s in
                             enumerate(("mode", "std", "min", "max"))])
    import_legacy_stats(old, small.db)
    with store.reader(small.db) as con:
        days = day_stats(con)
    doc = site_document(days, list(DEVICES), generated_utc=1_772_700_000.0)
    cols = doc["devices"][0]["days"]
    assert cols["day"][:3] == ["2026-02-27", "2026-02-28", "2026-03-01"]
    assert (cols["source"][0], cols["level"][0], cols["file"][0]) == ("legacy", "unknown", None)
    assert (cols["mode"][0], cols["std"][0], cols["min"][0], cols["max"][0]) == (50, 51, 52, 53)
    assert cols["level"][1] == "error"  # nothing at all on 02-28
    distilled = small.expected[("B:VIMIN", "2026-03-01")]
    assert (cols["source"][2], cols["mode"][2]) == ("distilled", pytest.approx(distilled.mode))
