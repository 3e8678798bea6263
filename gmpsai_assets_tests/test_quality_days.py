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
