"""`cycle_table` in a real Dagster instance: lineage, automation after its inputs, its checks;
and `gmpsai dataset` on the tables it writes."""

from __future__ import annotations

import json
import re
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from gmpsai_assets.cli import main
from gmpsai_assets.dataset import read_report
from gmpsai_assets.dataset.table import METADATA_KEY
from gmpsai_assets.defs.cycle_table import cycle_table, cycle_table_checks
from gmpsai_assets.defs.event_data import event_data
from gmpsai_assets.defs.param_data import param_data
from gmpsai_assets.defs.resources import build_resources

DAY = "2026-03-10"
# Dagster's own automation test helper selects with a beta parameter
pytestmark = pytest.mark.filterwarnings("ignore:Parameter `include_sources`")
RUN_CONFIG = {"ops": {"event_data": {"config": {"max_event": "1d"}}},
              "loggers": {"console": {"config": {"log_level": "WARNING"}}}}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """One simulated day of two devices: inputs, automation evaluated, table and checks."""
    root = tmp_path_factory.mktemp("cycle")
    plist = root / "list.txt"
    plist.write_text("MLrn B:VIMIN\nMLrn B:LINFRQ\n")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GMPSAI_DATA_DIR", str(root / "data"))
        mp.setenv("GMPSAI_PARAM_LIST", str(plist))
        mp.delenv("DAGSTER_HOME", raising=False)
        instance = dg.DagsterInstance.ephemeral()
        assets = [param_data, event_data, cycle_table, cycle_table_checks]
        defs = dg.Definitions(assets=assets[:3], asset_checks=assets[3:],
                              resources=build_resources())
        before = dg.evaluate_automation_conditions(defs=defs, instance=instance)
        inputs = dg.materialize([param_data, event_data], partition_key=DAY, instance=instance,
                                resources=build_resources(), run_config=RUN_CONFIG)
        after = dg.evaluate_automation_conditions(defs=defs, instance=instance,
                                                  cursor=before.cursor)
        run = dg.materialize(assets, partition_key=DAY, instance=instance,
                             resources=build_resources(), run_config=RUN_CONFIG["loggers"] and
                             {"loggers": RUN_CONFIG["loggers"]},
                             selection=dg.AssetSelection.assets(cycle_table))
        again = dg.evaluate_automation_conditions(defs=defs, instance=instance,
                                                  cursor=after.cursor)
        yield {"root": root, "instance": instance, "inputs": inputs, "run": run,
               "before": before, "after": after, "again": again}


def test_lineage_shows_both_inputs():
    assert set(cycle_table.asset_deps[cycle_table.key]) == {param_data.key, event_data.key}


def test_built_automatically_once_both_inputs_are_there(built):
    assert built["inputs"].success
    assert built["before"].total_requested == 0  # inputs missing: wait
    requested = built["after"].get_requested_partitions(cycle_table.key)
    assert requested == {DAY}
    assert built["again"].get_requested_partitions(cycle_table.key) == set()  # built: done


def test_asset_writes_the_table_and_its_checks_pass(built):
    run = built["run"]
    assert run.success
    mat = run.asset_materializations_for_node("cycle_table")[0]
    path = Path(mat.metadata["path"].value)
    assert path == built["root"] / "data" / "cycles" / f"CycleTable_{DAY}.parquet"
    frame = pl.read_parquet(path)
    assert frame.height == mat.metadata["cycles"].value > 1_290_000
    assert frame.columns[5:] == ["B:VIMIN", "B:LINFRQ"]
    assert mat.metadata["matching"].value["B:VIMIN"]["unmatched"] == 0
    evaluations = {e.check_name: e for e in run.get_asset_check_evaluations()}
    assert set(evaluations) == {"rows_match_0c", "ticks_increasing", "filled_share",
                                "resets_known"}
    assert all(e.passed for e in evaluations.values()), evaluations
    assert not list((built["root"] / "data" / "drafts").glob("*.draft"))


def test_filled_share_fails_when_a_device_column_is_lost(built, tmp_path, monkeypatch):
    root = built["root"]
    monkeypatch.setenv("GMPSAI_DATA_DIR", str(root / "data"))
    monkeypatch.setenv("GMPSAI_PARAM_LIST", str(root / "list.txt"))
    path = root / "data" / "cycles" / f"CycleTable_{DAY}.parquet"
    keep = tmp_path / "keep.parquet"
    keep.write_bytes(path.read_bytes())
    try:
        frame = pl.read_parquet(path)
        meta = pl.read_parquet_metadata(path)
        frame.drop("B:LINFRQ").write_parquet(path, metadata=meta)
        # the check alone, invoked directly (a partitioned check cannot run without its asset)
        with dg.build_op_context(resources=build_resources(), partition_key=DAY) as context:
            evaluations = {e.check_name: e for e in cycle_table_checks(context)}
        assert not evaluations["filled_share"].passed
        assert "B:LINFRQ" in evaluations["filled_share"].description
        assert evaluations["rows_match_0c"].passed
    finally:
        path.write_bytes(keep.read_bytes())


