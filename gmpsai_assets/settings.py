"""Configuration from environment variables, one place for the CLI and the Dagster resources.

Every variable has a default that works on a fresh checkout (DESIGN.md section 6).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields, replace
from pathlib import Path

from gmpsai_assets.quality import COMPLETENESS_ERROR, COMPLETENESS_WARN

SOURCES = ("simulated", "acl")


class SettingsError(ValueError):
    """A configuration value that cannot be used."""


# variable name -> (field, default); README's configuration table mirrors this.
ENV_DEFAULTS: dict[str, tuple[str, str]] = {
    "GMPSAI_DATA_DIR": ("data_dir", "./data"),
    "GMPSAI_SOURCE": ("source", "simulated"),
    "GMPSAI_ACL_URL": ("acl_url", "https://www-bd.fnal.gov/cgi-bin/acl.pl"),
    "GMPSAI_LOGGER_NODE": ("logger_node", "MLrn"),
    "GMPSAI_PARAM_LIST": ("param_list", ""),
    "GMPSAI_SIM_SEED": ("sim_seed", "20200310"),
    "GMPSAI_MAX_IN_FLIGHT": ("max_in_flight", "4"),
    "GMPSAI_START_DATE": ("start_date", "2020-01-01"),
    "GMPSAI_STATS_DB": ("stats_db", ""),
    "GMPSAI_GAP_TICKS": ("gap_ticks", "3"),
    "GMPSAI_COMPLETENESS_WARN": ("completeness_warn", f"{COMPLETENESS_WARN:g}"),
    "GMPSAI_COMPLETENESS_ERROR": ("completeness_error", f"{COMPLETENESS_ERROR:g}"),
    "GMPSAI_SIM_SC_TICKS": ("sim_sc_ticks", "901"),
    "GMPSAI_MAX_EVENT": ("max_event", "ff"),
    "GMPSAI_PUBLISH_DIR": ("publish_dir", ""),
    "GMPSAI_PUBLISH_JSON_NAME": ("publish_json_name", "StatsHistoryBoringHolyMoly.json"),
    "GMPSAI_ACL_TIMEOUT_S": ("acl_timeout_s", "60"),
    "GMPSAI_ACL_DEADLINE_S": ("acl_deadline_s", "600"),
    "GMPSAI_ACL_RETRIES": ("acl_retries", "4"),
    "GMPSAI_ACL_CHUNK_S": ("acl_chunk_s", "7200"),
    "GMPSAI_TIMELINE_DB": ("timeline_db", ""),
    "GMPSAI_TIMELINE_MAX_OUTAGE_S": ("timeline_max_outage_s", "600"),
    "GMPSAI_TIMELINE_MAX_GAP_S": ("timeline_max_gap_s", "300"),
    "GMPSAI_TIMELINE_SENSOR_S": ("timeline_sensor_s", "30"),
    "GMPSAI_RUN_RETENTION_DAYS": ("run_retention_days", "90"),
    "GMPSAI_CATALOG_NAMESPACE": ("catalog_namespace", "gmpsai"),
    "GMPSAI_METACAT_URL": ("metacat_url", ""),
    "GMPSAI_METACAT_AUTH_URL": ("metacat_auth_url", ""),
    "GMPSAI_METACAT_DATASET": ("metacat_dataset", ""),
    "GMPSAI_RUCIO_RSE": ("rucio_rse", ""),
}


@dataclass(frozen=True)
class Settings:
    data_dir: str
    source: str
    acl_url: str
    logger_node: str
    param_list: str  # empty: the packaged team list
    sim_seed: str
    max_in_flight: str
    start_date: str
    stats_db: str = ""  # statistics DuckDB file; empty: <data dir>/gmpsai.duckdb
    gap_ticks: str = "3"  # an interval longer than this many 15 Hz ticks is a gap
    completeness_warn: str = f"{COMPLETENESS_WARN:g}"  # the check warns below this share of ticks
    completeness_error: str = f"{COMPLETENESS_ERROR:g}"  # ... and fails (ERROR) below this one
    sim_sc_ticks: str = "901"  # simulated supercycle length in 15 Hz ticks (901 = 60.0667 s)
    max_event: str = "ff"  # event_data fetches TCLK events 00..max_event (hex)
    publish_dir: str = ""  # the published site; empty: <data dir>/site
    publish_json_name: str = "StatsHistoryBoringHolyMoly.json"  # the old plotly figure's name
    acl_timeout_s: str = "60"  # ACL: seconds to wait for a connection or the next bytes
    acl_deadline_s: str = "600"  # ACL: longest one attempt of one request may take, all told
    acl_retries: str = "4"  # ACL: further attempts of a failed request
    acl_chunk_s: str = "7200"  # ACL: longest window asked for in one request
    timeline_db: str = ""  # timeline DuckDB file; empty: <data dir>/timeline.duckdb
    timeline_max_outage_s: str = "600"  # the logger's run fails after a source outage this long
    timeline_max_gap_s: str = "300"  # timeline_records check fails on a longer gap
    timeline_sensor_s: str = "30"  # how often the timeline sensors look (read at code load)
    run_retention_days: str = "90"  # housekeeping deletes failed and logger runs older than this
    catalog_namespace: str = "gmpsai"  # MetaCat namespace / Rucio scope of the declarations
    metacat_url: str = ""  # MetaCat server; empty: declarations are not sent there
    metacat_auth_url: str = ""  # its authentication server (empty: the client's default)
    metacat_dataset: str = ""  # namespace:name that declared files are added to
    rucio_rse: str = ""  # upload declared files to this RSE; empty: nothing goes to Rucio

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        values = {fld: env.get(var) or default for var, (fld, default) in ENV_DEFAULTS.items()}
        return cls(**values)

    def with_overrides(self, **changes: str | None) -> Settings:
        """A copy with the given fields replaced, ignoring None and "" (values not given)."""
        known = {f.name for f in fields(self)}
        return replace(self, **{k: v for k, v in changes.items() if v and k in known})

    # ---- checked views ----------------------------------------------------------------

    def checked_source(self) -> str:
        if self.source not in SOURCES:
            raise SettingsError(
                f"unknown source {self.source!r} (GMPSAI_SOURCE): "
                f"choose one of {', '.join(SOURCES)}"
            )
        return self.source

    def seed(self) -> int:
        return _int(self.sim_seed, "GMPSAI_SIM_SEED")

    def in_flight(self) -> int:
        n = _int(self.max_in_flight, "GMPSAI_MAX_IN_FLIGHT")
        if n < 1:
            raise SettingsError("GMPSAI_MAX_IN_FLIGHT must be at least 1")
        return n

    def sc_ticks(self) -> int:
        n = _int(self.sim_sc_ticks, "GMPSAI_SIM_SC_TICKS")
        if n < 1:
            raise SettingsError("GMPSAI_SIM_SC_TICKS must be at least 1")
        return n

    def acl_timeout(self) -> float:
        return _positive(self.acl_timeout_s, "GMPSAI_ACL_TIMEOUT_S")

    def acl_deadline(self) -> float:
        return _positive(self.acl_deadline_s, "GMPSAI_ACL_DEADLINE_S")

    def acl_retry_count(self) -> int:
        n = _int(self.acl_retries, "GMPSAI_ACL_RETRIES")
        if n < 0:
            raise SettingsError("GMPSAI_ACL_RETRIES must not be negative")
        return n

    def acl_chunk(self) -> float:
        return _positive(self.acl_chunk_s, "GMPSAI_ACL_CHUNK_S")

    @property
    def stats_db_path(self) -> Path:
        return Path(self.stats_db) if self.stats_db else self.root / "gmpsai.duckdb"

    def gap_tick_limit(self) -> float:
        value = _number(self.gap_ticks, "GMPSAI_GAP_TICKS")
        if not value >= 1:
            raise SettingsError("GMPSAI_GAP_TICKS must be at least 1 (tick)")
        return value

    def completeness_limits(self) -> tuple[float, float]:
        """(warn, error): shares of the expected samples below which a device is flagged."""
        warn = _number(self.completeness_warn, "GMPSAI_COMPLETENESS_WARN")
        error = _number(self.completeness_error, "GMPSAI_COMPLETENESS_ERROR")
        if not 0.0 <= error <= warn <= 1.0:
            raise SettingsError(
                "need 0 <= GMPSAI_COMPLETENESS_ERROR <= GMPSAI_COMPLETENESS_WARN <= 1, got "
                f"{error:g} and {warn:g}"
            )
        return warn, error

    @property
    def timeline_db_path(self) -> Path:
        return Path(self.timeline_db) if self.timeline_db else self.root / "timeline.duckdb"

    def timeline_max_outage(self) -> float:
        return _positive(self.timeline_max_outage_s, "GMPSAI_TIMELINE_MAX_OUTAGE_S")

    def timeline_max_gap(self) -> float:
        return _positive(self.timeline_max_gap_s, "GMPSAI_TIMELINE_MAX_GAP_S")

    def timeline_sensor_interval(self) -> int:
        n = _int(self.timeline_sensor_s, "GMPSAI_TIMELINE_SENSOR_S")
        if n < 1:
            raise SettingsError("GMPSAI_TIMELINE_SENSOR_S must be at least 1 (second)")
        return n

    def first_day(self) -> str:
        """GMPSAI_START_DATE, checked: the first daily partition (YYYY-MM-DD)."""
        import datetime as dt

        try:
            return dt.date.fromisoformat(self.start_date).isoformat()
        except ValueError:
            raise SettingsError(
                f"GMPSAI_START_DATE must be a date YYYY-MM-DD, got {self.start_date!r}"
            ) from None

    def run_retention(self) -> float:
        """GMPSAI_RUN_RETENTION_DAYS in days (at least one)."""
        days = _positive(self.run_retention_days, "GMPSAI_RUN_RETENTION_DAYS")
        if days < 1:
            raise SettingsError("GMPSAI_RUN_RETENTION_DAYS must be at least 1 (day)")
        return days

    @property
    def root(self) -> Path:
        return Path(self.data_dir)

    @property
    def params_dir(self) -> Path:
        return self.root / "params"

    @property
    def events_dir(self) -> Path:
        return self.root / "events"

    @property
    def cycles_dir(self) -> Path:
        return self.root / "cycles"

    @property
    def drafts_dir(self) -> Path:
        return self.root / "drafts"

    @property
    def site_dir(self) -> Path:
        return Path(self.publish_dir) if self.publish_dir else self.root / "site"


def _int(text: str, var: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise SettingsError(f"{var} must be an integer, got {text!r}") from None


def _positive(text: str, var: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise SettingsError(f"{var} must be a number, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise SettingsError(f"{var} must be a positive number of seconds, got {text!r}")
    return value


def _number(text: str, var: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise SettingsError(f"{var} must be a number, got {text!r}") from None
