"""gmpsai-assets: the Fermilab Booster GMPS AI team's data platform (core + Dagster layer)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("gmpsai-assets")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0+unknown"
