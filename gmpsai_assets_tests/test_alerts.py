"""Alerts without the daemon: deadlines, incidents (one message per incident, one on recovery,
a state that survives as a cursor and stays bounded), delivery through apprise to a real SMTP
server and a real HTTP receiver on loopback (a refused delivery is retried, not lost), and the
sensor's look at a real Dagster instance (a run Dagster will retry is not an incident)."""

from __future__ import annotations

import datetime as dt
import json
import socket
from pathlib import Path

import dagster as dg
import pytest

from gmpsai_assets.alerts.delivery import deliver, targets
from gmpsai_assets.alerts.incidents import (
    DIGEST_OVER,
    MAX_OPEN,
    MAX_OUTBOX,
    Kind,
    Problem,
    Recovery,
    State,
    step,
)
from gmpsai_assets.deadlines import DEFAULTS, expected_day, latest_deadline, parse_deadlines
from gmpsai_assets.defs.alerts import HOW_TO_SWITCH_ON, tick
from gmpsai_assets.defs.param_data import param_data
from gmpsai_assets.defs.resources import DataLoggerResource, StorageResource
from gmpsai_assets.settings import Settings, SettingsError
from gmpsai_assets.window import FERMILAB_TZ
from gmpsai_assets_tests.receivers import JsonReceiver, SmtpReceiver

NOW = dt.datetime(2026, 3, 9, 10, 0, tzinfo=FERMILAB_TZ).timestamp()


def _local(y: int, m: int, d: int, hh: int, mm: int = 0) -> float:
    return dt.datetime(y, m, d, hh, mm, tzinfo=FERMILAB_TZ).timestamp()


# ---- deadlines -------------------------------------------------------------------------------


def test_deadlines_default_and_override_one_by_one():
    table = parse_deadlines("param_data=02:30, published_json=06:00")
    assert table.of("param_data") == dt.time(2, 30)
    assert table.of("event_data") == DEFAULTS.of("event_data") == dt.time(4, 0)
    assert table.cron("published_json") == "0 6 * * *"
    assert set(table.assets) == {"param_data", "event_data", "file_stats", "cycle_table",
                                 "published_json", "timeline_records"}


@pytest.mark.parametrize("text", ["param_data", "nope=01:00", "param_data=24:00",
                                  "param_data=3:7", "param_data=01:00,param_data=02:00"])
def test_a_bad_deadline_is_a_one_line_settings_error(text):
    with pytest.raises(SettingsError, match=r"^GMPSAI_DEADLINES: ") as err:
        Settings.from_env({"GMPSAI_DEADLINES": text})
    assert "\n" not in str(err.value)


def test_the_day_due_is_yesterday_once_the_deadline_passed():
    three = dt.time(3, 0)
    assert expected_day(three, _local(2026, 3, 9, 3, 0)) == dt.date(2026, 3, 8)
    assert expected_day(three, _local(2026, 3, 9, 2, 59)) == dt.date(2026, 3, 7)
    # 2026-03-08 is 23 h long (DST begins): the deadline is still 03:00 local the next day
    assert latest_deadline(three, _local(2026, 3, 8, 12)) == _local(2026, 3, 8, 3)


def test_a_bad_alert_url_names_the_scheme_not_the_secret():
    with pytest.raises(SettingsError) as err:
        Settings.from_env({"GMPSAI_ALERT_URLS": "json://127.0.0.1:9/x nosuch://user:hunter2@h"})
    assert "URL 2 (nosuch://...)" in str(err.value) and "hunter2" not in str(err.value)
    ok = Settings.from_env({"GMPSAI_ALERT_URLS":
                            "mailtos://u:p@smtp.example.org?to=a@x.org,b@y.org json://h/x"})
    assert ok.alert_urls == ("mailtos://u:p@smtp.example.org?to=a@x.org,b@y.org", "json://h/x")


# ---- incidents -------------------------------------------------------------------------------


def _problem(day: str = "2026-03-08", kind: Kind = Kind.RUN_FAILED, subject: str = "param_data"
             ) -> Problem:
    return Problem(kind, subject, day, "run of param_data_job failed: step param_data",
                   "NoDataError: no device could be fetched", NOW - 60, "r1")


