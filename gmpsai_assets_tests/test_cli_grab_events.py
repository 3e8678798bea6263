import subprocess
import sys
from pathlib import Path

import pytest

from gmpsai_assets.files.eventfile import list_events, read_event_attrs


def _dirs(tmp_path: Path) -> list[str]:
    return ["--outdir", str(tmp_path / "o"), "--draftdir", str(tmp_path / "d")]


def test_grab_events_over_a_window(run_cli, tmp_path):
    code, out, err = run_cli("grab-events", "-v", "--stopat", "2026-03-10+14:00:00",
                             "--minutes", "3", *_dirs(tmp_path))
    assert code == 0, err
    [path] = list((tmp_path / "o").iterdir())
    assert str(path) in out and "0 failed" in out
    assert path.name.endswith("_From_MLrn_2026-03-10+13:57:00_to_2026-03-10+14:00:00.h5")
    attrs = read_event_attrs(path)
    assert attrs["events_requested"] == list(range(256))
    assert 0x0C in list_events(path) and f"{len(list_events(path))} events found" in out
    assert "[13/256] $0C: ok (" in err and "[256/256] $FF: empty (0 occurrences)" in err
    assert list((tmp_path / "d").iterdir()) == []


def test_maxevt_and_first_only(run_cli, tmp_path):
    code, _, err = run_cli("grab-events", "--stopat", "2026-03-10+14:00:00",
                           "--minutes", "3", "--maxEvt", "0C", *_dirs(tmp_path / "a"))
    assert code == 0, err
    [path] = list((tmp_path / "a" / "o").iterdir())
    assert read_event_attrs(path)["events_requested"] == list(range(13))
    code, out, err = run_cli("grab-events", "--stopat", "2026-03-10+14:00:00",
                             "--minutes", "3", "-o", *_dirs(tmp_path / "b"))
    assert code == 0, err
    [path] = list((tmp_path / "b" / "o").iterdir())
    assert list_events(path) == [0x00] and read_event_attrs(path)["stopped_early"]
    assert "1 events found: $00;" in out


def test_default_max_event_from_the_environment(run_cli, tmp_path, monkeypatch):
    monkeypatch.setenv("GMPSAI_MAX_EVENT", "04")
    code, _, err = run_cli("grab-events", "--stopat", "2026-03-10+14:00:00",
                           "--seconds", "70", *_dirs(tmp_path))
    assert code == 0, err
    [path] = list((tmp_path / "o").iterdir())
    assert read_event_attrs(path)["events_requested"] == [0, 1, 2, 3, 4]


@pytest.mark.parametrize(("argv", "message"), [
    (["--maxEvt", "zz"], "argument --maxEvt: not a TCLK event code"),
    (["--maxEvt", "100"], "argument --maxEvt: not a TCLK event code"),
    (["--stopat", "2026-13-01"], "not a valid date/time '2026-13-01'"),
    (["--stopat", "2026-03-08+02:30:00"], "does not exist in America/Chicago"),
    (["--minutes", "-5"], "--minutes must be a finite number >= 0"),
    (["--hours", "x"], "argument --hours: invalid float value"),
    (["--startat", "2026-03-10", "--stopat", "2026-03-09"], "is not after start"),
])
def test_bad_options_one_line_exit_2(run_cli, tmp_path, argv, message):
    code, out, err = run_cli("grab-events", *argv, *_dirs(tmp_path))
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and message in err
    assert not (tmp_path / "o").exists()


def test_unwritable_outdir_and_bad_environment(run_cli, tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code, _, err = run_cli("grab-events", "--outdir", str(blocker / "sub"),
                           "--draftdir", str(tmp_path / "d"))
    assert code == 1 and "failed: output directory" in err and "not writable" in err  # OS error
    assert list((tmp_path / "d").iterdir()) == []
    monkeypatch.setenv("GMPSAI_MAX_EVENT", "xyz")
    code, _, err = run_cli("grab-events", *_dirs(tmp_path))
    assert code == 2 and "GMPSAI_MAX_EVENT must be hex 00..ff" in err


def test_console_script_help_lists_the_old_options():
    exe = Path(sys.executable).with_name("gmpsai")
    proc = subprocess.run([str(exe), "grab-events", "--help"], capture_output=True, text=True)
    assert proc.returncode == 0
    for option in ("-v", "--stopat", "--days", "--hours", "--minutes", "--seconds", "--outdir",
                   "--draftdir", "--maxEvt", "-o"):
        assert option in proc.stdout
