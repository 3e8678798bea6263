"""Data-quality verdicts on one published data file, from its statistics (one distillation pass:
`file_stats` judges the day's files from the statistics it has just computed, never re-reading):

- every listed device has data in the file (WARN when some are `partial`);
- every device's timestamps strictly increase, as the file holds them and as the source
  delivered them (`out_of_order`);
- every value is finite;
- every device holds enough of the 15 Hz ticks its window should hold (warn below one share,
  error far below it: a dead device or a long DataLogger outage);
- for event files, every event's occurrence times strictly increase, and every TCLK event asked
  for was fetched: a `failed` event is an ERROR when the day's checks and the cycle table are
  built on it (`$00`, `$0C`, the Booster resets: `tclk.CORE_EVENTS`), else a WARN.
"""

from __future__ import annotations

from collections.abc import Sequence

from gmpsai_assets.acnet.tclk import CORE_EVENTS, event_label, parse_event
from gmpsai_assets.files.datafile import OLD
from gmpsai_assets.quality import COMPLETENESS_LIMITS, Level, Verdict
from gmpsai_assets.stats.compute import ParamStats
from gmpsai_assets.stats.distill import DistillResult
from gmpsai_assets.status import DeviceStatus

MAX_LISTED = 20  # devices named in a verdict's details


def _first(items: dict[str, object]) -> dict[str, object]:
    return dict(list(items.items())[:MAX_LISTED])


PARAM_VERDICTS = ("devices_present", "timestamps_increasing", "values_finite", "completeness")


def param_verdicts(
    result: DistillResult,
    devices: Sequence[str],
    completeness_limits: tuple[float, float] = COMPLETENESS_LIMITS,
) -> list[Verdict]:
    """Verdicts on a distilled parameter file for the listed `devices`."""
    if not result.ok:
        reason = result.record.error
        return [Verdict(n, Level.ERROR, f"file cannot be read: {reason}") for n in PARAM_VERDICTS]
    by_device = {p.device: p for p in result.params}
    return [
        _present(devices, by_device),
        _increasing(by_device),
        _finite(by_device),
        _completeness(devices, by_device, *completeness_limits),
    ]


def _present(devices: Sequence[str], stats: dict[str, ParamStats]) -> Verdict:
    missing: dict[str, object] = {}
    for d in devices:
        p = stats.get(d)
        if p is None:
            missing[d] = "not in the file"
        elif p.rows == 0:
            missing[d] = f"{p.status}: {p.reason}" if p.reason else p.status
    partial: dict[str, object] = {d: stats[d].reason for d in devices
                                  if d in stats and stats[d].status == DeviceStatus.PARTIAL}
    if missing:
        return Verdict("devices_present", Level.ERROR,
                       f"{len(missing)} of {len(devices)} listed devices have no data: "
                       + ", ".join(list(missing)[:MAX_LISTED]),
                       {"missing": _first(missing), "partial": _first(partial)})
    if partial:
        return Verdict("devices_present", Level.WARN,
                       f"{len(partial)} of {len(devices)} listed devices are partial (spans "
                       "without data after retries): " + ", ".join(list(partial)[:MAX_LISTED]),
                       {"partial": _first(partial)})
    return Verdict("devices_present", Level.OK, f"all {len(devices)} listed devices have data")


def _increasing(stats: dict[str, ParamStats]) -> Verdict:
    """Counts the steps back in time the source delivered too (out_of_order, sorted in the file):
    the file's order is then right only if the source's clock was."""
    bad = {d: p.nonincreasing for d, p in stats.items() if p.nonincreasing}
    if bad:
        reasons = {d: stats[d].reason for d in bad if stats[d].reason}
        return Verdict("timestamps_increasing", Level.ERROR,
                       f"timestamps fail to increase in {len(bad)} device(s): "
                       + ", ".join(list(bad)[:MAX_LISTED]),
                       {"steps_not_increasing": _first(bad),
                        **({"reasons": _first(reasons)} if reasons else {})})
    return Verdict("timestamps_increasing", Level.OK, "every device's timestamps strictly increase")


