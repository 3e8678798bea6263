"""What every HDF5 data file of the platform shares: compression, window attributes, opening,
and the pandas view of a group.

Parameter files (paramfile.py) and event files (eventfile.py) differ in their groups only; the
file-level attributes that say where the data came from and which window it covers, the
dataset filter, the pandas "fixed" frame layout and the one-line error for an unreadable file
live here once, and so do the checks that make a reader refuse a file whose content breaks
its format (`MalformedFile`: a missing attribute or dataset, text where numbers belong, a 2-D
or mis-sized column), so a bad file becomes one clear sentence, never an exception of numpy or
of our own code.

Why a pandas view at all: the team reads every data file with `pandas.read_hdf(path, key)`,
as the old grabbers' PyTables files allowed. `write_pandas_frame` makes a group of plain 1-D
datasets readable that way without a second copy of the data: pandas' "fixed" frame format
(GenericFixed/BlockManagerFixed in pandas/io/pytables.py) reads a group holding `axis0` (column
names), `axis1` (the row index), and per block `blockN_items` and `blockN_values`; a 1-D
`blockN_values` is read as one column. Each `blockN_values` is an HDF5 hard link to the
h5py-named dataset (`utc_seconds`, `value`, ...), so both names reach the same bytes. The only
extra storage is `axis1`, the row numbers 0..N-1 the old files' index held, which compresses
to about 0.3% of a column. Attributes are written as str (variable length): PyTables hands
fixed-length byte attributes to pandas undecoded, which pandas 3 rejects.

Why Blosc2 (BloscLZ with byte shuffle): pandas reads through PyTables, whose own HDF5 inflates gzip
at a fraction of what the old grabbers' uncompressed tables cost to read (6-17x slower in
`make bench`), while PyTables carries Blosc2 built in and reads it about as fast as an
uncompressed table, at about a fifth of its size (docs/formats.md has the table,
`benchmarks/bench_params.py` measures it). h5py needs the filter from `hdf5plugin`, imported
here, so every reader of this package (and anyone who imports it) has it.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Self

import h5py
import hdf5plugin
import numpy as np

from gmpsai_assets import __version__
from gmpsai_assets.window import Window

CHUNK_ROWS = 65536
# The filter of every dataset written now (gmpsai-params/3, gmpsai-events/3): Blosc2 with its
# own codec (BloscLZ) at its default level 5, byte shuffle. Chosen from the candidates of
# benchmarks/bench_params.py (docs/formats.md, "Compression").
COMPRESSION: dict[str, Any] = dict(hdf5plugin.Blosc2(cname="blosclz", clevel=5,
                                                      filters=hdf5plugin.Blosc2.SHUFFLE))
# The filter of the layouts before it (gmpsai-*/1 and /2), which every reader still reads:
# gzip level 1 with shuffle, built into every HDF5 build.
GZIP_COMPRESSION: dict[str, Any] = {"compression": "gzip", "compression_opts": 1,
                                    "shuffle": True}
LIBVER = ("earliest", "v110")  # readable by older HDF5 builds (MATLAB, PyTables)


class DataFileError(ValueError):
    """A data file that cannot be read as what it claims to be. `problem` is the word the
    statistics store records before the sentence (files/datafile.py)."""

    problem = "unknown-layout"


class CorruptFile(DataFileError):
    """Bytes HDF5 cannot read: damaged, truncated, or no HDF5 file at all."""

    problem = "corrupt"


class MalformedFile(DataFileError):
    """Readable HDF5 whose content breaks its format: a required attribute or dataset missing,
    text or records where numbers belong, a column that is not 1-D or not as long as its
    partner, times that are not finite numbers. The message names the device, event or
    attribute and what is wrong with it."""

    problem = "malformed"


def utc_now() -> float:
    return dt.datetime.now(dt.UTC).timestamp()


def window_attrs(window: Window) -> dict[str, Any]:
    """The window as file attributes: UTC epoch seconds and local ISO times with their offset."""
    return {
        "window_start_utc": window.start,
        "window_end_utc": window.end,
        "window_start_local": window.start_local.isoformat(),
        "window_end_local": window.end_local.isoformat(),
    }


def provenance_attrs(
    fmt: str, window: Window, node: str, source: str, created_utc: float
) -> dict[str, Any]:
    """File attributes common to every data file: format, window, node, source, creation."""
    return {
        "format": fmt,
        **window_attrs(window),
        "node": node,
        "source": source,
        "created_utc": created_utc,
        "software_version": __version__,
    }


class H5FileWriter:
    """Base of the parameter and event file writers: the file is open for the `with` block, and
    its file attributes (`_file_attrs`: provenance and outcomes) are written only when the block
    ends cleanly, so an interrupted file lacks them and every reader refuses it."""

    path: Path

    def __enter__(self) -> Self:
        self._h5 = h5py.File(self.path, "w", libver=LIBVER)
        return self

    def __exit__(self, exc_type: object, *_: object) -> None:
        try:
            if exc_type is None:
                self._h5.attrs.update(self._file_attrs())
        finally:
            self._h5.close()

    def _file_attrs(self) -> dict[str, Any]:
        raise NotImplementedError


def write_float_dataset(group: h5py.Group, name: str, data: np.ndarray) -> h5py.Dataset:
    """A float64 dataset, chunked and compressed (contiguous when empty)."""
    data = np.ascontiguousarray(data, dtype=np.float64)
    if data.size:
        return group.create_dataset(name, data=data, chunks=(min(CHUNK_ROWS, data.size),),
                                    **COMPRESSION)
    return group.create_dataset(name, shape=(0,), dtype=np.float64)


# Group attributes of a pandas "fixed" frame (pandas/io/pytables.py FrameFixed); pandas_version
# is the storage format version pandas itself writes.
_PANDAS_FRAME_ATTRS: dict[str, Any] = {
    "pandas_type": "frame", "pandas_version": "0.15.2", "encoding": "UTF-8",
    "errors": "strict", "ndim": np.int64(2), "axis0_variety": "regular",
    "axis1_variety": "regular",
}


def write_pandas_frame(group: h5py.Group, columns: list[tuple[str, h5py.Dataset]]) -> None:
    """Make `group` read by `pandas.read_hdf(path, group_name)` as a DataFrame whose columns
    are the given 1-D datasets of equal length (hard-linked, not copied) and whose index is
    the row number, like the old grabbers' files."""
    rows = columns[0][1].shape[0]
    group.attrs.update({**_PANDAS_FRAME_ATTRS, "nblocks": np.int64(len(columns))})
    _write_strings(group, "axis0", [name for name, _ in columns])
    index = np.arange(rows, dtype=np.int64)
    if rows:
        group.create_dataset("axis1", data=index, chunks=(min(CHUNK_ROWS, rows),),
                             **COMPRESSION)
    else:
        group.create_dataset("axis1", shape=(0,), dtype=np.int64)
    group["axis1"].attrs["kind"] = "integer"
    for i, (name, dataset) in enumerate(columns):
        group.attrs[f"block{i}_items_variety"] = "regular"
        _write_strings(group, f"block{i}_items", [name])
        group[f"block{i}_values"] = dataset  # a hard link: pandas reads the same dataset


