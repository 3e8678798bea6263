"""The Booster's 15 Hz tick, derived from the 60 Hz line.

One tick is four line periods, so the tick rate follows the line frequency: the simulated line
frequency offset (what B:LINFRQ reads, in mHz) is a sum of slow sines, whose integral gives the
tick phase in closed form. Tick n happens where the phase equals n, for any n, independently of
the window asked for; that is what makes the simulators chunk-invariant.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gmpsai_assets.acnet.tclk import LINE_HZ, LINES_PER_TICK
from gmpsai_assets.sim.randomness import key_of, uniform

# Line-frequency offset in mHz: centre plus slow sines, staying within -7..+26 as logged in 2020.
_LINFRQ_CENTRE_MHZ = 9.5
_LINFRQ_SINES = ((8.0, 7.1 * 3600.0), (5.0, 53.0 * 60.0), (3.0, 257.0))  # (amplitude, period s)


@dataclass(frozen=True)
class TickClock:
    """Tick times of the simulated Booster for one seed."""

    seed: int

    def _sines(self) -> list[tuple[float, float, float]]:
        key = key_of(self.seed, "linfrq-phase")
        phases = uniform(key, np.arange(len(_LINFRQ_SINES))) * 2 * np.pi
        return [
            (amp, 2 * np.pi / period, float(ph))
            for (amp, period), ph in zip(_LINFRQ_SINES, phases, strict=True)
        ]

    def line_offset_mhz(self, t: np.ndarray) -> np.ndarray:
        """True line-frequency offset from 60 Hz, in mHz, at UTC epoch seconds `t`."""
        out = np.full(np.shape(t), _LINFRQ_CENTRE_MHZ)
        for amp, omega, ph in self._sines():
            out += amp * np.sin(omega * t + ph)
        return out

    def _phase_wobble(self, t: np.ndarray) -> np.ndarray:
        """Tick phase beyond the constant-rate part (integral of the sines, in ticks)."""
        out = np.zeros(np.shape(t))
        for amp, omega, ph in self._sines():
            out += (amp / 1000.0) * (np.cos(ph) - np.cos(omega * t + ph)) / omega
        return out / LINES_PER_TICK

    @property
    def _rate(self) -> float:
        return (LINE_HZ + _LINFRQ_CENTRE_MHZ / 1000.0) / LINES_PER_TICK

    def phase(self, t: np.ndarray | float) -> np.ndarray:
        """Tick phase at `t`: tick n happens where phase == n."""
        t = np.asarray(t, dtype=np.float64)
        return t * self._rate + self._phase_wobble(t)

    def tick_time(self, n: np.ndarray) -> np.ndarray:
        """UTC epoch seconds of tick indices `n` (fixed-point inversion of the phase)."""
        n = np.asarray(n, dtype=np.float64)
        t = n / self._rate
        for _ in range(3):  # wobble slope/rate < 5e-4: three passes reach sub-microsecond
            t = (n - self._phase_wobble(t)) / self._rate
        return t

    def ticks_between(self, start: float, end: float, margin: int = 0) -> np.ndarray:
        """Indices of ticks with time in [start, end), widened by `margin` ticks on both sides."""
        first = int(np.floor(self.phase(start))) - margin
        last = int(np.ceil(self.phase(end))) + margin
        n = np.arange(first, last + 1, dtype=np.int64)
        if margin:
            return n
        t = self.tick_time(n)
        return n[(t >= start) & (t < end)]
