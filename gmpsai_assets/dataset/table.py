"""Build one local day's cycle table from that day's parameter and event files, and publish it.

One row per `$0C` of the day, in time order: the tick, its supercycle and index in it, the Booster
reset the cycle ran, then one Float64 column per device of the parameter file (named as the
device), filled by `matching.match_samples`. A `partial` device's cells whose sample would fall in
one of its missing spans (tick + lag inside the span) are null, like every unfilled cell, and the
spans are in its report: null there means "the source did not deliver", not "no sample". The files
are read through files/ (any layout `open_data_file` knows); the table is written with polars as
Parquet (zstd) through the draft-then-publish helper, with the per-device matching report in the
file's key-value metadata under `gmpsai`. docs/cycle_table.md is the user's description of all of
this.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from gmpsai_assets.acnet.tclk import (
    BOOSTER_RESETS,
    CLOCK_15HZ,
    NULL_RESET,
    PREPULSE_RESET,
    event_group,
    event_label,
)
from gmpsai_assets.dataset.matching import (
    DEFAULT_TOLERANCE_TICKS,
    TICK_S,
    check_tolerance,
    cycle_half_gaps,
    match_samples,
)
from gmpsai_assets.files import eventfile, paramfile
from gmpsai_assets.files.datafile import EVENTS, PARAMS, Dataset, open_data_file
from gmpsai_assets.files.drafts import drafted
from gmpsai_assets.files.h5common import DataFileError
from gmpsai_assets.heap import roomy_heap
from gmpsai_assets.status import DeviceStatus
from gmpsai_assets.window import Window, day_window, to_local

FORMAT = "gmpsai-cycles/1"
PREFIX = "CycleTable"
METADATA_KEY = "gmpsai"
RESETS = BOOSTER_RESETS  # acnet/tclk.py: what the team's TCLK list calls a Booster reset
BEAM_RESETS = frozenset(RESETS) - {NULL_RESET, PREPULSE_RESET}
RESET_WITHIN_S = 0.5 * TICK_S  # a reset follows its cycle's $0C by ~18 ms
MATCH_WORKERS = 2  # devices matched at once while the next is read (the machines have 2+ cores)
# Fixed columns, before the device columns.
TICK, SC_START, SC_INDEX, RESET, BEAM = (
    "tick_utc", "sc_start_utc", "sc_index", "reset_event", "beam_cycle")
FIXED_SCHEMA: dict[str, pl.DataType] = {
    TICK: pl.Datetime("us", "UTC"),
    SC_START: pl.Datetime("us", "UTC"),
    SC_INDEX: pl.Int32(),
    RESET: pl.String(),
    BEAM: pl.Boolean(),
}
DEVICE_DTYPE = pl.Float64()

Progress = Callable[[str], None]


class CycleTableError(DataFileError):
    """The day's files cannot make a cycle table (no `$0C`, windows that disagree, ...)."""


def cycle_table_name(day: dt.date) -> str:
    return f"{PREFIX}_{day.isoformat()}.parquet"


def cycle_table_path(cycles_dir: Path, day: dt.date | str) -> Path:
    if isinstance(day, str):
        day = dt.date.fromisoformat(day)
    return Path(cycles_dir) / cycle_table_name(day)


@dataclass(frozen=True)
class DeviceReport:
    """How one device's column was filled (kept in the file and in the run's metadata)."""

    device: str
    status: str  # what the parameter file says (gmpsai_assets.status)
    samples: int
    filled: int
    filled_share: float  # filled / cycles
    unmatched: int  # samples not in the table
    unmatched_inside: int  # of which within the day's cycles (the filled_share check's count)
    lag_ms: float | None
    tolerance_ms: float
    spread_ms: float | None  # 99th percentile distance of a used sample from tick + lag
    reason: str = ""
    missing_utc: tuple[tuple[float, float], ...] = ()  # a partial device's spans (UTC start, end)
    description: str = ""  # what the parameter file says the device is ("": nothing said)
    units: str = ""  # the device's units as the parameter file says ("": not said)


