"""End to end as users drive it: the real webserver and daemon on a loopback port with a
temporary DAGSTER_HOME, everything checked through the GraphQL API the UI itself uses, plus the
UI's asset graph in real headless Chromium.

Every test runs twice: on the embedded default instance (dagster.yaml, SQLite) and on the
production one (deploy/dagster.yaml on a throwaway PostgreSQL, marker `postgres`), with runs
launched as local processes there since no Docker host is at hand.

The simulated source is kept small through the documented settings (a three-device list).
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg
import pytest

from gmpsai_assets.definitions import defs
from gmpsai_assets_tests.chromium import launch, needs_chromium
from harness.dagster_web import (
    BACKFILL,
    BACKFILL_STATUS,
    LAUNCH,
    REPO,
    Dagster,
    repository,
    start_dagster,
    wait_run,
)
from harness.pgserver import production_instance_yaml

DAYS = ["2026-03-02", "2026-03-03", "2026-03-04"]


@pytest.fixture(scope="module", params=[
    "embedded", pytest.param("postgres", marks=pytest.mark.postgres)])
def dagster(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
            ) -> Iterator[Dagster]:
    tmp = tmp_path_factory.mktemp("e2e")
    home = tmp / "dagster_home"
    home.mkdir()
    pg_env: dict[str, str] = {}
    if request.param == "postgres":
        production_instance_yaml(home)
        server = request.getfixturevalue("postgres_server")
        pg_env = server.create_database(f"e2e_{os.getpid()}")
    else:
        shutil.copy(REPO / "dagster.yaml", home / "dagster.yaml")
    plist = tmp / "ParamList.txt"
    plist.write_text("MLrn B:VIMIN\nMLrn B:IMINER\nMLrn I:IB\n")
    env = {**os.environ, "DAGSTER_HOME": str(home), "GMPSAI_DATA_DIR": str(tmp / "data"),
           "GMPSAI_PARAM_LIST": str(plist), "GMPSAI_SOURCE": "simulated",
           "DAGSTER_DISABLE_TELEMETRY": "1", **pg_env}
    if not pg_env:
        # Create the instance's sqlite storage before webserver and daemon start: two processes
        # migrating a fresh storage at once can leave two alembic heads ("more than one head").
        # (dagster-postgres retries its own concurrent table creation.)
        dg.DagsterInstance.from_config(str(home)).dispose()
    server = start_dagster(home, env)
    try:
        yield server
    finally:
        server.stop()


def test_location_lists_everything_defined(dagster):
    _, repo = repository(dagster)
    assets = {"/".join(a["assetKey"]["path"]) for a in repo["assetNodes"]}
    checks = {c["name"] for a in repo["assetNodes"]
              for c in (a.get("assetChecksOrError") or {}).get("checks", [])}
    graph = defs.resolve_asset_graph()
    assert assets == {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert "param_data" in assets
    assert checks == {k.name for k in graph.asset_check_keys}
    assert {j["name"] for j in repo["jobs"]} >= {
        j.name for j in defs.resolve_all_job_defs() if not j.name.startswith("__")}
    assert {s["name"] for s in repo["sensors"]} == {s.name for s in defs.sensors or []}
    assert {s["name"] for s in repo["schedules"]} == {s.name for s in defs.schedules or []}


def test_schedules_next_ticks_in_chicago(dagster):
    _, repo = repository(dagster)
    chicago = ZoneInfo("America/Chicago")
    # Every schedule is daily (`M H * * *`): its next tick, as the running daemon's UI computes
    # it, falls at that local hour and minute. Checked for each one, whatever they are.
    want = {}
    for sched in (defs.resolve_schedule_def(s.name) for s in defs.schedules or []):
        minute, hour, *rest = sched.cron_schedule.split()
        assert rest == ["*", "*", "*"], f"{sched.name}: not daily: {sched.cron_schedule}"
        want[sched.name] = (int(hour), int(minute))
    seen = {}
    for sched in repo["schedules"]:
        assert sched["executionTimezone"] == "America/Chicago"
        tick = sched["futureTicks"]["results"][0]["timestamp"]
        local = dt.datetime.fromtimestamp(tick, chicago)
        seen[sched["name"]] = (local.hour, local.minute)
    assert want and seen == want


MATERIALIZATIONS = """
query($p: [String!]) { assetOrError(assetKey: {path: ["param_data"]}) { ... on Asset {
  assetMaterializations(partitions: $p) { partition runId metadataEntries {
    label ... on IntMetadataEntry { intValue } ... on PathMetadataEntry { path } } } } } }
