"""Hand declarations to MetaCat and Rucio with their own clients, when a server is configured.

Only the real client packages are used (`metacat-client`, `rucio-clients`: the optional extra
`gmpsai-assets[catalog]`); there is no protocol code here. Without GMPSAI_METACAT_URL and
GMPSAI_RUCIO_RSE nothing is imported and nothing is sent: the sidecars are the product, and
a declaration daemon can take them from there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from gmpsai_assets.catalog.declaration import Declaration


class SendError(RuntimeError):
    """A configured catalogue refused the declaration or could not be reached."""


class SendSetupError(SendError, ValueError):
    """A catalogue is configured but cannot be used: client not installed, setting missing."""


class TargetSettings(Protocol):
    """What `Targets.from_settings` reads (gmpsai_assets.settings.Settings has it): the
    catalogue is handed its configuration and never reads the settings itself."""

    metacat_url: str | None
    metacat_auth_url: str | None
    metacat_dataset: str | None
    rucio_rse: str | None


@dataclass(frozen=True)
class Targets:
    """Where declarations go; empty strings switch a target off."""

    metacat_url: str = ""
    metacat_auth_url: str = ""
    metacat_dataset: str = ""  # namespace:name the files are added to (MetaCat requires one)
    rucio_rse: str = ""  # upload to this RSE (Rucio host and account from rucio.cfg)

    @property
    def any(self) -> bool:
        return bool(self.metacat_url or self.rucio_rse)

    @classmethod
    def from_settings(cls, settings: TargetSettings) -> Targets:
        return cls(settings.metacat_url or "", settings.metacat_auth_url or "",
                   settings.metacat_dataset or "", settings.rucio_rse or "")


def send(decl: Declaration, targets: Targets) -> list[str]:
    """Declare to MetaCat and/or upload to Rucio; returns what was done, one line each."""
    done = []
    if targets.metacat_url:
        done.append(_to_metacat(decl, targets))
    if targets.rucio_rse:
        done.append(_to_rucio(decl, targets))
    return done


def _to_metacat(decl: Declaration, targets: Targets) -> str:
    try:
        from metacat.webapi import MetaCatClient
    except ImportError:
        raise SendSetupError("GMPSAI_METACAT_URL is set but metacat-client is not installed "
                        "(pip install 'gmpsai-assets[catalog]')") from None
    if not targets.metacat_dataset:
        raise SendSetupError("GMPSAI_METACAT_DATASET (namespace:name) is needed to declare files")
    b = decl.body
    client = MetaCatClient(targets.metacat_url, targets.metacat_auth_url or None)
    try:
        existing = client.get_file(did=decl.did, with_metadata=False, with_provenance=False)
        if existing:
            if existing.get("size") != decl.size or \
                    existing.get("checksums", {}).get("adler32") != decl.adler32:
                raise SendError(f"{decl.did} is already in MetaCat with another size or adler32")
            return f"metacat: {decl.did} already declared"
        client.declare_file(
            namespace=b["namespace"], name=b["name"], dataset_did=targets.metacat_dataset,
            size=decl.size, checksums=b["checksums"], metadata=b["metadata"],
            parents=b["parents"],
        )
    except SendError:
        raise
    except Exception as exc:  # the client's own errors: say which file and why, in one line
        raise SendError(f"metacat: {decl.did}: {exc}") from exc
    return f"metacat: declared {decl.did} in {targets.metacat_dataset}"


def _to_rucio(decl: Declaration, targets: Targets) -> str:
    try:
        from rucio.client.uploadclient import UploadClient
    except ImportError:
        raise SendSetupError("GMPSAI_RUCIO_RSE is set but rucio-clients is not installed "
                        "(pip install 'gmpsai-assets[catalog]')") from None
    item = {"path": str(decl.path), "rse": targets.rucio_rse,
            "did_scope": decl.body["namespace"], "did_name": decl.body["name"],
            "register_after_upload": True}
    try:
        status = UploadClient().upload([item])
    except Exception as exc:
        raise SendError(f"rucio: {decl.did}: {exc}") from exc
    if status != 0:
        raise SendError(f"rucio: upload of {decl.did} to {targets.rucio_rse} returned {status}")
    return f"rucio: uploaded {decl.did} to {targets.rucio_rse}"
