"""What the tests ask of a dataset's HDF5 filter pipeline."""

from __future__ import annotations

import h5py
import hdf5plugin


def blosc2_shuffle(ds: h5py.Dataset) -> bool:
    """Is `ds` compressed with the one filter of h5common.COMPRESSION: Blosc2, BloscLZ,
    shuffle?"""
    plist = ds.id.get_create_plist()
    if plist.get_nfilters() != 1:
        return False
    code, _, values, _ = plist.get_filter(0)
    # cd_values: revision, Blosc version, type size, chunk bytes, level, shuffle, compressor
    return code == hdf5plugin.BLOSC2_ID and values[5] == 1 and values[6] == 0  # 0: BloscLZ
