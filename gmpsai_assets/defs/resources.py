"""Every resource of the code location: where data comes from, where files, statistics, the
timeline and the site go, chosen by configuration (EnvVar)."""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg
from pydantic import PrivateAttr

from gmpsai_assets.acnet.datalogger import DataLogger
from gmpsai_assets.acnet.devices import load_device_list
from gmpsai_assets.settings import ENV_DEFAULTS, Settings
from gmpsai_assets.sources import open_datalogger
from gmpsai_assets.timeline.store import TimelineStore


def env_or_default(var: str) -> str | dg.EnvVar:
    """`EnvVar(var)` when set as the code loads (so the UI shows where a value comes from);
    otherwise "", which resources read as "the environment when the run starts, else the
    default" (Settings.from_env), so a value is never frozen at import time."""
    assert var in ENV_DEFAULTS, var
    return dg.EnvVar(var) if os.environ.get(var) else ""


class DataLoggerResource(dg.ConfigurableResource):
    """The DataLogger source (simulated Booster or ACL gateway) and the device list to log."""

    source: str
    acl_url: str
    logger_node: str
    param_list: str
    sim_seed: str
    max_in_flight: str
    sim_sc_ticks: str = ENV_DEFAULTS["GMPSAI_SIM_SC_TICKS"][1]
    acl_timeout_s: str = ENV_DEFAULTS["GMPSAI_ACL_TIMEOUT_S"][1]
    acl_deadline_s: str = ENV_DEFAULTS["GMPSAI_ACL_DEADLINE_S"][1]
    acl_retries: str = ENV_DEFAULTS["GMPSAI_ACL_RETRIES"][1]
    acl_chunk_s: str = ENV_DEFAULTS["GMPSAI_ACL_CHUNK_S"][1]
    _logger: DataLogger | None = PrivateAttr(default=None)

    def settings(self) -> Settings:
        return Settings.from_env().with_overrides(**self.model_dump())

    def open(self) -> DataLogger:
        """The step's source, made once and closed when the step ends (its HTTP pool too)."""
        if self._logger is None:
            self._logger = open_datalogger(self.settings())
        return self._logger

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._logger is not None:
            self._logger.close()
            self._logger = None

    def devices(self) -> list[str]:
        return [entry.device for entry in load_device_list(self.settings().param_list or None)]


class StorageResource(dg.ConfigurableResource):
    """Root of everything the platform writes: data files, drafts, databases, the site."""

    data_dir: str

    def settings(self) -> Settings:
        return Settings.from_env().with_overrides(data_dir=self.data_dir)

    @property
    def params_dir(self) -> Path:
        return self.settings().params_dir

    @property
    def drafts_dir(self) -> Path:
        return self.settings().drafts_dir


class StatsResource(dg.ConfigurableResource):
    """Where statistics go and how they are judged (GMPSAI_STATS_DB, GMPSAI_GAP_TICKS,
    GMPSAI_COMPLETENESS_WARN, GMPSAI_COMPLETENESS_ERROR), and the namespace the files are
    declared in (GMPSAI_CATALOG_NAMESPACE); the data directory is the storage resource's."""

    stats_db: str
    gap_ticks: str
    completeness_warn: str
    completeness_error: str
    catalog_namespace: str = ""

    def settings(self, storage: StorageResource) -> Settings:
        return storage.settings().with_overrides(**self.model_dump())


class TimelineResource(dg.ConfigurableResource):
    """Where the timeline is stored and the limits of the logger and the gap check."""

    data_dir: str
    timeline_db: str
    timeline_max_outage_s: str
    timeline_max_gap_s: str

    def settings(self) -> Settings:
        return Settings.from_env().with_overrides(**self.model_dump())

    def store(self) -> TimelineStore:
        return TimelineStore(self.settings().timeline_db_path)

    @property
    def records_dir(self) -> Path:
        return self.settings().root / "timeline"


class PublishResource(dg.ConfigurableResource):
    """Where the site goes (GMPSAI_PUBLISH_DIR, empty: <data dir>/site) and the old figure's
    file name (GMPSAI_PUBLISH_JSON_NAME)."""

    publish_dir: str
    publish_json_name: str


def build_resources() -> dict[str, dg.ConfigurableResource]:
    return {
        "datalogger": DataLoggerResource(
            source=env_or_default("GMPSAI_SOURCE"),
            acl_url=env_or_default("GMPSAI_ACL_URL"),
            logger_node=env_or_default("GMPSAI_LOGGER_NODE"),
            param_list=env_or_default("GMPSAI_PARAM_LIST"),
            sim_seed=env_or_default("GMPSAI_SIM_SEED"),
            max_in_flight=env_or_default("GMPSAI_MAX_IN_FLIGHT"),
            sim_sc_ticks=env_or_default("GMPSAI_SIM_SC_TICKS"),
            acl_timeout_s=env_or_default("GMPSAI_ACL_TIMEOUT_S"),
            acl_deadline_s=env_or_default("GMPSAI_ACL_DEADLINE_S"),
            acl_retries=env_or_default("GMPSAI_ACL_RETRIES"),
            acl_chunk_s=env_or_default("GMPSAI_ACL_CHUNK_S"),
        ),
        "storage": StorageResource(data_dir=env_or_default("GMPSAI_DATA_DIR")),
        "stats": StatsResource(
            stats_db=env_or_default("GMPSAI_STATS_DB"),
            gap_ticks=env_or_default("GMPSAI_GAP_TICKS"),
            completeness_warn=env_or_default("GMPSAI_COMPLETENESS_WARN"),
            completeness_error=env_or_default("GMPSAI_COMPLETENESS_ERROR"),
            catalog_namespace=env_or_default("GMPSAI_CATALOG_NAMESPACE"),
        ),
        "timeline": TimelineResource(
            data_dir=env_or_default("GMPSAI_DATA_DIR"),
            timeline_db=env_or_default("GMPSAI_TIMELINE_DB"),
            timeline_max_outage_s=env_or_default("GMPSAI_TIMELINE_MAX_OUTAGE_S"),
            timeline_max_gap_s=env_or_default("GMPSAI_TIMELINE_MAX_GAP_S"),
        ),
        "publish": PublishResource(
            publish_dir=env_or_default("GMPSAI_PUBLISH_DIR"),
            publish_json_name=env_or_default("GMPSAI_PUBLISH_JSON_NAME"),
        ),
    }
