"""Where a file's declaration lives: `<file name>.json` beside it (declad's default suffix).

A leaf module, so the file layer can remove a superseded file's sidecar with the file."""

from __future__ import annotations

from pathlib import Path

SIDECAR_SUFFIX = ".json"


def sidecar_path(path: str | Path) -> Path:
    path = Path(path)
    return path.with_name(path.name + SIDECAR_SUFFIX)


def remove_with_sidecar(path: Path) -> None:
    """Delete a data file and then its declaration: a sidecar never outlives its file's
    removal by more than this call, and never describes another file."""
    path.unlink(missing_ok=True)
    sidecar_path(path).unlink(missing_ok=True)
