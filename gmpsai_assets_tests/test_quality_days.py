"""What the page says of a day and of a device on it: the completeness limits decide a level;
old statistics are unknown; a span missing in nearly every device is one DataLogger outage of
the day, and a device is judged on what is its own. Expectations computed by hand."""

from __future__ import annotations

import pytest

from gmpsai_assets.acnet.tclk import NOMINAL_TICK_S
from gmpsai_assets.publish.rich import DayStats
from gmpsai_assets.quality.days import (
    IN_OUTAGE,
    NO_DATA_DAY,
    OUTAGE_MIN_DEVICES,
    OUTAGE_SHARE,
    Outage,
    assess_day,
    day_outages,
    own_gaps,
)


def test_completeness_limits_decide_the_level():
    day = DayStats("B:X", 0.0, 86400.0, completeness=0.9, rows=9, expected_rows=10,
                   gap_count=0, nan_count=0, inf_count=0, nonincreasing=0)
    assert assess_day(day, (0.95, 0.5)) == ("warn", "completeness 90.0%")
    assert assess_day(day, (0.95, 0.92)) == ("error", "completeness 90.0%")
    assert assess_day(day, (0.85, 0.5)) == ("ok", "")
    legacy = DayStats("B:X", 0.0, None, source="legacy", mode=1.0)
    assert assess_day(legacy)[0] == "unknown"


def test_wrong_numbers_are_errors_and_gaps_warnings():
    """A gap of the device's own is a warning; values that are not finite or timestamps that go
    back are errors, as the param_data checks say."""
    base = dict(completeness=0.99, rows=99, expected_rows=100, gap_count=0, nan_count=0,
                inf_count=0, nonincreasing=0, gap_seconds=0.0)
    gap = DayStats("B:X", 0.0, 86400.0, **{**base, "gap_count": 2, "gap_seconds": 30.0})
    assert assess_day(gap) == ("warn", "2 gaps (30.0 s missing)")
    nan = DayStats("B:X", 0.0, 86400.0, **{**base, "nan_count": 3})
    assert assess_day(nan) == ("error", "3 non-finite values")
    back = DayStats("B:X", 0.0, 86400.0, **{**base, "nonincreasing": 1, "gap_count": 1,
                                            "gap_seconds": 1.0})
    assert assess_day(back) == ("error", "1 non-increasing timestamps; 1 gap (1.0 s missing)")


def test_a_day_without_data_is_no_device_error():
    lost = DayStats("B:X", 0.0, 86400.0, source="none", status="missing", reason=NO_DATA_DAY)
    assert assess_day(lost) == ("unknown", NO_DATA_DAY)


# A 1000 s window of 15 Hz: 15000 ticks.
W0, W1, EXPECTED = 0.0, 1000.0, 15000


def _dev(name: str, spans, status: str = "ok", rows: int | None = None, **kw) -> DayStats:
    """A device-day of the 1000 s window whose gaps lie at `spans`; its gap count and seconds as
    stats/compute.gaps counts them (a tick less than each span)."""
    missing = sum(b - a for a, b in spans)
    rows = round((W1 - W0 - missing) * 15) if rows is None else rows
    return DayStats(name, W0, W1, file_name="f.h5", status=status, rows=rows,
                    expected_rows=EXPECTED, completeness=rows / EXPECTED,
                    gap_count=len(spans), gap_seconds=sum(b - a - NOMINAL_TICK_S for a, b in spans),
                    gap_spans=[list(s) for s in spans], nan_count=0, inf_count=0,
                    nonincreasing=0, **kw)


