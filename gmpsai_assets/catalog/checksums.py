"""Checksums of a file's bytes as the file catalogues want them, computed in one pass.

Rucio identifies a replica by its size and Adler-32 (8 lowercase hex digits, zero padded, zlib's
starting value 1: Rucio's own `rucio.common.checksum.adler32`); MetaCat and dCache also take
MD5. The statistics store keeps a SHA-256. All three are fed from the same blocks of one read,
so whoever already reads a file (the distiller) gets the catalogue's checksums for the CPU cost
of the hashes alone. hashlib and zlib release the GIL on large blocks, so hashing runs beside
the HDF5 reads of the distiller on another core.
"""

from __future__ import annotations

import hashlib
import os
import zlib
from dataclasses import dataclass
from pathlib import Path

BLOCK = 8 << 20  # large blocks: per-call overhead vanishes, hashes release the GIL


class FileChangedError(OSError):
    """The file was replaced or modified while its checksums were computed."""


@dataclass(frozen=True)
class Digests:
    """Size and checksums of one version of a file (`sha256` only when asked for)."""

    size: int
    adler32: str  # 8 lowercase hex digits
    md5: str  # 32 lowercase hex digits
    sha256: str | None = None
    mtime_ns: int = 0  # of the version that was read

    def catalogue_checksums(self) -> dict[str, str]:
        """The `checksums` object of a MetaCat file description."""
        return {"adler32": self.adler32, "md5": self.md5}


class Hasher:
    """Running Adler-32 + MD5 (+ SHA-256) over blocks fed in order."""

    def __init__(self, sha256: bool = False) -> None:
        self._adler = 1
        self._md5 = hashlib.md5(usedforsecurity=False)
        self._sha = hashlib.sha256() if sha256 else None
        self.size = 0

    def update(self, block: bytes | memoryview) -> None:
        self._adler = zlib.adler32(block, self._adler)
        self._md5.update(block)
        if self._sha is not None:
            self._sha.update(block)
        self.size += len(block)

    def digests(self, mtime_ns: int = 0) -> Digests:
        return Digests(
            self.size, f"{self._adler & 0xFFFFFFFF:08x}", self._md5.hexdigest(),
            self._sha.hexdigest() if self._sha is not None else None, mtime_ns,
        )


def digest_file(path: str | Path, sha256: bool = False, block: int = BLOCK) -> Digests:
    """Checksums of the file's bytes in one read; FileChangedError if the file changed (was
    replaced, grew or shrank, was rewritten) while it was read, rather than a mix of versions."""
    path = Path(path)
    hasher = Hasher(sha256)
    buf = bytearray(block)
    view = memoryview(buf)
    with open(path, "rb", buffering=0) as f:
        before = os.fstat(f.fileno())
        while n := f.readinto(buf):
            hasher.update(view[:n])
        after = os.fstat(f.fileno())
    try:
        now = os.stat(path)
    except FileNotFoundError:
        raise FileChangedError(f"{path.name}: removed while its checksums were computed") from None
    same = (before.st_size == after.st_size == hasher.size == now.st_size
            and before.st_mtime_ns == after.st_mtime_ns == now.st_mtime_ns
            and (before.st_dev, before.st_ino) == (now.st_dev, now.st_ino))
    if not same:
        raise FileChangedError(f"{path.name}: changed while its checksums were computed")
    return hasher.digests(before.st_mtime_ns)
