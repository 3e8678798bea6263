"""Data quality, defined once: the levels every verdict uses and the completeness limits.

The rules live beside this vocabulary: `files` judges one data file (the param_data and
event_data checks), `crosschecks` ties the event file to the parameter file and to the
supercycle, `days` gives a device-day its level on the published page. The Dagster checks and
the page only translate these verdicts, so a plain script or test can ask the same questions.
This module imports nothing, so configuration can take its defaults from here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Level(StrEnum):
    """A verdict's level, in the order the page lists them; a str, so JSON and the page hold
    the plain word."""

    OK = "ok"
    WARN = "warn"
    ERROR = "error"
    UNKNOWN = "unknown"  # nothing to judge by (old imported statistics)



# Shares of a window's expected 15 Hz samples: below WARN a device is flagged, below ERROR it is
# a dead device or hours of outage (GMPSAI_COMPLETENESS_WARN / _ERROR override them).
COMPLETENESS_WARN = 0.95
COMPLETENESS_ERROR = 0.5
COMPLETENESS_LIMITS = (COMPLETENESS_WARN, COMPLETENESS_ERROR)


@dataclass(frozen=True)
class Verdict:
    name: str
    level: Level  # OK | WARN | ERROR
    summary: str
    details: dict[str, object] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return self.level is Level.OK
