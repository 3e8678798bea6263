"""Choose the sources from configuration: simulated by default, ACL or DPM on demand.

`open_datalogger` gives the parameter data's source; `open_timing` the TCLK events', the
supercycle's and the timeline's. Simulated and ACL sources are both at once (one object). DPM
has no TCLK event history and no timeline, so with GMPSAI_SOURCE=dpm those come from the ACL
gateway at GMPSAI_ACL_URL (docs/dpm.md), and files say so (their `source` is `acl`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gmpsai_assets.acnet.acl_client import AclConfigError, AclDataLogger
from gmpsai_assets.acnet.datalogger import DataLogger
from gmpsai_assets.acnet.dpm_client import DpmConfigError, DpmDataLogger, PacsysMissing
from gmpsai_assets.settings import Settings, SettingsError, Source
from gmpsai_assets.sim.simulator import SimulatedBooster


def open_datalogger(settings: Settings) -> DataLogger:
    """The DataLogger named by `settings.source`."""
    if settings.source == Source.SIMULATED:
        return SimulatedBooster(
            seed=settings.sim_seed, node=settings.logger_node, sc_ticks=settings.sim_sc_ticks
        )
    if settings.source == Source.ACL:
        return open_acl(settings)
    if settings.source == Source.DPM:
        return open_dpm(settings)
    raise SettingsError(f"GMPSAI_SOURCE {settings.source!r} is not available in this version")


def open_timing(settings: Settings, data_source: Callable[[], Any] | None = None) -> Any:
    """The source of TCLK events, the supercycle and the timeline (a `TimingSource` that also
    has `source`, `node`, `max_in_flight` and `close`): the data source itself (`data_source()`
    when given, so one already open is shared), except with GMPSAI_SOURCE=dpm, where it is the
    ACL gateway."""
    if settings.source == Source.DPM:
        return open_acl(settings)
    return data_source() if data_source is not None else open_datalogger(settings)


def open_acl(settings: Settings) -> AclDataLogger:
    """The ACL gateway client configured by the ACL source's settings (docs/configuration.md)."""
    try:
        return AclDataLogger(
            settings.acl_url,
            settings.logger_node,
            max_in_flight=settings.max_in_flight,
            timeout_s=settings.acl_timeout_s,
            speed_limit=settings.acl_speed_limit,
            speed_time_s=settings.acl_speed_time_s,
            retries=settings.acl_retries,
            chunk_s=settings.acl_chunk_s,
        )
    except AclConfigError as exc:
        raise SettingsError(f"GMPSAI_ACL_URL: {exc}") from None


def open_dpm(settings: Settings) -> DpmDataLogger:
    """The DPM client configured by the DPM source's settings; without pacsys installed, one
    line saying how to install it."""
    try:
        return DpmDataLogger(
            settings.dpm_backend.value,
            settings.dpm_host,
            settings.dpm_port,
            settings.logger_node,
            max_in_flight=settings.max_in_flight,
            timeout_s=settings.dpm_timeout_s,
            retries=settings.dpm_retries,
            chunk_s=settings.dpm_chunk_s,
            devdb_url=None if settings.dpm_devdb_url == "off" else settings.dpm_devdb_url,
        )
    except PacsysMissing as exc:
        raise SettingsError(f"GMPSAI_SOURCE=dpm: {exc}") from None
    except DpmConfigError as exc:
        var = _DPM_ARGUMENT_VARS.get(exc.argument, "GMPSAI_DPM_TIMEOUT_S/_RETRIES/_CHUNK_S")
        raise SettingsError(f"{var}: {exc}") from None


# the DpmDataLogger argument at fault -> the setting that gave it
_DPM_ARGUMENT_VARS = {
    "node": "GMPSAI_LOGGER_NODE",
    "backend": "GMPSAI_DPM_BACKEND",
    "host": "GMPSAI_DPM_HOST/_PORT",
    "devdb_url": "GMPSAI_DPM_DEVDB_URL",
}
