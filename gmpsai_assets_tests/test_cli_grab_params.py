import argparse
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from gmpsai_assets.cli.common import EXIT_STATUS
from gmpsai_assets.cli.grab_params import window_from_args
from gmpsai_assets.files.paramfile import read_param_attrs
from gmpsai_assets.window import parse_local_datetime


def _args(**kw) -> argparse.Namespace:
    base = {"startat": None, "stopat": None, "days": 0.0, "hours": 0.0, "minutes": 0.0,
            "seconds": 0.0}
    return argparse.Namespace(**{**base, **kw})


def test_default_window_is_the_last_second_before_midnight():
    now = parse_local_datetime("2026-03-10 15:00")
    w = window_from_args(_args(), now=now)
    assert w.acl_bounds() == ("2026-03-09+23:59:59", "2026-03-10+00:00:00")


def test_window_rules():
    assert window_from_args(_args(stopat="2026-03-10", hours=2)).acl_bounds() == (
        "2026-03-09+22:00:00", "2026-03-10+00:00:00")
    assert window_from_args(_args(startat="2026-03-10+01:00:00", minutes=1.5)).acl_bounds() == (
        "2026-03-10+01:00:00", "2026-03-10+01:01:30")
    assert window_from_args(_args(startat="2026-03-10", stopat="2026-03-11")).seconds == 86400
    assert window_from_args(_args(stopat="2026-03-11", days=1)).seconds == 86400


@pytest.mark.parametrize(("stopat", "length", "bounds", "hours"), [
    # --days 1 before a local midnight is the whole local day, as the old grabbers asked
    ("2026-11-02", {"days": 1}, ("2026-11-01+00:00:00", "2026-11-02+00:00:00"), 25),
    ("2026-03-09", {"days": 1}, ("2026-03-08+00:00:00", "2026-03-09+00:00:00"), 23),
    ("2026-11-02", {"hours": 24}, ("2026-11-01+00:00:00", "2026-11-02+00:00:00"), 25),
    ("2026-11-01 03:00", {"hours": 3}, ("2026-11-01+00:00:00", "2026-11-01+03:00:00"), 4),
    ("2026-03-08 04:00", {"hours": 3}, ("2026-03-08+01:00:00", "2026-03-08+04:00:00"), 2),
    ("2026-03-09", {"seconds": 0.5}, ("2026-03-08+23:59:59", "2026-03-09+00:00:00"), 1 / 3600),
])
def test_lengths_are_taken_on_the_local_wall_clock(stopat, length, bounds, hours):
    window = window_from_args(_args(stopat=stopat, **length))
    assert window.acl_bounds() == bounds
    assert window.seconds == hours * 3600


def test_startat_alone_ends_at_the_last_midnight_as_the_old_grabber():
    now = parse_local_datetime("2026-11-02 08:00")
    window = window_from_args(_args(startat="2026-10-31 12:00"), now=now)
    assert window.acl_bounds() == ("2026-10-31+12:00:00", "2026-11-02+00:00:00")
    assert window.seconds == 37 * 3600


def test_a_bound_in_the_skipped_hour_is_refused(run_cli):
    code, _, err = run_cli("grab-params", "--dryrun", "--stopat", "2026-03-09",
                           "--hours", "22")
    assert code == 2
    assert err.strip().splitlines() == [
        "gmpsai grab-params: error: window 2026-03-08+02:00:00 to 2026-03-09+00:00:00: "
        "2026-03-08+02:00:00 does not exist in America/Chicago (skipped by DST)"]


@pytest.mark.parametrize("command", ["grab-params", "grab-events"])
@pytest.mark.parametrize(("day", "hours"), [("2026-11-01", 25), ("2026-03-08", 23)])
def test_dryrun_and_verbose_print_the_local_window_and_its_real_length(
        run_cli, tmp_path, command, day, hours):
    stop = {"2026-11-01": "2026-11-02", "2026-03-08": "2026-03-09"}[day]
    code, out, err = run_cli(command, "--dryrun", "--stopat", stop, "--days", "1",
                             "--outdir", str(tmp_path))
    assert code == 0, err
    line = f"[{day}+00:00:00, {stop}+00:00:00) America/Chicago = {hours:g} h ({hours * 3600} s)"
    assert f"window  {line}" in out
    assert f"_{day}+00:00:00_to_{stop}+00:00:00.h5" in out
    assert list(tmp_path.iterdir()) == []
    extra = ["--maxcount", "1"] if command == "grab-params" else ["--maxEvt", "00"]
    code, out, err = run_cli(command, "-v", "--stopat", stop, "--days", "1",
                             "--outdir", str(tmp_path / "o"), "--draftdir",
                             str(tmp_path / "d"), *extra)
    assert code == 0, err
    assert err.splitlines()[0] == f"window {line}"
    (path,) = (tmp_path / "o").iterdir()
    assert f"_{day}+00:00:00_to_{stop}+00:00:00.h5" in path.name


