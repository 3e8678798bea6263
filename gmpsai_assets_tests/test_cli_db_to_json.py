"""`gmpsai db-to-json`: the old DB_to_JSON options on a small real statistics store."""

from __future__ import annotations

import json
import sqlite3

import pytest

from gmpsai_assets.cli import main
from gmpsai_assets_tests.test_publish_support import DAYS, EVIL, build_store

OLD = "StatsHistoryBoringHolyMoly.json"


@pytest.fixture
def small(tmp_path, monkeypatch):
    monkeypatch.setenv("GMPSAI_DATA_DIR", str(tmp_path / "data"))
    for var in ("GMPSAI_STATS_DB", "GMPSAI_PUBLISH_JSON_NAME", "GMPSAI_PARAM_LIST"):
        monkeypatch.delenv(var, raising=False)
    s = build_store(tmp_path / "data")
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return s


def _rows(fig):
    return [fig["layout"]["yaxis" + ("" if k == 1 else str(k))]["title"]["text"]
            for k in range(1, fig["layout"]["grid"]["rows"] + 1)]


def test_defaults_write_every_device_into_the_current_directory(small, tmp_path, capsys):
    assert main(["db-to-json"]) == 0
    out = tmp_path / "work" / OLD
    assert capsys.readouterr().out.startswith(f"{out} (3 devices, ")
    fig = json.loads(out.read_text())
    assert _rows(fig) == ["B:VIMIN", "I:IB", EVIL]  # listed devices first, then the rest
    assert len(fig["data"]) == 15 and len(fig["data"][0]["x"]) == len(DAYS)


def test_paramfile_outdir_and_name(small, tmp_path, capsys):
    plist = tmp_path / "mine.txt"
    plist.write_text("MLrn I:IB\nMLrn B:VIMAX  \nMLrn B:VIMIN\n")
    out = tmp_path / "www"
    assert main(["db-to-json", "--dbpath", str(small.db), "-p", str(plist),
                 "--outdir", str(out), "-o", "Hist.json", "-v"]) == 0
    err = capsys.readouterr().err
    assert "I:IB: 2 points" in err and "B:VIMAX: 0 points" in err
    fig = json.loads((out / "Hist.json").read_text())
    assert _rows(fig) == ["I:IB", "B:VIMAX", "B:VIMIN"]  # the list's order, absent kept empty
    assert fig["data"][5]["x"] == []
    assert not (tmp_path / "work" / OLD).exists()


def test_quick_takes_the_first_devices_and_newest_points(small, tmp_path):
    assert main(["db-to-json", "-q", "--maxparams", "1", "--maxrows", "1"]) == 0
    fig = json.loads((tmp_path / "work" / OLD).read_text())
    assert _rows(fig) == ["B:VIMIN"]
    assert fig["data"][0]["x"] == [small.windows[DAYS[-1]].start]
    # without -q the limits do nothing, as in the old tool
    assert main(["db-to-json", "--maxparams", "1", "--maxrows", "1"]) == 0
    assert len(json.loads((tmp_path / "work" / OLD).read_text())["data"]) == 15


def test_site_and_environment_defaults(small, tmp_path, monkeypatch):
    monkeypatch.setenv("GMPSAI_STATS_DB", str(small.db))
    monkeypatch.setenv("GMPSAI_DATA_DIR", str(tmp_path / "elsewhere"))
    monkeypatch.setenv("GMPSAI_PUBLISH_JSON_NAME", "Env.json")
    assert main(["db-to-json", "--site", "--outdir", str(tmp_path / "site")]) == 0
    names = {p.name for p in (tmp_path / "site").iterdir()}
    assert {"Env.json", "index.html", "gmpsai-site.json", "gmpsai-site.js"} <= names


@pytest.mark.parametrize("args, message", [
    (["--dbpath", "nope.duckdb"], "statistics database not found"),
    (["--dbpath", "{sqlite}"], "gmpsai import-legacy-db"),
    (["--dbpath", "{junk}"], "statistics database"),
    (["--dbpath", "{empty_duckdb}"], "not a gmpsai statistics database"),
    (["-q", "--maxparams", "0"], "--maxparams and --maxrows must be at least 1"),
    (["-o", "../up.json"], "-o wants a plain file name"),
    (["-p", "nolist.txt"], "nolist.txt"),
])
def test_user_errors_are_one_line_and_write_nothing(small, tmp_path, capsys, args, message):
    sqlite_db = tmp_path / "GMPSAI.db"
    with sqlite3.connect(sqlite_db) as con:
        con.execute("CREATE TABLE ACNETparameterStats (epochUTCsec, paramname, statname, statval)")
    junk = tmp_path / "junk.duckdb"
    junk.write_bytes(b"not a database at all" * 100)
    import duckdb

    duckdb.connect(str(tmp_path / "empty.duckdb")).close()
    paths = {"sqlite": sqlite_db, "junk": junk, "empty_duckdb": tmp_path / "empty.duckdb"}
    args = [a.format(**paths) for a in args]
    assert main(["db-to-json", *args]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err, err
    assert not list((tmp_path / "work").iterdir())
