"""Alerts by hand: `gmpsai alerts test` sends one test message through every URL of
GMPSAI_ALERT_URLS and says, URL by URL (passwords and tokens hidden), which took it. Run it after
setting the variable, before trusting `alert_sensor` with the night shift.
"""

from __future__ import annotations

import argparse
import socket
import time

from gmpsai_assets.alerts.delivery import send, targets
from gmpsai_assets.alerts.messages import PREFIX
from gmpsai_assets.cli.common import EXIT_FAILED, UsageError
from gmpsai_assets.window import format_local

NAME = "alerts"
HELP = "send a test alert through every URL of GMPSAI_ALERT_URLS"
EPILOG = (
    "exit status: 0 every URL took the test message; 1 at least one did not (each is named "
    "with apprise's reason); 2 no URL is configured (GMPSAI_ALERT_URLS unset) or one is not a "
    "URL apprise can send to: nothing was sent."
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="action", metavar="ACTION")
    sub.required = True
    sub.add_parser("test", help="send one test message through every configured URL",
                   description=__doc__)


def run(args: argparse.Namespace) -> int:
    urls = args.settings.alert_urls
    if not urls:
        raise UsageError("GMPSAI_ALERT_URLS is not set: alerts are off, nothing to test "
                         "(docs/operations.md, Alerts)")
    now = time.time()
    title = f"{PREFIX} test message"
    body = (f"A test of the alerts of gmpsai on {socket.gethostname()} at {format_local(now)}. "
            "If you read this, alerts reach you here.")
    failed = 0
    for target in targets(urls):
        why = send(target, title, body, "info")
        print(f"{'sent  ' if why is None else 'FAILED'} {target.name}"
              + ("" if why is None else f": {why}"))
        failed += why is not None
    return EXIT_FAILED if failed else 0