@pytest.mark.parametrize(("argv", "message"), [
    (["--stopat", ""], "--stopat is empty"),
    (["--startat", " "], "--startat is empty"),
    (["--logger", ""], "--logger is empty"),
    (["--paramfile", ""], "--paramfile is empty"),
    (["--outdir", ""], "--outdir is empty"),
    (["--days", "nan"], "--days must be a finite number >= 0"),
    (["--hours", "-1"], "--hours must be a finite number >= 0"),
    (["--days", "31.5"], "a length of 31.5 days is longer than 31 days"),
    (["--days", "1e300"], "is longer than 31 days"),
    (["--startat", "2026-01-01", "--stopat", "2026-03-01"], "gmpsai backfill --from"),
])
def test_empty_and_too_long_values_are_one_line_errors(run_cli, tmp_path, argv, message):
    code, out, err = run_cli("grab-params", "--dryrun", *argv)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and message in err, err


def test_a_full_31_day_month_is_allowed(run_cli):
    code, out, err = run_cli("grab-params", "--dryrun", "--stopat", "2026-11-01",
                             "--days", "31")
    assert code == 0, err
    assert "[2026-10-01+00:00:00, 2026-11-01+00:00:00) America/Chicago = 744 h" in out


def test_grab_writes_one_file_with_options(run_cli, tmp_path, small_list):
    code, out, err = run_cli(
        "grab-params", "-v", "--stopat", "2026-03-10 01:00", "--seconds", "20",
        "--paramfile", str(small_list), "--maxcount", "2", "--outdir", str(tmp_path / "o"),
        "--draftdir", str(tmp_path / "d"), "--logger", "MLrn",
    )
    assert code == 0, err
    files = list((tmp_path / "o").iterdir())
    assert len(files) == 1 and str(files[0]) in out
    attrs = read_param_attrs(files[0])
    assert attrs["devices"] == ["B:VIMIN", "B_VIMIN"]
    assert attrs["window_end_local"] == "2026-03-10T01:00:00-05:00"
    assert "[1/2] B:VIMIN: ok (" in err and "[2/2] B_VIMIN: ok (" in err
    assert "2 ok, 0 partial, 0 empty, 0 failed" in out


def test_dryrun_writes_nothing(run_cli, tmp_path):
    code, out, _ = run_cli("grab-params", "--dryrun", "--stopat", "2026-03-10",
                           "--hours", "1", "--outdir", str(tmp_path / "o"))
    assert code == 0
    assert "[2026-03-09+23:00:00, 2026-03-10+00:00:00)" in out
    assert "devices 47:" in out
    assert "MLParamData_<created>_From_MLrn_2026-03-09+23:00:00_to_2026-03-10+00:00:00.h5" in out
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--stopat", "2026-02-30"], "not a valid date/time"),
        (["--stopat", "tomorrow"], "not a local date/time"),
        (["--startat", "2026-03-10", "--stopat", "2026-03-09"], "is not after start"),
        (["--startat", "2026-03-10", "--stopat", "2026-03-11", "--hours", "1"], "at most two"),
        (["--paramfile", "/nonexistent/list.txt"], "cannot read device list"),
        (["--logger", "ML;rn"], "not a valid DataLogger node"),
        (["--hours", "x"], "invalid float value"),
        (["--maxcount", "0"], "--maxcount must be at least 1"),
        (["--days", "nan"], "--days must be a finite number"),
        (["--hours", "inf"], "--hours must be a finite number"),
        (["--days", "1e7"], "is longer than 31 days"),
        (["--stopat", "1900-01-01"], "is not between 1900 and 2200"),
    ],
)
def test_bad_input_one_line_exit_2_nothing_written(run_cli, tmp_path, argv, message):
    code, _, err = run_cli("grab-params", "--outdir", str(tmp_path / "o"), *argv)
    assert code == 2
    assert message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists() or not any((tmp_path / "o").iterdir())


