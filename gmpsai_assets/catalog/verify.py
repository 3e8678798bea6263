"""Re-compute the checksums of declared files and say which no longer match their declaration.

Bit rot, a truncated copy, a file rewritten in place: any of them changes the size, Adler-32 or
MD5 a sidecar records. Every file is read once; nothing is written.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from gmpsai_assets.catalog.checksums import digest_file
from gmpsai_assets.catalog.declaration import CatalogError, read_declaration
from gmpsai_assets.files.sidecar import SIDECAR_SUFFIX

DATA_SUFFIXES = (".h5", ".parquet")


def _should_be_declared(path: Path) -> bool:
    """Data files the platform declares: HDF5 data files and cycle tables (other Parquet,
    such as the timeline's own store, is not a catalogue product)."""
    cycle_table = path.suffix == ".parquet" and path.name.startswith("CycleTable_")
    return path.suffix == ".h5" or cycle_table

OK, MISMATCH, MISSING, UNREADABLE, UNDECLARED = (
    "ok", "mismatch", "missing", "unreadable", "undeclared")
FAILING = (MISMATCH, MISSING, UNREADABLE)


@dataclass(frozen=True)
class Verdict:
    path: Path  # the data file
    status: str  # ok | mismatch | missing | unreadable | undeclared
    detail: str = ""

    @property
    def failed(self) -> bool:
        return self.status in FAILING

    def line(self) -> str:
        detail = f": {self.detail}" if self.detail else ""
        return f"{self.status.upper():10s} {self.path}{detail}"


def visible_files(directory: Path) -> Iterator[Path]:
    """Regular files under `directory`, sorted, skipping hidden names (temporaries, drafts in
    flight) at any depth."""
    for path in sorted(directory.rglob("*")):
        rel = path.relative_to(directory)
        if any(part.startswith(".") for part in rel.parts) or not path.is_file():
            continue
        yield path


def verify_file(path: Path) -> Verdict:
    """Compare one declared file's bytes with its sidecar."""
    try:
        decl = read_declaration(path)
    except FileNotFoundError:
        return Verdict(path, UNDECLARED, "no declaration")
    except CatalogError as exc:
        return Verdict(path, UNREADABLE, str(exc))
    try:
        got = digest_file(path)
    except FileNotFoundError:
        return Verdict(path, MISSING, f"declared ({decl.size} bytes) but the file is gone")
    except OSError as exc:
        return Verdict(path, UNREADABLE, exc.strerror or str(exc))
    wrong = [f"{what} {have} != declared {want}" for what, have, want in (
        ("size", got.size, decl.size), ("adler32", got.adler32, decl.adler32),
        ("md5", got.md5, decl.md5)) if have != want]
    return Verdict(path, MISMATCH, "; ".join(wrong)) if wrong else Verdict(path, OK)


def verify_dir(directory: Path) -> list[Verdict]:
    """One verdict per declared file under `directory` (and per data file without one)."""
    files = list(visible_files(directory))
    targets: set[Path] = set()
    for path in files:
        if path.name.endswith(SIDECAR_SUFFIX) and not path.name.endswith(SIDECAR_SUFFIX * 2):
            data = path.with_name(path.name[: -len(SIDECAR_SUFFIX)])
            if data.suffix in DATA_SUFFIXES:
                targets.add(data)
        elif _should_be_declared(path):
            targets.add(path)
    return [verify_file(p) for p in sorted(targets)]
