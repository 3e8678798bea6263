"""constraints.txt pins what `make` installs: every dependency pyproject.toml names (the extras
included) has an exact version there, inside pyproject's range, so a dependency added without
`make lock` fails here rather than installing an untested version on the next fresh clone."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]


def pins() -> dict[str, str]:
    found = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, sep, version = line.partition("==")
            assert sep and version, f"constraints.txt: not an exact pin: {line!r}"
            found[canonicalize_name(name)] = version
    return found


def requirements() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = list(project["dependencies"])
    for extra in project.get("optional-dependencies", {}).values():
        reqs += extra
    return [Requirement(r) for r in reqs]


def test_every_dependency_is_pinned_inside_its_range() -> None:
    pinned = pins()
    assert len(pinned) > 30  # the whole tree, not only the direct dependencies
    assert {"pip", "setuptools"} <= pinned.keys()
    wrong = []
    for req in requirements():
        version = pinned.get(canonicalize_name(req.name))
        if version is None:
            wrong.append(f"{req.name} not pinned")
        elif not req.specifier.contains(version, prereleases=True):
            wrong.append(f"{req.name}=={version} outside {req.specifier}")
    assert not wrong, "run `make lock`: " + ", ".join(wrong)


def test_make_installs_from_the_constraints() -> None:
    makefile = (ROOT / "Makefile").read_text()
    install = re.search(r"^\$\(STAMP\):.*\n((?:\t.*\n)+)", makefile, re.M)
    assert install, "no install recipe for $(STAMP) in the Makefile"
    assert "PIP_CONSTRAINT=$(CURDIR)/$(LOCK)" in install.group(1)
    assert re.search(r"^LOCK\s*:?=\s*constraints\.txt$", makefile, re.M)
