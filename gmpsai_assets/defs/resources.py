"""Every resource of the code location: where data comes from, where files, statistics, the
timeline and the site go, chosen by configuration.

Each field is a setting of gmpsai_assets/settings.py under its own name, typed (int, float, str
paths). `build_resources()` binds a field to `EnvVar` (`EnvVar.int` for integers) when its
variable is set as the code location loads, so the UI shows which variable a run reads; Dagster
resolves it when the run starts. A field left unset (None) means "the variable when the run
starts, else the default". Dagster has no float source, so float fields are never bound: they
are read when the run starts, or set in the launchpad. Whatever the route, every value goes
through the settings model once, when the resource is set up: a bad value fails the run at its
start with one line naming the variable, before anything is fetched or written.

Resources that need another nest it (`stats.storage`), so an asset asks for what it uses.
"""

from __future__ import annotations

import typing
from collections.abc import Mapping
from pathlib import Path

import dagster as dg
from pydantic import Field, PrivateAttr

from gmpsai_assets.acnet.datalogger import DataLogger
from gmpsai_assets.acnet.devices import load_device_list
from gmpsai_assets.preflight import max_event, preflight
from gmpsai_assets.settings import BY_FIELD, Settings, environment
from gmpsai_assets.sources import open_datalogger, open_timing
from gmpsai_assets.timeline.store import TimelineStore


def setting(name: str) -> typing.Any:
    """A resource field for the setting `name`: unset by default, described from the model."""
    s = BY_FIELD[name]
    default = f"`{s.default}`" if s.default else "unset"
    return Field(default=None, description=(
        f"{s.var}: {s.help} (default {default}). Empty: ${s.var} when the run starts, else "
        "the default."))


class SettingsResource(dg.ConfigurableResource):
    """A resource whose fields are settings; nested resources contribute theirs."""

    _settings: Settings | None = PrivateAttr(default=None)

    def overrides(self) -> dict[str, object]:
        """The fields given (bound to a variable or set explicitly), nested ones included."""
        given: dict[str, object] = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, SettingsResource):
                given.update(value.overrides())
            elif name in BY_FIELD and value is not None:
                given[name] = value
        return given

    def settings(self) -> Settings:
        """Every setting, this resource's fields over the environment, checked once."""
        if self._settings is None:
            self._settings = preflight(overrides=self.overrides())
        return self._settings

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self.settings()  # a bad setting fails the run here, before any step does work


class StorageResource(SettingsResource):
    """Root of everything the platform writes: data files, drafts, databases, the site."""

    data_dir: str | None = setting("data_dir")

    @property
    def params_dir(self) -> Path:
        return self.settings().params_dir

    @property
    def events_dir(self) -> Path:
        return self.settings().events_dir

    @property
    def drafts_dir(self) -> Path:
        return self.settings().drafts_dir


class DataLoggerResource(SettingsResource):
    """The DataLogger source (simulated Booster, ACL gateway or DPM), the source of TCLK events
    and the timeline (the same, except the ACL gateway for DPM), and the device list to log."""

    source: str | None = setting("source")
    acl_url: str | None = setting("acl_url")
    logger_node: str | None = setting("logger_node")
    param_list: str | None = setting("param_list")
    sim_seed: int | None = setting("sim_seed")
    sim_sc_ticks: int | None = setting("sim_sc_ticks")
    max_in_flight: int | None = setting("max_in_flight")
    max_event: str | None = setting("max_event")
    acl_timeout_s: float | None = setting("acl_timeout_s")
    acl_speed_limit: float | None = setting("acl_speed_limit")
    acl_speed_time_s: float | None = setting("acl_speed_time_s")
    acl_retries: int | None = setting("acl_retries")
    acl_chunk_s: float | None = setting("acl_chunk_s")
    dpm_backend: str | None = setting("dpm_backend")
    dpm_host: str | None = setting("dpm_host")
    dpm_port: int | None = setting("dpm_port")
    dpm_timeout_s: float | None = setting("dpm_timeout_s")
    dpm_retries: int | None = setting("dpm_retries")
    dpm_chunk_s: float | None = setting("dpm_chunk_s")
    dpm_devdb_url: str | None = setting("dpm_devdb_url")
    _source: DataLogger | None = PrivateAttr(default=None)
    _timing: typing.Any = PrivateAttr(default=None)

    def open(self) -> DataLogger:
        """The step's source, made once and closed when the step ends (its HTTP pool too)."""
        if self._source is None:
            self._source = open_datalogger(self.settings())
        return self._source

    def open_timing(self) -> typing.Any:
        """The step's source of TCLK events, the supercycle and the timeline: `open()`'s
        source, except the ACL gateway when the source is DPM (sources.open_timing)."""
        if self._timing is None:
            self._timing = open_timing(self.settings(), self.open)
        return self._timing

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        for source in {id(s): s for s in (self._source, self._timing) if s is not None}.values():
            source.close()
        self._source = self._timing = None

    def devices(self) -> list[str]:
        return [entry.device for entry in load_device_list(self.settings().param_list)]

    def max_event_code(self, text: str | None = None) -> int:
        """The last TCLK event to grab: `text` (a run's config) when given, else max_event."""
        return max_event(self.settings(), text, "max_event" if text else "GMPSAI_MAX_EVENT")


