"""The old plotly figure (StatsHistoryBoringHolyMoly.json) from a small real store: the shape
docs/page.md describes, and the numbers of the database."""

from __future__ import annotations

import math

import pytest

from gmpsai_assets.publish.figure import StatPoint, axis_ids, legacy_figure
from gmpsai_assets.publish.load import stat_points
from gmpsai_assets.stats import store
from gmpsai_assets_tests.test_publish_support import DAYS, DEVICES, EVIL, build_store

LABELS = ["max", "+1sigma", "mode", "-1sigma", "min"]


@pytest.fixture
def small(tmp_path):
    return build_store(tmp_path)


def _figure(small, devices=DEVICES, **kw):
    with store.reader(small.db) as con:
        points = stat_points(con, **kw)
    return legacy_figure(list(devices), points)


def test_layout_one_grid_row_per_device(small):
    fig = _figure(small)
    layout = fig["layout"]
    assert set(fig) == {"data", "layout"}
    assert layout["grid"] == {"rows": 3, "columns": 1, "pattern": "independent"}
    assert layout["height"] == 200 * 3
    assert layout["showlegend"] is False
    # plotly.js axis keys: xaxis, xaxis2, ...; each anchored to its partner.
    assert layout["xaxis"] == {"anchor": "y"}
    assert layout["yaxis"] == {"anchor": "x", "title": {"text": "B:VIMIN"}}
    assert layout["xaxis3"] == {"anchor": "y3"}
    assert layout["yaxis3"] == {"anchor": "x3", "title": {"text": EVIL}}
    assert axis_ids(2) == ("x2", "y2")


def test_five_traces_per_device_in_the_old_order_and_style(small):
    fig = _figure(small)
    assert len(fig["data"]) == 5 * len(DEVICES)
    for k, device in enumerate(DEVICES, start=1):
        traces = fig["data"][5 * (k - 1): 5 * k]
        xid, yid = axis_ids(k)
        assert [t["name"] for t in traces] == [f"{device} {lab}" for lab in LABELS]
        assert all(t["type"] == "scatter" and t["xaxis"] == xid and t["yaxis"] == yid
                   for t in traces)
        assert [t.get("fill") for t in traces] == [None, None, "tonexty", "tonexty", None]
        assert all(t["line"] == {"color": "rgba(0,100,50,0.2)"} for t in traces)


def test_values_are_the_databases(small):
    fig = _figure(small)
    vimin = fig["data"][0:5]
    x = vimin[0]["x"]
    assert x == [small.windows[d].start for d in DAYS]  # epoch seconds of each file's window
    for i, day in enumerate(DAYS):
        ps = small.expected[("B:VIMIN", day)]
        ys = [t["y"][i] for t in vimin]
        assert ys == pytest.approx([ps.max, ps.mode + ps.std, ps.mode, ps.mode - ps.std, ps.min])
    # I:IB's empty day has no statistics at all: two points, not a made-up third.
    assert fig["data"][5]["x"] == [small.windows[d].start for d in ("2026-03-01", "2026-03-04")]


def test_device_order_limits_and_unknown_devices(small):
    fig = _figure(small, devices=["I:IB", "B:NOPE"], max_rows=1)
    assert fig["layout"]["grid"]["rows"] == 2
    assert fig["layout"]["yaxis"]["title"]["text"] == "I:IB"
    assert fig["data"][0]["x"] == [small.windows["2026-03-04"].start]  # the newest point only
    assert [t["x"] for t in fig["data"][5:]] == [[]] * 5  # listed but absent: an empty row


def test_missing_and_non_finite_numbers_become_null():
    fig = legacy_figure(["B:X"], [StatPoint("B:X", 1.0, 2.0, math.nan, None, math.inf)])
    assert [t["y"] for t in fig["data"]] == [[None], [None], [2.0], [None], [None]]
