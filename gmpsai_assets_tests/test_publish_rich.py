"""The page's JSON (gmpsai-site.json): every number matches the store, problem days are judged
with the configured limits, lost days appear, device names stay data."""

from __future__ import annotations

import json

import pytest

from gmpsai_assets.publish.load import day_stats, read_store
from gmpsai_assets.publish.rich import (
    DAY_FIELDS,
    OVERVIEW_FIELDS,
    DayStats,
    device_order,
    site_document,
    split_document,
    typical,
    y_range,
)
from gmpsai_assets.quality.days import NO_DATA_DAY
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
           "min", "p01", "p05", "mode", "mean", "p50", "p95", "p99", "max", "std", "first_utc",
           "last_utc", "interval_mode", "interval_max", "distinct_values", "mode_share",
           "value_changes")


@pytest.fixture
def doc_and_store(tmp_path):
    small = build_store(tmp_path)
    with store.reader(small.db) as con:
        days = day_stats(con)
    doc = site_document(days, list(DEVICES), generated_utc=1_772_700_000.0)
    return json.loads(json.dumps(doc, allow_nan=False)), small  # what a browser would parse


def test_every_number_matches_the_database(doc_and_store):
    doc, small = doc_and_store
    assert doc["format"] == "gmpsai-site/3"
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
        # a day no device has data for is no device's error: the day is without data, once
        lost = cols["day"].index(MISSING_DAY)
        assert (cols["level"][lost], cols["source"][lost], cols["file"][lost]) == (
            "unknown", "none", None)
        assert cols["problem"][lost] == NO_DATA_DAY
    assert doc["no_data_days"] == [MISSING_DAY]
    assert doc["outages"]["day"] == []  # I:IB's empty day and B:VIMIN's gap: 2 of 3 devices
    vimin = doc["devices"][0]["days"]
    assert vimin["problem"][1] == "1 gap (2.0 s missing)"
    assert (vimin["own_gap_count"][1], vimin["outage_gaps"][1]) == (1, 0)
    # samples 299 and 330 either side (at 15 Hz: 19.93 s and 22.0 s after midnight)
    assert vimin["own_gap_spans"][1] == [["2026-03-02 00:00:19.9", "2026-03-02 00:00:22.0"]]
    iib = doc["devices"][1]["days"]
    assert iib["problem"][1] == "device empty: No values"
    assert doc["devices"][1]["counts"] == {"ok": 2, "warn": 0, "error": 1, "unknown": 1}


def test_device_names_stay_plain_data(doc_and_store):
    doc, _ = doc_and_store
    assert doc["devices"][2]["name"] == EVIL
    assert doc["devices"][2]["kind"] == ""  # not an ACNET name, so no property is claimed


def _reading(i: float, p50: float, spread: float = 0.05, lo: float = 99.8,
             hi: float = 100.5) -> DayStats:
    return DayStats("B:X", float(i), None, p05=p50 - spread, p50=p50, p95=p50 + spread,
                    mode=lo, min=lo, max=hi)


def test_y_range_follows_the_band_unless_an_outlier_would_flatten_it():
    days = [_reading(i, 100.0 + 0.1 * i) for i in range(5)]
    (lo, hi), clipped = y_range(days)
    assert not clipped and lo < 99.8 and hi > 100.5
    spike = [*days, _reading(9, 100.2, lo=0.0, hi=1e6)]
    (lo, hi), clipped = y_range(spike)
    assert clipped and 98 < lo < 99.95 and 100.5 < hi < 103  # line and band 99.95..100.45
    flat = [DayStats("B_X", 0.0, None, mode=103.393, std=0.0, min=103.393, max=103.393)]
    (lo, hi), _ = y_range(flat, "setting")
    assert lo < 103.393 < hi
    # a constant setting whose figures differ by float rounding noise still gets a readable axis
    noisy_flat = [DayStats("B_X", 0.0, None, mode=103.391, std=1.4e-14, min=103.391,
                           max=103.391 + 1e-14)]
    (lo, hi), _ = y_range(noisy_flat, "setting")
    assert lo < 103.391 < hi and hi - lo > 0.1
    assert y_range([DayStats("B:X", 0.0, None, source="none")]) == (None, False)


def test_the_line_means_something_for_each_kind_of_device():
    """Readings: median and p05-p95 (the old mode is the minimum of distinct values); settings:
    the value held longest; status words: the usual state; old imported rows: their mode and
    mode ± std, the only figures they have; rows distilled before p05/p95 were stored: the
    median without a band."""
    day = DayStats("B:X", 0.0, None, min=1.0, mode=1.0, p05=2.0, p50=3.0, p95=4.0, std=0.5)
    assert typical("reading", day) == (3.0, 2.0, 4.0)
    assert typical("setting", day) == (1.0, None, None)
    assert typical("basic status", day) == (1.0, None, None)
    assert typical("", day) == (3.0, 2.0, 4.0)  # a name of no known kind: as a reading
    old = DayStats("B:X", 0.0, None, source="legacy", mode=1.0, std=0.5, min=0.0, max=9.0)
    assert typical("reading", old) == (1.0, 0.5, 1.5)
    assert typical("basic status", old) == (1.0, None, None)
    v1 = DayStats("B:X", 0.0, None, p50=3.0, mode=1.0)  # schema 1: no p05/p95
    assert typical("reading", v1) == (3.0, None, None)
    assert typical("reading", DayStats("B:X", 0.0, None, source="none")) == (None, None, None)