def _write_strings(group: h5py.Group, name: str, items: list[str]) -> None:
    """A pandas string index: fixed-length UTF-8 bytes with `kind` = string."""
    group.create_dataset(name, data=np.array([i.encode() for i in items]))
    group[name].attrs["kind"] = "string"


def string_array(items: list[str]) -> np.ndarray:
    return np.array(items, dtype=h5py.string_dtype())


def open_for_reading(path: Path) -> h5py.File:
    try:
        return h5py.File(path, "r")
    except OSError as exc:
        raise CorruptFile(f"{path}: not a readable HDF5 file ({exc})") from None


# File attributes every data file of ours holds (provenance_attrs; `source` and
# `software_version` are informative only), and the ones that must be finite numbers.
REQUIRED_ATTRS = ("format", "window_start_utc", "window_end_utc", "node", "created_utc")
NUMBER_ATTRS = ("window_start_utc", "window_end_utc", "created_utc")


def read_file_attrs(
    f: h5py.File, fmts: tuple[str, ...], required: Sequence[str] = ()
) -> dict[str, Any]:
    """File attributes with bytes decoded: DataFileError if the file is none of `fmts`,
    MalformedFile if one of REQUIRED_ATTRS or `required` is missing or a number is not one."""
    if f.attrs.get("format") not in fmts:
        raise DataFileError(f"{f.filename}: not a {fmts[-1]} file")
    attrs = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in f.attrs.items()}
    missing = [k for k in (*REQUIRED_ATTRS, *required) if k not in attrs]
    if missing:
        raise MalformedFile(
            f"the file attribute{'s' if len(missing) > 1 else ''} "
            f"{', '.join(repr(k) for k in missing)} {'are' if len(missing) > 1 else 'is'} "
            f"missing (every {attrs['format']} file has {'them' if len(missing) > 1 else 'it'})"
        )
    for key in NUMBER_ATTRS:
        attrs[key] = number_attr(attrs[key], f"the file attribute {key!r}")
    return attrs


