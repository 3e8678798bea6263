import errno
import itertools
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

from gmpsai_assets.acnet.datalogger import DataLoggerUnavailable
from gmpsai_assets.files import drafts
from gmpsai_assets.files.naming import (
    PARAM_PREFIX,
    SupersededError,
    newest_partition_file,
    parse_data_file_name,
    same_partition_files,
)
from gmpsai_assets.files.paramfile import (
    FORMAT,
    DataFileError,
    read_param_attrs,
    read_param_device,
)
from gmpsai_assets.ingest.params import NoDataError, grab_params
from gmpsai_assets.samples import Samples
from gmpsai_assets.window import Window, day_window, parse_local_datetime
from gmpsai_assets_tests.h5filters import blosc2_shuffle

W = Window(day_window("2026-03-10").start + 3600, day_window("2026-03-10").start + 3660)
DEVICES = ["B:VIMIN", "B:NOTLOG", "I:IB"]


def _listing(path: Path) -> list[str]:
    return sorted(p.name for p in path.iterdir()) if path.exists() else []


def test_round_trip_attributes_and_outcomes(sim, tmp_path):
    result = grab_params(sim, DEVICES, W, tmp_path / "out", tmp_path / "drafts")
    assert result.path.parent == tmp_path / "out"
    name = parse_data_file_name(result.path.name)
    assert name and name.prefix == PARAM_PREFIX and name.node == "MLrn"
    assert (name.start, name.stop) == ("2026-03-10+01:00:00", "2026-03-10+01:01:00")
    assert name.window == W
    for device in ("B:VIMIN", "I:IB"):
        want = sim.fetch(device, W)
        got = read_param_device(result.path, device)
        assert np.array_equal(got.utc_seconds, want.utc_seconds)
        assert np.array_equal(got.values, want.values)
    attrs = read_param_attrs(result.path)
    assert attrs["format"] == FORMAT
    assert attrs["window_start_utc"] == W.start and attrs["window_end_utc"] == W.end
    assert attrs["window_start_local"] == "2026-03-10T01:00:00-05:00"
    assert attrs["node"] == "MLrn" and attrs["source"] == "simulated"
    assert attrs["devices"] == DEVICES
    assert abs(attrs["created_utc"] - time.time()) < 600
    assert attrs["software_version"]
    outcomes = attrs["device_outcomes"]
    assert outcomes["B:VIMIN"].status == "ok" and outcomes["B:VIMIN"].rows == len(
        sim.fetch("B:VIMIN", W))
    assert outcomes["B:NOTLOG"].status == "failed"
    assert "not logged" in outcomes["B:NOTLOG"].reason
    assert _listing(tmp_path / "drafts") == []


def test_plain_h5py_reads_layout_with_blosc2_shuffle(sim, tmp_path):
    path = grab_params(sim, ["B:VIMIN"], W, tmp_path, tmp_path / "d").path
    with h5py.File(path, "r") as f:
        ds = f["B:VIMIN"]["value"]
        assert blosc2_shuffle(ds) and ds.chunks
        assert blosc2_shuffle(f["B:VIMIN"]["axis1"])  # pandas' row index too
        assert f["B:VIMIN"].attrs["status"] == "ok"
        assert json.loads(f.attrs["device_outcomes"])["B:VIMIN"]["rows"] == ds.shape[0]
    assert oct(path.stat().st_mode & 0o777) != oct(0o600)


def test_empty_device_gets_empty_datasets(tmp_path):
    class Quiet:
        source, node, max_in_flight = "test", "MLrn", 1

        def fetch(self, device, window):
            return Samples.empty(device)

    path = grab_params(Quiet(), ["B:VIMIN"], W, tmp_path, tmp_path / "d").path
    assert read_param_attrs(path)["device_outcomes"]["B:VIMIN"].status == "empty"
    assert len(read_param_device(path, "B:VIMIN")) == 0


def test_all_devices_failing_publishes_nothing(tmp_path):
    class Down:
        source, node, max_in_flight = "test", "MLrn", 1

        def fetch(self, device, window):
            raise DataLoggerUnavailable("connection refused")

    with pytest.raises(NoDataError, match="connection refused"):
        grab_params(Down(), DEVICES, W, tmp_path / "out", tmp_path / "drafts")
    assert _listing(tmp_path / "out") == [] and _listing(tmp_path / "drafts") == []


def test_exception_mid_write_leaves_nothing(sim, tmp_path):
    class Breaks:
        source, node, max_in_flight = "test", "MLrn", 1
        calls = 0

        def fetch(self, device, window):
            self.calls += 1
            if self.calls == 2:
                raise RuntimeError("bug in the middle of the file")
            return sim.fetch(device, window)

    with pytest.raises(RuntimeError):
        grab_params(Breaks(), ["B:VIMIN", "I:IB", "B_VIMIN"], W, tmp_path / "o", tmp_path / "d")
    assert _listing(tmp_path / "o") == [] and _listing(tmp_path / "d") == []


