"""The text of every alert: what, which asset and day, why, since when, and a link to the run.

A title fits a mail subject or a chat line; the body is plain text, one fact per line, readable
in a mail client, Slack, Mattermost, Teams or a JSON webhook alike.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from gmpsai_assets.deadlines import TIMEZONE
from gmpsai_assets.window import format_local

if TYPE_CHECKING:
    from gmpsai_assets.alerts.incidents import Problem, Recovery

PREFIX = "[gmpsai]"
HEADLINE = {
    "run_failed": "run failed",
    "check_failed": "check failed",
    "overdue": "overdue",
    "logger_down": "timeline logger down",
}
# `package.module.NoDataError: ...` reads as `NoDataError: ...`
_QUALIFIED = re.compile(r"^(?:\w+\.)+(\w*(?:Error|Exception|Failure)): ")
MAX_REASON = 600  # characters of a reason kept in a message (a traceback stays in the run log)


@dataclass
class Message:
    """One message and the targets (ids of alert URLs) it has still to reach."""

    title: str
    body: str
    kind: str  # apprise's notify type: "failure", "success", "warning" or "info"
    created: float
    pending: list[str] = field(default_factory=list)
    attempts: int = 0
    last_error: str = ""


def run_link(run_id: str | None, ui_url: str | None) -> str:
    if not run_id:
        return "none"
    if ui_url:
        return f"{ui_url.rstrip('/')}/runs/{run_id}"
    return f"{run_id} (set GMPSAI_UI_URL for a link)"


def duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 120:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 120:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min"
    return f"{hours // 24} days {hours % 24} h"


def _subject(p: Problem) -> str:
    return f"{p.subject} {p.day}" if p.day else p.subject


def _short(text: str) -> str:
    text = _QUALIFIED.sub(r"\1: ", " ".join(text.split()))
    return text if len(text) <= MAX_REASON else text[:MAX_REASON - 3] + "..."


def _facts(p: Problem) -> list[str]:
    return [
        f"{p.subject_is}: {p.subject}",
        f"day: {p.day} ({TIMEZONE})" if p.day else "day: none (not partitioned)",
        f"what failed: {p.what}",
        f"reason: {_short(p.reason)}",
        f"since: {format_local(p.since)}",
    ]


def failure(p: Problem, ui_url: str | None, now: float) -> Message:
    body = "\n".join([*_facts(p), f"run: {run_link(p.run_id, ui_url)}"])
    return Message(f"{PREFIX} FAILED {HEADLINE[p.kind]}: {_subject(p)}", body, "failure", now)


def recovery(p: Problem, r: Recovery, ui_url: str | None, now: float) -> Message:
    body = "\n".join([
        f"recovered: {_short(r.how)}",
        f"at: {format_local(r.at)} (after {duration(r.at - p.since)})",
        f"run: {run_link(r.run_id, ui_url)}",
        "",
        "what had failed:",
        *_facts(p),
        f"failed run: {run_link(p.run_id, ui_url)}",
    ])
    return Message(f"{PREFIX} RECOVERED {HEADLINE[p.kind]}: {_subject(p)}", body, "success",
                   now)


def overflow(untracked: int, limit: int, now: float) -> Message:
    return Message(
        f"{PREFIX} too many open problems",
        f"{untracked} further problem(s) are not tracked: {limit} incidents are open already. "
        "Alerts for them start once some of the open ones recover; `gmpsai status` lists "
        "everything that is wrong now.", "warning", now)


def digest(many: list[Message], now: float) -> Message:
    """Several messages of one tick as one."""
    failed = sum(m.kind == "failure" for m in many)
    recovered = sum(m.kind == "success" for m in many)
    body = "\n\n".join(f"== {m.title}\n{m.body}" for m in many)
    kind = "failure" if failed else "success" if recovered == len(many) else "warning"
    return Message(f"{PREFIX} {len(many)} alerts: {failed} failed, {recovered} recovered",
                   body, kind, now)
