import re
from pathlib import Path

import pytest

from gmpsai_assets.catalog.verify import verify_dir
from gmpsai_assets.cli import main
from gmpsai_assets.files.paramfile import read_param_attrs


def test_materialize_day_prints_what_it_produced(tmp_path, capsys, monkeypatch, data_dir):
    monkeypatch.delenv("DAGSTER_HOME", raising=False)  # an ephemeral instance
    plist = tmp_path / "list.txt"
    plist.write_text("MLrn B:VIMIN\nMLrn B:NOTLOG\n")
    monkeypatch.setenv("GMPSAI_PARAM_LIST", str(plist))
    monkeypatch.setenv("GMPSAI_MAX_EVENT", "0c")  # events $00..$0C keep the day quick
    code = main(["materialize-day", "--date", "2026-03-10"])
    out = capsys.readouterr().out
    assert code == 1, out  # a device failed: incomplete (cli/common.py EXIT_STATUS)
    assert "param_data incomplete: devices_failed B:NOTLOG" in out
    assert "local day 2026-03-10 (America/Chicago)" in out
    path = Path(re.search(r"param_data: (\S+\.h5)", out).group(1))
    assert path.parent == data_dir / "params" and path.exists()
    assert read_param_attrs(path)["window_start_local"] == "2026-03-10T00:00:00-05:00"
    assert re.search(r"devices_ok\s+1\b", out)
    assert "B:NOTLOG" in re.search(r"devices_failed\s+(.*)", out).group(1)
    # every new data file has its catalogue declaration, and it matches the file's bytes
    verdicts = verify_dir(data_dir)
    assert {v.path.parent.name for v in verdicts} == {"params", "events", "cycles"}
    assert [v.status for v in verdicts] == ["ok"] * len(verdicts)


def test_materialize_day_bad_date(capsys):
    assert main(["materialize-day", "--date", "2026-3-1x"]) == 2
    assert "not a date" in capsys.readouterr().err
    assert main(["materialize-day", "--date", "2099-01-01"]) == 2  # not over yet
    assert "is not a daily partition" in capsys.readouterr().err


@pytest.mark.parametrize("empty", ["", "  "])
def test_an_empty_date_is_an_error_not_the_default_day(capsys, empty):
    # Before, '' fell back to the last complete day and ran the whole pipeline for it.
    assert main(["materialize-day", "--date", empty]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.strip().splitlines() == [
        "gmpsai materialize-day: error: --date is empty (leave the option out for its default)"]


def test_materialize_day_bad_settings(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("DAGSTER_HOME", "relative/home")
    assert main(["materialize-day", "--date", "2026-01-01"]) == 2
    assert "DAGSTER_HOME must be an existing absolute directory" in capsys.readouterr().err