@dataclass
class TableReport:
    """What a cycle table holds and how it was made."""

    day: str
    window_start_utc: float
    window_end_utc: float
    cycles: int
    param_file: str
    event_file: str
    tolerance_ticks: float
    devices: dict[str, DeviceReport] = field(default_factory=dict)
    resets_found: dict[str, int] = field(default_factory=dict)  # "$13" -> occurrences
    resets_unavailable: dict[str, str] = field(default_factory=dict)  # "$13" -> why
    resets_unplaced: int = 0  # resets with no $0C within half a tick before them
    cycles_with_several_resets: int = 0
    cycles_without_reset: int = 0
    supercycles: int = 0
    seconds: float = 0.0
    format: str = FORMAT

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> TableReport:
        raw = json.loads(text)
        raw["devices"] = {
            d: DeviceReport(**{**r, "missing_utc": tuple(
                (float(a), float(b)) for a, b in r.get("missing_utc", ()))})
            for d, r in raw["devices"].items()
        }
        return cls(**raw)


@dataclass(frozen=True)
class CycleTable:
    frame: pl.DataFrame
    report: TableReport


# ---- reading the day's files ----------------------------------------------------------------


@dataclass(frozen=True)
class DayEvents:
    window: Window
    ticks: np.ndarray  # $0C UTC seconds, sorted
    tick_sc: np.ndarray  # $0C seconds into the supercycle
    resets: dict[int, np.ndarray]  # code -> UTC seconds (only those the file could answer)
    unavailable: dict[int, str]  # code -> why it is unknown


def read_day_events(path: Path) -> DayEvents:
    """`$0C` and the Booster resets of an event file (new or old layout)."""
    data = open_data_file(path)
    info = data.info
    if info.kind != EVENTS or info.window is None:
        raise CycleTableError(f"{path.name}: not an event file with a known window")
    wanted = {event_group(c): c for c in (CLOCK_15HZ, *RESETS)}
    found: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    unavailable: dict[int, str] = {}
    if info.format in eventfile.FORMATS:
        outcomes = eventfile.read_event_attrs(path)["event_outcomes"]
        for code in wanted.values():
            record = outcomes.get(code)
            if record is None:
                unavailable[code] = "not asked for"
            elif record.status == DeviceStatus.FAILED:
                unavailable[code] = f"failed: {record.reason}"
            else:
                occ = eventfile.read_event(path, code)
                found[code] = (occ.utc_seconds, occ.sc_seconds)
    else:  # old files hold only events that occurred, and say nothing of the others
        for ds in data.datasets():
            if ds.name in wanted:
                found[wanted[ds.name]] = (ds.utc_seconds, ds.values)
    if CLOCK_15HZ not in found or found[CLOCK_15HZ][0].size == 0:
        why = unavailable.get(CLOCK_15HZ, "no occurrences")
        raise CycleTableError(f"{path.name}: no {event_label(CLOCK_15HZ)} to align on ({why})")
    t, sc = found.pop(CLOCK_15HZ)
    keep = (t >= info.window.start) & (t < info.window.end)
    t, sc = t[keep], sc[keep]
    if t.size > 1 and not np.all(np.diff(t) > 0):
        order = np.argsort(t, kind="stable")
        t, sc = t[order], sc[order]
        if not np.all(np.diff(t) > 0):
            raise CycleTableError(f"{path.name}: {event_label(CLOCK_15HZ)} repeats a time")
    return DayEvents(info.window, t, sc, {c: v[0] for c, v in found.items()}, unavailable)


