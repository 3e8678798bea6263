"""What an operator reads beside a device name: the kind of property, a description, units.

The description and units a parameter file records (what the source said: DPM and DevDB know
them, the ACL gateway does not) come first; where the files say nothing, the confirmed table
below; an unknown unit is shown as blank, never guessed (docs/page.md). Add a device to the
table when its units are confirmed.
"""

from __future__ import annotations

from dataclasses import dataclass

from gmpsai_assets.acnet.devices import DeviceNameError, property_of
from gmpsai_assets.samples import DeviceInfo

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


def label_of(device: str, recorded: DeviceInfo | None = None) -> DeviceLabel:
    """The label of any string found in the store: each of description and units as the files
    recorded it (`recorded`) when they did, else as the table says. Names that are not ACNET
    names (an old database may hold anything) get an empty kind rather than an error."""
    try:
        kind = property_of(device)
    except DeviceNameError:
        kind = ""
    description, units = KNOWN.get(device, ("", ""))
    if recorded is not None:
        description = recorded.description or description
        units = recorded.units or units
    return DeviceLabel(kind, description, units)