def test_document_carries_the_line_band_and_their_legend(doc_and_store):
    doc, small = doc_and_store
    vimin = doc["devices"][0]
    assert (vimin["typical_label"], vimin["band_label"]) == ("median", "p05–p95")
    ps = small.expected[("B:VIMIN", "2026-03-01")]
    cols = vimin["days"]
    assert (cols["typical"][0], cols["band_lo"][0], cols["band_hi"][0]) == pytest.approx(
        (ps.p50, ps.p05, ps.p95))
    assert cols["typical"][2] is None  # the lost day


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
    assert (cols["level"][1], cols["problem"][1]) == ("unknown", NO_DATA_DAY)  # none 02-28
    assert doc["no_data_days"] == ["2026-02-28", MISSING_DAY]
    distilled = small.expected[("B:VIMIN", "2026-03-01")]
    assert (cols["source"][2], cols["mode"][2]) == ("distilled", pytest.approx(distilled.mode))


def test_split_document_keeps_every_column_once(doc_and_store):
    """The first screen's overview and the details fetched after it add up to the document."""
    doc, _ = doc_and_store
    overview, details = split_document(doc)
    assert {k: v for k, v in overview.items() if k != "devices"} == {
        k: v for k, v in doc.items() if k != "devices"}
    for full, over, more in zip(doc["devices"], overview["devices"], details["devices"],
                                strict=True):
        assert set(over["days"]) == set(OVERVIEW_FIELDS)
        assert more["name"] == full["name"] == over["name"]
        assert {**over["days"], **more["days"]} == full["days"]
        assert not set(over["days"]) & set(more["days"])


def test_data_as_of_and_when_it_is_overdue(doc_and_store):
    """The newest day with data is 2026-03-04; the next one is due by the page's 05:30 deadline
    the day after it: 2026-03-06 05:30 CST = 11:30 UTC (daylight time starts 03-08)."""
    import calendar
    import datetime as dt

    from gmpsai_assets.publish.rich import freshness

    doc, _ = doc_and_store
    due = calendar.timegm((2026, 3, 6, 11, 30, 0))
    assert doc["freshness"] == {
        "data_as_of": "2026-03-04", "asset": "published_json", "deadline": "05:30",
        "next_day": "2026-03-05", "overdue_utc": due, "overdue_local": "2026-03-06 05:30 CST",
        "overdue": False}  # generated 2026-03-05 02:40 CST
    assert freshness("2026-03-04", dt.time(5, 30), due - 1)["overdue"] is False
    assert freshness("2026-03-04", dt.time(5, 30), due)["overdue"] is True
    assert freshness("2026-03-04", dt.time(2, 0), 0.0)["overdue_local"] == "2026-03-06 02:00 CST"
    assert freshness(None, dt.time(5, 30), due) is None


def test_an_outage_is_said_once_for_the_day_and_devices_are_judged_on_their_own():
    """Four devices of one file lose 10:00:00..10:05:00 local; B:C also has a gap of its own.
    The document holds one outage; only B:C has a warning; the summary lines say so."""
    from gmpsai_assets.publish.rich import day_lines
    from gmpsai_assets.window import local_midnight, parse_date

    start = local_midnight(parse_date("2026-03-02"))
    a, b = start + 36000.0, start + 36300.0

    def dev(name: str, spans: list[list[float]]) -> DayStats:
        lost = sum(y - x for x, y in spans)
        rows = round((86400.0 - lost) * 15)
        return DayStats(name, start, start + 86400.0, file_name="p.h5", file_path="/p.h5",
                        rows=rows, expected_rows=1296000, completeness=rows / 1296000,
                        gap_count=len(spans), gap_seconds=lost - 0.0667 * len(spans),
                        gap_spans=spans, nan_count=0, inf_count=0, nonincreasing=0, p50=1.0)

    rows = [dev("B:A", [[a, b]]), dev("B:B", [[a - 0.01, b + 0.01]]),
            dev("B:C", [[a, b], [start + 50000.0, start + 50600.0]]), dev("B:D", [[a, b]])]
    doc = site_document(rows, ["B:A", "B:B", "B:C", "B:D"], generated_utc=start + 86400.0)
    assert doc["outages"] == {
        "day": ["2026-03-02"], "start_local": ["2026-03-02 10:00:00"],
        "end_local": ["2026-03-02 10:05:00"], "start_utc": [a], "end_utc": [b],
        "seconds": [300.0], "missing": [4], "devices": [4], "node": [None]}
    levels = {d["name"]: (d["days"]["level"][0], d["days"]["problem"][0]) for d in doc["devices"]}
    assert levels == {"B:A": ("ok", ""), "B:B": ("ok", ""), "B:D": ("ok", ""),
                      "B:C": ("warn", "1 gap (10.0 min missing)")}
    c = doc["devices"][2]["days"]
    assert (c["gap_count"][0], c["own_gap_count"][0], c["outage_gaps"][0]) == (2, 1, 1)
    assert c["own_gap_spans"][0] == [["2026-03-02 13:53:20.0", "2026-03-02 14:03:20.0"]]
    assert c["own_completeness"][0] == pytest.approx(
        (86400.0 - 900.0) * 15 / (1296000 * (1 - 300.0 / 86400.0)))
    overview, _ = split_document(doc)
    assert day_lines(overview, "2026-03-02") == [
        "DataLogger outage 10:00:00–10:05:00 (5.0 min): no samples from 4 of 4 devices",
        "1 device with warnings: B:C"]
    assert day_lines(overview, "2026-03-03") == ["not on the page"]