def _sorted(t: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if t.size > 1 and not np.all(t[1:] >= t[:-1]):
        order = np.argsort(t, kind="stable")
        return t[order], v[order]
    return t, v


# ---- the columns ----------------------------------------------------------------------------


def _supercycles(ticks: np.ndarray, sc: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Per tick: its supercycle's start (UTC s) and its index in it; and how many supercycles.

    A new supercycle begins where the seconds into the supercycle fall back (or the start they
    imply jumps, should whole supercycles be missing). The start is the `$0C` with 0 s into the
    supercycle when the day has it, else (the supercycle running at midnight) the median of
    `tick - seconds into supercycle` rounded to the ms. The index is the seconds into the
    supercycle over the supercycle's mean `$0C` spacing (gaps left out), rounded: right even
    across a missing `$0C`, since the tick drifts by well under a tenth of a tick over a
    supercycle.
    """
    implied = ticks - sc
    new = np.concatenate([[True], (np.diff(sc) < 0) | (np.abs(np.diff(implied)) > 0.1)])
    first = np.flatnonzero(new)
    group = np.cumsum(new) - 1
    # spacing of consecutive $0C in the same supercycle, leaving out gaps of missing $0C
    spacing = np.diff(ticks)
    usable = ~new[1:] & (spacing < 1.5 * TICK_S)
    total = np.bincount(group[1:][usable], spacing[usable], minlength=first.size)
    count = np.bincount(group[1:][usable], minlength=first.size)
    period = np.where(count > 0, total / np.maximum(count, 1), TICK_S)
    index = np.rint(sc / period[group]).astype(np.int64)
    start = ticks[first].copy()
    for g in np.flatnonzero(sc[first] != 0.0):  # begun before the day (or after a gap)
        a, b = first[g], (first[g + 1] if g + 1 < first.size else ticks.size)
        start[g] = np.rint(np.median(implied[a:b]) * 1000.0) / 1000.0
    return start[group], index, int(first.size)


def _reset_columns(ev: DayEvents, report: TableReport) -> tuple[pl.Series, pl.Series]:
    """The reset each cycle ran (`$11`..`$1D` label) and whether it was a beam cycle."""
    n = ev.ticks.size
    codes = np.zeros(n, np.int64)
    first_time = np.full(n, np.inf)
    counts = np.zeros(n, np.int64)
    for code in sorted(ev.resets):
        r = ev.resets[code]
        r = r[(r >= ev.window.start) & (r < ev.window.end)]
        report.resets_found[event_label(code)] = int(r.size)
        i = np.searchsorted(ev.ticks, r, side="right") - 1
        ok = (i >= 0) & (r - ev.ticks[np.maximum(i, 0)] < RESET_WITHIN_S)
        report.resets_unplaced += int(np.count_nonzero(~ok))
        i, r = i[ok], r[ok]
        counts += np.bincount(i, minlength=n)
        earlier = r < first_time[i]  # several resets in one cycle: the earliest counts
        codes[i[earlier]] = code
        first_time[i[earlier]] = r[earlier]
    report.cycles_with_several_resets = int(np.count_nonzero(counts > 1))
    report.cycles_without_reset = int(np.count_nonzero(counts == 0))
    report.resets_unavailable = {event_label(c): why for c, why in ev.unavailable.items()
                                 if c != CLOCK_15HZ}
    labels = pl.Series(RESET, [""] + [event_label(c) for c in range(1, 256)], dtype=pl.String)
    none = codes == 0
    reset = labels.gather(codes).set(pl.Series(none), None)
    beam = pl.Series(BEAM, np.isin(codes, list(BEAM_RESETS))).set(pl.Series(none), None)
    return reset.rename(RESET), beam


def _utc_series(name: str, seconds: np.ndarray) -> pl.Series:
    micros = np.rint(seconds * 1e6).astype(np.int64)
    return pl.Series(name, micros).cast(FIXED_SCHEMA[name])


def build_cycle_table(
    param_path: Path, event_path: Path, tolerance_ticks: float = DEFAULT_TOLERANCE_TICKS,
    progress: Progress | None = None,
) -> CycleTable:
    """The day's cycle table from its parameter and event files, with its report."""
    with roomy_heap():  # heap.py: a day's temporaries reused, not faulted in per device
        return _build(param_path, event_path, tolerance_ticks, progress)


def _build(param_path: Path, event_path: Path, tolerance_ticks: float,
           progress: Progress | None) -> CycleTable:
    began = time.monotonic()
    tolerance_ticks = check_tolerance(tolerance_ticks)
    param_path, event_path = Path(param_path), Path(event_path)
    ev = read_day_events(event_path)
    params = open_data_file(param_path)
    if params.info.kind != PARAMS:
        raise CycleTableError(f"{param_path.name}: not a parameter file")
    w = params.info.window
    if w is None or abs(w.start - ev.window.start) > 1e-3 or abs(w.end - ev.window.end) > 1e-3:
        raise CycleTableError(
            f"{param_path.name} and {event_path.name} cover different windows ({w}, {ev.window})")
    day = to_local(ev.window.start).date()
    if ev.window.end > day_window(day).end + 1e-3:  # a table is one day's (or part of it)
        raise CycleTableError(f"{event_path.name}: window {ev.window} is more than one local day")
    n = int(ev.ticks.size)
    report = TableReport(day.isoformat(), ev.window.start, ev.window.end, n, param_path.name,
                         event_path.name, tolerance_ticks)
    sc_start, sc_index, report.supercycles = _supercycles(ev.ticks, ev.tick_sc)
    reset, beam = _reset_columns(ev, report)
    columns = [_utc_series(TICK, ev.ticks), _utc_series(SC_START, sc_start),
               pl.Series(SC_INDEX, sc_index).cast(pl.Int32), reset, beam]
    say = progress or (lambda _m: None)
    recorded = _recorded(param_path, params.info.format)
    # Devices are matched on MATCH_WORKERS threads (numpy lets go of the GIL in the work)
    # while this one reads the next from the file; columns and reports stay in file order.
    pending: deque[Future[tuple[pl.Series, DeviceReport]]] = deque()
    half_gaps = cycle_half_gaps(ev.ticks) if n > 1 else None

    def done(future: Future[tuple[pl.Series, DeviceReport]]) -> None:
        column, rep = future.result()
        columns.append(column)
        report.devices[rep.device] = rep
        say(f"{rep.device}: {rep.filled}/{n} cycles filled, lag {rep.lag_ms} ms, "
            f"{rep.unmatched} samples unmatched")

    with ThreadPoolExecutor(MATCH_WORKERS, thread_name_prefix="cycle-match") as pool:
        for ds in params.datasets():
            pending.append(pool.submit(_device_column, ds, ev.ticks, half_gaps,
                                       tolerance_ticks, recorded.get(ds.name)))
            if len(pending) > MATCH_WORKERS:  # read ahead by one device, no more
                done(pending.popleft())
        while pending:
            done(pending.popleft())
    report.seconds = round(time.monotonic() - began, 3)
    return CycleTable(pl.DataFrame(columns), report)


def _device_column(ds: Dataset, ticks: np.ndarray, half_gaps: np.ndarray | None,
                   tolerance_ticks: float, record: paramfile.DeviceRecord | None,
                   ) -> tuple[pl.Series, DeviceReport]:
    """One device's column (its sample for each cycle, null where none) and its report."""
    n = ticks.size
    t, v = _sorted(ds.utc_seconds, ds.values)
    m = match_samples(ticks, t, tolerance_ticks, half_gaps=half_gaps)
    values = np.full(n, np.nan)
    values[m.tick_index] = v if m.filled == v.size else v[m.sample_index]
    missing = np.ones(n, bool)
    missing[m.tick_index] = False
    spans = record.missing_utc if record else ()
    if spans:
        expected = ticks + (m.lag_s or 0.0)  # where each cycle's sample would be stamped
        for a, b in spans:
            missing |= (expected >= a) & (expected < b)
    column = pl.Series(ds.name, values, dtype=DEVICE_DTYPE).set(pl.Series(missing), None)
    rep = DeviceReport(
        ds.name, ds.status, m.samples, m.filled, m.filled / n if n else 0.0, m.unmatched,
        m.unmatched_inside, _ms(m.lag_s), round(m.tolerance_s * 1000.0, 3), _ms(m.spread_s),
        ds.reason, spans, record.description if record else "",
        record.units if record else "",
    )
    return column, rep


def _recorded(path: Path, fmt: str | None) -> dict[str, paramfile.DeviceRecord]:
    """What the parameter file records of each device: a partial device's missing spans, the
    description and units (old layouts record neither, so none)."""
    if fmt not in paramfile.FORMATS:
        return {}
    return paramfile.read_param_attrs(path)["device_outcomes"]


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000.0, 3)


# ---- writing and reading back ---------------------------------------------------------------


def write_cycle_table(table: CycleTable, cycles_dir: Path, drafts_dir: Path) -> Path:
    """Publish the table as `<cycles_dir>/CycleTable_<day>.parquet` (zstd), replacing any
    older version atomically; the report goes into the file's metadata."""
    final = cycle_table_path(cycles_dir, table.report.day)
    with drafted(final, Path(drafts_dir)) as draft:
        table.frame.write_parquet(draft, compression="zstd", statistics=True,
                                  metadata={METADATA_KEY: table.report.to_json()})
    return final


def read_report(path: Path) -> TableReport:
    """The matching report stored in a cycle table file."""
    meta: dict[str, Any] = pl.read_parquet_metadata(path)
    if METADATA_KEY not in meta:
        raise CycleTableError(f"{Path(path).name}: not a cycle table (no {METADATA_KEY} metadata)")
    return TableReport.from_json(meta[METADATA_KEY])
