import argparse
import subprocess
import sys
from pathlib import Path

import pytest

from gmpsai_assets.cli import main
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
    assert window_from_args(_args(stopat="2026-03-09", days=1)).seconds == 86400


def run_cli(capsys, *argv):
    try:
        code = main(list(argv))
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def test_grab_writes_one_file_with_options(capsys, tmp_path, small_list):
    code, out, err = run_cli(
        capsys, "grab-params", "-v", "--stopat", "2026-03-10 01:00", "--seconds", "20",
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
    assert "2 ok, 0 empty, 0 failed" in out


def test_dryrun_writes_nothing(capsys, tmp_path):
    code, out, _ = run_cli(capsys, "grab-params", "--dryrun", "--stopat", "2026-03-10",
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
        (["--days", "nan"], "is not between 1900 and 2200"),
        (["--hours", "inf"], "is not between 1900 and 2200"),
        (["--days", "1e7"], "is not between 1900 and 2200"),
    ],
)
def test_bad_input_one_line_exit_2_nothing_written(capsys, tmp_path, argv, message):
    code, _, err = run_cli(capsys, "grab-params", "--outdir", str(tmp_path / "o"), *argv)
    assert code == 2
    assert message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists() or not any((tmp_path / "o").iterdir())


def test_bad_list_line_reported_with_line_number(capsys, tmp_path):
    bad = tmp_path / "list.txt"
    bad.write_text("MLrn B:VIMIN\nMLrn B:VIMIN\\;read\n")
    code, _, err = run_cli(capsys, "grab-params", "--paramfile", str(bad))
    assert code == 2 and f"{bad}:2: not a valid ACNET device name" in err


def test_unwritable_outdir(capsys, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code, _, err = run_cli(capsys, "grab-params", "--outdir", str(blocker / "sub"))
    assert code == 2 and "output directory" in err and "not writable" in err


def test_malformed_acl_url(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("GMPSAI_SOURCE", "acl")
    monkeypatch.setenv("GMPSAI_ACL_URL", "http://[::1/acl.pl")
    code, _, err = run_cli(capsys, "grab-params", "--outdir", str(tmp_path / "o"))
    assert code == 2 and "GMPSAI_ACL_URL is not a valid URL" in err


def test_unknown_source(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("GMPSAI_SOURCE", "carrier-pigeon")
    code, _, err = run_cli(capsys, "grab-params", "--outdir", str(tmp_path / "o"))
    assert code == 2 and "GMPSAI_SOURCE must be one of simulated, acl, got 'carrier-pigeon'" in err
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
