"""The old grabbers' HDF5 files, as pandas wrote them (docs/formats.md).

Three layouts exist in the archive, all written through pandas + PyTables, so pandas reads them
(it is the field's own reader; the PyTables "table" layout packs columns into blocks described
by pickled attributes, which is no format to re-implement):

- `pandas-params`: MLParamData_*: `to_hdf(key=DEVICE, append=True)`, one table per device with a
  time column (`utc_seconds`, sometimes `utc_seconds<DEVICE>`) and a value column.
- `pandas-mldata`: MLData_* (before mid-2019): one fixed-format frame `x` built by concatenating
  every device's two columns `utc_seconds<DEVICE>` and `<DEVICE>` side by side, so shorter
  devices are padded with NaN rows.
- `pandas-events`: MLEventData_*: one table per event `Event0c` with `SCmicrosec` (seconds into
  the supercycle, despite the name), `datetime` (local wall-clock text) and `epoch`, which the
  old grabber computed by reading local wall-clock time as if it were UTC; we correct it
  with window.local_wall_to_utc. Run under pandas 3 the grabber wrote `epoch` in kiloseconds
  (its `.astype('int64') / 1e9` assumed nanoseconds; pandas 3 parses these texts to
  microseconds). Such an `epoch` lands in 1970, far outside the file's window, so the
  `datetime` text is read instead; a file where neither gives times inside its window fails.

Memory: pandas loads a whole key at once; a day of MLData `x` is about 1 GB in memory.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import tables

from gmpsai_assets.acnet.tclk import event_group, parse_event_times
from gmpsai_assets.files.h5common import DataFileError, MalformedFile, decode_strings
from gmpsai_assets.window import Window, format_local, local_wall_to_utc, times_outside, to_local

PANDAS_PARAMS = "pandas-params"
PANDAS_MLDATA = "pandas-mldata"
PANDAS_EVENTS = "pandas-events"

MLDATA_KEY = "x"
TIME_PREFIX = "utc_seconds"
EVENT_KEY_RE = re.compile(r"^Event([0-9a-fA-F]{2})$")

# Device names such as B:VIMIN are not Python identifiers; PyTables warns about every one.
warnings.filterwarnings("ignore", category=tables.NaturalNameWarning)

_EPOCH_LIMIT_S = 7e9  # beyond the year 2191: a number no clock conversion should be asked for
# (name, utc_seconds, values): values are device values, or seconds into the supercycle
Triple = tuple[str, np.ndarray, np.ndarray]
DeviceArrays = dict[str, tuple[np.ndarray, np.ndarray]]  # device -> (utc_seconds, values)


class TimesOutsideWindow(DataFileError):
    """A dataset whose times cannot be right: outside the file's own window."""

    problem = "impossible-times"


def outside_message(name: str, utc: np.ndarray, window: Window | None, what: str = "") -> str:
    """One line saying how many times of `name` fall outside the window, and the first one."""
    bad = times_outside(utc, window)
    where = f"the file's window {window}" if window else "2000..tomorrow (the name gives no window)"
    first = utc[0] if utc.size else float("nan")
    shown = format_local(first) if abs(first) < _EPOCH_LIMIT_S else repr(first)
    return f"{name}{what}: {bad} of {utc.size} times outside {where} (first {shown})"


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def pandas_keys(f: h5py.File) -> list[str]:
    """Top-level groups pandas wrote (they carry a `pandas_type` attribute)."""
    return [k for k, obj in f.items()
            if isinstance(obj, h5py.Group) and "pandas_type" in obj.attrs]


def legacy_layout(f: h5py.File) -> str | None:
    """Which old layout an open file has, or None if pandas did not write it."""
    keys = pandas_keys(f)
    if not keys:
        return None
    if keys == [MLDATA_KEY]:
        return PANDAS_MLDATA
    if all(EVENT_KEY_RE.match(k) for k in keys):
        return PANDAS_EVENTS
    return PANDAS_PARAMS


