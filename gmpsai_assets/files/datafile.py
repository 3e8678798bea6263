"""Open any data file - new or old, parameters or events - as one sequence of datasets.

The distiller, the asset checks and the CLI all go through `open_data_file`, so there is one
place that knows every layout. The format is decided from what is inside the file (its `format`
attribute, or the pandas layout of the old grabbers), never from the name alone; the name only
supplies the window, node and creation time of old files, which carry no attributes.

Anything wrong with the file becomes a `BadDataFile` naming the problem (missing, empty,
corrupt, malformed, unknown-layout, impossible-times) in a sentence, which the distiller records
instead of crashing. The readers check content explicitly (h5common.read_columns, the attribute
readers): a missing attribute or dataset, text where numbers belong, a 2-D or mis-sized column
is `malformed`, naming the device and what is wrong. Every dataset's times must be finite and
inside the file's own window (attributes, or the name of an old file): a writer's unit or
time-zone mistake fails the file instead of storing 1970 as ok.

An error of our own code is no property of the file: it propagates with its traceback, so the
run fails loudly and the file stays unrecorded, for a fixed release to read again. Damaged
bytes are told from bugs by where the error was raised (`_raised_by_reader`): inside h5py,
PyTables or pandas, called by our reader, with one of the types those raise for damage.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from gmpsai_assets.acnet.tclk import event_group, parse_event
from gmpsai_assets.files import eventfile, legacy, paramfile
from gmpsai_assets.files.h5common import DataFileError, MalformedFile
from gmpsai_assets.files.naming import parse_data_file_name
from gmpsai_assets.status import DeviceStatus
from gmpsai_assets.window import Window, WindowError, times_outside

PARAMS, EVENTS = "params", "events"
NEW, OLD = "new", "old"

# What the libraries that read the bytes raise for damaged ones, each seen with real damaged
# files (test_bad_content.py::test_damaged_bytes_are_corrupt_never_a_crash flips bytes of
# every layout): h5py OSError (a chunk that fails to inflate, a truncated file), KeyError (a
# damaged object header: "Unable to synchronously open object (message not aligned)") and
# RuntimeError (damaged attributes, symbol tables; PyTables' HDF5ExtError is one); PyTables
# NoSuchNodeError (an AttributeError) and SystemError ("Negative size passed to
# PyBytes_FromStringAndSize" for a damaged attribute); pandas AttributeError, TypeError and
# ValueError on the odd nodes PyTables makes of damaged ones (UnicodeDecodeError is a
# ValueError). Counted as damage only when raised inside these libraries (`_raised_by_reader`).
_READ_ERRORS: tuple[type[Exception], ...] = (
    OSError, KeyError, RuntimeError, AttributeError, TypeError, ValueError, SystemError,
)
_READERS = frozenset({"h5py", "tables", "pandas"})
_OURS = __name__.split(".")[0]


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
    out_of_order: int = 0  # steps back in time as the source delivered them (sorted since)


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
        with _bad_data_file(self.info.path):
            for ds in self._read(names, max_rows):
                _check_times(f"{'device' if self.info.kind == PARAMS else 'event'} {ds.name}",
                             ds.utc_seconds)
                if times_outside(ds.utc_seconds, self.info.window):
                    raise legacy.TimesOutsideWindow(
                        legacy.outside_message(ds.name, ds.utc_seconds, self.info.window))
                yield ds

    def _read(self, names: list[str], max_rows: int | None) -> Iterator[Dataset]:
        info, rows = self.info, slice(None, max_rows)
        if info.format in paramfile.FORMATS:
            for name in names:
                status, reason = info.outcomes.get(name, (DeviceStatus.OK, ""))
                if name not in info.present:
                    yield _empty(name, DeviceStatus.MISSING, reason or "no group in the file")
                    continue
                s = paramfile.read_param_device(info.path, name)
                yield Dataset(name, s.utc_seconds[rows], s.values[rows], status, reason,
                              s.out_of_order)
            return
        if info.format in eventfile.FORMATS:
            for name in names:
                occ = eventfile.read_event(info.path, parse_event(name))
                yield Dataset(name, occ.utc_seconds[rows], occ.sc_seconds[rows])
            return
        for name, t, v in legacy.read_legacy(info.path, info.format, names, max_rows,
                                             info.window):
            yield Dataset(name, t, v, DeviceStatus.OK if t.size else DeviceStatus.EMPTY)


@contextmanager
def _bad_data_file(path: Path) -> Iterator[None]:
    """Turn what is wrong with the file into BadDataFile; let everything else through."""
    try:
        yield
    except BadDataFile:
        raise
    except DataFileError as exc:  # malformed, impossible-times, corrupt, unknown-layout
        raise BadDataFile(path, exc.problem, _one_line(exc)) from None
    except _READ_ERRORS as exc:
        if not _raised_by_reader(exc):
            raise  # our own code: a bug, not the file's fault
        raise BadDataFile(path, "corrupt", _one_line(exc)) from None


def _raised_by_reader(exc: BaseException) -> bool:
    """Was `exc` raised inside h5py, PyTables or pandas while our code called them? A frame
    below the innermost frame of ours must belong to one of them (a mixin of the standard
    library or a codec may sit between). An error raised in our own frame, or in what we call
    that reaches none of them (json, numpy), is ours."""
    below_ours: list[str] = []
    tb = exc.__traceback__
    while tb is not None:
        package = str(tb.tb_frame.f_globals.get("__name__", "")).split(".")[0]
        below_ours = [] if package == _OURS else [*below_ours, package]
        tb = tb.tb_next
    return not _READERS.isdisjoint(below_ours)


def _check_times(what: str, utc: np.ndarray) -> None:
    """Every time must be a finite number (an old MLData file's NaN padding is gone by now)."""
    bad = ~np.isfinite(utc)
    if bad.any():
        raise MalformedFile(
            f"{what}: {int(np.count_nonzero(bad))} of {utc.size} times are not finite numbers "
            f"(NaN or infinity; the first at row {int(np.argmax(bad))})")


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
    with _bad_data_file(path):
        try:
            f = h5py.File(path, "r")
        except OSError as exc:  # a damaged superblock, a truncated file
            raise BadDataFile(path, "corrupt", _one_line(exc)) from None
        with f:
            info = _inspect(path, f)
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
        path, PARAMS, fmt, NEW, str(attrs["node"]), _window(attrs),
        attrs["created_utc"], tuple(attrs["devices"]), outcomes,
        frozenset(k for k in f if isinstance(f[k], h5py.Group)), _text(attrs.get("source")),
    )


def _inspect_new_events(path: Path, fmt: str) -> DataFileInfo:
    """Datasets are the events that occurred (only they have a group), in code order."""
    attrs: dict[str, Any] = eventfile.read_event_attrs(path)
    names = tuple(event_group(code) for code in eventfile.list_events(path))
    outcomes = {event_group(code): (r.status, r.reason)
                for code, r in attrs["event_outcomes"].items()}
    return DataFileInfo(
        path, EVENTS, fmt, NEW, str(attrs["node"]), _window(attrs),
        attrs["created_utc"], names, outcomes, frozenset(names),
        _text(attrs.get("source")),
    )


def _window(attrs: dict[str, Any]) -> Window:
    """The window the file's attributes (finite numbers by now) say it covers."""
    try:
        return Window(attrs["window_start_utc"], attrs["window_end_utc"])
    except WindowError as exc:
        raise MalformedFile(f"the file attributes window_start_utc, window_end_utc: {exc}") \
            from None


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
