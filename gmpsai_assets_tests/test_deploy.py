"""deploy/dagster.yaml, the production instance: loaded by Dagster itself against a real
PostgreSQL server (started by the suite), and kept equal to the embedded default everywhere but
storage and the run launcher."""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import pytest
import yaml

from gmpsai_assets.definitions import defs
from gmpsai_assets.defs.param_data import param_data

REPO = Path(__file__).resolve().parents[1]
DEPLOY = REPO / "deploy" / "dagster.yaml"
PRODUCTION_ONLY = {"storage", "run_launcher"}


def test_deploy_differs_from_the_embedded_default_only_in_storage_and_launcher():
    deploy = yaml.safe_load(DEPLOY.read_text())
    embedded = yaml.safe_load((REPO / "dagster.yaml").read_text())
    assert set(deploy) - set(embedded) == PRODUCTION_ONLY
    assert {k: v for k, v in deploy.items() if k not in PRODUCTION_ONLY} == embedded


def test_deploy_names_no_credentials():
    """Every storage setting comes from the environment, so the file can be committed."""
    db = yaml.safe_load(DEPLOY.read_text())["storage"]["postgres"]["postgres_db"]
    where = {k: v for k, v in db.items() if k != "scheme"}
    assert set(where) == {"username", "password", "hostname", "port", "db_name"}
    assert all(set(v) == {"env"} for v in where.values()), db


@pytest.mark.postgres
def test_deploy_config_loads_into_a_real_instance_on_postgres(
    tmp_path, monkeypatch, postgres_env, small_list
):
    from dagster._core.run_coordinator import QueuedRunCoordinator
    from dagster_docker import DockerRunLauncher
    from dagster_postgres import (
        PostgresEventLogStorage,
        PostgresRunStorage,
        PostgresScheduleStorage,
    )

    home = tmp_path / "home"
    home.mkdir()
    shutil.copy(DEPLOY, home / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.setenv("GMPSAI_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("GMPSAI_PARAM_LIST", str(small_list))
    for var, value in postgres_env.items():
        monkeypatch.setenv(var, value)
    with dg.DagsterInstance.get() as instance:
        assert isinstance(instance.run_storage, PostgresRunStorage)
        assert isinstance(instance.event_log_storage, PostgresEventLogStorage)
        assert isinstance(instance.schedule_storage, PostgresScheduleStorage)
        assert isinstance(instance.run_launcher, DockerRunLauncher)
        # runs use their host's network, so they reach PostgreSQL as the daemon does
        assert instance.run_launcher.networks == []
        assert instance.run_launcher.container_kwargs["network_mode"] == "host"
        assert isinstance(instance.run_coordinator, QueuedRunCoordinator)
        assert instance.get_concurrency_config().run_queue_config.max_concurrent_runs == 3
        # A partition materialized in process: its run and events land in PostgreSQL.
        result = dg.materialize([param_data], partition_key="2026-03-01",
                                resources=defs.resources, instance=instance)
        assert result.success
        runs = instance.get_runs()
        assert [r.run_id for r in runs] == [result.run_id]
        event = instance.get_latest_materialization_event(dg.AssetKey("param_data"))
        assert event is not None and event.run_id == result.run_id
        meta = event.asset_materialization.metadata
        assert Path(meta["path"].value).is_file()
