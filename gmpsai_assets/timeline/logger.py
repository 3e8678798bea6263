"""The timeline logger loop: once per supercycle, read the timing source and record what ran.

Each pass reads the supercycle length (G:SCTIME setting), the time into the current supercycle
(G:SCTIME reading) and the Timeline Generator's table, works out when the supercycle began, and
commits it to the store. Then it sleeps until the next supercycle is safely under way: readings
are taken `settle` seconds after a boundary and never within `settle` of the next one, so the
timeline read belongs to the supercycle whose time was read. Sleeping is `stop.wait`, so setting
the stop event ends the loop at once, between supercycles, with nothing half-written.

A source fault (gateway unreachable, DataLogger fault) is retried with exponential backoff and
logged; a source that stays down longer than `max_outage_s` raises `SourceDown`, so a supervised
run fails visibly and is restarted instead of retrying silently forever.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from gmpsai_assets.acnet.datalogger import BadRequest, DataLoggerError
from gmpsai_assets.acnet.tclk import TimelineEntry, TimingSource
from gmpsai_assets.timeline.store import (
    RecordOutcome,
    Supercycle,
    TimelineStore,
    TimelineStoreBusy,
)
from gmpsai_assets.window import format_local

RETRYABLE = (DataLoggerError, TimelineStoreBusy)  # BadRequest is excluded below: a bug, not a fault


class SourceDown(RuntimeError):
    """The timing source (or the store) stayed unusable longer than the allowed outage."""


@dataclass(frozen=True)
class TimelineLoggerPolicy:
    """Timing of the loop. Defaults suit the real 60 s supercycle and a flaky gateway."""

    settle_fraction: float = 0.1  # read this far into a supercycle ...
    settle_max_s: float = 2.0  # ... but no later than this
    backoff_initial_s: float = 1.0
    backoff_max_s: float = 60.0
    max_outage_s: float = 600.0  # then SourceDown: about ten real supercycles lost
    heartbeat_s: float = 300.0  # a heartbeat at least this often, however long a supercycle

    def settle(self, length_s: float) -> float:
        return min(self.settle_max_s, max(0.0, length_s) * self.settle_fraction)


@dataclass(frozen=True)
class Reading:
    """One consistent look at the source."""

    length_s: float
    sc_time_s: float
    start_utc: float  # when the supercycle began, by our clock
    taken_utc: float
    entries: tuple[TimelineEntry, ...]


@dataclass(frozen=True)
class Heartbeat:
    """What the loop reports after recording a supercycle."""

    recorded: int  # supercycles newly recorded by this loop so far
    last_start_utc: float
    last_outcome: RecordOutcome
    timeline_changed: bool
    message: str


class TimelineLogger:
    """Records every supercycle of `source` into `store` until `stop` is set."""

    def __init__(
        self,
        source: TimingSource,
        store: TimelineStore,
        *,
        policy: TimelineLoggerPolicy | None = None,
        stop: threading.Event | None = None,
        heartbeat: Callable[[Heartbeat], None] | None = None,
        log: Callable[[str], None] | None = None,
        clock: Callable[[], float] = time.time,
        source_name: str = "",
    ) -> None:
        self.source = source
        self.store = store
        self.policy = policy or TimelineLoggerPolicy()
        self.stop = stop or threading.Event()
        self._heartbeat = heartbeat or (lambda _beat: None)
        self._log = log or (lambda _line: None)
        self.clock = clock
        self.source_name = source_name or getattr(source, "source", "")
        self.recorded = 0
        self._last_tid: str | None = None
        self._last_beat = -float("inf")

    # ---- one look at the source -------------------------------------------------------------

    def read(self) -> Reading | float:
        """A reading of the current supercycle, or (when too near a boundary to read safely) the
        clock time at which to try again."""
        length = float(self.source.supercycle_length())
        before = self.clock()
        sc_time = float(self.source.supercycle_time())
        after = self.clock()
        start = (before + after) / 2 - sc_time  # half the read latency either way
        settle = self.policy.settle(length)
        if sc_time < settle:
            return start + settle
        if sc_time > length - settle:  # the next supercycle is about to begin
            return start + length + settle
        entries = tuple(self.source.timeline())
        taken = self.clock()
        if taken - start > length - settle / 2:  # a slow read ran into the next supercycle
            return start + length + settle
        return Reading(length, sc_time, start, taken, entries)

    def record(self, reading: Reading) -> RecordOutcome:
        sc = Supercycle(reading.start_utc, reading.length_s, reading.entries,
                        recorded_utc=reading.taken_utc, source=self.source_name)
        outcome = self.store.record(sc)
        self.recorded += outcome.new
        return outcome

    # ---- the loop ---------------------------------------------------------------------------

    def run(self, max_supercycles: int | None = None) -> int:
        """Loop until `stop` is set (or `max_supercycles` were recorded); supercycles recorded.

        Raises SourceDown after an outage longer than the policy allows, and BadRequest at once.
        """
        outage_since: float | None = None
        backoff = self.policy.backoff_initial_s
        while not self.stop.is_set():
            try:
                reading = self.read()
                outcome = self.record(reading) if isinstance(reading, Reading) else None
            except BadRequest:
                raise
            except RETRYABLE as exc:
                now = self.clock()
                outage_since = now if outage_since is None else outage_since
                down = now - outage_since
                if down >= self.policy.max_outage_s:
                    raise SourceDown(
                        f"timing source unusable for {down:.0f} s (limit "
                        f"{self.policy.max_outage_s:g} s): {type(exc).__name__}: {exc}"
                    ) from exc
                wait = min(backoff, self.policy.max_outage_s - down)
                self._log(f"{type(exc).__name__}: {exc}; retrying in {wait:.3g} s "
                          f"(down {down:.0f} s of at most {self.policy.max_outage_s:g} s)")
                backoff = min(backoff * 2, self.policy.backoff_max_s)
                self.stop.wait(wait)
                continue
            if outage_since is not None:
                self._log(f"timing source back after {self.clock() - outage_since:.0f} s")
                outage_since, backoff = None, self.policy.backoff_initial_s
            if not isinstance(reading, Reading):  # too near a boundary: try again later
                self._sleep_until(reading)
                continue
            assert outcome is not None
            changed = self._last_tid is not None and outcome.timeline_id != self._last_tid
            self._last_tid = outcome.timeline_id
            self._beat(outcome, changed, self._describe(reading, outcome, changed))
            if max_supercycles is not None and self.recorded >= max_supercycles:
                break
            self._sleep_until(reading.start_utc + reading.length_s
                              + self.policy.settle(reading.length_s))
        return self.recorded

    def _sleep_until(self, wake_utc: float) -> None:
        # Never less than a tenth of a settle interval: a source whose reading and length
        # disagree must not turn this into a busy loop.
        self.stop.wait(max(wake_utc - self.clock(), 0.05))

    def _describe(self, reading: Reading, outcome: RecordOutcome, changed: bool) -> str:
        what = "recorded" if outcome.new else "already recorded"
        text = (f"supercycle {format_local(outcome.start_utc)} {what}: {len(reading.entries)} "
                f"entries, timeline {outcome.timeline_id}, {self.recorded} new this run")
        return text + (" (timeline changed)" if changed else "")

    def _beat(self, outcome: RecordOutcome, changed: bool, message: str) -> None:
        """At most one heartbeat per `heartbeat_s`, plus one for every timeline change."""
        now = self.clock()
        if not changed and now - self._last_beat < self.policy.heartbeat_s:
            return
        self._last_beat = now
        self._heartbeat(Heartbeat(self.recorded, outcome.start_utc, outcome, changed, message))
