"""Check every setting before any work: the settings model's own rules (types, ranges, choices,
usable paths), then the rules that belong to a domain module (node names, event codes, the
device list, catalogue namespaces), each reported as one `SettingsError` naming the variable.

The CLI calls `preflight()` before every subcommand, the Dagster resources when a run starts,
so a typo in the environment costs one line, not a day's fetch.
"""

from __future__ import annotations

from collections.abc import Mapping

from gmpsai_assets.acnet.devices import (
    DeviceListError,
    DeviceNameError,
    check_node_name,
    load_device_list,
)
from gmpsai_assets.acnet.tclk import EventCodeError, parse_event
from gmpsai_assets.catalog.declaration import CatalogError, check_namespace
from gmpsai_assets.settings import Settings, SettingsError


def preflight(
    env: Mapping[str, str] | None = None, overrides: Mapping[str, object] | None = None
) -> Settings:
    """The settings of `env` (default: os.environ) with `overrides`, every rule checked."""
    settings = Settings.from_env(env, overrides)
    try:
        check_node_name(settings.logger_node)
    except DeviceNameError as exc:
        raise SettingsError(f"GMPSAI_LOGGER_NODE: {exc}") from None
    max_event(settings)
    try:
        check_namespace(settings.catalog_namespace)
    except CatalogError as exc:
        raise SettingsError(str(exc)) from None
    try:
        load_device_list(settings.param_list)
    except DeviceListError as exc:
        raise SettingsError(f"GMPSAI_PARAM_LIST: {exc}") from None
    return settings


def max_event(settings: Settings, text: str | None = None, name: str = "GMPSAI_MAX_EVENT") -> int:
    """The last TCLK event to grab (hex, as the old `--maxEvt`): `text` when given (a run's
    config), else GMPSAI_MAX_EVENT."""
    try:
        return parse_event(settings.max_event if text is None else text)
    except EventCodeError as exc:
        raise SettingsError(f"{name} must be hex 00..ff: {exc}") from None
