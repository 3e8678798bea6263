"""What an operator reads beside a device name: the kind of property, a description, units.

ACNET keeps units in its device database, which the DataLogger does not return with logged
data, so the page shows units only where we know them for certain (docs/page.md). Add a
device here when its units are confirmed; an unknown unit is shown as blank, never guessed.
"""

from __future__ import annotations

from dataclasses import dataclass

from gmpsai_assets.acnet.devices import DeviceNameError, property_of

# device -> (description, units)
KNOWN: dict[str, tuple[str, str]] = {
    "B:LINFRQ": ("line-frequency offset from 60 Hz", "mHz"),
    "B|GMPSSC": ("GMPS regulation status/control word (32 bits)", ""),
    "B:IMINER": ("GMPS minimum-current error", ""),
    "B:VIMIN": ("GMPS minimum-current program (regulator output)", ""),
    "B_VIMIN": ("GMPS minimum-current program (setting)", ""),
    "I:IB": ("beam intensity", ""),
    "I:MDAT40": ("beam intensity", ""),
    "I:MXIB": ("beam intensity", ""),
}


@dataclass(frozen=True)
class DeviceLabel:
    kind: str  # reading, setting, basic status, ... ("" when the name is not an ACNET name)
    description: str
    units: str


def label_of(device: str) -> DeviceLabel:
    """The label of any string found in the store; names that are not ACNET names (an old
    database may hold anything) get an empty kind rather than an error."""
    try:
        kind = property_of(device)
    except DeviceNameError:
        kind = ""
    description, units = KNOWN.get(device, ("", ""))
    return DeviceLabel(kind, description, units)
