"""A device-day's level on the page: the completeness limits decide it; old statistics are
unknown."""

from __future__ import annotations

from gmpsai_assets.publish.rich import DayStats
from gmpsai_assets.quality.days import assess_day


def test_completeness_limits_decide_the_level():
    day = DayStats("B:X", 0.0, 86400.0, completeness=0.9, rows=9, expected_rows=10,
                   gap_count=0, nan_count=0, inf_count=0, nonincreasing=0)
    assert assess_day(day, (0.95, 0.5)) == ("warn", "completeness 90.0%")
    assert assess_day(day, (0.95, 0.92)) == ("error", "completeness 90.0%")
    assert assess_day(day, (0.85, 0.5)) == ("ok", "")
    legacy = DayStats("B:X", 0.0, None, source="legacy", mode=1.0)
    assert assess_day(legacy)[0] == "unknown"


def test_wrong_numbers_are_errors_and_gaps_warnings():
    """A logger outage of seconds (a gap) is a warning the real logger shows most days; values
    that are not finite or timestamps that go back are errors, as the param_data checks say."""
    base = dict(completeness=0.99, rows=99, expected_rows=100, gap_count=0, nan_count=0,
                inf_count=0, nonincreasing=0, gap_seconds=0.0)
    gap = DayStats("B:X", 0.0, 86400.0, **{**base, "gap_count": 2, "gap_seconds": 30.0})
    assert assess_day(gap) == ("warn", "2 gaps (30.0 s missing)")
    nan = DayStats("B:X", 0.0, 86400.0, **{**base, "nan_count": 3})
    assert assess_day(nan) == ("error", "3 non-finite values")
    back = DayStats("B:X", 0.0, 86400.0, **{**base, "nonincreasing": 1, "gap_count": 1,
                                            "gap_seconds": 1.0})
    assert assess_day(back) == ("error", "1 non-increasing timestamps; 1 gap (1.0 s missing)")
