"""The import directions of docs/design.md's layer table, read from the source with `ast`: a
wrong import fails here (and in `make lint`) before it becomes a cycle or a Dagster dependency of
the domain core. The table is parsed from the doc, so the rule is written once."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import gmpsai_assets

ROOT = Path(gmpsai_assets.__file__).parent
REPO = ROOT.parent
DESIGN = REPO / "docs" / "design.md"
PACKAGE = "gmpsai_assets"
BESIDE = ("harness", "benchmarks", "gmpsai_assets_tests")


def _module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules(top: str) -> set[str]:
    return {_module_name(p) for p in (REPO / top).rglob("*.py")}


KNOWN = set().union(*(_modules(t) for t in (PACKAGE, *BESIDE)))


def imports_of(path: Path) -> set[str]:
    """Every module `path` imports, anywhere in its body (lazy imports count), relative imports
    resolved; `from X import name` counts X, and X.name when that is a module of the repo."""
    module = _module_name(path)
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
            submodules = {f"{base}.{a.name}" for a in node.names} & KNOWN
            names.update(submodules)
            if len(submodules) < len(node.names):  # names of `base` itself, not only modules
                names.add(base)
    return names


def _imports(top: str) -> dict[str, set[str]]:
    return {_module_name(p): imports_of(p) for p in sorted((REPO / top).rglob("*.py"))}


IMPORTS = _imports(PACKAGE)


def unit_of(module: str) -> str | None:
    """The table's unit of a module of the package (`gmpsai_assets.acnet.tclk` -> `acnet`)."""
    parts = module.split(".")
    return parts[1] if parts[0] == PACKAGE and len(parts) > 1 else None


def layer_table(text: str) -> dict[str, tuple[set[str], str]]:
    """design.md's table: unit -> (what it may import, its Dagster cell)."""
    section = text.split("## Layers: who may import whom", 1)[1].split("\n## ", 1)[0]
    rows: dict[str, tuple[set[str], str]] = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 3 or not cells[0].startswith("`"):
            continue
        unit = cells[0].strip("`")
        rows[unit] = (set(re.findall(r"`([^`]+)`", cells[1])), cells[2])
    return rows


TABLE = layer_table(DESIGN.read_text())


def _allowed(may: set[str], target: str) -> bool:
    tail = target.split(".", 1)[1]
    return any(tail == m or tail.startswith(m + ".") for m in may)


def violations(imports: dict[str, set[str]], table: dict[str, tuple[set[str], str]]
               ) -> list[str]:
    """Every import of the package against the table: a unit it does not list, Dagster where
    its row says no, or anything of the tests, benchmarks or harness (none is shipped)."""
    out = []
    for mod, names in sorted(imports.items()):
        unit = unit_of(mod)
        if unit is None:
            continue
        if unit not in table:
            out.append(f"{mod}: unit {unit!r} has no row in docs/design.md's layer table")
            continue
        may, dagster_cell = table[unit]
        dagster_ok = dagster_cell == "yes" or f"`{mod.split('.', 1)[1]}`" in dagster_cell
        for name in sorted(names):
            top = name.split(".")[0]
            target_unit = unit_of(name)
            if top in BESIDE or top == "pytest":
                out.append(f"{mod} imports {name}: the package never imports {top}")
            elif top.startswith("dagster") and not dagster_ok:
                out.append(f"{mod} imports {name}: Dagster is not allowed there")
            elif target_unit and target_unit != unit and not _allowed(may, name):
                out.append(f"{mod} imports {name}: {unit} may import only {sorted(may)}")
    return out


def test_the_table_is_read_whole():
    # every unit of the package has a row, and every row names a unit that exists
    units = {unit_of(m) for m in IMPORTS} - {None}
    assert set(TABLE) == units, (set(TABLE) ^ units)
    for unit, (may, dagster) in TABLE.items():
        assert may <= units | {m.split(".", 1)[1] for m in IMPORTS if "." in m}, unit
        assert dagster in ("yes", "no") or dagster.startswith("`"), (unit, dagster)


def test_the_walk_sees_the_imports_it_judges():
    # the rules are only as good as the walk: it must see a known import of each kind
    assert "gmpsai_assets.acnet.tclk" in IMPORTS["gmpsai_assets.sim.timing"]
    assert "dagster" in IMPORTS["gmpsai_assets.defs.param_data"]
    assert "gmpsai_assets.files.sidecar" in IMPORTS["gmpsai_assets.files.naming"]  # a name of it


def test_every_import_of_the_package_follows_the_layer_table():
    assert violations(IMPORTS, TABLE) == []


@pytest.mark.parametrize("mod, name", [
    ("gmpsai_assets.acnet.acl_client", "gmpsai_assets.settings"),  # acnet takes arguments
    ("gmpsai_assets.acnet.acl_client", "gmpsai_assets.sim.acl_server"),
    ("gmpsai_assets.files.paramfile", "gmpsai_assets.acnet.acl_client"),  # tclk names only
    ("gmpsai_assets.stats.store", "dagster"),
    ("gmpsai_assets.cli.grab_params", "dagster"),  # only the three instance commands
    ("gmpsai_assets.publish.site", "gmpsai_assets_tests.conftest"),
    ("gmpsai_assets.settings", "gmpsai_assets.acnet.devices"),
])
def test_the_rule_refuses_a_wrong_import(mod, name):
    assert violations({**IMPORTS, mod: IMPORTS[mod] | {name}}, TABLE) != []


def test_the_table_has_no_cycles():
    graph = {u: {m.split(".")[0] for m in may} for u, (may, _) in TABLE.items()}
    state: dict[str, int] = {}

    def visit(u: str, path: list[str]) -> None:
        state[u] = 1
        for v in graph.get(u, ()):
            assert state.get(v) != 1, f"cycle: {' -> '.join([*path, u, v])}"
            if v not in state:
                visit(v, [*path, u])
        state[u] = 2

    for u in graph:
        if u not in state:
            visit(u, [])


def test_the_quality_vocabulary_imports_nothing_of_the_package():
    # settings takes its completeness defaults from it, so it must stay a leaf
    assert {n for n in IMPORTS["gmpsai_assets.quality"] if n.startswith(PACKAGE)} == set()


def test_the_cli_uses_only_public_pieces_of_the_dagster_layer():
    private = {mod: sorted(n for n in names if n.startswith("gmpsai_assets.defs")
                           and n.rpartition(".")[2].startswith("_"))
               for mod, names in IMPORTS.items() if mod.startswith("gmpsai_assets.cli")}
    assert {mod: names for mod, names in private.items() if names} == {}


@pytest.mark.parametrize("top, forbidden", [
    ("harness", ("gmpsai_assets_tests", "benchmarks", "pytest")),
    ("benchmarks", ("gmpsai_assets_tests",)),
])
def test_beside_the_package(top, forbidden):
    bad = {mod: sorted(n for n in names if n.split(".")[0] in forbidden)
           for mod, names in _imports(top).items()}
    assert {mod: names for mod, names in bad.items() if names} == {}
