"""Choose the DataLogger source from configuration: simulated by default, ACL on demand.

The object returned is also the source's `TimingSource` (TCLK events, supercycle, timeline).
"""

from __future__ import annotations

from gmpsai_assets.acnet.acl_client import AclConfigError, AclDataLogger
from gmpsai_assets.acnet.datalogger import DataLogger
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
    raise SettingsError(f"GMPSAI_SOURCE {settings.source!r} is not available in this version")


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