def test_bad_list_line_reported_with_line_number(run_cli, tmp_path):
    bad = tmp_path / "list.txt"
    bad.write_text("MLrn B:VIMIN\nMLrn B:VIMIN\\;read\n")
    code, _, err = run_cli("grab-params", "--paramfile", str(bad))
    assert code == 2 and f"{bad}:2: not a valid ACNET device name" in err


def test_unwritable_outdir(run_cli, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code, _, err = run_cli("grab-params", "--outdir", str(blocker / "sub"))
    assert code == 1 and "failed: output directory" in err and "not writable" in err  # OS error


def test_malformed_acl_url(run_cli, tmp_path, monkeypatch):
    monkeypatch.setenv("GMPSAI_SOURCE", "acl")
    monkeypatch.setenv("GMPSAI_ACL_URL", "http://[::1/acl.pl")
    code, _, err = run_cli("grab-params", "--outdir", str(tmp_path / "o"))
    assert code == 2 and "GMPSAI_ACL_URL: not a valid URL" in err


def test_unknown_source(run_cli, tmp_path, monkeypatch):
    monkeypatch.setenv("GMPSAI_SOURCE", "carrier-pigeon")
    code, _, err = run_cli("grab-params", "--outdir", str(tmp_path / "o"))
    assert code == 2
    assert "GMPSAI_SOURCE must be one of simulated, acl, dpm, got 'carrier-pigeon'" in err
    assert not (tmp_path / "o").exists()


def test_console_script_exit_status_and_single_line(tmp_path):
    exe = Path(sys.executable).with_name("gmpsai")
    proc = subprocess.run([str(exe), "grab-params", "--stopat", "2026-99-01"],
                          capture_output=True, text=True, stdin=subprocess.DEVNULL)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "gmpsai grab-params: error: not a valid date/time '2026-99-01': month must be in 1..12"]
    help_text = subprocess.run([str(exe), "grab-params", "--help"], capture_output=True,
                               text=True).stdout
    for option in ("--dryrun", "--stopat", "--startat", "--days", "--maxcount", "--draftdir",
                   "--outdir", "--logger", "--paramfile", "-v"):
        assert option in help_text


# ---- exit status: 2 bad input only, 1 work that failed or is incomplete (cli/common.py) ------


def test_an_unreachable_datalogger_is_exit_1_in_one_line(run_cli, tmp_path, monkeypatch):
    """Nothing listens on the port: the work failed, the input was fine."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again below: connections are refused
    monkeypatch.setenv("GMPSAI_SOURCE", "acl")
    monkeypatch.setenv("GMPSAI_ACL_URL", f"http://127.0.0.1:{port}/cgi-bin/acl.pl")
    monkeypatch.setenv("GMPSAI_ACL_RETRIES", "0")
    code, out, err = run_cli("grab-params", "--maxcount", "2", "--outdir", str(tmp_path / "o"),
                             "--draftdir", str(tmp_path / "d"))
    assert code == 1 and out == ""
    assert len(err.strip().splitlines()) == 1 and err.startswith("gmpsai grab-params: failed:")
    assert not (tmp_path / "o").exists() or not any((tmp_path / "o").iterdir())


def test_a_failed_device_publishes_the_rest_and_exits_1(run_cli, tmp_path, acl_source):
    """Incomplete work: the file is published with the device recorded failed, exit 1."""
    acl_source()
    plist = tmp_path / "list.txt"
    plist.write_text("MLrn B:VIMIN\nMLrn B:NOTLOG\n")
    code, out, _ = run_cli("grab-params", "--paramfile", str(plist), "--seconds", "60",
                           "--outdir", str(tmp_path / "o"), "--draftdir", str(tmp_path / "d"))
    assert code == 1
    [path] = (tmp_path / "o").glob("*.h5")
    outcomes = read_param_attrs(path)["device_outcomes"]
    assert outcomes["B:NOTLOG"].status == "failed" and outcomes["B:VIMIN"].status == "ok"
    assert str(path) in out


@pytest.mark.parametrize("command", ["grab-params", "grab-events", "materialize-day", "backfill",
                                     "distill", "catalog", "dataset", "db-to-json"])
def test_every_help_states_the_one_exit_status_rule(run_cli, command):
    code, out, _ = run_cli(command, "--help")
    assert code == 0
    assert " ".join(out.split()).endswith(" ".join(EXIT_STATUS.split()))
