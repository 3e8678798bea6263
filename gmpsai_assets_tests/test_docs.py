"""The README stays a short front door, and what README.md and docs/ point at exists: linked files
and headings, `gmpsai` subcommands and their options, and every GMPSAI_ variable the code reads."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from gmpsai_assets.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
PAGES = [README, *sorted((ROOT / "docs").glob("*.md"))]

# [text](target) outside code; images too. Targets with a scheme or a bare #anchor are skipped
# below except that a bare #anchor is checked against the page itself.
LINK = re.compile(r"(?<!`)\[[^\]\n]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```.*?^```", re.M | re.S)
# `gmpsai sub ...` in inline code, or a command line in a code block
INLINE_CMD = re.compile(r"`(?:\.venv/bin/)?gmpsai ([a-z][a-z-]*)([^`]*)`")
BLOCK_CMD = re.compile(r"^\s*(?:\S+=\S+\s+)*(?:\.venv/bin/)?gmpsai ([a-z][a-z-]*)(.*)$", re.M)
OPTION = re.compile(r"(?<![\w-])(--?[A-Za-z][\w-]*)")


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    text = FENCE.sub("", page.read_text(encoding="utf-8"))
    return {slug(m.group(1)) for m in re.finditer(r"^#{1,6} (.+)$", text, re.M)}


def links(page: Path) -> list[str]:
    return LINK.findall(FENCE.sub("", page.read_text(encoding="utf-8")))


def test_readme_is_a_short_front_door() -> None:
    data = README.read_bytes()
    assert len(data) <= 12_000, f"README.md is {len(data)} bytes; move depth to docs/"
    quick = data.decode().split("## Quick start", 1)[1].split("\n## ", 1)[0]
    assert "```sh\nmake run\nmake test\n```" in quick


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_relative_links_resolve(page: Path) -> None:
    found = links(page)
    assert page != README or len(found) >= 10  # the parser would otherwise miss everything
    broken = []
    for target in found:
        if re.match(r"^[a-z][a-z+.-]*:", target):  # https:, mailto:
            continue
        path, _, anchor = target.partition("#")
        dest = (page.parent / path).resolve() if path else page
        if not dest.exists():
            broken.append(f"{target}: no such file")
        elif anchor and dest.suffix == ".md" and anchor not in anchors(dest):
            broken.append(f"{target}: no heading #{anchor} in {dest.name}")
    assert not broken, f"{page.name}: " + "; ".join(broken)


def subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(sub.choices)


def test_documented_commands_and_options_exist() -> None:
    commands = subcommands()
    wrong = []
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        blocks = "\n".join(m.group(0) for m in FENCE.finditer(text))
        uses = INLINE_CMD.findall(FENCE.sub("", text)) + BLOCK_CMD.findall(blocks)
        for name, rest in uses:
            if name not in commands:
                wrong.append(f"{page.name}: gmpsai {name}")
                continue
            known = set(commands[name]._option_string_actions)
            rest = rest.split("#", 1)[0]  # a shell comment after the command
            wrong += [f"{page.name}: gmpsai {name} {opt}" for opt in OPTION.findall(rest)
                      if opt not in known]
    assert not wrong, "documented but not in the CLI: " + ", ".join(wrong)


def test_every_variable_the_code_reads_is_documented() -> None:
    code = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "gmpsai_assets").rglob("*.py"))
    names = set(re.findall(r"\bGMPSAI_[A-Z0-9_]+\b", code)) - {"GMPSAI_SITE"}  # a JS global
    docs = "\n".join(p.read_text(encoding="utf-8") for p in PAGES)
    assert len(names) > 20
    missing = sorted(n for n in names if f"`{n}`" not in docs)
    assert not missing, f"not documented in README.md or docs/: {missing}"


def test_readme_names_only_real_definitions() -> None:
    """Assets (the table's first column), checks, jobs, schedules and sensors the README names."""
    from gmpsai_assets.definitions import defs

    repo = defs.get_repository_def()
    assets = {k.to_user_string() for k in repo.asset_graph.get_all_asset_keys()}
    checks = {c.name for c in repo.asset_graph.asset_check_keys}
    others = ({j.name for j in repo.get_all_jobs()} | {s.name for s in repo.schedule_defs}
              | {s.name for s in repo.sensor_defs})
    text = README.read_text(encoding="utf-8")
    table = re.findall(r"^\| `([a-z_]+)` \|", text.split("## Assets", 1)[1], re.M)
    named = set(re.findall(r"`([a-z0-9_]+_(?:job|schedule|sensor))`", text))
    checks_named = set(re.findall(r"`([a-z0-9_]+)`", text.split("Asset checks:", 1)[1]
                                  .split("\n\n", 1)[0]))
    assert len(table) >= 5 and named and checks_named
    missing = (set(table) - assets) | (named - others) | (checks_named - checks - assets)
    assert not missing, f"README names what the definitions do not have: {sorted(missing)}"


# *Italic* words in the operator pages are what the Dagster UI shows: a button, tab or status.
UI_WORDS = re.compile(r"(?<![*\w])\*([A-Z][^*]*?)\*(?![*\w])")
UI_PAGES = [README, ROOT / "docs" / "operations.md", ROOT / "docs" / "timeline.md"]


def test_ui_words_are_the_installed_dagster_uis() -> None:
    """Every *Button* the runbooks name is a string of the installed Dagster UI (its web app's
    JavaScript), so a renamed button ("Assets" became "Catalog") fails here, not for a
    person."""
    import dagster_webserver

    app = Path(dagster_webserver.__file__).parent / "webapp" / "build"
    ui = "\n".join(p.read_text(encoding="utf-8", errors="replace") for p in app.rglob("*.js"))
    words = {" ".join(w.split()) for page in UI_PAGES
             for w in UI_WORDS.findall(FENCE.sub("", page.read_text(encoding="utf-8")))}
    assert {"Catalog", "Lineage", "Launchpad", "Launch Run", "Canceled",
            "Backfill only failed and missing partitions within selection"} <= words
    # a trailing "…" stands for what the UI fills in (`Launch runs to materialize …`)
    missing = sorted(w for w in words if f'"{w.removesuffix("…").rstrip()}' not in ui)
    assert not missing, f"not words of the Dagster UI: {missing}"


def test_the_simulator_page_names_the_days_with_an_unlogged_device() -> None:
    """docs/simulator.md says which simulated days fail checks on purpose (README points there)."""
    import datetime as dt

    from gmpsai_assets.sim.simulator import SimulatedBooster

    text = " ".join((ROOT / "docs" / "simulator.md").read_text(encoding="utf-8").split())
    booster = SimulatedBooster()
    assert ("unlogged_device(datetime.date(2026, 11, 28))` gives `'B:IMINST'`" in text
            and booster.unlogged_device(dt.date(2026, 11, 28)) == "B:IMINST")
    days = [dt.date(2026, 1, 1) + dt.timedelta(days=i) for i in range(365)]
    assert "104 days of 2026 have one" in text
    assert sum(booster.unlogged_device(d) is not None for d in days) == 104
    named = {"2026-11-25": True, "2026-11-28": True, "2026-11-29": True, "2026-12-02": True,
             "2026-12-03": True, "2026-11-26": False, "2026-11-27": False, "2026-11-30": False,
             "2026-12-01": False, "2026-12-04": False}
    assert {d: booster.unlogged_device(dt.date.fromisoformat(d)) is not None
            for d in named} == named
    from gmpsai_assets.quality import COMPLETENESS_WARN
    from gmpsai_assets.window import day_window

    def outage_share(day: dt.date) -> float:
        w = day_window(day)
        return sum(min(b, w.end) - max(a, w.start) for a, b in booster.outages(w)) / w.seconds

    worst = max(outage_share(d) for d in days)
    assert "at most 1.8 % of a day (2026)" in text and round(100 * worst, 1) == 1.8
    assert 1 - worst > COMPLETENESS_WARN
