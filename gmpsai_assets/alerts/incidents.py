"""Incidents: a problem seen, opened once, closed once when put right; and the state that holds
them between sensor ticks.

The state is bounded, since Dagster stores a sensor's cursor with every tick: at most
`MAX_OPEN` open incidents (further problems are counted and told once, not tracked), at most
`MAX_OUTBOX` messages waiting for delivery (the oldest are dropped first, and the next message
says so), and the failed runs already judged only for `RUN_LOOKBACK_S`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from enum import StrEnum

from gmpsai_assets.alerts import messages
from gmpsai_assets.alerts.messages import Message

MAX_OPEN = 100
MAX_OUTBOX = 20
# More new messages than this in one tick go out as one digest (a failed month-long backfill
# must not send thirty mails).
DIGEST_OVER = 5
# Runs that ended longer ago than this are not looked at (also how long a judged run is kept).
RUN_LOOKBACK_S = 7 * 86400.0
STATE_VERSION = 1


class Kind(StrEnum):
    """What went wrong; part of an incident's key and of every message's title."""

    RUN_FAILED = "run_failed"
    CHECK_FAILED = "check_failed"
    OVERDUE = "overdue"
    LOGGER_DOWN = "logger_down"


@dataclass(frozen=True)
class Problem:
    """Something wrong now, as the Dagster layer saw it.

    `subject` is the asset (`param_data`), the check (`file_stats:completeness`), the job or the
    step, as `subject_is` says;
    `day` the local day it concerns (`YYYY-MM-DD`, "" when none); `since` when it went wrong
    (epoch s: a run's end, a check's evaluation, a deadline, the logger's last record).
    """

    kind: Kind
    subject: str
    day: str
    what: str
    reason: str
    since: float
    run_id: str | None = None
    subject_is: str = "asset"  # asset, check, job or step

    @property
    def key(self) -> str:
        return f"{self.kind}|{self.subject}|{self.day}"


@dataclass(frozen=True)
class Recovery:
    """How an open incident was put right, for its recovery message."""

    how: str
    at: float
    run_id: str | None = None


@dataclass(frozen=True)
class Incident:
    problem: Problem
    opened: float


@dataclass
class State:
    """Everything the alert sensor remembers between ticks (its cursor)."""

    watching_since: float
    open: dict[str, Incident] = field(default_factory=dict)
    outbox: list[Message] = field(default_factory=list)
    judged_runs: dict[str, float] = field(default_factory=dict)  # run id -> its end
    overflowing: bool = False

    # ---- the cursor ------------------------------------------------------------------------

    def to_cursor(self) -> str:
        return json.dumps({
            "v": STATE_VERSION,
            "watching_since": self.watching_since,
            "open": [{**asdict(i.problem), "opened": i.opened} for i in self.open.values()],
            "outbox": [asdict(m) for m in self.outbox],
            "judged_runs": self.judged_runs,
            "overflowing": self.overflowing,
        }, separators=(",", ":"))

    @classmethod
    def from_cursor(cls, cursor: str | None, now: float) -> State:
        """The state a cursor holds; a fresh one (watching from `now`) for no cursor, one of
        another version or one that cannot be read (a fresh state alerts again for what is
        wrong now; a state that cannot be read must not stop every tick for good)."""
        try:
            data = json.loads(cursor) if cursor else None
            if not isinstance(data, dict) or data.get("v") != STATE_VERSION:
                return cls(watching_since=now)
            incidents = {}
            for item in data["open"]:
                opened = item.pop("opened")
                problem = Problem(**{**item, "kind": Kind(item["kind"])})
                incidents[problem.key] = Incident(problem, opened)
            return cls(
                watching_since=data["watching_since"],
                open=incidents,
                outbox=[Message(**m) for m in data["outbox"]],
                judged_runs=dict(data["judged_runs"]),
                overflowing=data["overflowing"],
            )
        except (ValueError, KeyError, TypeError, AttributeError):
            return cls(watching_since=now)

    # ---- runs already looked at ------------------------------------------------------------

    def judge_run(self, run_id: str, ended: float) -> None:
        self.judged_runs[run_id] = ended

    def forget_old_runs(self, now: float) -> None:
        self.judged_runs = {r: t for r, t in self.judged_runs.items()
                            if t >= now - RUN_LOOKBACK_S}

    # ---- messages --------------------------------------------------------------------------

    def enqueue(self, new: list[Message], targets: list[str]) -> None:
        """Queue messages for every target; past MAX_OUTBOX the oldest go, and the newest
        message says how many."""
        for m in new:
            m.pending = list(targets)
        self.outbox.extend(new)
        dropped = len(self.outbox) - MAX_OUTBOX
        if dropped > 0:
            self.outbox = self.outbox[dropped:]
            self.outbox[-1].body += (f"\n\nNote: {dropped} older alert(s) could not be delivered "
                                     f"in time and were dropped (at most {MAX_OUTBOX} wait).")


def step(state: State, problems: Iterable[Problem], recovered: Mapping[str, Recovery],
         now: float, ui_url: str | None) -> list[Message]:
    """Open an incident for each problem not open yet and close each recovered one; the
    messages that says so (not yet queued: see `State.enqueue`)."""
    new: list[Message] = []
    untracked = 0
    for problem in sorted({p.key: p for p in problems}.values(), key=lambda p: p.key):
        if problem.key in state.open or problem.key in recovered:
            continue
        if len(state.open) >= MAX_OPEN:
            untracked += 1
            continue
        state.open[problem.key] = Incident(problem, now)
        new.append(messages.failure(problem, ui_url, now))
    for key, how in sorted(recovered.items()):
        incident = state.open.pop(key, None)
        if incident is not None:
            new.append(messages.recovery(incident.problem, how, ui_url, now))
    if untracked and not state.overflowing:
        new.append(messages.overflow(untracked, MAX_OPEN, now))
    state.overflowing = bool(untracked)
    return [messages.digest(new, now)] if len(new) > DIGEST_OVER else new