def test_a_span_missing_in_every_device_is_one_outage_and_no_devices_gap():
    """Four devices lose 100..110 s (their last and first samples a few ms apart); A also has
    a gap of its own at 500..600 s, and D answered empty all day (missing everywhere, as it
    must be in an outage). All 4 of 4 lack [100.05, 110.00]: one outage."""
    a = _dev("A", [(100.00, 110.00), (500.0, 600.0)])
    b = _dev("B", [(100.05, 110.02)])
    c = _dev("C", [(99.98, 110.01)])
    d = _dev("D", [(W0, W1)], status="empty", rows=0, reason="No values")
    assert OUTAGE_SHARE == 0.9 and OUTAGE_MIN_DEVICES == 3  # what the numbers below assume
    outages = day_outages([a, b, c, d])
    assert outages == [Outage(100.05, 110.00, 4, 4)]
    assert outages[0].seconds == pytest.approx(9.95)
    # A: the first gap is the outage's (0.05 s of it lies outside, less than the 0.2 s gap
    # limit); the second is its own, 100 s less a tick
    own = own_gaps(a, outages)
    assert (own.count, own.in_outages, own.spans) == (1, 1, [(500.0, 600.0)])
    assert own.seconds == pytest.approx(100.0 - NOMINAL_TICK_S)
    # its completeness counts the ticks of the 990.05 s outside the outage: 13350 rows
    # (890 s of samples) of 14850.75 ticks, 89.9 %
    assert own.completeness == pytest.approx(13350 / 14850.75)
    assert assess_day(a, outages=outages) == (
        "warn", "completeness 89.9% outside the DataLogger outage; 1 gap (99.9 s missing)")
    assert assess_day(b, outages=outages) == ("ok", "")
    assert own_gaps(b, outages).in_outages == 1 and own_gaps(b, outages).count == 0
    assert assess_day(c, outages=outages) == ("ok", "")
    # D lost more than the outage: its empty day is its own error
    assert assess_day(d, outages=outages) == ("error", "device empty: No values")
    # without the day's outages, as before: every device has a gap
    assert assess_day(b) == ("warn", "1 gap (9.9 s missing)")


def test_nearly_every_device_is_nine_in_ten():
    """20 devices: a span missing in 18 is an outage (ceil(0.9 x 20) = 18), in 17 it is not;
    the 2 devices with samples in it count in the base, not in `missing`."""
    def day(lost: int) -> list[DayStats]:
        return [_dev(f"D{i}", [(100.0, 110.0)] if i < lost else []) for i in range(20)]

    assert day_outages(day(18)) == [Outage(100.0, 110.0, 18, 20)]
    assert day_outages(day(20)) == [Outage(100.0, 110.0, 20, 20)]
    assert day_outages(day(17)) == []
    # a device whose fetch failed says nothing of the DataLogger: neither missing nor in the
    # base (counted missing, 18 of 20 would make an outage; 17 of 19 is none)
    failed = DayStats("F", W0, W1, file_name="f.h5", status="failed", rows=0, gap_count=1,
                      gap_spans=[[W0, W1]], reason="timeout")
    assert day_outages([*day(17)[:19], failed]) == []
    assert day_outages([*day(18)[:19], failed]) == [Outage(100.0, 110.0, 18, 19)]


def test_too_few_devices_or_unknown_spans_find_no_outage():
    three = [_dev(n, [(100.0, 110.0)]) for n in "ABC"]
    assert day_outages(three) == [Outage(100.0, 110.0, 3, 3)]
    assert day_outages(three[:2]) == []  # two devices cannot tell the DataLogger from them
    # distilled before the store kept gap spans: unknown, so nothing is taken out
    old = DayStats("A", W0, W1, file_name="f.h5", gap_count=1, gap_seconds=9.9, rows=10)
    assert day_outages([*three, old]) == []
    assert own_gaps(old, [Outage(100.0, 110.0, 3, 3)]).count == 1


def test_spans_a_gap_limit_apart_are_one_outage():
    """Two dropouts 0.1 s apart (less than the 0.2 s gap limit) are one outage."""
    devs = [_dev(n, [(100.0, 105.0), (105.1, 110.0)]) for n in "ABC"]
    assert day_outages(devs) == [Outage(100.0, 110.0, 3, 3)]


def test_an_outage_all_day_leaves_an_empty_device_nothing_to_judge():
    """The DataLogger answered empty for every device all day: one outage, no device errors."""
    devs = [_dev(n, [(W0, W1)], status="empty", rows=0) for n in "ABC"]
    outages = day_outages(devs)
    assert outages == [Outage(W0, W1, 3, 3)]
    assert assess_day(devs[0], outages=outages) == ("unknown", IN_OUTAGE)
    assert own_gaps(devs[0], outages).completeness is None  # no tick left to count