"""


def test_one_partition_launched_over_graphql_succeeds_with_metadata(dagster):
    location, repo = repository(dagster)
    params = {
        "selector": {"repositoryLocationName": location, "repositoryName": repo["name"],
                     "jobName": "param_data_job"},
        "executionMetadata": {"tags": [{"key": "dagster/partition", "value": "2026-03-01"}]},
    }
    launched = dagster.query(LAUNCH, {"params": params})["launchRun"]
    assert launched["__typename"] == "LaunchRunSuccess", launched
    run_id = launched["run"]["runId"]
    assert wait_run(dagster, run_id) == "SUCCESS"
    mats = dagster.query(MATERIALIZATIONS, {"p": ["2026-03-01"]})["assetOrError"]
    entry = next(m for m in mats["assetMaterializations"] if m["runId"] == run_id)
    meta = {e["label"]: e.get("intValue", e.get("path")) for e in entry["metadataEntries"]}
    assert meta["devices_ok"] == 3
    assert Path(meta["path"]).exists() and meta["bytes"] == Path(meta["path"]).stat().st_size
    assert meta["rows_total"] > 3 * 1_200_000


def test_backfill_of_three_partitions_succeeds(dagster):
    params = {"assetSelection": [{"path": ["param_data"]}], "partitionNames": DAYS}
    launched = dagster.query(BACKFILL, {"params": params})["launchPartitionBackfill"]
    assert launched["__typename"] == "LaunchBackfillSuccess", launched
    end = time.monotonic() + 420
    while True:
        fill = dagster.query(BACKFILL_STATUS, {"id": launched["backfillId"]})
        status = fill["partitionBackfillOrError"]["status"]
        if status in ("COMPLETED", "COMPLETED_SUCCESS", "FAILED", "COMPLETED_FAILED", "CANCELED"):
            break
        assert time.monotonic() < end, f"backfill still {status}"
        time.sleep(2)
    assert status in ("COMPLETED", "COMPLETED_SUCCESS"), status
    mats = dagster.query(MATERIALIZATIONS, {"p": DAYS})["assetOrError"]["assetMaterializations"]
    assert sorted({m["partition"] for m in mats}) == DAYS


EDGES_JS = """() => Array.from(document.querySelectorAll('svg path[marker-end]')).map(p => {
    const m = p.getScreenCTM(), n = p.getTotalLength();
    const a = p.getPointAtLength(0).matrixTransform(m);
    const b = p.getPointAtLength(n).matrixTransform(m);
    return [a.x, a.y, b.x, b.y]; })"""
NODES_JS = """(names) => Object.fromEntries(names.map(name => {
    const el = Array.from(document.querySelectorAll('foreignObject *')).find(
        e => e.children.length === 0 && e.textContent.trim() === name);
    const r = el && el.closest('foreignObject').getBoundingClientRect();
    return [name, r ? [r.left, r.top, r.right, r.bottom] : null]; }))"""


def _drawn_edges(edges: list[list[float]], boxes: dict[str, list[float]]) -> set[tuple[str, str]]:
    """(from, to) asset pairs of the drawn edges: an edge leaves the right side of its source's
    node and ends at the left side of its target's (left-to-right layout)."""
    def at(x: float, y: float, side: int) -> str | None:
        near = [(abs(y - (b[1] + b[3]) / 2), name) for name, b in boxes.items()
                if b and abs(x - b[side]) <= 8 and b[1] <= y <= b[3]]
        return min(near)[1] if near else None
    return {(at(x0, y0, 2), at(x1, y1, 0)) for x0, y0, x1, y1 in edges}


