"""The code location server of a container deployment (deploy/Dockerfile's command).

`python -m gmpsai_assets.code_server [dagster code-server start options]` starts Dagster's code
server on `gmpsai_assets.definitions`, telling it what every run it launches needs (Dagster's
"container context", which the Docker run launcher merges into its own configuration):

- the `GMPSAI_*` settings set here, by value: the code location shows them in the UI, and a run
  must read the same values (the run launcher's own `env_vars` would have to list each one on
  the daemon and fails on any that is unset there);
- the directories a run reads and writes, mounted at the same path (absolute paths are stored
  in metadata and in the statistics views): the data directory, and any path setting outside it;
- the user and group this server runs as, so a run's files have the same owner as the code
  location expects.

Paths must be absolute: a run container starts in another working directory. Anything wrong is
one line naming the variable, and the server does not start.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from pathlib import Path

from gmpsai_assets.preflight import preflight
from gmpsai_assets.settings import SETTINGS, Settings, SettingsError, environment

MODULE = "gmpsai_assets.definitions"


def run_mounts(settings: Settings) -> list[str]:
    """Docker volume specs (`host:container:mode`, the same path on both sides) for everything a
    run touches: the data directory, and each path setting that lies outside it."""
    if not settings.data_dir.is_absolute():
        raise SettingsError(f"GMPSAI_DATA_DIR must be an absolute path in a container "
                            f"deployment, got {str(settings.data_dir)!r}")
    wanted = [(settings.data_dir, "rw")]
    if settings.param_list is not None:
        wanted.append((settings.param_list, "ro"))
    # the databases' directories: DuckDB writes beside its file, statistics results too
    wanted += [(settings.stats_db_path.parent, "rw"), (settings.timeline_db_path.parent, "rw"),
               (settings.site_dir, "rw")]
    mounts: list[str] = []
    for path, mode in wanted:
        if not path.is_absolute():
            raise SettingsError(f"{path} must be an absolute path in a container deployment "
                                "(a run starts in another working directory)")
        if path != settings.data_dir and path.is_relative_to(settings.data_dir):
            continue
        spec = f"{path}:{path}:{mode}"
        if spec not in mounts:
            mounts.append(spec)
    return mounts


def container_context(env: Mapping[str, str] | None = None) -> dict:
    """What every run of this code location gets, as Dagster's container context."""
    env = environment() if env is None else env
    settings = preflight(env)
    return {"docker": {
        "env_vars": [f"{s.var}={env[s.var]}" for s in SETTINGS if env.get(s.var)],
        "container_kwargs": {"volumes": run_mounts(settings),
                             "user": f"{os.getuid()}:{os.getgid()}"},
    }}


def main(argv: list[str] | None = None) -> None:
    """Replace this process with `dagster code-server start`, or exit 2 with the reason."""
    argv = sys.argv[1:] if argv is None else argv
    try:
        context = container_context()
    except SettingsError as exc:
        print(f"gmpsai code server: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    dagster = str(Path(sys.executable).with_name("dagster"))
    os.execv(dagster, [dagster, "code-server", "start", "-m", MODULE,
                       "--container-context", json.dumps(context), *argv])


if __name__ == "__main__":
    main()
