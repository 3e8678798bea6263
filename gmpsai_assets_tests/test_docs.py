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
