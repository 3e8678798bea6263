"""The simulated Booster DataLogger: the default source, so a fresh checkout runs with no network.

Values follow what the team saw on 2020-03-10 (docs/simulator.md): the regulator relation
VIMIN = B_VIMIN - a*IMINER - b, settings that operators step now and then, beam intensities that
drop to zero while beam is off, an integer status word, and a line frequency that sets the tick.
It also has the imperfections real files have: DataLogger outages of seconds to minutes, a
millisecond of timestamp jitter, and on some days one device that is not logged at all.

Everything is a pure function of (seed, device, tick index) or of fixed time slots, so results do
not depend on how a window is cut into requests.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from gmpsai_assets.acnet.datalogger import BadRequest, DeviceInfo, DeviceNotLogged
from gmpsai_assets.acnet.devices import DeviceNameError, check_device_name, check_node_name
from gmpsai_assets.acnet.tclk import TimelineEntry
from gmpsai_assets.samples import EventOccurrences, Samples
from gmpsai_assets.sim.clock import TickClock
from gmpsai_assets.sim.randomness import key_of, normal, uniform
from gmpsai_assets.sim.timing import DEFAULT_SC_TICKS, SimulatedTiming
from gmpsai_assets.window import FERMILAB_TZ, Window, local_midnight

DEFAULT_SEED = 20200310

# Regulator of B:VIMIN (docs/design.md): VIMIN = B_VIMIN - a*IMINER - b, b integrating IMINER.
REG_A = 0.085
REG_GAIN = 7.5e-6  # per tick
IMINER_CENTRE = -0.175
_IMINER_SINES = ((0.08, 47.0 * 60.0), (0.04, 3.1 * 3600.0))

JITTER_S = 0.002  # logged timestamps wander this much around the true tick
OUTAGE_SLOT_S, OUTAGE_PROB, OUTAGE_MIN_S, OUTAGE_MAX_S = 2 * 3600.0, 0.25, 2.0, 600.0
BEAM_OFF_SLOT_S, BEAM_OFF_PROB, BEAM_OFF_MIN_S, BEAM_OFF_MAX_S = 3600.0, 0.15, 300.0, 5400.0
STEP_SLOT_S, STEP_PROB, STEP_ANCHOR_SLOTS = 6 * 3600.0, 0.12, 28
UNLOGGED_DAY_PROB = 0.25

STATUS_BASE = 0x00A01C35
STATUS_BEAM_PERMIT = 0x10
STATUS_IMIN_ALARM = 0x100


@dataclass(frozen=True)
class Setting:
    base: float
    step: float  # size of one operator step


@dataclass(frozen=True)
class Readback:
    setting: str
    offset: float
    noise: float


@dataclass(frozen=True)
class Drift:
    centre: float
    amplitude: float
    period_s: float
    noise: float
    lo: float
    hi: float


@dataclass(frozen=True)
class Beam:
    scale: float  # relative to the common intensity
    noise: float


@dataclass(frozen=True)
class Special:
    kind: str  # vimin, iminer, linfrq, status


Model = Setting | Readback | Drift | Beam | Special


def _pair(name: str, base: float, step: float, offset: float, noise: float) -> dict[str, Model]:
    """A setting B_X and its reading B:X tracking it."""
    return {f"B_{name}": Setting(base, step), f"B:{name}": Readback(f"B_{name}", offset, noise)}


MODELS: dict[str, Model] = {
    "B:VIMIN": Special("vimin"),
    "B_VIMIN": Setting(103.393, 0.002),
    **_pair("VIMAX", 966.0, 0.5, 0.0, 0.05),
    "B:IMINER": Special("iminer"),
    "B:NGMPS": Drift(4.0, 0.0, 3600.0, 0.0, 4.0, 4.0),
    **_pair("VINHBT", 1.0, 0.0, 0.0, 0.0),
    **_pair("GMPSFF", 0.5, 0.01, 0.0, 1e-4),
    **_pair("GMPSBT", 0.0, 0.01, 0.0, 1e-4),
    **_pair("IMINST", 2.5, 0.01, 0.0, 1e-3),
    **_pair("IPHSTC", 0.12, 0.005, 0.0, 1e-5),
    **_pair("IMINXG", 0.85, 0.01, 0.0, 1e-4),
    **_pair("IMINXO", 0.0, 0.002, 0.0, 1e-4),
    **_pair("IMAXXG", 0.92, 0.01, 0.0, 1e-4),
    **_pair("IMAXXO", 0.0, 0.005, 0.0, 1e-4),
    **_pair("ACMNPG", 10.0, 0.05, 6e-6, 2e-7),
    **_pair("ACMNIG", 2.0, 0.05, 0.0, 2e-7),
    **_pair("ACMXPG", 5.0, 0.05, 0.0, 2e-7),
    **_pair("ACMXIG", 1.0, 0.05, 0.0, 2e-7),
    **_pair("DCPG", 0.8, 0.01, 0.0, 2e-7),
    **_pair("DCIG", 0.05, 0.005, 0.0, 2e-7),
    **_pair("VIPHAS", 1.81, 0.005, 0.0, 2e-4),
    "B:GMPS4V": Drift(119.0, 18.0, 5.3 * 3600.0, 2.0, 95.0, 143.0),
    "I:MXIB": Beam(1.02, 60.0),
    "I:IB": Beam(1.0, 40.0),
    "I:MDAT40": Beam(0.97, 80.0),
    "B:LINFRQ": Special("linfrq"),
    "B:CHG0": Drift(1.50, 0.05, 2.2 * 3600.0, 0.01, 1.3, 1.7),
    "B:CHGA": Drift(0.80, 0.03, 3.7 * 3600.0, 0.01, 0.6, 1.0),
    "B:CHGB": Drift(0.70, 0.03, 4.1 * 3600.0, 0.01, 0.5, 0.9),
    "B|GMPSSC": Special("status"),
}

#: What the models above say of a device (B:LINFRQ's is sim/clock.py's offset in mHz); every
#: other device is unknown to the simulator, and its description and units stay empty.
DEVICE_INFO: dict[str, DeviceInfo] = {
    "B:LINFRQ": DeviceInfo("line frequency offset from 60 Hz", "mHz"),
}


class SimulatedBooster:
    """A DataLogger (and TimingSource) that computes samples instead of asking the control system.

    Its TCLK side is a `SimulatedTiming` on the same tick clock, so `$0C` fires at the very ticks
    where samples are logged (events have no DataLogger outages).
    """

    source = "simulated"

    def __init__(
        self,
        seed: int = DEFAULT_SEED,
        node: str = "MLrn",
        devices: Iterable[str] | None = None,
        max_in_flight: int = 1,
        sc_ticks: int = DEFAULT_SC_TICKS,
        now: Callable[[], float] = time.time,
    ) -> None:
        self.seed = int(seed)
        self.node = check_node_name(node)
        self.max_in_flight = max_in_flight
        self.clock = TickClock(self.seed)
        self.logged = tuple(sorted(devices if devices is not None else MODELS))
        unknown = [d for d in self.logged if d not in MODELS]
        if unknown:
            raise ValueError(f"the simulator has no model for {', '.join(unknown)}")
        self._ticks = lru_cache(maxsize=4)(self._ticks_uncached)
        self.timing = SimulatedTiming(self.seed, sc_ticks=sc_ticks, clock=self.clock, now=now)

    # ---- the DataLogger interface -------------------------------------------------------

    def close(self) -> None:
        """Nothing to release: the simulator holds no connections."""

    def fetch(self, device: str, window: Window) -> Samples:
        try:
            check_device_name(device)
        except DeviceNameError as exc:
            raise BadRequest(str(exc)) from None
        if device not in self.logged:
            raise DeviceNotLogged(f"{device} is not logged on node {self.node}")
        ticks, true_t = self._ticks(window.start, window.end)
        # Jitter and millisecond resolution: the DataLogger's own timestamps, one per device.
        stamp = true_t + JITTER_S * (2.0 * uniform(key_of(self.seed, device, "jitter"), ticks) - 1)
        stamp = np.round(stamp * 1000.0) / 1000.0
        keep = (stamp >= window.start) & (stamp < window.end) & self._datalogger_up(true_t)
        keep &= ~self._unlogged_mask(device, true_t)
        ticks, true_t, stamp = ticks[keep], true_t[keep], stamp[keep]
        values = self.values(device, ticks, true_t)
        return Samples(device, stamp, values)

    def describe(self, devices: Sequence[str]) -> dict[str, DeviceInfo]:
        """What the simulator's models say of `devices` (`DEVICE_INFO`); nothing of the rest."""
        return {d: DEVICE_INFO[d] for d in devices if d in DEVICE_INFO}

    # ---- the TimingSource interface (delegated to the timing simulator) -----------------

    def event_occurrences(self, event: int, window: Window) -> EventOccurrences:
        return self.timing.event_occurrences(event, window)

    def supercycle_time(self) -> float:
        return self.timing.supercycle_time()

    def supercycle_length(self) -> float:
        return self.timing.supercycle_length()

    def timeline(self) -> list[TimelineEntry]:
        return self.timing.timeline()

    # ---- the machine --------------------------------------------------------------------

    def values(self, device: str, ticks: np.ndarray, t: np.ndarray) -> np.ndarray:
        """Values of `device` at tick indices `ticks` (true times `t`), imperfections aside."""
        model = MODELS[device]
        noise_key = key_of(self.seed, device, "noise")
        if isinstance(model, Setting):
            return self.setting(device, t)
        if isinstance(model, Readback):
            out = self.setting(model.setting, t) + model.offset
            if model.noise:
                out += model.noise * normal(noise_key, ticks)
            return out
        if isinstance(model, Drift):
            phase = float(uniform(key_of(self.seed, device, "phase"), 0)) * 2 * np.pi
            out = model.centre + model.amplitude * np.sin(2 * np.pi * t / model.period_s + phase)
            if model.noise:
                out += model.noise * normal(noise_key, ticks)
            return np.clip(out, model.lo, model.hi)
        if isinstance(model, Beam):
            out = model.scale * self.beam_intensity(t) + model.noise * normal(noise_key, ticks)
            off = self.beam_off(t)
            out[off] = np.abs(normal(noise_key ^ np.uint64(1), ticks[off]))  # toroid noise at 0
            return out
        match model.kind:
            case "iminer":
                return self.iminer(ticks, t)
            case "vimin":
                iminer = self.iminer(ticks, t)
                b = REG_GAIN * self._iminer_integral_ticks(t)
                out = self.setting("B_VIMIN", t) - REG_A * iminer - b
                return out + 0.002 * normal(noise_key, ticks)
            case "linfrq":
                out = self.clock.line_offset_mhz(t) + 0.3 * normal(noise_key, ticks)
                return np.clip(out, -7.0, 26.0)
            case "status":
                word = np.full(t.shape, STATUS_BASE, dtype=np.int64)
                word[self.beam_off(t)] &= ~STATUS_BEAM_PERMIT
                word[np.abs(self.iminer(ticks, t)) > 0.35] |= STATUS_IMIN_ALARM
                return word.astype(np.float64)
        raise AssertionError(f"unhandled model {model!r}")

    def setting(self, device: str, t: np.ndarray) -> np.ndarray:
        """A setting: its base plus operator steps, constant between steps."""
        model = MODELS[device]
        assert isinstance(model, Setting)
        if model.step == 0 or not t.size:
            return np.full(t.shape, model.base)
        key = key_of(self.seed, device, "steps")
        first = int(np.floor(t.min() / STEP_SLOT_S))
        first -= first % STEP_ANCHOR_SLOTS  # every anchor slot re-states the level at its start
        slots = np.arange(first, int(np.floor(t.max() / STEP_SLOT_S)) + 1)
        changes = (uniform(key, slots) < STEP_PROB) | (slots % STEP_ANCHOR_SLOTS == 0)
        slots = slots[changes]
        offset = np.where(slots % STEP_ANCHOR_SLOTS == 0, 0.0, uniform(key ^ np.uint64(1), slots))
        when = (slots + offset) * STEP_SLOT_S
        level = np.floor(uniform(key ^ np.uint64(2), slots) * 5.0) - 2.0
        idx = np.searchsorted(when, t, side="right") - 1
        return model.base + model.step * level[idx]

    def _iminer_sines(self) -> list[tuple[float, float, float]]:
        ph = uniform(key_of(self.seed, "iminer-phase"), np.arange(len(_IMINER_SINES))) * 2 * np.pi
        return [(a, 2 * np.pi / p, float(f)) for (a, p), f in zip(_IMINER_SINES, ph, strict=True)]

    def iminer(self, ticks: np.ndarray, t: np.ndarray) -> np.ndarray:
        out = np.full(t.shape, IMINER_CENTRE)
        for amp, omega, ph in self._iminer_sines():
            out += amp * np.sin(omega * t + ph)
        out += 0.03 * normal(key_of(self.seed, "B:IMINER", "noise"), ticks)
        return np.clip(out, -0.4, 0.05)

    def _iminer_integral_ticks(self, t: np.ndarray) -> np.ndarray:
        """Sum over ticks of (IMINER - centre), in closed form from the slow part."""
        out = np.zeros(t.shape)
        for amp, omega, ph in self._iminer_sines():
            out += amp * (np.cos(ph) - np.cos(omega * t + ph)) / omega
        return out * 15.0  # ticks per second

    def beam_intensity(self, t: np.ndarray) -> np.ndarray:
        ph = float(uniform(key_of(self.seed, "beam-phase"), 0)) * 2 * np.pi
        return 5500.0 + 1200.0 * np.sin(2 * np.pi * t / (2.9 * 3600.0) + ph)

    def beam_off(self, t: np.ndarray) -> np.ndarray:
        return self._inside_slot_events(
            t, "beam-off", BEAM_OFF_SLOT_S, BEAM_OFF_PROB, BEAM_OFF_MIN_S, BEAM_OFF_MAX_S
        )

    def outages(self, window: Window) -> list[tuple[float, float]]:
        """Logger outages (start, end) overlapping `window`: no device has samples inside."""
        starts, ends = self._slot_events(
            "outage", OUTAGE_SLOT_S, OUTAGE_PROB, OUTAGE_MIN_S, OUTAGE_MAX_S,
            window.start, window.end,
        )
        return [(float(a), float(b)) for a, b in zip(starts, ends, strict=True)
                if b > window.start and a < window.end]

    def unlogged_device(self, day: dt.date) -> str | None:
        """The device not logged at all on local `day`, if any."""
        key = key_of(self.seed, "unlogged-day")
        n = day.toordinal()
        if float(uniform(key, n)) >= UNLOGGED_DAY_PROB:
            return None
        names = sorted(MODELS)
        return names[int(uniform(key ^ np.uint64(1), n) * len(names))]

    # ---- internals ----------------------------------------------------------------------

    def _ticks_uncached(self, start: float, end: float) -> tuple[np.ndarray, np.ndarray]:
        """Candidate ticks for a window (one tick of margin covers the jitter) and their times."""
        ticks = self.clock.ticks_between(start, end, margin=1)
        return ticks, self.clock.tick_time(ticks)

    def _datalogger_up(self, t: np.ndarray) -> np.ndarray:
        down = self._inside_slot_events(
            t, "outage", OUTAGE_SLOT_S, OUTAGE_PROB, OUTAGE_MIN_S, OUTAGE_MAX_S
        )
        return ~down

    def _unlogged_mask(self, device: str, t: np.ndarray) -> np.ndarray:
        mask = np.zeros(t.shape, dtype=bool)
        if not t.size:
            return mask
        day = dt.datetime.fromtimestamp(float(t[0]), FERMILAB_TZ).date()
        last = dt.datetime.fromtimestamp(float(t[-1]), FERMILAB_TZ).date()
        while day <= last:
            if self.unlogged_device(day) == device:
                a = local_midnight(day)
                b = local_midnight(day + dt.timedelta(days=1))
                mask |= (t >= a) & (t < b)
            day += dt.timedelta(days=1)
        return mask

    def _slot_events(
        self, purpose: str, slot_s: float, prob: float, min_s: float, max_s: float,
        start: float, end: float,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Intervals that start at most once per time slot, at a random place, of random length."""
        key = key_of(self.seed, purpose)
        slots = np.arange(np.floor((start - max_s) / slot_s), np.floor(end / slot_s) + 1)
        slots = slots[uniform(key, slots.astype(np.int64)) < prob].astype(np.int64)
        begin = (slots + uniform(key ^ np.uint64(1), slots)) * slot_s
        length = np.exp(np.log(min_s) + uniform(key ^ np.uint64(2), slots) * np.log(max_s / min_s))
        return begin, begin + length

    def _inside_slot_events(
        self, t: np.ndarray, purpose: str, slot_s: float, prob: float, min_s: float, max_s: float
    ) -> np.ndarray:
        mask = np.zeros(t.shape, dtype=bool)
        if not t.size:
            return mask
        starts, ends = self._slot_events(purpose, slot_s, prob, min_s, max_s, t[0], t[-1])
        for a, b in zip(starts, ends, strict=True):
            lo, hi = np.searchsorted(t, [a, b])
            mask[lo:hi] = True
        return mask
