"""Bad data never crashes, bugs never pass as bad data.

Real HDF5 files with each content problem (text where numbers belong, a 2-D column, a missing
attribute or dataset, NaN times, unequal lengths) are recorded `failed` once, with a sentence
naming the device or attribute and what is wrong; files with damaged bytes are `corrupt` or
read, never an exception; and an error of our own code propagates with nothing recorded, so a
fixed release reads the file again. (Injecting the bug by monkeypatching a reader is the point of
those tests: it stands for a bug in that reader.)
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import warnings
from collections.abc import Callable
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest

from gmpsai_assets.cli import main
from gmpsai_assets.files import datafile, legacy, paramfile
from gmpsai_assets.sim.simulator import SimulatedBooster
from gmpsai_assets.stats import distill, store
from gmpsai_assets.stats.distill import distill_file, distill_into_store
from gmpsai_assets_tests.test_legacy_formats import NAME_TAIL, _device_arrays
from gmpsai_assets_tests.test_stats_distill import _event_file, _param_file

pytestmark = pytest.mark.filterwarnings("ignore::tables.NaturalNameWarning")

Mutate = Callable[[h5py.File], None]


def _replace(group: h5py.Group, name: str, data: np.ndarray) -> None:
    """Put `data` where dataset `name` was (the pandas view keeps its hard link to the old)."""
    del group[name]
    group.create_dataset(name, data=data)


def _text_values(f: h5py.File) -> None:
    _replace(f["B:VIMIN"], "value", np.array([b"abc"] * f["B:VIMIN/value"].shape[0]))


def _two_columns(f: h5py.File) -> None:
    _replace(f["B:VIMIN"], "value", np.zeros((f["B:VIMIN/value"].shape[0], 2)))


def _no_devices(f: h5py.File) -> None:
    del f.attrs["devices"]


def _nan_time(f: h5py.File) -> None:
    f["B:VIMIN/utc_seconds"][5] = np.nan


def _short_values(f: h5py.File) -> None:
    _replace(f["B:VIMIN"], "value", f["B:VIMIN/value"][:-3])


def _no_values(f: h5py.File) -> None:
    del f["B:VIMIN/value"]


def _outcomes_not_json(f: h5py.File) -> None:
    f.attrs["device_outcomes"] = "{B:VIMIN: ok"


def _outcome_without_status(f: h5py.File) -> None:
    f.attrs["device_outcomes"] = json.dumps({"B:VIMIN": {"rows": 3}})


def _window_as_text(f: h5py.File) -> None:
    f.attrs["window_start_utc"] = "yesterday"


PARAM_PROBLEMS: dict[str, tuple[Mutate, str]] = {
    "text values": (_text_values, "device B:VIMIN: the dataset 'value' holds text (dtype |S3) "
                                  "where numbers belong"),
    "2-D values": (_two_columns, "device B:VIMIN: the dataset 'value' has shape (1800, 2); it "
                                 "must be one column (1-D)"),
    "no devices attribute": (_no_devices, "the file attribute 'devices' is missing (every "
                                          "gmpsai-params/3 file has it)"),
    "NaN time": (_nan_time, "device B:VIMIN: 1 of 1800 times are not finite numbers (NaN or "
                            "infinity; the first at row 5)"),
    "unequal lengths": (_short_values, "device B:VIMIN: 'utc_seconds' has 1800 rows but 'value' "
                                       "has 1797 rows; they must be equally long"),
    "no value dataset": (_no_values, "device B:VIMIN: the dataset 'value' is missing"),
    "outcomes not JSON": (_outcomes_not_json, "the file attribute 'device_outcomes' is not JSON"),
    "outcome without status": (_outcome_without_status, "the file attribute device_outcomes of "
                                                        "B:VIMIN is {'rows': 3}, not"),
    "window as text": (_window_as_text, "the file attribute 'window_start_utc' is 'yesterday', "
                                        "not a number"),
}


def _event_text_sc(f: h5py.File) -> None:
    rows = f["Event0c/sc_seconds"].shape[0]
    _replace(f["Event0c"], "sc_seconds", np.array(["0.5"] * rows, dtype=h5py.string_dtype()))


def _no_event_outcomes(f: h5py.File) -> None:
    del f.attrs["event_outcomes"]


EVENT_PROBLEMS: dict[str, tuple[Mutate, str]] = {
    "text sc_seconds": (_event_text_sc, "event $0C: the dataset 'sc_seconds' holds text (dtype "
                                        "object) where numbers belong"),
    "no event_outcomes": (_no_event_outcomes, "the file attribute 'event_outcomes' is missing"),
}


def _craft(good: Path, mutate: Mutate) -> Path:
    bad = good.with_name(good.name.replace("_From_", "_9_From_"))
    shutil.copy(good, bad)
    with h5py.File(bad, "r+") as f:
        mutate(f)
    return bad


def _files_table(db: Path) -> list[tuple[str, str, str]]:
    with store.reader(db) as con:
        return con.execute("SELECT name, status, error FROM data_files ORDER BY name").fetchall()


@pytest.mark.parametrize("problem", [*PARAM_PROBLEMS, *EVENT_PROBLEMS])
def test_each_content_problem_is_recorded_failed_once_with_a_sentence(
    problem: str, tmp_path: Path, sim: SimulatedBooster
) -> None:
    if problem in PARAM_PROBLEMS:
        mutate, sentence = PARAM_PROBLEMS[problem]
        bad = _craft(_param_file(tmp_path, sim), mutate)
    else:
        mutate, sentence = EVENT_PROBLEMS[problem]
        bad = _craft(_event_file(tmp_path), mutate)
    db = tmp_path / "gmpsai.duckdb"
    for _ in range(2):  # a second distillation replaces the record, never adds one
        result = distill_into_store(bad, db)
        assert not result.ok
    assert result.record.error.startswith(f"malformed: {sentence}"), result.record.error
    assert _files_table(db) == [(bad.name, "failed", result.record.error)]


def test_an_old_file_with_text_in_a_value_column_is_malformed(tmp_path: Path) -> None:
    path = tmp_path / f"MLParamData_1583900000{NAME_TAIL}"
    t, _ = _device_arrays()["B:VIMIN"]
    values = ["103.4"] * 3 + ["n/a"] + ["103.4"] * (t.size - 4)
    pd.DataFrame({"utc_seconds": t, "value": values}).to_hdf(
        str(path), key="B:VIMIN", append=True, format="table")
    result = distill_file(path)
    assert result.record.status == "failed"
    assert result.record.error.startswith(
        "malformed: key 'B:VIMIN': the column 'value' holds "), result.record.error
    assert result.record.error.endswith("values where numbers belong (row 3: 'n/a')")


def _good_files(directory: Path) -> dict[str, Path]:
    """One small file of every layout the readers know."""
    files = {"gmpsai-params": _param_file(directory, SimulatedBooster()),
             "gmpsai-events": _event_file(directory)}
    arrays = _device_arrays()
    files["pandas-params"] = directory / f"MLParamData_1583900000{NAME_TAIL}"
    legacy.write_legacy_params(files["pandas-params"], arrays)
    files["pandas-mldata"] = directory / f"MLData_1583900000{NAME_TAIL}"
    legacy.write_legacy_mldata(files["pandas-mldata"], arrays)
    files["pandas-events"] = directory / f"MLEventData_1583900000{NAME_TAIL}"
    t = arrays["B:VIMIN"][0]
    legacy.write_legacy_events(files["pandas-events"], {0x0C: (t, t % 60.0667)})
    return files


def test_damaged_bytes_are_corrupt_never_a_crash(tmp_path: Path) -> None:
    """Bytes overwritten at random places in a file of every layout (fixed seed): reading gives
    the data or a BadDataFile, never another exception. Such files showed what h5py, PyTables
    and pandas raise for damage (datafile._READ_ERRORS); 40 per layout keep the test quick.
    (Other seeds find old pandas files whose damage makes PyTables crash the process with a
    segmentation fault as the file is opened: no Python code can catch that.)"""
    rng = np.random.default_rng(0)
    problems: dict[str, int] = {}
    for good in _good_files(tmp_path).values():
        data = good.read_bytes()
        bad = tmp_path / "damaged" / good.name
        bad.parent.mkdir(exist_ok=True)
        for _ in range(40):
            b = bytearray(data)
            at, width = int(rng.integers(8, len(b) - 16)), int(rng.choice([1, 4, 16]))
            b[at:at + width] = rng.bytes(width)
            bad.write_bytes(bytes(b))
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # PyTables warns about what it cannot read
                    for _ds in datafile.open_data_file(bad).datasets():
                        pass
            except datafile.BadDataFile as exc:
                problems[exc.problem] = problems.get(exc.problem, 0) + 1
                assert str(exc).count("\n") == 0
    assert problems.get("corrupt", 0) > 20  # the damage did reach the readers


BUGS = [TypeError("unsupported operand type(s) for +: 'int' and 'str'"),
        AttributeError("'NoneType' object has no attribute 'shape'"),
        IndexError("index 2 is out of bounds for axis 0 with size 2"),
        KeyError("value")]


@pytest.mark.parametrize("bug", BUGS, ids=lambda e: type(e).__name__)
def test_a_bug_in_a_reader_propagates_and_records_nothing(
    bug: Exception, tmp_path: Path, sim: SimulatedBooster, monkeypatch: pytest.MonkeyPatch
) -> None:
    good, db = _param_file(tmp_path, sim), tmp_path / "gmpsai.duckdb"

    def buggy_reader(path: Path, device: str) -> None:
        raise bug

    monkeypatch.setattr(paramfile, "read_param_device", buggy_reader)
    with pytest.raises(type(bug)):
        distill_into_store(good, db)
    assert not db.exists() or _files_table(db) == []


def test_a_bug_in_the_statistics_propagates_from_its_thread(
    tmp_path: Path, sim: SimulatedBooster, monkeypatch: pytest.MonkeyPatch
) -> None:
    good, db = _param_file(tmp_path, sim), tmp_path / "gmpsai.duckdb"

    def buggy_stats(*args: object) -> None:
        return np.asarray(["1.0", "x"], dtype=np.float64)  # a ValueError of our own code

    monkeypatch.setattr(distill, "param_stats", buggy_stats)
    with pytest.raises(ValueError, match="could not convert string to float"):
        distill_into_store(good, db)
    assert not db.exists() or _files_table(db) == []


def test_the_cli_records_a_malformed_file_once_in_one_line(
    tmp_path: Path, sim: SimulatedBooster, capsys: pytest.CaptureFixture[str]
) -> None:
    good = _param_file(tmp_path, sim)
    bad = _craft(good, _text_values)
    db = tmp_path / "stats.duckdb"
    for _ in range(2):
        assert main(["distill", str(bad), str(good), "--db", str(db)]) == 1
        out, err = capsys.readouterr()
        assert f"{bad.name}: FAILED (malformed: device B:VIMIN: the dataset 'value' holds text " \
               "(dtype |S3) where numbers belong)" in out.splitlines()
        assert f"{good.name}: ok" in out and "Traceback" not in err
    assert [(n, s) for n, s, _ in _files_table(db)] == [(bad.name, "failed"), (good.name, "ok")]


def test_the_cli_fails_loudly_on_a_bug_and_records_nothing(
    tmp_path: Path, sim: SimulatedBooster
) -> None:
    """A real `gmpsai distill` process whose reader has a bug: traceback, exit status 1, and the
    file is not recorded, so a fixed release distils it."""
    good, db = _param_file(tmp_path, sim), tmp_path / "stats.duckdb"
    program = (
        "import sys\n"
        "from gmpsai_assets.files import paramfile\n"
        "def buggy_reader(path, device):\n"
        "    return {}[device]  # a KeyError of the reader's own\n"
        "paramfile.read_param_device = buggy_reader\n"
        "from gmpsai_assets.cli import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    run = subprocess.run([sys.executable, "-c", program, "distill", str(good), "--db", str(db)],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 1
    assert "Traceback (most recent call last)" in run.stderr
    assert run.stderr.rstrip().endswith("KeyError: 'B:VIMIN'")
    assert "FAILED" not in run.stdout
    assert not db.exists() or _files_table(db) == []
