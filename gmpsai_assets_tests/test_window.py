import datetime as dt

import pytest

from gmpsai_assets.window import (
    Window,
    WindowError,
    day_window,
    format_local,
    in_repeated_hour,
    last_complete_day,
    most_recent_midnight,
    parse_date,
    parse_local_datetime,
)


def test_ordinary_day_is_24_hours_from_local_midnight():
    w = day_window("2026-03-10")
    assert w.seconds == 24 * 3600
    assert w.acl_bounds() == ("2026-03-10+00:00:00", "2026-03-11+00:00:00")
    assert w.start == dt.datetime(2026, 3, 10, 5, tzinfo=dt.UTC).timestamp()  # CDT = UTC-5


def test_dst_start_day_has_23_hours():
    assert day_window("2026-03-08").seconds == 23 * 3600


def test_dst_end_day_has_25_hours():
    w = day_window(dt.date(2026, 11, 1))
    assert w.seconds == 25 * 3600
    assert w.start == dt.datetime(2026, 11, 1, 5, tzinfo=dt.UTC).timestamp()


def test_parse_local_datetime_forms():
    want = dt.datetime(2026, 3, 10, 13, 5, 7, tzinfo=dt.UTC).timestamp() + 5 * 3600
    for text in ("2026-03-10+13:05:07", "2026-03-10 13:05:07", "2026-03-10T13:05:07"):
        assert parse_local_datetime(text) == want
    assert parse_local_datetime("2026-03-10") == day_window("2026-03-10").start
    assert format_local(want) == "2026-03-10+13:05:07"


def test_repeated_hour_takes_first_and_skipped_hour_is_refused():
    first = parse_local_datetime("2026-11-01 01:30")
    assert first == dt.datetime(2026, 11, 1, 6, 30, tzinfo=dt.UTC).timestamp()  # still CDT
    with pytest.raises(WindowError, match="does not exist"):
        parse_local_datetime("2026-03-08 02:30")


@pytest.mark.parametrize("text", ["2026-13-01", "yesterday", "2026-02-30", "2026-03-10 25:00"])
def test_bad_dates(text):
    with pytest.raises(WindowError):
        parse_local_datetime(text)


def test_parse_date_error_message():
    with pytest.raises(WindowError, match="want YYYY-MM-DD"):
        parse_date("03/10/2026")


def test_reversed_window_refused():
    with pytest.raises(WindowError, match="not after start"):
        Window(10.0, 5.0)


def test_split_covers_window_exactly():
    pieces = Window(0.0, 10.0).split(3.0)
    assert [(p.start, p.end) for p in pieces] == [(0, 3), (3, 6), (6, 9), (9, 10)]


def test_last_complete_day_and_midnight():
    now = parse_local_datetime("2026-11-24 00:30")
    assert most_recent_midnight(now) == parse_local_datetime("2026-11-24")
    assert last_complete_day(now) == dt.date(2026, 11, 23)


def test_in_repeated_hour_is_the_two_utc_hours_dst_ends_in():
    # DST ends 2026-11-01 at 02:00 CDT (07:00 UTC), the clock going back to 01:00 CST: local
    # 01:00-02:00 is shown from 06:00 to 08:00 UTC (calendar.timegm: no time zone library)
    import calendar

    def utc(h: int, m: int = 0) -> float:
        return float(calendar.timegm((2026, 11, 1, h, m, 0)))

    assert [in_repeated_hour(utc(h, m)) for h, m in ((5, 59), (6, 0), (7, 0), (7, 59), (8, 0))
            ] == [False, True, True, True, False]
    spring = float(calendar.timegm((2026, 3, 8, 8, 30, 0)))  # 03:30 CDT, after the skipped hour
    assert not in_repeated_hour(spring)
