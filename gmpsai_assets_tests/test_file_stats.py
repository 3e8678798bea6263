"""`file_stats`: a local day's two files distilled once into the DuckDB store, the day's checks
judged in the same step, a re-run replacing the day's rows, and automation that distils a day
once both its files exist."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import h5py
import numpy as np
import pytest

from gmpsai_assets.acnet.datalogger import DataLoggerUnavailable
from gmpsai_assets.defs.event_data import event_data
from gmpsai_assets.defs.file_stats import CHECKS, file_stats
from gmpsai_assets.defs.param_data import param_data
from gmpsai_assets.defs.resources import DataLoggerResource, StatsResource, StorageResource
from gmpsai_assets.files import paramfile
from gmpsai_assets.files.eventfile import EventFileWriter, list_events, read_event, read_event_attrs
from gmpsai_assets.quality.files import PARAM_VERDICTS
from gmpsai_assets.stats import store
from gmpsai_assets.window import Window

pytestmark = pytest.mark.filterwarnings("ignore::dagster.PreviewWarning")

DAY = "2026-03-10"
SMALL_EVENTS = {"ops": {"event_data": {"config": {"max_event": "0c"}}}}


def _resources(tmp_path: Path) -> dict[str, dg.ConfigurableResource]:
    plist = tmp_path / "list.txt"
    plist.write_text("MLrn B:VIMIN\nMLrn I:IB\n")
    storage = StorageResource(data_dir=str(tmp_path / "data"))
    return {
        "datalogger": DataLoggerResource(source="simulated", param_list=str(plist),
                                         max_in_flight=2),
        "storage": storage,
        "stats": StatsResource(storage=storage),
    }


def _files(instance: dg.DagsterInstance, res: dict) -> None:
    assert dg.materialize([param_data, event_data], partition_key=DAY, instance=instance,
                          resources=res, run_config=SMALL_EVENTS).success


def _rows(db: Path) -> dict[str, int]:
    with store.reader(db) as con:
        return {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                for t in ("data_files", "param_stats", "event_stats")}


def test_a_day_is_distilled_once_and_judged_in_the_same_step(tmp_path):
    res = _resources(tmp_path)
    db = tmp_path / "data" / "gmpsai.duckdb"
    with dg.instance_for_test() as instance:
        _files(instance, res)
        first = dg.materialize([file_stats], partition_key=DAY, instance=instance, resources=res)
        assert first.success
        meta = {k: v.value for k, v in
                first.asset_materializations_for_node("file_stats")[0].metadata.items()}
        assert meta["devices"] == 2
        assert meta["events"] == len(list_events(meta["event_file"])) >= 2
        assert Path(meta["param_file"]).parent == tmp_path / "data" / "params"
        assert meta["bytes_read"] == (Path(meta["param_file"]).stat().st_size
                                      + Path(meta["event_file"]).stat().st_size)
        checks = {e.check_name: e for e in first.get_asset_check_evaluations()}
        assert set(checks) == set(CHECKS)
        assert all(e.passed for e in checks.values()), {
            n: e.description for n, e in checks.items() if not e.passed}
        # Every check is an output of file_stats's own step: nothing re-opens the files.
        steps = {e.step_key for e in first.all_events
                 if e.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION}
        assert steps == {"file_stats"}
        assert not param_data.check_keys and not event_data.check_keys
        once = _rows(db)
        assert once == {"data_files": 2, "param_stats": 2, "event_stats": meta["events"]}

        # A re-run (new files for the day, then the statistics again) replaces the day's rows.
        _files(instance, res)
        again = dg.materialize([file_stats], partition_key=DAY, instance=instance, resources=res)
        assert again.success
    with store.reader(db) as con:
        status = sorted(r[0] for r in con.execute("SELECT status FROM data_files").fetchall())
        current = con.execute("SELECT count(*) FROM param_stats_current").fetchone()[0]
    assert status == ["ok", "ok", "superseded", "superseded"] and current == 2
    assert _rows(db)["param_stats"] == 2


def test_an_unreadable_day_file_is_recorded_failed_and_fails_the_run(tmp_path):
    res = _resources(tmp_path)
    with dg.instance_for_test() as instance:
        _files(instance, res)
        event_file = next((tmp_path / "data" / "events").glob("*.h5"))
        event_file.write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 100)
        bad = dg.materialize([file_stats], partition_key=DAY, instance=instance, resources=res,
                             raise_on_error=False)
    assert not bad.success
    failure = bad.get_step_failure_events()[0].step_failure_data
    assert f"{event_file.name} cannot be distilled (recorded failed): corrupt:" in \
        failure.user_failure_data.description
    with store.reader(tmp_path / "data" / "gmpsai.duckdb") as con:
        status = dict(con.execute("SELECT name, status FROM data_files").fetchall())
    assert status[event_file.name] == "failed" and list(status.values()).count("ok") == 1


def test_automation_distils_a_day_once_both_files_exist(tmp_path):
    res = _resources(tmp_path)
    defs = dg.Definitions(assets=[param_data, event_data, file_stats], resources=res)
    day = {DAY}

    def requested(instance, cursor):
        result = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=cursor)
        return set(result.get_requested_partitions(file_stats.key)), result.cursor

    with dg.instance_for_test() as instance:
        got, cursor = requested(instance, None)
        assert not got
        assert dg.materialize([param_data], partition_key=DAY, instance=instance,
                              resources=res).success
        got, cursor = requested(instance, cursor)
        assert not got  # event_data of the day still missing
        assert dg.materialize([event_data], partition_key=DAY, instance=instance,
                              resources=res, run_config=SMALL_EVENTS).success
        got, cursor = requested(instance, cursor)
        assert got == day  # an old day too, not only the latest
        assert dg.materialize([file_stats], partition_key=DAY, instance=instance,
                              resources=res).success
        got, cursor = requested(instance, cursor)
        assert not got
        assert dg.materialize([param_data], partition_key=DAY, instance=instance,
                              resources=res).success
        got, _ = requested(instance, cursor)
        assert got == day  # a re-materialized file is distilled again


def _param_file_of_day(tmp_path: Path) -> Path:
    return next((tmp_path / "data" / "params").glob("*.h5"))


def test_a_malformed_day_file_fails_the_run_with_its_sentence_and_every_check(tmp_path):
    """A day file with text where numbers belong: recorded failed once with the sentence, the
    run fails with it (no retry), and every check that needs the file fails saying it."""
    res = _resources(tmp_path)
    with dg.instance_for_test() as instance:
        _files(instance, res)
        param_file = _param_file_of_day(tmp_path)
        with h5py.File(param_file, "r+") as f:
            rows = f["I:IB/value"].shape[0]
            del f["I:IB/value"]
            f["I:IB"].create_dataset("value", data=np.array([b"n/a"] * rows))
        for _ in range(2):
            bad = dg.materialize([file_stats], partition_key=DAY, instance=instance,
                                 resources=res, raise_on_error=False)
            assert not bad.success
    sentence = "malformed: device I:IB: the dataset 'value' holds text (dtype |S3) where " \
               "numbers belong"
    failure = bad.get_step_failure_events()[0].step_failure_data
    assert failure.user_failure_data.description == \
        f"{param_file.name} cannot be distilled (recorded failed): {sentence}"
    checks = {e.check_name: e for e in bad.get_asset_check_evaluations()}
    assert set(checks) == set(CHECKS)
    needs_params = [*PARAM_VERDICTS, "ticks_match_param_samples"]
    for name in needs_params:
        assert not checks[name].passed and sentence in checks[name].description, name
    assert all(checks[n].passed for n in set(CHECKS) - set(needs_params))  # events are fine
    with store.reader(tmp_path / "data" / "gmpsai.duckdb") as con:
        rows = con.execute("SELECT status, error FROM data_files WHERE name = ?",
                           [param_file.name]).fetchall()
    assert rows == [("failed", sentence)]


def test_a_bug_fails_the_run_with_its_traceback_and_records_nothing(
    tmp_path, monkeypatch: pytest.MonkeyPatch
):
    """An error of our own code (injected in the parameter reader) is no property of the file:
    the step fails with the error itself, not a Failure, and neither file is recorded."""
    res = _resources(tmp_path)

    def buggy_reader(path: Path, device: str) -> None:
        raise TypeError("unsupported operand type(s) for +: 'int' and 'str'")

    with dg.instance_for_test() as instance:
        _files(instance, res)
        monkeypatch.setattr(paramfile, "read_param_device", buggy_reader)
        run = dg.materialize([file_stats], partition_key=DAY, instance=instance, resources=res,
                             raise_on_error=False)
    assert not run.success
    failure = run.get_step_failure_events()[0].step_failure_data
    assert failure.user_failure_data is None
    assert failure.error.cause.cls_name == "TypeError"
    assert "buggy_reader" in "".join(failure.error.cause.stack)
    db = tmp_path / "data" / "gmpsai.duckdb"
    assert not db.exists() or _rows(db)["data_files"] == 0


def test_a_failed_booster_reset_fails_events_fetched(tmp_path):
    """The day's event file says $11 failed to fetch (what event_data wrote, and $11 failed):
    `events_fetched` fails as an ERROR naming it; the run itself succeeds."""
    res = _resources(tmp_path)
    with dg.instance_for_test() as instance:
        _files(instance, res)
        event_file = next((tmp_path / "data" / "events").glob("*.h5"))
        attrs = read_event_attrs(event_file)
        kept = {code: read_event(event_file, code) for code in list_events(event_file)}
        window = Window(attrs["window_start_utc"], attrs["window_end_utc"])
        with EventFileWriter(event_file, window, attrs["node"], attrs["source"],
                             attrs["created_utc"]) as w:
            for code in attrs["events_requested"]:  # $00..$0C, as event_data fetched them
                w.add(code, kept.get(code), None)
            w.add(0x11, None, DataLoggerUnavailable("event_log $11: failed after 5 attempt(s)"))
        run = dg.materialize([file_stats], partition_key=DAY, instance=instance, resources=res)
    assert run.success
    check = {e.check_name: e for e in run.get_asset_check_evaluations()}["events_fetched"]
    assert not check.passed and check.severity == dg.AssetCheckSeverity.ERROR
    assert check.description.startswith("1 of 14 events asked for failed to fetch: $11")
    assert check.metadata["failed"].value == {"$11": "event_log $11: failed after 5 attempt(s)"}
