"""The production profile for real: every run in its own container.

The image is deploy/build-image's, the instance is deploy/dagster.yaml as shipped (PostgreSQL
storage, `DockerRunLauncher`) on a throwaway PostgreSQL server, the code location server runs in
a container of the image (its command, as docs/production.md starts it), and the webserver and
daemon run on this host. Everything talks over loopback: the containers use the host's network.
The settings (a three-device list, events up to $0C) are given to the code server only, so a
run that sees them got them from its code location, as in production.

Marker `containers`: needs a Docker engine (`make test` installs docker.io and starts dockerd);
skipped without one, except in CI. The image is built once per session, and not at all when one
of the same inputs exists (deploy/build-image).
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from dagster._core.storage.tags import DOCKER_IMAGE_TAG
from dagster_docker.docker_run_launcher import DOCKER_CONTAINER_ID_TAG

from gmpsai_assets.code_server import container_context, run_mounts
from gmpsai_assets.dataset.table import cycle_table_path
from gmpsai_assets.files import drafts
from gmpsai_assets.files.paramfile import read_param_attrs
from gmpsai_assets.publish.load import read_store
from gmpsai_assets.publish.site import SITE_JSON, VENDOR_FILES, vendor_files
from gmpsai_assets.settings import Settings, SettingsError
from gmpsai_assets.stats.distill import distill_file
from harness.containers import CodeServer, build_image, docker, docker_missing
from harness.dagster_web import LAUNCH, Dagster, repository, start_dagster, wait_run

REPO = Path(__file__).resolve().parents[1]
DEVICES = ["B:VIMIN", "B:IMINER", "I:IB"]
DAY = "2026-03-02"
KILL_DAY = "2026-03-05"
SETTINGS = {"GMPSAI_SOURCE": "simulated", "GMPSAI_MAX_EVENT": "0c"}


# ---- the code location's container context (no Docker needed) -------------------------------

def test_runs_get_the_code_locations_settings_and_directories(tmp_path):
    data, elsewhere = tmp_path / "data", tmp_path / "lists"
    elsewhere.mkdir()
    plist = elsewhere / "ParamList.txt"
    plist.write_text("MLrn B:VIMIN\n")
    env = {"GMPSAI_DATA_DIR": str(data), "GMPSAI_PARAM_LIST": str(plist),
           "GMPSAI_MAX_EVENT": "0c", "GMPSAI_STATS_DB": str(data / "db" / "stats.duckdb"),
           "GMPSAI_PUBLISH_DIR": str(tmp_path / "www"), "HOME": "/root", "GMPSAI_SOURCE": ""}
    ctx = container_context(env)["docker"]
    # by value, only the settings that are set (an empty one is unset)
    assert sorted(ctx["env_vars"]) == sorted(
        f"{k}={v}" for k, v in env.items() if k.startswith("GMPSAI_") and v)
    # the data directory, and each path outside it, at the same path; inputs read-only
    assert ctx["container_kwargs"]["volumes"] == [
        f"{data}:{data}:rw", f"{plist}:{plist}:ro", f"{tmp_path / 'www'}:{tmp_path / 'www'}:rw"]
    assert ctx["container_kwargs"]["user"] == f"{os.getuid()}:{os.getgid()}"


def test_a_relative_path_is_refused_in_one_line(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SettingsError, match="GMPSAI_DATA_DIR must be an absolute path"):
        run_mounts(Settings.from_env({"GMPSAI_DATA_DIR": "data"}))
    with pytest.raises(SettingsError, match="must be an absolute path"):
        run_mounts(Settings.from_env({"GMPSAI_DATA_DIR": str(tmp_path / "data"),
                                      "GMPSAI_PUBLISH_DIR": "site"}))


# ---- a wheel carries the page's library, or is not built -------------------------------------

def test_a_wheel_without_the_pages_library_is_refused(tmp_path):
    """setup.py: a wheel built before `npm ci` would fail every publication in production."""
    import subprocess
    import sys

    src = tmp_path / "src"
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True,
                             check=True).stdout.decode().split("\0")
    for rel in filter(None, tracked):
        if (REPO / rel).is_file():
            (src / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / rel, src / rel)
    assert not (src / "gmpsai_assets/publish/vendor/node_modules").exists()
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(tmp_path / "out"), str(src)], capture_output=True, text=True)
    assert done.returncode != 0
    assert "uplot/LICENSE is missing, and the wheel must carry it" in done.stdout + done.stderr
    assert "run `make install` first" in done.stdout + done.stderr
    assert not list((tmp_path / "out").glob("*.whl"))


# ---- runs in containers -----------------------------------------------------------------------

@pytest.fixture(scope="session")
def image() -> str:
    """Skipped where no Docker engine answers, except in CI (`make test` installs and starts
    one): there a missing engine is a failure, never a silent skip."""
    if missing := docker_missing():
        if os.environ.get("CI"):
            pytest.fail(missing)
        pytest.skip(missing)
    return build_image()


@dataclass
class Deployment:
    dagster: Dagster
    code: CodeServer
    image: str
    data: Path
    location: str
    repository: str

    def launch(self, job: str, partition: str | None = None) -> str:
        params = {"selector": {"repositoryLocationName": self.location,
                               "repositoryName": self.repository, "jobName": job}}
        if partition:
            params["executionMetadata"] = {
                "tags": [{"key": "dagster/partition", "value": partition}]}
        launched = self.dagster.query(LAUNCH, {"params": params})["launchRun"]
        assert launched["__typename"] == "LaunchRunSuccess", launched
        return launched["run"]["runId"]

    def runs(self) -> list[dict]:
        return self.dagster.query(RUNS)["runsOrError"]["results"]

    def materializations(self, asset: str, partition: str | None = None) -> list[dict]:
        found = self.dagster.query(MATERIALIZATIONS, {
            "key": {"path": [asset]}, "p": [partition] if partition else None})
        return found["assetOrError"].get("assetMaterializations", [])


RUNS = """{ runsOrError { ... on Runs { results {
  runId jobName status tags { key value } } } } }"""
MATERIALIZATIONS = """
query($key: AssetKeyInput!, $p: [String!]) { assetOrError(assetKey: $key) { ... on Asset {
  assetMaterializations(partitions: $p) { partition runId metadataEntries {
    label ... on IntMetadataEntry { intValue } ... on PathMetadataEntry { path } } } } } }
