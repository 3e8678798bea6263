"""File declarations for Rucio and MetaCat: a `<file name>.json` sidecar beside each data file.

The sidecar is a MetaCat *file description* (`metacat file declare -f`, the Python client's
`declare_file`): `namespace`, `name`, `size`, `checksums` (`adler32`, `md5`), `metadata` with
namespaced keys, and `parents` as `{"namespace", "name"}` dictionaries. Fermilab's declaration
daemon (declad) reads the same shape from `<file>.json` in its drop box (it takes `size`, and the
adler32 from `checksums`). docs/catalog.md says where each field was checked.

A sidecar is written atomically (a hidden temporary beside it, fsynced, renamed) and only for
the bytes actually hashed: if the file changed since it was read, nothing is written.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gmpsai_assets import __version__
from gmpsai_assets.catalog.checksums import Digests, FileChangedError, digest_file
from gmpsai_assets.files.datafile import DataFileInfo
from gmpsai_assets.files.drafts import publish
from gmpsai_assets.files.sidecar import sidecar_path
from gmpsai_assets.status import DeviceStatus
from gmpsai_assets.window import Window, format_local

PREFIX = "gmpsai."  # every metadata key is in the team's own MetaCat category
_NAMESPACE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


class CatalogError(ValueError):
    """A declaration that cannot be made or read (bad namespace, unreadable sidecar)."""


@dataclass(frozen=True)
class Declaration:
    """One file's declaration as written in its sidecar."""

    path: Path  # the data file
    body: dict[str, Any]

    @property
    def sidecar(self) -> Path:
        return sidecar_path(self.path)

    @property
    def size(self) -> int:
        return int(self.body["size"])

    @property
    def adler32(self) -> str:
        return str(self.body["checksums"]["adler32"])

    @property
    def md5(self) -> str:
        return str(self.body["checksums"]["md5"])

    @property
    def did(self) -> str:
        return f"{self.body['namespace']}:{self.body['name']}"


def check_namespace(namespace: str) -> str:
    if not _NAMESPACE_RE.match(namespace or ""):
        raise CatalogError(
            f"catalog namespace must be letters, digits, '_', '.' or '-', got {namespace!r} "
            "(GMPSAI_CATALOG_NAMESPACE)"
        )
    return namespace


def window_metadata(window: Window) -> dict[str, Any]:
    """The window as local text (the old file-name form) and as UTC epoch seconds."""
    start, stop = format_local(window.start), format_local(window.end)
    return {
        PREFIX + "window_start_local": start, PREFIX + "window_stop_local": stop,
        PREFIX + "window_start_utc": window.start, PREFIX + "window_stop_utc": window.end,
    }


def data_file_metadata(
    info: DataFileInfo, datasets: Mapping[str, tuple[str, int]]
) -> dict[str, Any]:
    """Metadata of a parameter or event file, new or old: what `open_data_file` knows about
    it plus each device's (or event's) status and row count, as read by the distiller."""
    meta: dict[str, Any] = {
        PREFIX + "format": info.format,
        PREFIX + "generation": info.generation,
    }
    if info.window is not None:
        meta.update(window_metadata(info.window))
    if info.node:
        meta[PREFIX + "node"] = info.node
    if info.source:
        meta[PREFIX + "source"] = info.source
    if info.created_utc is not None:
        meta[PREFIX + "created_utc"] = info.created_utc
    entries = {name: {"status": status, "rows": int(rows)}
               for name, (status, rows) in datasets.items()}
    for name, (status, _reason) in info.outcomes.items():  # failed events have no dataset
        if name not in entries and status == DeviceStatus.FAILED:
            entries[name] = {"status": status, "rows": 0}
    what = "devices" if info.kind == "params" else "events"
    meta[PREFIX + what] = entries
    meta[PREFIX + "rows_total"] = sum(e["rows"] for e in entries.values())
    meta[PREFIX + "failed"] = sorted(n for n, e in entries.items()
                                     if e["status"] == DeviceStatus.FAILED)
    return meta


def declare(
    path: str | Path,
    kind: str,
    metadata: Mapping[str, Any],
    namespace: str,
    parents: Iterable[str | Path] = (),
    digests: Digests | None = None,
) -> Declaration:
    """Write `path`'s declaration beside it and return it.

    `kind` is `params`, `events` or `cycles`; `metadata` keys should carry the `gmpsai.` prefix
    (added where missing). `parents` are files (or names) this one was derived from, declared
    in the same namespace. `digests` are checksums computed while the caller read the file
    anyway; without them the file is read once here. `namespace` is the caller's
    (GMPSAI_CATALOG_NAMESPACE: this layer reads no settings). FileChangedError when the file
    on disk is no longer the version the digests describe.
    """
    path = Path(path)
    namespace = check_namespace(namespace)
    if digests is None:
        digests = digest_file(path)
    st = path.stat()
    if st.st_size != digests.size or (digests.mtime_ns and st.st_mtime_ns != digests.mtime_ns):
        raise FileChangedError(f"{path.name}: replaced since its checksums were computed")
    meta = {(k if k.startswith(PREFIX) else PREFIX + k): v for k, v in metadata.items()}
    meta[PREFIX + "kind"] = kind
    meta[PREFIX + "software_version"] = __version__
    body = {
        "namespace": namespace,
        "name": path.name,
        "size": digests.size,
        "checksums": digests.catalogue_checksums(),
        "metadata": dict(sorted(meta.items())),
        "parents": [{"namespace": namespace, "name": Path(p).name} for p in parents],
    }
    write_sidecar(path, body)
    return Declaration(path, body)


def declare_data_file(
    info: DataFileInfo,
    datasets: Mapping[str, tuple[str, int]],
    digests: Digests | None,
    namespace: str,
) -> Declaration:
    """Declare a parameter or event file (new or old format) from what was read of it."""
    return declare(info.path, info.kind, data_file_metadata(info, datasets), namespace,
                   digests=digests)


def write_sidecar(path: Path, body: Mapping[str, Any]) -> Path:
    """Write the sidecar atomically: a hidden temporary in the same directory, then rename."""
    final = sidecar_path(path)
    fd, tmp = tempfile.mkstemp(dir=final.parent, prefix=f".{final.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(body, fh, indent=2, allow_nan=False)
            fh.write("\n")
        os.chmod(tmp, 0o644)
        publish(Path(tmp), final)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return final


def read_declaration(path: str | Path) -> Declaration:
    """The declaration of data file `path` from its sidecar; CatalogError if unusable."""
    path = Path(path)
    sidecar = sidecar_path(path)
    try:
        body = json.loads(sidecar.read_text(encoding="utf-8"))
        decl = Declaration(path, body)
        if not (isinstance(decl.size, int) and re.fullmatch(r"[0-9a-f]{8}", decl.adler32)
                and re.fullmatch(r"[0-9a-f]{32}", decl.md5)):
            raise ValueError("size or checksums malformed")
    except FileNotFoundError:
        raise
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise CatalogError(f"{sidecar.name}: not a usable declaration ({exc})") from None
    return decl


def withdraw(path: str | Path) -> bool:
    """Remove `path`'s sidecar (the file is gone, replaced, or no longer readable)."""
    sidecar = sidecar_path(path)
    existed = sidecar.exists()
    sidecar.unlink(missing_ok=True)
    return existed
