import re
from pathlib import Path

import pytest

from gmpsai_assets.catalog.verify import verify_dir
from gmpsai_assets.cli import main
from gmpsai_assets.files.paramfile import read_param_attrs


def test_materialize_day_prints_what_it_produced(tmp_path, capsys, monkeypatch, data_dir):
    """A simulated day with one DataLogger outage (23:46:41, 6.4 s) and a device the simulator
    does not know (B:NOTLOG, failed): the summary says the outage once, no device warning for
    it, and the failed device as the day's one device error."""
    monkeypatch.delenv("DAGSTER_HOME", raising=False)  # an ephemeral instance
    plist = tmp_path / "list.txt"
    plist.write_text("MLrn B:VIMIN\nMLrn B_VIMIN\nMLrn B:IMINER\nMLrn B:NOTLOG\n")
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
    assert re.search(r"devices_ok\s+3\b", out)
    assert "B:NOTLOG" in re.search(r"devices_failed\s+(.*)", out).group(1)
    # what the page says: the outage once, the failed device its one problem
    said = out.split("\npublishing\n", 1)[1]
    counts = dict(re.findall(r"^ {6}(\w+) +(\S+)", said, re.M))
    assert {k: counts[k] for k in (
        "devices", "data_as_of", "days_without_data", "datalogger_outages",
        "days_with_problems", "days_with_warnings", "devices_with_errors",
        "devices_with_errors_or_warnings")} == {
        "devices": "4", "data_as_of": "2026-03-10", "days_without_data": "0",
        "datalogger_outages": "1", "days_with_problems": "1", "days_with_warnings": "0",
        "devices_with_errors": "1", "devices_with_errors_or_warnings": "1"}
    day = said.split("  2026-03-10 on the page:\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert len(day) == 2 and re.fullmatch(
        r" {6}DataLogger outage 23:46:4\d–23:46:4\d \(6\.\d s\): no samples from 3 of 3 "
        r"devices", day[0]), day
    assert day[1] == "      1 device with errors: B:NOTLOG"
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
