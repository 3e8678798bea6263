"""The Definitions as an operator meets them in the UI: the graph is the flow, every asset is
produced by something, and every description reads right once rendered as Markdown."""

from __future__ import annotations

import re

import dagster as dg
import pytest
from markdown_it import MarkdownIt

from gmpsai_assets.definitions import defs
from gmpsai_assets.defs.timeline import timeline_records_schedule

# What the UI may show of a description: paragraphs, code spans, lists, links, bold. A tag
# beyond these is a `<placeholder>` swallowed as HTML or `_text_` turned italic.
RENDERED_TAGS = {"p", "code", "ul", "ol", "li", "a", "strong"}


def producers(definitions: dg.Definitions) -> dict[dg.AssetKey, list[str]]:
    """For every asset, what starts its materializations: a schedule or sensor whose job
    selects it, or an automation sensor covering it while it has an automation condition. An
    asset no run materializes (the timeline logger's store) is produced by the job its
    `written_by` metadata names, when a sensor keeps that job running."""
    repo = definitions.get_repository_def()
    graph = repo.asset_graph
    found: dict[dg.AssetKey, list[str]] = {k: [] for k in graph.get_all_asset_keys()}

    def job_assets(job_name: str) -> set[dg.AssetKey]:
        return set(repo.get_job(job_name).asset_layer.selected_asset_keys)

    for schedule in repo.schedule_defs:
        for key in job_assets(schedule.job_name):
            found[key].append(f"schedule {schedule.name}")
    for sensor in repo.sensor_defs:
        if isinstance(sensor, dg.AutomationConditionSensorDefinition):
            for key in sensor.asset_selection.resolve(graph):
                if graph.get(key).automation_condition is not None:
                    found[key].append(f"automation sensor {sensor.name}")
            continue
        for target in sensor.targets:
            for key in job_assets(target.job_name):
                found[key].append(f"sensor {sensor.name}")
    for key in found:
        writer = graph.get(key).metadata.get("written_by")
        keepers = sorted(s.name for s in repo.sensor_defs for t in s.targets
                         if t.job_name == writer)
        if not graph.get(key).is_materializable and keepers:
            found[key].append(f"job {writer}, kept by {', '.join(keepers)}")
    return found


def test_every_asset_is_scheduled_or_automated():
    orphans = [k.to_user_string() for k, how in producers(defs).items() if not how]
    assert not orphans, f"nothing materializes {orphans}: give each a schedule, sensor or " \
                        "automation condition covered by an automation sensor"


def test_the_producer_walk_finds_an_orphan():
    """Without its schedule, nothing produces timeline_records, and the walk says so."""
    without = dg.Definitions(
        assets=defs.assets, asset_checks=defs.asset_checks, jobs=defs.jobs,
        schedules=[s for s in defs.schedules if s is not timeline_records_schedule],
        sensors=defs.sensors, resources=defs.resources,
    )
    assert producers(without)[dg.AssetKey("timeline_records")] == []
    assert producers(defs)[dg.AssetKey("timeline_records")] == [
        "schedule timeline_records_schedule"]


def test_lineage_is_the_flow():
    graph = defs.resolve_asset_graph()

    def parents(name: str) -> set[str]:
        return {k.to_user_string() for k in graph.get(dg.AssetKey(name)).parent_keys}

    assert parents("file_stats") >= {"param_data", "event_data"}
    assert parents("timeline_records") == {"timeline_store"}  # where the records come from
    assert parents("published_json") == {"file_stats"}
    assert graph.get(dg.AssetKey("file_stats")).partitions_def == \
        graph.get(dg.AssetKey("param_data")).partitions_def
    roots = {k.to_user_string() for k in graph.get_all_asset_keys()
             if not graph.get(k).parent_keys}
    assert "file_stats" not in roots and "published_json" not in roots
    assert producers(defs)[dg.AssetKey("timeline_store")] == [
        "job timeline_logger_job, kept by timeline_keepalive_sensor, timeline_restart_sensor"]


def descriptions(definitions: dg.Definitions) -> list[tuple[str, str]]:
    """(what, description) of every asset, check, job, op of an op job, schedule and sensor."""
    repo = definitions.get_repository_def()
    graph = repo.asset_graph
    out = [(f"asset {k.to_user_string()}", graph.get(k).description or "")
           for k in graph.get_all_asset_keys()]
    out += [(f"check {k.name}", graph.get_check_spec(k).description or "")
            for k in graph.asset_check_keys]
    for job in repo.get_all_jobs():
        if job.name.startswith("__"):
            continue
        out.append((f"job {job.name}", job.description or ""))
        if not job.asset_layer.selected_asset_keys:  # an asset's op shows the asset's text
            out += [(f"op {node.name}", node.definition.description or "")
                    for node in job.graph.nodes]
    out += [(f"schedule {s.name}", s.description or "") for s in repo.schedule_defs]
    out += [(f"sensor {s.name}", s.description or "") for s in repo.sensor_defs]
    return out


def rendered_tags(text: str) -> set[str]:
    html = MarkdownIt("commonmark").render(text)
    return set(re.findall(r"</?([A-Za-z][\w-]*)", html))


def test_the_render_check_catches_what_the_ui_swallows():
    assert rendered_tags("file MLParamData_<created>_From_<node>.h5") - RENDERED_TAGS
    assert rendered_tags("under <data dir>/params") - RENDERED_TAGS
    assert rendered_tags("Data_x_From_y") <= RENDERED_TAGS  # intraword _ stays literal
    assert rendered_tags("a _From_ b") - RENDERED_TAGS
    assert rendered_tags("`MLParamData_<created>_From_<node>.h5` under `<data dir>`") \
        <= RENDERED_TAGS


@pytest.mark.parametrize("what,text", descriptions(defs), ids=lambda v: str(v)[:40])
def test_description_renders_as_written(what, text):
    assert text.strip(), f"{what} has no description"
    extra = rendered_tags(text) - RENDERED_TAGS
    assert not extra, f"{what}: the UI would render {sorted(extra)} from {text!r}"
