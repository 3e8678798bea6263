"""ACNET device names and the team's `NODE DEVICE` list.

A device name ends up inside an ACL command line, where `;` chains a second command, so every
name is checked here, once, before anything else sees it. This module is the one place that
knows what a valid ACNET name looks like.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

# Second character of an ACNET name: what the property is.
PROPERTY_BY_QUALIFIER = {
    ":": "reading",
    "_": "setting",
    "|": "basic status",
    "&": "control",
    "@": "analog alarm",
    "$": "digital alarm",
}

# Classic names: machine letter, qualifier, up to six uppercase letters/digits (8 chars max).
# Long names (newer ACNET) keep the letter and qualifier but allow up to 64 characters of
# uppercase letters, digits and `_`. Nothing else is ever allowed: no spaces, `;`, `\`, quotes.
_NAME_RE = re.compile(r"^[A-Z][:_|&@$][A-Z0-9][A-Z0-9_]{0,62}$")
# Node names of the DataLogger (e.g. MLrn, Backup, LJ15HZ): letters and digits only.
_NODE_RE = re.compile(r"^[A-Za-z][A-Za-z0-9]{0,15}$")


class DeviceNameError(ValueError):
    """A string that is not a valid ACNET device (or DataLogger node) name."""


class DeviceListError(ValueError):
    """A device list that cannot be used; the message names the file and line."""


def check_device_name(name: str) -> str:
    """Return `name` if it is a valid ACNET device name, else raise DeviceNameError."""
    if not isinstance(name, str) or not _NAME_RE.fullmatch(name):
        raise DeviceNameError(f"not a valid ACNET device name: {name!r}")
    return name


def check_node_name(node: str) -> str:
    """Return `node` if it is a plausible DataLogger node name, else raise DeviceNameError."""
    if not isinstance(node, str) or not _NODE_RE.fullmatch(node):
        raise DeviceNameError(f"not a valid DataLogger node name: {node!r}")
    return node


def property_of(name: str) -> str:
    """What kind of property a device name refers to: reading, setting, basic status, ..."""
    return PROPERTY_BY_QUALIFIER[check_device_name(name)[1]]


@dataclass(frozen=True)
class LoggedDevice:
    """One line of a device list: the DataLogger node and the device logged on it."""

    node: str
    device: str


def packaged_param_list() -> Path:
    """The copy of the team's ParamList.txt shipped inside the package."""
    return Path(str(resources.files("gmpsai_assets") / "reference" / "ParamList.txt"))


def parse_device_list(text: str, source: str = "<text>") -> list[LoggedDevice]:
    """Parse `NODE DEVICE` lines; blank lines, `#` comments and trailing spaces are tolerated.

    Every bad line is reported (file and line) in one error so a user fixes the list in one go.
    Duplicates are errors too: they would silently double the fetch work.
    """
    entries: list[LoggedDevice] = []
    problems: list[str] = []
    seen: dict[str, int] = {}
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        fields = line.split()
        if len(fields) != 2:
            problems.append(f"{source}:{lineno}: expected 'NODE DEVICE', got {raw.strip()!r}")
            continue
        node, device = fields
        try:
            check_node_name(node)
            check_device_name(device)
        except DeviceNameError as exc:
            problems.append(f"{source}:{lineno}: {exc}")
            continue
        if device in seen:
            problems.append(f"{source}:{lineno}: {device} already listed on line {seen[device]}")
            continue
        seen[device] = lineno
        entries.append(LoggedDevice(node, device))
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise DeviceListError(problems[0] + more)
    if not entries:
        raise DeviceListError(f"{source}: no devices listed")
    return entries


def load_device_list(path: str | Path | None = None) -> list[LoggedDevice]:
    """Read and validate a device list file (the packaged team list when `path` is None)."""
    path = Path(path) if path else packaged_param_list()
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise DeviceListError(f"cannot read device list {path}: {reason}") from exc
    return parse_device_list(text, str(path))