def _finite(stats: dict[str, ParamStats]) -> Verdict:
    bad = {d: {"nan": p.nan_count, "inf": p.inf_count}
           for d, p in stats.items() if p.nan_count or p.inf_count}
    if bad:
        return Verdict("values_finite", Level.ERROR, f"non-finite values in {len(bad)} device(s)",
                       {"non_finite": _first(bad)})
    return Verdict("values_finite", Level.OK, "every value is finite")


def _completeness(
    devices: Sequence[str], stats: dict[str, ParamStats], warn: float, error: float
) -> Verdict:
    share = {d: (stats[d].completeness or 0.0) if d in stats else 0.0 for d in devices}
    low = {d: round(c, 4) for d, c in sorted(share.items(), key=lambda kv: kv[1]) if c < warn}
    details: dict[str, object] = {
        "warn_below": warn, "error_below": error,
        "lowest": _first(low) or {d: round(c, 4) for d, c in
                                  sorted(share.items(), key=lambda kv: kv[1])[:3]},
    }
    worst = min(share.values(), default=1.0)
    if worst < error:
        level = Level.ERROR
    elif worst < warn:
        level = Level.WARN
    else:
        return Verdict("completeness", Level.OK,
                       f"every device holds at least {100 * warn:g}% of its ticks "
                       f"(lowest {100 * worst:.2f}%)", details)
    return Verdict("completeness", level,
                   f"{len(low)} device(s) below {100 * warn:g}% of their ticks "
                   f"(lowest {100 * worst:.2f}%)", details)


EVENT_VERDICTS = ("event_times_increasing", "events_fetched")


def event_verdicts(result: DistillResult) -> list[Verdict]:
    """Verdicts on a distilled event file."""
    if not result.ok:
        reason = result.record.error
        return [Verdict(n, Level.ERROR, f"file cannot be read: {reason}") for n in EVENT_VERDICTS]
    return [_events_increasing(result), _events_fetched(result)]


def _events_increasing(result: DistillResult) -> Verdict:
    bad = {e.event: e.nonincreasing for e in result.events if e.nonincreasing}
    if bad:
        return Verdict("event_times_increasing", Level.ERROR,
                       f"occurrence times fail to increase in {len(bad)} event(s)",
                       {"steps_not_increasing": _first(bad)})
    return Verdict("event_times_increasing", Level.OK,
                   f"occurrence times of all {len(result.events)} events increase")


def failed_event_level(code: int) -> Level:
    """The level of a TCLK event asked for that failed to fetch: ERROR for the events the day's
    checks and the cycle table are built on, WARN for the others (most are rare anyway)."""
    return Level.ERROR if code in CORE_EVENTS else Level.WARN


def _events_fetched(result: DistillResult) -> Verdict:
    """Every event asked for was fetched (`ok` or `empty` in the file's `event_outcomes`)."""
    name = "events_fetched"
    info = result.info
    assert info is not None  # an ok result has read the file
    if info.generation == OLD:
        return Verdict(name, Level.UNKNOWN,
                       "an old event file records no outcomes: nothing to judge by")
    failed = {event_label(parse_event(n)): reason
              for n, (status, reason) in info.outcomes.items() if status == DeviceStatus.FAILED}
    if not failed:
        return Verdict(name, Level.OK, f"all {len(info.outcomes)} events asked for were fetched")
    core = [label for label in failed if failed_event_level(parse_event(label)) is Level.ERROR]
    level = Level.ERROR if core else Level.WARN
    summary = (f"{len(failed)} of {len(info.outcomes)} events asked for failed to fetch: "
               + ", ".join(list(failed)[:MAX_LISTED]))
    if core:
        summary += f" ({', '.join(core)}: supercycle starts, ticks or Booster resets)"
    return Verdict(name, level, summary, {"failed": _first(failed), "core_failed": core})
