"""Configuration: every `GMPSAI_*` environment variable, its type and default, written once.

`Settings.from_env()` parses and checks every variable at once, so a bad value stops a command
or a run before any work, in one line that names the variable (`SettingsError`), instead of
surfacing an hour later as a failed fetch or a traceback. The CLI, the Dagster resources and the
generated docs/configuration.md all read the table `SETTINGS` below; nothing else reads the
environment. Nothing here runs at import time: the environment is read when asked.

An empty variable counts as unset (a Makefile or a shell often exports `VAR=`). Rules that
belong to a domain module (node names, event codes, the device list, catalogue namespaces) are
applied on top by `gmpsai_assets.preflight`, which the CLI and the resources call; this module
imports nothing of the package but the quality limits' defaults and the deadline table (two leaf
modules), so anything may import it.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from enum import StrEnum
from pathlib import Path
from typing import Any

from gmpsai_assets.deadlines import DEFAULTS as DEFAULT_DEADLINES
from gmpsai_assets.deadlines import DeadlineError, Deadlines, parse_deadlines
from gmpsai_assets.quality import COMPLETENESS_ERROR, COMPLETENESS_WARN


class SettingsError(ValueError):
    """A configuration value that cannot be used; the message names the variable."""


class Source(StrEnum):
    """Where data comes from (GMPSAI_SOURCE)."""

    SIMULATED = "simulated"
    ACL = "acl"
    DPM = "dpm"


class DpmBackend(StrEnum):
    """Which pacsys client talks to DPM (GMPSAI_DPM_BACKEND): DPM's gRPC service or DPM/HTTP."""

    GRPC = "grpc"
    HTTP = "http"


class When(StrEnum):
    """When a setting takes effect."""

    RUN = "run"  # read when a command or a Dagster run starts
    LOAD = "load"  # shapes the Dagster definitions: read when the code location loads


# ---- parsers: text -> typed value, or SettingsError naming the variable ---------------------

Parser = Callable[[str, str], Any]


def _text(text: str, var: str) -> str:
    return text


