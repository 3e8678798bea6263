"""Fixed-length training windows over a cycle table: `look_back` cycles of history, then
`look_forward` cycles to predict, as numpy arrays.

The chosen device columns are copied once into one row-major float64 array (null -> NaN); every
window is a view into it, so iterating costs no copies however many windows overlap. A window is
skipped, and counted, when it touches a missing value (null or NaN in any chosen device) or a
gap in the cycles (two consecutive rows more than 1.5 ticks apart: an event outage, a missing
day in a scan). Windows never span a gap, so the rows of a window are consecutive cycles.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import polars as pl

from gmpsai_assets.dataset.matching import TICK_S
from gmpsai_assets.dataset.table import TICK

GAP_US = round(1.5 * TICK_S * 1e6)


class Sequences:
    """Windows `(back, forward)` with shapes (look_back, D) and (look_forward, D).

    `starts` are the first rows of the usable windows; `skipped_missing` and `skipped_gap`
    count the windows left out (a window with both a gap and a missing value counts as gap).
    """

    def __init__(
        self,
        frame: pl.DataFrame | pl.LazyFrame,
        devices: Sequence[str],
        look_back: int,
        look_forward: int = 1,
        stride: int = 1,
    ) -> None:
        if look_back < 1 or look_forward < 0 or stride < 1:
            raise ValueError("need look_back >= 1, look_forward >= 0 and stride >= 1")
        self.devices = list(devices)
        if not self.devices:
            raise ValueError("choose at least one device")
        cols = [TICK, *self.devices]
        data = frame.select(cols).collect() if isinstance(frame, pl.LazyFrame) else \
            frame.select(cols)
        self.look_back, self.look_forward = int(look_back), int(look_forward)
        self.values = np.ascontiguousarray(
            data.select(self.devices).cast(pl.Float64).to_numpy(), dtype=np.float64)
        ticks_us = data.get_column(TICK).dt.epoch("us").to_numpy()
        n, span = self.values.shape[0], self.look_back + self.look_forward
        firsts = np.arange(0, max(n - span + 1, 0), stride, dtype=np.int64)
        bad = np.concatenate([[0], np.cumsum(~np.isfinite(self.values).all(axis=1))])
        gap = np.concatenate([[0, 0], np.cumsum(np.diff(ticks_us) > GAP_US)])  # gap before row i
        with_gap = (gap[firsts + span] - gap[firsts + 1]) > 0
        with_missing = (bad[firsts + span] - bad[firsts]) > 0
        self.skipped_gap = int(np.count_nonzero(with_gap))
        self.skipped_missing = int(np.count_nonzero(with_missing & ~with_gap))
        self.starts = firsts[~with_gap & ~with_missing]

    def __len__(self) -> int:
        return int(self.starts.size)

    def __getitem__(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        s = int(self.starts[k])
        mid = s + self.look_back
        return self.values[s:mid], self.values[mid:mid + self.look_forward]

    def __iter__(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        for k in range(len(self)):
            yield self[k]
