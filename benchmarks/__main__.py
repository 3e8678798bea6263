"""Run every benchmarks/bench_*.py module (or those named on the command line).

    python -m benchmarks              # all of them
    python -m benchmarks params acl   # bench_params.py and bench_acl.py only
    python -m benchmarks dpm --quick  # bench_dpm.py with 8 devices (needs the dpm extra)
    python -m benchmarks year --days=30   # options (written --name=value) go to the modules

Each module runs with the environment it started with (what one sets never reaches the next);
one that fails prints its traceback, the others still run, and the run exits 1 naming it.

bench_year needs PostgreSQL (Debian's postgresql package) and says it skipped when missing.
bench_containers needs a Docker engine too (`make test` starts one) and builds the image
(deploy/build-image); it says it skipped when either is missing.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import sys
import time
import traceback

import benchmarks


def main(argv: list[str]) -> int:
    names = sorted(m.name for m in pkgutil.iter_modules(benchmarks.__path__)
                   if m.name.startswith("bench_"))
    wanted = [f"bench_{a.removeprefix('bench_')}" for a in argv if not a.startswith("-")]
    unknown = sorted(set(wanted) - set(names))
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; have {', '.join(names)}",
              file=sys.stderr)
        return 2
    failed = []
    for name in wanted or names:
        print(f"\n=== {name} ===", flush=True)
        began = time.monotonic()
        environ = dict(os.environ)  # a module's settings (GMPSAI_*) must not reach the next one
        try:
            importlib.import_module(f"benchmarks.{name}").main()
        except Exception:  # the others still run; the run fails at the end, naming it
            traceback.print_exc()
            failed.append(name)
        finally:
            os.environ.clear()
            os.environ.update(environ)
        print(f"({name} took {time.monotonic() - began:.0f} s)", flush=True)
    if failed:
        print(f"\nbenchmarks failed: {', '.join(failed)} (tracebacks above)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