def _integer(low: int | None = None) -> Parser:
    def parse(text: str, var: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise SettingsError(f"{var} must be an integer, got {text!r}") from None
        if low is not None and value < low:
            raise SettingsError(f"{var} must be at least {low}, got {text!r}")
        return value

    parse.kind = "int" if low is None else f"int >= {low}"  # type: ignore[attr-defined]
    return parse


def _number(low: float | None = None, high: float | None = None, above: float | None = None
            ) -> Parser:
    """A finite float; `low`/`high` inclusive bounds, `above` an exclusive lower bound."""

    def parse(text: str, var: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise SettingsError(f"{var} must be a number, got {text!r}") from None
        if not math.isfinite(value):
            raise SettingsError(f"{var} must be a finite number, got {text!r}")
        if ((low is not None and value < low) or (high is not None and value > high)
                or (above is not None and value <= above)):
            raise SettingsError(f"{var} must be {parse.kind}, got {text!r}")  # type: ignore[attr-defined]
        return value

    if above is not None:
        kind = f"a number > {above:g}"
    elif low is not None and high is not None:
        kind = f"a number in [{low:g}, {high:g}]"
    elif low is not None:
        kind = f"a number >= {low:g}"
    else:
        kind = "a number"
    parse.kind = kind  # type: ignore[attr-defined]
    return parse


def _choice(enum: type[StrEnum]) -> Parser:
    def parse(text: str, var: str) -> StrEnum:
        try:
            return enum(text)
        except ValueError:
            raise SettingsError(
                f"{var} must be one of {', '.join(e.value for e in enum)}, got {text!r}"
            ) from None

    parse.kind = " or ".join(f"`{e.value}`" for e in enum)  # type: ignore[attr-defined]
    return parse


def _word(text: str, var: str) -> str:
    if not text or any(c.isspace() or not c.isprintable() for c in text):
        raise SettingsError(f"{var} must be one word, got {text!r}")
    return text


def _date(text: str, var: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise SettingsError(f"{var} must be a date YYYY-MM-DD, got {text!r}") from None


def _url(text: str, var: str) -> str:
    if not text.startswith(("http://", "https://")) or len(text) < 10 or any(
            c.isspace() for c in text):
        raise SettingsError(f"{var} must be an http:// or https:// URL, got {text!r}")
    return text


def _url_or_off(text: str, var: str) -> str:
    return text if text == "off" else _url(text, var)


def _port(text: str, var: str) -> int:
    value = _integer(1)(text, var)
    if value > 65535:
        raise SettingsError(f"{var} must be a TCP port (1..65535), got {text!r}")
    return value


def _file_name(text: str, var: str) -> str:
    if "/" in text or "\0" in text or text.startswith("."):
        raise SettingsError(f"{var} must be a plain file name, got {text!r}")
    return text


def _usable(path: Path, var: str, want_dir: bool) -> Path:
    """`path` is of the right kind if it exists, else could be created: its nearest existing
    ancestor is a directory we can create entries in (probed with a temporary file, which
    also catches read-only mounts and /proc). Nothing is left behind."""
    if "\0" in str(path):
        raise SettingsError(f"{var} holds a NUL byte")
    kind = "directory" if want_dir else "file"
    if path.exists():
        if path.is_dir() != want_dir:
            raise SettingsError(f"{var} must be a {kind}: {path} is not one")
        return path
    ancestor = path.parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise SettingsError(f"{var}: cannot create {path}: {ancestor} is not a directory")
    try:
        with tempfile.TemporaryFile(dir=ancestor, prefix=".gmpsai-probe-"):
            pass
    except OSError as exc:
        raise SettingsError(f"{var}: cannot create {path} in {ancestor}: "
                            f"{exc.strerror or exc}") from None
    return path


def _dir(text: str, var: str) -> Path:
    return _usable(Path(text), var, want_dir=True)


def _db_file(text: str, var: str) -> Path:
    return _usable(Path(text), var, want_dir=False)


def _input_file(text: str, var: str) -> Path:
    path = Path(text)
    if not path.is_file():
        raise SettingsError(f"{var}: no such file: {path}")
    return path


def _deadlines(text: str, var: str) -> Deadlines:
    try:
        return parse_deadlines(text)
    except DeadlineError as exc:
        raise SettingsError(f"{var}: {exc}") from None


def alert_urls(text: str) -> list[str]:
    """The URLs of a GMPSAI_ALERT_URLS text, split as apprise splits its own lists (space or
    comma between URLs; a comma inside a URL's query, as in `to=a@x,b@y`, stays)."""
    from apprise.utils.parse import parse_urls  # loads only when alerts are configured

    return [u for u in parse_urls(text) if u]


def _alert_urls(text: str, var: str) -> tuple[str, ...]:
    """URLs that apprise knows how to send to. A message never repeats a URL: they hold
    passwords and tokens, so only the scheme is named."""
    import apprise

    urls = alert_urls(text)
    for n, url in enumerate(urls, 1):
        if apprise.Apprise.instantiate(url, suppress_exceptions=True) is None:
            scheme = url.split("://", 1)[0] if "://" in url else "?"
            raise SettingsError(f"{var}: URL {n} ({scheme}://...) is not one apprise can send "
                                "to (see docs/operations.md, Alerts)")
    if not urls:
        raise SettingsError(f"{var} holds no URL")
    return tuple(urls)


_text.kind = "text"  # type: ignore[attr-defined]
_word.kind = "word"  # type: ignore[attr-defined]
_date.kind = "date YYYY-MM-DD"  # type: ignore[attr-defined]
_url.kind = "http(s) URL"  # type: ignore[attr-defined]
_url_or_off.kind = "http(s) URL or `off`"  # type: ignore[attr-defined]
_port.kind = "TCP port"  # type: ignore[attr-defined]
_file_name.kind = "file name"  # type: ignore[attr-defined]
_dir.kind = "directory"  # type: ignore[attr-defined]
_db_file.kind = "file path"  # type: ignore[attr-defined]
_input_file.kind = "existing file"  # type: ignore[attr-defined]
_deadlines.kind = "ASSET=HH:MM,..."  # type: ignore[attr-defined]
_alert_urls.kind = "apprise URLs"  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Setting:
    """One environment variable: the Settings field it fills, how to parse it, its default
    ("" = none: the field is None and a documented fallback applies) and what it means."""

    var: str
    field: str
    parse: Parser
    default: str
    help: str
    when: When = When.RUN

    @property
    def kind(self) -> str:
        return getattr(self.parse, "kind", "text")

    def read(self, env: Mapping[str, str] | None = None) -> Any:
        """This one variable, parsed (the default when unset or empty)."""
        env = environment() if env is None else env
        return self.value_of(env.get(self.var) or self.default)

    def value_of(self, text: str) -> Any:
        return None if text == "" and self.default == "" else self.parse(text, self.var)


SETTINGS: tuple[Setting, ...] = (
    Setting("GMPSAI_DATA_DIR", "data_dir", _dir, "./data",
            "root of everything the platform writes (data files, drafts, DuckDB, site)"),
    Setting("GMPSAI_SOURCE", "source", _choice(Source), "simulated",
            "where data comes from: the built-in simulated Booster, the ACL web gateway, or DPM "
            "for parameter data (TCLK events and the timeline then come from the ACL gateway; "
            "docs/dpm.md)"),
    Setting("GMPSAI_ACL_URL", "acl_url", _url, "https://www-bd.fnal.gov/cgi-bin/acl.pl",
            "the ACL CGI endpoint (source `acl`; with source `dpm`, of TCLK events and the "
            "timeline)"),
    Setting("GMPSAI_LOGGER_NODE", "logger_node", _word, "MLrn",
            "DataLogger node asked for data"),
    Setting("GMPSAI_PARAM_LIST", "param_list", _input_file, "",
            "device list file (`NODE DEVICE` per line); unset: the packaged copy of the "
            "team's list"),
    Setting("GMPSAI_SIM_SEED", "sim_seed", _integer(), "20200310",
            "seed of the simulated Booster"),
    Setting("GMPSAI_SIM_SC_TICKS", "sim_sc_ticks", _integer(1), "901",
            "simulated supercycle length in 15 Hz ticks (901 = 60.0667 s; 30 = 2 s for tests)"),
    Setting("GMPSAI_MAX_IN_FLIGHT", "max_in_flight", _integer(1), "4",
            "requests a source may have in flight at once"),
    Setting("GMPSAI_MAX_EVENT", "max_event", _word, "ff",
            "`event_data` and `grab-events` ask for TCLK events `00`..this (hex)"),
    Setting("GMPSAI_ACL_TIMEOUT_S", "acl_timeout_s", _number(above=0), "60",
            "ACL source: seconds to wait for a connection or the next bytes of a reply"),
    Setting("GMPSAI_ACL_SPEED_LIMIT", "acl_speed_limit", _number(low=0), "100",
            "ACL source: a reply slower than this many bytes/s on average over "
            "GMPSAI_ACL_SPEED_TIME_S is cut and retried like any fault (0: no limit)"),
    Setting("GMPSAI_ACL_SPEED_TIME_S", "acl_speed_time_s", _number(above=0), "30",
            "ACL source: the span (s) over which the low-speed limit is judged"),
    Setting("GMPSAI_ACL_RETRIES", "acl_retries", _integer(0), "4",
            "ACL source: further attempts of a failed request (0: none)"),
    Setting("GMPSAI_ACL_CHUNK_S", "acl_chunk_s", _number(above=0), "7200",
            "ACL source: longest window asked for in one request"),
    Setting("GMPSAI_DPM_BACKEND", "dpm_backend", _choice(DpmBackend), "grpc",
            "DPM source: pacsys's client for DPM, its gRPC service or DPM/HTTP"),
    Setting("GMPSAI_DPM_HOST", "dpm_host", _word, "",
            "DPM source: the server's host; unset: pacsys's for the backend (gRPC "
            "`dce08.fnal.gov`, DPM/HTTP `acsys-proxy.fnal.gov`)"),
    Setting("GMPSAI_DPM_PORT", "dpm_port", _port, "",
            "DPM source: the server's port; unset: pacsys's for the backend (50051, 6802)"),
    Setting("GMPSAI_DPM_TIMEOUT_S", "dpm_timeout_s", _number(above=0), "120",
            "DPM source: deadline of one chunk's request, its whole reply stream included (s)"),
    Setting("GMPSAI_DPM_RETRIES", "dpm_retries", _integer(0), "3",
            "DPM source: further attempts of a chunk whose reply failed or came incomplete"),
    Setting("GMPSAI_DPM_CHUNK_S", "dpm_chunk_s", _number(above=0), "3600",
            "DPM source: longest window asked for in one request"),
    Setting("GMPSAI_DPM_DEVDB_URL", "dpm_devdb_url", _url_or_off,
            "https://ad-services.fnal.gov:443",
            "DPM source: DevDB, asked for units and descriptions the DPM backend does not give "
            "(https: TLS, http: plaintext, as through a tunnel); `off`: not asked"),
    Setting("GMPSAI_START_DATE", "start_date", _date, "2020-01-01",
            "first daily partition offered in the UI", When.LOAD),
    Setting("GMPSAI_STATS_DB", "stats_db", _db_file, "",
            "the statistics DuckDB file (`file_stats`, `gmpsai distill`); unset: "
            "`<data dir>/gmpsai.duckdb`"),
    Setting("GMPSAI_GAP_TICKS", "gap_ticks", _number(low=1), "3",
            "an interval between samples longer than this many 15 Hz ticks is a gap"),
    Setting("GMPSAI_COMPLETENESS_WARN", "completeness_warn", _number(0, 1),
            f"{COMPLETENESS_WARN:g}",
            "the completeness check warns below this share of the expected samples"),
    Setting("GMPSAI_COMPLETENESS_ERROR", "completeness_error", _number(0, 1),
            f"{COMPLETENESS_ERROR:g}",
            "... and fails with severity ERROR below this one (at most the warn share)"),
    Setting("GMPSAI_PUBLISH_DIR", "publish_dir", _dir, "",
            "where `published_json` writes the page and the JSON; unset: `<data dir>/site`"),
    Setting("GMPSAI_PUBLISH_JSON_NAME", "publish_json_name", _file_name,
            "StatsHistoryBoringHolyMoly.json", "file name of the old plotly figure JSON"),
    Setting("GMPSAI_TIMELINE_DB", "timeline_db", _db_file, "",
            "the timeline logger's DuckDB file; unset: `<data dir>/timeline.duckdb`"),
    Setting("GMPSAI_TIMELINE_MAX_OUTAGE_S", "timeline_max_outage_s", _number(above=0), "600",
            "the timeline logger's run fails after the source has been down this long (s)"),
    Setting("GMPSAI_TIMELINE_MAX_GAP_S", "timeline_max_gap_s", _number(above=0), "300",
            "the `timeline_records` check fails on a gap longer than this (s)"),
    Setting("GMPSAI_TIMELINE_SENSOR_S", "timeline_sensor_s", _integer(1), "30",
            "how often the two timeline sensors look (s)", When.LOAD),
    Setting("GMPSAI_RUN_RETENTION_DAYS", "run_retention_days", _number(low=1), "90",
            "`housekeeping_schedule` deletes failed/canceled runs and finished timeline-logger "
            "runs older than this many days"),
    Setting("GMPSAI_DEADLINES", "deadlines", _deadlines, str(DEFAULT_DEADLINES),
            "when each daily asset's day is due, local time on the next day; items given "
            "replace the defaults one by one (`param_data=02:30`); the freshness checks, "
            "alerts and `gmpsai status` judge by it", When.LOAD),
    Setting("GMPSAI_ALERT_URLS", "alert_urls", _alert_urls, "",
            "where alerts go: apprise URLs separated by spaces (`mailtos://`, `slack://`, "
            "`mmosts://`, `workflows://`, `json://`...); unset: alerts are off"),
    Setting("GMPSAI_UI_URL", "ui_url", _url, "",
            "the Dagster UI as people reach it, for links in alerts "
            "(`<url>/runs/<run id>`); unset: alerts name the run id only"),
    Setting("GMPSAI_ALERT_LOGGER_DOWN_MIN", "alert_logger_down_min", _number(above=0), "15",
            "alert when the timeline logger has recorded no supercycle for this many minutes"),
    Setting("GMPSAI_ALERT_SENSOR_S", "alert_sensor_s", _integer(1), "60",
            "how often `alert_sensor` and `freshness_checks_sensor` look (s); an alert goes out "
            "within this plus 30 s of a failure", When.LOAD),
    Setting("GMPSAI_CATALOG_NAMESPACE", "catalog_namespace", _word, "gmpsai",
            "MetaCat namespace / Rucio scope of the file declarations"),
    Setting("GMPSAI_METACAT_URL", "metacat_url", _url, "",
            "MetaCat server; unset: declarations are not sent there"),
    Setting("GMPSAI_METACAT_AUTH_URL", "metacat_auth_url", _url, "",
            "MetaCat's authentication server; unset: the client's default"),
    Setting("GMPSAI_METACAT_DATASET", "metacat_dataset", _text, "",
            "`namespace:name` of the MetaCat dataset that declared files are added to"),
    Setting("GMPSAI_RUCIO_RSE", "rucio_rse", _text, "",
            "upload declared files to this Rucio RSE; unset: nothing goes to Rucio"),
)

BY_VAR: dict[str, Setting] = {s.var: s for s in SETTINGS}
# Variables that no longer mean anything: set, they stop a command instead of being ignored.
RETIRED: dict[str, str] = {
    "GMPSAI_ACL_DEADLINE_S": "replaced by the low-speed limit GMPSAI_ACL_SPEED_LIMIT and "
                             "GMPSAI_ACL_SPEED_TIME_S (docs/gateway.md)",
}
BY_FIELD: dict[str, Setting] = {s.field: s for s in SETTINGS}


@dataclass(frozen=True)
class Settings:
    """Every setting, parsed and checked (build it with `from_env`). Optional paths are None
    when unset; the properties below give the path actually used."""

    data_dir: Path
    source: Source
    acl_url: str
    logger_node: str
    param_list: Path | None
    sim_seed: int
    sim_sc_ticks: int
    max_in_flight: int
    max_event: str
    acl_timeout_s: float
    acl_speed_limit: float
    acl_speed_time_s: float
    acl_retries: int
    acl_chunk_s: float
    dpm_backend: DpmBackend
    dpm_host: str | None
    dpm_port: int | None
    dpm_timeout_s: float
    dpm_retries: int
    dpm_chunk_s: float
    dpm_devdb_url: str  # a URL or `off`
    start_date: dt.date
    stats_db: Path | None
    gap_ticks: float
    completeness_warn: float
    completeness_error: float
    publish_dir: Path | None
    publish_json_name: str
    timeline_db: Path | None
    timeline_max_outage_s: float
    timeline_max_gap_s: float
    timeline_sensor_s: int
    run_retention_days: float
    deadlines: Deadlines
    alert_urls: tuple[str, ...] | None
    ui_url: str | None
    alert_logger_down_min: float
    alert_sensor_s: int
    catalog_namespace: str
    metacat_url: str | None
    metacat_auth_url: str | None
    metacat_dataset: str | None
    rucio_rse: str | None

    @classmethod
    def from_env(
        cls, env: Mapping[str, str] | None = None, overrides: Mapping[str, object] | None = None
    ) -> Settings:
        """Every variable of `env` (default: os.environ), with `overrides` (field -> value,
        None = not given, anything else is parsed like the variable's text) on top."""
        env = environment() if env is None else env
        given = {k: v for k, v in (overrides or {}).items() if v is not None}
        unknown = set(given) - set(BY_FIELD)
        if unknown:
            raise TypeError(f"not settings: {', '.join(sorted(unknown))}")
        for var, why in RETIRED.items():
            if env.get(var):
                raise SettingsError(f"{var} is no longer read: {why}; unset it")
        values = {}
        for s in SETTINGS:
            if s.field in given:
                value = given[s.field]
                values[s.field] = s.value_of(value.value if isinstance(value, StrEnum)
                                             else str(value))
            else:
                values[s.field] = s.read(env)
        settings = cls(**values)
        settings._check_together()
        return settings

    def with_overrides(self, **changes: object) -> Settings:
        """A copy with the given fields (None = not given) parsed and checked again."""
        current = {f.name: getattr(self, f.name) for f in fields(self)}
        current = {k: v for k, v in current.items() if v is not None}
        current.update({k: v for k, v in changes.items() if v is not None})
        return Settings.from_env({}, current)

    def _check_together(self) -> None:
        if self.completeness_error > self.completeness_warn:
            raise SettingsError(
                "GMPSAI_COMPLETENESS_ERROR must not exceed GMPSAI_COMPLETENESS_WARN, got "
                f"{self.completeness_error:g} > {self.completeness_warn:g}"
            )
        # derived paths under the data directory must be creatable too
        if self.stats_db is None:
            _usable(self.stats_db_path, "GMPSAI_DATA_DIR", want_dir=False)
        if self.timeline_db is None:
            _usable(self.timeline_db_path, "GMPSAI_DATA_DIR", want_dir=False)

    # ---- derived values -------------------------------------------------------------------

    @property
    def completeness_limits(self) -> tuple[float, float]:
        """(warn, error): shares of the expected samples below which a device is flagged."""
        return self.completeness_warn, self.completeness_error

    @property
    def params_dir(self) -> Path:
        return self.data_dir / "params"

    @property
    def events_dir(self) -> Path:
        return self.data_dir / "events"

    @property
    def cycles_dir(self) -> Path:
        return cycles_dir_of(self.data_dir)

    @property
    def drafts_dir(self) -> Path:
        return self.data_dir / "drafts"

    @property
    def stats_db_path(self) -> Path:
        return self.stats_db or self.data_dir / "gmpsai.duckdb"

    @property
    def timeline_db_path(self) -> Path:
        return self.timeline_db or self.data_dir / "timeline.duckdb"

    @property
    def site_dir(self) -> Path:
        return self.publish_dir or self.data_dir / "site"


def environment() -> Mapping[str, str]:
    """The process environment: the one place the package reads it from."""
    return os.environ


def cycles_dir_of(data_dir: Path) -> Path:
    """Where the cycle tables of a data directory are: a function of its own so that an analyst's
    reader (dataset.scan) finds them from GMPSAI_DATA_DIR alone, whatever else is set."""
    return data_dir / "cycles"


def read_setting(var: str, env: Mapping[str, str] | None = None) -> Any:
    """One setting alone, for what must be known when the Dagster definitions load (the first
    daily partition, the sensors' interval): a bad value elsewhere must not stop the load."""
    return BY_VAR[var].read(env)


def configuration_table() -> str:
    """The Markdown table of docs/configuration.md, generated from SETTINGS."""
    rows = ["| variable | type | default | read | meaning |", "|---|---|---|---|---|"]
    for s in SETTINGS:
        default = f"`{s.default}`" if s.default else "unset"
        when = "when the code location loads" if s.when == When.LOAD else "at start"
        rows.append(f"| `{s.var}` | {s.kind} | {default} | {when} | {s.help} |")
    return "\n".join(rows) + "\n"