def _writer_paused_mid_file(out: Path, draft: Path) -> subprocess.Popen:
    """A real grab in a child process, paused with its draft half written."""
    script = textwrap.dedent(f"""
        import sys, time
        from gmpsai_assets.sim.simulator import SimulatedBooster
        from gmpsai_assets.ingest.params import grab_params
        from gmpsai_assets.window import day_window
        sim = SimulatedBooster()
        def progress(line):
            print(line, flush=True)
            time.sleep(60)  # killed here, with the draft half written
        grab_params(sim, ["B:VIMIN", "I:IB"], day_window("2026-03-10"), {str(out)!r},
                    {str(draft)!r}, progress=progress)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().startswith("[1/2] B:VIMIN: ok")
    return proc


def test_killed_process_mid_write_leaves_nothing_in_output(sim, tmp_path):
    out, draft = tmp_path / "out", tmp_path / "drafts"
    proc = _writer_paused_mid_file(out, draft)
    live = _listing(draft)
    assert live[0].endswith(".draft") and live[1] == live[0] + ".lease"  # the writer's lease
    assert f".{proc.pid}@" in live[0]  # the draft names its writer
    grab_params(sim, ["B:VIMIN"], W, tmp_path / "out2", draft)
    assert _listing(draft) == live  # a live writer's draft is never removed
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert _listing(out) == []
    assert _listing(draft) == live  # the abandoned draft stays out of the output directory
    grab_params(sim, ["B:VIMIN"], W, tmp_path / "out2", draft)
    assert _listing(draft) == []  # and the next grab removes it


def test_stale_drafts_only_for_gone_writers(tmp_path):
    assert drafts.remove_stale_drafts(tmp_path / "absent") == []
    host = drafts._host()
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    dead_pid = int(gone.stdout)
    names = {
        "dead": f"MLParamData_1.{dead_pid}@{host}.abc123.draft",
        "mine": f"MLParamData_2.{os.getpid()}@{host}.def456.draft",
        "other host": f"MLParamData_3.{dead_pid}@elsewhere-1.ghi789.draft",
        "old untagged": "MLParamData_4.jkl012.draft",
        "new untagged": "MLParamData_5.mno345.draft",
        "not a draft": f"notes.{dead_pid}@{host}.txt",
    }
    for name in names.values():
        (tmp_path / name).write_bytes(b"x")
    old = time.time() - drafts.UNTAGGED_STALE_S - 60
    os.utime(tmp_path / names["old untagged"], (old, old))
    removed = drafts.remove_stale_drafts(tmp_path)
    assert sorted(p.name for p in removed) == sorted([names["dead"], names["old untagged"]])
    assert _listing(tmp_path) == sorted(n for k, n in names.items()
                                        if k not in ("dead", "old untagged"))


def test_cross_filesystem_publish_copies_fsyncs_and_renames(sim, tmp_path, monkeypatch):
    real_link = os.link
    calls = []

    def link(src, dst):
        calls.append((Path(src).name, Path(dst).name))
        if len(calls) == 1:  # the draft -> output move: pretend the dirs are on two devices
            raise OSError(errno.EXDEV, "Invalid cross-device link")
        return real_link(src, dst)

    monkeypatch.setattr(drafts.os, "link", link)
    result = grab_params(sim, ["B:VIMIN"], W, tmp_path / "out", tmp_path / "drafts")
    assert calls[1][0].startswith(".") and ".incoming-" in calls[1][0]
    assert _listing(tmp_path / "out") == [result.path.name]
    assert _listing(tmp_path / "drafts") == []
    assert len(read_param_device(result.path, "B:VIMIN")) > 800


def test_regrab_replaces_previous_file_of_the_partition(sim, tmp_path):
    out = tmp_path / "out"
    first = grab_params(sim, ["B:VIMIN"], W, out, tmp_path / "d").path
    other = grab_params(sim, ["B:VIMIN"], Window(W.start, W.end + 60), out, tmp_path / "d").path
    old = out / first.name.replace(first.name.split("_")[1], "1000000000")
    first.rename(old)  # an older file of the same window
    second = grab_params(sim, ["I:IB"], W, out, tmp_path / "d")
    assert second.superseded == [old]
    assert same_partition_files(out, PARAM_PREFIX, "MLrn", W) == [second.path]
    assert sorted(_listing(out)) == sorted([second.path.name, other.name])


def test_reader_errors(tmp_path, sim):
    bad = tmp_path / "bad.h5"
    bad.write_bytes(b"not hdf5 at all")
    with pytest.raises(DataFileError, match="not a readable HDF5 file"):
        read_param_device(bad, "B:VIMIN")
    path = grab_params(sim, ["B:VIMIN"], W, tmp_path / "o", tmp_path / "d").path
    with pytest.raises(DataFileError, match="no device I:IB"):
        read_param_device(path, "I:IB")


def test_a_newer_file_of_the_partition_wins_over_a_late_publisher(sim, tmp_path):
    out = tmp_path / "out"
    first = grab_params(sim, ["B:VIMIN"], W, out, tmp_path / "d").path
    newer = first.with_name(first.name.replace(first.name.split("_")[1], "4000000000"))
    first.rename(newer)  # another run of the same partition created later, published first
    with pytest.raises(SupersededError, match="superseded by the newer"):
        grab_params(sim, ["B:VIMIN"], W, out, tmp_path / "d")
    assert _listing(out) == [newer.name]


def test_windows_sharing_a_name_in_the_repeated_hour_both_survive(sim, tmp_path, monkeypatch):
    # Both grabs in one second of the clock: before, `<created>` was a whole second, the two
    # files got one name and the second publish replaced the first.
    clock = itertools.count(1_800_000_000.0, 0.001)
    monkeypatch.setattr(time, "time", lambda: next(clock))
    cdt = parse_local_datetime("2026-11-01 01:00")  # first 01:00, still CDT
    cst = cdt + 3600  # the second 01:00, CST: the same local name
    a = grab_params(sim, ["B:VIMIN"], Window(cdt, cdt + 600), tmp_path / "o", tmp_path / "d")
    b = grab_params(sim, ["B:VIMIN"], Window(cst, cst + 600), tmp_path / "o", tmp_path / "d")
    name_a, name_b = parse_data_file_name(a.path.name), parse_data_file_name(b.path.name)
    assert int(name_a.created) == int(name_b.created) and a.path != b.path
    # Same partition by name, so remove_superseded's window guard is what keeps `a`.
    assert same_partition_files(tmp_path / "o", PARAM_PREFIX, "MLrn", b.window) == sorted(
        [a.path, b.path])
    assert a.path.exists() and b.path.exists() and b.superseded == []
    assert read_param_attrs(a.path)["window_start_utc"] == cdt
    assert read_param_attrs(b.path)["window_start_utc"] == cst


def test_a_name_taken_meanwhile_is_never_overwritten(sim, tmp_path, monkeypatch):
    monkeypatch.setattr(time, "time", lambda: 1_800_000_000.0)  # two runs in one microsecond
    first = grab_params(sim, ["B:VIMIN"], W, tmp_path / "o", tmp_path / "d").path
    kept = first.read_bytes()
    with pytest.raises(FileExistsError, match="published meanwhile"):
        grab_params(sim, ["I:IB"], W, tmp_path / "o", tmp_path / "d")
    assert first.read_bytes() == kept and _listing(tmp_path / "d") == []


def test_old_fractional_names_parse_and_order_by_time(tmp_path):
    old = "MLParamData_1583906408.4261804_From_MLrn_2020-03-10+00:00:00_to_2020-03-11+00:00:00.h5"
    parsed = parse_data_file_name(old)
    assert parsed.name == old and parsed.created == 1583906408.4261804
    window = parsed.window
    for created in ("999999999.5", "1000000000", "1000000000.000001", "1000000000.0000001"):
        (tmp_path / old.replace("1583906408.4261804", created)).write_bytes(b"")
    newest = newest_partition_file(tmp_path, PARAM_PREFIX, "MLrn", window)
    assert newest.name == old.replace("1583906408.4261804", "1000000000.000001")


def test_draft_is_fsynced_before_it_gets_its_name(sim, tmp_path, monkeypatch):
    synced = []
    real_fsync, real_link = os.fsync, os.link
    monkeypatch.setattr(drafts.os, "fsync", lambda fd: (synced.append(
        os.readlink(f"/proc/self/fd/{fd}")), real_fsync(fd))[1])
    order = []
    monkeypatch.setattr(drafts.os, "link", lambda a, b: (order.append(len(synced)),
                                                         real_link(a, b))[1])
    grab_params(sim, ["B:VIMIN"], W, tmp_path / "out", tmp_path / "drafts")
    assert synced[0].endswith(".draft") and order == [1]  # file synced, then renamed
    assert synced[-1] == str(tmp_path / "out")  # and the directory entry made durable


def test_newest_partition_file_is_the_latest_created(sim, tmp_path):
    out = tmp_path / "out"
    assert newest_partition_file(out, PARAM_PREFIX, "MLrn", W) is None  # no directory yet
    path = grab_params(sim, ["B:VIMIN"], W, out, tmp_path / "d").path
    older = path.with_name(path.name.replace(path.name.split("_")[1], "999999999"))  # 9 digits
    older.write_bytes(b"")
    assert newest_partition_file(out, PARAM_PREFIX, "MLrn", W) == path
