"""HDF5 parameter-data files: one group per device with `utc_seconds` and `value` datasets.

Layout (format `gmpsai-params/3`), read per device with `pandas.read_hdf(path, DEVICE)`
(columns `utc_seconds`, `value`, as the old grabbers' files) or with plain h5py:

    /                    attrs: format, window_start_utc, window_end_utc, window_start_local,
                                window_end_local, node, source, created_utc, software_version,
                                devices (the list asked for, in order), device_outcomes (JSON)
    /<DEVICE>/           attrs: device, status (gmpsai_assets.status: ok | partial | empty |
                                failed), rows, reason, out_of_order (int: steps back in time
                                the source delivered the samples with, sorted here; 0 when in
                                order, absent in files written before it), description and
                                units (what the source said of the device; "" when it said
                                nothing; also in device_outcomes when not empty), the pandas
                                frame attributes (h5common.write_pandas_frame), and for a
                                partial device missing_utc (float64 [n, 2]: UTC start, end of
                                each span without data; also in device_outcomes)
    /<DEVICE>/utc_seconds  float64, UTC epoch seconds, strictly increasing
    /<DEVICE>/value        float64
    /<DEVICE>/axis0, axis1, block0_items, block0_values, block1_items, block1_values
                           pandas' view: block0_values and block1_values are hard links to
                           utc_seconds and value, axis1 the row numbers

Written before, and read the same way by this module and by files/datafile.py:
`gmpsai-params/2` (the same layout, every dataset compressed with gzip level 1 and shuffle) and
`gmpsai-params/1` (gzip as /2, without the pandas view).

Datasets are chunked and compressed with Blosc2 (BloscLZ, byte shuffle; h5common.COMPRESSION):
pandas reads them through PyTables about as fast as the old grabbers' uncompressed tables, at
about a fifth of their size; plain h5py needs `import hdf5plugin` (docs/formats.md).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from gmpsai_assets.files.h5common import (  # re-exported: older imports name them here
    CHUNK_ROWS,
    COMPRESSION,
    DataFileError,
    H5FileWriter,
    MalformedFile,
    decode_strings,
    json_object,
    number_attr,
    open_for_reading,
    provenance_attrs,
    read_columns,
    read_file_attrs,
    string_array,
    utc_now,
    window_attrs,
    write_float_dataset,
    write_pandas_frame,
)
from gmpsai_assets.samples import DeviceInfo, Samples
from gmpsai_assets.status import DeviceStatus, describe_missing, device_status
from gmpsai_assets.window import Window

FORMAT = "gmpsai-params/3"
# every layout of ours this module reads, oldest first
FORMATS = ("gmpsai-params/1", "gmpsai-params/2", FORMAT)
COLUMNS = ("utc_seconds", "value")  # dataset names, and the pandas columns
__all__ = [
    "CHUNK_ROWS",
    "COLUMNS",
    "COMPRESSION",
    "FORMAT",
    "FORMATS",
    "DataFileError",
    "DeviceRecord",
    "ParamFileWriter",
    "read_param_attrs",
    "read_param_device",
    "window_attrs",
    "write_arrays",
]


@dataclass(frozen=True)
class DeviceRecord:
    """What a file says about one listed device."""

    device: str
    status: str  # DeviceStatus when written, its word when read back (the two compare equal)
    rows: int
    reason: str = ""
    missing_utc: tuple[tuple[float, float], ...] = ()  # spans a partial device lacks
    description: str = ""  # what the source said the device is ("": nothing)
    units: str = ""  # its engineering units ("": not said)
    out_of_order: int = 0  # steps back in time the source delivered (sorted in the file)

    @property
    def info(self) -> DeviceInfo:
        return DeviceInfo(self.description, self.units)


@dataclass
class ParamFileWriter(H5FileWriter):
    """Writes one parameter file device by device, so memory holds one device at a time."""

    path: Path
    window: Window
    node: str
    source: str
    devices: list[str]
    created_utc: float = field(default_factory=utc_now)
    records: dict[str, DeviceRecord] = field(default_factory=dict)

    def add(
        self, device: str, samples: Samples | None, error: Exception | None
    ) -> DeviceRecord:
        """Store one device's outcome: its samples, or an empty group saying why it failed."""
        group = self._h5.create_group(device)
        samples = samples or Samples.empty(device)
        write_arrays(group, samples)
        status = device_status(samples, error)
        missing = samples.missing if status == DeviceStatus.PARTIAL else ()
        reason = str(error) if error else "; ".join(
            ([describe_missing(missing)] if missing else [])
            + ([describe_out_of_order(samples.out_of_order)] if samples.out_of_order else []))
        record = DeviceRecord(device, status, len(samples), reason, missing,
                              out_of_order=samples.out_of_order)
        # h5py stores a plain str, not a subclass: the attribute holds the word
        group.attrs.update(device=device, status=str(record.status), rows=record.rows,
                           reason=reason, out_of_order=np.int64(samples.out_of_order))
        if missing:
            group.attrs["missing_utc"] = np.array(missing, dtype=np.float64).reshape(-1, 2)
        self.records[device] = record
        return record

    def describe(self, info: dict[str, DeviceInfo]) -> None:
        """Store each added device's description and units (after the fetch: DPM's come with
        the data); a device without an entry gets empty strings, never a guess."""
        for device, record in self.records.items():
            known = info.get(device, DeviceInfo())
            self._h5[device].attrs.update(description=known.description, units=known.units)
            self.records[device] = replace(record, description=known.description,
                                           units=known.units)

    def _file_attrs(self) -> dict[str, Any]:
        return {
            **provenance_attrs(FORMAT, self.window, self.node, self.source, self.created_utc),
            "devices": string_array(self.devices),
            "device_outcomes": json.dumps(
                {d: {"status": r.status, "rows": r.rows, "reason": r.reason,
                     **({"missing_utc": [list(m) for m in r.missing_utc]} if r.missing_utc
                        else {}),
                     **{k: v for k, v in (("description", r.description), ("units", r.units),
                                          ("out_of_order", r.out_of_order)) if v}}
                 for d, r in self.records.items()}
            ),
        }


