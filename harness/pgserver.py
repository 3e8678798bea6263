"""A throwaway PostgreSQL server for the tests and the year benchmark: Debian's binaries
(`make test` installs the `postgresql` package), a fresh cluster in a temporary directory,
listening on 127.0.0.1 only, with a password (scram) so the Dagster configuration is exercised
the way production uses it. Stopped and deleted afterwards.

PostgreSQL cannot take port 0, so a random port is tried and, when the server itself fails to
bind it, another one: the server's own bind is the test, never a bind-close-reuse probe.
PostgreSQL refuses to run as root; as root the server runs as the `postgres` system user.
"""

from __future__ import annotations

import glob
import os
import pwd
import random
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
USER = "gmpsai"
PASSWORD = "throwaway-test-password"
DB = "dagster"


def find_bin_dir() -> Path | None:
    """The newest /usr/lib/postgresql/<version>/bin with initdb, or None (not installed)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(Path(p).parents[1].name) if Path(p).parents[1].name.isdigit()
                   else 0)
    return Path(found[-1]).parent if found else None


@dataclass
class PostgresServer:
    bin_dir: Path
    root: Path
    port: int = 0

    def env(self, db: str = DB) -> dict[str, str]:
        """The variables deploy/dagster.yaml reads, for database `db`."""
        return {"DAGSTER_PG_USERNAME": USER, "DAGSTER_PG_PASSWORD": PASSWORD,
                "DAGSTER_PG_HOST": "127.0.0.1", "DAGSTER_PG_PORT": str(self.port),
                "DAGSTER_PG_DB": db}

    def url(self, db: str = DB) -> str:
        return f"postgresql://{USER}:{PASSWORD}@127.0.0.1:{self.port}/{db}"

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        cmd = [str(a) for a in args]
        if os.geteuid() == 0:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        return subprocess.run(cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL)

    def start(self, attempts: int = 20) -> PostgresServer:
        data = self.root / "data"
        pwfile = self.root / "pw"
        pwfile.write_text(PASSWORD + "\n")
        if os.geteuid() == 0:
            pg = pwd.getpwnam("postgres")
            for path in (self.root, pwfile):
                os.chown(path, pg.pw_uid, pg.pw_gid)
        done = self._run(self.bin_dir / "initdb", "-D", data, "-U", USER, "--pwfile", pwfile,
                         "--auth=scram-sha-256", "-E", "UTF8", "--no-sync")
        if done.returncode:
            raise RuntimeError(f"initdb failed: {done.stderr.strip()}")
        rng = random.Random()
        last = ""
        for _ in range(attempts):
            port = rng.randrange(20000, 60000)
            done = self._run(
                self.bin_dir / "pg_ctl", "-D", data, "-l", self.root / "server.log", "-w",
                "-t", "60", "-o",
                f"-p {port} -c listen_addresses=127.0.0.1 -k {self.root} -c fsync=off "
                "-c max_connections=200",
                "start",
            )
            if done.returncode == 0:
                self.port = port
                self.create_database(DB)
                return self
            last = (self.root / "server.log").read_text(errors="replace")[-2000:]
            if "Address already in use" not in last and "could not bind" not in last:
                break
        raise RuntimeError(f"PostgreSQL did not start:\n{last}")

    def create_database(self, db: str) -> dict[str, str]:
        """A new empty database (one per test keeps their run histories apart); its env."""
        env = {**os.environ, "PGPASSWORD": PASSWORD}
        done = subprocess.run(
            [str(self.bin_dir / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", USER,
             db], capture_output=True, text=True, env=env, stdin=subprocess.DEVNULL)
        if done.returncode:
            raise RuntimeError(f"createdb {db} failed: {done.stderr.strip()}")
        return self.env(db)

    def stop(self) -> None:
        if self.port:
            self._run(self.bin_dir / "pg_ctl", "-D", self.root / "data", "-m", "immediate",
                      "-w", "stop")
            self.port = 0
        shutil.rmtree(self.root, ignore_errors=True)


class PostgresMissing(RuntimeError):
    """The PostgreSQL server binaries are not installed."""


def start_server() -> PostgresServer:
    """A running throwaway server; PostgresMissing when not installed, RuntimeError naming the
    problem when it cannot start."""
    bin_dir = find_bin_dir()
    if bin_dir is None:
        raise PostgresMissing("PostgreSQL is not installed (Debian package `postgresql`; "
                           "`make test` installs it)")
    # Not under pytest's tmp_path: its parents are private to root, and the server may run as
    # the postgres user.
    root = Path(tempfile.mkdtemp(prefix="gmpsai-pg-"))
    server = PostgresServer(bin_dir, root)
    try:
        return server.start()
    except BaseException:
        server.stop()
        raise


def production_instance_yaml(home: Path) -> None:
    """deploy/dagster.yaml into `home`, launching runs as local processes (no Docker here)."""
    config = yaml.safe_load((REPO / "deploy" / "dagster.yaml").read_text())
    del config["run_launcher"]
    (home / "dagster.yaml").write_text(yaml.safe_dump(config))
