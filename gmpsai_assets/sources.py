"""Choose the DataLogger source from configuration: simulated by default, ACL on demand.

The object returned is also the source's `TimingSource` (TCLK events, supercycle, timeline).
"""

from __future__ import annotations

from gmpsai_assets.acnet.acl_client import AclDataLogger
from gmpsai_assets.acnet.datalogger import DataLogger
from gmpsai_assets.settings import Settings, SettingsError
from gmpsai_assets.sim.simulator import SimulatedBooster


def open_datalogger(settings: Settings) -> DataLogger:
    """The DataLogger named by `settings.source`, or SettingsError for an unknown name."""
    source = settings.checked_source()
    settings.in_flight()  # a bad GMPSAI_MAX_IN_FLIGHT is an error for every source
    if source == "simulated":
        return SimulatedBooster(
            seed=settings.seed(), node=settings.logger_node, sc_ticks=settings.sc_ticks()
        )
    if source == "acl":
        return AclDataLogger.from_settings(settings)
    raise SettingsError(f"source {source!r} is not available in this version")