def _through_cursor(state: State) -> State:
    return State.from_cursor(state.to_cursor(), NOW + 999)


def test_one_message_per_incident_and_one_on_recovery_across_cursor_round_trips():
    state = State(watching_since=NOW)
    first = step(state, [_problem()], {}, NOW, "http://ui.example.org:3000/")
    assert len(first) == 1
    assert first[0].title == "[gmpsai] FAILED run failed: param_data 2026-03-08"
    body = first[0].body
    for fact in ("asset: param_data", "day: 2026-03-08", "what failed: run of param_data_job",
                 "reason: NoDataError: no device", "run: http://ui.example.org:3000/runs/r1"):
        assert fact in body
    for _ in range(3):  # later ticks see the same problem: nothing new
        state = _through_cursor(state)
        assert step(state, [_problem()], {}, NOW + 60, None) == []
    back = step(state, [], {_problem().key: Recovery("param_data 2026-03-08 materialized",
                                                     NOW + 300, "r2")}, NOW + 300, None)
    assert [m.title for m in back] == ["[gmpsai] RECOVERED run failed: param_data 2026-03-08"]
    assert "after 6 min" in back[0].body and "r2 (set GMPSAI_UI_URL for a link)" in back[0].body
    assert state.open == {}
    again = step(_through_cursor(state), [_problem()], {}, NOW + 400, None)
    assert len(again) == 1  # failing again after a recovery is a new incident


def test_many_at_once_go_as_one_digest_and_the_state_stays_bounded():
    state = State(watching_since=NOW)
    many = [_problem(f"2026-01-{d:02d}") for d in range(1, DIGEST_OVER + 2)]
    sent = step(state, many, {}, NOW, None)
    assert len(sent) == 1 and sent[0].title.startswith(f"[gmpsai] {len(many)} alerts")
    assert all(p.key in state.open for p in many)

    state = State(watching_since=NOW)
    flood = [_problem(f"d{n:04d}") for n in range(MAX_OPEN + 7)]
    told = step(state, flood, {}, NOW, None)
    assert len(state.open) == MAX_OPEN and state.overflowing
    assert "7 further problem(s) are not tracked" in told[0].body
    assert step(state, flood, {}, NOW + 60, None) == []  # told once
    state.enqueue([m for p in flood[:MAX_OUTBOX + 3]
                   for m in step(State(watching_since=NOW), [p], {}, NOW, None)], ["t"])
    assert len(state.outbox) == MAX_OUTBOX
    assert "3 older alert(s) could not be delivered" in state.outbox[-1].body
    assert len(state.to_cursor()) < 200_000


def test_a_cursor_of_another_version_or_unreadable_starts_afresh():
    assert State.from_cursor(json.dumps({"v": 0}), NOW).open == {}
    assert State.from_cursor(json.dumps({"v": 1, "open": [{"kind": "x"}]}), NOW).open == {}
    assert State.from_cursor("{not json", NOW).watching_since == NOW
    assert State.from_cursor(None, NOW).watching_since == NOW


# ---- delivery --------------------------------------------------------------------------------


def test_delivery_reaches_smtp_and_json_and_a_refused_one_waits_for_the_next_tick():
    with SmtpReceiver() as smtp, JsonReceiver() as hook:
        known = targets([smtp.url, hook.url])
        assert [t.name.split(":")[0] for t in known] == ["mailto", "json"]
        state = State(watching_since=NOW)
        state.enqueue(step(state, [_problem()], {}, NOW, None), [t.id for t in known])
        hook.refuse(1)
        state.outbox, first = deliver(state.outbox, known)
        assert (first.sent, first.waiting, len(first.errors)) == (0, 1, 1)
        assert len(smtp.arrivals) == 1 and hook.arrivals == [] and hook.refused == 1
        state = _through_cursor(state)  # the waiting message survives a restart
        state.outbox, second = deliver(state.outbox, known)
        assert (second.sent, second.waiting) == (1, 0)
        assert len(smtp.arrivals) == 1  # not sent twice where it was taken
        assert [a.title for a in hook.arrivals] == [smtp.arrivals[0].title]
        assert "asset: param_data" in smtp.arrivals[0].body
        assert "reason: NoDataError" in hook.arrivals[0].body


