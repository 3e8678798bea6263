"""What a container per run costs: one `param_data` partition from launch to success under
deploy/dagster.yaml's `DockerRunLauncher`, against the same partition under Dagster's default
run launcher on the same instance (the same PostgreSQL database, the same code server container
of the same image: the default launcher starts the run as a process inside it). The difference
is the run container's start. Also prints the image's size.

    python -m benchmarks containers [--runs=N] [--devices=N]

Builds the image with deploy/build-image (under the tests' name, so a test session's image is
reused) and starts the code server as gmpsai_assets_tests does. Skipped, with a line saying so,
where no Docker engine answers or PostgreSQL is not installed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

from benchmarks.common import Row, print_table

DAY = "2026-03-02"


def _args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bench_containers")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--devices", type=int, default=3)
    known, _ = parser.parse_known_args(sys.argv[1:])
    return known


def _launch_to_success(dagster, location: str, repository: str, runs: int
                       ) -> list[tuple[float, float]]:
    """Launch `runs` runs of param_data_job for DAY one after another; each one's seconds
    (creation to end, creation to start), as the instance recorded them. A run starts when
    its worker reports it: after the queue, the launch and (Docker) the container's start."""
    from harness.dagster_web import LAUNCH, wait_run

    query = ("query($id: ID!) { runOrError(runId: $id) { ... on Run { creationTime startTime "
             "endTime } } }")
    out = []
    for _ in range(runs):
        params = {"selector": {"repositoryLocationName": location, "repositoryName": repository,
                               "jobName": "param_data_job"},
                  "executionMetadata": {"tags": [{"key": "dagster/partition", "value": DAY}]}}
        launched = dagster.query(LAUNCH, {"params": params})["launchRun"]
        assert launched["__typename"] == "LaunchRunSuccess", launched
        run_id = launched["run"]["runId"]
        status = wait_run(dagster, run_id, 600)
        if status != "SUCCESS":
            raise RuntimeError(f"run {run_id} ended {status}")
        run = dagster.query(query, {"id": run_id})["runOrError"]
        out.append((run["endTime"] - run["creationTime"],
                    run["startTime"] - run["creationTime"]))
    return out


def _run_containers(dagster) -> list[str]:
    from dagster_docker.docker_run_launcher import DOCKER_CONTAINER_ID_TAG

    runs = dagster.query("{ runsOrError { ... on Runs { results { tags { key value } } } } }")
    return [t["value"] for r in runs["runsOrError"]["results"] for t in r["tags"]
            if t["key"] == DOCKER_CONTAINER_ID_TAG]


def main() -> None:
    from gmpsai_assets.acnet.devices import load_device_list
    from harness.containers import CodeServer, build_image, docker, docker_missing
    from harness.dagster_web import repository, start_dagster
    from harness.pgserver import PostgresMissing, production_instance_yaml, start_server

    args = _args()
    if missing := docker_missing():
        print(f"bench_containers: skipped: {missing}")
        return
    try:
        server = start_server()
    except PostgresMissing as exc:
        print(f"bench_containers: skipped: {exc}")
        return
    tmp = Path(tempfile.mkdtemp(prefix="bench_containers_"))
    code = None
    try:
        image = build_image()
        size_mb = int(docker("image", "inspect", "-f", "{{.Size}}", image)) / 1e6
        data = tmp / "data"
        data.mkdir()
        plist = data / "list.txt"
        devices = [e.device for e in load_device_list()][: args.devices]
        plist.write_text("".join(f"MLrn {d}\n" for d in devices))
        pg = server.create_database("bench_containers")
        code = CodeServer(image, {**pg, "GMPSAI_DATA_DIR": str(data),
                                  "GMPSAI_PARAM_LIST": str(plist), "GMPSAI_SOURCE": "simulated",
                                  "DAGSTER_CURRENT_IMAGE": image}, [f"{data}:{data}"]).start()
        workspace = code.workspace(tmp / "workspace.yaml")
        env = {k: v for k, v in os.environ.items() if not k.startswith("GMPSAI_")}
        env.update({"DAGSTER_DISABLE_TELEMETRY": "1", **pg})
        seconds = {}
        for launcher in ("docker", "default"):
            home = tmp / launcher
            home.mkdir()
            if launcher == "docker":
                shutil.copy(Path(__file__).parents[1] / "deploy" / "dagster.yaml", home)
            else:
                production_instance_yaml(home)  # the same, less the run launcher
            dagster = start_dagster(home, {**env, "DAGSTER_HOME": str(home)}, workspace)
            try:
                location, repo = repository(dagster)
                seconds[launcher] = _launch_to_success(dagster, location, repo["name"],
                                                       args.runs)
            finally:
                containers = _run_containers(dagster)
                dagster.stop()
                for cid in containers:  # the always-on timeline logger's among them
                    docker("rm", "-f", cid, check=False)
    finally:
        if code is not None:
            code.stop()
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)

    def median(launcher: str, i: int) -> float:
        return statistics.median(s[i] for s in seconds[launcher])

    rows = [Row("one partition, launch to success, own container", median("docker", 0),
                median("default", 0), "s", "the same, default run launcher"),
            Row("  of which launch to run start", median("docker", 1), median("default", 1),
                "s", "the same, default run launcher")]
    print_table(f"param_data {DAY}, {len(devices)} device(s), median of {args.runs} runs each, "
                "one PostgreSQL instance", rows)
    print("each run (s): " + "; ".join(
        f"{k}: {', '.join(f'{s[0]:.1f}' for s in v)}" for k, v in seconds.items()))
    print(f"image {image}: {size_mb:.0f} MB")


if __name__ == "__main__":
    main()
