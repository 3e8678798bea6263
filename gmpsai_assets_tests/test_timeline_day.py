"""A day's summary: supercycles recorded vs expected, gaps, timeline changes, DST days."""

from __future__ import annotations

import pytest

from gmpsai_assets.timeline.day import summarize, summarize_day
from gmpsai_assets.timeline.store import StoredSupercycle, Supercycle, TimelineStore
from gmpsai_assets.window import day_window

L = 60.066666
DAY = day_window("2026-03-10")  # an ordinary 24 h day
AFTER = DAY.end + 86400  # "now": the day is over


def cycles(start: float, end: float, tid: str = "A", length: float | None = L
           ) -> list[StoredSupercycle]:
    """Back-to-back supercycles beginning in [start, end)."""
    out, t = [], start
    while t < end:
        out.append(StoredSupercycle(round(t, 3), length, tid))
        t += L
    return out


def test_a_complete_day_has_every_supercycle_and_no_gap():
    scs = cycles(DAY.start - 20, DAY.end)  # the one running at midnight began the day before
    s = summarize(scs, DAY, history_start=DAY.start - 86400, now=AFTER)
    assert s.expected == round(86400 / L) == 1438
    assert s.recorded in (s.expected, s.expected + 1)
    assert s.gaps == () and s.timeline_changes == () and s.timelines == ("A",)
    assert not s.before_history


def test_a_missed_supercycle_is_a_gap_of_one_supercycle():
    scs = cycles(DAY.start - 20, DAY.end)
    missing = scs[100]
    s = summarize([sc for sc in scs if sc is not missing], DAY, DAY.start - 86400, AFTER)
    assert len(s.gaps) == 1
    gap = s.gaps[0]
    assert gap.start == pytest.approx(missing.start_utc, abs=0.01)
    assert gap.seconds == pytest.approx(L, abs=0.01)
    assert s.long_gaps(L + 1) == [] and s.long_gaps(L - 1) == [gap]


def test_an_outage_at_either_end_of_the_day_is_a_gap():
    scs = cycles(DAY.start + 3600, DAY.end - 7200)
    s = summarize(scs, DAY, history_start=DAY.start - 86400, now=AFTER)
    assert len(s.gaps) == 2
    assert (s.gaps[0].start, s.gaps[0].end) == (DAY.start, scs[0].start_utc)
    assert s.gaps[1].start == pytest.approx(scs[-1].start_utc + L)
    assert s.gaps[0].start == DAY.start and s.gaps[-1].end == DAY.end
    assert s.longest_gap_s == pytest.approx(max(g.seconds for g in s.gaps))


def test_time_before_the_first_supercycle_ever_is_not_a_gap():
    first = DAY.start + 12 * 3600  # installed at noon
    s = summarize(cycles(first, DAY.end), DAY, history_start=first, now=AFTER)
    assert s.gaps == () and not s.before_history
    nothing = summarize([], DAY, history_start=None, now=AFTER)
    assert nothing.before_history and nothing.recorded == 0 and nothing.gaps == ()
    later = summarize([], DAY, history_start=DAY.end + 5, now=AFTER)
    assert later.before_history


def test_a_day_still_running_is_checked_only_up_to_now():
    now = DAY.start + 6 * 3600
    s = summarize(cycles(DAY.start - 20, now), DAY, DAY.start - 86400, now=now)
    assert s.gaps == () and s.checked_until == now


def test_timeline_changes_are_counted_where_they_happen():
    scs = (cycles(DAY.start - 200, DAY.start + 3 * 3600, "A")
           + cycles(DAY.start + 3 * 3600 + 30, DAY.start + 9 * 3600, "B")
           + cycles(DAY.start + 9 * 3600 + 40, DAY.end, "A"))
    s = summarize(scs, DAY, DAY.start - 86400, AFTER)
    assert len(s.timeline_changes) == 2
    assert s.timeline_changes[0] == pytest.approx(DAY.start + 3 * 3600 + 30, abs=L)
    assert s.timelines == ("A", "B")
    # a change at midnight (against the day before) counts for the new day
    s2 = summarize(cycles(DAY.start - 200, DAY.start, "Z") + cycles(DAY.start + 10, DAY.end),
                   DAY, DAY.start - 86400, AFTER)
    assert len(s2.timeline_changes) == 1


@pytest.mark.parametrize("day,hours", [("2026-03-08", 23), ("2026-11-01", 25)])
def test_dst_days_expect_their_own_number_of_supercycles(day, hours):
    w = day_window(day)
    s = summarize(cycles(w.start, w.end), w, w.start - 1, w.end + 1)
    assert w.seconds == hours * 3600
    assert s.expected == round(hours * 3600 / L)
    assert s.gaps == ()


def test_imported_rows_without_a_length_take_it_from_their_spacing():
    scs = cycles(DAY.start - 20, DAY.end, length=None)
    s = summarize(scs, DAY, DAY.start - 86400, AFTER)
    assert s.length_s == pytest.approx(L, abs=0.002) and s.gaps == ()
    lone = summarize(scs[5:6], DAY, DAY.start - 86400, AFTER, fallback_length_s=L)
    assert lone.expected == round(86400 / L)


def test_summary_from_a_real_store(tmp_path):
    store = TimelineStore(tmp_path / "timeline.duckdb")
    start = DAY.start + 600
    store.record_many(Supercycle(start + k * L, L, ()) for k in range(10))
    s = summarize_day(store, DAY, AFTER)
    assert s.recorded == 10 and s.history_start == pytest.approx(start, abs=1e-3)
    assert len(s.gaps) == 1 and s.gaps[0].start == pytest.approx(start + 10 * L, abs=0.01)