SENSOR_TICKS = """
query($sel: SensorSelector!) { sensorOrError(sensorSelector: $sel) { __typename
  ... on Sensor { sensorState { ticks(limit: 50) { status timestamp runIds } } } } }
"""


def test_sensor_ticks_are_recorded_and_request_runs_for_new_files(dagster):
    """The daemon evaluates automation_sensor and the instance keeps its ticks; once a day has
    both files (param_data above, event_data launched here), a tick requests the day's
    file_stats (and what else reads the files), and those runs succeed."""
    location, repo = repository(dagster)
    params = {
        "selector": {"repositoryLocationName": location, "repositoryName": repo["name"],
                     "jobName": "event_data_job"},
        "executionMetadata": {"tags": [{"key": "dagster/partition", "value": DAYS[0]}]},
    }
    launched = dagster.query(LAUNCH, {"params": params})["launchRun"]
    assert launched["__typename"] == "LaunchRunSuccess", launched
    assert wait_run(dagster, launched["run"]["runId"]) == "SUCCESS"
    sel = {"repositoryLocationName": location, "repositoryName": repo["name"],
           "sensorName": "automation_sensor"}
    end = time.monotonic() + 240
    while True:
        sensor = dagster.query(SENSOR_TICKS, {"sel": sel})["sensorOrError"]
        assert sensor["__typename"] == "Sensor", sensor
        ticks = sensor["sensorState"]["ticks"]
        requested = [t for t in ticks if t["status"] == "SUCCESS" and t["runIds"]]
        if requested:
            break
        assert time.monotonic() < end, f"no tick requested runs: {ticks}"
        time.sleep(2)
    run_ids = requested[0]["runIds"]
    assert all(wait_run(dagster, r) == "SUCCESS" for r in run_ids)


@needs_chromium
def test_ui_global_lineage_draws_the_flow_in_headless_chromium(dagster, tmp_path):
    from playwright.sync_api import sync_playwright

    repository(dagster)  # the location is loaded before the page asks for it
    graph = defs.resolve_asset_graph()
    names = sorted(k.to_user_string() for k in graph.get_all_asset_keys())
    want = {(p.to_user_string(), k.to_user_string())
            for k in graph.get_all_asset_keys() for p in graph.get(k).parent_keys}
    assert {("param_data", "file_stats"), ("event_data", "file_stats"),
            ("file_stats", "published_json")} <= want
    with sync_playwright() as pw:
        browser = launch(pw)
        try:
            page = browser.new_page(viewport={"width": 1600, "height": 1000})
            page.goto(f"{dagster.url}/asset-groups", wait_until="networkidle", timeout=120_000)
            # The global lineage opens with each group collapsed into one box: expand them all
            # from the background's context menu, as an operator would.
            page.locator("foreignObject").get_by_text("statistics", exact=True).first.wait_for(
                timeout=120_000)
            group = page.locator("foreignObject").filter(has_text="statistics").first
            box = group.bounding_box()
            page.mouse.click(box["x"] + box["width"] / 2, box["y"] - 80,
                             button="right")  # the graph's background, above the groups
            page.locator(':text("Expand all groups"):visible').first.click()
            for name in names:
                page.locator("foreignObject").get_by_text(name, exact=True).first.wait_for(
                    timeout=60_000)
            page.wait_for_function(f"document.querySelectorAll('svg path[marker-end]').length"
                                   f" >= {len(want)}", timeout=60_000)
            page.screenshot(path=str(tmp_path / "global-lineage.png"))
            drawn = _drawn_edges(page.evaluate(EDGES_JS), page.evaluate(NODES_JS, names))
        finally:
            browser.close()
    assert drawn == want, f"drawn {sorted(drawn)}, defined {sorted(want)}"
    assert (tmp_path / "global-lineage.png").stat().st_size > 10_000
