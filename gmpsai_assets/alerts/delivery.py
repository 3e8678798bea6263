"""Delivery through apprise: one library for email over SMTP, Slack, Mattermost, Teams and
plain JSON webhooks, each a URL in GMPSAI_ALERT_URLS.

Each URL is a target known by a short hash of the URL (URLs hold passwords and tokens, so
neither the state nor any message holds one; people see apprise's redacted form). A message
stays in the outbox until every target it was queued for has taken it; a target that fails is
tried again on the next tick. A tick spends at most `BUDGET_S` delivering, so a dead mail
server cannot stall the sensor past Dagster's evaluation timeout; what is left waits.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from dataclasses import dataclass

from gmpsai_assets.alerts.messages import Message

BUDGET_S = 25.0


@dataclass(frozen=True)
class Target:
    id: str
    url: str  # secret: never printed, never stored
    name: str  # apprise's redacted form, for people


def target_id(url: str) -> str:
    return hashlib.sha256(url.encode()).hexdigest()[:12]


def targets(urls: Sequence[str]) -> list[Target]:
    """The targets of checked URLs (settings.py has checked that apprise knows each)."""
    import apprise

    found = []
    for url in urls:
        plugin = apprise.Apprise.instantiate(url, suppress_exceptions=True)
        name = plugin.url(privacy=True) if plugin is not None else url.split("://", 1)[0]
        found.append(Target(target_id(url), url, name.split("?", 1)[0]))
    return found


def send(target: Target, title: str, body: str, kind: str = "info") -> str | None:
    """Send one message to one target: None when it was taken, else why not (one line)."""
    import apprise

    plugin = apprise.Apprise.instantiate(target.url, suppress_exceptions=True)
    if plugin is None:
        return "apprise cannot send to this URL"
    with apprise.LogCapture(level=apprise.logging.WARNING, fmt="%(message)s") as log:
        try:
            ok = plugin.notify(body=body, title=title, notify_type=apprise.NotifyType(kind))
        except Exception as exc:  # a plugin's own bug must not lose the message
            return f"{type(exc).__name__}: {exc}"
        said = [line.strip() for line in log.getvalue().splitlines() if line.strip()]
    if ok:
        return None
    return said[-1] if said else "not delivered (apprise gave no reason)"


@dataclass(frozen=True)
class Delivered:
    sent: int  # messages that reached every target this tick
    waiting: int  # messages still in the outbox
    errors: tuple[str, ...]  # "<target>: <why>" for each failed attempt this tick


def deliver(outbox: list[Message], known: Sequence[Target],
            budget_s: float = BUDGET_S) -> tuple[list[Message], Delivered]:
    """Try every pending (message, target) pair, oldest message first, within the budget; the
    messages still waiting and what happened. A target no longer configured is dropped from a
    message's pending list: nobody can receive it there."""
    by_id = {t.id: t for t in known}
    start = time.monotonic()
    left: list[Message] = []
    sent, errors = 0, []
    for message in outbox:
        message.pending = [t for t in message.pending if t in by_id]
        still = []
        for tid in message.pending:
            if time.monotonic() - start > budget_s:
                still.append(tid)
                continue
            why = send(by_id[tid], message.title, message.body, message.kind)
            if why is not None:
                still.append(tid)
                errors.append(f"{by_id[tid].name}: {why}")
                message.last_error = why
        if message.pending and not still:
            sent += 1
        if still:
            message.attempts += 1
            message.pending = still
            left.append(message)
    return left, Delivered(sent, len(left), tuple(errors))
