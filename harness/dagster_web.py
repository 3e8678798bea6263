"""The Dagster webserver and daemon as users run them, on a loopback port with a given
DAGSTER_HOME, and the few GraphQL queries (those the UI itself sends) that the tests and the
benchmarks drive them with."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from harness.processes import stop_group

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


SERVING = re.compile(r"Serving dagster-webserver on (http://127\.0\.0\.1:\d+)")


class PortTaken(RuntimeError):
    """Another process bound the port dagster-webserver picked before it did."""


class Dagster:
    """Webserver + daemon subprocesses and a tiny GraphQL client.

    The webserver picks its own port (given none it takes 3000, or a free one when 3000 is in
    use) and says which in its log; the URL is read from there, never guessed beforehand.
    """

    def __init__(self, home: Path, env: dict[str, str],
                 workspace: Path = REPO / "workspace.yaml") -> None:
        self.url = ""
        common = {"cwd": REPO, "env": env, "stdin": subprocess.DEVNULL,
                  "start_new_session": True}
        self.logs = [open(home / "webserver.log", "w"), open(home / "daemon.log", "w")]  # noqa: SIM115
        self.procs = [
            subprocess.Popen([str(BIN / "dagster-webserver"), "-h", "127.0.0.1",
                              "-w", str(workspace)], stdout=self.logs[0],
                             stderr=subprocess.STDOUT, **common),
            subprocess.Popen([str(BIN / "dagster-daemon"), "run", "-w", str(workspace)],
                             stdout=self.logs[1], stderr=subprocess.STDOUT, **common),
        ]

    def query(self, text: str, variables: dict | None = None) -> dict:
        body = json.dumps({"query": text, "variables": variables or {}}).encode()
        req = urllib.request.Request(f"{self.url}/graphql", body,
                                     {"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as resp:
            reply = json.load(resp)
        assert "errors" not in reply, reply["errors"]
        return reply["data"]

    def wait_until_up(self, deadline_s: float = 300) -> None:
        end = time.monotonic() + deadline_s
        while time.monotonic() < end:
            for proc, log in zip(self.procs, self.logs, strict=True):
                if proc.poll() is not None:
                    text = Path(log.name).read_text()
                    if "address already in use" in text.lower():
                        raise PortTaken(text)
                    raise AssertionError(f"{proc.args[0]} exited:\n{text}")
            if not self.url and (m := SERVING.search(Path(self.logs[0].name).read_text())):
                self.url = m[1]
            try:
                if self.url:
                    with urllib.request.urlopen(f"{self.url}/server_info", timeout=5):
                        return
            except OSError:
                pass
            time.sleep(0.5)
        raise AssertionError("webserver did not come up")

    def stop(self) -> None:
        """Webserver and daemon with their code servers and the runs those started: each
        process group whole (processes.stop_group), so nothing outlives the test."""
        for proc in self.procs:
            stop_group(proc)
        for log in self.logs:
            log.close()


def start_dagster(home: Path, env: dict[str, str],
                  workspace: Path = REPO / "workspace.yaml") -> Dagster:
    """Webserver and daemon, up and serving; a lost race for the port is retried, never a
    failure."""
    for _attempt in range(3):
        server = Dagster(home, env, workspace)
        try:
            server.wait_until_up()
        except PortTaken:
            server.stop()
            continue
        except BaseException:
            server.stop()
            raise
        return server
    raise RuntimeError("dagster-webserver lost the race for a free port three times")


LOCATION = """
{ workspaceOrError { __typename ... on Workspace { locationEntries {
    name
    locationOrLoadError { __typename
      ... on PythonError { message }
      ... on RepositoryLocation { name repositories {
          name
          jobs { name }
          sensors { name sensorState { status } }
          schedules { name cronSchedule executionTimezone scheduleState { status }
                      futureTicks(limit: 1) { results { timestamp } } }
          assetNodes { assetKey { path }
                       assetChecksOrError { ... on AssetChecks { checks { name } } } }
      } }
    } } } } }
"""


def repository(dagster: Dagster) -> tuple[str, dict]:
    """The code location's name and its one repository, once the location has loaded."""
    end = time.monotonic() + 120
    while True:
        entries = dagster.query(LOCATION)["workspaceOrError"]["locationEntries"]
        loc = entries[0]["locationOrLoadError"] if entries else None
        if loc and loc["__typename"] == "RepositoryLocation":
            return entries[0]["name"], loc["repositories"][0]
        assert not loc or loc["__typename"] != "PythonError", loc["message"]
        assert time.monotonic() < end, "code location did not load"
        time.sleep(1)


LAUNCH = """
mutation($params: ExecutionParams!) { launchRun(executionParams: $params) {
  __typename ... on LaunchRunSuccess { run { runId } }
  ... on PythonError { message } ... on InvalidSubsetError { message }
  ... on RunConfigValidationInvalid { errors { message } } } }
"""
RUN = "query($id: ID!) { runOrError(runId: $id) { ... on Run { status } } }"
def wait_run(dagster: Dagster, run_id: str, deadline_s: float = 240) -> str:
    """The run's final status (SUCCESS, FAILURE or CANCELED)."""
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        status = dagster.query(RUN, {"id": run_id})["runOrError"]["status"]
        if status in ("SUCCESS", "FAILURE", "CANCELED"):
            return status
        time.sleep(1)
    raise AssertionError(f"run {run_id} still {status}")


BACKFILL = """
mutation($params: LaunchBackfillParams!) { launchPartitionBackfill(backfillParams: $params) {
  __typename ... on LaunchBackfillSuccess { backfillId } ... on PythonError { message } } }
"""
BACKFILL_STATUS = """
query($id: String!) { partitionBackfillOrError(backfillId: $id) { ... on PartitionBackfill {
  status numPartitions } } }
"""
