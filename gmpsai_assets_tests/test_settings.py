"""Configuration: every GMPSAI_* setting parsed and checked once, before any work, and a bad
value named in one line: by the model, by every CLI subcommand (exit 2, nothing written), and by
a Dagster run (it fails at its start, before a file is fetched or written)."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from gmpsai_assets.cli import COMMANDS, main
from gmpsai_assets.defs.event_data import event_data
from gmpsai_assets.defs.param_data import param_data
from gmpsai_assets.defs.resources import DataLoggerResource, StorageResource, build_resources
from gmpsai_assets.preflight import preflight
from gmpsai_assets.settings import RETIRED, SETTINGS, Settings, SettingsError, Source
from gmpsai_assets_tests.conftest import updating_snapshots

# (variable, bad value, words the one-line message must hold)
BAD = [
    ("GMPSAI_STATS_DB", "/proc/1/x", "GMPSAI_STATS_DB: cannot create /proc/1/x"),
    ("GMPSAI_TIMELINE_DB", "/proc/1/x", "GMPSAI_TIMELINE_DB: cannot create"),
    ("GMPSAI_DATA_DIR", "/proc/1/data", "GMPSAI_DATA_DIR: cannot create"),
    ("GMPSAI_PUBLISH_DIR", "/etc/passwd/site", "GMPSAI_PUBLISH_DIR: cannot create"),
    ("GMPSAI_GAP_TICKS", "abc", "GMPSAI_GAP_TICKS must be a number, got 'abc'"),
    ("GMPSAI_GAP_TICKS", "0.5", "GMPSAI_GAP_TICKS must be a number >= 1"),
    ("GMPSAI_COMPLETENESS_WARN", "2", "GMPSAI_COMPLETENESS_WARN must be a number in [0, 1]"),
    ("GMPSAI_COMPLETENESS_ERROR", "0.99", "must not exceed GMPSAI_COMPLETENESS_WARN"),
    ("GMPSAI_TIMELINE_MAX_OUTAGE_S", "-5", "GMPSAI_TIMELINE_MAX_OUTAGE_S must be a number > 0"),
    ("GMPSAI_TIMELINE_MAX_GAP_S", "nan", "GMPSAI_TIMELINE_MAX_GAP_S must be a finite number"),
    ("GMPSAI_RUN_RETENTION_DAYS", "0", "GMPSAI_RUN_RETENTION_DAYS must be a number >= 1"),
    ("GMPSAI_TIMELINE_SENSOR_S", "often", "GMPSAI_TIMELINE_SENSOR_S must be an integer"),
    ("GMPSAI_ACL_TIMEOUT_S", "inf", "GMPSAI_ACL_TIMEOUT_S must be a finite number"),
    ("GMPSAI_ACL_RETRIES", "-1", "GMPSAI_ACL_RETRIES must be at least 0"),
    ("GMPSAI_MAX_IN_FLIGHT", "0", "GMPSAI_MAX_IN_FLIGHT must be at least 1"),
    ("GMPSAI_SIM_SEED", "1.5", "GMPSAI_SIM_SEED must be an integer"),
    ("GMPSAI_SOURCE", "carrier-pigeon", "GMPSAI_SOURCE must be one of simulated, acl"),
    ("GMPSAI_ACL_URL", "ftp://x.example/acl", "GMPSAI_ACL_URL must be an http"),
    ("GMPSAI_START_DATE", "2020-13-01", "GMPSAI_START_DATE must be a date"),
    ("GMPSAI_LOGGER_NODE", "ML;rn", "GMPSAI_LOGGER_NODE: not a valid DataLogger node"),
    ("GMPSAI_PARAM_LIST", "/nonexistent/list.txt", "GMPSAI_PARAM_LIST: no such file"),
    ("GMPSAI_MAX_EVENT", "zz", "GMPSAI_MAX_EVENT must be hex 00..ff"),
    ("GMPSAI_PUBLISH_JSON_NAME", "../x.json", "GMPSAI_PUBLISH_JSON_NAME must be a plain"),
    ("GMPSAI_CATALOG_NAMESPACE", "a;b", "GMPSAI_CATALOG_NAMESPACE"),
    ("GMPSAI_METACAT_URL", "metacat", "GMPSAI_METACAT_URL must be an http"),
]


def test_defaults_work_with_nothing_set(tmp_path: Path) -> None:
    s = preflight({"GMPSAI_DATA_DIR": str(tmp_path / "d")})
    assert s.source is Source.SIMULATED and s.sim_seed == 20200310 and s.gap_ticks == 3.0
    assert s.stats_db_path == tmp_path / "d" / "gmpsai.duckdb"
    assert s.site_dir == tmp_path / "d" / "site" and s.param_list is None
    assert not (tmp_path / "d").exists()  # checking a path creates nothing


def test_empty_variable_is_unset_and_values_are_typed(tmp_path: Path) -> None:
    s = Settings.from_env({"GMPSAI_DATA_DIR": str(tmp_path), "GMPSAI_GAP_TICKS": "",
                           "GMPSAI_COMPLETENESS_WARN": "0.8", "GMPSAI_SOURCE": "acl"})
    assert s.gap_ticks == 3.0 and s.completeness_limits == (0.8, 0.5)
    assert s.source is Source.ACL


@pytest.mark.parametrize(("var", "value", "message"), BAD)
def test_bad_value_names_the_variable(tmp_path: Path, var: str, value: str, message: str):
    with pytest.raises(SettingsError) as err:
        preflight({"GMPSAI_DATA_DIR": str(tmp_path / "d"), var: value})
    assert message in str(err.value) and "\n" not in str(err.value)


def test_every_variable_is_in_the_model() -> None:
    """Nothing in the package reads the environment except settings.py (and DAGSTER_HOME,
    Dagster's own variable, in the CLI): every GMPSAI_* name the code mentions is a setting."""
    import ast
    import re

    package = Path(__file__).parents[1] / "gmpsai_assets"
    known = {s.var for s in SETTINGS} | set(RETIRED)
    for path in package.rglob("*.py"):
        text = path.read_text()
        reads = [node for node in ast.walk(ast.parse(text)) if isinstance(node, ast.Attribute)
                 and isinstance(node.value, ast.Name) and node.value.id == "os"
                 and node.attr in ("environ", "getenv", "getenvb")]
        # DAGSTER_HOME: Dagster's own
        allowed = {"settings.py": 1, "cli/materialize_day.py": 1, "cli/status.py": 1}
        assert len(reads) == allowed.get(path.relative_to(package).as_posix(), 0), path
        unknown = set(re.findall(r"(?<![.\w])GMPSAI_[A-Z_]+[A-Z]", text)) - known
        assert not unknown, (path, unknown)


def _argv(command: str, tmp_path: Path) -> list[str]:
    """A valid command line of every subcommand, which would do real work if it started."""
    h5 = tmp_path / "x.h5"
    h5.write_bytes(b"")
    return {
        "grab-params": ["grab-params", "--outdir", str(tmp_path / "o"), "--hours", "1"],
        "grab-events": ["grab-events", "--outdir", str(tmp_path / "o"), "--hours", "1"],
        "materialize-day": ["materialize-day", "--date", "2026-03-10"],
        "backfill": ["backfill", "--from", "2026-03-10", "--to", "2026-03-11"],
        "acl-server": ["acl-server", "--port", "0"],
        "db-to-json": ["db-to-json", "--outdir", str(tmp_path / "o")],
        "serve-site": ["serve-site", "--port", "0"],
        "distill": ["distill", str(h5)],
        "import-legacy-db": ["import-legacy-db", str(h5)],
        "catalog": ["catalog", str(tmp_path)],
        "dataset": ["dataset", "--from", "2026-03-10", "--to", "2026-03-11",
                    "--out", str(tmp_path / "o" / "x.parquet")],
        "status": ["status"],
        "alerts": ["alerts", "test"],
    }[command]


@pytest.mark.parametrize("command", [m.NAME for m in COMMANDS])
@pytest.mark.parametrize(("var", "value", "message"), [BAD[0], BAD[4], BAD[6], BAD[8]])
def test_every_subcommand_refuses_a_bad_setting_before_any_work(
    capsys, monkeypatch, data_dir: Path, tmp_path: Path, command: str, var: str, value: str,
    message: str,
) -> None:
    monkeypatch.setenv(var, value)
    # `gmpsai status` answers a monitor: a bad setting is UNKNOWN (3) there
    module = next(m for m in COMMANDS if command == m.NAME)
    assert main(_argv(command, tmp_path)) == getattr(module, "ERROR_EXIT", 2)
    err = capsys.readouterr().err
    assert err == f"gmpsai {command}: error: {err.split(': error: ', 1)[1]}"
    assert message in err and len(err.strip().splitlines()) == 1
    assert not data_dir.exists() and not (tmp_path / "o").exists()  # nothing fetched or written


@pytest.mark.parametrize(("var", "value", "message"),
                         [BAD[0], BAD[1], BAD[4], BAD[6], BAD[10], BAD[20]])
def test_a_dagster_run_fails_at_its_start_naming_the_setting(
    monkeypatch, data_dir: Path, var: str, value: str, message: str
) -> None:
    monkeypatch.setenv(var, value)
    result = dg.materialize([param_data], partition_key="2026-03-10",
                            resources=build_resources(), raise_on_error=False)
    assert not result.success
    failures = [e for e in result.all_events if e.event_type_value == "RESOURCE_INIT_FAILURE"]
    assert failures and not result.get_step_success_events()
    assert message in str(failures[0].event_specific_data.error.to_string())
    assert not (data_dir / "params").exists()  # nothing was grabbed


def test_variables_are_read_when_the_run_starts_not_at_import(
    monkeypatch, data_dir: Path, small_list: Path
) -> None:
    """GMPSAI_MAX_EVENT set after the definitions were imported still decides the run."""
    monkeypatch.setenv("GMPSAI_MAX_EVENT", "01")
    resources = {"datalogger": DataLoggerResource(param_list=str(small_list)),
                 "storage": StorageResource()}
    result = dg.materialize([event_data], partition_key="2026-03-10", resources=resources)
    meta = result.asset_materializations_for_node("event_data")[0].metadata
    assert meta["events_requested"].value == 2
    assert Path(str(meta["path"].value)).parent == data_dir / "events"


def test_resources_bind_the_variables_set(tmp_path: Path) -> None:
    """A set variable is bound by name (the UI shows it); an unset one is left to the model,
    so a fresh checkout with nothing set still runs."""
    env = {"GMPSAI_DATA_DIR": str(tmp_path), "GMPSAI_SIM_SEED": "7"}
    res = build_resources(env)
    assert isinstance(res["storage"].data_dir, dg.EnvVar)
    assert res["datalogger"].sim_seed.name == "GMPSAI_SIM_SEED"
    assert res["datalogger"].source is None and res["stats"].gap_ticks is None
    assert build_resources({})["storage"].data_dir is None


def test_the_configuration_doc_lists_every_setting_as_the_model_has_it() -> None:
    """docs/configuration.md's table is generated from SETTINGS (`make snapshot` rewrites it)."""

    from gmpsai_assets.settings import configuration_table

    doc = Path(__file__).parents[1] / "docs" / "configuration.md"
    begin, end = "<!-- generated from gmpsai_assets/settings.py: do not edit by hand -->\n", \
        "<!-- end of generated table -->"
    text = doc.read_text()
    head, rest = text.split(begin)
    _, tail = rest.split(end)
    if updating_snapshots():
        doc.write_text(head + begin + configuration_table() + end + tail)
        text = doc.read_text()
    assert begin + configuration_table() + end in text
    assert all(f"`{s.var}`" in text for s in SETTINGS)
