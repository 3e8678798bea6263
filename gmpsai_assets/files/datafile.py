"""Open any data file - new or old, parameters or events - as one sequence of datasets.

The distiller, the asset checks and the CLI all go through `open_data_file`, so there is one
place that knows every layout. The format is decided from what is inside the file (its `format`
attribute, or the pandas layout of the old grabbers), never from the name alone; the name only
supplies the window, node and creation time of old files, which carry no attributes.

Anything that cannot be read becomes a `BadDataFile` naming the problem (missing, empty,
corrupt, unknown-layout, impossible-times), which the distiller records instead of crashing.
Every dataset's times are checked against the file's own window (attributes, or the name of an
old file): a writer's unit or time-zone mistake fails the file instead of storing 1970 as ok.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from gmpsai_assets.acnet.tclk import event_group, parse_event
from gmpsai_assets.files import eventfile, legacy, paramfile
from gmpsai_assets.files.h5common import DataFileError
from gmpsai_assets.files.naming import parse_data_file_name
from gmpsai_assets.status import DeviceStatus
from gmpsai_assets.window import Window, WindowError, times_outside

PARAMS, EVENTS = "params", "events"
NEW, OLD = "new", "old"

# Errors a broken file raises from h5py, PyTables or pandas while we read it.
_READ_ERRORS: tuple[type[Exception], ...] = (
    OSError, KeyError, ValueError, TypeError, RuntimeError, IndexError, AttributeError,
)


class BadDataFile(DataFileError):
    """A data file that cannot be distilled; `problem` is one word for the files table."""

    def __init__(self, path: str | Path, problem: str, detail: str) -> None:
        self.path, self.problem, self.detail = Path(path), problem, detail
        super().__init__(f"{Path(path).name}: {problem}: {detail}")


@dataclass(frozen=True)
class Dataset:
    """One device's samples or one event's occurrences; `values` of events are the seconds
    into the supercycle. `status`/`reason` repeat what the file says about a listed device."""

    name: str
    utc_seconds: np.ndarray
    values: np.ndarray
    status: str = DeviceStatus.OK  # a DeviceStatus, or its word as the file says it
    reason: str = ""


@dataclass(frozen=True)
class DataFileInfo:
    path: Path
    kind: str  # params | events
    format: str  # gmpsai-params/2, gmpsai-events/1, pandas-params, pandas-events, ...
    generation: str  # new | old
    node: str | None
    window: Window | None
    created_utc: float | None
    names: tuple[str, ...]  # datasets in file order (for new parameter files: the list asked for)
    outcomes: dict[str, tuple[str, str]] = field(default_factory=dict)  # name -> (status, reason)
    present: frozenset[str] = frozenset()  # names that have data in the file
    source: str | None = None  # simulated | acl, as the file says (old files do not)

    @property
    def name(self) -> str:
        return self.path.name


class DataFile:
    """An inspected data file; `datasets()` reads it one dataset at a time."""

    def __init__(self, info: DataFileInfo) -> None:
        self.info = info

    def datasets(
        self, max_datasets: int | None = None, max_rows: int | None = None
    ) -> Iterator[Dataset]:
        names = list(self.info.names[:max_datasets])
        try:
            for ds in self._read(names, max_rows):
                if times_outside(ds.utc_seconds, self.info.window):
                    raise legacy.TimesOutsideWindow(
                        legacy.outside_message(ds.name, ds.utc_seconds, self.info.window))
                yield ds
        except BadDataFile:
            raise
        except legacy.TimesOutsideWindow as exc:
            raise BadDataFile(self.info.path, "impossible-times", _one_line(exc)) from None
        except DataFileError as exc:  # a key laid out unlike any old grabber wrote it
            raise BadDataFile(self.info.path, "unknown-layout", _one_line(exc)) from None
        except _READ_ERRORS as exc:
            raise BadDataFile(self.info.path, "corrupt", _one_line(exc)) from None

    def _read(self, names: list[str], max_rows: int | None) -> Iterator[Dataset]:
        info, rows = self.info, slice(None, max_rows)
        if info.format in paramfile.FORMATS:
            for name in names:
                status, reason = info.outcomes.get(name, (DeviceStatus.OK, ""))
                if name not in info.present:
                    yield _empty(name, DeviceStatus.MISSING, reason or "no group in the file")
                    continue
                s = paramfile.read_param_device(info.path, name)
                yield Dataset(name, s.utc_seconds[rows], s.values[rows], status, reason)
            return
        if info.format in eventfile.FORMATS:
            for name in names:
                occ = eventfile.read_event(info.path, parse_event(name))
                yield Dataset(name, occ.utc_seconds[rows], occ.sc_seconds[rows])
            return
        for name, t, v in legacy.read_legacy(info.path, info.format, names, max_rows,
                                             info.window):
            yield Dataset(name, t, v, DeviceStatus.OK if t.size else DeviceStatus.EMPTY)


def _empty(name: str, status: str, reason: str) -> Dataset:
    return Dataset(name, np.empty(0), np.empty(0), status, reason)


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 300 else text[:297] + "..."


def open_data_file(path: str | Path) -> DataFile:
    """Inspect any data file; BadDataFile if it is missing, empty, corrupt or of unknown layout."""
    path = Path(path)
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise BadDataFile(path, "missing", "no such file") from None
    if size == 0:
        raise BadDataFile(path, "empty", "the file has 0 bytes")
    if not h5py.is_hdf5(path):
        raise BadDataFile(path, "corrupt", "not an HDF5 file (no HDF5 signature)")
    try:
        with h5py.File(path, "r") as f:
            info = _inspect(path, f)
    except BadDataFile:
        raise
    except _READ_ERRORS as exc:
        raise BadDataFile(path, "corrupt", _one_line(exc)) from None
    return DataFile(info)


def _inspect(path: Path, f: h5py.File) -> DataFileInfo:
    fmt = f.attrs.get("format")
    fmt = fmt.decode() if isinstance(fmt, bytes) else fmt
    if fmt in paramfile.FORMATS:
        return _inspect_new_params(path, f, fmt)
    if fmt in eventfile.FORMATS:
        return _inspect_new_events(path, fmt)
    layout = legacy.legacy_layout(f)
    if layout is None:
        groups = ", ".join(list(f.keys())[:5]) or "none"
        raise BadDataFile(
            path, "unknown-layout",
            f"format attribute {fmt!r}, top-level groups: {groups}; neither a gmpsai file "
            "nor one written by the old pandas grabbers",
        )
    names = tuple(legacy.legacy_names(f, layout))
    window, node, created = _from_name(path.name)
    return DataFileInfo(
        path, EVENTS if layout == legacy.PANDAS_EVENTS else PARAMS, layout, OLD, node, window,
        created, names, {}, frozenset(names),
    )


def _inspect_new_params(path: Path, f: h5py.File, fmt: str) -> DataFileInfo:
    attrs: dict[str, Any] = paramfile.read_param_attrs(path)
    outcomes = {d: (r.status, r.reason) for d, r in attrs["device_outcomes"].items()}
    return DataFileInfo(
        path, PARAMS, fmt, NEW, str(attrs["node"]),
        Window(float(attrs["window_start_utc"]), float(attrs["window_end_utc"])),
        float(attrs["created_utc"]), tuple(attrs["devices"]), outcomes,
        frozenset(k for k in f if isinstance(f[k], h5py.Group)), _text(attrs.get("source")),
    )


def _inspect_new_events(path: Path, fmt: str) -> DataFileInfo:
    """Datasets are the events that occurred (only they have a group), in code order."""
    attrs: dict[str, Any] = eventfile.read_event_attrs(path)
    names = tuple(event_group(code) for code in eventfile.list_events(path))
    outcomes = {event_group(code): (r.status, r.reason)
                for code, r in attrs["event_outcomes"].items()}
    return DataFileInfo(
        path, EVENTS, fmt, NEW, str(attrs["node"]),
        Window(float(attrs["window_start_utc"]), float(attrs["window_end_utc"])),
        float(attrs["created_utc"]), names, outcomes, frozenset(names),
        _text(attrs.get("source")),
    )


def _text(value: object) -> str | None:
    if isinstance(value, bytes):
        value = value.decode()
    return str(value) if value else None


def _from_name(name: str) -> tuple[Window | None, str | None, float | None]:
    """Window, node and creation time from an old file's name (None when it does not say)."""
    parsed = parse_data_file_name(name)
    if parsed is None:
        return None, None, None
    try:
        window = parsed.window
    except WindowError:
        window = None
    return window, parsed.node, parsed.created


@dataclass(frozen=True)
class FileSeen:
    """A visible data file and what identifies this version of it."""

    path: Path
    size: int
    mtime_ns: int

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def fingerprint(self) -> str:
        return f"{self.size}:{self.mtime_ns}"


def scan_data_files(
    directories: list[Path], now_s: float, settle_s: float = 10.0
) -> list[FileSeen]:
    """Closed `.h5` files in `directories`, oldest first. Hidden names (drafts.py's
    `.name.incoming-*`, editors' temporaries) are skipped, and so are files modified in the
    last `settle_s` seconds: a person copying a file in may not have finished."""
    seen = []
    for directory in directories:
        try:
            entries = list(directory.iterdir())
        except FileNotFoundError:
            continue
        for path in entries:
            if path.name.startswith(".") or path.suffix != ".h5":
                continue
            try:
                st = path.stat()
            except FileNotFoundError:  # removed (superseded) while we looked
                continue
            if not path.is_file() or st.st_mtime > now_s - settle_s:
                continue
            seen.append(FileSeen(path, st.st_size, st.st_mtime_ns))
    return sorted(seen, key=lambda f: (f.mtime_ns, f.name))