def legacy_names(f: h5py.File, layout: str) -> list[str]:
    """Devices or events of an old file, in file order, without loading any data."""
    if layout != PANDAS_MLDATA:
        return pandas_keys(f)
    frame = f[MLDATA_KEY]
    if frame.get("axis0", getclass=True) is not h5py.Dataset:
        raise MalformedFile(f"key {MLDATA_KEY!r} has no column names (dataset 'axis0'), "
                            "as every pandas frame has")
    columns = decode_strings(frame["axis0"][()], f"key {MLDATA_KEY!r}: the column names")
    return [c[len(TIME_PREFIX):] for c in columns
            if c.startswith(TIME_PREFIX) and c[len(TIME_PREFIX):] in columns]


def read_legacy(
    path: str | Path,
    layout: str,
    names: list[str] | None = None,
    max_rows: int | None = None,
    window: Window | None = None,
) -> Iterator[Triple]:
    """Yield (name, utc_seconds, values) per device or event, one key in memory at a time
    (all of `x` for MLData files); `names` limits and orders what is read. `window` (from the
    file name) settles event times in the repeated hour when DST ends."""
    rows = slice(None, max_rows)
    with pd.HDFStore(str(path), mode="r") as store:
        if layout == PANDAS_MLDATA:
            yield from _mldata(_select(store, MLDATA_KEY), names, rows)
            return
        for key in names if names is not None else [k.lstrip("/") for k in store]:
            frame = _select(store, key, max_rows)
            if layout == PANDAS_EVENTS:
                yield key, *_event_arrays(key, frame, window)
            else:
                yield key, *_param_arrays(key, frame)


def _select(store: pd.HDFStore, key: str, max_rows: int | None = None) -> pd.DataFrame:
    """The frame of one key, its first `max_rows` rows; MalformedFile when pandas makes no
    frame of it (a damaged or foreign node reads as None)."""
    table = store.get_storer(key).is_table  # fixed-format frames take no row range
    frame = store.select(key, stop=max_rows) if table else store.select(key)
    if not isinstance(frame, pd.DataFrame):
        raise MalformedFile(f"key {key!r} holds no table pandas can read "
                            f"(it reads {type(frame).__name__})")
    return frame if table else frame[:max_rows]