"""


def _tags(run: dict) -> dict[str, str]:
    return {t["key"]: t["value"] for t in run["tags"]}


def _meta(entry: dict) -> dict:
    return {e["label"]: e.get("intValue", e.get("path")) for e in entry["metadataEntries"]}


@pytest.fixture(scope="module")
def deployment(image: str, postgres_server, tmp_path_factory: pytest.TempPathFactory
               ) -> Iterator[Deployment]:
    tmp = tmp_path_factory.mktemp("containers")
    home = tmp / "dagster_home"
    home.mkdir()
    shutil.copy(REPO / "deploy" / "dagster.yaml", home / "dagster.yaml")  # as shipped
    data = tmp / "data"
    data.mkdir()
    plist = data / "ParamList.txt"
    plist.write_text("".join(f"MLrn {d}\n" for d in DEVICES))
    pg = postgres_server.create_database(f"containers_{os.getpid()}")
    code = CodeServer(image, {
        **pg, **SETTINGS, "GMPSAI_DATA_DIR": str(data), "GMPSAI_PARAM_LIST": str(plist),
        "DAGSTER_CURRENT_IMAGE": image}, [f"{data}:{data}"]).start()
    # The webserver and daemon get the instance only: no GMPSAI_* setting reaches them.
    env = {k: v for k, v in os.environ.items() if not k.startswith("GMPSAI_")}
    env.update({"DAGSTER_HOME": str(home), "DAGSTER_DISABLE_TELEMETRY": "1", **pg})
    try:
        server = start_dagster(home, env, code.workspace(tmp / "workspace.yaml"))
    except BaseException:
        code.stop()
        raise
    try:
        location, repo = repository(server)
        yield Deployment(server, code, image, data, location, repo["name"])
    finally:
        containers = []
        try:
            containers = [_tags(r).get(DOCKER_CONTAINER_ID_TAG) for r in
                          Deployment(server, code, image, data, "", "").runs()]
        finally:
            server.stop()
            for cid in filter(None, containers):  # the run workers this deployment started
                docker("rm", "-f", cid, check=False)
            code.stop()


def _wait_for(what: str, probe, deadline_s: float, every_s: float = 2.0):
    end = time.monotonic() + deadline_s
    while not (found := probe()):
        assert time.monotonic() < end, f"{what}: not within {deadline_s:.0f} s"
        time.sleep(every_s)
    return found


def _quiet(deployment: Deployment) -> list[dict]:
    """All runs, once none but the always-on timeline logger is queued or running."""
    runs = deployment.runs()
    busy = [r for r in runs if r["jobName"] != "timeline_logger_job"
            and r["status"] not in ("SUCCESS", "FAILURE", "CANCELED")]
    return [] if busy else runs


@pytest.mark.containers
def test_a_day_in_containers_and_the_automation_publishes_it(deployment: Deployment):
    d = deployment
    grabs = [d.launch("param_data_job", DAY), d.launch("event_data_job", DAY)]
    for run_id in grabs:
        assert wait_run(d.dagster, run_id, 600) == "SUCCESS", d.code.logs()[-3000:]
    # automation_sensor (the daemon) asks for the day's statistics and cycle table, then the page
    for asset, partition in (("file_stats", DAY), ("cycle_table", DAY), ("published_json", None)):
        _wait_for(f"{asset} materialized", lambda a=asset, p=partition: d.materializations(a, p),
                  600)
    runs = _wait_for("the automation's runs to end", lambda: _quiet(d), 600)
    assert {r["jobName"] for r in runs} >= {"param_data_job", "event_data_job"}
    assert all(r["status"] == "SUCCESS" for r in runs
               if r["jobName"] != "timeline_logger_job"), runs

    # every run ran in a container of the image, on the host network, with the data directory
    # at its own path and the settings of the code location
    for run in runs:
        tags = _tags(run)
        assert tags.get(DOCKER_IMAGE_TAG) == d.image, run
        info = json.loads(docker("inspect", tags[DOCKER_CONTAINER_ID_TAG]))[0]
        assert info["Config"]["Image"] == d.image
        assert info["HostConfig"]["NetworkMode"] == "host"
        assert {(m["Source"], m["Destination"]) for m in info["Mounts"]} == {
            (str(d.data), str(d.data))}
        assert "GMPSAI_MAX_EVENT=0c" in info["Config"]["Env"]
        assert info["Config"]["Labels"]["dagster/run_id"] == run["runId"]

    # the files, as the run metadata names them
    param = _meta(d.materializations("param_data", DAY)[0])
    event = _meta(d.materializations("event_data", DAY)[0])
    assert param["devices_ok"] == len(DEVICES)
    for meta, sub in ((param, "params"), (event, "events")):
        path = Path(meta["path"])
        assert path.parent == d.data / sub and path.stat().st_size == meta["bytes"]
    attrs = read_param_attrs(param["path"])
    assert attrs["devices"] == DEVICES
    assert {d: o.status for d, o in attrs["device_outcomes"].items()} == dict.fromkeys(
        DEVICES, "ok")
    assert cycle_table_path(d.data / "cycles", DAY).is_file()
    assert not list((d.data / "drafts").glob("*.draft"))

    # the statistics the containers stored are the ones this host computes from the same file
    truth = {p.device: p for p in distill_file(Path(param["path"])).params}
    store = read_store(d.data / "gmpsai.duckdb")
    assert sorted(store.devices) == sorted(DEVICES)
    stored = {s.device: s for s in store.days if s.file_path == param["path"]}
    assert set(stored) == set(DEVICES)
    for device, day in stored.items():
        assert day.rows == truth[device].rows
        assert day.p50 == pytest.approx(truth[device].p50)

    # the page: published by a run that had no npm, with the library the wheel carried
    site = d.data / "site"
    doc = json.loads((site / SITE_JSON).read_text())
    assert [dev["name"] for dev in doc["devices"]] == DEVICES
    assert (site / "index.html").is_file()
    for (name, _), (_, data) in zip(VENDOR_FILES, vendor_files(), strict=True):
        assert (site / name).read_bytes() == data


# Drafts owned by runs (a lease naming the run id) are another change in flight: until it lands,
# a draft names its writer's host and pid namespace, and no later container can judge one left
# by a killed container (files/drafts.py), so housekeeping leaves it. See the end of the test.
DRAFTS_OWNED_BY_RUNS = hasattr(drafts, "owned_by_run")


@pytest.mark.containers
def test_a_run_container_killed_mid_grab_is_failed_cleaned_up_and_retried(
        deployment: Deployment):
    """`docker kill` of a run's container while it writes its draft: run monitoring marks the
    run failed (deploy/dagster.yaml's run_monitoring), the instance's run_retries launches a
    retry that completes, and once housekeeping_job has run no draft of the killed run is left
    (whoever removed it first: the retry's own first draft or housekeeping)."""
    d = deployment
    draft_dir = d.data / "drafts"
    before = set(draft_dir.glob("*")) if draft_dir.exists() else set()
    files_before = set((d.data / "params").iterdir())
    run_id = d.launch("param_data_job", KILL_DAY)
    # mid-grab: the run's container is up and its draft exists
    draft = _wait_for("the run's draft", lambda: next(
        (p for p in draft_dir.glob("*.draft") if p not in before), None)
        if draft_dir.exists() else None, 300, every_s=0.1)
    run = next(r for r in d.runs() if r["runId"] == run_id)
    assert run["status"] == "STARTED", run
    docker("kill", _tags(run)[DOCKER_CONTAINER_ID_TAG])
    assert wait_run(d.dagster, run_id, 300) == "FAILURE"

    retry = _wait_for("the automatic retry", lambda: next(
        (r for r in d.runs() if _tags(r).get("dagster/parent_run_id") == run_id), None), 300)
    assert _tags(retry).get("dagster/retry_number") == "1"
    assert wait_run(d.dagster, retry["runId"], 600) == "SUCCESS"
    mats = d.materializations("param_data", KILL_DAY)
    assert [m["runId"] for m in mats] == [retry["runId"]]  # the killed run published nothing
    made = Path(_meta(mats[0])["path"])
    assert set((d.data / "params").iterdir()) == files_before | {made}  # no partial file

    assert wait_run(d.dagster, d.launch("housekeeping_job"), 600) == "SUCCESS"
    if not DRAFTS_OWNED_BY_RUNS and draft.exists():
        pytest.xfail("drafts are still owned by host+pid namespace: a killed container's "
                     f"draft stays ({draft.name})")
    assert not draft.exists()
    assert not [p for p in draft_dir.iterdir() if not p.name.startswith(".")], \
        sorted(draft_dir.iterdir())
