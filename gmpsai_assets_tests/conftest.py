"""Shared fixtures. Tests use real files under pytest's tmp_path and real Dagster instances."""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from gmpsai_assets.sim.acl_server import AclServer
from gmpsai_assets.sim.simulator import SimulatedBooster
from harness.pgserver import PostgresMissing, PostgresServer, start_server
from harness.processes import SESSION_VAR, kill_all, new_session_tag, survivors

# A stopped server's last children may take a moment to exit (test_processes shortens it).
SURVIVOR_GRACE_S = float(os.environ.get("GMPSAI_TEST_SURVIVOR_GRACE_S", "15"))


def pytest_configure(config: pytest.Config) -> None:
    """Tag every process the suite will start (they inherit the environment)."""
    config._gmpsai_session_tag = os.environ[SESSION_VAR] = new_session_tag()


@pytest.hookimpl(trylast=True)  # after the session fixtures (postgres, servers) are torn down
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Nothing the suite started may outlive it: a survivor (a code server a daemon left, a run
    worker, a server) fails the session, is named and killed."""
    tag = getattr(session.config, "_gmpsai_session_tag", None)
    if tag is None:
        return
    end = time.monotonic() + SURVIVOR_GRACE_S
    while (left := survivors(tag)) and time.monotonic() < end:
        time.sleep(0.5)
    if left:
        kill_all([pid for pid, _ in left])
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        lines = [f"{len(left)} process(es) started by the suite outlived it (killed now):",
                 *(f"  {pid} {cmd}" for pid, cmd in left)]
        if reporter is not None:
            reporter.write_line("\n".join(lines), red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


SMALL_DEVICES = ("B:VIMIN", "B_VIMIN", "B:IMINER", "I:IB", "B|GMPSSC")


@pytest.fixture
def sim() -> SimulatedBooster:
    return SimulatedBooster()


@pytest.fixture
def small_list(tmp_path: Path) -> Path:
    """A short device list in the team's format (node, device, trailing spaces)."""
    path = tmp_path / "ParamList.txt"
    path.write_text("".join(f"MLrn {d}  \n" for d in SMALL_DEVICES))
    return path


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., tuple[object, str, str]]:
    """`run_cli("grab-params", ...)`: the `gmpsai` CLI in this process, as (exit code, stdout,
    stderr); an argparse exit (status 2) is a code like any other."""

    from gmpsai_assets.cli import main  # the whole CLI, only for the tests that run it

    def run(*argv: str) -> tuple[object, str, str]:
        try:
            code: object = main(list(argv))
        except SystemExit as exc:
            code = exc.code
        out, err = capsys.readouterr()
        return code, out, err

    return run


@pytest.fixture(autouse=True)
def _no_writes_into_the_checkout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test gets its own GMPSAI_DATA_DIR, so a default (./data) never lands in the repo,
    and no DAGSTER_HOME from the caller (make exports one): tests that want one make their own."""
    monkeypatch.setenv("GMPSAI_DATA_DIR", str(tmp_path / "default-data"))
    monkeypatch.delenv("DAGSTER_HOME", raising=False)


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh GMPSAI_DATA_DIR for the test."""
    path = tmp_path / "data"
    monkeypatch.setenv("GMPSAI_DATA_DIR", str(path))
    return path


@pytest.fixture
def acl_server() -> Iterator[Callable[..., AclServer]]:
    """Start real ACL emulators on 127.0.0.1 (free ports): `acl_server(faults=..., html=...)`,
    backed by `booster=` or a default SimulatedBooster; all are stopped after the test."""
    started: list[AclServer] = []

    def start(booster: SimulatedBooster | None = None, **kwargs: object) -> AclServer:
        server = AclServer(booster or SimulatedBooster(), "127.0.0.1", 0, **kwargs).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One throwaway PostgreSQL server for the session (pgserver.py). Skipped only where the
    server is not installed and not in CI; `make test` installs it."""
    try:
        server = start_server()
    except PostgresMissing as exc:
        if os.environ.get("CI"):
            raise
        pytest.skip(str(exc))
    try:
        yield server
    finally:
        server.stop()


_databases = itertools.count()


@pytest.fixture
def postgres_env(postgres_server: PostgresServer) -> dict[str, str]:
    """A fresh database on the session's server: the DAGSTER_PG_* variables naming it."""
    return postgres_server.create_database(f"test_{os.getpid()}_{next(_databases)}")


@pytest.fixture
def acl_source(
    acl_server: Callable[..., AclServer], monkeypatch: pytest.MonkeyPatch
) -> Callable[..., AclServer]:
    """`acl_source(GMPSAI_ACL_CHUNK_S="300")`: start an ACL emulator and make it the configured
    source (GMPSAI_SOURCE=acl, GMPSAI_ACL_URL), with any further variables given."""

    def start(**env: str) -> AclServer:
        server = acl_server()
        for name, value in {"GMPSAI_SOURCE": "acl", "GMPSAI_ACL_URL": server.url, **env}.items():
            monkeypatch.setenv(name, value)
        return server

    return start


def pacsys_or_skip() -> None:
    """pacsys (the `dpm` extra) or a skip; in CI a missing pacsys fails instead, as postgres
    does: `make test` installs it."""
    try:
        import pacsys  # noqa: F401
    except ImportError as exc:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"pacsys is not installed ({exc}): pip install -e '.[dpm]'")


@pytest.fixture
def dpm_server() -> Iterator[Callable[..., object]]:
    """Start DPM emulators (pacsys's own gRPC server over the simulated Booster) on 127.0.0.1
    at free ports: `dpm_server(faults=..., booster=...)`; all are stopped after the test."""
    pacsys_or_skip()
    from gmpsai_assets.sim.dpm_server import DpmServer

    started: list[DpmServer] = []

    def start(booster: SimulatedBooster | None = None, **kwargs: object) -> DpmServer:
        server = DpmServer(booster, **kwargs).start()  # type: ignore[arg-type]
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def updating_snapshots() -> bool:
    """Whether a snapshot test should rewrite its snapshot (`make snapshot` sets
    UPDATE_SNAPSHOTS). Refused when CI is set: there a rewritten snapshot would pass whatever
    changed, so CI compares and never writes."""
    if not os.environ.get("UPDATE_SNAPSHOTS"):
        return False
    if os.environ.get("CI"):
        pytest.fail("UPDATE_SNAPSHOTS is refused when CI is set: CI compares snapshots, "
                    "run `make snapshot` on a workstation and commit the diff")
    return True
