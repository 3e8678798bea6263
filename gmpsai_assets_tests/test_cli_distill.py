"""`gmpsai distill` and `gmpsai import-legacy-db` as a user runs them."""

from __future__ import annotations

from pathlib import Path

import pytest

from gmpsai_assets.cli import main
from gmpsai_assets.sim.simulator import SimulatedBooster
from gmpsai_assets.stats import store
from gmpsai_assets_tests.test_legacy_db import _old_db
from gmpsai_assets_tests.test_stats_distill import _event_file, _param_file


def test_distill_stores_good_files_and_reports_bad_ones(
    tmp_path: Path, sim: SimulatedBooster, capsys: pytest.CaptureFixture[str]
) -> None:
    good, events = _param_file(tmp_path, sim), _event_file(tmp_path)
    corrupt = tmp_path / "MLParamData_7_corrupt.h5"
    corrupt.write_bytes(b"not hdf5 at all")
    db = tmp_path / "stats.duckdb"
    code = main(["distill", str(corrupt), str(tmp_path / "absent.h5"), str(good), str(events),
                 "--db", str(db), "-v"])
    out, err = capsys.readouterr()
    assert code == 1
    assert f"{good.name}: ok (gmpsai-params/1, 3 devices" in out
    assert f"{events.name}: ok (gmpsai-events/1, 2 events" in out
    assert f"{corrupt.name}: FAILED (corrupt: not an HDF5 file" in out
    assert "absent.h5: no such file" in err
    assert "  B:VIMIN: ok, 1800 rows" in err  # -v: a line per device
    with store.reader(db) as con:
        status = dict(con.execute("SELECT name, status FROM data_files").fetchall())
    assert status == {good.name: "ok", events.name: "ok", corrupt.name: "failed"}
    assert main(["distill", str(good), "--db", str(db)]) == 0  # again: replaced, still one row
    with store.reader(db) as con:
        assert con.execute("SELECT count(*) FROM param_stats").fetchone()[0] == 3


def test_quick_look_prints_and_stores_nothing(
    tmp_path: Path, sim: SimulatedBooster, capsys: pytest.CaptureFixture[str]
) -> None:
    good = _param_file(tmp_path, sim)
    db = tmp_path / "stats.duckdb"
    assert main(["distill", str(good), "--db", str(db), "-q", "--maxparams", "1",
                 "--maxrows", "1E1"]) == 0
    out = capsys.readouterr().out
    assert "B:VIMIN      rows 10 " in out and "I:IB" not in out
    assert not db.exists()


def test_default_database_is_under_the_data_dir(
    tmp_path: Path, sim: SimulatedBooster, data_dir: Path
) -> None:
    assert main(["distill", str(_param_file(tmp_path, sim))]) == 0
    assert (data_dir / "gmpsai.duckdb").is_file()


def test_bad_options_are_one_line_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["distill", str(tmp_path / "x.h5"), "-q", "--maxparams", "0"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--maxparams" in err


def test_import_legacy_db_twice_is_idempotent(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old, db = _old_db(tmp_path / "GMPSAI.db"), tmp_path / "stats.duckdb"
    timeline_db = tmp_path / "timeline.duckdb"
    for _ in range(2):
        assert main(["import-legacy-db", str(old), "--db", str(db),
                     "--timeline-db", str(timeline_db)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == out[2]
    assert "ACNETparameterStats: 16 rows (2 parameters)" in out[2]
    assert "(it now holds 16 imported rows)" in out[2]
    assert "TimeLineLogs: 5 rows, 1 supercycles (1 new)" in out[1]
    assert "TimeLineLogs: 5 rows, 1 supercycles (0 new)" in out[3]
    junk = tmp_path / "junk.db"
    junk.write_text("no")
    assert main(["import-legacy-db", str(junk), "--db", str(db)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("gmpsai import-legacy-db: error:") and err.count("\n") == 1
