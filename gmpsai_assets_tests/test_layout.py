"""The package's import directions, read from the source with `ast`: a wrong import fails here
before it becomes a cycle or a Dagster dependency of the domain core."""

from __future__ import annotations

import ast
from pathlib import Path

import gmpsai_assets

ROOT = Path(gmpsai_assets.__file__).parent


def _imports() -> dict[str, set[str]]:
    """Module name -> every module it imports (anywhere in its body), relative imports resolved."""
    out: dict[str, set[str]] = {}
    for path in sorted(ROOT.rglob("*.py")):
        parts = path.relative_to(ROOT.parent).with_suffix("").parts
        module = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*anchor, base] if base else anchor)
                names.add(base)
                names.update(f"{base}.{alias.name}" for alias in node.names)
        out[module] = names
    return out


IMPORTS = _imports()


def _offenders(inside: str, forbidden: str) -> dict[str, list[str]]:
    return {
        mod: sorted(n for n in names if n == forbidden or n.startswith(forbidden + "."))
        for mod, names in IMPORTS.items()
        if (mod == inside or mod.startswith(inside + "."))
        and any(n == forbidden or n.startswith(forbidden + ".") for n in names)
    }


def test_the_walk_sees_the_imports_it_judges():
    # the rules below are only as good as the walk: it must see a known import of each kind
    assert "gmpsai_assets.acnet.tclk" in IMPORTS["gmpsai_assets.sim.timing"]
    assert "dagster" in IMPORTS["gmpsai_assets.defs.param_data"]


def test_acnet_never_imports_the_simulator():
    assert _offenders("gmpsai_assets.acnet", "gmpsai_assets.sim") == {}


def test_the_domain_core_never_imports_dagster():
    dagster_side = ("gmpsai_assets.defs", "gmpsai_assets.definitions", "gmpsai_assets.cli")
    core = {mod for mod in IMPORTS if not mod.startswith(dagster_side)}
    bad = {mod: names for mod, names in _offenders("gmpsai_assets", "dagster").items()
           if mod in core}
    assert bad == {}


def test_configuration_does_not_reach_into_the_control_system():
    assert _offenders("gmpsai_assets.settings", "gmpsai_assets.acnet") == {}


def test_the_quality_vocabulary_imports_nothing_of_the_package():
    # settings takes its completeness defaults from it, so it must stay a leaf
    assert _offenders("gmpsai_assets.quality", "gmpsai_assets").get("gmpsai_assets.quality") is None


def test_the_cli_uses_only_public_pieces_of_the_dagster_layer():
    private = {mod: sorted(n for n in names if n.startswith("gmpsai_assets.defs")
                           and n.rpartition(".")[2].startswith("_"))
               for mod, names in IMPORTS.items() if mod.startswith("gmpsai_assets.cli")}
    assert {mod: names for mod, names in private.items() if names} == {}


def test_the_timeline_store_has_its_own_database_helper():
    assert _offenders("gmpsai_assets.timeline", "gmpsai_assets.stats") == {}


def test_files_know_tclk_names_but_no_source_types():
    acnet = _offenders("gmpsai_assets.files", "gmpsai_assets.acnet")
    beyond_tclk = {mod: [n for n in names if not n.startswith("gmpsai_assets.acnet.tclk")]
                   for mod, names in acnet.items()}
    assert {mod: names for mod, names in beyond_tclk.items() if names} == {}
