"""Serve a local ACL web gateway backed by the simulated Booster, with optional faults.

Point the platform at it with GMPSAI_SOURCE=acl and GMPSAI_ACL_URL=<the URL printed>. It speaks
logger_get, event_log, read G:SCTIME (and its setting) and tlg_info/all_event_info (formats in
docs/gateway.md), and can inject added latency, HTTP 500/503 replies, connections dropped
mid-body, truncated last lines, garbage lines, `No values`, replies trickled a line at a time and
samples out of time order to see how a client copes. Stop it with Ctrl-C.
"""

from __future__ import annotations

import argparse
import sys

from gmpsai_assets.acnet.devices import check_device_name, check_node_name
from gmpsai_assets.cli.common import UsageError, stderr_progress
from gmpsai_assets.sim.acl_server import (
    EVENT_HEADER_CHOICES,
    EVENT_LOG_HEADER_LINES,
    AclServer,
    Faults,
)
from gmpsai_assets.sim.simulator import SimulatedBooster

NAME = "acl-server"
HELP = "serve a local ACL gateway backed by the simulated Booster (tests, fault drills)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8085, help="port (default 8085; 0 picks a free one)")
    p.add_argument("--html", action="store_true", help="wrap replies in HTML, as the gateway may")
    p.add_argument("--event-header-lines", type=int, choices=EVENT_HEADER_CHOICES,
                   default=EVENT_LOG_HEADER_LINES,
                   help="header lines before the data of an event_log reply (the real count is "
                        f"5 or 6; default {EVENT_LOG_HEADER_LINES})")
    p.add_argument("-v", "--verbose", action="store_true", help="print one line per request")
    f = p.add_argument_group("fault injection (shares are per request, summing to at most 1)")
    f.add_argument("--latency", type=float, default=0.0, metavar="S",
                   help="seconds added before every reply")
    for kind, what in (("error", "HTTP 500/503 replies"),
                       ("drop", "connections dropped in the middle of the body"),
                       ("truncate", "data replies cut inside their last line"),
                       ("garbage", "data replies with garbage lines mixed in"),
                       ("no-values", "data replies saying `No values` instead of the data"),
                       ("trickle", "data replies sent one line every --trickle-s seconds"),
                       ("out-of-order", "logger_get replies with sample lines swapped in "
                                        "pairs (one pair in 100)")):
        f.add_argument(f"--{kind}-share", type=float, default=0.0, metavar="P",
                       help=f"share of {what}")
    f.add_argument("--trickle-s", type=float, default=2.0, metavar="S",
                   help="seconds between the lines of a trickled reply (default 2)")
    f.add_argument("--fault-repeat", type=int, default=0, metavar="N",
                   help="break the same command at most N times, then answer it (0: no limit)")
    f.add_argument("--fault-device", action="append", default=[], metavar="DEVICE",
                   help="break only logger_get of this device (repeatable)")
    f.add_argument("--fault-seed", type=int, default=0, metavar="N",
                   help="seed of the fault draws")


def faults_from_args(args: argparse.Namespace) -> Faults:
    try:
        return Faults(
            latency_s=args.latency,
            error_share=args.error_share,
            drop_share=args.drop_share,
            truncate_share=args.truncate_share,
            garbage_share=args.garbage_share,
            no_values_share=args.no_values_share,
            trickle_share=args.trickle_share,
            out_of_order_share=args.out_of_order_share,
            trickle_s=args.trickle_s,
            repeat=args.fault_repeat,
            devices=frozenset(check_device_name(d) for d in args.fault_device),
            seed=args.fault_seed,
        )
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def run(args: argparse.Namespace) -> int:
    settings = args.settings
    faults = faults_from_args(args)
    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port must be 0..65535, got {args.port}")
    booster = SimulatedBooster(
        seed=settings.sim_seed, node=check_node_name(settings.logger_node),
        sc_ticks=settings.sim_sc_ticks,
    )
    log = stderr_progress(args.verbose)
    try:
        server = AclServer(booster, args.host, args.port, faults, html=args.html, log=log,
                           event_header_lines=args.event_header_lines)
    except OSError as exc:
        raise UsageError(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}") \
            from None
    print(f"ACL emulator (simulated Booster, seed {booster.seed}, node {booster.node}) at "
          f"{server.url}", flush=True)
    print(f"  use it: GMPSAI_SOURCE=acl GMPSAI_ACL_URL={server.url}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("stopped", file=sys.stderr)
    finally:
        server.stop()
    return 0