def test_a_target_no_longer_configured_is_dropped_not_retried_forever():
    with JsonReceiver() as hook:
        gone, kept = targets(["json://127.0.0.1:9/gone", hook.url])
        state = State(watching_since=NOW)
        state.enqueue(step(state, [_problem()], {}, NOW, None), [gone.id, kept.id])
        hook.refuse(1)
        state.outbox, _ = deliver(state.outbox, [gone, kept])
        assert state.outbox[0].pending == [gone.id, kept.id]
        state.outbox, done = deliver(state.outbox, [kept])
        assert done.sent == 1 and state.outbox == [] and len(hook.arrivals) == 1


# ---- the sensor's look at a real instance ---------------------------------------------------


def _dead_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _failing_param_run(instance: dg.DagsterInstance, tmp_path: Path, day: str,
                       tags: dict[str, str] | None = None) -> dg.ExecuteInProcessResult:
    """A param_data run whose source fails every device: the gateway's port is closed."""
    listing = tmp_path / "one.txt"
    listing.write_text("MLrn B:IMINER\n")
    return dg.materialize(
        [param_data], partition_key=day, instance=instance, raise_on_error=False, tags=tags,
        resources={"datalogger": DataLoggerResource(
            source="acl", acl_url=f"http://127.0.0.1:{_dead_port()}/acl", acl_retries=0,
            param_list=str(listing)),
            "storage": StorageResource(data_dir=str(tmp_path / "data"))})


@pytest.fixture
def graph() -> dg.AssetGraph:
    from gmpsai_assets.definitions import defs

    return defs.get_repository_def().asset_graph


def test_alerts_are_off_without_urls_and_say_how_to_switch_on(monkeypatch, graph):
    monkeypatch.delenv("GMPSAI_ALERT_URLS", raising=False)
    with dg.instance_for_test() as instance:
        cursor, said = tick(instance, graph, None)
    assert said == HOW_TO_SWITCH_ON and "set GMPSAI_ALERT_URLS" in said and cursor == ""


def test_a_failed_run_alerts_once_and_a_run_dagster_will_retry_does_not(
        monkeypatch, tmp_path, graph):
    with JsonReceiver() as hook, dg.instance_for_test() as instance:
        monkeypatch.setenv("GMPSAI_ALERT_URLS", hook.url)
        monkeypatch.setenv("GMPSAI_ALERT_LOGGER_DOWN_MIN", "1e9")  # no logger here
        monkeypatch.setenv("GMPSAI_UI_URL", "http://127.0.0.1:3000")
        retried = _failing_param_run(instance, tmp_path, "2026-03-01")
        instance.add_run_tags(retried.run_id, {"dagster/will_retry": "true",
                                               "dagster/auto_retry_run_id": "x"})
        failed = _failing_param_run(instance, tmp_path, "2026-03-02")
        assert not retried.success and not failed.success
        cursor, said = tick(instance, graph, None)
        assert said.startswith("1 open incident(s); 1 new message(s); 1 delivered")
        assert [a.title for a in hook.arrivals] == [
            "[gmpsai] FAILED run failed: param_data 2026-03-02"]
        assert f"run: http://127.0.0.1:3000/runs/{failed.run_id}" in hook.arrivals[0].body
        assert "NoDataError: no device could be fetched" in hook.arrivals[0].body
        for _ in range(2):
            cursor, said = tick(instance, graph, cursor)
        assert len(hook.arrivals) == 1
        assert json.loads(cursor)["judged_runs"] == {failed.run_id: pytest.approx(
            instance.get_run_record_by_id(failed.run_id).end_time)}


def test_the_store_says_when_the_newest_supercycle_was_recorded(tmp_path):
    from gmpsai_assets.acnet.tclk import TimelineEntry
    from gmpsai_assets.timeline.store import Supercycle, TimelineStore

    store = TimelineStore(tmp_path / "timeline.duckdb")
    assert store.last_recorded() is None  # no file: nothing ever recorded
    entries = (TimelineEntry(0, 0, 0.0),)
    store.record(Supercycle(NOW - 600, 60.0, entries, recorded_utc=NOW - 540))
    store.record(Supercycle(NOW - 7200, None, entries))  # imported: no recording time
    assert store.last_recorded() == NOW - 540