def number_attr(value: Any, what: str) -> float:
    """An attribute that must be one finite number, as a float; MalformedFile otherwise."""
    array = np.asarray(value)
    if array.shape not in ((), (1,)) or array.dtype.kind not in "iuf":
        raise MalformedFile(f"{what} is {_shown(value)}, not a number")
    number = float(array.reshape(()))
    if not np.isfinite(number):
        raise MalformedFile(f"{what} is {number}, not a finite number")
    return number


def decode_strings(values: Any, what: str) -> list[str]:
    """A 1-D array of strings (an attribute such as `devices`) as a list; MalformedFile
    naming `what` when it is anything else."""
    array = np.asarray(values)
    if array.ndim != 1 or array.dtype.kind not in "SUO" or not all(
        isinstance(v, bytes | str) for v in array
    ):
        raise MalformedFile(f"{what} is {_shown(values)}, not a list of names")
    return [v.decode() if isinstance(v, bytes) else str(v) for v in array]


def json_object(text: Any, name: str) -> dict[str, Any]:
    """A file attribute holding a JSON object (`device_outcomes`) as a dict; MalformedFile
    naming the attribute otherwise."""
    try:
        value = json.loads(text)
    except (TypeError, ValueError) as exc:
        raise MalformedFile(f"the file attribute {name!r} is not JSON ({exc})") from None
    if not isinstance(value, dict):
        raise MalformedFile(f"the file attribute {name!r} is {_shown(value)}, not a JSON object")
    return value


def read_columns(group: h5py.Group, names: Sequence[str], what: str) -> list[np.ndarray]:
    """The datasets `names` of `group` as float64 columns: each present, a dataset of numbers,
    1-D, and all of one length; MalformedFile naming `what` (`device B:VIMIN`) otherwise."""
    datasets = []
    for name in names:
        obj = group.get(name, getclass=True)
        if obj is None:
            raise MalformedFile(f"{what}: the dataset {name!r} is missing")
        if obj is not h5py.Dataset:
            raise MalformedFile(f"{what}: {name!r} is not a dataset")
        ds = group[name]
        if ds.dtype.kind not in "iuf":
            raise MalformedFile(f"{what}: the dataset {name!r} holds {_kind(ds.dtype)} where "
                                "numbers belong")
        if ds.ndim != 1:
            raise MalformedFile(f"{what}: the dataset {name!r} has shape {ds.shape}; "
                                "it must be one column (1-D)")
        datasets.append(ds)
    rows = {ds.shape[0] for ds in datasets}
    if len(rows) > 1:
        raise MalformedFile(f"{what}: " + " but ".join(
            f"{name!r} has {ds.shape[0]} rows" for name, ds in zip(names, datasets, strict=True)
        ) + "; they must be equally long")
    return [np.asarray(ds[()], dtype=np.float64) for ds in datasets]


def _kind(dtype: np.dtype) -> str:
    if dtype.kind in "SUO":
        return f"text (dtype {dtype})"
    if dtype.kind == "V":
        return f"records (dtype {dtype})"
    return f"values of dtype {dtype}"


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
