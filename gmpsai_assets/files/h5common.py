"""What every HDF5 data file of the platform shares: compression, window attributes, opening.

Parameter files (paramfile.py) and event files (eventfile.py) differ in their groups only; the
file-level attributes that say where the data came from and which window it covers, the
dataset filter, and the one-line error for an unreadable file live here once.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from gmpsai_assets import __version__
from gmpsai_assets.window import Window

CHUNK_ROWS = 65536
COMPRESSION: dict[str, Any] = {"compression": "gzip", "compression_opts": 1, "shuffle": True}
LIBVER = ("earliest", "v110")  # readable by older HDF5 builds (MATLAB, PyTables)


class DataFileError(ValueError):
    """A data file that cannot be read as what it claims to be."""


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


def write_float_dataset(group: h5py.Group, name: str, data: np.ndarray) -> None:
    """A float64 dataset, chunked and compressed (contiguous when empty)."""
    data = np.ascontiguousarray(data, dtype=np.float64)
    if data.size:
        group.create_dataset(name, data=data, chunks=(min(CHUNK_ROWS, data.size),), **COMPRESSION)
    else:
        group.create_dataset(name, shape=(0,), dtype=np.float64)


def string_array(items: list[str]) -> np.ndarray:
    return np.array(items, dtype=h5py.string_dtype())


def open_for_reading(path: Path) -> h5py.File:
    try:
        return h5py.File(path, "r")
    except OSError as exc:
        raise DataFileError(f"{path}: not a readable HDF5 file ({exc})") from None


def read_file_attrs(f: h5py.File, fmt: str) -> dict[str, Any]:
    """File attributes with bytes decoded, or DataFileError if the file is not `fmt`."""
    if f.attrs.get("format") != fmt:
        raise DataFileError(f"{f.filename}: not a {fmt} file")
    return {k: (v.decode() if isinstance(v, bytes) else v) for k, v in f.attrs.items()}


def decode_strings(values: Any) -> list[str]:
    return [v.decode() if isinstance(v, bytes) else str(v) for v in values]
