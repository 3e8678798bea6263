"""`gmpsai`: the command-line entry point; one module per subcommand.

User mistakes (bad dates, bad lists, unknown sources) end with one line on stderr and exit status
2; work that fails (an unreachable DataLogger, a full disk) with one line and exit status 1; never
a traceback for either (`cli/common.py` EXIT_STATUS, printed by every `--help`). Every GMPSAI_*
setting is checked before any subcommand starts (gmpsai_assets/preflight.py); the subcommand
gets them as `args.settings`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from gmpsai_assets import __version__
from gmpsai_assets.cli import (
    acl_server,
    alerts,
    backfill,
    catalog,
    dataset,
    db_to_json,
    distill,
    grab_events,
    grab_params,
    import_legacy_db,
    materialize_day,
    serve_site,
    status,
)
from gmpsai_assets.cli.common import (
    EXIT_BAD_INPUT,
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_STATUS,
    USER_ERRORS,
    WORK_ERRORS,
    make_parser_class,
)
from gmpsai_assets.preflight import preflight

# Each subcommand module has NAME, HELP, add_arguments(parser) and run(args) -> int.
COMMANDS = [grab_params, materialize_day, backfill]
COMMANDS.append(grab_events)
COMMANDS.append(acl_server)
COMMANDS += [db_to_json, serve_site]
COMMANDS += [distill, import_legacy_db]
COMMANDS += [catalog, dataset]
COMMANDS += [status, alerts]


def build_parser() -> argparse.ArgumentParser:
    parser_class = make_parser_class()
    parser = parser_class(
        prog="gmpsai", description="Fermilab Booster GMPS AI data platform command line.",
        epilog=EXIT_STATUS,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=parser_class)
    sub.required = True
    for module in COMMANDS:
        p = sub.add_parser(module.NAME, help=module.HELP, description=module.__doc__,
                           epilog=getattr(module, "EPILOG", EXIT_STATUS))
        module.add_arguments(p)
        # A command may say what a bad setting or a failure exits with (`gmpsai status`: 3,
        # UNKNOWN, as monitors read it).
        p.set_defaults(run=module.run, prog=p.prog,
                       error_exit=getattr(module, "ERROR_EXIT", None))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args.settings = preflight()
        return int(args.run(args) or 0)
    except USER_ERRORS as exc:
        print(f"{args.prog}: error: {exc}", file=sys.stderr)
        return args.error_exit or EXIT_BAD_INPUT
    except WORK_ERRORS as exc:  # a path that cannot be used, a full disk: no traceback either
        print(f"{args.prog}: failed: {exc}", file=sys.stderr)
        return args.error_exit or EXIT_FAILED
    except KeyboardInterrupt:
        print(f"{args.prog}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
