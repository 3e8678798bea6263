"""One snapshot of the Dagster definitions: assets (deps, group, kinds, partitions, pool,
automation), checks (automation too), jobs, schedules (cron, timezone), sensors (an automation
sensor's backfills too) and resources, compared with the committed
gmpsai_assets_tests/snapshots/definitions.json. It changes only when a definition does.

After changing a definition on purpose, refresh the file and review its diff:

    make snapshot        # = UPDATE_SNAPSHOTS=1 .venv/bin/python -m pytest <this file>
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import dagster as dg
import pytest

from gmpsai_assets_tests.conftest import updating_snapshots

SNAPSHOT = Path(__file__).parent / "snapshots" / "definitions.json"


def _partitions(p: dg.PartitionsDefinition | None) -> str | None:
    if p is None:
        return None
    if isinstance(p, dg.DynamicPartitionsDefinition):
        return f"dynamic:{p.name}"
    if isinstance(p, dg.TimeWindowPartitionsDefinition):
        return (f"{type(p).__name__}(start={p.start.date()}, tz={p.timezone}, "
                f"cron={p.cron_schedule})")
    return type(p).__name__


def _condition(c: dg.AutomationCondition | None) -> str | None:
    """The whole tree of an automation condition: a change anywhere in it shows."""
    if c is None:
        return None
    label = f"[{c.get_label()}]" if c.get_label() else ""
    children = ", ".join(_condition(ch) or "" for ch in c.children)
    return f"{c.name}{label}({children})" if children else f"{c.name}{label}"


def describe(defs: dg.Definitions) -> dict:
    """The definitions as plain data, sorted, without descriptions (wording is not shape)."""
    assets = {}
    for a in defs.assets or []:
        # an AssetSpec (an asset no run materializes: the timeline logger's store) is its own spec
        specs = a.specs_by_key if isinstance(a, dg.AssetsDefinition) else {a.key: a}
        for key, spec in specs.items():
            assets[key.to_user_string()] = {
                "deps": sorted(d.asset_key.to_user_string() for d in spec.deps),
                "group": spec.group_name,
                "kinds": sorted(spec.kinds),
                "partitions": _partitions(spec.partitions_def),
                "pool": a.op.pool if isinstance(a, dg.AssetsDefinition) and a.is_executable
                else None,
                "automation": _condition(spec.automation_condition),
            }
    checks = {}
    # Checks of their own and checks an asset's step yields (file_stats's check_specs).
    owners = [*(defs.asset_checks or []),
              *(a for a in defs.assets or [] if isinstance(a, dg.AssetsDefinition))]
    for c in owners:
        for spec in c.check_specs:
            checks[f"{spec.asset_key.to_user_string()}:{spec.name}"] = {
                "additional_deps": sorted(d.asset_key.to_user_string()
                                          for d in spec.additional_deps),
                "partitions": _partitions(spec.partitions_def),
                "automation": _condition(spec.automation_condition),
            }
    jobs = {}
    for j in defs.jobs or []:
        if isinstance(j, dg.JobDefinition):
            jobs[j.name] = {"ops": sorted(j.graph.node_dict), "tags": dict(j.tags),
                            "executor": j.executor_def.name}
        else:
            jobs[j.name] = {"selection": str(j.selection), "tags": dict(j.tags or {})}
    schedules = {
        s.name: {"job": s.job_name, "cron": s.cron_schedule, "timezone": s.execution_timezone,
                 "default_status": s.default_status.value}
        for s in (defs.resolve_schedule_def(u.name) for u in defs.schedules or [])
    }
    sensors = {
        s.name: {"type": type(s).__name__, "interval_s": s.minimum_interval_seconds,
                 "default_status": s.default_status.value,
                 "jobs": sorted(t.job_name for t in s.targets),
                 "assets": str(s.asset_selection) if s.asset_selection else None,
                 **({"emit_backfills": s.emit_backfills}
                    if isinstance(s, dg.AutomationConditionSensorDefinition) else {})}
        for s in defs.sensors or []
    }
    resources = {
        key: {"type": type(r).__name__, "fields": sorted(type(r).model_fields)}
        for key, r in (defs.resources or {}).items()
    }
    return {"assets": assets, "checks": checks, "jobs": jobs, "schedules": schedules,
            "sensors": sensors, "resources": resources}


def test_definitions_match_the_snapshot(monkeypatch) -> None:
    # The two settings read as the definitions load, at their defaults.
    for var in ("GMPSAI_START_DATE", "GMPSAI_TIMELINE_SENSOR_S"):
        assert not os.environ.get(var), f"unset {var} to compare the snapshot"
    from gmpsai_assets.definitions import defs

    dg.Definitions.validate_loadable(defs)
    now = json.dumps(describe(defs), indent=1, sort_keys=True) + "\n"
    if updating_snapshots():
        SNAPSHOT.parent.mkdir(exist_ok=True)
        SNAPSHOT.write_text(now)
    assert SNAPSHOT.read_text() == now, (
        "the definitions changed: if on purpose, run `make snapshot` and commit the diff")


def test_ci_refuses_to_rewrite_snapshots(monkeypatch):
    monkeypatch.setenv("UPDATE_SNAPSHOTS", "1")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="refused when CI is set"):
        updating_snapshots()
    monkeypatch.delenv("CI")
    assert updating_snapshots() is True
