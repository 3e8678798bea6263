"""File catalogue: declarations against checksums computed here independently (zlib, hashlib
over the file's bytes), replaced files, `gmpsai catalog` and `--verify`, old files."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import zlib
from pathlib import Path

import dagster as dg
import numpy as np
import pytest

from gmpsai_assets.catalog.checksums import FileChangedError
from gmpsai_assets.catalog.declaration import declare, declare_data_file, read_declaration
from gmpsai_assets.cli import main
from gmpsai_assets.defs.event_data import event_data
from gmpsai_assets.defs.file_stats import file_stats
from gmpsai_assets.defs.param_data import param_data
from gmpsai_assets.files import legacy
from gmpsai_assets.files.naming import PARAM_PREFIX, remove_superseded
from gmpsai_assets.files.paramfile import ParamFileWriter
from gmpsai_assets.files.sidecar import sidecar_path
from gmpsai_assets.sim.simulator import SimulatedBooster
from gmpsai_assets.stats.distill import distill_file
from gmpsai_assets.window import day_window
from gmpsai_assets_tests.test_file_stats import SMALL_EVENTS, _resources
from gmpsai_assets_tests.test_legacy_formats import NAME_TAIL, _device_arrays
from gmpsai_assets_tests.test_stats_distill import WINDOW, _event_file, _param_file

pytestmark = pytest.mark.filterwarnings("ignore::dagster.PreviewWarning")


def _independent(path: Path) -> dict[str, object]:
    data = path.read_bytes()
    return {"size": len(data), "adler32": f"{zlib.adler32(data) & 0xFFFFFFFF:08x}",
            "md5": hashlib.md5(data).hexdigest()}


def _sidecar(path: Path) -> dict:
    return json.loads(sidecar_path(path).read_text())


def _declared(path: Path) -> dict[str, object]:
    body = _sidecar(path)
    return {"size": body["size"], **body["checksums"]}


def _distil_and_declare(path: Path, namespace: str = "gmpsai"):
    result = distill_file(path)
    assert result.ok, result.record.error
    return declare_data_file(result.info, result.dataset_rows(), result.digests, namespace)


def test_parameter_file_declaration_fields(tmp_path: Path, sim: SimulatedBooster) -> None:
    path = _param_file(tmp_path, sim)
    result = distill_file(path)
    decl = declare_data_file(result.info, result.dataset_rows(), result.digests, "booster")
    body = _sidecar(path)
    assert decl.sidecar == tmp_path / (path.name + ".json")
    assert _declared(path) == _independent(path)
    assert result.record.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert (body["namespace"], body["name"], body["parents"]) == ("booster", path.name, [])
    meta = body["metadata"]
    assert meta["gmpsai.kind"] == "params" and meta["gmpsai.format"] == "gmpsai-params/3"
    assert meta["gmpsai.window_start_local"] == "2020-03-10+12:00:00"
    assert meta["gmpsai.window_stop_local"] == "2020-03-10+12:02:00"
    assert (meta["gmpsai.window_start_utc"], meta["gmpsai.window_stop_utc"]) == (
        WINDOW.start, WINDOW.end)
    assert (meta["gmpsai.node"], meta["gmpsai.source"]) == ("MLrn", "simulated")
    devices = meta["gmpsai.devices"]
    assert devices["B:GONE"] == {"status": "failed", "rows": 0}
    assert devices["B:VIMIN"]["status"] == "ok" and devices["B:VIMIN"]["rows"] == 1800
    assert meta["gmpsai.failed"] == ["B:GONE"]
    assert meta["gmpsai.rows_total"] == sum(d["rows"] for d in devices.values())
    assert meta["gmpsai.software_version"]
    assert all(k.startswith("gmpsai.") for k in meta)


def test_event_file_and_a_derived_file_with_parents(tmp_path: Path) -> None:
    events = _event_file(tmp_path)
    _distil_and_declare(events)
    meta = _sidecar(events)["metadata"]
    assert _declared(events) == _independent(events)
    assert meta["gmpsai.kind"] == "events"
    assert meta["gmpsai.events"]["Event0c"] == {"status": "ok", "rows": 1800}
    derived = tmp_path / "CycleTable_2020-03-10.parquet"
    derived.write_bytes(b"PAR1 not really, but bytes are bytes PAR1")
    decl = declare(derived, "cycles", {"rows": 3}, "gmpsai",
                   parents=[events, "MLParamData_x.h5"])
    body = _sidecar(derived)
    assert _declared(derived) == _independent(derived) and decl.did == f"gmpsai:{derived.name}"
    assert body["metadata"]["gmpsai.rows"] == 3 and body["metadata"]["gmpsai.kind"] == "cycles"
    assert body["parents"] == [{"namespace": "gmpsai", "name": events.name},
                               {"namespace": "gmpsai", "name": "MLParamData_x.h5"}]
    assert declare(derived, "cycles", {}, "booster").did == f"booster:{derived.name}"


def test_digests_of_a_previous_version_are_refused(tmp_path: Path, sim: SimulatedBooster) -> None:
    path = _param_file(tmp_path, sim)
    result = distill_file(path)
    with open(path, "ab") as f:  # the file changes after it was read
        f.write(b"\0" * 10)
    with pytest.raises(FileChangedError):
        declare_data_file(result.info, result.dataset_rows(), result.digests, "gmpsai")
    assert not sidecar_path(path).exists()


def test_replaced_file_sidecar_follows(tmp_path: Path, sim: SimulatedBooster, capsys) -> None:
    path = _param_file(tmp_path, sim)
    assert main(["catalog", str(tmp_path)]) == 0
    first = _declared(path)
    assert first == _independent(path)
    path.unlink()  # replaced in place by another version (other devices) under the same name
    with ParamFileWriter(path, WINDOW, "MLrn", "simulated", ["I:IB"], created_utc=1583900000) as w:
        w.add("I:IB", sim.fetch("I:IB", WINDOW), None)
    assert main(["catalog", "--verify", str(tmp_path)]) == 1  # the old declaration is stale
    assert main(["catalog", str(tmp_path)]) == 0
    assert _declared(path) == _independent(path) != first
    assert list(_sidecar(path)["metadata"]["gmpsai.devices"]) == ["I:IB"]
    assert main(["catalog", "--verify", str(tmp_path)]) == 0


def test_a_superseded_file_leaves_with_its_declaration(tmp_path: Path, sim: SimulatedBooster):
    old = _param_file(tmp_path, sim, created=1583900000)
    new = _param_file(tmp_path, sim, created=1583900999)
    _distil_and_declare(old)
    _distil_and_declare(new)
    assert remove_superseded(new, PARAM_PREFIX, "MLrn", WINDOW) == [old]
    assert not old.exists() and not sidecar_path(old).exists()
    assert _declared(new) == _independent(new)


def test_verify_catches_a_flipped_byte_a_truncation_and_a_lost_file(
    tmp_path: Path, sim: SimulatedBooster, capsys
) -> None:
    params, events = tmp_path / "params", tmp_path / "events"
    params.mkdir()
    events.mkdir()
    flipped = _param_file(params, sim, created=1)
    truncated = _event_file(events)
    lost = _param_file(params, sim, created=2).rename(params / "MLParamData_2_lost.h5")
    intact = _param_file(params, sim, created=3).rename(params / "MLParamData_3_intact.h5")
    assert main(["catalog", str(tmp_path)]) == 0
    assert main(["catalog", "--verify", str(tmp_path)]) == 0
    capsys.readouterr()

    data = bytearray(flipped.read_bytes())
    data[len(data) // 2] ^= 0x01
    flipped.write_bytes(bytes(data))
    with open(truncated, "r+b") as f:
        f.truncate(truncated.stat().st_size - 100)
    lost.unlink()
    assert main(["catalog", "--verify", str(tmp_path)]) == 1
    out = capsys.readouterr().out.splitlines()[:-1]
    lines = {line.split()[1].rstrip(":"): line for line in out}
    assert lines[str(flipped)].startswith("MISMATCH") and "adler32" in lines[str(flipped)]
    assert "size" not in lines[str(flipped)]  # same size, other bytes
    assert lines[str(truncated)].startswith("MISMATCH") and "size" in lines[str(truncated)]
    assert lines[str(lost)].startswith("MISSING")
    assert lines[str(intact)].startswith("OK")


def test_old_files_get_declarations_too(tmp_path: Path, capsys) -> None:
    arrays = _device_arrays()
    params = tmp_path / f"MLParamData_1583900000{NAME_TAIL}"
    legacy.write_legacy_params(params, arrays)
    mldata = tmp_path / f"MLData_1562345678{NAME_TAIL}"
    legacy.write_legacy_mldata(mldata, arrays)
    events = tmp_path / NAME_TAIL.replace("_From", "MLEventData_1583900001_From")
    utc = day_window("2020-03-10").start + np.arange(0, 600, 60.0)
    legacy.write_legacy_events(events, {0x00: (utc, utc % 60.0666)})
    assert main(["catalog", str(tmp_path)]) == 0
    for path, fmt in ((params, legacy.PANDAS_PARAMS), (mldata, legacy.PANDAS_MLDATA),
                      (events, legacy.PANDAS_EVENTS)):
        meta = _sidecar(path)["metadata"]
        assert _declared(path) == _independent(path)
        assert (meta["gmpsai.format"], meta["gmpsai.generation"]) == (fmt, "old")
        assert meta["gmpsai.window_start_local"] == "2020-03-10+00:00:00"
        assert meta["gmpsai.window_stop_local"] == "2020-03-11+00:00:00"
        assert "gmpsai.source" not in meta  # old files do not say; nothing is made up
    devices = _sidecar(params)["metadata"]["gmpsai.devices"]
    assert {d: e["rows"] for d, e in devices.items()} == {d: len(t) for d, (t, _) in arrays.items()}
    assert _sidecar(events)["metadata"]["gmpsai.events"] == {
        "Event00": {"status": "ok", "rows": 10}}


def test_unreadable_file_gets_no_declaration_and_loses_a_stale_one(
    tmp_path: Path, sim: SimulatedBooster, capsys
) -> None:
    good = _param_file(tmp_path, sim)
    bad = tmp_path / "MLParamData_5_corrupt.h5"
    bad.write_bytes(good.read_bytes()[:3000])
    sidecar_path(bad).write_text('{"stale": true}')
    assert main(["catalog", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert f"FAILED     {bad}" in out and "1 file(s) declared" in out
    assert sidecar_path(good).exists() and not sidecar_path(bad).exists()


def test_bad_input_is_a_one_line_error(tmp_path: Path, capsys, monkeypatch) -> None:
    assert main(["catalog", str(tmp_path / "nowhere")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("gmpsai catalog: error:") and err.count("\n") == 1
    assert main(["catalog", "--namespace", "a b;c", str(tmp_path)]) == 2
    assert "namespace" in capsys.readouterr().err
    monkeypatch.setenv("GMPSAI_CATALOG_NAMESPACE", "")  # empty: the default
    sidecar_path(tmp_path / "MLParamData_1_x.h5").write_text("{not json")
    (tmp_path / "MLParamData_1_x.h5").write_bytes(b"x")
    assert main(["catalog", "--verify", str(tmp_path)]) == 1
    assert "UNREADABLE" in capsys.readouterr().out
    with pytest.raises(FileNotFoundError):
        read_declaration(tmp_path / "other.h5")


def test_configured_metacat_without_its_client_is_a_one_line_error(
    tmp_path: Path, sim: SimulatedBooster, capsys, monkeypatch
) -> None:
    if importlib.util.find_spec("metacat") is not None:
        pytest.skip("metacat-client is installed here; this checks the message without it")
    _param_file(tmp_path, sim)
    monkeypatch.setenv("GMPSAI_METACAT_URL", "http://127.0.0.1:9/metacat")
    assert main(["catalog", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "metacat-client is not installed" in err and err.count("\n") == 1


def test_file_stats_declares_the_day_files_and_shows_them_on_the_day(tmp_path: Path) -> None:
    res = _resources(tmp_path)
    with dg.instance_for_test() as instance:
        assert dg.materialize([param_data, event_data], partition_key="2024-01-10",
                              instance=instance, resources=res, run_config=SMALL_EVENTS).success
        run = dg.materialize([file_stats], partition_key="2024-01-10", instance=instance,
                             resources=res)
        assert run.success
        meta = run.get_asset_materialization_events()[0].materialization.metadata
        path = Path(meta["param_file"].value)
        assert meta["param_data_declaration"].value == str(sidecar_path(path))
        assert _declared(path) == _independent(path)
        event_file = Path(meta["event_file"].value)
        assert _declared(event_file) == _independent(event_file)
        events_seen = instance.fetch_observations(dg.AssetKey("event_data"), limit=5).records
        assert [r.partition_key for r in events_seen] == ["2024-01-10"]
        seen = instance.fetch_observations(dg.AssetKey("param_data"), limit=5).records
        assert [r.partition_key for r in seen] == ["2024-01-10"]
        shown = seen[0].asset_observation.metadata
        assert shown["did"].value == f"gmpsai:{path.name}"