class StatsResource(SettingsResource):
    """Where statistics go and how they are judged, and the namespace the files are declared
    in; the data directory is the nested storage resource's."""

    storage: StorageResource
    stats_db: str | None = setting("stats_db")
    gap_ticks: float | None = setting("gap_ticks")
    completeness_warn: float | None = setting("completeness_warn")
    completeness_error: float | None = setting("completeness_error")
    catalog_namespace: str | None = setting("catalog_namespace")


class TimelineResource(SettingsResource):
    """Where the timeline is stored and the limits of the logger and of the gap check."""

    storage: StorageResource
    timeline_db: str | None = setting("timeline_db")
    timeline_max_outage_s: float | None = setting("timeline_max_outage_s")
    timeline_max_gap_s: float | None = setting("timeline_max_gap_s")

    def store(self) -> TimelineStore:
        return TimelineStore(self.settings().timeline_db_path)

    @property
    def records_dir(self) -> Path:
        return self.settings().data_dir / "timeline"


class PublishResource(SettingsResource):
    """Where the site goes and the old figure's file name; the statistics it publishes are the
    nested stats resource's, the device order the nested datalogger's list."""

    stats: StatsResource
    datalogger: DataLoggerResource
    publish_dir: str | None = setting("publish_dir")
    publish_json_name: str | None = setting("publish_json_name")


class HousekeepingResource(SettingsResource):
    """How long run history is kept."""

    run_retention_days: float | None = setting("run_retention_days")


def _bound(resource: type[SettingsResource], env: Mapping[str, str]) -> dict[str, object]:
    """`EnvVar` (or `EnvVar.int`) for each str/int field whose variable is set in `env`."""
    bound: dict[str, object] = {}
    hints = typing.get_type_hints(resource)
    for name in resource.model_fields:
        if name not in BY_FIELD or not env.get(BY_FIELD[name].var):
            continue
        var = BY_FIELD[name].var
        if hints[name] == (int | None):
            bound[name] = dg.EnvVar.int(var)
        elif hints[name] == (str | None):
            bound[name] = dg.EnvVar(var)
    return bound


def build_resources(env: Mapping[str, str] | None = None) -> dict[str, dg.ConfigurableResource]:
    """The resources of the code location, bound to the variables set in `env` (default:
    os.environ, as the code loads). The CLI builds its own when a command starts."""
    env = environment() if env is None else env
    storage = StorageResource(**_bound(StorageResource, env))
    datalogger = DataLoggerResource(**_bound(DataLoggerResource, env))
    stats = StatsResource(storage=storage, **_bound(StatsResource, env))
    return {
        "datalogger": datalogger,
        "storage": storage,
        "stats": stats,
        "timeline": TimelineResource(storage=storage, **_bound(TimelineResource, env)),
        "publish": PublishResource(stats=stats, datalogger=datalogger,
                                   **_bound(PublishResource, env)),
        "housekeeping": HousekeepingResource(**_bound(HousekeepingResource, env)),
    }
