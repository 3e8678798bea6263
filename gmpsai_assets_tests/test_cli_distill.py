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
    code = main(["distill", str(corrupt), str(good), str(events), "--db", str(db), "-v"])
    out, err = capsys.readouterr()
    assert code == 1
    assert f"{good.name}: ok (gmpsai-params/3, 3 devices" in out
    assert f"{events.name}: ok (gmpsai-events/3, 2 events" in out
    assert f"{corrupt.name}: FAILED (corrupt: not an HDF5 file" in out
    assert "  B:VIMIN: ok, 1800 rows" in err  # -v: a line per device
    with store.reader(db) as con:
        status = dict(con.execute("SELECT name, status FROM data_files").fetchall())
    assert status == {good.name: "ok", events.name: "ok", corrupt.name: "failed"}
    assert main(["distill", str(good), "--db", str(db)]) == 0  # again: replaced, still one row
    with store.reader(db) as con:
        assert con.execute("SELECT count(*) FROM param_stats").fetchone()[0] == 3


def test_a_missing_path_is_a_usage_error_before_any_work(
    tmp_path: Path, sim: SimulatedBooster, capsys: pytest.CaptureFixture[str]
) -> None:
    good, db = _param_file(tmp_path, sim), tmp_path / "stats.duckdb"
    code = main(["distill", str(good), str(tmp_path / "absent.h5"), "--db", str(db)])
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    assert err.strip().splitlines() == [
        f"gmpsai distill: error: no such file: {tmp_path}/absent.h5"]
    assert not db.exists()


def test_a_database_that_is_not_duckdb_is_one_line_and_nothing_is_downloaded(
    tmp_path: Path, sim: SimulatedBooster, capsys: pytest.CaptureFixture[str]
) -> None:
    good = _param_file(tmp_path, sim)
    old = tmp_path / "GMPSAI.db"
    _old_db(old)
    text = tmp_path / "notes.duckdb"
    text.write_text("hello\n")
    for db, message in ((old, "is an old sqlite GMPSAI.db: import it first"),
                        (text, "not a valid DuckDB database file")):
        kept = db.read_bytes()
        code = main(["distill", str(good), "--db", str(db)])
        err = capsys.readouterr().err
        assert code == 2, err
        assert len(err.strip().splitlines()) == 1 and message in err, err
        assert "download" not in err and db.read_bytes() == kept


def test_duckdb_never_installs_or_autoloads_extensions(tmp_path: Path) -> None:
    import duckdb

    with store.writer(tmp_path / "s.duckdb") as con:
        settings = dict(con.execute(
            "SELECT name, value FROM duckdb_settings() WHERE name LIKE 'auto%_known_extensions'"
        ).fetchall())
        assert settings == {"autoinstall_known_extensions": "false",
                            "autoload_known_extensions": "false"}
        with pytest.raises(duckdb.Error, match=r"(?i)autoload|not loaded|install"):
            con.execute("SELECT * FROM sqlite_scan('x.db', 't')")


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


def test_import_skips_and_counts_names_that_are_not_device_names(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import sqlite3

    old, db = _old_db(tmp_path / "GMPSAI.db"), tmp_path / "stats.duckdb"
    bad = ["B:<img src=x onerror=alert(1)>", "Interval_B:VIMIN;X", "x", "B:VIMIN ", "I:IB\\;"]
    con = sqlite3.connect(old)
    for name in bad:
        for stat in ("mode", "max"):
            con.execute("INSERT INTO ACNETparameterStats VALUES (1583798400, ?, ?, 1.0)",
                        (name, stat))
    con.commit()
    con.close()
    assert main(["import-legacy-db", str(old), "--db", str(db),
                 "--timeline-db", str(tmp_path / "t.duckdb")]) == 0
    out = capsys.readouterr().out.splitlines()
    assert "ACNETparameterStats: 16 rows (2 parameters)" in out[0]
    shown = ", ".join(repr(n) for n in sorted(bad)[:3])
    assert out[1] == (f"  skipped 10 rows of 5 names that are not ACNET device names: "
                      f"{shown} and 2 more")
    with store.reader(db) as con:
        rows = con.execute("SELECT DISTINCT paramname FROM legacy_param_stats").fetchall()
    names = {r[0] for r in rows}
    assert names == {"B:VIMIN", "Interval_B:VIMIN"}