def describe_out_of_order(steps: int) -> str:
    """The reason recorded for a device the source delivered out of time order."""
    return (f"{steps} step(s) back in time as the source delivered the samples; "
            "sorted by time in this file (out_of_order)")


def write_arrays(group: h5py.Group, samples: Samples) -> None:
    """`utc_seconds` and `value` datasets, chunked and compressed (contiguous when empty),
    and the pandas view of them."""
    write_pandas_frame(group, [
        (COLUMNS[0], write_float_dataset(group, COLUMNS[0], samples.utc_seconds)),
        (COLUMNS[1], write_float_dataset(group, COLUMNS[1], samples.values)),
    ])


def read_param_attrs(path: str | Path) -> dict[str, Any]:
    """File attributes, with `devices` as a list and `device_outcomes` decoded; MalformedFile
    naming the attribute when one is missing or not what this layout holds."""
    with open_for_reading(Path(path)) as f:
        attrs = read_file_attrs(f, FORMATS, ("devices", "device_outcomes"))
    attrs["devices"] = decode_strings(attrs["devices"], "the file attribute 'devices'")
    attrs["device_outcomes"] = {
        d: _device_record(d, rec)
        for d, rec in json_object(attrs["device_outcomes"], "device_outcomes").items()
    }
    return attrs


def _device_record(device: str, rec: object) -> DeviceRecord:
    what = f"device_outcomes of {device}"
    if not isinstance(rec, dict) or not isinstance(rec.get("status"), str) or not isinstance(
        rec.get("rows"), int) or not all(
            isinstance(rec.get(k, ""), str) for k in ("reason", "description", "units")
        ) or not isinstance(rec.get("out_of_order", 0), int):
        raise MalformedFile(f"the file attribute {what} is {rec!r}, not {{status: word, "
                            "rows: count, reason: text, description: text, units: text, "
                            "out_of_order: count}")
    try:
        spans = tuple((float(a), float(b)) for a, b in rec.get("missing_utc", ()))
    except (TypeError, ValueError):
        raise MalformedFile(f"the file attribute {what} has missing_utc "
                            f"{rec.get('missing_utc')!r}, not [start, end] pairs") from None
    return DeviceRecord(device, rec["status"], rec["rows"], rec.get("reason", ""), spans,
                        rec.get("description", ""), rec.get("units", ""),
                        rec.get("out_of_order", 0))


def read_param_device(path: str | Path, device: str) -> Samples:
    """One device's samples from a parameter file (empty arrays if it was empty or failed);
    MalformedFile when its datasets are not two equally long 1-D columns of numbers."""
    with open_for_reading(Path(path)) as f:
        if device not in f:
            raise DataFileError(f"{path}: no device {device}")
        group = f[device]
        t, v = read_columns(group, COLUMNS, f"device {device}")
        out_of_order = group.attrs.get("out_of_order", 0)  # files before it: none recorded
        return Samples(device, t, v, out_of_order=int(
            number_attr(out_of_order, f"device {device}: the attribute 'out_of_order'")))
