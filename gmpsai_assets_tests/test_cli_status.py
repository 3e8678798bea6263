"""`gmpsai status` on a real instance: overdue days, failed and warned checks, the timeline
logger, disk and stale drafts, with the monitoring-plugin exit status (3 UNKNOWN for no
instance, a bad option or a bad setting); and `gmpsai alerts test` against a real receiver."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import time
from pathlib import Path

import dagster as dg
import pytest

from gmpsai_assets.acnet.tclk import TimelineEntry
from gmpsai_assets.alerts.report import Level
from gmpsai_assets.deadlines import DEFAULTS, expected_day
from gmpsai_assets.files.drafts import lease_path
from gmpsai_assets.timeline.store import Supercycle, TimelineStore
from gmpsai_assets.window import FERMILAB_TZ, format_local
from gmpsai_assets_tests.receivers import JsonReceiver
from gmpsai_assets_tests.test_alerts import _failing_param_run
from gmpsai_assets_tests.test_alerts_e2e import _gap_check_run, _report_materialized

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "dagster_home"
    path.mkdir()
    shutil.copy(REPO / "dagster.yaml", path / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(path))
    return path


def test_no_instance_bad_options_and_bad_settings_are_unknown(run_cli, monkeypatch, tmp_path):
    code, out, _ = run_cli("status")
    assert code == 3 and out.startswith("GMPSAI UNKNOWN: DAGSTER_HOME is not set")
    code, out, _ = run_cli("status", "--json")
    assert code == 3 and json.loads(out)["status"] == "UNKNOWN"
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))  # a directory, but no instance in it
    code, out, _ = run_cli("status")
    assert code == 3 and "no dagster.yaml" in out and not list(tmp_path.iterdir())
    code, _, err = run_cli("status", "--days", "0")
    assert code == 3 and err.count("\n") == 1 and "--days" in err
    monkeypatch.setenv("GMPSAI_DEADLINES", "param_data=99:00")
    code, _, err = run_cli("status")
    assert code == 3 and err.startswith("gmpsai status: error: GMPSAI_DEADLINES")


def test_the_help_says_what_the_exit_status_means(run_cli):
    code, out, _ = run_cli("status", "--help")
    assert code == 0 and "monitoring-plugin convention" in out and "3 UNKNOWN" in " ".join(
        out.split())


def test_status_lists_what_is_wrong_and_exits_by_the_worst(run_cli, home, data_dir, tmp_path):
    now = time.time()
    instance = dg.DagsterInstance.get()
    try:
        for asset in DEFAULTS.assets:  # every asset there except param_data
            if asset == "published_json":
                _report_materialized(instance, asset, None)
            elif asset != "param_data":
                _report_materialized(instance, asset,
                                     expected_day(DEFAULTS.of(asset), now).isoformat())
        day = (dt.datetime.now(FERMILAB_TZ).date() - dt.timedelta(days=2)).isoformat()
        failed = _failing_param_run(instance, tmp_path, day)
        store = TimelineStore(data_dir / "timeline.duckdb")
        start = dt.datetime.combine(dt.date.fromisoformat(day) - dt.timedelta(days=1),
                                    dt.time(12), tzinfo=FERMILAB_TZ).timestamp()
        store.record(Supercycle(start, 2.0, (TimelineEntry(0, 0, 0.0),)))
        assert not _gap_check_run(instance, day).get_asset_check_evaluations()[0].passed
        drafts = data_dir / "drafts"
        drafts.mkdir(parents=True, exist_ok=True)
        draft = drafts / "MLParamData_x.h5.draft"
        draft.write_bytes(b"half")
        lease_path(draft).write_text(json.dumps({"host": "elsewhere", "pid": 1,
                                                 "run_id": failed.run_id}))
    finally:
        instance.dispose()

    code, out, err = run_cli("status")
    assert code == int(Level.CRITICAL), out + err
    lines = out.splitlines()
    assert lines[0].startswith("GMPSAI CRITICAL:")
    param_day = expected_day(DEFAULTS.of("param_data"), now).isoformat()
    assert f"  CRITICAL param_data: OVERDUE {param_day} (never materialized; due 03:00)" in lines
    assert any(x.startswith("  OK       event_data: newest day") for x in lines)
    assert any(x.startswith(f"  CRITICAL check timeline_records:no_long_gaps {day}: FAILED")
               for x in lines)
    assert any(x.startswith("  CRITICAL timeline logger: DOWN: not running") for x in lines)
    assert any(x.startswith("  OK       data directory ") and "free" in x for x in lines)
    assert any("1 stale draft(s)" in x and draft.name in x for x in lines)

    code, out, _ = run_cli("status", "--json")
    report = json.loads(out)
    assert code == 2 and report["status"] == "CRITICAL" and report["exit_status"] == 2
    overdue = {a["name"]: a["overdue_day"] for a in report["assets"]}
    assert overdue["param_data"] == param_day and overdue["event_data"] is None

    code, out, _ = run_cli("status", "--days", "1")  # the failed check is two days old
    assert not any("no_long_gaps" in x for x in out.splitlines())


def test_a_logger_a_person_stopped_says_how_and_when_never_a_name(run_cli, home, data_dir):
    from gmpsai_assets.defs.timeline import STOPPED_TAG, TERMINATED_HOW, timeline_logger_job

    TimelineStore(data_dir / "timeline.duckdb").record(
        Supercycle(time.time() - 60, 2.0, (TimelineEntry(0, 0, 0.0),)))
    instance = dg.DagsterInstance.get()
    try:  # a Terminate as Dagster records it (test_timeline_e2e does one through the daemon)
        run = instance.create_run_for_job(timeline_logger_job,
                                          status=dg.DagsterRunStatus.STARTED)
        instance.report_run_canceling(run)
        (asked,) = instance.get_records_for_run(
            run.run_id, of_type=dg.DagsterEventType.RUN_CANCELING).records
        instance.add_run_tags(run.run_id, {STOPPED_TAG: "terminate"})
        instance.report_run_canceled(instance.get_run_by_id(run.run_id))
    finally:
        instance.dispose()
    code, out, _ = run_cli("status")
    assert code >= int(Level.WARNING)  # (and CRITICAL for the days never made here)
    assert (f"  WARNING  timeline logger: STOPPED by {TERMINATED_HOW} at "
            f"{format_local(asked.timestamp)} (run {run.run_id}); last supercycle ") in out, out
    assert "Dagster does not record who" in TERMINATED_HOW


def test_alerts_test_says_which_url_took_the_message(run_cli, monkeypatch):
    code, _, err = run_cli("alerts", "test")
    assert code == 2 and "GMPSAI_ALERT_URLS is not set" in err
    with JsonReceiver() as hook:
        monkeypatch.setenv("GMPSAI_ALERT_URLS", f"{hook.url} json://user:secret@127.0.0.1:9/x")
        code, out, _ = run_cli("alerts", "test")
        assert code == 1
        assert f"sent   {hook.url}" in out
        assert "FAILED json://user:****@127.0.0.1:9/x: " in out and "secret" not in out
        assert [a.title for a in hook.arrivals] == ["[gmpsai] test message"]
        monkeypatch.setenv("GMPSAI_ALERT_URLS", hook.url)
        assert run_cli("alerts", "test")[0] == 0