def _param_arrays(key: str, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """The time column is the one named like `utc_seconds`, the value column the other one."""
    times = [c for c in frame.columns if TIME_PREFIX in str(c)]
    others = [c for c in frame.columns if c not in times]
    if len(times) != 1 or len(others) != 1:
        raise DataFileError(
            f"key {key!r} has columns {list(map(str, frame.columns))}, "
            f"not one {TIME_PREFIX} column and one value column"
        )
    return _floats(key, frame[times[0]]), _floats(key, frame[others[0]])


def _mldata(frame: pd.DataFrame, names: list[str] | None, rows: slice) -> Iterator[Triple]:
    for device in names if names is not None else [
        str(c)[len(TIME_PREFIX):] for c in frame.columns if str(c).startswith(TIME_PREFIX)
    ]:
        t = _floats(device, frame[TIME_PREFIX + device])[rows]
        v = _floats(device, frame[device])[rows]
        keep = ~np.isnan(t)  # rows past this device's end are NaN padding from the concat
        yield device, t[keep], v[keep]


def _event_arrays(
    key: str, frame: pd.DataFrame, window: Window | None
) -> tuple[np.ndarray, np.ndarray]:
    missing = {"SCmicrosec", "epoch"} - set(map(str, frame.columns))
    if missing:
        raise DataFileError(f"event key {key!r} lacks column(s) {', '.join(sorted(missing))}")
    # `epoch` is local wall-clock time read as UTC (the old grabber's mistake): correct it,
    # unless it holds what is no time at all (NaN, 1e300), which fails the window check below
    wall = _floats(key, frame["epoch"])
    plausible = bool(np.all(np.abs(wall) < _EPOCH_LIMIT_S))  # False for NaN
    utc = local_wall_to_utc(wall, window) if plausible else wall
    if times_outside(utc, window):  # written under pandas 3: kiloseconds
        utc = _times_from_text(key, frame, window, outside_message(key, utc, window, " epoch"))
    return utc, _floats(key, frame["SCmicrosec"])


def _times_from_text(key: str, frame: pd.DataFrame, window: Window | None, why: str) -> np.ndarray:
    """UTC times from the `datetime` column (local wall-clock text), or TimesOutsideWindow."""
    if "datetime" not in frame.columns:
        raise TimesOutsideWindow(f"{why}, and no datetime column to read instead")
    local = parse_event_times(frame["datetime"].astype(str).to_numpy())
    unreadable = int(np.count_nonzero(np.isnat(local)))
    if unreadable:
        raise TimesOutsideWindow(f"{why}, and {unreadable} datetime text(s) are not times")
    utc = local_wall_to_utc(local.astype(np.int64) / 1000.0, window)
    if times_outside(utc, window):
        raise TimesOutsideWindow(f"{why}; datetime: {outside_message(key, utc, window)}")
    return utc


def _floats(key: str, column: pd.Series) -> np.ndarray:
    """A column as float64; MalformedFile naming the key and column when it holds other things
    than numbers (text, say)."""
    try:
        return np.ascontiguousarray(column.to_numpy(dtype=np.float64))
    except (TypeError, ValueError):
        bad = column[pd.to_numeric(column, errors="coerce").isna() & column.notna()]
        raise MalformedFile(
            f"key {key!r}: the column {column.name!r} holds {column.dtype} values where "
            f"numbers belong" + (f" (row {bad.index[0]}: {bad.iloc[0]!r})" if len(bad) else "")
        ) from None


# ---- writers, exactly as the old scripts wrote (tests, benchmarks, archive fixtures) --------


def write_legacy_params(path: str | Path, devices: DeviceArrays) -> None:
    """MLParamData_*: ParamDataGrabber's `df.to_hdf(outfile, key=device, append=True)` per device
    (append implies the PyTables table format)."""
    for device, (t, v) in devices.items():
        frame = pd.DataFrame({"utc_seconds": t, "value": v})
        frame.to_hdf(str(path), key=device, append=True, format="table")


def write_legacy_mldata(path: str | Path, devices: DeviceArrays) -> None:
    """MLData_*: the early grabber's columns `utc_seconds<DEVICE>`, `<DEVICE>` per device,
    `pd.concat(axis=1)` (NaN-padding shorter devices) and `to_hdf(key='x', mode='w')` (fixed)."""
    frames = [pd.DataFrame({TIME_PREFIX + d: t, d: v}) for d, (t, v) in devices.items()]
    pd.concat(frames, axis=1).to_hdf(str(path), key=MLDATA_KEY, mode="w")


def write_legacy_events(
    path: str | Path, events: dict[int, tuple[np.ndarray, np.ndarray]], pandas3: bool = False
) -> None:
    """MLEventData_*: EventDataGrabber's `to_hdf(draft, 'Event0c', append=True)` per event with
    columns SCmicrosec, datetime (`DD-MON-YYYY HH:MM:SS.fff` local) and epoch, the local
    wall-clock time read as UTC. `events` maps a code to (true UTC seconds, sc seconds).
    `pandas3`: as the grabber wrote under pandas 3, `epoch` in kiloseconds."""
    for code, (utc, sc) in events.items():
        local = [to_local(float(t)) for t in utc]
        text = [f"{d:%d-%b-%Y %H:%M:%S}.{d.microsecond // 1000:03d}".upper() for d in local]
        wall = pd.to_datetime([d.replace(tzinfo=None) for d in local])
        epoch = (wall - pd.Timestamp(0)).total_seconds().to_numpy() / (1000.0 if pandas3 else 1.0)
        frame = pd.DataFrame({"SCmicrosec": sc, "datetime": text, "epoch": epoch})
        frame.to_hdf(str(path), key=event_group(code), append=True, format="table")
