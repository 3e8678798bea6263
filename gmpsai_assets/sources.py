"""Choose the DataLogger source from configuration: simulated by default, ACL on demand.

The object returned is also the source's `TimingSource` (TCLK events, supercycle, timeline).
"""

from __future__ import annotations

from gmpsai_assets.acnet.acl_client import AclDataLogger
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
        return AclDataLogger.from_settings(settings)
    raise SettingsError(f"GMPSAI_SOURCE {settings.source!r} is not available in this version")