def _judge_altered(built, tmp_path, monkeypatch, alter) -> dict:
    """The checks alone on the day's table as `alter(frame, metadata)` rewrites it (then put
    back): a partitioned check cannot run without its asset, so it is invoked directly."""
    root = built["root"]
    monkeypatch.setenv("GMPSAI_DATA_DIR", str(root / "data"))
    monkeypatch.setenv("GMPSAI_PARAM_LIST", str(root / "list.txt"))
    path = root / "data" / "cycles" / f"CycleTable_{DAY}.parquet"
    keep = tmp_path / "keep.parquet"
    keep.write_bytes(path.read_bytes())
    try:
        frame, meta = alter(pl.read_parquet(path), pl.read_parquet_metadata(path))
        frame.write_parquet(path, metadata=meta)
        with dg.build_op_context(resources=build_resources(), partition_key=DAY) as context:
            return {e.check_name: e for e in cycle_table_checks(context)}
    finally:
        path.write_bytes(keep.read_bytes())


def test_rows_match_0c_fails_when_a_cycle_row_is_lost(built, tmp_path, monkeypatch):
    got = _judge_altered(built, tmp_path, monkeypatch, lambda f, m: (f.slice(1), m))
    assert not got["rows_match_0c"].passed
    assert got["rows_match_0c"].metadata["rows"].value + 1 == (
        got["rows_match_0c"].metadata["ticks_0c"].value)
    assert got["ticks_increasing"].passed


def test_ticks_increasing_fails_when_two_rows_are_swapped(built, tmp_path, monkeypatch):
    def swap(f: pl.DataFrame, m: dict) -> tuple[pl.DataFrame, dict]:
        order = list(range(f.height))
        order[10], order[11] = 11, 10
        return f[order], m

    got = _judge_altered(built, tmp_path, monkeypatch, swap)
    assert not got["ticks_increasing"].passed
    assert got["ticks_increasing"].description == "1 rows not after the row before"
    assert got["rows_match_0c"].passed


def test_resets_known_warns_when_a_reset_event_was_not_read(built, tmp_path, monkeypatch):
    def unavailable(f: pl.DataFrame, m: dict) -> tuple[pl.DataFrame, dict]:
        key = METADATA_KEY  # where write_cycle_table puts the report
        report = json.loads(m[key])
        report["resets_unavailable"] = {"$13": "failed after 5 attempt(s)"}
        return f, {**m, key: json.dumps(report)}

    got = _judge_altered(built, tmp_path, monkeypatch, unavailable)
    assert not got["resets_known"].passed
    assert got["resets_known"].severity == dg.AssetCheckSeverity.WARN
    assert "$13" in got["resets_known"].description


def test_cli_extracts_resamples_and_refuses_bad_input(built, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("GMPSAI_DATA_DIR", str(built["root"] / "data"))
    out = tmp_path / "out" / "x.parquet"
    out.parent.mkdir()
    code = main(["dataset", "--from", f"{DAY}+10:00", "--to", f"{DAY}+10:10",
                 "--devices", "B:LINFRQ", "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    got = pl.read_parquet(out)
    assert got.columns[-1] == "B:LINFRQ" and got.height == pytest.approx(9000, abs=2)
    csv = tmp_path / "out" / "x.csv"
    code = main(["dataset", "--from", f"{DAY}+10:00", "--to", f"{DAY}+10:10",
                 "--devices", "B:VIMIN,B:LINFRQ", "--every", "1s", "--agg", "max",
                 "--out", str(csv)])
    assert code == 0
    agg = pl.read_csv(csv)
    assert agg.columns == ["time_utc", "cycles", "B:VIMIN", "B:LINFRQ"]
    assert agg.height == 600 and agg["cycles"].sum() == got.height
    assert agg["B:LINFRQ"][0] == got.head(agg["cycles"][0])["B:LINFRQ"].max()
    capsys.readouterr()
    for argv, message in [
        (["--every", "7s"], "does not divide an hour"),
        (["--every", "1x"], "--every must be"),
        (["--agg", "mean"], "--agg needs --every"),
        (["--devices", "B:NOPE"], "has device(s) B:NOPE"),
        (["--to", "2026-03-12"], "no cycle table for 2026-03-11"),  # missing data: exit 1
    ]:
        bad = tmp_path / "out" / "bad.parquet"
        base = {"--from": DAY, "--to": DAY, "--out": str(bad)}
        extra = dict(zip(argv[::2], argv[1::2], strict=True))
        args = [x for k, v in {**base, **extra}.items() for x in (k, v)]
        assert main(["dataset", *args]) == (1 if "--to" in argv else 2), argv
        err = capsys.readouterr().err
        assert message in err and len(err.strip().splitlines()) == 1, err
        assert not bad.exists()
    assert re.search(r"--out must end", _err(capsys, ["--out", str(tmp_path / "x.txt")]))


def _err(capsys, argv: list[str]) -> str:
    main(["dataset", "--from", DAY, "--to", DAY, *argv])
    return capsys.readouterr().err


def test_report_is_in_the_file(built):
    report = read_report(built["root"] / "data" / "cycles" / f"CycleTable_{DAY}.parquet")
    assert report.day == DAY and set(report.devices) == {"B:VIMIN", "B:LINFRQ"}
    assert report.resets_found["$11"] > 0 and not report.resets_unavailable
